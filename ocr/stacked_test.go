package ocr

import (
	"image"
	"testing"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr/synth"
)

// stackedCases are two-row plates at several sizes, tilts and texts (vanity and serial,
// split at the separator or in the middle).
var stackedCases = []synth.Vehicle{
	{X: 640, Y: 400, PlateWidth: 150, Text: "ABC 1234"},
	{X: 400, Y: 450, PlateWidth: 120, Tilt: 5, Text: "7XK 293"},
	{X: 800, Y: 380, PlateWidth: 180, Tilt: -4, Skew: 0.9, Text: "K429MF"},
	{X: 600, Y: 500, PlateWidth: 130, Text: "WJ 99562"},
	{X: 700, Y: 420, PlateWidth: 160, Tilt: 3, Text: "3HT 58"},
	{X: 500, Y: 350, PlateWidth: 140, Text: "PRZ 4471"},
}

// stackedScene renders case i, v, of stackedCases with its plate stacked, and its grey frame.
func stackedScene(t *testing.T, i int, v synth.Vehicle) (synth.Scene, gocv.Mat) {
	v.Rows, v.PlateSeed = 2, int64(300+i)
	sc := synth.RenderScene(int64(200+i), synth.SceneOptions{Vehicles: []synth.Vehicle{v}, GoFontsOnly: true})
	return sc, greyMat(t, sc.Image)
}

// TestReadStackedPlates reads rendered scenes with a two-row plate and wants the rows
// joined, top first, into the plate's text.
func TestReadStackedPlates(t *testing.T) {
	fr, err := NewFrameReader(FrameReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	right := 0
	for i, v := range stackedCases {
		sc, grey := stackedScene(t, i, v)
		reads, err := fr.ReadMat(grey)
		grey.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := sc.Plates[0].Text
		got := ""
		for _, r := range reads {
			if iou(r.Box, sc.Plates[0].Box) >= 0.4 {
				got = r.Text
				break
			}
		}
		if Canonical(got) == Canonical(want) {
			right++
		} else {
			t.Logf("case %d: read %q at the plate, want %q (%d reads)", i, got, want, len(reads))
		}
	}
	t.Logf("%d of %d stacked plates read right", right, len(stackedCases))
	if right < len(stackedCases)/2 {
		t.Errorf("%d of %d stacked plates read right; want at least %d", right, len(stackedCases), len(stackedCases)/2)
	}
}

// TestLocateStacked wants the locator to give each rendered stacked plate as one candidate
// holding both rows (Stack set, the box over the plate), and no stacked candidate for the
// one-row plates of sceneCases.
func TestLocateStacked(t *testing.T) {
	l := NewLocator(LocateOptions{})
	defer l.Close()
	missed := 0
	for i, v := range stackedCases {
		sc, grey := stackedScene(t, i, v)
		ok := false
		for _, c := range l.Locate(grey) {
			if c.Stack != nil && iou(c.Box, sc.Plates[0].Box) >= 0.4 {
				d := c.Detection()
				ok = d.Stacked && d.Rows[0].CY < d.Rows[1].CY
			}
		}
		grey.Close()
		if !ok {
			// A two-character row is not a candidate of its own: it is found only when the
			// region verified around the other row holds it.
			t.Logf("case %d %q: no stacked candidate over the plate %v", i, v.Text, sc.Plates[0].Box)
			missed++
		}
	}
	if missed > 1 {
		t.Errorf("%d of %d stacked plates not found as stacked; want at most 1", missed, len(stackedCases))
	}
	for i, v := range sceneCases {
		sc := synth.RenderScene(int64(100+i), synth.SceneOptions{Vehicles: []synth.Vehicle{v}, GoFontsOnly: true})
		grey := greyMat(t, sc.Image)
		for _, c := range l.Locate(grey) {
			if c.Stack != nil && iou(c.Box, sc.Plates[0].Box) > 0 {
				t.Errorf("one-row case %d: stacked candidate %v + %v over the plate", i, c.Band, c.Stack.Band)
			}
		}
		grey.Close()
	}
}

func TestStackable(t *testing.T) {
	row := func(x0, cy, w, h float64, n int) PlateCandidate {
		return PlateCandidate{CenterX: x0 + w/2, CenterY: cy, CharHeight: h, TextWidth: w, Chars: n,
			Band: image.Rect(int(x0), int(cy-h/2), int(x0+w), int(cy+h/2))}
	}
	top := row(100, 100, 60, 20, 3)
	for _, tc := range []struct {
		name string
		r    PlateCandidate
		want bool
	}{
		{"the row below", row(95, 128, 75, 20, 4), true},
		{"the row above", row(105, 72, 50, 21, 3), true},
		{"two characters below", row(110, 127, 30, 20, 2), true},
		{"one character", row(110, 127, 12, 20, 1), false},
		{"smaller text (a slogan)", row(95, 122, 60, 12, 4), false},
		{"taller text", row(95, 135, 60, 30, 4), false},
		{"too close (the same row)", row(95, 110, 60, 20, 4), false},
		{"too far", row(95, 145, 60, 20, 4), false},
		{"beside, not below", row(200, 128, 60, 20, 4), false},
		{"a long row (a one-row plate)", row(80, 128, 120, 20, 7), false},
	} {
		if got := stackable(top, tc.r); got != tc.want {
			t.Errorf("%s: stackable = %v, want %v", tc.name, got, tc.want)
		}
	}
	long := row(80, 100, 120, 20, 7)
	if stackable(long, row(95, 128, 60, 20, 3)) {
		t.Error("a 7-character row took a row below as its stack")
	}
}
