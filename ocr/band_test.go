package ocr

import (
	"image"
	"testing"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr/synth"
)

func TestBandFinder(t *testing.T) {
	start := matCount()
	b := newBandFinder()
	grey := gocv.NewMat()
	const n = 40
	found := 0
	for seed := range int64(n) {
		p := synth.RenderPlate(seed+9_000_000, synth.Options{GoFontsOnly: true})
		if len(p.Text) < bandMinChars {
			continue
		}
		m := bgrMat(t, p.Image)
		gocv.CvtColor(m, &grey, gocv.ColorBGRToGray)
		m.Close()
		r, ok := b.find(grey)
		if !ok {
			t.Logf("seed %d: no band", seed)
			continue
		}
		want := p.TextBand()
		in := r.Intersect(want)
		if in.Dx()*in.Dy()*10 < want.Dx()*want.Dy()*8 {
			t.Logf("seed %d: band %v covers too little of the text %v", seed, r, want)
			continue
		}
		if r.Dy() > want.Dy()*5/2 {
			t.Logf("seed %d: band %v much taller than the text %v", seed, r, want)
			continue
		}
		found++
	}
	t.Logf("band found on %d of %d plates", found, n)
	if found*10 < n*7 {
		t.Errorf("band found on %d of %d plates; want at least 70%%", found, n)
	}
	// Degenerate inputs return false without touching OpenCV with bad sizes.
	for _, sz := range []image.Point{{1, 1}, {7, 100}, {400, 3}} {
		m := gocv.NewMatWithSize(sz.Y, sz.X, gocv.MatTypeCV8UC1)
		if _, ok := b.find(m); ok {
			t.Errorf("find(%v blank) = true; want false", sz)
		}
		m.Close()
	}
	grey.Close()
	b.Close()
	if c := matCount(); c != start {
		t.Errorf("Mat count %d after the test; want %d (leak)", c, start)
	}
}
