// Command gensynth writes synthetic plate crops for training the recognizer.
//
// It renders plates with ocr/synth, photographs them, runs the recognizer's
// own input preparation (models.Prepare) and appends the resulting grey
// models.InputWidth x models.InputHeight images to OUT.u8 (raw bytes, one image
// after another) and their labels to OUT.txt (one per line). Sample i uses
// seed SEED+i, so a data set is reproducible and can be extended.
//
// Usage:
//
//	gensynth -n 200000 -seed 0 -out /tmp/lprd-train/train
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image"
	"os"
	"runtime"
	"sync"
	"time"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr/models"
	"github.com/lprd/lprd/ocr/synth"
)

func main() {
	n := flag.Int("n", 10000, "number of samples")
	seed := flag.Int64("seed", 0, "seed of the first sample")
	out := flag.String("out", "", "output path prefix (writes PREFIX.u8 and PREFIX.txt)")
	workers := flag.Int("workers", runtime.NumCPU(), "parallel renderers")
	goOnly := flag.Bool("gofonts", false, "use only gofont faces")
	flag.Parse()
	if *out == "" || *n <= 0 {
		fmt.Fprintln(os.Stderr, "gensynth: -out and a positive -n are required")
		os.Exit(2)
	}
	if err := run(*n, *seed, *out, *workers, *goOnly); err != nil {
		fmt.Fprintln(os.Stderr, "gensynth:", err)
		os.Exit(1)
	}
}

// stackedShare is the share of samples that are one row of a stacked (two-row) plate, cut
// as the reader cuts those rows: one in twenty, about as often as such plates (motorcycles,
// trailers) pass a lane.
const stackedShare = 0.05

// sample renders sample seed and returns its prepared input image and label.
func sample(seed int64, goOnly bool, bgr, grey, dst *gocv.Mat) ([]byte, string, error) {
	// Plates are rendered at 180-320 px, above the 60-260 px of the photograph.
	width := 180 + int(uint64(seed)*2654435761%141)
	opt, cam := synth.Options{Width: width, GoFontsOnly: goOnly}, synth.CameraOptions{}
	if m := mix(uint64(seed)); float64(m%1000) < stackedShare*1000 {
		opt.Rows, cam.Row = 2, 1+int(m>>32%2)
	}
	p := synth.RenderPlate(seed, opt)
	img := synth.Photograph(p, seed, cam)
	label, _ := p.Row(cam.Row)
	if err := toBGR(img, bgr); err != nil {
		return nil, "", err
	}
	if err := models.Prepare(*bgr, grey, dst); err != nil {
		return nil, "", err
	}
	b, err := dst.DataPtrUint8()
	if err != nil {
		return nil, "", err
	}
	return append([]byte(nil), b...), label, nil
}

// mix is splitmix64's finalizer: a seed's well-spread hash.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func toBGR(img *image.RGBA, dst *gocv.Mat) error {
	m, err := gocv.NewMatFromBytes(img.Rect.Dy(), img.Rect.Dx(), gocv.MatTypeCV8UC3, synth.BGR(img))
	if err != nil {
		return err
	}
	m.CopyTo(dst)
	return m.Close()
}

func run(n int, seed int64, out string, workers int, goOnly bool) error {
	const sz = models.InputWidth * models.InputHeight
	fx, err := os.Create(out + ".u8")
	if err != nil {
		return err
	}
	defer fx.Close()
	if err := fx.Truncate(int64(n) * sz); err != nil {
		return err
	}
	labels := make([]string, n)
	next := make(chan int, 256)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bgr, grey, dst := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
			defer bgr.Close()
			defer grey.Close()
			defer dst.Close()
			for i := range next {
				pix, label, err := sample(seed+int64(i), goOnly, &bgr, &grey, &dst)
				if err == nil {
					_, err = fx.WriteAt(pix, int64(i)*sz)
				}
				if err != nil {
					errs <- fmt.Errorf("sample %d: %w", i, err)
					return
				}
				labels[i] = label
				mu.Lock()
				done++
				if done%10000 == 0 {
					el := time.Since(start).Seconds()
					fmt.Fprintf(os.Stderr, "gensynth: %d/%d samples, %.0f/s\n", done, n, float64(done)/el)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		select {
		case next <- i:
		case err := <-errs:
			close(next)
			wg.Wait()
			return err
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	fl, err := os.Create(out + ".txt")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(fl)
	for _, l := range labels {
		fmt.Fprintln(w, l)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return fl.Close()
}
