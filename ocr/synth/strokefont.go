package synth

import (
	"image"
	"math"
	"slices"
)

// Stroke faces: plate lettering drawn as centre lines with a round pen.
//
// US plates are embossed or printed with narrow, uniform-stroke DMV faces
// (in the family of the FHWA highway alphabets) that none of the installed
// fonts match: their 2 has a flat base and a straight diagonal, the 1 a
// small flag and often no base, the 0 is a narrow stadium, the 4 is closed.
// A recognizer that learned digits only from book faces reads those narrow
// digits as the letters they resemble (2/Z, 1/I, 0/U, 8/B). These faces
// put such shapes into the training data in several weights and variants.

// strokeGlyph is a glyph as polylines in a unit box (x right, y down, the
// cap height is 1) and its ink width in cap heights.
type strokeGlyph struct {
	w     float64
	lines [][]pt
}

type pt struct{ x, y float64 }

// arc returns points of the ellipse (cx, cy, rx, ry) from angle a0 to a1 in
// degrees (0 is right, 90 is up).
func arc(cx, cy, rx, ry, a0, a1 float64) []pt {
	const steps = 16
	out := make([]pt, 0, steps+1)
	for i := 0; i <= steps; i++ {
		a := (a0 + (a1-a0)*float64(i)/steps) * math.Pi / 180
		out = append(out, pt{cx + rx*math.Cos(a), cy - ry*math.Sin(a)})
	}
	return out
}

func line(p ...float64) []pt {
	out := make([]pt, 0, len(p)/2)
	for i := 0; i+1 < len(p); i += 2 {
		out = append(out, pt{p[i], p[i+1]})
	}
	return out
}

// strokeVariant selects the shapes that differ between plate faces.
type strokeVariant struct {
	oneBase   bool // 1 with a base bar
	oneStick  bool // 1 as a bare stick with a short flag (Massachusetts, Connecticut)
	serifI    bool // I with top and bottom bars
	openFour  bool // 4 open at the top
	narrowWM  bool // narrow W and M with steep outer strokes, the middle vertex at full height (DMV faces)
	weight    float64
	narrowing float64 // glyph width factor
}

func strokeGlyphs(v strokeVariant) map[rune]strokeGlyph {
	stadium := func(top, bot float64) []pt { // closed rounded rectangle between y=top and y=bot arcs
		return slices.Concat(arc(0.5, top, 0.5, top, 0, 180), arc(0.5, bot, 0.5, 1-bot, 180, 360), line(1, top))
	}
	g := map[rune]strokeGlyph{
		'0': {0.56, [][]pt{stadium(0.3, 0.7)}},
		'2': {0.58, [][]pt{slices.Concat(arc(0.5, 0.27, 0.5, 0.27, 160, -35), line(0, 1, 1, 1))}},
		'3': {0.58, [][]pt{arc(0.5, 0.25, 0.46, 0.25, 150, -90), arc(0.5, 0.74, 0.5, 0.26, 90, -150)}},
		'5': {0.58, [][]pt{slices.Concat(line(0.95, 0, 0.08, 0, 0.03, 0.46), arc(0.5, 0.68, 0.5, 0.32, 125, -150))}},
		'6': {0.58, [][]pt{slices.Concat(arc(0.5, 0.3, 0.5, 0.3, 35, 180), line(0, 0.7)), arc(0.5, 0.7, 0.5, 0.3, 0, 360)}},
		'7': {0.58, [][]pt{line(0, 0, 1, 0, 0.3, 1)}},
		'8': {0.58, [][]pt{arc(0.5, 0.24, 0.44, 0.24, 0, 360), arc(0.5, 0.73, 0.5, 0.27, 0, 360)}},
		'9': {0.58, [][]pt{arc(0.5, 0.3, 0.5, 0.3, 0, 360), slices.Concat(line(1, 0.3), arc(0.5, 0.7, 0.5, 0.3, 0, -145))}},
		'A': {0.62, [][]pt{line(0, 1, 0.5, 0, 1, 1), line(0.2, 0.66, 0.8, 0.66)}},
		'B': {0.58, [][]pt{slices.Concat(line(0, 1, 0, 0, 0.68, 0), arc(0.68, 0.24, 0.3, 0.24, 90, -90), line(0, 0.48)),
			slices.Concat(line(0.7, 0.48), arc(0.7, 0.74, 0.3, 0.26, 90, -90), line(0, 1))}},
		'C': {0.58, [][]pt{slices.Concat(arc(0.5, 0.28, 0.5, 0.28, 25, 180), arc(0.5, 0.72, 0.5, 0.28, 180, 335))}},
		'D': {0.58, [][]pt{slices.Concat(line(0, 0, 0.45, 0), arc(0.45, 0.35, 0.55, 0.35, 90, 0), arc(0.45, 0.65, 0.55, 0.35, 0, -90), line(0, 1, 0, 0))}},
		'E': {0.54, [][]pt{line(1, 0, 0, 0, 0, 1, 1, 1), line(0, 0.5, 0.82, 0.5)}},
		'F': {0.54, [][]pt{line(1, 0, 0, 0, 0, 1), line(0, 0.5, 0.82, 0.5)}},
		'G': {0.6, [][]pt{slices.Concat(arc(0.5, 0.28, 0.5, 0.28, 25, 180), arc(0.5, 0.72, 0.5, 0.28, 180, 360), line(1, 0.55, 0.55, 0.55))}},
		'H': {0.58, [][]pt{line(0, 0, 0, 1), line(1, 0, 1, 1), line(0, 0.5, 1, 0.5)}},
		'J': {0.54, [][]pt{slices.Concat(line(1, 0, 1, 0.72), arc(0.5, 0.72, 0.5, 0.28, 0, -180), line(0, 0.62))}},
		'K': {0.6, [][]pt{line(0, 0, 0, 1), line(1, 0, 0, 0.62), line(0.32, 0.42, 1, 1)}},
		'L': {0.52, [][]pt{line(0, 0, 0, 1, 1, 1)}},
		'M': {0.72, [][]pt{line(0, 1, 0, 0, 0.5, 0.62, 1, 0, 1, 1)}},
		'N': {0.6, [][]pt{line(0, 1, 0, 0, 1, 1, 1, 0)}},
		'O': {0.64, [][]pt{arc(0.5, 0.5, 0.5, 0.5, 0, 360)}},
		'P': {0.58, [][]pt{slices.Concat(line(0, 1, 0, 0, 0.68, 0), arc(0.68, 0.27, 0.32, 0.27, 90, -90), line(0, 0.54))}},
		'Q': {0.64, [][]pt{arc(0.5, 0.5, 0.5, 0.5, 0, 360), line(0.6, 0.72, 1, 1.04)}},
		'R': {0.58, [][]pt{slices.Concat(line(0, 1, 0, 0, 0.68, 0), arc(0.68, 0.27, 0.32, 0.27, 90, -90), line(0, 0.54)), line(0.5, 0.54, 1, 1)}},
		'S': {0.58, [][]pt{slices.Concat(arc(0.5, 0.25, 0.48, 0.25, 20, 270), arc(0.5, 0.75, 0.5, 0.25, 90, -160))}},
		'T': {0.6, [][]pt{line(0, 0, 1, 0), line(0.5, 0, 0.5, 1)}},
		'U': {0.58, [][]pt{slices.Concat(line(0, 0, 0, 0.7), arc(0.5, 0.7, 0.5, 0.3, 180, 360), line(1, 0))}},
		'V': {0.62, [][]pt{line(0, 0, 0.5, 1, 1, 0)}},
		'W': {0.78, [][]pt{line(0, 0, 0.22, 1, 0.5, 0.3, 0.78, 1, 1, 0)}},
		'X': {0.6, [][]pt{line(0, 0, 1, 1), line(1, 0, 0, 1)}},
		'Y': {0.62, [][]pt{line(0, 0, 0.5, 0.52, 1, 0), line(0.5, 0.52, 0.5, 1)}},
		'Z': {0.56, [][]pt{line(0, 0, 1, 0, 0, 1, 1, 1)}},
		'-': {0.36, [][]pt{line(0, 0.55, 1, 0.55)}},
		'.': {0, [][]pt{line(0.5, 0.95, 0.5, 0.96)}},
	}
	switch {
	case v.oneBase:
		g['1'] = strokeGlyph{0.46, [][]pt{line(0.05, 0.22, 0.55, 0, 0.55, 1), line(0, 1, 1, 1)}}
	case v.oneStick:
		g['1'] = strokeGlyph{0.25, [][]pt{line(0, 0.14, 1, 0, 1, 1)}}
	default:
		g['1'] = strokeGlyph{0.3, [][]pt{line(0, 0.25, 1, 0, 1, 1)}}
	}
	if v.serifI {
		g['I'] = strokeGlyph{0.34, [][]pt{line(0, 0, 1, 0), line(0.5, 0, 0.5, 1), line(0, 1, 1, 1)}}
	} else {
		g['I'] = strokeGlyph{0, [][]pt{line(0.5, 0, 0.5, 1)}}
	}
	if v.narrowWM {
		// Most US plate faces draw W and M about as narrow as N, the outer
		// strokes almost upright, so that W is M upside down. (The recognizer
		// read these as well as the wide W before it saw them: run 9 in
		// ocr/models/README.md; they are here for realism, not as a fix.)
		g['W'] = strokeGlyph{0.68, [][]pt{line(0, 0, 0.18, 1, 0.5, 0.1, 0.82, 1, 1, 0)}}
		g['M'] = strokeGlyph{0.66, [][]pt{line(0, 1, 0.08, 0, 0.5, 0.85, 0.92, 0, 1, 1)}}
	}
	if v.openFour {
		g['4'] = strokeGlyph{0.6, [][]pt{line(0.1, 0, 0, 0.68, 1, 0.68), line(0.72, 0.3, 0.72, 1)}}
	} else {
		g['4'] = strokeGlyph{0.6, [][]pt{line(0.75, 1, 0.75, 0, 0, 0.68, 1, 0.68)}}
	}
	return g
}

// strokeVariants are the stroke faces built: shape variants in light and
// heavy weights. Half have the narrow W and M, a third the open 4.
var strokeVariants = []strokeVariant{
	{weight: 0.11, narrowing: 1.0, oneStick: true, serifI: true, narrowWM: true},
	{weight: 0.16, narrowing: 0.9, serifI: true},
	{weight: 0.12, narrowing: 0.85, oneBase: true, openFour: true, narrowWM: true},
	{weight: 0.19, narrowing: 1.0, serifI: true, openFour: true},
	{weight: 0.14, narrowing: 1.1, oneBase: true, narrowWM: true},
	{weight: 0.15, narrowing: 0.8, oneStick: true},
}

// strokeFaces rasterizes every stroke variant at glyphCapHeight.
func strokeFaces() []*face {
	out := make([]*face, 0, len(strokeVariants))
	for i, v := range strokeVariants {
		fa := &face{name: "stroke-" + string(rune('a'+i)), glyphs: map[rune]glyph{}}
		for r, sg := range strokeGlyphs(v) {
			fa.glyphs[r] = rasterStroke(sg, v)
		}
		fa.glyphs[' '] = glyph{advance: 0.45 * glyphCapHeight}
		out = append(out, fa)
	}
	return out
}

// rasterStroke draws a stroke glyph with a round pen so that its ink spans
// the cap height exactly and the glyph width times the variant's narrowing.
func rasterStroke(sg strokeGlyph, v strokeVariant) glyph {
	const capH = float64(glyphCapHeight)
	r := v.weight * capH / 2
	inkW := math.Max(sg.w*v.narrowing*capH, 2*r)
	side := 0.1 * capH
	// Centre lines live in [r, inkW-r] x [r, capH-r] of the ink box.
	sx, sy := inkW-2*r, capH-2*r
	var segs [][2]pt
	for _, l := range sg.lines {
		for i := 0; i+1 < len(l); i++ {
			a := pt{r + l[i].x*sx, r + l[i].y*sy}
			b := pt{r + l[i+1].x*sx, r + l[i+1].y*sy}
			segs = append(segs, [2]pt{a, b})
		}
	}
	w, h := int(math.Ceil(inkW))+2, int(capH)+2+int(math.Ceil(0.06*capH))
	a := image.NewAlpha(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			p := pt{float64(x) + 0.5 - 1, float64(y) + 0.5 - 1}
			d := math.Inf(1)
			for _, s := range segs {
				d = math.Min(d, segDist(p, s[0], s[1]))
			}
			if cov := r + 0.5 - d; cov > 0 {
				a.Pix[y*a.Stride+x] = uint8(math.Min(1, cov) * 255)
			}
		}
	}
	return glyph{mask: a, off: image.Pt(int(side)-1, -int(capH)-1), advance: inkW + 2*side}
}

// segDist is the distance from p to the segment ab.
func segDist(p, a, b pt) float64 {
	dx, dy := b.x-a.x, b.y-a.y
	t := 0.0
	if l := dx*dx + dy*dy; l > 0 {
		t = math.Max(0, math.Min(1, ((p.x-a.x)*dx+(p.y-a.y)*dy)/l))
	}
	ex, ey := p.x-(a.x+t*dx), p.y-(a.y+t*dy)
	return math.Hypot(ex, ey)
}
