package synth

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// CropMode selects what part of the plate a photograph frames.
type CropMode uint8

const (
	// CropRandom picks CropPlate or CropBand at random (mostly CropPlate).
	CropRandom CropMode = iota
	// CropPlate frames the whole plate with loose or slightly tight margins,
	// like the crops a plate locator returns.
	CropPlate
	// CropBand frames the character band with generous random margins that
	// include parts of banners and slogans, like the text-band finder's output.
	CropBand
)

// CameraOptions controls Photograph. The zero value gives the full range of
// degradations used for training.
type CameraOptions struct {
	Crop CropMode
	// MinWidth and MaxWidth bound the width in pixels of the photographed
	// crop; 0 means 70 and 320. Plates seen at 60-100 px and scaled back up
	// are the hard cases at a lane.
	MinWidth, MaxWidth int
	// Clean disables blur, noise, lighting, glare and JPEG (geometry stays).
	Clean bool
	// MaxTilt scales perspective and rotation; 0 means 1, negative means none.
	MaxTilt float64
	// Row, for a stacked plate, frames the band of row 1 (top) or 2 (bottom) alone, as the
	// reader cuts a stacked plate's rows (the label is then Plate.Row's text); 0: the crop
	// of Crop.
	Row int
}

// Photograph returns plate p as a lane camera would see it, cropped around
// the plate or its text band. It is deterministic for p, seed and opt.
func Photograph(p Plate, seed int64, opt CameraOptions) *image.RGBA {
	rng := newRand(seed, 2)
	minW, maxW := opt.MinWidth, opt.MaxWidth
	if minW <= 0 {
		minW = 70
	}
	if maxW <= 0 {
		maxW = 320
	}
	maxW = max(maxW, minW)
	tilt := opt.MaxTilt
	if tilt == 0 {
		tilt = 1
	}
	tilt = math.Max(tilt, 0)
	src := p.Image
	W, H := float64(src.Rect.Dx()), float64(src.Rect.Dy())

	mode := opt.Crop
	if mode == CropRandom {
		mode = CropPlate
		if rng.Float64() < 0.35 {
			mode = CropBand
		}
	}
	// Crop rectangle in plate coordinates.
	var x0, y0, x1, y1 float64
	margin := func(lo, hi float64) float64 { // skewed towards small margins
		t := rng.Float64()
		return lo + (hi-lo)*t*t
	}
	band := p.TextBand()
	if opt.Row > 0 && p.TopChars > 0 {
		_, band = p.Row(opt.Row)
		mode = CropBand
	}
	if mode == CropBand && !band.Empty() {
		bh := float64(band.Dy())
		x0 = float64(band.Min.X) - W*margin(0.0, 0.12)
		x1 = float64(band.Max.X) + W*margin(0.0, 0.12)
		y0 = float64(band.Min.Y) - bh*uniform(rng, 0.08, 0.7)
		y1 = float64(band.Max.Y) + bh*uniform(rng, 0.08, 0.7)
	} else {
		x0 = -W * margin(-0.03, 0.12)
		x1 = W + W*margin(-0.03, 0.12)
		y0 = -H * margin(-0.05, 0.15)
		y1 = H + H*margin(-0.05, 0.15)
	}
	cw, ch := x1-x0, y1-y0
	// Perspective: jitter the corners, then rotate about the centre.
	j := 0.05 * tilt
	quad := [4][2]float64{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}
	if rng.Float64() < 0.8 {
		// keystone (camera above or beside the lane) plus free jitter
		kx, ky := uniform(rng, -j, j), uniform(rng, -j, j)
		quad[0][0] -= kx * cw
		quad[1][0] += kx * cw
		quad[0][1] -= ky * ch
		quad[3][1] += ky * ch
		for i := range quad {
			quad[i][0] += uniform(rng, -j, j) * cw * 0.5
			quad[i][1] += uniform(rng, -j, j) * ch
		}
	}
	ang := uniform(rng, -0.08, 0.08) * tilt
	cx, cy := (x0+x1)/2, (y0+y1)/2
	for i := range quad {
		dx, dy := quad[i][0]-cx, quad[i][1]-cy
		quad[i][0] = cx + dx*math.Cos(ang) - dy*math.Sin(ang)
		quad[i][1] = cy + dx*math.Sin(ang) + dy*math.Cos(ang)
	}
	ow := int(math.Round(math.Exp(uniform(rng, math.Log(float64(minW)), math.Log(float64(maxW)+1)))))
	oh := max(8, int(math.Round(float64(ow)*ch/cw*uniform(rng, 0.9, 1.1))))
	ow = max(ow, 16)

	// Pre-shrink the plate so that bilinear sampling does not alias.
	scale := cw / float64(ow)
	k := max(1, int(scale/1.5))
	small := boxShrink(src, k)
	for i := range quad {
		quad[i][0] /= float64(k)
		quad[i][1] /= float64(k)
	}
	// The car around the plate: two colours (bumper, recess, shadow) split
	// along a random line, so that crop edges show structure, not a flat fill.
	pick := func() rgb {
		if rng.Float64() < 0.5 {
			return hsv(rng.Float64(), uniform(rng, 0, 0.6), uniform(rng, 0, 0.4))
		}
		return hsv(rng.Float64(), uniform(rng, 0, 0.6), uniform(rng, 0.3, 0.9))
	}
	surround, surround2 := pick(), pick()
	sa := uniform(rng, 0, 2*math.Pi)
	snx, sny, soff := math.Cos(sa), math.Sin(sa), uniform(rng, -0.6, 0.6)
	out := &canvas{w: ow, h: oh, pix: make([]float32, 3*ow*oh)}
	hm := squareToQuad(quad)
	for y := range oh {
		v := (float64(y) + 0.5) / float64(oh)
		for x := range ow {
			u := (float64(x) + 0.5) / float64(ow)
			sxp, syp := hm.apply(u, v)
			c, ok := small.sample(sxp-0.5, syp-0.5)
			if !ok {
				c = surround
				if (u-0.5)*snx+(v-0.5)*sny > soff {
					c = surround2
				}
				n := float32(rng.NormFloat64() * 12)
				c[0], c[1], c[2] = c[0]+n, c[1]+n, c[2]+n
			}
			i := 3 * (y*ow + x)
			out.pix[i], out.pix[i+1], out.pix[i+2] = c[0], c[1], c[2]
		}
	}
	if !opt.Clean {
		degrade(out, rng)
	}
	img := out.rgba()
	if !opt.Clean && rng.Float64() < 0.5 {
		img = jpegRoundTrip(img, 15+rng.IntN(76))
	}
	return img
}

// homography maps the unit square onto a quadrilateral.
type homography struct{ a, b, c, d, e, f, g, h float64 }

func (m homography) apply(u, v float64) (float64, float64) {
	w := m.g*u + m.h*v + 1
	return (m.a*u + m.b*v + m.c) / w, (m.d*u + m.e*v + m.f) / w
}

// squareToQuad maps (0,0),(1,0),(1,1),(0,1) to q[0..3] (Heckbert 1989).
func squareToQuad(q [4][2]float64) homography {
	x0, y0, x1, y1, x2, y2, x3, y3 := q[0][0], q[0][1], q[1][0], q[1][1], q[2][0], q[2][1], q[3][0], q[3][1]
	dx1, dx2, dx3 := x1-x2, x3-x2, x0-x1+x2-x3
	dy1, dy2, dy3 := y1-y2, y3-y2, y0-y1+y2-y3
	var m homography
	if math.Abs(dx3) < 1e-9 && math.Abs(dy3) < 1e-9 {
		m = homography{a: x1 - x0, b: x3 - x0, c: x0, d: y1 - y0, e: y3 - y0, f: y0}
		// affine case: (1,1) maps to x1+x3-x0, which equals x2 here
		return m
	}
	den := dx1*dy2 - dx2*dy1
	m.g = (dx3*dy2 - dx2*dy3) / den
	m.h = (dx1*dy3 - dx3*dy1) / den
	m.a, m.b, m.c = x1-x0+m.g*x1, x3-x0+m.h*x3, x0
	m.d, m.e, m.f = y1-y0+m.g*y1, y3-y0+m.h*y3, y0
	return m
}

// fimg is a float RGB image used for sampling.
type fimg struct {
	w, h int
	pix  []float32
}

func boxShrink(src *image.RGBA, k int) *fimg {
	W, H := src.Rect.Dx(), src.Rect.Dy()
	w, h := max(1, W/k), max(1, H/k)
	out := &fimg{w: w, h: h, pix: make([]float32, 3*w*h)}
	inv := 1 / float32(k*k)
	for y := range h {
		for x := range w {
			var s [3]float32
			for dy := range k {
				row := src.Pix[(y*k+dy)*src.Stride:]
				for dx := range k {
					p := row[4*(x*k+dx):]
					s[0] += float32(p[0])
					s[1] += float32(p[1])
					s[2] += float32(p[2])
				}
			}
			i := 3 * (y*w + x)
			out.pix[i], out.pix[i+1], out.pix[i+2] = s[0]*inv, s[1]*inv, s[2]*inv
		}
	}
	return out
}

// sample returns the bilinear colour at (x, y) in pixel-centre coordinates,
// and false outside the image.
func (f *fimg) sample(x, y float64) (rgb, bool) {
	if x < -0.5 || y < -0.5 || x > float64(f.w)-0.5 || y > float64(f.h)-0.5 {
		return rgb{}, false
	}
	x = math.Max(0, math.Min(x, float64(f.w-1)))
	y = math.Max(0, math.Min(y, float64(f.h-1)))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, f.w-1), min(y0+1, f.h-1)
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	var c rgb
	for k := range 3 {
		a := f.pix[3*(y0*f.w+x0)+k]*(1-fx) + f.pix[3*(y0*f.w+x1)+k]*fx
		b := f.pix[3*(y1*f.w+x0)+k]*(1-fx) + f.pix[3*(y1*f.w+x1)+k]*fx
		c[k] = a*(1-fy) + b*fy
	}
	return c, true
}

// degrade applies lighting, colour loss, contrast, blur and noise in place.
func degrade(cv *canvas, rng *rand.Rand) {
	w, h := cv.w, cv.h
	fw, fh := float64(w), float64(h)
	// Uneven light: a linear gain field.
	if rng.Float64() < 0.6 {
		g0 := uniform(rng, 0.55, 1.25)
		gx, gy := uniform(rng, -0.5, 0.5), uniform(rng, -0.5, 0.5)
		for y := range h {
			for x := range w {
				g := float32(math.Max(0.2, g0+gx*(float64(x)/fw-0.5)+gy*(float64(y)/fh-0.5)))
				i := 3 * (y*w + x)
				cv.pix[i] *= g
				cv.pix[i+1] *= g
				cv.pix[i+2] *= g
			}
		}
	}
	// Shadow across part of the plate.
	if rng.Float64() < 0.2 {
		a := uniform(rng, 0, 2*math.Pi)
		nx, ny := math.Cos(a), math.Sin(a)
		off := uniform(rng, -0.3, 0.3)
		dark := float32(uniform(rng, 0.35, 0.8))
		for y := range h {
			for x := range w {
				if (float64(x)/fw-0.5)*nx+(float64(y)/fh-0.5)*ny > off {
					i := 3 * (y*w + x)
					cv.pix[i] *= dark
					cv.pix[i+1] *= dark
					cv.pix[i+2] *= dark
				}
			}
		}
	}
	// Glare: a bright blob.
	if rng.Float64() < 0.15 {
		gx, gy := uniform(rng, 0, fw), uniform(rng, 0, fh)
		r := fw * uniform(rng, 0.1, 0.4)
		amp := float32(uniform(rng, 60, 200))
		for y := range h {
			for x := range w {
				d2 := ((float64(x)-gx)*(float64(x)-gx) + (float64(y)-gy)*(float64(y)-gy)) / (r * r)
				v := amp * float32(math.Exp(-d2))
				i := 3 * (y*w + x)
				cv.pix[i] += v
				cv.pix[i+1] += v
				cv.pix[i+2] += v
			}
		}
	}
	// Infrared-like or washed-out colour, and lower contrast.
	if rng.Float64() < 0.25 {
		wr, wg, wb := float32(rng.Float64()), float32(rng.Float64()), float32(rng.Float64())
		s := wr + wg + wb + 1e-3
		for i := 0; i < len(cv.pix); i += 3 {
			v := (cv.pix[i]*wr + cv.pix[i+1]*wg + cv.pix[i+2]*wb) / s
			cv.pix[i], cv.pix[i+1], cv.pix[i+2] = v, v, v
		}
	}
	if rng.Float64() < 0.3 {
		c := float32(uniform(rng, 0.35, 0.9))
		m := float32(uniform(rng, 60, 200))
		for i := range cv.pix {
			cv.pix[i] = m + (cv.pix[i]-m)*c
		}
	}
	// Focus or motion blur.
	switch r := rng.Float64(); {
	case r < 0.4:
		gaussBlur(cv, uniform(rng, 0.3, 1.2))
	case r < 0.5:
		motionBlur(cv, 2+rng.IntN(4))
	}
	// Sensor noise.
	if rng.Float64() < 0.7 {
		s := uniform(rng, 1, 12)
		for i := 0; i < len(cv.pix); i += 3 {
			n := float32(rng.NormFloat64() * s)
			cv.pix[i] += n
			cv.pix[i+1] += n + float32(rng.NormFloat64()*s*0.3)
			cv.pix[i+2] += n + float32(rng.NormFloat64()*s*0.3)
		}
	}
}

func gaussBlur(cv *canvas, sigma float64) {
	r := int(math.Ceil(sigma * 2.5))
	k := make([]float32, 2*r+1)
	var sum float32
	for i := range k {
		d := float64(i - r)
		k[i] = float32(math.Exp(-d * d / (2 * sigma * sigma)))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	convolve(cv, k, true)
	convolve(cv, k, false)
}

func motionBlur(cv *canvas, n int) {
	k := make([]float32, n)
	for i := range k {
		k[i] = 1 / float32(n)
	}
	convolve(cv, k, true)
}

// convolve applies a 1-D kernel horizontally or vertically with clamped edges.
func convolve(cv *canvas, k []float32, horizontal bool) {
	out := make([]float32, len(cv.pix))
	r := len(k) / 2
	for y := range cv.h {
		for x := range cv.w {
			var s [3]float32
			for i, kv := range k {
				xx, yy := x, y
				if horizontal {
					xx = min(max(x+i-r, 0), cv.w-1)
				} else {
					yy = min(max(y+i-r, 0), cv.h-1)
				}
				j := 3 * (yy*cv.w + xx)
				s[0] += cv.pix[j] * kv
				s[1] += cv.pix[j+1] * kv
				s[2] += cv.pix[j+2] * kv
			}
			j := 3 * (y*cv.w + x)
			out[j], out[j+1], out[j+2] = s[0], s[1], s[2]
		}
	}
	cv.pix = out
}

// jpegRoundTrip encodes and decodes img in memory to add JPEG artefacts.
func jpegRoundTrip(img *image.RGBA, quality int) *image.RGBA {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return img
	}
	dec, err := jpeg.Decode(&buf)
	if err != nil {
		return img
	}
	out := image.NewRGBA(dec.Bounds().Sub(dec.Bounds().Min))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			r, g, b, _ := dec.At(x+dec.Bounds().Min.X, y+dec.Bounds().Min.Y).RGBA()
			i := y*out.Stride + 4*x
			out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = uint8(r>>8), uint8(g>>8), uint8(b>>8), 255
		}
	}
	return out
}
