package main

import (
	"bufio"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr/synth"
)

// heldOutRides are the scenes-ro rides that the detector never trains on: its real
// validation (whole rides, because neighbouring frames of a ride are near-duplicates).
var heldOutRides = map[string]bool{"dayride_type1_002": true, "dayride_type1_003": true}

// roFrame is one frame of the scenes-ro folder and its labelled plate boxes.
type roFrame struct {
	path, ride string
	boxes      []image.Rectangle
}

// load reads the frame, grey, scaled with area interpolation by scale(width, height) of its
// size, and its boxes scaled alike.
func (f roFrame) load(scale func(w, h int) float64) (*synth.Grey, []image.Rectangle, error) {
	bg, err := readGrey(f.path)
	if err != nil {
		return nil, nil, err
	}
	s := scale(bg.W, bg.H)
	bg = resizeGrey(bg, s)
	boxes := make([]image.Rectangle, len(f.boxes))
	for i, b := range f.boxes {
		boxes[i] = image.Rect(int(float64(b.Min.X)*s), int(float64(b.Min.Y)*s), int(math.Ceil(float64(b.Max.X)*s)), int(math.Ceil(float64(b.Max.Y)*s)))
	}
	return bg, boxes, nil
}

// loadScenesRO lists the frames of a scenes-ro folder (NAME.jpg with NAME.txt), those of the
// held-out rides (held true) or the others.
func loadScenesRO(dir string, held bool) ([]roFrame, error) {
	txts, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, err
	}
	sort.Strings(txts)
	var out []roFrame
	for _, t := range txts {
		name := strings.TrimSuffix(filepath.Base(t), ".txt")
		if name == "README" || name == "LICENSE" {
			continue
		}
		ride, _, _ := strings.Cut(name, ".")
		if heldOutRides[ride] != held {
			continue
		}
		boxes, err := readROBoxes(t)
		if err != nil {
			return nil, err
		}
		out = append(out, roFrame{path: filepath.Join(dir, name+".jpg"), ride: ride, boxes: boxes})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("scenes-ro %s: no labelled frames (NAME.jpg with NAME.txt)", dir)
	}
	return out, nil
}

// readROBoxes parses a scenes-ro label file: NAME.jpg TAB x TAB y TAB w TAB h TAB split.
func readROBoxes(path string) ([]image.Rectangle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []image.Rectangle
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		fl := strings.Split(line, "\t")
		if len(fl) < 5 {
			return nil, fmt.Errorf("%s:%d: want NAME x y w h split (tab-separated), got %q", path, n, line)
		}
		var v [4]int
		for i := range v {
			if v[i], err = strconv.Atoi(fl[i+1]); err != nil {
				return nil, fmt.Errorf("%s:%d: field %d: %w", path, n, i+2, err)
			}
		}
		out = append(out, image.Rect(v[0], v[1], v[0]+v[2], v[1]+v[3]))
	}
	return out, sc.Err()
}

// readGrey decodes an image file as grey.
func readGrey(path string) (*synth.Grey, error) {
	m := gocv.IMRead(path, gocv.IMReadGrayScale)
	defer m.Close()
	if m.Empty() {
		return nil, fmt.Errorf("%s: cannot decode the image", path)
	}
	b := m.ToBytes()
	g := synth.NewGrey(m.Cols(), m.Rows())
	for i, v := range b {
		g.Pix[i] = float32(v)
	}
	return g, nil
}
