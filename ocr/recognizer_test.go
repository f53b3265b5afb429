package ocr

import (
	"errors"
	"image"
	"testing"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr/models"
	"github.com/lprd/lprd/ocr/synth"
)

// bgrMat converts a rendered image to a BGR Mat, as the pipeline hands crops
// to the recognizer.
func bgrMat(t testing.TB, img *image.RGBA) gocv.Mat {
	t.Helper()
	m, err := gocv.NewMatFromBytes(img.Rect.Dy(), img.Rect.Dx(), gocv.MatTypeCV8UC3, synth.BGR(img))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// photographedPlate renders the plate of seed in gofont only (so that no test depends on the
// fonts installed) and photographs it as a whole-plate crop under opt, in a BGR Mat.
func photographedPlate(t testing.TB, seed int64, opt synth.CameraOptions) (synth.Plate, gocv.Mat) {
	t.Helper()
	p := synth.RenderPlate(seed, synth.Options{GoFontsOnly: true})
	opt.Crop = synth.CropPlate
	return p, bgrMat(t, synth.Photograph(p, seed, opt))
}

// readBackMin is the share of synthetic plates that must read exactly.
const readBackMin = 0.8

func TestRecognizerReadsSyntheticPlates(t *testing.T) {
	start := matCount()
	rec, err := NewRecognizer()
	if err != nil {
		t.Fatal(err)
	}
	const n = 60
	ok := 0
	for seed := range int64(n) {
		seed += 7_000_000 // far from the training range
		p, m := photographedPlate(t, seed, synth.CameraOptions{MinWidth: 110, MaxWidth: 220, MaxTilt: 0.5})
		rd, err := rec.Read(m)
		m.Close()
		if err != nil {
			t.Fatalf("seed %d: Read: %v", seed, err)
		}
		if len(rd.CharConf) != len(rd.Text) {
			t.Errorf("seed %d: %d char confidences for %d characters", seed, len(rd.CharConf), len(rd.Text))
		}
		if rd.Text == Canonical(p.Text) {
			ok++
		} else {
			t.Logf("seed %d: read %q, want %q (confidence %.2f)", seed, rd.Text, p.Text, rd.Confidence)
		}
	}
	t.Logf("%d of %d synthetic plates read exactly", ok, n)
	if float64(ok) < readBackMin*n {
		t.Errorf("read %d of %d synthetic plates; want at least %.0f%%", ok, n, 100*readBackMin)
	}
	rec.Close()
	if c := matCount(); c != start {
		t.Errorf("Mat count %d after the test; want %d (leak)", c, start)
	}
}

func TestRecognizerOddCrops(t *testing.T) {
	start := matCount()
	rec, err := NewRecognizer()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		rows, cols int
		typ        gocv.MatType
		want       error // nil: must succeed
	}{
		{"smallest", MinCropHeight, MinCropWidth, gocv.MatTypeCV8UC3, nil},
		{"grey", 50, 100, gocv.MatTypeCV8UC1, nil},
		{"bgra", 50, 100, gocv.MatTypeCV8UC4, nil},
		{"thin line", 1, 300, gocv.MatTypeCV8UC3, ErrCropSize},
		{"too small", 3, 7, gocv.MatTypeCV8UC3, ErrCropSize},
		{"huge", MaxCropHeight + 1, 64, gocv.MatTypeCV8UC1, ErrCropSize},
		{"tall", 1000, 20, gocv.MatTypeCV8UC3, nil},
		{"float", 40, 80, gocv.MatTypeCV32F, errAny},
	}
	for _, tt := range tests {
		m := gocv.NewMatWithSize(tt.rows, tt.cols, tt.typ)
		_, err := rec.Read(m)
		m.Close()
		switch {
		case tt.want == nil && err != nil:
			t.Errorf("%s: Read(%dx%d) = %v; want success", tt.name, tt.cols, tt.rows, err)
		case tt.want == errAny && err == nil:
			t.Errorf("%s: Read(%dx%d) succeeded; want an error", tt.name, tt.cols, tt.rows)
		case tt.want != nil && tt.want != errAny && !errors.Is(err, tt.want):
			t.Errorf("%s: Read(%dx%d) = %v; want %v", tt.name, tt.cols, tt.rows, err, tt.want)
		}
	}
	empty := gocv.NewMat()
	if _, err := rec.Read(empty); !errors.Is(err, ErrEmptyCrop) {
		t.Errorf("Read(empty) = %v; want ErrEmptyCrop", err)
	}
	empty.Close()
	rec.Close()
	if c := matCount(); c != start {
		t.Errorf("Mat count %d after the test; want %d (leak)", c, start)
	}
}

var errAny = errors.New("any error")

// The default network, quantized to 8 bits, reads rendered plates as the exported 32-bit one
// does: the same texts on nearly all of them and as many right.
func TestRecognizerQuantized(t *testing.T) {
	q, err := NewRecognizerWithOptions(RecognizerOptions{Band: BandOff})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	f, err := NewRecognizerWithOptions(RecognizerOptions{Band: BandOff, FP32: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const n = 80
	var same, rightQ, rightF int
	for seed := range int64(n) {
		seed += 7_100_000
		p, m := photographedPlate(t, seed, synth.CameraOptions{MinWidth: 80, MaxWidth: 220, MaxTilt: 1})
		rq, errQ := q.Read(m)
		rf, errF := f.Read(m)
		m.Close()
		if errQ != nil || errF != nil {
			t.Fatal(errQ, errF)
		}
		want := Canonical(p.Text)
		if rq.Text == rf.Text {
			same++
		}
		if rq.Text == want {
			rightQ++
		}
		if rf.Text == want {
			rightF++
		}
	}
	t.Logf("8-bit %d right, 32-bit %d right, the same text on %d of %d", rightQ, rightF, same, n)
	if same*100 < n*90 || rightQ < rightF-3 {
		t.Errorf("8-bit %d right, 32-bit %d right, the same text on %d of %d plates; want 90 %% the same and no more than 3 fewer right", rightQ, rightF, same, n)
	}
}

func TestLoadNetRefuses(t *testing.T) {
	model := models.RecognizerONNX()
	for _, tc := range []struct {
		name  string
		model []byte
		calib []float32
	}{
		{"no model", nil, nil},
		{"a truncated model", model[:len(model)/3], nil},
		{"calibration not a whole number of inputs", model, make([]float32, 100)},
	} {
		if n, err := loadNet(tc.model, 1, models.InputHeight, models.InputWidth, models.Classes*models.Steps, tc.calib); err == nil {
			n.close()
			t.Errorf("%s: loadNet = nil error", tc.name)
		}
	}
	n, err := loadNet(model, 1, models.InputHeight, models.InputWidth, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.close()
	if _, err := n.forward(make([]float32, 7)); err == nil {
		t.Error("forward of a short input = nil error")
	}
	if _, err := n.forward(make([]float32, models.InputHeight*models.InputWidth)); err == nil {
		t.Error("forward into too small an output = nil error")
	}
}

// BenchmarkRecognizerRead measures one read of a 320x160 BGR plate crop on
// one OpenCV thread (the target is under 3 ms per plate on one core): "whole"
// is one network pass (BandOff), "band" the two passes BandBoth costs, the
// most the default BandFallback can cost; "fp32" runs the network unquantized.
func BenchmarkRecognizerRead(b *testing.B) {
	prev := OpenCVThreads()
	SetOpenCVThreads(1)
	defer SetOpenCVThreads(prev)
	p := synth.RenderPlate(1, synth.Options{GoFontsOnly: true})
	m := bgrMat(b, p.Image)
	defer m.Close()
	for _, bc := range []struct {
		name string
		mode BandMode
		fp32 bool
	}{{"whole", BandOff, false}, {"band", BandBoth, false}, {"whole-fp32", BandOff, true}} {
		b.Run(bc.name, func(b *testing.B) {
			rec, err := NewRecognizerWithOptions(RecognizerOptions{Band: bc.mode, FP32: bc.fp32})
			if err != nil {
				b.Fatal(err)
			}
			defer rec.Close()
			for b.Loop() {
				if _, err := rec.Read(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestMergeViews(t *testing.T) {
	rd := func(cands ...Candidate) Reading {
		r := Reading{Candidates: cands}
		if len(cands) > 0 {
			r.Text, r.Confidence = cands[0].Text, cands[0].Confidence
			for range r.Text {
				r.CharConf = append(r.CharConf, cands[0].Confidence)
			}
		}
		return r
	}
	c := func(text string, conf float32) Candidate { return Candidate{Text: text, Confidence: conf} }
	for _, tc := range []struct {
		name  string
		views []Reading
		want  []Candidate
	}{
		{"one view unchanged", []Reading{rd(c("ABC123", 0.6), c("A8C123", 0.2))},
			[]Candidate{c("ABC123", 0.6), c("A8C123", 0.2)}},
		{"agreement beats one sure view", []Reading{
			rd(c("XABC123", 0.7), c("ABC123", 0.2)),
			rd(c("ABC123", 0.6)),
			rd(c("ABC123", 0.5), c("XABC123", 0.1)),
		}, []Candidate{c("ABC123", 1.3/3), c("XABC123", 0.8/3)}},
		{"empty views count", []Reading{rd(c("7ABC", 0.9)), rd()},
			[]Candidate{c("7ABC", 0.45)}},
		{"nothing read", []Reading{rd(), rd()}, nil},
		{"top N", []Reading{rd(c("A", 0.5), c("B", 0.4)), rd(c("C", 0.3), c("D", 0.2))},
			[]Candidate{c("A", 0.25), c("B", 0.2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mergeViews(tc.views, 2)
			if len(got.Candidates) != len(tc.want) {
				t.Fatalf("candidates %v; want %v", got.Candidates, tc.want)
			}
			for i, w := range tc.want {
				g := got.Candidates[i]
				if g.Text != w.Text || g.Confidence < w.Confidence-1e-6 || g.Confidence > w.Confidence+1e-6 {
					t.Errorf("candidate %d = %v; want %v", i, g, w)
				}
			}
			if len(tc.want) > 0 && (got.Text != tc.want[0].Text || len(got.CharConf) != len(got.Text)) {
				t.Errorf("Text %q with %d char confidences; want %q with one per character", got.Text, len(got.CharConf), tc.want[0].Text)
			}
		})
	}
}
