package main

import (
	"flag"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/synth"
)

// gendetMain implements `lprlab gendet`: render detector training (or validation) samples for
// scripts/train-detector as raw bytes: PREFIX.u8 holds N grey SIZE x SIZE crops of frames
// scaled as the learned detector scales them, PREFIX.txt one line per crop with the plates'
// corners. No image files are written.
func gendetMain(args []string) int {
	fs := flag.NewFlagSet("gendet", flag.ContinueOnError)
	scenes := fs.String("scenes", "", "scenes-ro folder (real backgrounds and plates); empty: synthetic scenes only")
	n := fs.Int("n", 1000, "number of samples")
	seed := fs.Int64("seed", 0, "seed of the first sample (sample i uses seed+i)")
	out := fs.String("out", "", "output prefix: writes PREFIX.u8 and PREFIX.txt")
	size := fs.Int("size", 256, "crop side in pixels")
	val := fs.Bool("val", false, "use the held-out rides as backgrounds (validation), not the training rides")
	workers := fs.Int("workers", runtime.NumCPU(), "parallel renderers")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: lprlab gendet -out PREFIX [-scenes DIR] [-n N] [-seed S] [-size 256] [-val]\n\n"+
			"Renders detector training samples (raw grey crops and plate corners; no image files).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseStatus(err)
	}
	if *out == "" || *n <= 0 || *size < 32 || *size%32 != 0 || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	var frames []roFrame
	if *scenes != "" {
		var err error
		if frames, err = loadScenesRO(*scenes, *val); err != nil {
			fmt.Fprintln(os.Stderr, "lprlab gendet:", err)
			return 1
		}
	}
	if err := gendet(frames, *n, *seed, *size, *workers, *out); err != nil {
		fmt.Fprintln(os.Stderr, "lprlab gendet:", err)
		return 1
	}
	return 0
}

// detSample renders one composite frame for seed at the detector's scale (long side
// ocr.DetectorInputSize) times a random zoom, which stands for other cameras' resolutions:
// over a real frame (when there are frames, 60 %), or a synthetic scene, 1 in 10 of those
// with no plate.
func detSample(frames []roFrame, seed int64) (synth.Composite, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0xde7))
	long := float64(ocr.DetectorInputSize) * math.Exp(uniformF(rng, math.Log(0.6), math.Log(1.6)))
	if len(frames) > 0 && rng.Float64() < 0.6 {
		bg, boxes, err := frames[rng.IntN(len(frames))].load(func(w, h int) float64 { return long / float64(max(w, h)) })
		if err != nil {
			return synth.Composite{}, err
		}
		return synth.RenderComposite(seed, synth.CompositeOptions{Background: bg, Boxes: boxes}), nil
	}
	w := int(long)
	return synth.RenderComposite(seed, synth.CompositeOptions{Width: w, Height: w * 9 / 16, NoPlates: rng.Float64() < 0.1}), nil
}

// resizeGrey scales g by s with area interpolation, as the detector scales frames.
func resizeGrey(g *synth.Grey, s float64) *synth.Grey {
	m, err := gocv.NewMatFromBytes(g.H, g.W, gocv.MatTypeCV8UC1, g.Bytes())
	if err != nil {
		return g
	}
	defer m.Close()
	w, h := max(1, int(math.Round(float64(g.W)*s))), max(1, int(math.Round(float64(g.H)*s)))
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(m, &small, image.Pt(w, h), 0, 0, gocv.InterpolationArea)
	out := synth.NewGrey(w, h)
	for i, v := range small.ToBytes() {
		out.Pix[i] = float32(v)
	}
	return out
}

func gendet(frames []roFrame, n int, seed int64, size, workers int, out string) error {
	fx, err := os.Create(out + ".u8")
	if err != nil {
		return err
	}
	defer fx.Close()
	px := int64(size * size)
	labels := make([]string, n)
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				s := seed + int64(i)
				c, err := detSample(frames, s)
				var pix []byte
				if err == nil {
					pix, labels[i], err = detCrop(c, s, size)
				}
				if err == nil {
					_, err = fx.WriteAt(pix, int64(i)*px)
				}
				if err != nil {
					errs <- fmt.Errorf("sample %d: %w", i, err)
					return
				}
			}
		}()
	}
	var ferr error
feed:
	for i := range n {
		select {
		case next <- i:
		case ferr = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if ferr == nil {
		select {
		case ferr = <-errs:
		default:
		}
	}
	if ferr != nil {
		return ferr
	}
	return writeLines(out+".txt", labels)
}

// detCrop cuts a size x size crop out of the composite (already at the detector's scale),
// mostly around a plate; it returns the crop and its label line: the number of plates whose
// centre lies inside, then their corners in crop pixels.
func detCrop(c synth.Composite, seed int64, size int) ([]byte, string, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0xc20b))
	fr := c.Frame
	sw, sh := fr.W, fr.H
	var x0, y0 float64
	if len(c.Plates) > 0 && rng.Float64() < 0.75 {
		cx, cy := quadCentre(c.Plates[rng.IntN(len(c.Plates))])
		x0 = cx - float64(size)/2 + uniformF(rng, -0.35, 0.35)*float64(size)
		y0 = cy - float64(size)/2 + uniformF(rng, -0.35, 0.35)*float64(size)
	} else {
		x0 = uniformF(rng, -0.1*float64(size), math.Max(0, float64(sw-size))+0.1*float64(size))
		y0 = uniformF(rng, -0.1*float64(size), math.Max(0, float64(sh-size))+0.1*float64(size))
	}
	ix, iy := int(math.Round(x0)), int(math.Round(y0))
	src := fr.Bytes()
	pix := make([]byte, size*size)
	for y := range size {
		yy := min(sh-1, max(0, iy+y))
		for x := range size {
			pix[y*size+x] = src[yy*sw+min(sw-1, max(0, ix+x))]
		}
	}
	var b strings.Builder
	k := 0
	for _, q := range c.Plates {
		cx, cy := quadCentre(q)
		if cx < float64(ix) || cy < float64(iy) || cx >= float64(ix+size) || cy >= float64(iy+size) {
			continue
		}
		for _, p := range q {
			fmt.Fprintf(&b, " %.1f %.1f", p[0]-float64(ix), p[1]-float64(iy))
		}
		k++
	}
	return pix, fmt.Sprintf("%d%s", k, b.String()), nil
}

func quadCentre(q synth.Quad) (float64, float64) {
	return (q[0][0] + q[1][0] + q[2][0] + q[3][0]) / 4, (q[0][1] + q[1][1] + q[2][1] + q[3][1]) / 4
}

func uniformF(rng *rand.Rand, a, b float64) float64 { return a + (b-a)*rng.Float64() }
