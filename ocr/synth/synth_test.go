package synth

import (
	"bytes"
	"image"
	"slices"
	"strings"
	"testing"
)

func TestRenderPlateDeterministic(t *testing.T) {
	for seed := range int64(5) {
		a := RenderPlate(seed, Options{GoFontsOnly: true})
		b := RenderPlate(seed, Options{GoFontsOnly: true})
		if a.Text != b.Text || !bytes.Equal(a.Image.Pix, b.Image.Pix) {
			t.Errorf("RenderPlate(%d) differs between calls", seed)
		}
		pa := Photograph(a, seed, CameraOptions{})
		pb := Photograph(b, seed, CameraOptions{})
		if !bytes.Equal(pa.Pix, pb.Pix) {
			t.Errorf("Photograph(seed %d) differs between calls", seed)
		}
	}
}

func TestRenderPlateText(t *testing.T) {
	for seed := range int64(100) {
		p := RenderPlate(seed, Options{GoFontsOnly: seed%2 == 0})
		if len(p.Text) < 2 || len(p.Text) > 8 {
			t.Errorf("seed %d: text %q: want 2-8 characters", seed, p.Text)
		}
		if Label(p.Text) != p.Text {
			t.Errorf("seed %d: text %q has characters outside the alphabet", seed, p.Text)
		}
		if len(p.CharBoxes) != len(p.Text) {
			t.Fatalf("seed %d: %d boxes for %q", seed, len(p.CharBoxes), p.Text)
		}
		b := p.Image.Bounds()
		for i, r := range p.CharBoxes {
			if r.Empty() || !r.Overlaps(b) {
				t.Errorf("seed %d: box %d %v outside the plate %v", seed, i, r, b)
			}
			if i > 0 && r.Min.X < p.CharBoxes[i-1].Min.X {
				t.Errorf("seed %d: box %d %v left of box %d", seed, i, r, i-1)
			}
		}
		if p.Layout != "us" && p.Layout != "mx" {
			t.Errorf("seed %d: layout %q", seed, p.Layout)
		}
	}
}

func TestRenderPlateOptions(t *testing.T) {
	p := RenderPlate(3, Options{Width: 200, Text: "abc-1234", Layout: "mx", GoFontsOnly: true, Plain: true})
	if p.Text != "ABC1234" || p.Layout != "mx" {
		t.Errorf("RenderPlate(Text abc-1234, mx) = %q %q; want ABC1234 mx", p.Text, p.Layout)
	}
	if w := p.Image.Bounds().Dx(); w != 200 {
		t.Errorf("width %d; want 200", w)
	}
	if h := p.Image.Bounds().Dy(); h < 90 || h > 110 {
		t.Errorf("height %d; want about 100", h)
	}
	band := p.TextBand()
	if band.Dy() < p.Image.Bounds().Dy()/4 {
		t.Errorf("text band %v is too low for the plate %v", band, p.Image.Bounds())
	}
}

func TestPhotographSizes(t *testing.T) {
	p := RenderPlate(1, Options{GoFontsOnly: true})
	for seed := range int64(30) {
		for _, mode := range []CropMode{CropPlate, CropBand, CropRandom} {
			img := Photograph(p, seed, CameraOptions{Crop: mode, MinWidth: 80, MaxWidth: 120})
			w := img.Bounds().Dx()
			if w < 80 || w > 121 {
				t.Errorf("Photograph(seed %d, mode %d) width %d; want 80-120", seed, mode, w)
			}
			if img.Bounds().Dy() < 8 {
				t.Errorf("Photograph(seed %d, mode %d) height %d", seed, mode, img.Bounds().Dy())
			}
		}
	}
	clean := Photograph(p, 5, CameraOptions{Clean: true, MaxTilt: -1, MinWidth: 300, MaxWidth: 300})
	if !clean.Bounds().Eq(image.Rect(0, 0, clean.Bounds().Dx(), clean.Bounds().Dy())) {
		t.Errorf("Photograph bounds %v should start at 0,0", clean.Bounds())
	}
}

func TestLabel(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"abc 123", "ABC123"}, {"ABC-1234", "ABC1234"}, {"", ""}, {"ä1·2", "12"},
	} {
		if got := Label(tt.in); got != tt.want {
			t.Errorf("Label(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestFonts(t *testing.T) {
	pl, bn := FontCount(true)
	if pl < 4 || bn < 1 {
		t.Errorf("gofont faces: %d plate, %d banner; want at least 4 and 1", pl, bn)
	}
	all, _ := FontCount(false)
	if all < pl {
		t.Errorf("all faces %d < gofont faces %d", all, pl)
	}
	for _, f := range fonts(true).plate {
		for _, r := range Alphabet {
			if _, ok := f.glyphs[r]; !ok {
				t.Errorf("face %s lacks %q", f.name, r)
			}
		}
		if strings.TrimSpace(f.name) == "" {
			t.Error("face without a name")
		}
	}
}

// TestPlateFacesTellApart checks that every plate face in use (text,
// signage and stroke faces, as far as they are installed) draws 1 and I, and
// 0 and 8 against their look-alikes, differently: a face that draws them
// alike turns its labels into noise.
func TestPlateFacesTellApart(t *testing.T) {
	fs := fonts(false)
	faces := slices.Concat(fs.plate, fs.signage, fs.stroke)
	t.Logf("%d text, %d signage, %d stroke faces", len(fs.plate), len(fs.signage), len(fs.stroke))
	for _, fa := range faces {
		for _, p := range []string{"1I", "8B", "0U", "2Z"} {
			if d := maskDiff(fa.glyphs[rune(p[0])], fa.glyphs[rune(p[1])]); d < 0.1 {
				t.Errorf("%s: %q and %q differ in %.0f%% of the ink; want 10%% or more", fa.name, p[0], p[1], d*100)
			}
		}
	}
}

func BenchmarkRenderAndPhotograph(b *testing.B) {
	fonts(false)
	var i int64
	for b.Loop() {
		p := RenderPlate(i, Options{Width: 240})
		Photograph(p, i, CameraOptions{})
		i++
	}
}
