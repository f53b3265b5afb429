package synth

import (
	"image"
	"math"
	"math/rand/v2"
)

// Grey is a float grey raster (0..255), row-major: the working image of RenderComposite.
type Grey struct {
	W, H int
	Pix  []float32
}

// NewGrey returns a black w x h raster.
func NewGrey(w, h int) *Grey { return &Grey{W: w, H: h, Pix: make([]float32, w*h)} }

// GreyFromImage converts any image to grey (BT.601 weights, as OpenCV's BGR2GRAY).
func GreyFromImage(img image.Image) *Grey {
	b := img.Bounds()
	g := NewGrey(b.Dx(), b.Dy())
	if m, ok := img.(*image.RGBA); ok {
		for y := 0; y < g.H; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < g.W; x++ {
				g.Pix[y*g.W+x] = 0.299*float32(row[4*x]) + 0.587*float32(row[4*x+1]) + 0.114*float32(row[4*x+2])
			}
		}
		return g
	}
	for y := 0; y < g.H; y++ {
		for x := 0; x < g.W; x++ {
			r, gg, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			g.Pix[y*g.W+x] = (0.299*float32(r) + 0.587*float32(gg) + 0.114*float32(bb)) / 257
		}
	}
	return g
}

// Bytes returns the raster as 8-bit grey, rounded and clipped.
func (g *Grey) Bytes() []byte {
	out := make([]byte, len(g.Pix))
	for i, v := range g.Pix {
		out[i] = uint8(math.Max(0, math.Min(255, float64(v)+0.5)))
	}
	return out
}

// Clone returns a copy of g.
func (g *Grey) Clone() *Grey {
	c := &Grey{W: g.W, H: g.H, Pix: make([]float32, len(g.Pix))}
	copy(c.Pix, g.Pix)
	return c
}

func (g *Grey) at(x, y float64) float32 {
	x = math.Max(0, math.Min(float64(g.W-1), x))
	y = math.Max(0, math.Min(float64(g.H-1), y))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, g.W-1), min(y0+1, g.H-1)
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	a := g.Pix[y0*g.W+x0]*(1-fx) + g.Pix[y0*g.W+x1]*fx
	b := g.Pix[y1*g.W+x0]*(1-fx) + g.Pix[y1*g.W+x1]*fx
	return a*(1-fy) + b*fy
}

// Quad is a plate's four corners in frame pixels: top-left, top-right, bottom-right,
// bottom-left.
type Quad [4][2]float64

// Bounds is the quad's axis-aligned bounding box.
func (q Quad) Bounds() image.Rectangle {
	x0, y0, x1, y1 := q[0][0], q[0][1], q[0][0], q[0][1]
	for _, p := range q[1:] {
		x0, y0 = math.Min(x0, p[0]), math.Min(y0, p[1])
		x1, y1 = math.Max(x1, p[0]), math.Max(y1, p[1])
	}
	return image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1)))
}

// BoxQuad is the quad of an axis-aligned box.
func BoxQuad(r image.Rectangle) Quad {
	x0, y0, x1, y1 := float64(r.Min.X), float64(r.Min.Y), float64(r.Max.X), float64(r.Max.Y)
	return Quad{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}
}

// CompositeOptions selects what RenderComposite draws.
type CompositeOptions struct {
	// Background is a real frame to paste plates into (it is not modified); nil renders a
	// synthetic lane backdrop of Width x Height (default 1280x720) with RenderScene.
	Background    *Grey
	Width, Height int
	// Boxes are the labelled plates of Background. Each is kept as a positive or covered by a
	// rendered plate mapped over it.
	Boxes []image.Rectangle
	// IR forces the night infrared look (bright retro-reflective plates, dark scene, no
	// colour); otherwise it is one of the random looks.
	IR bool
	// Rows is 2 to render every pasted plate stacked, in two rows (Options.Rows).
	Rows int
	// NoPlates renders a plate-free frame (the background's own boxes are then hidden by
	// cutting nothing: use it only with a plate-free background or none).
	NoPlates bool
	// GoFontsOnly renders plates with gofont only.
	GoFontsOnly bool
	// Looks, when not zero, applies exactly these looks (to every pasted plate and the
	// frame) instead of random ones: for tests and per-look validation.
	Looks Look
}

// Look is a set of RenderComposite's degradations.
type Look uint16

// The looks of RenderComposite.
const (
	LookLowContrast Look = 1 << iota // grey std inside the plate under about 0.05
	LookOverExposed                  // a white plate with faint characters
	LookShadow                       // a dark half-plane through a plate
	LookHaze                         // the whole frame washed towards a grey
	LookNight                        // the whole frame dim
	LookIR                           // IR: bright plates, dark scene
	LookFrame                        // a dealer frame around the plate, often with text on its bars
	LookBars                         // bars in front of the plate
	LookFence                        // fence bars across the frame
	LookTimestamp                    // a date and time overlay
	LookRecess                       // the car's plate recess, a rounded moulding around the plate
)

// want draws a random number (always, so that the stream is the same) and says whether look l
// applies: with probability p when looks is zero, else when l is in looks.
func want(rng *rand.Rand, looks, l Look, p float64) bool {
	r := rng.Float64()
	if looks == 0 {
		return r < p
	}
	return looks&l != 0
}

// Composite is a rendered detector training or validation frame.
type Composite struct {
	Frame  *Grey
	Plates []Quad
	// Texts are the labels of Plates, in order: "" for a plate of the background kept as it
	// is (a real plate, whose text the background's labels do not give).
	Texts []string
	// TextQuads are the plates' character rows in frame pixels (the union of the character
	// boxes mapped with the plate), in order; the zero Quad where it is not known (a plate
	// kept from the background).
	TextQuads []Quad
	// LowContrast counts plates whose grey standard deviation inside the box is under 0.05
	// (of full scale) after all effects.
	LowContrast int
}

// RenderComposite pastes rendered US and Mexican plates with perspective into a frame (a real
// background, over its labelled boxes and elsewhere, or a synthetic lane scene) under the
// looks that defeat a classical localizer: shadow, haze, glare, very low contrast,
// over-exposure, night and IR, dealer frames, bars in front of the plate, fence bars and a
// timestamp overlay; and the car's plate recess, which a detector must not take for the
// plate. It is deterministic for a seed, options and font set.
func RenderComposite(seed int64, opt CompositeOptions) Composite {
	rng := newRand(seed, 200)
	var fr *Grey
	var plates []Quad
	var texts, kept []string // kept: the background's own plates' texts, where known
	var rows []Quad
	boxes := opt.Boxes
	if opt.Background != nil {
		fr = opt.Background.Clone()
	} else {
		w, h := opt.Width, opt.Height
		if w <= 0 || h <= 0 {
			w, h = 1280, 720
		}
		sc := RenderScene(seed, SceneOptions{Width: w, Height: h, GoFontsOnly: opt.GoFontsOnly, Noise: -1,
			Vehicles: []Vehicle{{X: w/2 + rng.IntN(w/2) - w/4, Y: h/2 + rng.IntN(h/3), PlateWidth: (60 + rng.IntN(200)) * w / 1280,
				Tilt: uniform(rng, -8, 8), Skew: uniform(rng, 0.85, 1.15), PlateSeed: seed, NoPlate: opt.NoPlates, Rows: opt.Rows}}})
		fr = GreyFromImage(sc.Image)
		for _, p := range sc.Plates {
			boxes = append(boxes, p.Box)
			kept = append(kept, p.Text)
		}
	}
	ir := want(rng, opt.Looks, LookIR, 0.12) || opt.IR
	if !opt.NoPlates {
		for i, b := range boxes {
			if rng.Float64() < 0.35 { // keep the real plate as it is
				plates = append(plates, BoxQuad(b))
				texts, rows = append(texts, ""), append(rows, Quad{})
				if i < len(kept) {
					texts[len(texts)-1] = kept[i]
				}
				continue
			}
			w := float64(b.Dx()) * uniform(rng, 0.95, 1.1)
			cx, cy := float64(b.Min.X+b.Max.X)/2, float64(b.Min.Y+b.Max.Y)/2
			q, text, row := pasteComposite(fr, rng, seed, opt, cx, cy, w, ir)
			plates, texts, rows = append(plates, q), append(texts, text), append(rows, row)
		}
		n := rng.IntN(3)
		if len(boxes) == 0 {
			n = 1 + rng.IntN(2)
		}
		for range n {
			w := math.Exp(uniform(rng, math.Log(40), math.Log(300))) * float64(fr.W) / 1280
			cx, cy := uniform(rng, w/2, float64(fr.W)-w/2), uniform(rng, 0.25, 0.95)*float64(fr.H)
			if overlapsAny(BoxQuad(image.Rect(int(cx-0.8*w), int(cy-0.55*w), int(cx+0.8*w), int(cy+0.55*w))), plates) {
				continue
			}
			q, text, row := pasteComposite(fr, rng, seed, opt, cx, cy, w, ir)
			plates, texts, rows = append(plates, q), append(texts, text), append(rows, row)
		}
	}
	sceneEffects(fr, rng, plates, ir, opt.Looks)
	c := Composite{Frame: fr, Plates: plates, Texts: texts, TextQuads: rows}
	for _, q := range plates {
		if IsLowContrast(fr, q) {
			c.LowContrast++
		}
	}
	return c
}

func overlapsAny(q Quad, qs []Quad) bool {
	b := q.Bounds()
	for _, o := range qs {
		if b.Overlaps(o.Bounds().Inset(-4)) {
			return true
		}
	}
	return false
}

// IsLowContrast reports whether the grey standard deviation inside q's box is under 0.05 of
// full scale: the plates that a classical localizer misses.
func IsLowContrast(g *Grey, q Quad) bool { return greyStd(g, q.Bounds()) < 0.05*255 }

func greyStd(g *Grey, r image.Rectangle) float64 {
	_, std, _ := greyMoments(g, r, 1)
	return std
}

// greyMoments returns the mean and the standard deviation of g's pixels inside r (clipped to
// g), sampling every step-th pixel of every step-th row, and how many it sampled.
func greyMoments(g *Grey, r image.Rectangle, step int) (mean, std float64, n int) {
	r = r.Intersect(image.Rect(0, 0, g.W, g.H))
	var s, s2 float64
	for y := r.Min.Y; y < r.Max.Y; y += step {
		for x := r.Min.X; x < r.Max.X; x += step {
			v := float64(g.Pix[y*g.W+x])
			s, s2, n = s+v, s2+v*v, n+1
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	mean = s / float64(n)
	return mean, math.Sqrt(math.Max(0, s2/float64(n)-mean*mean)), n
}

// pasteComposite renders a plate about w pixels wide, degrades it (contrast, exposure, IR,
// frame) and maps it onto a perturbed quad centred at (cx, cy); it returns the plate's quad,
// text and character row.
func pasteComposite(fr *Grey, rng *rand.Rand, seed int64, opt CompositeOptions, cx, cy, w float64, ir bool) (Quad, string, Quad) {
	layout := "us"
	if rng.Float64() < 0.25 {
		layout = "mx"
	}
	pw := int(math.Max(100, math.Min(320, 2*w)))
	p := RenderPlate(seed*7+int64(rng.IntN(1<<20)), Options{Width: pw, Layout: layout, GoFontsOnly: opt.GoFontsOnly, Plain: rng.Float64() < 0.15, Rows: opt.Rows})
	pg := GreyFromImage(p.Image)
	plateLook(pg, rng, ir, opt.Looks)
	h := w * float64(pg.H) / float64(pg.W)
	ang := uniform(rng, -10, 10) * math.Pi / 180
	if rng.Float64() < 0.5 {
		ang *= 0.3
	}
	skew := uniform(rng, 0.85, 1.15)
	shear := uniform(rng, -0.15, 0.15) * h
	sin, cos := math.Sincos(ang)
	local := [4][2]float64{{-w/2 - shear, -h / 2}, {w/2 - shear, -h / 2 * skew}, {w/2 + shear, h / 2 * skew}, {-w/2 + shear, h / 2}}
	var q Quad
	for i, c := range local {
		q[i] = [2]float64{cx + c[0]*cos - c[1]*sin, cy + c[0]*sin + c[1]*cos}
	}
	if want(rng, opt.Looks, LookRecess, 0.3) {
		paintRecess(fr, rng, q)
	}
	if want(rng, opt.Looks, LookFrame, 0.3) {
		paintFrame(fr, rng, q, fonts(opt.GoFontsOnly))
	}
	warpPlate(fr, q, pg)
	if want(rng, opt.Looks, LookBars, 0.15) { // bars in front of the plate (a bike rack, a tow bar)
		n := 1 + rng.IntN(3)
		val := float32(uniform(rng, 0, 255))
		bw := uniform(rng, 0.04, 0.12)
		vert := rng.Float64() < 0.6
		for k := range n {
			c := (float64(k) + 0.5 + uniform(rng, -0.3, 0.3)) / float64(n)
			big := growQuad(q, 0.3, 0.6)
			warpFill(fr, big, func(u, v float64) (float32, bool) {
				t := u
				if !vert {
					t = v
				}
				return val, math.Abs(t-c) < bw/2
			})
		}
	}
	tb := p.TextBand()
	m := sceneUnitToQuad(q)
	iw, ih := float64(p.Image.Rect.Dx()), float64(p.Image.Rect.Dy())
	var row Quad
	for i, c := range [4][2]int{{tb.Min.X, tb.Min.Y}, {tb.Max.X, tb.Min.Y}, {tb.Max.X, tb.Max.Y}, {tb.Min.X, tb.Max.Y}} {
		row[i][0], row[i][1] = m.apply(float64(c[0])/iw, float64(c[1])/ih)
	}
	return q, p.Text, row
}

// growQuad enlarges q about its centre by fractions of its width (ax) and height (ay).
func growQuad(q Quad, ax, ay float64) Quad {
	var out Quad
	cx := (q[0][0] + q[1][0] + q[2][0] + q[3][0]) / 4
	cy := (q[0][1] + q[1][1] + q[2][1] + q[3][1]) / 4
	for i := range q {
		out[i] = [2]float64{cx + (q[i][0]-cx)*(1+ax), cy + (q[i][1]-cy)*(1+ay)}
	}
	return out
}

// warpFill paints the pixels of quad q with f(u, v) (u, v in 0..1 across the quad) where f
// says so, antialiasing nothing (the sensor blur comes later).
func warpFill(fr *Grey, q Quad, f func(u, v float64) (float32, bool)) {
	b := q.Bounds().Intersect(image.Rect(0, 0, fr.W, fr.H))
	inv := sceneUnitToQuad(q).inverse()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			u, v := inv.apply(float64(x)+0.5, float64(y)+0.5)
			if u < 0 || u > 1 || v < 0 || v > 1 {
				continue
			}
			if val, ok := f(u, v); ok {
				fr.Pix[y*fr.W+x] = val
			}
		}
	}
}

// warpPlate maps plate image pg onto quad q, 2x2 supersampled so that small plates do not
// alias.
func warpPlate(fr *Grey, q Quad, pg *Grey) {
	b := q.Bounds().Intersect(image.Rect(0, 0, fr.W, fr.H))
	inv := sceneUnitToQuad(q).inverse()
	pw, ph := float64(pg.W), float64(pg.H)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			var sum float32
			var n int
			for _, d := range [4][2]float64{{0.25, 0.25}, {0.75, 0.25}, {0.25, 0.75}, {0.75, 0.75}} {
				u, v := inv.apply(float64(x)+d[0], float64(y)+d[1])
				if u < 0 || u > 1 || v < 0 || v > 1 {
					continue
				}
				sum += pg.at(u*pw-0.5, v*ph-0.5)
				n++
			}
			if n > 0 {
				i := y*fr.W + x
				fr.Pix[i] += (sum/float32(n) - fr.Pix[i]) * float32(n) / 4
			}
		}
	}
}

// plateLook changes a plate's own tones: IR (bright background, dark ink), very low
// contrast, over-exposure, a dark plate.
func plateLook(pg *Grey, rng *rand.Rand, ir bool, looks Look) {
	mean := float32(0)
	for _, v := range pg.Pix {
		mean += v
	}
	mean /= float32(len(pg.Pix))
	var gain, off float32 = 1, 0
	r := rng.Float64()
	switch {
	case looks&LookLowContrast != 0:
		r = 0
	case looks&LookOverExposed != 0:
		r = 0.35
	case looks != 0:
		r = 1
	}
	switch {
	case ir:
		// Retro-reflective sheeting under an IR flash: the background saturates, ink stays dark.
		gain, off = float32(uniform(rng, 1.3, 2.2)), float32(uniform(rng, -40, 20))
	case r < 0.3: // very low contrast: std under about 0.05 of full scale
		gain = float32(uniform(rng, 0.08, 0.3))
		off = (1-gain)*mean + float32(uniform(rng, -30, 30))
	case r < 0.4: // over-exposed white plate with faint characters
		gain, off = float32(uniform(rng, 0.2, 0.5)), float32(uniform(rng, 150, 210))
	case r < 0.5:
		gain = float32(uniform(rng, 0.3, 0.8))
	}
	for i, v := range pg.Pix {
		pg.Pix[i] = min(255, max(0, v*gain+off))
	}
}
