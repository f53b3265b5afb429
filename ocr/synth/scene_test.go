package synth

import (
	"bytes"
	"image"
	"testing"
	"time"
)

func TestRenderSceneGroundTruth(t *testing.T) {
	opt := SceneOptions{GoFontsOnly: true, Vehicles: []Vehicle{
		{X: 400, Y: 400, PlateWidth: 120, Tilt: 10, Skew: 0.9, Text: "7ABC123", PlateSeed: 1},
		{X: 900, Y: 300, PlateWidth: 70, PlateSeed: 2, Layout: "mx"},
		{X: 200, Y: 600, PlateWidth: 90, PlateSeed: 3, NoPlate: true},
	}}
	a := RenderScene(7, opt)
	if got := a.Image.Rect; got != image.Rect(0, 0, 1280, 720) {
		t.Fatalf("RenderScene size = %v; want 1280x720", got)
	}
	if len(a.Plates) != 2 {
		t.Fatalf("RenderScene gave %d plates; want 2 (the third vehicle has none)", len(a.Plates))
	}
	if a.Plates[0].Text != "7ABC123" || a.Plates[1].Layout != "mx" {
		t.Errorf("plates = %+v", a.Plates)
	}
	for i, p := range a.Plates {
		v := opt.Vehicles[i]
		if !image.Pt(v.X, v.Y).In(p.Box) || p.Box.Dx() < v.PlateWidth*9/10 || p.Box.Dx() > v.PlateWidth*12/10 {
			t.Errorf("plate %d box %v does not fit the vehicle %+v", i, p.Box, v)
		}
		for _, c := range p.Corners {
			if !c.In(p.Box.Inset(-1)) {
				t.Errorf("plate %d corner %v outside box %v", i, c, p.Box)
			}
		}
	}
	// tilted 10 degrees clockwise: the right corners sit lower than the left ones
	if c := a.Plates[0].Corners; c[1].Y <= c[0].Y || c[2].Y <= c[3].Y {
		t.Errorf("tilted plate corners %v", c)
	}
	b := RenderScene(7, opt)
	if !bytes.Equal(a.Image.Pix, b.Image.Pix) {
		t.Error("RenderScene is not deterministic")
	}
	// The background depends on the seed only, not on the vehicles.
	empty := RenderScene(7, SceneOptions{GoFontsOnly: true, Vehicles: []Vehicle{}})
	if len(empty.Plates) != 0 {
		t.Fatalf("empty scene has plates: %+v", empty.Plates)
	}
	o := empty.Image.PixOffset(1270, 10)
	if empty.Image.Pix[o] == 0 && empty.Image.Pix[o+3] == 0 {
		t.Error("empty scene has no background")
	}
}

func TestRenderSceneDefaultVehicle(t *testing.T) {
	s := RenderScene(3, SceneOptions{Width: 640, Height: 480, GoFontsOnly: true})
	if len(s.Plates) != 1 || !s.Plates[0].Box.In(s.Image.Rect) {
		t.Fatalf("default scene plates = %+v", s.Plates)
	}
}

func TestProjInverse(t *testing.T) {
	q := [4][2]float64{{10, 20}, {110, 30}, {105, 80}, {12, 70}}
	m := sceneUnitToQuad(q)
	inv := m.inverse()
	for i, uv := range [4][2]float64{{0, 0}, {1, 0}, {1, 1}, {0, 1}} {
		x, y := m.apply(uv[0], uv[1])
		if sceneAbs(x-q[i][0]) > 1e-6 || sceneAbs(y-q[i][1]) > 1e-6 {
			t.Errorf("unit corner %v -> (%v,%v); want %v", uv, x, y, q[i])
		}
		u, v := inv.apply(x, y)
		if sceneAbs(u-uv[0]) > 1e-6 || sceneAbs(v-uv[1]) > 1e-6 {
			t.Errorf("inverse(%v,%v) = (%v,%v); want %v", x, y, u, v, uv)
		}
	}
}

func sceneAbs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func BenchmarkRenderScene720p(b *testing.B) {
	opt := SceneOptions{GoFontsOnly: true, Vehicles: []Vehicle{{X: 640, Y: 400, PlateWidth: 140, PlateSeed: 1}}}
	for b.Loop() {
		RenderScene(1, opt)
	}
}

func TestLane(t *testing.T) {
	l := NewLane(5, LaneOptions{Width: 640, Height: 360, FPS: 10, Vehicles: 3, Park: 2 * time.Second, GoFontsOnly: true})
	p := l.Passes()
	if len(p) != 3 {
		t.Fatalf("Passes() = %d; want 3", len(p))
	}
	for i := 1; i < len(p); i++ {
		if p[i].Enter <= p[i-1].Leave {
			t.Errorf("pass %d enters at %v before pass %d leaves at %v", i, p[i].Enter, i-1, p[i-1].Leave)
		}
	}
	if d := p[2].Leave - p[2].Enter; d != 4500*time.Millisecond {
		t.Errorf("parked pass lasts %v; want 4.5s", d)
	}
	if n := l.Frames(); n != int((p[2].Leave+500*time.Millisecond).Seconds()*10) {
		t.Errorf("Frames() = %d", n)
	}
	seen := map[string]int{}
	for i := 0; i < l.Frames(); i += 3 {
		s := l.Frame(i)
		for _, sp := range s.Plates {
			seen[sp.Text]++
			if !sp.Box.In(s.Image.Rect) {
				t.Errorf("frame %d: plate box %v outside the frame", i, sp.Box)
			}
		}
	}
	if len(l.Frame(0).Plates) != 0 {
		t.Error("frame 0 (before the first vehicle) shows a plate")
	}
	for _, x := range p {
		if seen[x.Text] == 0 {
			t.Errorf("plate %q never shown", x.Text)
		}
	}
}
