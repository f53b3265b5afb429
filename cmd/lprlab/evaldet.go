package main

import (
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/synth"
)

// evalDetSeed is the first seed of the synthetic validation frames; training samples use
// seeds from 0 (scripts/train-detector), far below.
const evalDetSeed = 1000000000

// evaldetMain implements `lprlab evaldet`: score plate detectors on synthetic validation
// frames (composites over the held-out rides and synthetic scenes; every fourth one with the
// IR look) and on the real frames of the held-out scenes-ro rides.
func evaldetMain(args []string) int {
	fs := flag.NewFlagSet("evaldet", flag.ContinueOnError)
	scenes := fs.String("scenes", "", "scenes-ro folder: its held-out rides are scored and used as backgrounds")
	nSynth := fs.Int("synth", 300, "synthetic validation frames")
	model := fs.String("model", "", "learned detector ONNX file (default: the embedded model)")
	dets := fs.String("detector", "learned,classical,both,agree", "detectors to score, comma-separated: classical, learned, both, agree; learned@T, both@T and agree@T set the learned threshold T, a suffix /N its input long side")
	photos := fs.String("photos", "", "also score a folder of photos with NAME.txt boxes (e.g. the dev photos: a last check only, never for choosing)")
	top := fs.Int("top", 4, "regions that count per frame, best first (the reader's ReadBudget)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: lprlab evaldet [-scenes DIR] [-synth N] [-photos DIR] [-model FILE] [-detector LIST] [-top 4]\n\n"+
			"Scores plate detectors: recall at IoU >= 0.4 within the first -top regions and over all,\n"+
			"false regions per frame (within -top), median ms per frame (one OpenCV thread).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseStatus(err)
	}
	if fs.NArg() > 0 || *top <= 0 {
		fs.Usage()
		return 2
	}
	var onnx []byte
	if *model != "" {
		b, err := os.ReadFile(*model)
		if err != nil {
			fmt.Fprintln(os.Stderr, "lprlab evaldet: -model:", err)
			return 2
		}
		onnx = b
	}
	cands, err := buildDetectors(*dets, onnx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lprlab evaldet: -detector:", err)
		return 2
	}
	defer func() {
		for _, c := range cands {
			c.det.Close()
		}
	}()
	var held []roFrame
	if *scenes != "" {
		if held, err = loadScenesRO(*scenes, true); err != nil {
			fmt.Fprintln(os.Stderr, "lprlab evaldet:", err)
			return 1
		}
	}
	var extra []roFrame
	if *photos != "" {
		if extra, err = loadScenesRO(*photos, false); err != nil {
			fmt.Fprintln(os.Stderr, "lprlab evaldet:", err)
			return 1
		}
	}
	ocr.SetOpenCVThreads(1)
	if err := evalDetectors(os.Stdout, cands, held, extra, *nSynth, *top); err != nil {
		fmt.Fprintln(os.Stderr, "lprlab evaldet:", err)
		return 1
	}
	return 0
}

type namedDetector struct {
	name string
	det  ocr.Detector
}

// buildDetectors parses the -detector list.
func buildDetectors(list string, onnx []byte) ([]namedDetector, error) {
	var out []namedDetector
	for _, name := range strings.Split(list, ",") {
		spec, size, _ := strings.Cut(strings.TrimSpace(name), "/")
		kind, thr, _ := strings.Cut(spec, "@")
		opt := ocr.LearnedDetectorOptions{Model: onnx}
		if size != "" {
			n, err := strconv.Atoi(size)
			if err != nil || n < 64 || n > 4096 {
				return nil, fmt.Errorf("%q: the input size after / must be a number of pixels, 64-4096", name)
			}
			opt.InputSize = n
		}
		if thr != "" {
			t, err := strconv.ParseFloat(thr, 64)
			if err != nil || t <= 0 || t >= 1 {
				return nil, fmt.Errorf("%q: the threshold must be a number between 0 and 1", name)
			}
			opt.Threshold = t
		}
		var d ocr.Detector
		switch kind {
		case string(ocr.DetectorClassical):
			d = ocr.NewLocator(ocr.LocateOptions{})
		case string(ocr.DetectorLearned), string(ocr.DetectorBoth), string(ocr.DetectorAgree):
			l, err := ocr.NewLearnedDetector(opt)
			if err != nil {
				return nil, err
			}
			switch d = l; kind {
			case string(ocr.DetectorBoth):
				d = ocr.NewUnionDetector(l, ocr.NewLocator(ocr.LocateOptions{}))
			case string(ocr.DetectorAgree):
				d = ocr.NewAgreeDetector(ocr.NewLocator(ocr.LocateOptions{}), l)
			}
		default:
			return nil, fmt.Errorf("%q: want classical, learned, both or agree (optionally @THRESHOLD)", name)
		}
		out = append(out, namedDetector{strings.TrimSpace(name), d})
	}
	return out, nil
}

// detStats accumulates one detector's scores on one set.
type detStats struct {
	frames, plates, foundTop, foundAll, falseTop int
	lowPlates, lowFound                          int
	ms                                           []float64
	// bySize counts plates and those found in the top regions by the plate's width
	// as a share of the frame's long side (widthBins).
	bySize [len(widthBins) + 1][2]int
}

// widthBins are the upper edges of the plate-width bins of evaldet's table, as a share of
// the frame's long side: a distant lane camera's plates are under a tenth of it, a gate
// camera's or a hand-held photo's a fifth to a half.
var widthBins = [...]float64{0.1, 0.2, 0.35}

func widthBin(w, long int) int {
	r := float64(w) / float64(max(long, 1))
	for i, b := range widthBins {
		if r < b {
			return i
		}
	}
	return len(widthBins)
}

func (s *detStats) add(dets []ocr.Detection, gts []image.Rectangle, low []bool, long, top int, d time.Duration) {
	s.frames++
	s.plates += len(gts)
	s.ms = append(s.ms, float64(d.Microseconds())/1000)
	k := min(top, len(dets))
	for gi, g := range gts {
		inTop := slices.ContainsFunc(dets[:k], func(x ocr.Detection) bool { return boxIoU4(g, x.Box) >= 0.4 })
		b := widthBin(g.Dx(), long)
		s.bySize[b][0]++
		if inTop {
			s.foundTop++
			s.bySize[b][1]++
		}
		if slices.ContainsFunc(dets, func(x ocr.Detection) bool { return boxIoU4(g, x.Box) >= 0.4 }) {
			s.foundAll++
		}
		if low != nil && low[gi] {
			s.lowPlates++
			if inTop {
				s.lowFound++
			}
		}
	}
	for _, x := range dets[:k] {
		if !slices.ContainsFunc(gts, func(g image.Rectangle) bool { return boxIoU4(g, x.Box) >= 0.4 }) {
			s.falseTop++
		}
	}
}

func boxIoU4(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	i := float64(in.Dx() * in.Dy())
	return i / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - i)
}

// evalDetectors runs every detector on every frame of the sets and prints the table.
func evalDetectors(w io.Writer, cands []namedDetector, held, photos []roFrame, nSynth, top int) error {
	sets := []string{"synthetic val", "synthetic IR", "held-out rides", "photos"}
	stats := make([][]detStats, len(sets))
	for i := range stats {
		stats[i] = make([]detStats, len(cands))
	}
	run := func(set int, fr *synth.Grey, gts []image.Rectangle, low []bool) error {
		m, err := gocv.NewMatFromBytes(fr.H, fr.W, gocv.MatTypeCV8UC1, fr.Bytes())
		if err != nil {
			return err
		}
		defer m.Close()
		for ci, c := range cands {
			t0 := time.Now()
			dets := c.det.Detect(m)
			stats[set][ci].add(dets, gts, low, max(fr.W, fr.H), top, time.Since(t0))
		}
		return nil
	}
	for i := range nSynth {
		seed := int64(evalDetSeed + i)
		opt := synth.CompositeOptions{IR: i%4 == 3}
		if len(held) > 0 && i%2 == 0 {
			f := held[(i/2)%len(held)]
			bg, err := readGrey(f.path)
			if err != nil {
				return err
			}
			opt.Background, opt.Boxes = bg, f.boxes
		}
		c := synth.RenderComposite(seed, opt)
		var gts []image.Rectangle
		var low []bool
		for _, q := range c.Plates {
			gts = append(gts, q.Bounds())
			low = append(low, synth.IsLowContrast(c.Frame, q))
		}
		set := 0
		if opt.IR {
			set = 1
		}
		if err := run(set, c.Frame, gts, low); err != nil {
			return err
		}
	}
	for set, frames := range map[int][]roFrame{2: held, 3: photos} {
		for _, f := range frames {
			bg, err := readGrey(f.path)
			if err != nil {
				return err
			}
			if err := run(set, bg, f.boxes, nil); err != nil {
				return err
			}
		}
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "set\tdetector\tframes\tplates\tfound (top %d)\tfound (all)\tfalse/frame (top %d)\tlow-contrast found\tms/frame median\tfound by width (<10/10-20/20-35/>35 %% of long side)\n", top, top)
	for si, name := range sets {
		for ci, c := range cands {
			s := stats[si][ci]
			if s.frames == 0 {
				continue
			}
			slices.Sort(s.ms)
			low := "-"
			if s.lowPlates > 0 {
				low = pct(s.lowFound, s.lowPlates)
			}
			var bins []string
			for _, b := range s.bySize {
				bins = append(bins, fmt.Sprintf("%d/%d", b[1], b[0]))
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f%%\t%.1f%%\t%.2f\t%s\t%.1f\t%s\n", name, c.name, s.frames, s.plates,
				pctOf(s.foundTop, s.plates), pctOf(s.foundAll, s.plates), float64(s.falseTop)/float64(s.frames), low, s.ms[len(s.ms)/2],
				strings.Join(bins, " "))
		}
	}
	return tw.Flush()
}

func pctOf(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}
