package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// scoreMain implements `lprlab score`: score a predictions file (the format lprlab eval writes)
// against an OpenALPR-benchmark ground-truth folder. It is the Go port of the Python scorer the
// accuracy figures in README.md were first measured with: same inputs, same definitions, same
// output lines, so figures from either compare.
//
// Ground truth: GT_DIR/*.txt, one line per plate, "filename TAB x TAB y TAB w TAB h TAB plate";
// or, for a folder of cropped plates, GT_DIR/groundtruth.csv with lines "FILE,state,PLATE".
// Predictions (TSV), one line per candidate:
// "image TAB rank TAB plate TAB confidence [TAB time_ms [TAB x TAB y TAB w TAB h]]".
// image is matched on its stem; rank 1 is the best candidate of a detected plate (each plate of
// an image has its own ranks 1..N); rank 0 or an empty plate means "processed, nothing read";
// time_ms is per image, the first one of an image counts; x y w h is the detected plate's box.
//
// A ground-truth plate is a top-k hit when a line of its image with 1 <= rank <= k has the same
// normalized text (upper case, spaces and dashes removed). It is detected when a rank-1 box
// overlaps its box with IoU >= -iou.
func scoreMain(args []string) int {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	iou := fs.Float64("iou", 0.4, "IoU for plate-detected")
	ks := fs.String("k", "1,5,10", "comma-separated ranks k to report top-k figures for")
	misses := fs.Bool("misses", false, "list ground-truth plates missed at top-1")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: lprlab score [-iou 0.4] [-k 1,5,10] [-misses] GT_DIR PRED.tsv\n\n"+
			"Scores predictions (as lprlab eval writes them) against an OpenALPR-benchmark ground-truth\n"+
			"folder: GT_DIR/*.txt (filename, x, y, w, h, plate; tab-separated) or GT_DIR/groundtruth.csv\n"+
			"(FILE,state,PLATE) for cropped plates. A plate is a top-k hit when a candidate of its image\n"+
			"with rank <= k has the same text (upper case, spaces and dashes removed), and detected when\n"+
			"a rank-1 box overlaps it with IoU >= -iou.")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return parseStatus(err)
	}
	if len(pos) != 2 {
		fs.Usage()
		return 2
	}
	opt := scoreOptions{IoU: *iou, Misses: *misses}
	for f := range strings.SplitSeq(*ks, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || k < 1 {
			fmt.Fprintf(os.Stderr, "lprlab score: -k: %q is not a rank >= 1\n", f)
			return 2
		}
		if !slices.Contains(opt.K, k) {
			opt.K = append(opt.K, k)
		}
	}
	gt, err := loadGroundTruth(pos[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "lprlab score:", err)
		return 1
	}
	pred, err := loadPredictions(pos[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "lprlab score:", err)
		return 1
	}
	score(os.Stdout, gt, pred, opt)
	return 0
}

// parseInterspersed parses fs from args and returns the positional arguments, accepting flags
// after them too (`lprlab score DIR FILE -misses`), as the Python scorer's argparse did.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil // after --, all are positional
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

type scoreOptions struct {
	IoU    float64 // detected: IoU of a rank-1 box with the plate's box at least this
	K      []int   // top-k figures to report, in this order
	Misses bool    // list the plates missed at top-1
}

// box is an axis-aligned rectangle: x, y, w, h.
type box [4]float64

type gtPlate struct {
	text string
	box  box // all zero for a crop: the whole image is the plate
}

type candidate struct {
	rank   int
	text   string
	box    box
	hasBox bool
}

type predictions struct {
	cands map[string][]candidate // by image stem; present (maybe empty) for every image with a line
	times map[string]float64     // by image stem: the first time_ms of the image
}

// loadGroundTruth reads dir/groundtruth.csv when it exists, else every dir/*.txt, into plates by
// image stem.
func loadGroundTruth(dir string) (map[string][]gtPlate, error) {
	gt := map[string][]gtPlate{}
	csvPath := filepath.Join(dir, "groundtruth.csv")
	if _, err := os.Stat(csvPath); err == nil {
		lines, err := readLines(csvPath)
		if err != nil {
			return nil, err
		}
		for _, line := range lines {
			cols := strings.Split(pyStrip(line), ",")
			if len(cols) >= 3 && pyStrip(cols[2]) != "" {
				s := stem(cols[0])
				gt[s] = append(gt[s], gtPlate{text: normPlate(cols[2])})
			}
		}
		return gt, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("ground truth: %w", err)
	}
	// os.ReadDir returns the entries sorted by name, as the order of the plates of an image.
	for _, e := range ents {
		fn := e.Name()
		if !strings.HasSuffix(fn, ".txt") {
			continue
		}
		path := filepath.Join(dir, fn)
		lines, err := readLines(path)
		if err != nil {
			return nil, err
		}
		for n, line := range lines {
			cols := strings.Split(strings.TrimRight(line, "\r\n"), "\t")
			if len(cols) < 6 || pyStrip(cols[5]) == "" {
				continue
			}
			var b box
			for i := range b {
				if b[i], err = pyFloat(cols[1+i]); err != nil {
					return nil, fmt.Errorf("%s:%d: box: %w", path, n+1, err)
				}
			}
			name := cols[0]
			if name == "" {
				name = fn
			}
			s := stem(name)
			gt[s] = append(gt[s], gtPlate{text: normPlate(cols[5]), box: b})
		}
	}
	return gt, nil
}

// loadPredictions reads a predictions file; see scoreMain for the format. Blank lines and lines
// starting with # are skipped.
func loadPredictions(path string) (predictions, error) {
	p := predictions{cands: map[string][]candidate{}, times: map[string]float64{}}
	lines, err := readLines(path)
	if err != nil {
		return p, err
	}
	for i, line := range lines {
		if pyStrip(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(strings.TrimRight(line, "\r\n"), "\t")
		bad := func(what string, err error) error { return fmt.Errorf("%s:%d: %s: %w", path, i+1, what, err) }
		if len(cols) < 4 {
			return p, fmt.Errorf("%s:%d: expected >= 4 tab-separated columns", path, i+1)
		}
		img := stem(cols[0])
		if _, ok := p.cands[img]; !ok {
			p.cands[img] = []candidate{}
		}
		if _, seen := p.times[img]; len(cols) >= 5 && pyStrip(cols[4]) != "" && !seen {
			if p.times[img], err = pyFloat(cols[4]); err != nil {
				return p, bad("time_ms", err)
			}
		}
		rank, err := strconv.Atoi(pyStrip(cols[1]))
		if err != nil {
			return p, bad("rank", err)
		}
		text := normPlate(cols[2])
		if rank < 1 || text == "" {
			continue
		}
		c := candidate{rank: rank, text: text}
		if len(cols) >= 9 && pyStrip(cols[5]) != "" {
			c.hasBox = true
			for j := range c.box {
				if c.box[j], err = pyFloat(cols[5+j]); err != nil {
					return p, bad("box", err)
				}
			}
		}
		p.cands[img] = append(p.cands[img], c)
	}
	return p, nil
}

// score writes the figures, one per line, in the Python scorer's wording.
func score(w io.Writer, gt map[string][]gtPlate, pred predictions, opt scoreOptions) {
	imgs := make([]string, 0, len(gt))
	nPlates := 0
	for img, plates := range gt {
		imgs = append(imgs, img)
		nPlates += len(plates)
	}
	slices.Sort(imgs)
	hits := make([]int, len(opt.K))
	detected, haveBoxes := 0, false
	var misses []string
	var rank1, rank1OK, noLine int
	var times []float64
	for _, img := range imgs {
		cands := pred.cands[img]
		if _, ok := pred.cands[img]; !ok {
			noLine++
		}
		if t, ok := pred.times[img]; ok {
			times = append(times, t)
		}
		for _, g := range gt[img] {
			for i, k := range opt.K {
				if slices.ContainsFunc(cands, func(c candidate) bool { return c.rank <= k && c.text == g.text }) {
					hits[i]++
				}
			}
			var boxes []box
			for _, c := range cands {
				if c.rank == 1 && c.hasBox {
					boxes = append(boxes, c.box)
				}
			}
			haveBoxes = haveBoxes || len(boxes) > 0 && g.box[2]*g.box[3] > 0
			if slices.ContainsFunc(boxes, func(b box) bool { return boxIoU(g.box, b) >= opt.IoU }) {
				detected++
			}
			if opt.Misses && !slices.ContainsFunc(cands, func(c candidate) bool { return c.rank == 1 && c.text == g.text }) {
				misses = append(misses, missLine(img, g, cands))
			}
		}
		for _, c := range cands {
			if c.rank != 1 {
				continue
			}
			rank1++
			if slices.ContainsFunc(gt[img], func(g gtPlate) bool { return g.text == c.text }) {
				rank1OK++
			}
		}
	}
	extra := extraImages(gt, pred)

	line := func(label, format string, a ...any) {
		fmt.Fprintf(w, "%-22s"+format+"\n", append([]any{label + ":"}, a...)...)
	}
	line("images", "%d", len(gt))
	line("plates in gt", "%d", nPlates)
	line("images w/o any line", "%d", noLine)
	if extra > 0 {
		fmt.Fprintf(w, "pred images not in gt: %d (ignored)\n", extra)
	}
	for i, k := range opt.K {
		label := fmt.Sprintf("top-%d match rate", k)
		if k == 1 {
			label = "top-1 accuracy"
		}
		line(label, "%s", pct(hits[i], nPlates))
	}
	line("rank-1 reads", "%d (correct %s)", rank1, pct(rank1OK, rank1))
	if haveBoxes {
		fmt.Fprintf(w, "plate detected (IoU>=%s): %s\n", pyFloatRepr(opt.IoU), pct(detected, nPlates))
	}
	writeTimes(w, times)
	for _, m := range misses {
		fmt.Fprintln(w, "miss\t"+m)
	}
}

// extraImages counts predicted images that have no ground truth.
func extraImages(gt map[string][]gtPlate, pred predictions) int {
	extra := 0
	for img := range pred.cands {
		if _, ok := gt[img]; !ok {
			extra++
		}
	}
	return extra
}

// missLine is the -misses line of a ground-truth plate no rank-1 read matched:
// image, plate, and what was read at rank 1 ("-" for nothing).
func missLine(img string, g gtPlate, cands []candidate) string {
	var top []string
	for _, c := range cands {
		if c.rank == 1 {
			top = append(top, c.text)
		}
	}
	read := strings.Join(top, ",")
	if read == "" {
		read = "-"
	}
	return img + "\t" + g.text + "\t" + read
}

// writeTimes writes the time line: median, nearest-rank p90, mean and max.
func writeTimes(w io.Writer, times []float64) {
	n := len(times)
	if n == 0 {
		return
	}
	slices.Sort(times)
	p90 := times[int(math.Ceil(0.9*float64(n)))-1] // nearest rank
	median := times[n/2]
	if n%2 == 0 {
		median = (times[n/2-1] + times[n/2]) / 2
	}
	fmt.Fprintf(w, "time ms (n=%d):    median %.1f  p90 %.1f  mean %.1f  max %.1f\n",
		n, median, p90, fsum(times)/float64(n), times[n-1])
}

func pct(a, b int) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%d/%d = %.1f%%", a, b, 100.0*float64(a)/float64(b))
}

func boxIoU(a, b box) float64 {
	iw := math.Max(0, math.Min(a[0]+a[2], b[0]+b[2])-math.Max(a[0], b[0]))
	ih := math.Max(0, math.Min(a[1]+a[3], b[1]+b[3])-math.Max(a[1], b[1]))
	inter := iw * ih
	union := a[2]*a[3] + b[2]*b[3] - inter
	if union > 0 {
		return inter / union
	}
	return 0
}

// normPlate is the text both sides are compared in: upper case, white space and dashes removed.
func normPlate(s string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.Join(strings.FieldsFunc(s, pyIsSpace), ""), "-", ""))
}

// stem is the image key: the base name without its extension, matched the same way in the
// ground truth and the predictions (Python's os.path.splitext: a leading dot starts no
// extension).
func stem(name string) string {
	base := pyStrip(name)
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	if i := strings.LastIndexByte(base, '.'); i > 0 && strings.TrimLeft(base[:i], ".") != "" {
		base = base[:i]
	}
	return base
}

// pyIsSpace is Python's str.isspace for one character, which counts the ASCII separators
// 0x1c-0x1f as white space where Go's unicode.IsSpace does not.
func pyIsSpace(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f }

func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

func pyFloat(s string) (float64, error) {
	return strconv.ParseFloat(pyStrip(s), 64)
}

// pyFloatRepr formats v as Python's repr does (0.4, 1.0, 1e-05), so that the -iou in the
// detected line reads as the Python scorer printed it.
func pyFloatRepr(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	if a := math.Abs(v); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(v, 'e', -1, 64)
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// fsum is the correctly rounded sum of xs, as Python's math.fsum (Shewchuk's algorithm with
// CPython's final rounding step), so that the mean equals statistics.fmean's to the last bit.
func fsum(xs []float64) float64 {
	var partials []float64
	for _, x := range xs {
		i := 0
		for _, y := range partials {
			if math.Abs(x) < math.Abs(y) {
				x, y = y, x
			}
			hi := x + y
			lo := y - (hi - x)
			if lo != 0 {
				partials[i] = lo
				i++
			}
			x = hi
		}
		partials = append(partials[:i], x)
	}
	n := len(partials)
	if n == 0 {
		return 0
	}
	n--
	hi := partials[n]
	var lo float64
	for n > 0 {
		x := hi
		n--
		y := partials[n]
		hi = x + y
		yr := hi - x
		lo = y - yr
		if lo != 0 {
			break
		}
	}
	// Round half even the way the exact sum would: when the rest of the partials has the same
	// sign as lo, hi+2*lo lies beyond the halfway point.
	if n > 0 && (lo < 0 && partials[n-1] < 0 || lo > 0 && partials[n-1] > 0) {
		y := lo * 2
		x := hi + y
		if yr := x - hi; y == yr {
			hi = x
		}
	}
	return hi
}

// readLines returns the lines of a UTF-8 text file, split as Python's text mode does (on \n,
// \r\n and \r), without their ends.
func readLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file", path)
		}
		return nil, err
	}
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}
