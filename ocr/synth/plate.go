package synth

import (
	"image"
	"math"
	"math/rand/v2"
	"strings"
)

// Options selects what RenderPlate draws. The zero value renders a random
// plate of DefaultWidth pixels.
type Options struct {
	// Width of the plate in pixels; 0 means DefaultWidth. Height follows
	// from the 2:1 aspect of US and Mexican plates (with a little jitter).
	Width int
	// Text to render, letters and digits with optional ' ' or '-' separators;
	// empty means a random text of the layout's formats.
	Text string
	// Layout is "us", "mx" or "" for a random choice (mostly "us").
	Layout string
	// GoFontsOnly restricts faces to gofont, so that the output does not
	// depend on which Debian font packages are installed.
	GoFontsOnly bool
	// Plain draws only background, text and a border: no banner graphics,
	// stickers, bolts or frames.
	Plain bool
	// Rows is 2 for a stacked plate (motorcycle, trailer and some special plates): the
	// text in two rows of equal height, the first group (or the first half) above, and no
	// banner. 0 or 1: one row. The label is the rows' characters top first.
	Rows int
}

// DefaultWidth is the plate width when Options.Width is 0.
const DefaultWidth = 320

// Plate is a rendered plate.
type Plate struct {
	// Image is the whole plate, including border, banner and slogan.
	Image *image.RGBA
	// Text is the label: the plate's characters without separators.
	Text string
	// Layout is "us" or "mx".
	Layout string
	// CharBoxes are the boxes of the characters of Text, in order, in Image
	// coordinates.
	CharBoxes []image.Rectangle
	// TopChars is, for a stacked (two-row) plate, how many of Text's characters (and
	// CharBoxes) are in the top row; 0 for a one-row plate.
	TopChars int
}

// Row returns the text and the band (the union of its character boxes) of row 1 (top) or 2
// (bottom) of a stacked plate; of the whole text for a one-row plate.
func (p Plate) Row(row int) (string, image.Rectangle) {
	text, boxes := p.Text, p.CharBoxes
	if p.TopChars > 0 {
		switch row {
		case 1:
			text, boxes = text[:p.TopChars], boxes[:p.TopChars]
		case 2:
			text, boxes = text[p.TopChars:], boxes[p.TopChars:]
		}
	}
	var r image.Rectangle
	for _, b := range boxes {
		r = r.Union(b)
	}
	return text, r
}

// TextBand returns the union of the character boxes.
func (p Plate) TextBand() image.Rectangle {
	_, r := p.Row(0)
	return r
}

// newRand returns the generator for a seed and a purpose; separate streams
// keep the plate and its degradations independent.
func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x6c70726400000000|stream))
}

// hsv converts hue (0..1), saturation and value (0..1) to a colour.
func hsv(h, s, v float64) rgb {
	h = math.Mod(h, 1) * 6
	i := math.Floor(h)
	f := h - i
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	var r, g, b float64
	switch int(i) {
	case 0:
		r, g, b = v, t, p
	case 1:
		r, g, b = q, v, p
	case 2:
		r, g, b = p, v, t
	case 3:
		r, g, b = p, q, v
	case 4:
		r, g, b = t, p, v
	default:
		r, g, b = v, p, q
	}
	return rgb{float32(r * 255), float32(g * 255), float32(b * 255)}
}

func uniform(rng *rand.Rand, a, b float64) float64 { return a + (b-a)*rng.Float64() }

// lightColour and darkColour pick plate colours; plates are mostly white or
// pale, with dark blue, black, red or green lettering.
func lightColour(rng *rand.Rand) rgb {
	if rng.Float64() < 0.5 {
		return hsv(rng.Float64(), uniform(rng, 0, 0.08), uniform(rng, 0.85, 1))
	}
	return hsv(rng.Float64(), uniform(rng, 0, 0.4), uniform(rng, 0.75, 1))
}

func darkColour(rng *rand.Rand) rgb {
	if rng.Float64() < 0.4 {
		return hsv(rng.Float64(), uniform(rng, 0, 0.3), uniform(rng, 0.02, 0.2))
	}
	return hsv(rng.Float64(), uniform(rng, 0.4, 1), uniform(rng, 0.15, 0.55))
}

// RenderPlate draws a plate for seed. It is deterministic for a seed, options
// and installed font set.
func RenderPlate(seed int64, opt Options) Plate {
	rng := newRand(seed, 1)
	fs := fonts(opt.GoFontsOnly)
	W := opt.Width
	if W <= 0 {
		W = DefaultWidth
	}
	layout := opt.Layout
	if layout == "" {
		layout = "us"
		if rng.Float64() < 0.12 {
			layout = "mx"
		}
	}
	H := int(math.Round(float64(W) * uniform(rng, 0.47, 0.53)))
	fw, fh := float64(W), float64(H)
	unit := fw / DefaultWidth // stroke sizes scale with the plate

	text := opt.Text
	if text == "" {
		text = randomText(rng, layout == "mx")
	}

	// Colours.
	darkOnLight := rng.Float64() < 0.82
	var bg, ink rgb
	if darkOnLight {
		bg, ink = lightColour(rng), darkColour(rng)
	} else {
		bg = hsv(rng.Float64(), uniform(rng, 0, 0.9), uniform(rng, 0.05, 0.45))
		ink = hsv(uniform(rng, 0.1, 0.2), uniform(rng, 0, 0.8), uniform(rng, 0.85, 1))
		if rng.Float64() < 0.5 {
			ink = hsv(0, 0, uniform(rng, 0.85, 1))
		}
	}
	cv := newCanvas(W, H, bg)
	if !opt.Plain {
		drawBackground(cv, rng, bg, darkOnLight)
	}

	// Banner.
	plateFace := pickPlateFace(rng, fs)
	if opt.Rows == 2 {
		return renderStacked(cv, rng, fs, plateFace, text, layout, ink, opt.Plain)
	}
	if !opt.Plain && rng.Float64() < 0.88 {
		drawBanner(cv, rng, fs, layout, ink, darkOnLight)
	}

	// Main text.
	capH := fh * uniform(rng, 0.38, 0.62)
	yc := fh*0.5 + fh*uniform(rng, -0.04, 0.05)
	sx := uniform(rng, 0.45, 1.05) // plate lettering is mostly condensed
	tracking := capH * uniform(rng, 0.02, 0.22)
	gap := capH * uniform(rng, 0.2, 0.7)
	maxW := fw * uniform(rng, 0.8, 0.95)
	// A mark right beside the characters (stacked county or class letters,
	// a pictogram, an edge), for which the text moves aside.
	markSide, reserve := 0.0, 0.0
	if !opt.Plain && rng.Float64() < 0.4 {
		markSide, reserve = -1, fw*uniform(rng, 0.1, 0.2)
		if rng.Float64() < 0.3 {
			markSide = 1
		}
		maxW = math.Min(maxW, fw*0.96-reserve)
	}
	groups := splitGroups(text)
	width := func(sx, tracking, gap float64) float64 {
		s := capH / glyphCapHeight
		w := 0.0
		for gi, g := range groups {
			for i, r := range g {
				w += plateFace.glyphs[r].advance * s * sx
				if i > 0 {
					w += tracking
				}
			}
			if gi > 0 {
				w += gap
			}
		}
		return w
	}
	if w := width(sx, tracking, gap); w > maxW {
		f := maxW / w
		sx, tracking, gap = sx*f, tracking*f, gap*f
		if sx < 0.5 { // too narrow: make the text smaller instead
			capH *= math.Max(0.6, sx/0.5)
			sx = 0.5
			if w := width(sx, tracking, gap); w > maxW {
				f := maxW / w
				sx, tracking, gap = sx*f, tracking*f, gap*f
			}
		}
	}
	tw := width(sx, tracking, gap)
	x := (fw-tw)/2 + fw*uniform(rng, -0.03, 0.03) - markSide*reserve/2
	textX0, textX1 := x, x+tw
	baseline := yc + capH/2
	m := newMask(W, H)
	s := capH / glyphCapHeight
	var boxes []image.Rectangle
	var label strings.Builder
	sepKind := rng.IntN(3) // 0 gap, 1 dash or icon, 2 icon
	for gi, g := range groups {
		if gi > 0 {
			cx := x + gap/2
			if !opt.Plain && sepKind == 2 && gap > capH*0.35 {
				drawIcon(cv, rng, cx, yc, gap*0.45, capH*0.35, ink)
			} else if sepKind == 1 || textHasDash(text, gi) {
				m.fillRect(cx-gap*0.3, yc-capH*0.06, cx+gap*0.3, yc+capH*0.06)
			}
			x += gap
		}
		x = m.drawRun(plateFace, g, x, baseline, s*sx, s, tracking, &boxes, &label)
	}
	m.morph(int(math.Round(uniform(rng, -1.2, 1.6) * unit)))
	if markSide != 0 {
		drawSideMark(cv, rng, plateFace, ink, capH, yc, textX0, textX1, markSide)
	}
	if !opt.Plain {
		drawExtras(cv, rng, fs, ink, capH, yc)
	}
	if !opt.Plain && rng.Float64() < 0.35 {
		// Embossed characters: a shade or highlight offset from the ink.
		shade := hsv(0, 0, uniform(rng, 0, 0.35))
		if rng.Float64() < 0.4 {
			shade = hsv(0, 0, uniform(rng, 0.8, 1))
		}
		d := math.Max(1, uniform(rng, 0.5, 2.5)*unit)
		cv.paintShifted(m, int(math.Round(d*uniform(rng, -1, 1))), int(math.Round(d)), shade, float32(uniform(rng, 0.4, 0.9)))
	}
	cv.paint(m, ink, 1)
	if !opt.Plain {
		drawFrame(cv, rng, fs)
	}
	if rng.Float64() < 0.45 {
		inset := uniform(rng, 1, 6) * unit
		cv.strokeRect(inset, inset, fw-inset, fh-inset, uniform(rng, 1, 4)*unit, uniform(rng, 3, 15)*unit, ink, 1)
	}
	return Plate{Image: cv.rgba(), Text: label.String(), Layout: layout, CharBoxes: boxes}
}

// drawRun draws the characters of run with face fa from x along baseline (scales sx, sy,
// tracking between characters), appends their boxes and runes, and returns the x after it.
func (m *mask) drawRun(fa *face, run []rune, x, baseline, sx, sy, tracking float64, boxes *[]image.Rectangle, label *strings.Builder) float64 {
	for i, r := range run {
		if i > 0 {
			x += tracking
		}
		gl := fa.glyphs[r]
		*boxes = append(*boxes, m.drawGlyph(gl, x, baseline, sx, sy))
		label.WriteRune(r)
		x += gl.advance * sx
	}
	return x
}

// pickPlateFace picks the face of a plate's characters: a stroke face for
// 40 % of plates, a signage face for 30 % and a text face for the rest (any
// plate face when the stroke and signage faces are not loaded).
func pickPlateFace(rng *rand.Rand, fs fontSet) *face {
	if len(fs.stroke) == 0 && len(fs.signage) == 0 {
		return fs.plate[rng.IntN(len(fs.plate))]
	}
	switch r := rng.Float64(); {
	case r < 0.4 && len(fs.stroke) > 0:
		return fs.stroke[rng.IntN(len(fs.stroke))]
	case r < 0.7 && len(fs.signage) > 0:
		return fs.signage[rng.IntN(len(fs.signage))]
	}
	return fs.plate[rng.IntN(len(fs.plate))]
}

// splitGroups splits a text at separators and drops characters outside
// Alphabet.
func splitGroups(text string) [][]rune {
	var out [][]rune
	var cur []rune
	for _, r := range strings.ToUpper(text) {
		switch {
		case r == ' ' || r == '-':
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
		case strings.ContainsRune(Alphabet, r):
			cur = append(cur, r)
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// textHasDash reports whether the separator before group gi is a dash.
func textHasDash(text string, gi int) bool {
	n := 0
	prevSep := false
	for _, r := range text {
		isSep := r == ' ' || r == '-'
		if isSep && !prevSep {
			n++
			if n == gi {
				return r == '-'
			}
		}
		prevSep = isSep
	}
	return false
}

func (m *mask) fillRect(x0, y0, x1, y1 float64) {
	m.touch(image.Rect(int(x0), int(y0), int(math.Ceil(x1)), int(math.Ceil(y1))))
	for y := max(0, int(y0)); y < min(m.h, int(math.Ceil(y1))); y++ {
		cy := coverage1(float64(y), y0, y1)
		for x := max(0, int(x0)); x < min(m.w, int(math.Ceil(x1))); x++ {
			k := y*m.w + x
			m.a[k] = min(1, m.a[k]+float32(cy*coverage1(float64(x), x0, x1)))
		}
	}
}

// drawString draws s centred at cx on baseline y with cap height capH and
// horizontal scale sx, shrinking it to fit maxW.
func drawString(cv *canvas, fa *face, s string, cx, y, capH, sx, maxW float64, c rgb, bold int) {
	sc := capH / glyphCapHeight
	w := 0.0
	for _, r := range s {
		w += fa.glyphs[r].advance * sc * sx
	}
	if w > maxW && w > 0 {
		sx *= maxW / w
		w = maxW
	}
	m := newMask(cv.w, cv.h)
	x := cx - w/2
	for _, r := range s {
		g, ok := fa.glyphs[r]
		if !ok {
			continue
		}
		m.drawGlyph(g, x, y, sc*sx, sc)
		x += g.advance * sc * sx
	}
	m.morph(bold)
	cv.paint(m, c, 1)
}

func drawBackground(cv *canvas, rng *rand.Rand, bg rgb, light bool) {
	fw, fh := float64(cv.w), float64(cv.h)
	switch k := rng.IntN(10); {
	case k < 4:
		// plain
	case k < 7:
		other := bg
		for i := range other {
			other[i] = min(255, max(0, other[i]+float32(uniform(rng, -70, 40))))
		}
		if !light {
			for i := range other {
				other[i] = min(120, other[i])
			}
		}
		cv.gradient(bg, other, uniform(rng, 0, 2*math.Pi))
	default:
		// scenic graphics: sky gradient, hills, a sun or a large faint emblem.
		sky := hsv(uniform(rng, 0.5, 0.7), uniform(rng, 0.1, 0.6), uniform(rng, 0.7, 1))
		if !light {
			sky = hsv(rng.Float64(), uniform(rng, 0.3, 0.9), uniform(rng, 0.1, 0.4))
		}
		cv.gradient(sky, bg, math.Pi/2+uniform(rng, -0.3, 0.3))
		top := rng.Float64() < 0.4 // ranges along the top edge instead of the bottom
		for range 1 + rng.IntN(3) {
			base := fh * uniform(rng, 0.55, 1)
			pts := [][2]float64{{0, fh}, {0, base}}
			n := 3 + rng.IntN(5)
			for i := 1; i <= n; i++ {
				pts = append(pts, [2]float64{fw * float64(i) / float64(n), base - fh*uniform(rng, -0.1, 0.35)})
			}
			pts = append(pts, [2]float64{fw, fh})
			if top {
				for i := range pts {
					pts[i][1] = fh - pts[i][1]
				}
			}
			col := hsv(rng.Float64(), uniform(rng, 0.1, 0.6), uniform(rng, 0.4, 1))
			if !light {
				col = hsv(rng.Float64(), uniform(rng, 0.2, 0.9), uniform(rng, 0.1, 0.45))
			}
			cv.fillPolygon(pts, col, float32(uniform(rng, 0.25, 0.8)))
		}
		if rng.Float64() < 0.5 {
			col := hsv(uniform(rng, 0, 0.2), uniform(rng, 0.2, 0.8), uniform(rng, 0.6, 1))
			r := fh * uniform(rng, 0.15, 0.45)
			cv.fillEllipse(fw*uniform(rng, 0.1, 0.9), fh*uniform(rng, 0.2, 0.8), r, r, col, float32(uniform(rng, 0.2, 0.6)))
		}
	}
}

func drawBanner(cv *canvas, rng *rand.Rand, fs fontSet, layout string, ink rgb, light bool) {
	fw, fh := float64(cv.w), float64(cv.h)
	var word string
	if layout == "mx" {
		word = mxStates[rng.IntN(len(mxStates))]
		if rng.Float64() < 0.5 {
			word = "MEXICO"
		}
	} else {
		word = stateNames[rng.IntN(len(stateNames))]
	}
	word = wordCase(rng, word)
	faces := append(append([]*face{}, fs.banner...), fs.plate...)
	fa := faces[rng.IntN(len(faces))]
	capH := fh * uniform(rng, 0.09, 0.2)
	top := fh * uniform(rng, 0.03, 0.08)
	col := ink
	if rng.Float64() < 0.5 {
		col = hsv(rng.Float64(), uniform(rng, 0.5, 1), uniform(rng, 0.3, 0.8))
		if !light {
			col = hsv(rng.Float64(), uniform(rng, 0, 0.6), uniform(rng, 0.8, 1))
		}
	}
	if rng.Float64() < 0.3 {
		// coloured bar with light lettering across the top
		bar := hsv(rng.Float64(), uniform(rng, 0.5, 1), uniform(rng, 0.3, 0.8))
		bh := top + capH + fh*uniform(rng, 0.03, 0.08)
		cv.fillRect(0, 0, fw, bh, bar, 1)
		col = hsv(0, 0, uniform(rng, 0.9, 1))
	}
	drawString(cv, fa, word, fw/2+fw*uniform(rng, -0.05, 0.05), top+capH, capH, uniform(rng, 0.8, 1.5), fw*0.9, col, rng.IntN(2))
	if rng.Float64() < 0.7 {
		slogan := slogans[rng.IntN(len(slogans))]
		if layout == "mx" && rng.Float64() < 0.6 {
			slogan = "Frontera Norte"
		}
		sh := fh * uniform(rng, 0.06, 0.12)
		fb := faces[rng.IntN(len(faces))]
		drawString(cv, fb, wordCase(rng, slogan), fw/2, fh*uniform(rng, 0.9, 0.96), sh, uniform(rng, 0.8, 1.3), fw*0.8, col, 0)
	}
}

// drawIcon draws a small emblem between character groups (a keystone, a
// heart, a state outline on real plates).
func drawIcon(cv *canvas, rng *rand.Rand, cx, cy, rx, ry float64, ink rgb) {
	col := ink
	if rng.Float64() < 0.6 {
		col = hsv(rng.Float64(), uniform(rng, 0.4, 1), uniform(rng, 0.3, 0.9))
	}
	if rng.Float64() < 0.5 {
		cv.fillEllipse(cx, cy, rx, ry, col, 1)
		return
	}
	n := 3 + rng.IntN(5)
	var pts [][2]float64
	for i := range n {
		a := 2*math.Pi*float64(i)/float64(n) + uniform(rng, -0.3, 0.3)
		r := uniform(rng, 0.6, 1)
		pts = append(pts, [2]float64{cx + rx*r*math.Cos(a), cy + ry*r*math.Sin(a)})
	}
	cv.fillPolygon(pts, col, 1)
}

// drawSideMark draws what real plates put right beside their characters and
// what the label leaves out: two small stacked characters (county or class
// codes, as on Idaho, Oregon or Wyoming plates), a pictogram (wheelchair,
// portrait, emblem) or a vertical edge. side is -1 for the left of the text
// (x0) and 1 for its right (x1).
func drawSideMark(cv *canvas, rng *rand.Rand, fa *face, ink rgb, capH, yc, x0, x1, side float64) {
	gap := capH * uniform(rng, 0.08, 0.35)
	edge := x0 - gap
	if side > 0 {
		edge = x1 + gap
	}
	switch k := rng.IntN(10); {
	case k < 5: // stacked characters
		sh := capH * uniform(rng, 0.3, 0.46)
		lead := sh * uniform(rng, 0.12, 0.3)
		cx := edge + side*sh*0.35
		y := yc - lead/2
		for _, r := range []byte{Alphabet[rng.IntN(len(Alphabet))], Alphabet[rng.IntN(len(Alphabet))]} {
			drawString(cv, fa, string(r), cx, y, sh, uniform(rng, 0.7, 1), capH, ink, 0)
			y += sh + lead
		}
	case k < 8: // pictogram
		rx, ry := capH*uniform(rng, 0.2, 0.45), capH*uniform(rng, 0.3, 0.55)
		drawIcon(cv, rng, edge+side*rx, yc, rx, ry, ink)
	default: // an edge or a bar of a frame
		// Thinner and taller than the characters: a bar of a digit's
		// size would look like a 1 or an I that the label leaves out,
		// and teach the reader to drop plain 1s at the ends of a text.
		w := math.Max(1, capH*uniform(rng, 0.03, 0.08))
		h := capH * uniform(rng, 1.5, 2.4)
		cv.fillRect(edge-w/2, yc-h/2, edge+w/2, yc+h/2, ink, 1)
	}
}

// drawExtras adds stickers, bolts, small side text and plate frames.
func drawExtras(cv *canvas, rng *rand.Rand, fs fontSet, ink rgb, capH, yc float64) {
	fw, fh := float64(cv.w), float64(cv.h)
	unit := fw / DefaultWidth
	fa := fs.plate[rng.IntN(len(fs.plate))]
	// Registration stickers in the corners.
	for range rng.IntN(3) {
		sw, sh := fw*uniform(rng, 0.08, 0.18), fh*uniform(rng, 0.1, 0.2)
		x := fw * uniform(rng, 0.02, 0.06)
		if rng.Float64() < 0.5 {
			x = fw - x - sw
		}
		y := fh * uniform(rng, 0.03, 0.08)
		if rng.Float64() < 0.4 {
			y = fh - y - sh
		}
		col := hsv(rng.Float64(), uniform(rng, 0.5, 1), uniform(rng, 0.5, 1))
		cv.fillRect(x, y, x+sw, y+sh, col, 1)
		txt := []string{"26", "NOV", "2006", "JUN", "7", "08", "MAR"}[rng.IntN(7)]
		tc := hsv(0, 0, uniform(rng, 0, 0.15))
		if rng.Float64() < 0.5 {
			tc = hsv(0, 0, 1)
		}
		drawString(cv, fa, txt, x+sw/2, y+sh*0.8, sh*0.6, 1, sw*0.9, tc, 0)
	}
	// A small emblem beside the characters (state shapes, flags, animals).
	if rng.Float64() < 0.3 {
		x := fw * uniform(rng, 0.03, 0.12)
		if rng.Float64() < 0.5 {
			x = fw - x
		}
		drawIcon(cv, rng, x, yc+capH*uniform(rng, -0.3, 0.3), fw*uniform(rng, 0.02, 0.05), capH*uniform(rng, 0.15, 0.4), ink)
	}
	// Small text beside the characters ("TRUCK", county names, stacked letters).
	if rng.Float64() < 0.35 {
		sh := capH * uniform(rng, 0.15, 0.25)
		x := fw * uniform(rng, 0.04, 0.09)
		if rng.Float64() < 0.5 {
			x = fw - x
		}
		words := []string{"TR", "AP", "DV", "PA", "NOV", "OCT"}
		w := words[rng.IntN(len(words))]
		y := yc - capH/2 + sh
		for _, r := range w {
			drawString(cv, fa, string(r), x, y, sh, 1, fw, ink, 0)
			y += sh * 1.3
		}
	}
	// Bolts.
	if rng.Float64() < 0.5 {
		y := fh * uniform(rng, 0.07, 0.14)
		x := fw * uniform(rng, 0.18, 0.3)
		r := uniform(rng, 2, 5) * unit
		col := hsv(0, 0, uniform(rng, 0.2, 0.8))
		cv.fillEllipse(x, y, r, r, col, 1)
		cv.fillEllipse(fw-x, y, r, r, col, 1)
		if rng.Float64() < 0.5 {
			y2 := fh - y
			cv.fillEllipse(x, y2, r, r, col, 1)
			cv.fillEllipse(fw-x, y2, r, r, col, 1)
		}
	}
}

// drawFrame draws a dealer frame: bands over the edges, with small text.
func drawFrame(cv *canvas, rng *rand.Rand, fs fontSet) {
	fw, fh := float64(cv.w), float64(cv.h)
	fa := fs.plate[rng.IntN(len(fs.plate))]
	if rng.Float64() < 0.25 {
		col := hsv(rng.Float64(), uniform(rng, 0, 0.4), uniform(rng, 0, 0.3))
		if rng.Float64() < 0.3 {
			col = hsv(0, 0, uniform(rng, 0.6, 0.9)) // chrome
		}
		bt := fh * uniform(rng, 0, 0.08)
		bb := fh * uniform(rng, 0.05, 0.15)
		bs := fw * uniform(rng, 0, 0.04)
		cv.fillRect(0, 0, fw, bt, col, 1)
		cv.fillRect(0, fh-bb, fw, fh, col, 1)
		cv.fillRect(0, 0, bs, fh, col, 1)
		cv.fillRect(fw-bs, 0, fw, fh, col, 1)
		if bb > fh*0.07 {
			txt := []string{"AUTO SALES", "TOYOTA", "HONDA OF TOWN", "FORD", "MOTORS", "CHEVROLET"}[rng.IntN(6)]
			drawString(cv, fa, txt, fw/2, fh-bb*0.25, bb*0.6, 1, fw*0.7, hsv(0, 0, 1-float64(col[0])/255), 0)
		}
	}
}
