package ocr

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gocv.io/x/gocv"
)

// CropEvalStats summarizes an EvalCrops run.
type CropEvalStats struct {
	Images, Read int     // images processed, images with a reading
	MedianMs     float64 // median time of Recognizer.Read per image
}

// cropExts are the image types EvalCrops reads.
var cropExts = []string{".png", ".jpg", ".jpeg", ".bmp"}

// EvalCrops reads every image in dir as one plate crop and writes one line
// per candidate to w: image<TAB>rank<TAB>plate<TAB>confidence<TAB>time_ms
// (rank 1 = best). An image without a reading gets one line with rank 0 and
// an empty plate. opt configures the recognizer. This output is for
// evaluation on the bench; the product
// never writes plate text in clear.
func EvalCrops(dir string, w io.Writer, opt RecognizerOptions) (CropEvalStats, error) {
	var st CropEvalStats
	ents, err := os.ReadDir(dir)
	if err != nil {
		return st, fmt.Errorf("ocr: eval crops %s: %w", dir, err)
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() && slices.Contains(cropExts, strings.ToLower(filepath.Ext(e.Name()))) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	rec, err := NewRecognizerWithOptions(opt)
	if err != nil {
		return st, err
	}
	defer rec.Close()
	bw := bufio.NewWriter(w)
	var times []float64
	for _, name := range names {
		img := gocv.IMRead(filepath.Join(dir, name), gocv.IMReadColor)
		if img.Empty() {
			img.Close()
			return st, fmt.Errorf("ocr: eval crops %s: cannot decode %s", dir, name)
		}
		t0 := time.Now()
		rd, err := rec.Read(img)
		ms := float64(time.Since(t0).Microseconds()) / 1000
		img.Close()
		st.Images++
		times = append(times, ms)
		if err != nil || len(rd.Candidates) == 0 {
			fmt.Fprintf(bw, "%s\t0\t\t0\t%.3f\n", name, ms)
			continue
		}
		st.Read++
		for i, c := range rd.Candidates {
			fmt.Fprintf(bw, "%s\t%d\t%s\t%.4f\t%.3f\n", name, i+1, c.Text, c.Confidence, ms)
		}
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("ocr: eval crops: write: %w", err)
	}
	if len(times) > 0 {
		slices.Sort(times)
		st.MedianMs = times[len(times)/2]
	}
	return st, nil
}
