package ocr

import (
	"fmt"
	"image"
	"testing"

	"github.com/lprd/lprd/ocr/synth"
	"gocv.io/x/gocv"
)

// greyMat converts a rendered frame to an 8-bit grey Mat (ITU-R BT.601 luma), as the pipeline
// receives it from a grey camera.
func greyMat(t testing.TB, img *image.RGBA) gocv.Mat {
	t.Helper()
	w, h := img.Rect.Dx(), img.Rect.Dy()
	m := gocv.NewMatWithSize(h, w, gocv.MatTypeCV8U)
	buf, err := m.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		p := img.Pix[i*4 : i*4+3]
		buf[i] = uint8((299*int(p[0]) + 587*int(p[1]) + 114*int(p[2]) + 500) / 1000)
	}
	return m
}

// sceneCases place plates at several sizes, tilts, skews and positions.
var sceneCases = []synth.Vehicle{
	{X: 640, Y: 400, PlateWidth: 140, PlateSeed: 1},
	{X: 300, Y: 500, PlateWidth: 90, Tilt: 8, PlateSeed: 2},
	{X: 950, Y: 300, PlateWidth: 70, Tilt: -6, PlateSeed: 3},
	{X: 640, Y: 560, PlateWidth: 220, Tilt: 3, Skew: 0.85, PlateSeed: 4},
	{X: 200, Y: 250, PlateWidth: 110, Tilt: -12, PlateSeed: 5},
	{X: 1050, Y: 520, PlateWidth: 160, Tilt: 12, Skew: 1.1, PlateSeed: 6},
	{X: 500, Y: 350, PlateWidth: 80, PlateSeed: 7, Layout: "mx"},
	{X: 800, Y: 450, PlateWidth: 120, Tilt: 5, PlateSeed: 8, Plain: true},
}

func TestLocateSyntheticScenes(t *testing.T) {
	start := matCount()
	l := NewLocator(LocateOptions{})
	found := 0
	for i, v := range sceneCases {
		sc := synth.RenderScene(int64(100+i), synth.SceneOptions{Vehicles: []synth.Vehicle{v}, GoFontsOnly: true})
		grey := greyMat(t, sc.Image)
		cands := l.Locate(grey)
		grey.Close()
		best := 0.0
		for _, c := range cands {
			best = max(best, iou(c.Box, sc.Plates[0].Box))
		}
		if best >= 0.4 {
			found++
		} else {
			t.Logf("case %d %+v: no candidate with IoU >= 0.4 (best %.2f of %d)", i, v, best, len(cands))
		}
	}
	if found < len(sceneCases)-1 {
		t.Errorf("found %d of %d plates; want at least %d", found, len(sceneCases), len(sceneCases)-1)
	}
	l.Close()
	if n := matCount(); n != start {
		t.Errorf("Mat count %d -> %d: leak", start, n)
	}
}

func TestLocateTinyAndEmptyFrames(t *testing.T) {
	l := NewLocator(LocateOptions{})
	defer l.Close()
	for _, sz := range []image.Point{{0, 0}, {8, 8}, {15, 400}, {64, 32}} {
		m := gocv.NewMatWithSize(sz.Y, sz.X, gocv.MatTypeCV8U)
		if c := l.Locate(m); len(c) != 0 {
			t.Errorf("Locate(%v blank) = %d candidates", sz, len(c))
		}
		m.Close()
	}
}

func BenchmarkLocate720p(b *testing.B) {
	defer SetOpenCVThreads(OpenCVThreads())
	SetOpenCVThreads(1) // one core, as a worker runs
	sc := synth.RenderScene(1, synth.SceneOptions{Vehicles: sceneCases[:1], GoFontsOnly: true})
	grey := greyMat(b, sc.Image)
	defer grey.Close()
	l := NewLocator(LocateOptions{})
	defer l.Close()
	b.ReportAllocs()
	stop := reportThreadCPU(b)
	for b.Loop() {
		l.Locate(grey)
	}
	stop()
}

func ExampleLocator() {
	sc := synth.RenderScene(1, synth.SceneOptions{Vehicles: sceneCases[:1], GoFontsOnly: true})
	grey := gocv.NewMatWithSize(sc.Image.Rect.Dy(), sc.Image.Rect.Dx(), gocv.MatTypeCV8U)
	defer grey.Close()
	buf, _ := grey.DataPtrUint8()
	for i := range buf {
		buf[i] = sc.Image.Pix[i*4+1] // the green channel is a fair grey
	}
	l := NewLocator(LocateOptions{})
	defer l.Close()
	c := l.Locate(grey)
	fmt.Println(len(c) > 0 && iou(c[0].Box, sc.Plates[0].Box) > 0.4)
	// Output: true
}
