package main

import (
	"cmp"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"time"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/plateformat"
	"github.com/lprd/lprd/ocr/synth"
)

// evalsynthMain implements `lprlab evalsynth`: the whole reader (detector, rectifier,
// recognizer, format rules) on rendered validation frames, the frames `gencrops -val` cuts
// its validation crops from: rendered plates of known text over the held-out scenes-ro rides
// and in synthetic lanes. It is the synthetic check of a recognizer or detector change before
// the dev photos' last check.
func evalsynthMain(args []string) int {
	fs := flag.NewFlagSet("evalsynth", flag.ContinueOnError)
	scenes := fs.String("scenes", "", "scenes-ro folder: its held-out rides are the real backgrounds; empty: synthetic lanes only")
	n := fs.Int("n", 300, "frames")
	seed := fs.Int64("seed", evalDetSeed, "seed of the first frame")
	model := fs.String("model", "", "recognizer ONNX file (default: the embedded model)")
	regions := fs.String("regions", "us", "plate-format regions (empty: none)")
	kind := fs.String("detector", string(ocr.DefaultDetector), "plate detector: classical, learned, both or agree, optionally @THRESHOLD and /INPUT-SIZE of the learned one (as evaldet's)")
	budget := fs.Int("budget", 0, "regions read per frame (0: the reader's default, ocr.FrameReaderOptions.ReadBudget)")
	ir := fs.Bool("ir", false, "the night IR look on every frame (bright retro-reflective plates, dark scene, no colour): the IR set")
	stacked := fs.Bool("stacked", false, "every plate stacked, in two rows: the stacked set")
	misses := fs.Bool("misses", false, "list the plates not read right (frame seed, text, top reading at the plate)")
	minConf := fs.Float64("min-conf", 0, "least confidence of a frame's read (0: the reader's default, ocr.FrameReaderOptions.MinConfidence)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: lprlab evalsynth [-scenes DIR] [-n 300] [-model FILE] [-regions us] [-detector KIND] [-budget N] [-min-conf C] [-ir] [-stacked] [-misses]\n\n"+
			"Reads rendered validation frames with the whole reader; prints plates read right (top-1, top-5),\n"+
			"plates with a read (IoU >= 0.4), false reads (touching no plate) per frame, median ms per frame.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseStatus(err)
	}
	if *n <= 0 || *budget < 0 || *minConf < 0 || *minConf >= 1 || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	opt := ocr.FrameReaderOptions{ReadBudget: *budget, MinConfidence: float32(*minConf)}
	var err error
	if *model != "" {
		if opt.Recognizer.Model, err = os.ReadFile(*model); err != nil {
			fmt.Fprintln(os.Stderr, "lprlab evalsynth: -model:", err)
			return 2
		}
	}
	if opt.Rules, err = plateformat.Load(*regions); err != nil {
		fmt.Fprintln(os.Stderr, "lprlab evalsynth: -regions:", err)
		return 2
	}
	var held []roFrame
	if *scenes != "" {
		if held, err = loadScenesRO(*scenes, true); err != nil {
			fmt.Fprintln(os.Stderr, "lprlab evalsynth:", err)
			return 1
		}
	}
	// Built last, so that no earlier failure leaves it open; the reader owns it from here
	// (and closes it if it fails).
	if opt.Detector, err = oneDetector(*kind); err != nil {
		fmt.Fprintln(os.Stderr, "lprlab evalsynth: -detector:", err)
		fs.Usage()
		return 2
	}
	ocr.SetOpenCVThreads(1)
	fr, err := ocr.NewFrameReader(opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lprlab evalsynth:", err)
		return 1
	}
	defer fr.Close()
	look := synth.CompositeOptions{IR: *ir}
	if *stacked {
		look.Rows = 2
	}
	var missOut io.Writer
	if *misses {
		missOut = os.Stdout
	}
	s, err := evalSynth(fr, held, *seed, *n, look, missOut)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lprlab evalsynth:", err)
		return 1
	}
	s.print(os.Stdout)
	return 0
}

// oneDetector builds the one detector that kind names (evaldet's forms).
func oneDetector(kind string) (ocr.Detector, error) {
	dets, err := buildDetectors(kind, nil)
	if err != nil {
		return nil, err
	}
	if len(dets) != 1 {
		for _, d := range dets {
			d.det.Close()
		}
		return nil, fmt.Errorf("%q: want one detector", kind)
	}
	return dets[0].det, nil
}

type synthScore struct {
	frames, plates, read, top5, found, falseReads int
	ms                                            []float64
}

// evalSynth reads n rendered frames from seed under look (its IR and Rows) and scores them;
// with misses set it writes a line there for each plate not read right.
func evalSynth(fr *ocr.FrameReader, held []roFrame, seed int64, n int, look synth.CompositeOptions, misses io.Writer) (synthScore, error) {
	var s synthScore
	for i := range n {
		c, err := cropComposite(held, seed+int64(i), look)
		if err != nil {
			return s, err
		}
		m, err := gocv.NewMatFromBytes(c.Frame.H, c.Frame.W, gocv.MatTypeCV8UC1, c.Frame.Bytes())
		if err != nil {
			return s, err
		}
		t0 := time.Now()
		reads, err := fr.ReadMat(m)
		s.ms = append(s.ms, float64(time.Since(t0).Microseconds())/1000)
		m.Close()
		if err != nil {
			return s, fmt.Errorf("frame %d: %w", seed+int64(i), err)
		}
		s.frames++
		for j, q := range c.Plates {
			if c.Texts[j] == "" {
				continue
			}
			s.plates++
			b := q.Bounds()
			var found, right, in5 bool
			got := ""
			for _, r := range reads {
				if boxIoU4(b, r.Box) < 0.4 {
					continue
				}
				found = true
				got = cmp.Or(got, r.Text)
				right = right || r.Text == c.Texts[j]
				k := min(5, len(r.Candidates))
				in5 = in5 || slices.ContainsFunc(r.Candidates[:k], func(x plateformat.Candidate) bool { return x.Text == c.Texts[j] })
			}
			if misses != nil && !right {
				fmt.Fprintf(misses, "miss\t%d\t%s\t%q\t%v\n", seed+int64(i), c.Texts[j], got, b)
			}
			s.found += b2i(found)
			s.read += b2i(right)
			s.top5 += b2i(in5)
		}
		for _, r := range reads {
			if !slices.ContainsFunc(c.Plates, func(q synth.Quad) bool { return q.Bounds().Overlaps(r.Box) }) {
				s.falseReads++
			}
		}
	}
	return s, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s synthScore) print(w io.Writer) {
	sort.Float64s(s.ms)
	med := 0.0
	if len(s.ms) > 0 {
		med = s.ms[len(s.ms)/2]
	}
	pc := func(a int) float64 { return 100 * float64(a) / float64(max(1, s.plates)) }
	fmt.Fprintf(w, "frames %d, plates %d: top-1 %.1f %%, top-5 %.1f %%, read at the plate %.1f %%, false reads %.2f per frame, median %.1f ms per frame\n",
		s.frames, s.plates, pc(s.read), pc(s.top5), pc(s.found), float64(s.falseReads)/float64(max(1, s.frames)), med)
}
