package synth

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
)

// SceneOptions describes a synthetic lane-camera frame: a background, vehicles and their plates.
type SceneOptions struct {
	// Width and Height of the frame (default 1280x720).
	Width, Height int
	// Vehicles to draw, back to front. Nil draws one random vehicle with a plate.
	Vehicles []Vehicle
	// Noise is the standard deviation of the sensor noise in grey levels (default 3; negative:
	// none).
	Noise float64
	// GoFontsOnly renders plates with Go's own fonts only (output independent of installed
	// Debian fonts).
	GoFontsOnly bool
}

// Vehicle is one vehicle seen from behind (or the front), placed by its plate.
type Vehicle struct {
	// X, Y is the centre of the plate in the frame.
	X, Y int
	// PlateWidth is the plate's width in pixels (default 120).
	PlateWidth int
	// Tilt rotates the plate (and the vehicle) in degrees, clockwise.
	Tilt float64
	// Skew is the perspective of a plate seen from the side: the height of its right edge over
	// its left edge (default 1: none; 0.85 turns the right side away).
	Skew float64
	// Text, Layout and PlateSeed go to RenderPlate (empty text: random).
	Text, Layout string
	PlateSeed    int64
	// Plain draws the plate without banner graphics and frames.
	Plain bool
	// Rows is 2 for a stacked, two-row plate (RenderPlate's Options.Rows).
	Rows int
	// NoPlate draws the vehicle without a plate.
	NoPlate bool
	// Colour of the body; zero picks one from PlateSeed.
	Colour color.RGBA
}

// ScenePlate is the ground truth of one plate in a scene.
type ScenePlate struct {
	Text, Layout string
	// Box is the axis-aligned bounding box of the plate in the frame.
	Box image.Rectangle
	// Corners are the plate's corners in the frame: top-left, top-right, bottom-right,
	// bottom-left.
	Corners [4]image.Point
}

// Scene is a rendered frame and the plates in it.
type Scene struct {
	Image  *image.RGBA
	Plates []ScenePlate
}

// RenderScene draws a lane frame for seed: a road-and-buildings background (the same for the
// same seed whatever the vehicles, so a clip can move vehicles over a fixed background) and the
// vehicles of opt with their plates. It is deterministic for a seed, options and font set.
func RenderScene(seed int64, opt SceneOptions) Scene {
	if opt.Width <= 0 {
		opt.Width = 1280
	}
	if opt.Height <= 0 {
		opt.Height = 720
	}
	if opt.Noise == 0 {
		opt.Noise = 3
	}
	img := image.NewRGBA(image.Rect(0, 0, opt.Width, opt.Height))
	drawBackdrop(img, newRand(seed, 100))
	vehicles := opt.Vehicles
	if vehicles == nil {
		rng := newRand(seed, 101)
		pw := 80 + rng.IntN(140)
		vehicles = []Vehicle{{
			X: opt.Width/2 + rng.IntN(opt.Width/3) - opt.Width/6, Y: opt.Height/2 + rng.IntN(opt.Height/4),
			PlateWidth: pw, Tilt: rng.Float64()*16 - 8, PlateSeed: seed,
		}}
	}
	var plates []ScenePlate
	for _, v := range vehicles {
		if v.PlateWidth <= 0 {
			v.PlateWidth = 120
		}
		if v.Skew <= 0 {
			v.Skew = 1
		}
		drawVehicle(img, v)
		if v.NoPlate {
			continue
		}
		p := RenderPlate(v.PlateSeed, Options{Width: v.PlateWidth, Text: v.Text, Layout: v.Layout, GoFontsOnly: opt.GoFontsOnly, Plain: v.Plain, Rows: v.Rows})
		plates = append(plates, pastePlate(img, p, v))
	}
	if opt.Noise > 0 {
		sceneNoise(img, newRand(seed, 102), opt.Noise)
	}
	return Scene{Image: img, Plates: plates}
}

// drawBackdrop paints sky, buildings with windows, the road and lane markings.
func drawBackdrop(img *image.RGBA, rng *rand.Rand) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	horizon := h * (30 + rng.IntN(15)) / 100
	sky := sceneGrey(150 + rng.IntN(60))
	road := sceneGrey(70 + rng.IntN(50))
	for y := 0; y < h; y++ {
		var c color.RGBA
		if y < horizon {
			c = sceneShade(sky, 1-0.2*float64(y)/float64(horizon))
		} else {
			c = sceneShade(road, 0.85+0.3*float64(y-horizon)/float64(h-horizon))
		}
		sceneFill(img, image.Rect(0, y, w, y+1), c)
	}
	for x := 0; x < w; {
		bw := w/12 + rng.IntN(w/6)
		top := horizon/4 + rng.IntN(horizon/2)
		c := sceneGrey(60 + rng.IntN(120))
		sceneFill(img, image.Rect(x, top, x+bw, horizon), c)
		// windows: a grid of darker rectangles
		ww, wh := 6+rng.IntN(10), 8+rng.IntN(12)
		for wy := top + wh; wy+wh < horizon; wy += 2 * wh {
			for wx := x + ww; wx+ww < x+bw; wx += 2 * ww {
				sceneFill(img, image.Rect(wx, wy, wx+ww, wy+wh), sceneShade(c, 0.55))
			}
		}
		x += bw + rng.IntN(w/20)
	}
	// lane markings converging to the horizon
	for _, fx := range []float64{0.2, 0.5, 0.8} {
		for y := horizon; y < h; y++ {
			t := float64(y-horizon) / float64(h-horizon)
			cx := int(float64(w)*0.5 + (fx-0.5)*float64(w)*1.6*t)
			half := 1 + int(5*t)
			if (y/int(10+40*t))%2 == 0 {
				sceneFill(img, image.Rect(cx-half, y, cx+half, y+1), sceneGrey(200))
			}
		}
	}
}

// drawVehicle paints a simple vehicle rear around the plate position: body, rear window, tail
// lights, bumper and tyres, all sized from the plate width.
func drawVehicle(img *image.RGBA, v Vehicle) {
	rng := newRand(v.PlateSeed, 103)
	u := float64(v.PlateWidth)
	body := v.Colour
	if body == (color.RGBA{}) {
		body = [...]color.RGBA{{200, 200, 205, 255}, {30, 30, 35, 255}, {120, 20, 25, 255}, {20, 40, 110, 255},
			{225, 225, 220, 255}, {90, 95, 100, 255}}[rng.IntN(6)]
	}
	cx, cy := float64(v.X), float64(v.Y)
	sin, cos := math.Sincos(v.Tilt * math.Pi / 180)
	// rect in vehicle coordinates (plate centre = origin), drawn rotated
	rect := func(x0, y0, x1, y1 float64, c color.RGBA) {
		sceneFillRotated(img, cx, cy, sin, cos, x0*u, y0*u, x1*u, y1*u, c)
	}
	rect(-2.3, 1.0, -1.5, 1.7, sceneGrey(25)) // tyres
	rect(1.5, 1.0, 2.3, 1.7, sceneGrey(25))
	rect(-2.4, -2.6, 2.4, 1.2, body)                      // body
	rect(-1.9, -2.45, 1.9, -1.25, sceneShade(body, 0.35)) // rear window
	rect(-2.3, -1.0, -1.55, -0.55, color.RGBA{190, 30, 30, 255})
	rect(1.55, -1.0, 2.3, -0.55, color.RGBA{190, 30, 30, 255})
	rect(-2.4, 0.55, 2.4, 1.2, sceneShade(body, 0.6))     // bumper
	rect(-0.65, -0.36, 0.65, 0.36, sceneShade(body, 0.7)) // plate recess
}

// pastePlate maps the plate image onto its quad in the frame (rotation and perspective) with
// bilinear sampling and returns its ground truth.
func pastePlate(img *image.RGBA, p Plate, v Vehicle) ScenePlate {
	pw, ph := float64(p.Image.Rect.Dx()), float64(p.Image.Rect.Dy())
	sin, cos := math.Sincos(v.Tilt * math.Pi / 180)
	// corners relative to the centre, before rotation; the right edge is scaled by Skew
	l, r := ph/2, ph/2*v.Skew
	local := [4][2]float64{{-pw / 2, -l}, {pw / 2, -r}, {pw / 2, r}, {-pw / 2, l}}
	var quad [4][2]float64
	var corners [4]image.Point
	box := image.Rectangle{}
	for i, c := range local {
		x := float64(v.X) + c[0]*cos - c[1]*sin
		y := float64(v.Y) + c[0]*sin + c[1]*cos
		quad[i] = [2]float64{x, y}
		corners[i] = image.Pt(int(math.Round(x)), int(math.Round(y)))
		pt := image.Rect(int(math.Floor(x)), int(math.Floor(y)), int(math.Ceil(x))+1, int(math.Ceil(y))+1)
		if i == 0 {
			box = pt
		} else {
			box = box.Union(pt)
		}
	}
	box = box.Intersect(img.Rect)
	inv := sceneUnitToQuad(quad).inverse()
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			uu, vv := inv.apply(float64(x)+0.5, float64(y)+0.5)
			if uu < 0 || uu > 1 || vv < 0 || vv > 1 {
				continue
			}
			c := sceneBilinear(p.Image, uu*pw-0.5, vv*ph-0.5)
			img.SetRGBA(x, y, c)
		}
	}
	return ScenePlate{Text: p.Text, Layout: p.Layout, Box: box, Corners: corners}
}

// sceneProj is a 3x3 projective transform (row-major, h[8] need not be 1).
type sceneProj [9]float64

func (m sceneProj) apply(x, y float64) (float64, float64) {
	w := m[6]*x + m[7]*y + m[8]
	return (m[0]*x + m[1]*y + m[2]) / w, (m[3]*x + m[4]*y + m[5]) / w
}

// sceneUnitToQuad maps the unit square (0,0),(1,0),(1,1),(0,1) onto q (Heckbert's closed form).
func sceneUnitToQuad(q [4][2]float64) sceneProj {
	x0, y0, x1, y1, x2, y2, x3, y3 := q[0][0], q[0][1], q[1][0], q[1][1], q[2][0], q[2][1], q[3][0], q[3][1]
	sx, sy := x0-x1+x2-x3, y0-y1+y2-y3
	if math.Abs(sx) < 1e-9 && math.Abs(sy) < 1e-9 {
		return sceneProj{x1 - x0, x3 - x0, x0, y1 - y0, y3 - y0, y0, 0, 0, 1}
	}
	dx1, dx2, dy1, dy2 := x1-x2, x3-x2, y1-y2, y3-y2
	den := dx1*dy2 - dx2*dy1
	g := (sx*dy2 - dx2*sy) / den
	h := (dx1*sy - sx*dy1) / den
	return sceneProj{x1 - x0 + g*x1, x3 - x0 + h*x3, x0, y1 - y0 + g*y1, y3 - y0 + h*y3, y0, g, h, 1}
}

func (m sceneProj) inverse() sceneProj {
	a, b, c, d, e, f, g, h, i := m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]
	A, B, C := e*i-f*h, -(d*i - f*g), d*h-e*g
	det := a*A + b*B + c*C
	return sceneProj{A / det, -(b*i - c*h) / det, (b*f - c*e) / det,
		B / det, (a*i - c*g) / det, -(a*f - c*d) / det,
		C / det, -(a*h - b*g) / det, (a*e - b*d) / det}
}

func sceneBilinear(src *image.RGBA, x, y float64) color.RGBA {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	x = math.Max(0, math.Min(float64(w-1), x))
	y = math.Max(0, math.Min(float64(h-1), y))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
	fx, fy := x-float64(x0), y-float64(y0)
	var out [4]float64
	for k, wt := range [4]float64{(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy} {
		px := [4]int{x0, x1, x0, x1}[k]
		py := [4]int{y0, y0, y1, y1}[k]
		o := src.PixOffset(src.Rect.Min.X+px, src.Rect.Min.Y+py)
		for ch := 0; ch < 4; ch++ {
			out[ch] += wt * float64(src.Pix[o+ch])
		}
	}
	return color.RGBA{uint8(out[0] + 0.5), uint8(out[1] + 0.5), uint8(out[2] + 0.5), 255}
}

// sceneFillRotated fills the rectangle (x0,y0)-(x1,y1), given relative to (cx,cy), rotated by the
// angle whose sine and cosine are given.
func sceneFillRotated(img *image.RGBA, cx, cy, sin, cos, x0, y0, x1, y1 float64, c color.RGBA) {
	var bb image.Rectangle
	for i, p := range [4][2]float64{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}} {
		x := cx + p[0]*cos - p[1]*sin
		y := cy + p[0]*sin + p[1]*cos
		pt := image.Rect(int(math.Floor(x)), int(math.Floor(y)), int(math.Ceil(x))+1, int(math.Ceil(y))+1)
		if i == 0 {
			bb = pt
		} else {
			bb = bb.Union(pt)
		}
	}
	bb = bb.Intersect(img.Rect)
	for y := bb.Min.Y; y < bb.Max.Y; y++ {
		for x := bb.Min.X; x < bb.Max.X; x++ {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			u := dx*cos + dy*sin
			v := -dx*sin + dy*cos
			if u >= x0 && u < x1 && v >= y0 && v < y1 {
				img.SetRGBA(x, y, c)
			}
		}
	}
}

func sceneFill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

func sceneGrey(v int) color.RGBA {
	v = max(0, min(255, v))
	return color.RGBA{uint8(v), uint8(v), uint8(v), 255}
}

func sceneShade(c color.RGBA, k float64) color.RGBA {
	f := func(v uint8) uint8 { return uint8(math.Max(0, math.Min(255, float64(v)*k))) }
	return color.RGBA{f(c.R), f(c.G), f(c.B), 255}
}

// addNoise adds grey sensor noise (approximately Gaussian, from the sum of uniforms).
func sceneNoise(img *image.RGBA, rng *rand.Rand, sigma float64) {
	for i := 0; i < len(img.Pix); i += 4 {
		n := (rng.Float64() + rng.Float64() + rng.Float64() - 1.5) * 2 * sigma
		for ch := 0; ch < 3; ch++ {
			img.Pix[i+ch] = uint8(math.Max(0, math.Min(255, float64(img.Pix[i+ch])+n)))
		}
	}
}
