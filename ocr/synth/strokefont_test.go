package synth

import "testing"

// TestStrokeFaces checks every stroke face: all plate characters present,
// ink spanning the cap height without being clipped by the mask, and the
// confusable pairs the faces exist for drawn differently.
func TestStrokeFaces(t *testing.T) {
	faces := strokeFaces()
	if len(faces) != len(strokeVariants) {
		t.Fatalf("%d stroke faces; want %d", len(faces), len(strokeVariants))
	}
	for _, fa := range faces {
		for _, r := range Alphabet {
			g, ok := fa.glyphs[r]
			if !ok || g.mask == nil {
				t.Errorf("%s: no glyph for %q", fa.name, r)
				continue
			}
			top, bot, left, right := inkBox(g)
			if top < 0 {
				t.Errorf("%s %q: no ink", fa.name, r)
				continue
			}
			b := g.mask.Rect
			if top == 0 || left == 0 || bot == b.Dy()-1 || right == b.Dx()-1 {
				t.Errorf("%s %q: ink touches the mask border (clipped)", fa.name, r)
			}
			if h := bot - top + 1; r != 'Q' && (h < glyphCapHeight-2 || h > glyphCapHeight+2) {
				t.Errorf("%s %q: ink %d px high; want the cap height %d", fa.name, r, h, glyphCapHeight)
			}
			if g.advance <= float64(right-left) {
				t.Errorf("%s %q: advance %.1f not wider than the ink (%d)", fa.name, r, g.advance, right-left+1)
			}
		}
		for _, p := range []string{"2Z", "1I", "0O", "8B", "0D", "5S", "4L", "0U", "WM", "WN", "MN", "MH"} {
			if differ := maskDiff(fa.glyphs[rune(p[0])], fa.glyphs[rune(p[1])]); differ < 0.1 {
				t.Errorf("%s: %q and %q differ in %.0f%% of the ink; want 10%% or more", fa.name, p[0], p[1], differ*100)
			}
		}
	}
}

// inkBox returns the rows and columns of a glyph's mask that hold ink, or
// -1s when none does.
func inkBox(g glyph) (top, bot, left, right int) {
	top, bot, left, right = -1, -1, -1, -1
	b := g.mask.Rect
	for y := range b.Dy() {
		for x := range b.Dx() {
			if g.mask.Pix[y*g.mask.Stride+x] < 128 {
				continue
			}
			if top < 0 {
				top = y
			}
			bot = y
			if left < 0 || x < left {
				left = x
			}
			right = max(right, x)
		}
	}
	return top, bot, left, right
}

// maskDiff is the share of inked pixels (in either glyph, both left-aligned
// at the top) that only one of the two glyphs inks.
func maskDiff(a, b glyph) float64 {
	w, h := max(a.mask.Rect.Dx(), b.mask.Rect.Dx()), max(a.mask.Rect.Dy(), b.mask.Rect.Dy())
	at := func(g glyph, x, y int) bool {
		return x < g.mask.Rect.Dx() && y < g.mask.Rect.Dy() && g.mask.Pix[y*g.mask.Stride+x] >= 128
	}
	var either, one int
	for y := range h {
		for x := range w {
			pa, pb := at(a, x, y), at(b, x, y)
			if pa || pb {
				either++
			}
			if pa != pb {
				one++
			}
		}
	}
	return float64(one) / float64(max(1, either))
}
