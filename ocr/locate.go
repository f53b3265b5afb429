package ocr

import (
	"cmp"
	"image"
	"math"
	"slices"
	"sort"

	"gocv.io/x/gocv"
)

// LocateOptions tunes the plate localizer. The zero value of every field selects its default.
type LocateOptions struct {
	// WorkWidth is the width in pixels of the downscaled grey image of the coarse pass
	// (default 640). Frames narrower than this are not upscaled.
	WorkWidth int
	// MinPlateWidth is the narrowest plate to look for, in frame pixels (default 50).
	MinPlateWidth int
	// MaxCandidates caps the verified candidates returned per frame, best first (default 6).
	MaxCandidates int
	// MinChars is how many character-like blobs in a row make a candidate (default 3).
	MinChars int
	// MaxVerify caps how many coarse regions, densest in edges first, are segmented into
	// characters (default 20). It bounds the localizer's time on busy frames.
	MaxVerify int
}

func (o LocateOptions) withDefaults() LocateOptions {
	if o.WorkWidth <= 0 {
		o.WorkWidth = 640
	}
	if o.MinPlateWidth <= 0 {
		o.MinPlateWidth = 50
	}
	if o.MaxCandidates <= 0 {
		o.MaxCandidates = 6
	}
	if o.MinChars <= 0 {
		o.MinChars = 3
	}
	if o.MaxVerify <= 0 {
		o.MaxVerify = 20
	}
	return o
}

// PlateCandidate is a region of a frame that looks like a plate: a row of character-like blobs.
type PlateCandidate struct {
	// Box is the estimated whole plate, axis-aligned, in frame pixels.
	Box image.Rectangle
	// Band is the bounding box of the character row in frame pixels.
	Band image.Rectangle
	// Center is the centre of the character row, in frame pixels.
	CenterX, CenterY float64
	// Angle is the tilt of the character row in degrees (positive: clockwise in image coordinates).
	Angle float64
	// CharHeight is the median height of the characters in frame pixels.
	CharHeight float64
	// TextWidth is the length of the character row along its baseline in frame pixels.
	TextWidth float64
	// Chars is the number of character-like blobs in the row.
	Chars int
	// Dark is true for dark characters on a light plate.
	Dark bool
	// Score ranks candidates; higher is more plate-like.
	Score float64
	// Stack is the plate's other character row when it has two of the same height, one
	// above the other (a stacked plate: motorcycles, trailers, some special plates), in the
	// same terms (Band, centre, tilt, height, width, count); nil for a one-row plate.
	Stack *PlateCandidate
}

// allChars is the number of characters in the candidate's rows.
func (c PlateCandidate) allChars() int {
	if c.Stack != nil {
		return c.Chars + c.Stack.Chars
	}
	return c.Chars
}

// Locator finds plate candidates in grey frames in two steps.
//
// The coarse pass works on the frame scaled to WorkWidth (and once more at half that, for large
// plates): the absolute horizontal gradient (Sobel x) is thresholded at its Otsu level and at
// twice that, closed with a wide flat kernel so that the strokes of a character row merge into
// one blob, and labelled; blobs of a plate's shape and size become regions, ranked by their
// mean gradient.
//
// Verification cuts each of the best MaxVerify regions, with a margin, out of the full-resolution
// frame, scales it to a fixed height and binarizes it (adaptive mean threshold, both polarities;
// long horizontal runs such as plate borders are removed so that characters touching them come
// free, and an eroded copy separates characters touching each other). Connected blobs of a
// character's shape are chained left to right (similar height, on one line, close together);
// the longest plausible chain is the candidate: its centre, tilt (Theil-Sen slope of the blob
// centres), character height and length give the plate's region. Rows of 5-8 characters rank
// first; rows along the frame's top or bottom edge (camera overlays) are dropped.
//
// The recognizer then reads the best few candidates (FrameReader), which rejects what is not a
// plate at little cost. A Locator owns its scratch Mats: one per worker goroutine, not safe for
// concurrent use. Close it when done.
type Locator struct {
	opt LocateOptions

	small, grad, tmp16, mask gocv.Mat
	roi, roiThr              gocv.Mat
	roiBin, roiLines         gocv.Mat
	closeK, openK, lineK     gocv.Mat

	coarse []coarseRegion
	lab    labeler
	blobs  []blob
	chain  []int
	best   []int
	skip   []bool // blobs stackedRow leaves out of the rows it grows
	cands  []PlateCandidate
	dets   []Detection
}

// NewLocator allocates a Locator's scratch buffers.
func NewLocator(opt LocateOptions) *Locator {
	opt = opt.withDefaults()
	return &Locator{
		opt:      opt,
		small:    gocv.NewMat(),
		grad:     gocv.NewMat(),
		tmp16:    gocv.NewMat(),
		mask:     gocv.NewMat(),
		roi:      gocv.NewMat(),
		roiThr:   gocv.NewMat(),
		roiBin:   gocv.NewMat(),
		roiLines: gocv.NewMat(),
		lineK:    gocv.GetStructuringElement(gocv.MorphRect, image.Pt(roiHeight*2/5, 1)),
		closeK:   gocv.GetStructuringElement(gocv.MorphRect, image.Pt(13, 3)),
		openK:    gocv.GetStructuringElement(gocv.MorphRect, image.Pt(3, 3)),
	}
}

// Close frees the scratch Mats.
func (l *Locator) Close() error {
	for _, m := range []*gocv.Mat{&l.small, &l.grad, &l.tmp16, &l.mask, &l.roi, &l.roiThr, &l.roiBin, &l.roiLines,
		&l.closeK, &l.openK, &l.lineK} {
		m.Close()
	}
	return nil
}

// Locate returns plate candidates found in grey (8-bit, one channel), best first. The returned
// slice is reused by the next call.
func (l *Locator) Locate(grey gocv.Mat) []PlateCandidate {
	l.cands = l.cands[:0]
	w, h := grey.Cols(), grey.Rows()
	if w < 16 || h < 16 {
		return l.cands
	}
	scale := 1.0
	if w > l.opt.WorkWidth {
		scale = float64(l.opt.WorkWidth) / float64(w)
	}
	l.coarse = l.coarse[:0]
	sw, sh := int(math.Round(float64(w)*scale)), int(math.Round(float64(h)*scale))
	if scale < 1 {
		gocv.Resize(grey, &l.small, image.Pt(sw, sh), 0, 0, gocv.InterpolationArea)
	} else {
		grey.CopyTo(&l.small)
	}
	l.coarsePass(scale, w, h)
	// A second, coarser pass finds the large plates whose character gaps the close kernel
	// cannot bridge at the first scale.
	if sw >= 400 {
		gocv.Resize(l.small, &l.small, image.Pt(sw/2, sh/2), 0, 0, gocv.InterpolationArea)
		l.coarsePass(scale/2, w, h)
	}
	slices.SortFunc(l.coarse, func(a, b coarseRegion) int { return cmp.Compare(b.score, a.score) })
	verified := 0
	for i, c := range l.coarse {
		if verified == l.opt.MaxVerify {
			break
		}
		dup := false
		for _, d := range l.coarse[:i] {
			if iou(c.r, d.r) > 0.6 {
				dup = true
				break
			}
		}
		if !dup {
			l.verify(grey, c.r)
			verified++
		}
	}
	l.cands = nmsCandidates(pairStacked(l.cands, w, h))
	if len(l.cands) > l.opt.MaxCandidates {
		l.cands = l.cands[:l.opt.MaxCandidates]
	}
	return l.cands
}

// thresholds are the edge-mask thresholds of the coarse pass, as multiples of the Otsu
// threshold of the gradient image: plates in busy scenes stand out only at the higher one,
// plates in plain scenes merge with their surroundings at the lower one.
var thresholds = [...]float32{1, 2}

// meanU8 is the mean of the 8-bit image pix (stride w) inside r.
func meanU8(pix []byte, w int, r image.Rectangle) float64 {
	if r.Empty() || len(pix) < r.Max.Y*w {
		return 0
	}
	sum := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for _, v := range pix[y*w+r.Min.X : y*w+r.Max.X] {
			sum += int(v)
		}
	}
	return float64(sum) / float64(r.Dx()*r.Dy())
}

// coarsePass finds regions dense in vertical edges in l.small and appends them, mapped to frame
// pixels, to l.coarse.
func (l *Locator) coarsePass(scale float64, w, h int) {
	gocv.Sobel(l.small, &l.tmp16, gocv.MatTypeCV16S, 1, 0, 3, 1, 0, gocv.BorderDefault)
	gocv.ConvertScaleAbs(l.tmp16, &l.grad, 1, 0)
	otsu := gocv.Threshold(l.grad, &l.mask, 0, 255, gocv.ThresholdBinary|gocv.ThresholdOtsu)
	for i, k := range thresholds {
		if i > 0 {
			gocv.Threshold(l.grad, &l.mask, otsu*k, 255, gocv.ThresholdBinary)
		}
		l.regions(scale, w, h)
	}
}

// regions closes the edge mask into blobs and appends the plate-shaped ones to l.coarse.
func (l *Locator) regions(scale float64, w, h int) {
	gocv.MorphologyEx(l.mask, &l.mask, gocv.MorphClose, l.closeK)
	gocv.MorphologyEx(l.mask, &l.mask, gocv.MorphOpen, l.openK)
	maskPix, err := l.mask.DataPtrUint8()
	if err != nil {
		return
	}
	gradPix, _ := l.grad.DataPtrUint8()
	minW := float64(l.opt.MinPlateWidth) * scale * 0.5
	for _, c := range l.lab.components(maskPix, l.mask.Cols(), l.mask.Rows()) {
		x, y, bw, bh, area := c.box.Min.X, c.box.Min.Y, c.box.Dx(), c.box.Dy(), c.area
		if float64(bw) < minW || bh < 4 {
			continue
		}
		ar := float64(bw) / float64(bh)
		if ar < 1.2 || ar > 12 {
			continue
		}
		if float64(area) < 0.3*float64(bw*bh) {
			continue
		}
		if float64(bw) > 0.6*float64(l.small.Cols()) {
			continue
		}
		r := image.Rect(int(float64(x)/scale), int(float64(y)/scale),
			int(float64(x+bw)/scale), int(float64(y+bh)/scale))
		l.coarse = append(l.coarse, coarseRegion{
			r:     r.Intersect(image.Rect(0, 0, w, h)),
			score: meanU8(gradPix, l.grad.Cols(), c.box),
		})
	}
}

// coarseRegion is a region of dense vertical edges found by the coarse pass, in frame pixels.
type coarseRegion struct {
	r     image.Rectangle
	score float64 // mean absolute x-gradient inside the region
}

type blob struct {
	x, y, w, h int
	cx, cy     float64
	fill       float64 // share of the bounding box that is ink
}

// roiHeight is the height to which a coarse region is scaled before its characters are
// segmented; characters then measure about 15-55 pixels.
const roiHeight = 80

// roiMaxW caps the width of a scaled region.
const roiMaxW = 480

// verify looks for a row of character-like blobs in and around the coarse region r and
// appends a candidate for each polarity that has one.
func (l *Locator) verify(grey gocv.Mat, r image.Rectangle) {
	fw, fh := grey.Cols(), grey.Rows()
	padX, padY := r.Dx()/5+4, r.Dy()/2+4
	rr := image.Rect(r.Min.X-padX, r.Min.Y-padY, r.Max.X+padX, r.Max.Y+padY).Intersect(image.Rect(0, 0, fw, fh))
	if rr.Dx() < 16 || rr.Dy() < 8 {
		return
	}
	// Scale the region so that its height is roiHeight; a region too wide for roiMaxW at that
	// scale (often a plate merged with its surroundings) keeps up to twice the height instead,
	// so its characters stay large enough to segment.
	k := math.Min(float64(roiHeight)/float64(rr.Dy()), 4)
	if float64(rr.Dx())*k > roiMaxW {
		k = math.Min(roiMaxW/float64(rr.Dx()), 2*roiHeight/float64(rr.Dy()))
	}
	rw, rh := int(float64(rr.Dx())*k+0.5), int(float64(rr.Dy())*k+0.5)
	if rw < 16 || rh < 8 {
		return
	}
	sub := grey.Region(rr)
	interp := gocv.InterpolationLinear
	if k < 1 {
		interp = gocv.InterpolationArea
	}
	gocv.Resize(sub, &l.roi, image.Pt(rw, rh), 0, 0, interp)
	sub.Close()
	block := rh/3 | 1
	if block < 7 {
		block = 7
	}
	// One threshold serves both polarities: dark ink is exactly the pixels that are not
	// above the local mean less 7, the complement of light ink.
	gocv.AdaptiveThreshold(l.roi, &l.roiThr, 255, gocv.AdaptiveThresholdMean, gocv.ThresholdBinary, block, 7)
	for _, dark := range []bool{true, false} {
		if dark {
			gocv.BitwiseNot(l.roiThr, &l.roiBin)
		} else {
			l.roiThr.CopyTo(&l.roiBin)
		}
		// Long horizontal runs are plate borders, frames and bumper edges, never characters:
		// cut them so that characters touching a border become blobs of their own.
		gocv.MorphologyEx(l.roiBin, &l.roiLines, gocv.MorphOpen, l.lineK)
		gocv.Subtract(l.roiBin, l.roiLines, &l.roiBin)
		c, ok := l.rowOf(rh)
		if !ok || c.Chars < 5 {
			// Characters touching a frame or each other merge into one blob; a thinned copy
			// separates them.
			gocv.Erode(l.roiBin, &l.roiBin, l.openK)
			if c2, ok2 := l.rowOf(rh); ok2 && (!ok || c2.Score > c.Score) {
				c, ok = c2, true
			}
		}
		if !ok {
			continue
		}
		c.Dark = dark
		c.toFrame(rr.Min, k)
		if c.Stack != nil {
			c.Stack.toFrame(rr.Min, k)
		}
		if c.TextWidth < float64(l.opt.MinPlateWidth)*0.5 {
			continue
		}
		c.Box = plateBox(c, fw, fh)
		if atFrameEdge(c.Band, fh) {
			continue
		}
		l.cands = append(l.cands, c)
	}
}

// toFrame maps a row found in a region scaled by k whose top-left corner is o back to frame
// pixels.
func (c *PlateCandidate) toFrame(o image.Point, k float64) {
	c.CenterX = float64(o.X) + c.CenterX/k
	c.CenterY = float64(o.Y) + c.CenterY/k
	c.CharHeight /= k
	c.TextWidth /= k
	c.Band = image.Rect(o.X+int(float64(c.Band.Min.X)/k), o.Y+int(float64(c.Band.Min.Y)/k),
		o.X+int(float64(c.Band.Max.X)/k+0.5), o.Y+int(float64(c.Band.Max.Y)/k+0.5))
}

// rowOf segments l.roiBin (white = ink) into blobs and returns the longest row of character-like
// blobs, in ROI pixels.
func (l *Locator) rowOf(rh int) (PlateCandidate, bool) {
	l.blobs = l.blobs[:0]
	pix, err := l.roiBin.DataPtrUint8()
	if err != nil {
		return PlateCandidate{}, false
	}
	minH, maxH := rh/12, int(0.9*float64(rh))
	if minH < 8 {
		minH = 8
	}
	for _, c := range l.lab.components(pix, l.roiBin.Cols(), l.roiBin.Rows()) {
		x, y, bw, bh, area := c.box.Min.X, c.box.Min.Y, c.box.Dx(), c.box.Dy(), c.area
		if bh < minH || bh > maxH {
			continue
		}
		ar := float64(bw) / float64(bh)
		if ar < 0.08 || ar > 1.1 {
			continue
		}
		fill := float64(area) / float64(bw*bh)
		if fill < 0.18 || fill > 0.95 {
			continue
		}
		l.blobs = append(l.blobs, blob{x: x, y: y, w: bw, h: bh, cx: float64(x) + float64(bw)/2, cy: float64(y) + float64(bh)/2, fill: fill})
	}
	if len(l.blobs) < l.opt.MinChars {
		return PlateCandidate{}, false
	}
	slices.SortFunc(l.blobs, func(a, b blob) int { return a.x - b.x })
	l.best = l.best[:0]
	bestScore := 0.0
	// Grow a chain from every blob and keep the best-scoring one.
	for s := range l.blobs {
		l.growChain(s)
		l.chain = l.trimFrame(l.chain)
		if len(l.chain) < l.opt.MinChars || len(l.chain) > 10 {
			continue
		}
		score := rowScore(len(l.chain))
		if l.periodic(l.chain) {
			score -= 4
		}
		if score > bestScore {
			bestScore = score
			l.best = append(l.best[:0], l.chain...)
		}
	}
	if len(l.best) == 0 {
		return PlateCandidate{}, false
	}
	c := l.describe(l.best, bestScore)
	if len(l.best) <= maxStackedRow {
		if s, ok := l.stackedRow(c); ok {
			c.Stack = &s
			c.Score = stackedScore(c)
		}
	}
	return c, true
}

// maxStackedRow is the longest row of a stacked plate: its rows carry 2 to 5 characters.
const maxStackedRow = 5

// stackedRow looks, among the blobs left out of the best row l.best (described by c), for the
// other row of a stacked plate: at least two blobs of the same height (within a quarter),
// centred 1.05 to 1.9 character heights above or below c (two rows of equal height with a gap
// of up to 0.9 heights between them), spanning the same columns (overlapping by 60 % of the
// narrower row). The longest such row wins; rows both above and below (a grid of windows or
// slats, a sign's lines) are no stacked plate.
func (l *Locator) stackedRow(c PlateCandidate) (PlateCandidate, bool) {
	l.skip = slices.Grow(l.skip[:0], len(l.blobs))[:len(l.blobs)]
	clear(l.skip)
	for _, k := range l.best {
		l.skip[k] = true
	}
	defer func() { l.skip = l.skip[:0] }()
	var best PlateCandidate
	found, above, below := false, false, false
	for s := range l.blobs {
		if l.skip[s] {
			continue
		}
		l.growChain(s)
		l.chain = l.trimFrame(l.chain)
		if len(l.chain) < 2 || len(l.chain) > maxStackedRow || l.periodic(l.chain) {
			continue
		}
		if r := l.describe(l.chain, 0); stackable(c, r) {
			above, below = above || r.CenterY < c.CenterY, below || r.CenterY > c.CenterY
			if !found || r.Chars > best.Chars {
				best, found = r, true
			}
		}
	}
	return best, found && !(above && below)
}

// stackable reports whether r can be the other row of a stacked plate whose row is c: rows of
// 2 to maxStackedRow characters of the same height (within a quarter), centred 1.05 to 1.9
// character heights apart (two rows of equal height with a gap of up to 0.9 heights), over
// the same columns (overlapping by 60 % of the narrower row).
func stackable(c, r PlateCandidate) bool {
	hr := r.CharHeight / c.CharHeight
	d := math.Abs(r.CenterY - c.CenterY)
	lo, hi := max(r.Band.Min.X, c.Band.Min.X), min(r.Band.Max.X, c.Band.Max.X)
	return r.Chars >= 2 && r.Chars <= maxStackedRow && c.Chars <= maxStackedRow && hr >= 0.8 && hr <= 1.25 &&
		d >= 1.05*c.CharHeight && d <= 1.9*c.CharHeight && float64(hi-lo) >= 0.6*float64(min(r.Band.Dx(), c.Band.Dx()))
}

// stackedScore ranks a stacked candidate as a one-row candidate of all its characters, less
// stackedRankPenalty; never below its main row's own score.
func stackedScore(c PlateCandidate) float64 {
	return math.Max(c.Score, rowScore(c.allChars())-stackedRankPenalty)
}

// stackedRankPenalty ranks a stacked pair of n characters like a row of n-2: above the short
// rows its own rows would rank as, below one-row plates of as many characters. Chosen on the
// rendered validation frames (lprlab evalsynth): the full row score (0) read the stacked set
// 13.1 % and cost the one-row set 0.5 points (a sign's two lines outranking plates); 2 read the
// stacked set 12.5 % (9.1 % without a lift) with the one-row set unchanged at 33.1 %; 4: 11.4 %.
const stackedRankPenalty = 2

// pairStacked joins candidates that are the two rows of one stacked plate, each found in its
// own region: two rows stackable with each other and with no third (a grid of windows or a
// sign's lines has more). The row of more characters keeps the other as its Stack, ranked by
// stackedScore. It returns cands with the joined rows removed.
func pairStacked(cands []PlateCandidate, fw, fh int) []PlateCandidate {
	partner := func(i int) int {
		p := -1
		for j := range cands {
			if j == i || cands[j].Dark != cands[i].Dark || cands[j].Stack != nil || !stackable(cands[i], cands[j]) {
				continue
			}
			switch {
			case p < 0:
				p = j
			case iou(cands[j].Band, cands[p].Band) > 0.3: // the same row found twice
				if cands[j].Chars > cands[p].Chars {
					p = j
				}
			default:
				return -2 // a third row
			}
		}
		return p
	}
	for i := 0; i < len(cands); i++ {
		if cands[i].Stack != nil {
			continue
		}
		j := partner(i)
		if j < 0 || partner(j) != i {
			continue
		}
		a, b := &cands[i], &cands[j]
		if b.Chars > a.Chars || (b.Chars == a.Chars && b.Score > a.Score) {
			*a, *b = *b, *a
		}
		other := *b
		a.Stack = &other
		a.Score = stackedScore(*a)
		a.Box = plateBox(*a, fw, fh)
		cands = slices.Delete(cands, j, j+1)
		if j < i {
			i--
		}
	}
	return cands
}

// growChain sets l.chain to the row grown from blob s: the next member is the
// nearest blob to the right with a similar height, roughly on the same line, within
// one and a half heights.
func (l *Locator) growChain(s int) {
	l.chain = append(l.chain[:0], s)
	cur := s
	for {
		c := l.blobs[cur]
		next, nextGap := -1, math.MaxFloat64
		for j := cur + 1; j < len(l.blobs); j++ {
			if len(l.skip) > 0 && l.skip[j] {
				continue
			}
			b := l.blobs[j]
			gap := float64(b.x - (c.x + c.w))
			if gap > 1.5*float64(c.h) {
				break
			}
			if gap < -0.3*float64(c.w) {
				continue
			}
			hr := float64(b.h) / float64(c.h)
			if hr < 0.75 || hr > 1.33 {
				continue
			}
			if math.Abs(b.cy-c.cy) > 0.35*float64(c.h) {
				continue
			}
			if gap < nextGap {
				next, nextGap = j, gap
			}
		}
		if next < 0 {
			return
		}
		l.chain = append(l.chain, next)
		cur = next
	}
}

// periodic reports a row of near-identical blobs: windows, fence posts, grilles and slats, not
// characters, which differ in width and in how much of their box they fill.
func (l *Locator) periodic(chain []int) bool {
	if len(chain) < 4 {
		return false
	}
	var sw, sww, sf, sff float64
	for _, k := range chain {
		b := l.blobs[k]
		w := float64(b.w) / float64(b.h)
		sw += w
		sww += w * w
		sf += b.fill
		sff += b.fill * b.fill
	}
	n := float64(len(chain))
	cv := func(s, ss float64) float64 {
		m := s / n
		return math.Sqrt(math.Max(0, ss/n-m*m)) / math.Max(m, 1e-6)
	}
	return cv(sw, sww) < 0.06 && cv(sf, sff) < 0.06
}

// atFrameEdge reports whether a character row lies along the top or bottom edge of a frame of
// height fh (within fh/40). Such a row is a camera's burned-in overlay (date, time, camera
// name) far more often than a plate, and a plate there has its border cut off by the frame
// and its characters at risk: a lane camera sees the vehicle again in the next frames, higher
// or lower. The row is dropped, not ranked last: the recognizer reads an overlay's digits as
// confidently as a plate's, so a ranked-last overlay is still read whenever a frame has fewer
// candidates than the read budget.
func atFrameEdge(band image.Rectangle, fh int) bool {
	edge := fh / 40
	return band.Min.Y <= edge || band.Max.Y >= fh-edge
}

// rowScore prefers rows of as many characters as plates have (5-8); longer rows are text
// overlays, signs and grilles more often than plates.
func rowScore(n int) float64 {
	switch {
	case n >= 5 && n <= 8:
		return float64(n) + 2
	case n > 8:
		return float64(16 - n)
	}
	return float64(n)
}

// trimFrame drops thin blobs at either end of a row that stand apart from the rest: the
// vertical edges of a plate frame or recess, not characters.
func (l *Locator) trimFrame(chain []int) []int {
	for len(chain) > l.opt.MinChars {
		a, b := l.blobs[chain[0]], l.blobs[chain[1]]
		if float64(a.w) < 0.3*float64(a.h) && float64(b.x-(a.x+a.w)) > 0.45*float64(b.h) {
			chain = chain[1:]
			continue
		}
		y, z := l.blobs[chain[len(chain)-2]], l.blobs[chain[len(chain)-1]]
		if float64(z.w) < 0.3*float64(z.h) && float64(z.x-(y.x+y.w)) > 0.45*float64(y.h) {
			chain = chain[:len(chain)-1]
			continue
		}
		break
	}
	return chain
}

// describe summarises a row of blobs: centre, tilt (least squares through the blob centres),
// median character height, extent.
func (l *Locator) describe(idx []int, score float64) PlateCandidate {
	var hs [16]int
	var slopes [64]float64
	ns := 0
	band := image.Rectangle{}
	var sx, sy float64
	for i, k := range idx {
		b := l.blobs[k]
		sx += b.cx
		sy += b.cy
		hs[i] = b.h
		r := image.Rect(b.x, b.y, b.x+b.w, b.y+b.h)
		if i == 0 {
			band = r
		} else {
			band = band.Union(r)
		}
		// Theil-Sen: the median of the pairwise slopes resists one stray blob.
		for _, k2 := range idx[:i] {
			b2 := l.blobs[k2]
			if dx := b.cx - b2.cx; dx > 0 && ns < len(slopes) {
				slopes[ns] = (b.cy - b2.cy) / dx
				ns++
			}
		}
	}
	n := float64(len(idx))
	slope := 0.0
	if ns > 0 {
		sort.Float64s(slopes[:ns])
		slope = slopes[ns/2]
	}
	const maxSlope = 0.45 // about 24 degrees
	slope = math.Max(-maxSlope, math.Min(maxSlope, slope))
	h := hs[:len(idx)]
	sort.Ints(h)
	first, last := l.blobs[idx[0]], l.blobs[idx[len(idx)-1]]
	cx := (float64(first.x) + float64(last.x+last.w)) / 2
	return PlateCandidate{
		Band:       band,
		CenterX:    cx,
		CenterY:    sy/n + slope*(cx-sx/n),
		Angle:      math.Atan(slope) * 180 / math.Pi,
		CharHeight: float64(h[len(h)/2]),
		TextWidth:  float64(last.x+last.w-first.x) * math.Sqrt(1+slope*slope),
		Chars:      len(idx),
		Score:      score,
	}
}

// plateBox is the bounding box of the plate around a character row, clipped to the frame.
func plateBox(c PlateCandidate, fw, fh int) image.Rectangle {
	return c.PlateRegion().Bounds().Intersect(image.Rect(0, 0, fw, fh))
}

// nmsCandidates sorts by score and drops candidates whose character rows overlap a better one.
func nmsCandidates(c []PlateCandidate) []PlateCandidate {
	slices.SortStableFunc(c, func(a, b PlateCandidate) int { return cmp.Compare(b.Score, a.Score) })
	out := c[:0]
	for _, x := range c {
		keep := true
		for _, y := range out {
			if iou(x.Band, y.Band) > 0.3 || x.Band.In(y.Box) && y.allChars() >= x.Chars {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, x)
		}
	}
	return out
}

func iou(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if in.Empty() {
		return 0
	}
	ia := float64(in.Dx() * in.Dy())
	return ia / (float64(a.Dx()*a.Dy()+b.Dx()*b.Dy()) - ia)
}
