package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/models"
	"github.com/lprd/lprd/ocr/synth"
)

// gencropsMain implements `lprlab gencrops`: recognizer training (or validation) data cut by
// the reader's own detector and rectifier out of rendered frames, so that the recognizer
// learns on the crops it is handed at the lane rather than on crops cut around a known plate.
// It writes the format of ocr/synth/gensynth (PREFIX.u8: models.InputWidth x InputHeight grey
// images, PREFIX.txt: one label a line); no image files are written.
func gencropsMain(args []string) int {
	fs := flag.NewFlagSet("gencrops", flag.ContinueOnError)
	scenes := fs.String("scenes", "", "scenes-ro folder (real backgrounds); empty: synthetic lane scenes only")
	n := fs.Int("n", 10000, "number of crops")
	seed := fs.Int64("seed", 0, "seed of the first frame (frame i uses seed+i)")
	out := fs.String("out", "", "output prefix: writes PREFIX.u8 and PREFIX.txt")
	val := fs.Bool("val", false, "use the held-out rides as backgrounds (validation), not the training rides")
	neg := fs.Float64("negatives", 0.1, "share of crops of regions that hold no plate, labelled with the empty text (read as nothing)")
	kind := fs.String("detector", string(ocr.DefaultDetector), "detector that cuts the crops (the reader's default; classical, learned, both or agree)")
	workers := fs.Int("workers", runtime.NumCPU(), "parallel renderers")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: lprlab gencrops -out PREFIX [-scenes DIR] [-n N] [-seed S] [-val] [-negatives 0.1] [-detector KIND]\n\n"+
			"Renders frames with plates of known text, runs the reader's detector and rectifier on them and\n"+
			"writes the crops the recognizer would read, labelled with the text of the plate each one\n"+
			"overlaps (IoU >= 0.4), for scripts/train-ocr (raw bytes; no image files).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseStatus(err)
	}
	dk, err := ocr.ParseDetectorKind(*kind)
	if *out == "" || *n <= 0 || *neg < 0 || *neg >= 1 || fs.NArg() > 0 || err != nil {
		if err != nil {
			fmt.Fprintln(os.Stderr, "lprlab gencrops: -detector:", err)
		}
		fs.Usage()
		return 2
	}
	var frames []roFrame
	if *scenes != "" {
		if frames, err = loadScenesRO(*scenes, *val); err != nil {
			fmt.Fprintln(os.Stderr, "lprlab gencrops:", err)
			return 1
		}
	}
	ocr.SetOpenCVThreads(1)
	st, err := gencrops(cropJob{frames: frames, n: *n, seed: *seed, neg: *neg, kind: dk, workers: *workers}, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lprlab gencrops:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "lprlab gencrops: %d frames, %d plates with text, %d found (%.1f %%); wrote %d crops of plates, %d of no plate; skipped %d partial overlaps\n",
		st.frames, st.plates, st.found, 100*float64(st.found)/float64(max(1, st.plates)), st.pos, st.negs, st.partial)
	return 0
}

type cropJob struct {
	frames  []roFrame
	n       int
	seed    int64
	neg     float64
	kind    ocr.DetectorKind
	workers int
}

// cropSample is one crop and its label; neg marks a crop of no plate (label "").
type cropSample struct {
	pix   []byte
	label string
	neg   bool
}

type cropFrameResult struct {
	samples []cropSample
	plates  int // plates with a known text
	found   int // of those, matched by a detection
	partial int // detections overlapping a plate too little to be labelled
	err     error
}

type cropStats struct{ frames, plates, found, pos, negs, partial int }

// indexedFrame is a worker's result for frame i of the job.
type indexedFrame struct {
	i int64
	r cropFrameResult
}

// gencrops renders frames seed, seed+1, ... on the workers and writes their crops in frame
// order until n are written, negatives capped at the job's share, so that a set is
// reproducible.
func gencrops(job cropJob, out string) (cropStats, error) {
	var st cropStats
	fx, err := os.Create(out + ".u8")
	if err != nil {
		return st, err
	}
	defer fx.Close()
	w := bufio.NewWriterSize(fx, 1<<20)
	var labels []string
	results := make(chan indexedFrame, 2*job.workers)
	stop := make(chan struct{})
	wg := startCropWorkers(job, results, stop)
	pending := map[int64]cropFrameResult{}
	var ferr error
	for want := int64(0); len(labels) < job.n && ferr == nil; {
		res := <-results
		if res.r.err != nil {
			ferr = fmt.Errorf("frame %d: %w", job.seed+res.i, res.r.err)
			break
		}
		pending[res.i] = res.r
		for r, ok := pending[want]; ok && len(labels) < job.n && ferr == nil; r, ok = pending[want] {
			delete(pending, want)
			want++
			ferr = st.take(r, job, &labels, w)
		}
	}
	close(stop)
	go func() { // let the workers see stop while they hand in their last frames
		for range results {
		}
	}()
	wg.Wait()
	close(results)
	if ferr == nil {
		ferr = w.Flush()
	}
	if ferr != nil {
		return st, ferr
	}
	if err := writeLines(out+".txt", labels); err != nil {
		return st, err
	}
	return st, fx.Close()
}

// startCropWorkers starts the job's workers, each with its own FrameReader, and the feeder of
// frame indices; all stop when stop is closed.
func startCropWorkers(job cropJob, results chan<- indexedFrame, stop <-chan struct{}) *sync.WaitGroup {
	next := make(chan int64)
	var wg sync.WaitGroup
	for range max(1, job.workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fr, err := ocr.NewFrameReader(ocr.FrameReaderOptions{DetectorKind: job.kind})
			if err != nil {
				select {
				case results <- indexedFrame{-1, cropFrameResult{err: err}}:
				case <-stop:
				}
				return
			}
			defer fr.Close()
			for i := range next {
				select {
				case results <- indexedFrame{i, cropFrame(fr, job.frames, job.seed+i)}:
				case <-stop:
					return
				}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := int64(0); ; i++ {
			select {
			case next <- i:
			case <-stop:
				return
			}
		}
	}()
	return &wg
}

// take writes one frame's crops until the job has n, the negatives within their share.
func (st *cropStats) take(r cropFrameResult, job cropJob, labels *[]string, w io.Writer) error {
	st.frames++
	st.plates += r.plates
	st.found += r.found
	st.partial += r.partial
	for _, s := range r.samples {
		if len(*labels) == job.n {
			break
		}
		if s.neg && float64(st.negs+1) > job.neg*float64(len(*labels)+1) {
			continue
		}
		if _, err := w.Write(s.pix); err != nil {
			return err
		}
		*labels = append(*labels, s.label)
		if s.neg {
			st.negs++
		} else {
			st.pos++
		}
	}
	return nil
}

func writeLines(path string, lines []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cropFrame renders frame seed and returns the crops the reader cuts out of it: a crop whose
// detection overlaps a plate of known text with IoU >= 0.4 (the benchmark's "found") and
// whose region holds the plate's whole character row is labelled with that text, one that
// overlaps no plate at all is a negative, and the rest (a banner, half a plate, a row cut at
// an end) are skipped, since their text is neither the plate's nor empty: a crop labelled
// with characters it does not show teaches the network to invent characters.
func cropFrame(fr *ocr.FrameReader, frames []roFrame, seed int64) cropFrameResult {
	c, err := cropComposite(frames, seed, synth.CompositeOptions{})
	if err != nil {
		return cropFrameResult{err: err}
	}
	m, err := gocv.NewMatFromBytes(c.Frame.H, c.Frame.W, gocv.MatTypeCV8UC1, c.Frame.Bytes())
	if err != nil {
		return cropFrameResult{err: err}
	}
	defer m.Close()
	var res cropFrameResult
	found := make([]bool, len(c.Plates))
	for i := range c.Plates {
		if c.Texts[i] != "" {
			res.plates++
		}
	}
	dst := gocv.NewMat()
	defer dst.Close()
	err = fr.Crops(m, func(d ocr.Detection, cut ocr.Region, crop gocv.Mat) bool {
		best, bestIoU, touches := -1, 0.0, false
		for i, q := range c.Plates {
			b := q.Bounds()
			if b.Overlaps(d.Box) {
				touches = true
			}
			if v := boxIoU4(b, d.Box); v > bestIoU {
				best, bestIoU = i, v
			}
		}
		var s cropSample
		switch {
		case bestIoU >= 0.4 && c.Texts[best] != "" && holdsRow(cut, c.TextQuads[best]):
			s.label = c.Texts[best]
			if !found[best] {
				found[best] = true
				res.found++
			}
		case !touches:
			s.neg = true
		default:
			res.partial++
			return true
		}
		if err = models.Prepare(crop, nil, &dst); err != nil {
			return false
		}
		s.pix = append([]byte(nil), dst.ToBytes()...)
		res.samples = append(res.samples, s)
		return true
	})
	res.err = err
	return res
}

// cropComposite renders frame seed at the reader's own scale, zoomed 0.7-1.5 times for other
// cameras and distances: rendered plates over a real training frame (half the frames, when
// there are frames) or in a synthetic lane scene. A real frame's own plates are excluded from
// the labels (their text is not known) and from the negatives (they overlap a plate).
//
// look sets the frame's looks (IR, Rows); cropComposite sets its background and size.
func cropComposite(frames []roFrame, seed int64, look synth.CompositeOptions) (synth.Composite, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0xc209))
	zoom := math.Exp(uniformF(rng, math.Log(0.7), math.Log(1.5)))
	if len(frames) > 0 && rng.Float64() < 0.5 {
		bg, boxes, err := frames[rng.IntN(len(frames))].load(func(int, int) float64 { return zoom })
		if err != nil {
			return synth.Composite{}, err
		}
		look.Background, look.Boxes = bg, boxes
		return synth.RenderComposite(seed, look), nil
	}
	w := int(1280 * zoom)
	look.Width, look.Height, look.NoPlates = w, w*9/16, rng.Float64() < 0.1
	return synth.RenderComposite(seed, look), nil
}

// holdsRow reports whether the region g holds the character row q whole: every corner of q
// lies inside g's rotated rectangle, with a slack of rowSlack of the row's height (the
// character boxes include the glyphs' side bearings). The zero Quad (row unknown) is not held.
func holdsRow(g ocr.Region, q synth.Quad) bool {
	if q == (synth.Quad{}) {
		return false
	}
	slack := rowSlack * math.Hypot(q[3][0]-q[0][0], q[3][1]-q[0][1])
	sin, cos := math.Sincos(g.Angle * math.Pi / 180)
	for _, p := range q {
		dx, dy := p[0]-g.CX, p[1]-g.CY
		u, v := dx*cos+dy*sin, -dx*sin+dy*cos
		if math.Abs(u) > g.Width/2+slack || math.Abs(v) > g.Height/2+slack {
			return false
		}
	}
	return true
}

// rowSlack is how far, in row heights, a character row may reach past a crop for holdsRow:
// 0.15 of a character's height is under a third of its width, which leaves it readable,
// and covers the side bearings inside the character boxes.
const rowSlack = 0.15
