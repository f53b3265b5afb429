package ocr

import (
	"cmp"
	"errors"
	"fmt"
	"image"
	"slices"
	"time"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr/plateformat"
)

// FrameReaderOptions configures a FrameReader. The zero value of each field selects its
// default.
type FrameReaderOptions struct {
	// Detector proposes plate regions; nil builds one of DetectorKind. The FrameReader
	// takes ownership and closes it.
	Detector Detector
	// DetectorKind selects the detector built when Detector is nil ("": DefaultDetector).
	DetectorKind DetectorKind
	// Locate tunes the default localizer.
	Locate LocateOptions
	// Recognizer tunes decoding. Its Band mode is overridden by BandFinder.
	Recognizer RecognizerOptions
	// Crop selects what is cut out around each candidate for the recognizer (default CropAuto).
	Crop CropMode
	// BandFinder lets the recognizer look for the text band inside a crop it reads with low
	// confidence (a second network pass); off by default, because the localizer has already
	// found the character row.
	BandFinder bool
	// Rules rank and repair readings and name the matched format; nil uses none.
	Rules *plateformat.Set
	// ReadBudget is the most candidates the recognizer reads per frame, best first (default 4).
	ReadBudget int
	// MaxPlates caps the plates returned per frame (default 4).
	MaxPlates int
	// MinChars is the fewest characters a read must have (default 4).
	MinChars int
	// MaxChars is the most characters a candidate may have (default 8): no US or Mexican
	// format, nor a European one, carries more, and longer texts are banners, slogans, dealer
	// frames and signs. Longer candidates are dropped from a read's ranking; a read left
	// with none is dropped.
	MaxChars int
	// MinConfidence drops reads whose best candidate is less probable (default 0.05). It is a
	// per-frame filter of what is surely not a plate; fusion weighs the rest over frames and the
	// daemon decides what is confident enough to send.
	MinConfidence float32
	// NeedRule drops reads that no format rule accepts (only with Rules).
	NeedRule bool
}

func (o FrameReaderOptions) withDefaults() FrameReaderOptions {
	if o.ReadBudget <= 0 {
		o.ReadBudget = 4
	}
	if o.MaxPlates <= 0 {
		o.MaxPlates = 4
	}
	if o.MinChars <= 0 {
		o.MinChars = 4
	}
	if o.MaxChars <= 0 {
		o.MaxChars = 8
	}
	if o.MinConfidence <= 0 {
		o.MinConfidence = 0.05
	}
	return o
}

// CropMode selects the crop a FrameReader hands to the recognizer.
type CropMode uint8

const (
	// CropAuto cuts the character band where the detector knows the whole row
	// (Detection.HasBand); the whole plate, loosely, where it found only part of the row, so
	// that characters it missed at the row's ends stay inside the crop; and the plate as
	// given where it knows no row (the learned detector's corners).
	CropAuto CropMode = iota
	// CropPlate cuts the whole plate (Detection.Plate), upright, at 160x80, banner and
	// slogan included.
	CropPlate
	// CropBand cuts the character row with a margin (Detection.Band, the plate where the
	// detector gives none), upright, at the network's 128x32 input size.
	CropBand
)

// PlateRead is one plate read in one frame.
type PlateRead struct {
	// Box is the plate in frame pixels (axis-aligned).
	Box image.Rectangle
	// Text is the best candidate after the format rules; Confidence the recognizer's
	// probability of it.
	Text       string
	Confidence float32
	// CharConf holds the recognizer's per-character confidences of its own best reading
	// (before rule fixes, which change characters but not their number).
	CharConf []float32
	// Candidates are the alternatives after the rules, best first (Text included), in the
	// type the fusion stage takes.
	Candidates []plateformat.Candidate
	// Rule names the format rule Text matched ("" for none).
	Rule string
	// Score orders reads of one frame: confidence weighed by rule agreement.
	Score float32
	// rowHeight is the height of the character row the detector found (0: unknown).
	rowHeight float64
}

// Timing is the time one Read spent per stage.
type Timing struct {
	Convert, Locate, Recognize, Total time.Duration
	// Candidates is how many crops the recognizer read.
	Candidates int
}

// Errors of FrameReader.Read for frames it refuses.
var (
	ErrFrameSize   = errors.New("ocr: frame: size does not match its pixels")
	ErrFrameFormat = errors.New("ocr: frame: unsupported channel count (want 1 grey or 3 BGR)")
)

// FrameReader finds and reads the plates of whole frames: localize, rectify, recognize, apply
// the format rules. It owns its stages and their scratch Mats, so that a steady stream of
// frames of one size reuses the same buffers. Use one FrameReader per worker goroutine (one
// worker per core); it is not safe for concurrent use. Close it when done.
type FrameReader struct {
	opt  FrameReaderOptions
	det  Detector
	rect *Rectifier
	rec  *Recognizer

	in, grey gocv.Mat
	reads    []PlateRead
	last     Timing
}

// NewFrameReader loads the recognizer and allocates the stages.
func NewFrameReader(opt FrameReaderOptions) (*FrameReader, error) {
	opt = opt.withDefaults()
	opt.Recognizer.Band = BandOff
	if opt.BandFinder {
		opt.Recognizer.Band = BandFallback
	}
	det := opt.Detector
	if det == nil {
		var err error
		if det, err = NewDetector(opt.DetectorKind, opt.Locate); err != nil {
			return nil, err
		}
	}
	rec, err := NewRecognizerWithOptions(opt.Recognizer)
	if err != nil {
		det.Close()
		return nil, err
	}
	opt.Detector = nil // owned by the reader from here
	return &FrameReader{
		opt:  opt,
		det:  det,
		rect: NewRectifier(),
		rec:  rec,
		in:   gocv.NewMat(),
		grey: gocv.NewMat(),
	}, nil
}

// Close frees the stages.
func (f *FrameReader) Close() error {
	f.det.Close()
	f.rect.Close()
	f.in.Close()
	f.grey.Close()
	return f.rec.Close()
}

// LastTiming is the per-stage time of the latest Read.
func (f *FrameReader) LastTiming() Timing { return f.last }

// Read finds and reads the plates in a frame of w x h pixels, row-major without padding:
// channels 1 (grey) or 3 (BGR). It returns the reads best first; the slice is reused by the
// next call. The frame's pixels are copied in, so pix may be released as soon as Read returns.
func (f *FrameReader) Read(pix []byte, w, h, channels int) ([]PlateRead, error) {
	t0 := time.Now()
	if channels != 1 && channels != 3 {
		return nil, fmt.Errorf("%w: %d", ErrFrameFormat, channels)
	}
	if w <= 0 || h <= 0 || len(pix) != w*h*channels {
		return nil, fmt.Errorf("%w: %dx%dx%d is %d bytes, got %d", ErrFrameSize, w, h, channels, w*h*channels, len(pix))
	}
	typ := gocv.MatTypeCV8UC1
	if channels == 3 {
		typ = gocv.MatTypeCV8UC3
	}
	if f.in.Cols() != w || f.in.Rows() != h || f.in.Type() != typ {
		f.in.Close()
		f.in = gocv.NewMatWithSize(h, w, typ)
	}
	buf, err := f.in.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("ocr: frame: %w", err)
	}
	copy(buf, pix)
	return f.readMat(f.in, t0)
}

// ReadMat is Read for a frame already in a Mat: CV_8UC1 grey or CV_8UC3 BGR.
func (f *FrameReader) ReadMat(frame gocv.Mat) ([]PlateRead, error) {
	t0 := time.Now()
	switch {
	case frame.Empty():
		return nil, fmt.Errorf("%w: empty", ErrFrameSize)
	case frame.Type() != gocv.MatTypeCV8UC1 && frame.Type() != gocv.MatTypeCV8UC3:
		return nil, fmt.Errorf("%w: Mat type %v", ErrFrameFormat, frame.Type())
	}
	return f.readMat(frame, t0)
}

func (f *FrameReader) readMat(frame gocv.Mat, t0 time.Time) ([]PlateRead, error) {
	f.last = Timing{}
	grey := frame
	if frame.Type() == gocv.MatTypeCV8UC3 {
		gocv.CvtColor(frame, &f.grey, gocv.ColorBGRToGray)
		grey = f.grey
	}
	t1 := time.Now()
	f.last.Convert = t1.Sub(t0)
	cands := f.det.Detect(grey)
	t2 := time.Now()
	f.last.Locate = t2.Sub(t1)
	f.reads = f.reads[:0]
	for i, c := range cands {
		if i == f.opt.ReadBudget {
			break
		}
		if r, ok := f.readCandidate(grey, c); ok {
			f.reads = append(f.reads, r)
		}
		f.last.Candidates++
	}
	t3 := time.Now()
	f.last.Recognize = t3.Sub(t2)
	f.reads = dedupeReads(f.reads)
	if len(f.reads) > f.opt.MaxPlates {
		f.reads = f.reads[:f.opt.MaxPlates]
	}
	f.last.Total = t3.Sub(t0)
	return f.reads, nil
}

// shortRowLoose widens the plate crop around rows of fewer than five characters (CropAuto):
// on rendered validation frames it reads more of them right than the bare estimate does
// (lprlab evalsynth; see models/DETECTOR.md, "Crops of the learned detector's regions").
const shortRowLoose = 1.2

// Crop sizes: a plate is about twice as wide as high; a band crop is the network's input.
const (
	plateW, plateH = 160, 80
	bandW, bandH   = 128, 32
)

// crop cuts what the recognizer reads of one detection (CropMode) and returns it with the
// region cut; the Mat is the rectifier's and valid until its next Crop.
func (f *FrameReader) crop(grey gocv.Mat, c Detection) (gocv.Mat, Region) {
	if (f.opt.Crop == CropBand && c.Band.Width > 0) || (f.opt.Crop == CropAuto && c.HasBand) {
		return f.rect.Crop(grey, c.Band, bandW, bandH), c.Band
	}
	g := c.Plate
	if f.opt.Crop == CropAuto && c.Band.Width > 0 {
		// A short row is most often a plate's row with characters missed at its ends, and
		// the plate estimated from it is as short: leave room for them. A plate the
		// detector gives whole, without a row (the learned detector's corners), is cut as
		// it is: a margin there only adds background and shrinks the characters.
		g.Width *= shortRowLoose
		g.Height *= shortRowLoose
	}
	return f.rect.Crop(grey, g, plateW, plateH), g
}

// Crops runs the reader's detector on a frame (CV_8UC1 grey or CV_8UC3 BGR) and calls yield
// with each detection it would read (the first ReadBudget), the region it would cut and the
// crop it would hand the recognizer, until yield returns false. The crop is valid only during the call. It is for
// making recognizer training data that looks like what the reader sees at the lane
// (`lprlab gencrops`). A detection's Outline, which the reader may read too, is not cut: it
// is the other detector's plate, cut as that detector's own regions are.
func (f *FrameReader) Crops(frame gocv.Mat, yield func(Detection, Region, gocv.Mat) bool) error {
	switch {
	case frame.Empty():
		return fmt.Errorf("%w: empty", ErrFrameSize)
	case frame.Type() != gocv.MatTypeCV8UC1 && frame.Type() != gocv.MatTypeCV8UC3:
		return fmt.Errorf("%w: Mat type %v", ErrFrameFormat, frame.Type())
	}
	grey := frame
	if frame.Type() == gocv.MatTypeCV8UC3 {
		gocv.CvtColor(frame, &f.grey, gocv.ColorBGRToGray)
		grey = f.grey
	}
	for i, c := range f.det.Detect(grey) {
		if i == f.opt.ReadBudget {
			break
		}
		if crop, cut := f.crop(grey, c); !yield(c, cut, crop) {
			break
		}
	}
	return nil
}

// readCandidate reads one detection and applies the rules.
func (f *FrameReader) readCandidate(grey gocv.Mat, c Detection) (PlateRead, bool) {
	var rd Reading
	var err error
	// The rules' repairs are scored by the network's probability of the repaired text,
	// which is that of the one view read when the band finder is off (and no such thing
	// for two rows read apart).
	var prob func(string) float32
	if c.Stacked {
		rd, err = f.readStacked(grey, c)
	} else {
		crop, _ := f.crop(grey, c)
		rd, err = f.rec.Read(crop)
		prob = f.viewProb()
	}
	ranked, ok := f.rank(rd, err, prob)
	if c.Outline.Width > 0 && (!ok || (!c.HasBand && !c.Stacked)) {
		// Two detectors found a plate here. Where this detection's own crop gives no read,
		// or is a short row's (its ends most often missed, its plate estimated from it), the
		// other's whole plate is read too, cut as given, and the more confident read kept.
		rd2, err2 := f.rec.Read(f.rect.Crop(grey, c.Outline, plateW, plateH))
		if r2, ok2 := f.rank(rd2, err2, f.viewProb()); ok2 && (!ok || r2[0].Confidence > ranked[0].Confidence) {
			c.Box, c.Band, c.HasBand = c.Outline.Bounds().Intersect(image.Rect(0, 0, grey.Cols(), grey.Rows())), Region{}, false
			ranked, rd, ok = r2, rd2, true
		}
	}
	if !ok {
		return PlateRead{}, false
	}
	best := ranked[0]
	r := PlateRead{Box: c.Box, Text: best.Text, Confidence: best.Confidence, CharConf: rd.CharConf,
		Rule: best.Rule.Name(), Score: best.Score, Candidates: make([]plateformat.Candidate, len(ranked))}
	if c.Band.Width > 0 {
		r.rowHeight = c.Band.Height
	}
	for i, x := range ranked {
		r.Candidates[i] = plateformat.Candidate{Text: x.Text, Confidence: x.Confidence}
	}
	return r, true
}

// viewProb is the probability the rules score their repairs by: the network's of the one
// view read, when the band finder is off (it merges several views).
func (f *FrameReader) viewProb() func(string) float32 {
	if f.opt.BandFinder {
		return nil
	}
	return f.rec.TextProb
}

// rank applies the rules to a reading and says whether it is a read: a best candidate
// of MinChars to MaxChars characters, confident enough, not repetitive, accepted by a rule
// when NeedRule.
func (f *FrameReader) rank(rd Reading, err error, prob func(string) float32) ([]plateformat.Ranked, bool) {
	if err != nil || len(rd.Candidates) == 0 {
		return nil, false
	}
	ranked := withinLength(f.opt.Rules.RankScored(rd.Candidates, prob), f.opt.MaxChars)
	if len(ranked) == 0 {
		return nil, false
	}
	best := ranked[0]
	if len(best.Text) < f.opt.MinChars || best.Confidence < f.opt.MinConfidence || (f.opt.NeedRule && best.Rule == nil) ||
		repetitive(best.Text) {
		return nil, false
	}
	return ranked, true
}

// stackedCandidates is how many readings of each row of a stacked plate are joined: 4 x 4
// pairs hold more than the 5 candidates a one-row read returns (RecognizerOptions.TopN),
// so the joined top 5 are not cut short; not tuned.
const stackedCandidates = 4

// readStacked reads the two rows of a stacked plate apart, each cut as a band, and joins them,
// top row first: the candidates are the pairs of the rows' best readings, with the product of
// their confidences.
func (f *FrameReader) readStacked(grey gocv.Mat, c Detection) (Reading, error) {
	var rows [2]Reading
	for i, g := range c.Rows {
		rd, err := f.rec.Read(f.rect.Crop(grey, g, bandW, bandH))
		if err != nil {
			return Reading{}, err
		}
		if len(rd.Candidates) == 0 {
			return Reading{}, nil
		}
		rows[i] = rd
	}
	var out Reading
	for _, a := range rows[0].Candidates[:min(stackedCandidates, len(rows[0].Candidates))] {
		for _, b := range rows[1].Candidates[:min(stackedCandidates, len(rows[1].Candidates))] {
			out.Candidates = append(out.Candidates, Candidate{Text: a.Text + b.Text, Confidence: a.Confidence * b.Confidence})
		}
	}
	slices.SortStableFunc(out.Candidates, func(a, b Candidate) int { return cmp.Compare(b.Confidence, a.Confidence) })
	out.Text, out.Confidence = out.Candidates[0].Text, out.Candidates[0].Confidence
	if out.Text == rows[0].Text+rows[1].Text {
		out.CharConf = append(slices.Clip(rows[0].CharConf), rows[1].CharConf...)
	}
	return out, nil
}

// withinLength keeps the candidates of at most maxChars characters, in order.
func withinLength(ranked []plateformat.Ranked, maxChars int) []plateformat.Ranked {
	return slices.DeleteFunc(ranked, func(r plateformat.Ranked) bool { return len(r.Text) > maxChars })
}

// repetitive reports a text made mostly of one character ("WWWWW", "IIIIH", "II1I11I"): what
// the recognizer makes of windows, fences, posts and grilles. Plates mix their characters. A
// bare vertical bar reads as I or 1, so the two count as one.
func repetitive(text string) bool {
	var n [256]int
	most := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '1' {
			c = 'I'
		}
		n[c]++
		most = max(most, n[c])
	}
	return len(text) >= 4 && most*10 >= 7*len(text)
}

// dedupeReads sorts reads by score and drops those overlapping a better one: the same plate
// found twice (e.g. by both polarities), or a banner or slogan line of a plate that was read
// on its own, whose box lies mostly inside the plate's. Where the detector measured both
// reads' character rows, boxes overlapping by 30 % of the smaller are one plate (two
// vehicles' plates never overlap) and the read with clearly taller characters wins whatever
// the scores: a plate's registration is its tallest text (US plates letter it 2.5 to 3
// inches high, the state name and slogan an inch or less), and a banner read confidently
// must not hide a short registration read less surely. Without row heights a better read
// inside a plate's box (a slogan) does not hide the plate: fusion weighs both over frames.
func dedupeReads(reads []PlateRead) []PlateRead {
	slices.SortStableFunc(reads, func(a, b PlateRead) int { return cmp.Compare(b.Score, a.Score) })
	out := reads[:0]
	for _, r := range reads {
		dup := -1
		for i, o := range out {
			rows := r.rowHeight > 0 && o.rowHeight > 0
			if iou(r.Box, o.Box) > 0.3 || insideShare(r.Box, o.Box) > 0.6 || (rows && overlapShare(r.Box, o.Box) > 0.3) {
				dup = i
				break
			}
		}
		switch {
		case dup < 0:
			out = append(out, r)
		case out[dup].rowHeight > 0 && r.rowHeight > tallerRow*out[dup].rowHeight:
			out[dup] = r
		}
	}
	return out
}

// tallerRow is how much taller one character row must be than another for dedupeReads to
// take it for the registration rather than a banner: a banner is half as tall or less, and
// the margin leaves room for perspective and the detector's row estimate.
const tallerRow = 1.4

// insideShare is the share of a's area that lies inside b.
func insideShare(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if a.Empty() || in.Empty() {
		return 0
	}
	return float64(in.Dx()*in.Dy()) / float64(a.Dx()*a.Dy())
}

// overlapShare is the area a and b share, as a share of the smaller one.
func overlapShare(a, b image.Rectangle) float64 {
	in := a.Intersect(b)
	if a.Empty() || b.Empty() || in.Empty() {
		return 0
	}
	return float64(in.Dx()*in.Dy()) / float64(min(a.Dx()*a.Dy(), b.Dx()*b.Dy()))
}
