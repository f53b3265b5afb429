package synth

import (
	"testing"
)

func TestSplitRows(t *testing.T) {
	for _, tc := range []struct{ text, top, bottom string }{
		{"ABC 1234", "ABC", "1234"},
		{"ABC-12-34", "ABC", "1234"},
		{"K429MF", "K42", "9MF"},
		{"7XK293A", "7XK", "293A"},
		{"", "", ""},
	} {
		r := splitRows(tc.text)
		if string(r[0]) != tc.top || string(r[1]) != tc.bottom {
			t.Errorf("splitRows(%q) = %q, %q; want %q, %q", tc.text, string(r[0]), string(r[1]), tc.top, tc.bottom)
		}
	}
}

// TestRenderStacked checks a two-row plate's label, rows and boxes: the top row's characters
// above the bottom row's, each row's band over the other's columns.
func TestRenderStacked(t *testing.T) {
	for i, text := range []string{"ABC 1234", "WJ 99562", "K429MF", ""} {
		p := RenderPlate(int64(40+i), Options{Rows: 2, Text: text, GoFontsOnly: true})
		top, tb := p.Row(1)
		bottom, bb := p.Row(2)
		if p.TopChars == 0 || top+bottom != p.Text || len(p.CharBoxes) != len(p.Text) {
			t.Fatalf("%q: text %q, top %d chars %q, bottom %q, %d boxes", text, p.Text, p.TopChars, top, bottom, len(p.CharBoxes))
		}
		if tb.Max.Y > bb.Min.Y {
			t.Errorf("%q: top row %v not above bottom row %v", text, tb, bb)
		}
		if lo, hi := max(tb.Min.X, bb.Min.X), min(tb.Max.X, bb.Max.X); hi <= lo {
			t.Errorf("%q: rows %v and %v share no columns", text, tb, bb)
		}
		if h1, h2 := tb.Dy(), bb.Dy(); h1*5 < h2*4 || h2*5 < h1*4 {
			t.Errorf("%q: row heights %d and %d differ", text, h1, h2)
		}
		one := RenderPlate(int64(40+i), Options{Text: text, GoFontsOnly: true})
		if one.TopChars != 0 {
			t.Errorf("%q: a one-row plate has TopChars %d", text, one.TopChars)
		}
		if txt, _ := one.Row(2); txt != one.Text {
			t.Errorf("%q: Row(2) of a one-row plate is %q, want the whole text %q", text, txt, one.Text)
		}
	}
}
