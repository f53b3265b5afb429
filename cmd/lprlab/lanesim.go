// lanesim writes a synthetic lane clip: vehicles with synthetic plates (ocr/synth) driving
// towards the camera over a synthetic road, as an MJPEG AVI through OpenCV's VideoWriter, plus a
// ground-truth file next to it (CLIP.txt: one line per vehicle, "enter_ms<TAB>leave_ms<TAB>PLATE").
// The demo and `lprlab bench` replay such clips.
//
// It draws only synthetic pixels; it never opens a camera.
//
//	lprlab lanesim -out lane.avi [-vehicles 4] [-fps 15] [-width 1280 -height 720] [-park 5s] [-seed 1]

package main

import (
	"flag"
	"fmt"
	"image"
	"os"
	"strings"
	"time"

	"github.com/lprd/lprd/ocr/synth"
	"gocv.io/x/gocv"
)

// lanesimMain implements `lprlab lanesim`.
func lanesimMain(args []string) int {
	fs := flag.NewFlagSet("lanesim", flag.ContinueOnError)
	out := fs.String("out", "", "clip to write (.avi, MJPEG); the ground truth goes to the same name with .txt")
	vehicles := fs.Int("vehicles", 4, "vehicle passes")
	fps := fs.Float64("fps", 15, "frames per second")
	width := fs.Int("width", 1280, "frame width")
	height := fs.Int("height", 720, "frame height")
	park := fs.Duration("park", 0, "stop the last vehicle for this long (a car at a booth)")
	seed := fs.Int64("seed", 1, "seed: the same seed gives the same clip")
	gofonts := fs.Bool("gofonts", false, "render plates with Go's fonts only")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: lprlab lanesim -out CLIP.avi [flags]\n\nWrites a synthetic lane clip and its ground truth (CLIP.txt).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseStatus(err)
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if *width < 64 || *height < 64 || *fps <= 0 || *vehicles < 1 {
		fmt.Fprintln(os.Stderr, "lprlab lanesim: -width/-height must be at least 64, -fps and -vehicles positive")
		return 2
	}
	lane := synth.NewLane(*seed, synth.LaneOptions{Width: *width, Height: *height, FPS: *fps, Vehicles: *vehicles,
		Park: *park, GoFontsOnly: *gofonts})
	if err := writeLane(*out, lane, *width, *height, *fps); err != nil {
		fmt.Fprintln(os.Stderr, "lprlab lanesim:", err)
		return 1
	}
	return 0
}

// writeLane renders every frame of lane into a new MJPEG AVI at path and writes the ground truth
// next to it.
func writeLane(path string, lane *synth.Lane, w, h int, fps float64) error {
	vw, err := gocv.VideoWriterFile(path, "MJPG", fps, w, h, true)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if !vw.IsOpened() {
		vw.Close()
		return fmt.Errorf("open %s: OpenCV cannot write MJPEG AVI there", path)
	}
	bgr := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8UC3)
	defer bgr.Close()
	start := time.Now()
	for i := 0; i < lane.Frames(); i++ {
		sc := lane.Frame(i)
		toBGR(sc.Image, &bgr)
		if err := vw.Write(bgr); err != nil {
			vw.Close()
			return fmt.Errorf("write %s frame %d: %w", path, i, err)
		}
	}
	if err := vw.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	var gt strings.Builder
	for _, p := range lane.Passes() {
		fmt.Fprintf(&gt, "%d\t%d\t%s\n", p.Enter.Milliseconds(), p.Leave.Milliseconds(), p.Text)
	}
	truth := strings.TrimSuffix(path, ".avi") + ".txt"
	if err := os.WriteFile(truth, []byte(gt.String()), 0o644); err != nil {
		return fmt.Errorf("write ground truth: %w", err)
	}
	fmt.Fprintf(os.Stderr, "lprlab lanesim: wrote %s (%d frames, %dx%d, %.0f fps, %d vehicles) and %s in %v\n",
		path, lane.Frames(), w, h, fps, len(lane.Passes()), truth, time.Since(start).Round(time.Millisecond))
	return nil
}

// toBGR copies an RGBA image into a CV_8UC3 BGR Mat of the same size.
func toBGR(img *image.RGBA, dst *gocv.Mat) {
	buf, err := dst.DataPtrUint8()
	if err != nil {
		return
	}
	for i, j := 0, 0; j+2 < len(buf) && i+2 < len(img.Pix); i, j = i+4, j+3 {
		buf[j], buf[j+1], buf[j+2] = img.Pix[i+2], img.Pix[i+1], img.Pix[i]
	}
}
