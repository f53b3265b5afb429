package synth

import (
	"image"
	"math"
	"math/rand/v2"
	"strings"
)

// renderStacked finishes a two-row plate on cv (its background drawn): the rows of
// splitRows centred one above the other, with the same face, height and stroke, an optional
// border and frame.
func renderStacked(cv *canvas, rng *rand.Rand, fs fontSet, fa *face, text, layout string, ink rgb, plain bool) Plate {
	fw, fh := float64(cv.w), float64(cv.h)
	unit := fw / DefaultWidth
	rows := splitRows(text)
	capH := fh * uniform(rng, 0.26, 0.33)
	gap := capH * uniform(rng, 0.2, 0.45)
	sx := uniform(rng, 0.6, 1.05)
	tracking := capH * uniform(rng, 0.04, 0.2)
	s := capH / glyphCapHeight
	maxW := fw * 0.86
	// One horizontal scale for both rows, so that their characters match.
	for _, row := range rows {
		if w := rowWidth(fa, row, s*sx, tracking); w > maxW {
			f := maxW / w
			sx, tracking = sx*f, tracking*f
		}
	}
	m := newMask(cv.w, cv.h)
	top := (fh-2*capH-gap)/2 + fh*uniform(rng, -0.02, 0.06)
	var boxes []image.Rectangle
	var label strings.Builder
	for i, row := range rows {
		baseline := top + capH + float64(i)*(capH+gap)
		x := (fw-rowWidth(fa, row, s*sx, tracking))/2 + fw*uniform(rng, -0.02, 0.02)
		m.drawRun(fa, row, x, baseline, s*sx, s, tracking, &boxes, &label)
	}
	m.morph(int(math.Round(uniform(rng, -1, 1.4) * unit)))
	cv.paint(m, ink, 1)
	if !plain && rng.Float64() < 0.3 {
		drawFrame(cv, rng, fs)
	}
	if rng.Float64() < 0.5 {
		inset := uniform(rng, 1, 6) * unit
		cv.strokeRect(inset, inset, fw-inset, fh-inset, uniform(rng, 1, 4)*unit, uniform(rng, 3, 15)*unit, ink, 1)
	}
	return Plate{Image: cv.rgba(), Text: label.String(), Layout: layout, CharBoxes: boxes, TopChars: len(rows[0])}
}

// splitRows splits a plate text into the two rows of a stacked plate: at the first
// separator when it has one, else in the middle (the shorter half above).
func splitRows(text string) [2][]rune {
	groups := splitGroups(text)
	switch len(groups) {
	case 0:
		return [2][]rune{}
	case 1:
		g := groups[0]
		return [2][]rune{g[:len(g)/2], g[len(g)/2:]}
	}
	var rest []rune
	for _, g := range groups[1:] {
		rest = append(rest, g...)
	}
	return [2][]rune{groups[0], rest}
}

// rowWidth is the width of a row of glyphs of face fa at horizontal scale sx.
func rowWidth(fa *face, row []rune, sx, tracking float64) float64 {
	w := 0.0
	for i, r := range row {
		w += fa.glyphs[r].advance * sx
		if i > 0 {
			w += tracking
		}
	}
	return w
}
