package ocr

import (
	"cmp"
	"errors"
	"fmt"
	"image"
	"slices"
	"strings"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr/ctc"
	"github.com/lprd/lprd/ocr/models"
	"github.com/lprd/lprd/ocr/plateformat"
)

// Reading is what the recognizer read on one plate crop.
type Reading struct {
	// Text is the best reading (characters 0-9 and A-Z, no separators);
	// empty when nothing was read.
	Text string
	// Confidence is the model's probability of Text, in 0..1.
	Confidence float32
	// CharConf holds one confidence per character of Text.
	CharConf []float32
	// Candidates are the most probable texts, best first; Candidates[0] is
	// Text when Text is not empty.
	Candidates []Candidate
}

// Candidate is an alternative reading: the one candidate type of ocr, fusion and the
// format rules (plateformat.Candidate). Two stages keep their own on purpose: ctc's is a
// beam-search hypothesis before the O/0 fold and the length filter, and the event's
// (uplink/envelope) is the wire format, float64 in JSON, versioned with the envelope.
type Candidate = plateformat.Candidate

// RecognizerOptions tune decoding; the zero value gives the defaults.
type RecognizerOptions struct {
	// BeamWidth of the CTC prefix beam search; 0 means 8.
	BeamWidth int
	// TopN is the number of candidates returned; 0 means 5.
	TopN int
	// Band selects whether the text-band finder is used; see BandMode.
	Band BandMode
	// BandBelow is the confidence under which BandFallback also reads the
	// trimmed crop and the text band; 0 means 0.9.
	BandBelow float32
	// KeepO reports the letter O where the network reads it. By default
	// the recognizer reads O and 0 as one character written 0: most US
	// states and Mexico leave O out of their serials and draw it like (often
	// exactly as) the digit 0, registries and hotlist look-ups treat the two
	// as one, and the OpenALPR benchmarks write it as 0. Plate-format rules
	// (ocr/plateformat) turn a 0 back into O where a format asks for a
	// letter.
	KeepO bool
	// Model replaces the embedded network with other ONNX bytes of the same
	// input and output shapes (to score a candidate model before it is
	// embedded). Only load files written by scripts/train-ocr: OpenCV aborts
	// the process on a malformed model.
	Model []byte
	// FP32 runs the network in 32-bit floats, as exported. By default it is
	// quantized to 8-bit integers when loaded (OpenCV's Net::quantize, its
	// activations calibrated on models.RecognizerCalibration): about 30 %
	// less time per crop on one core, and on rendered frames and the dev
	// crops as many plates read right (ocr/models/README.md, "8-bit
	// inference").
	FP32 bool
}

// BandMode selects which views of a crop the recognizer reads. Besides the
// whole crop there are two more views: the crop without its top and bottom
// TrimRows (plate crops often carry border, frame and slogan rows that push
// the characters to a smaller share of the height than the network prefers)
// and the character band the band finder returns. The candidates of the
// views read are merged (see mergeViews): a text the views agree on wins.
type BandMode uint8

const (
	// BandFallback reads the whole crop, and when the reading's confidence
	// is under BandBelow also the other views. It is the default.
	BandFallback BandMode = iota
	// BandOff reads the whole crop only (one network pass).
	BandOff
	// BandBoth always reads all views (three passes).
	BandBoth
)

// TrimRows is the share of rows cut from the top and from the bottom of a
// crop for the trimmed view.
const TrimRows = 0.08

// Canonical returns text as the recognizer reports it by default: the
// letter O written as the digit 0 (see RecognizerOptions.KeepO). Compare a
// known plate text with a reading through it.
func Canonical(text string) string { return strings.ReplaceAll(text, "O", "0") }

// Errors for crops the recognizer refuses. They are returned instead of
// letting OpenCV throw, which would abort the process.
var (
	ErrEmptyCrop = errors.New("ocr: recognizer: empty crop")
	ErrCropSize  = errors.New("ocr: recognizer: crop size out of range")
)

// Crop size limits accepted by Read.
const (
	MinCropWidth, MinCropHeight = 8, 4
	MaxCropWidth, MaxCropHeight = 4096, 4096
)

// Recognizer reads plate crops with the embedded network. It owns a DNN net
// and scratch Mats: use one per worker goroutine (it is not safe for
// concurrent use) and Close it when done.
type Recognizer struct {
	opt         RecognizerOptions
	net         *dnnNet
	grey, small gocv.Mat
	band        *bandFinder
	blob        []float32 // the network's input
	probs       ctc.Probs
}

// NewRecognizer loads the embedded model with default options.
func NewRecognizer() (*Recognizer, error) {
	return NewRecognizerWithOptions(RecognizerOptions{})
}

// NewRecognizerWithOptions loads the embedded model.
func NewRecognizerWithOptions(opt RecognizerOptions) (*Recognizer, error) {
	if opt.BeamWidth <= 0 {
		opt.BeamWidth = 8
	}
	if opt.TopN <= 0 {
		opt.TopN = 5
	}
	if opt.BandBelow <= 0 {
		opt.BandBelow = 0.9
	}
	model := models.RecognizerONNX()
	if opt.Model != nil {
		model = opt.Model
	}
	if len(model) == 0 {
		return nil, errors.New("ocr: recognizer: no embedded model (run scripts/train-ocr)")
	}
	var calib []float32
	if !opt.FP32 {
		calib = calibration()
	}
	net, err := loadNet(model, 1, models.InputHeight, models.InputWidth, models.Classes*models.Steps, calib)
	if err != nil {
		return nil, fmt.Errorf("ocr: recognizer: load model: %w", err)
	}
	return &Recognizer{
		opt:   opt,
		net:   net,
		grey:  gocv.NewMat(),
		small: gocv.NewMat(),
		band:  newBandFinder(),
		blob:  make([]float32, models.InputHeight*models.InputWidth),
	}, nil
}

// calibration returns models.RecognizerCalibration normalized as the network's inputs.
func calibration() []float32 {
	raw := models.RecognizerCalibration()
	k := models.InputHeight * models.InputWidth
	out := make([]float32, len(raw)/k*k)
	for i := 0; i+k <= len(raw); i += k {
		models.Normalize(raw[i:i+k], out[i:i+k])
	}
	return out
}

// Close releases the network and the scratch Mats.
func (r *Recognizer) Close() error {
	r.blob = nil
	r.band.Close()
	r.small.Close()
	r.grey.Close()
	r.net.close()
	return nil
}

// Read reads one plate crop (8-bit grey, BGR or BGRA, any size within the
// limits). The network was trained on whole plates with banners, slogans and
// loose margins, and on text bands cut with generous margins; depending on
// the BandMode it reads the whole crop only or also a trimmed crop and the
// band the band finder returns.
func (r *Recognizer) Read(plate gocv.Mat) (Reading, error) {
	if err := checkCrop(plate); err != nil {
		return Reading{}, err
	}
	grey := plate
	switch plate.Type() {
	case gocv.MatTypeCV8UC1:
	case gocv.MatTypeCV8UC3:
		gocv.CvtColor(plate, &r.grey, gocv.ColorBGRToGray)
		grey = r.grey
	case gocv.MatTypeCV8UC4:
		gocv.CvtColor(plate, &r.grey, gocv.ColorBGRAToGray)
		grey = r.grey
	default:
		return Reading{}, fmt.Errorf("ocr: recognizer: unsupported crop type %v (want 8-bit grey, BGR or BGRA)", plate.Type())
	}
	rd, err := r.readGrey(grey)
	if err != nil || r.opt.Band == BandOff || (r.opt.Band == BandFallback && rd.Confidence >= r.opt.BandBelow) {
		return rd, err
	}
	views := []Reading{rd}
	consider := func(rect image.Rectangle) {
		if rect.Dx() < MinCropWidth || rect.Dy() < MinCropHeight {
			return
		}
		region := grey.Region(rect)
		rv, err := r.readGrey(region)
		region.Close()
		if err == nil {
			views = append(views, rv)
		}
	}
	if d := int(TrimRows * float64(grey.Rows())); d > 0 {
		consider(image.Rect(0, d, grey.Cols(), grey.Rows()-d))
	}
	if rect, ok := r.band.find(grey); ok {
		consider(rect)
	}
	return mergeViews(views, r.opt.TopN), nil
}

// mergeViews combines the readings of several views of one crop: a text's
// score is the mean over the views of its probability in each (zero where a
// view did not list it), so a text that all views agree on beats one that a
// single view is sure of. The reading of the view that holds the best text
// with the highest confidence supplies the per-character confidences.
func mergeViews(views []Reading, topN int) Reading {
	if len(views) == 1 {
		return views[0]
	}
	var cands []Candidate
	for _, v := range views {
	next:
		for _, c := range v.Candidates {
			for i := range cands {
				if cands[i].Text == c.Text {
					cands[i].Confidence += c.Confidence
					continue next
				}
			}
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return views[0]
	}
	for i := range cands {
		cands[i].Confidence /= float32(len(views))
	}
	slices.SortStableFunc(cands, func(a, b Candidate) int { return cmp.Compare(b.Confidence, a.Confidence) })
	if len(cands) > topN {
		cands = cands[:topN]
	}
	out := Reading{Text: cands[0].Text, Confidence: cands[0].Confidence, Candidates: cands}
	var from float32 = -1
	for _, v := range views {
		if v.Text == out.Text && v.Confidence > from {
			out.CharConf, from = v.CharConf, v.Confidence
		}
	}
	if out.CharConf == nil {
		// The best text was only an alternative in every view: spread
		// its confidence evenly.
		out.CharConf = make([]float32, len(out.Text))
		for i := range out.CharConf {
			out.CharConf[i] = out.Confidence
		}
	}
	return out
}

// TextProb returns the probability of text (letters and digits of the alphabet, O folded
// into 0 unless KeepO) under the last network pass of the last Read: the whole crop when
// the band mode is off, as the FrameReader runs it. The format rules score their repairs of
// a reading with it (plateformat.Set.RankScored).
func (r *Recognizer) TextProb(text string) float32 {
	if !r.opt.KeepO {
		text = Canonical(text)
	}
	return float32(ctc.Prob(r.probs, models.Alphabet, text))
}

// readGrey reads an 8-bit grey crop.
func (r *Recognizer) readGrey(grey gocv.Mat) (Reading, error) {
	if err := models.Prepare(grey, nil, &r.small); err != nil {
		return Reading{}, fmt.Errorf("ocr: recognizer: %w", err)
	}
	return r.readPrepared()
}

func checkCrop(m gocv.Mat) error {
	if m.Empty() {
		return ErrEmptyCrop
	}
	if m.Cols() < MinCropWidth || m.Rows() < MinCropHeight || m.Cols() > MaxCropWidth || m.Rows() > MaxCropHeight {
		return fmt.Errorf("%w: %dx%d, want %dx%d to %dx%d", ErrCropSize, m.Cols(), m.Rows(),
			MinCropWidth, MinCropHeight, MaxCropWidth, MaxCropHeight)
	}
	return nil
}

// readPrepared runs the network on r.small (the prepared 8-bit input) and
// decodes the result.
func (r *Recognizer) readPrepared() (Reading, error) {
	pix, err := r.small.DataPtrUint8()
	if err != nil {
		return Reading{}, fmt.Errorf("ocr: recognizer: prepared crop: %w", err)
	}
	models.Normalize(pix, r.blob)
	logits, err := r.net.forward(r.blob)
	if err != nil {
		return Reading{}, fmt.Errorf("ocr: recognizer: network: %w", err)
	}
	r.probs, err = ctc.Softmax(logits, models.Classes, models.Steps, r.probs)
	if err != nil {
		return Reading{}, fmt.Errorf("ocr: recognizer: output: %w", err)
	}
	if !r.opt.KeepO {
		if err := r.probs.Fold(models.Alphabet, 'O', '0'); err != nil {
			return Reading{}, fmt.Errorf("ocr: recognizer: output: %w", err)
		}
	}
	return decode(r.probs, r.opt.BeamWidth, r.opt.TopN)
}

// decode turns probabilities into a Reading: the beam's candidates (without
// the empty text) and per-character confidences of the best.
func decode(p ctc.Probs, width, topN int) (Reading, error) {
	cands, err := ctc.Beam(p, models.Alphabet, width, topN+1)
	if err != nil {
		return Reading{}, fmt.Errorf("ocr: recognizer: decode: %w", err)
	}
	var rd Reading
	for _, c := range cands {
		if c.Text == "" || len(rd.Candidates) == topN {
			continue
		}
		rd.Candidates = append(rd.Candidates, Candidate{Text: c.Text, Confidence: c.Confidence})
	}
	if len(rd.Candidates) == 0 {
		return rd, nil
	}
	rd.Text, rd.Confidence = rd.Candidates[0].Text, rd.Candidates[0].Confidence
	rd.CharConf, err = ctc.Align(p, models.Alphabet, rd.Text)
	if err != nil {
		return Reading{}, fmt.Errorf("ocr: recognizer: decode: %w", err)
	}
	return rd, nil
}
