package ocr

import (
	"image"
	"testing"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr/synth"
)

// fixedDetector is a hand-written Detector that proposes the same regions on every
// frame and records how often it ran and whether it was closed.
type fixedDetector struct {
	dets   []Detection
	calls  int
	closed bool
}

func (d *fixedDetector) Detect(gocv.Mat) []Detection { d.calls++; return d.dets }
func (d *fixedDetector) Close() error                { d.closed = true; return nil }

// TestFrameReaderUsesItsDetector swaps the detector: the reader reads what the
// detector proposes (a plate-true box gives the plate's text, nothing gives nothing)
// and closes the detector with itself.
func TestFrameReaderUsesItsDetector(t *testing.T) {
	v := sceneCases[0]
	sc := synth.RenderScene(100, synth.SceneOptions{Vehicles: []synth.Vehicle{v}, GoFontsOnly: true})
	pix := greyPix(sc.Image)
	w, h := sc.Image.Rect.Dx(), sc.Image.Rect.Dy()

	// The classical locator's own detections, handed over through the interface.
	loc := NewLocator(LocateOptions{})
	grey := greyMat(t, sc.Image)
	own := append([]Detection(nil), loc.Detect(grey)...)
	grey.Close()
	loc.Close()
	if len(own) == 0 {
		t.Fatal("the locator found nothing in the scene")
	}
	for name, tc := range map[string]struct {
		dets []Detection
		want bool
	}{"locator's": {own, true}, "none": {nil, false}} {
		det := &fixedDetector{dets: tc.dets}
		fr, err := NewFrameReader(FrameReaderOptions{Detector: det})
		if err != nil {
			t.Fatal(err)
		}
		reads, err := fr.Read(pix, w, h, 1)
		if err != nil {
			t.Fatal(err)
		}
		got := false
		for _, r := range reads {
			if r.Text == sc.Plates[0].Text {
				got = true
			}
		}
		if got != tc.want || det.calls != 1 {
			t.Errorf("%s detections: read %q = %v after %d Detect calls; want %v after 1", name, sc.Plates[0].Text, got, det.calls, tc.want)
		}
		fr.Close()
		if !det.closed {
			t.Errorf("%s detections: FrameReader.Close did not close its detector", name)
		}
	}
}

// TestFrameReaderReadsOutline: a detection whose own crop does not read (its band on the
// road, away from the plate) is read from its Outline, the other detector's plate, and the
// read takes the outline's box; without an outline it gives nothing. A short row (the
// plate's left 70 %, which alone reads its first four characters) with an outline reads the
// whole plate from the outline, the more confident read.
func TestFrameReaderReadsOutline(t *testing.T) {
	sc := synth.RenderScene(100, synth.SceneOptions{Vehicles: []synth.Vehicle{sceneCases[0]}, GoFontsOnly: true})
	pix := greyPix(sc.Image)
	w, h := sc.Image.Rect.Dx(), sc.Image.Rect.Dy()
	p := sc.Plates[0]
	plate := Region{CX: float64(p.Box.Min.X+p.Box.Max.X) / 2, CY: float64(p.Box.Min.Y+p.Box.Max.Y) / 2,
		Width: float64(p.Box.Dx()), Height: float64(p.Box.Dy())}
	road := Region{CX: 200, CY: 690, Width: 120, Height: 24}
	left := Region{CX: plate.CX - plate.Width*0.15, CY: plate.CY, Width: plate.Width * 0.7, Height: plate.Height / 2}
	for name, tc := range map[string]struct {
		row     Region
		whole   bool
		outline Region
		want    string
		box     image.Rectangle
	}{
		"road, no outline":   {road, true, Region{}, "", image.Rectangle{}},
		"road, outline":      {road, true, plate, p.Text, plate.Bounds()},
		"short row, outline": {left, false, plate, p.Text, plate.Bounds()},
	} {
		d := Detection{Box: tc.row.Bounds(), Plate: tc.row, Band: tc.row, HasBand: tc.whole, Outline: tc.outline}
		fr, err := NewFrameReader(FrameReaderOptions{Detector: &fixedDetector{dets: []Detection{d}}})
		if err != nil {
			t.Fatal(err)
		}
		reads, err := fr.Read(pix, w, h, 1)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tc.want == "" && len(reads) != 0:
			t.Errorf("%s: read %q at %v; want nothing (the band is on the road)", name, reads[0].Text, reads[0].Box)
		case tc.want != "" && (len(reads) != 1 || reads[0].Text != tc.want || reads[0].Box != tc.box):
			t.Errorf("%s: reads %+v; want %q at %v", name, reads, tc.want, tc.box)
		}
		fr.Close()
	}
}

func TestRegionCorners(t *testing.T) {
	g := Region{CX: 100, CY: 50, Width: 40, Height: 20}
	want := [4]image.Point{{80, 40}, {120, 40}, {120, 60}, {80, 60}}
	if got := g.Corners(); got != want {
		t.Errorf("Region%+v.Corners() = %v; want %v", g, got, want)
	}
	g.Angle = 90 // a quarter turn clockwise: the top-left corner goes to the top right
	want = [4]image.Point{{110, 30}, {110, 70}, {90, 70}, {90, 30}}
	if got := g.Corners(); got != want {
		t.Errorf("Region%+v.Corners() = %v; want %v", g, got, want)
	}
	for _, c := range g.Corners() {
		if !c.In(g.Bounds().Inset(-1)) {
			t.Errorf("corner %v outside the region's bounds %v", c, g.Bounds())
		}
	}
}
