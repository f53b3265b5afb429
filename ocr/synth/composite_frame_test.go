package synth

import (
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSurroundsLieAroundThePlate: the recess and the frame are painted all around the plate
// (just outside each of its four edges), within the quad they report, and nowhere else; and
// some frames carry text on their bottom bar.
func TestSurroundsLieAroundThePlate(t *testing.T) {
	const bg = 100.5 // no painter's tone: every painted pixel differs from it
	q := Quad{{140, 122}, {262, 128}, {259, 189}, {137, 183}}
	m := sceneUnitToQuad(q)
	for _, tc := range []struct {
		name     string
		paint    func(*Grey, *rand.Rand) Quad
		withText int // of 20, at least
	}{
		{"recess", func(g *Grey, rng *rand.Rand) Quad { return paintRecess(g, rng, q) }, 0},
		{"frame", func(g *Grey, rng *rand.Rand) Quad { return paintFrame(g, rng, q, fonts(true)) }, 4},
	} {
		withText := 0
		for seed := range 20 {
			g := NewGrey(400, 400)
			for i := range g.Pix {
				g.Pix[i] = bg
			}
			pq := tc.paint(g, rand.New(rand.NewPCG(uint64(seed), 7)))
			within := pq.Bounds().Inset(-1)
			for y := range g.H {
				for x := range g.W {
					if g.Pix[y*g.W+x] != bg && !image.Pt(x, y).In(within) {
						t.Fatalf("%s, seed %d: pixel (%d,%d) painted outside the reported quad %v", tc.name, seed, x, y, pq.Bounds())
					}
				}
			}
			for _, p := range [][2]float64{{0.5, -0.015}, {0.5, 1.03}, {-0.015, 0.5}, {1.015, 0.5}} {
				x, y := m.apply(p[0], p[1])
				if g.Pix[int(y)*g.W+int(x)] == bg {
					t.Errorf("%s, seed %d: nothing painted just outside the plate at plate units %v", tc.name, seed, p)
				}
			}
			// Bottom bar: below the plate, across its middle half.
			var bar []float32
			for v := 1.1; v < 1.25; v += 0.02 {
				for u := 0.25; u < 0.75; u += 0.01 {
					x, y := m.apply(u, v)
					if pt := image.Pt(int(x), int(y)); pt.In(pq.Bounds().Inset(2)) {
						bar = append(bar, g.Pix[pt.Y*g.W+pt.X])
					}
				}
			}
			if len(bar) > 50 {
				med := slices.Clone(bar)
				slices.Sort(med)
				off := 0
				for _, v := range bar {
					if math.Abs(float64(v-med[len(med)/2])) > 40 {
						off++
					}
				}
				if off > len(bar)/20 {
					withText++
				}
			}
		}
		if withText < tc.withText {
			t.Errorf("%s: %d of 20 carry text on the bottom bar; want at least %d", tc.name, withText, tc.withText)
		}
		t.Logf("%s: %d of 20 with marks on the bottom bar", tc.name, withText)
	}
}
