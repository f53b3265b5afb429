package synth

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
)

// sceneEffects applies the frame-wide looks of RenderComposite: shadow over a plate, haze,
// glare, over-exposure, night or IR, fence bars, a timestamp overlay, blur and noise.
func sceneEffects(fr *Grey, rng *rand.Rand, plates []Quad, ir bool, looks Look) {
	w, h := float64(fr.W), float64(fr.H)
	// The vehicle's own shadow under harsh sun: a dark half-plane through a plate.
	if want(rng, looks, LookShadow, 0.3) && len(plates) > 0 {
		b := plates[rng.IntN(len(plates))].Bounds()
		a := uniform(rng, 0, 2*math.Pi)
		nx, ny := math.Cos(a), math.Sin(a)
		ox := float64(b.Min.X+b.Max.X)/2 + uniform(rng, -1, 1)*float64(b.Dx())
		oy := float64(b.Min.Y+b.Max.Y)/2 + uniform(rng, -1, 1)*float64(b.Dy())
		dark := float32(uniform(rng, 0.25, 0.6))
		soft := uniform(rng, 1, 8)
		for y := range fr.H {
			for x := range fr.W {
				d := (float64(x)-ox)*nx + (float64(y)-oy)*ny
				if d > -soft {
					t := float32(math.Min(1, (d+soft)/(2*soft)))
					fr.Pix[y*fr.W+x] *= 1 - t*(1-dark)
				}
			}
		}
	}
	r := rng.Float64()
	switch {
	case looks&LookHaze != 0:
		r = 0.1
	case looks&LookNight != 0:
		r = 0.35
	case looks != 0:
		r = 1
	}
	switch {
	case ir:
		// Night under an IR illuminator: a dark scene; the plates (bright already) stay.
		k := float32(uniform(rng, 0.15, 0.45))
		boxes := make([]image.Rectangle, len(plates))
		for i, q := range plates {
			boxes[i] = q.Bounds()
		}
		for y := range fr.H {
			for x := range fr.W {
				i := y*fr.W + x
				if !inAny(boxes, float64(x)+0.5, float64(y)+0.5) {
					fr.Pix[i] *= k
				}
			}
		}
	case r < 0.2: // haze, often greenish in a camera's white balance: lower contrast overall
		hz := float32(uniform(rng, 0.3, 0.75))
		a := float32(uniform(rng, 100, 220))
		for i, v := range fr.Pix {
			fr.Pix[i] = v*(1-hz) + a*hz
		}
	case r < 0.3: // over-exposure
		g := float32(uniform(rng, 1.3, 2.2))
		for i, v := range fr.Pix {
			fr.Pix[i] = min(255, v*g)
		}
	case r < 0.4: // dim night without IR
		g := float32(uniform(rng, 0.12, 0.4))
		for i, v := range fr.Pix {
			fr.Pix[i] = v * g
		}
	}
	if want(rng, looks, 0, 0.15) { // glare (random looks only)
		gx, gy, rad := uniform(rng, 0, w), uniform(rng, 0, h), w*uniform(rng, 0.05, 0.3)
		amp := uniform(rng, 60, 200)
		for y := range fr.H {
			for x := range fr.W {
				d2 := ((float64(x)-gx)*(float64(x)-gx) + (float64(y)-gy)*(float64(y)-gy)) / (rad * rad)
				if d2 < 9 {
					fr.Pix[y*fr.W+x] = min(255, fr.Pix[y*fr.W+x]+float32(amp*math.Exp(-d2)))
				}
			}
		}
	}
	if want(rng, looks, LookFence, 0.15) {
		fenceBars(fr, rng)
	}
	if want(rng, looks, LookTimestamp, 0.25) {
		timestamp(fr, rng)
	}
	if rng.Float64() < 0.5 {
		boxBlurGrey(fr, 1)
	}
	if s := uniform(rng, 0, 8); s > 1 {
		for i := range fr.Pix {
			fr.Pix[i] += float32(rng.NormFloat64() * s)
		}
	}
}

func inAny(boxes []image.Rectangle, x, y float64) bool {
	for _, b := range boxes {
		if x >= float64(b.Min.X) && x < float64(b.Max.X) && y >= float64(b.Min.Y) && y < float64(b.Max.Y) {
			return true
		}
	}
	return false
}

// fenceBars draws a gate camera's fence: vertical (or vertical and horizontal) bars across
// the whole frame, in front of everything.
func fenceBars(fr *Grey, rng *rand.Rand) {
	period := uniform(rng, 8, 40) * float64(fr.W) / 1280
	bw := period * uniform(rng, 0.08, 0.3)
	val := float32(uniform(rng, 0, 255))
	grid := rng.Float64() < 0.4
	slant := uniform(rng, -0.15, 0.15)
	for y := range fr.H {
		row := grid && math.Mod(float64(y), period*2) < bw
		for x := range fr.W {
			u := math.Mod(float64(x)+slant*float64(y), period)
			if row || u < 0 || u < bw {
				fr.Pix[y*fr.W+x] = val
			}
		}
	}
}

// timestampFormats are the layouts of camera overlays: spaced, dashed, run together (a
// plate-like run of digits) with wide gaps between the fields, camera name first. The
// renderer has no ':' or '/', so '.' and '-' stand for them.
var timestampFormats = [...]string{
	"%04d %02d %02d  %02d %02d %02d  CAM%d",
	"%04d-%02d-%02d     %02d.%02d.%02d     CAM%d",
	"%04d%02d%02d     %02d%02d%02d%02[3]d     %d",
	"%[7]d %02[2]d-%02[3]d-%04[1]d %02[4]d.%02[5]d.%02[6]d",
}

// timestamp writes a camera's date and time overlay, white: in half the frames against the
// frame's top or bottom edge and in a corner, as most cameras burn it in, else anywhere
// along the top or bottom tenth.
func timestamp(fr *Grey, rng *rand.Rand) {
	s := fmt.Sprintf(timestampFormats[rng.IntN(len(timestampFormats))], 2019+rng.IntN(8), 1+rng.IntN(12),
		1+rng.IntN(28), rng.IntN(24), rng.IntN(60), rng.IntN(60), 1+rng.IntN(9))
	capH := uniform(rng, 12, 30) * float64(fr.W) / 1280
	fs := goFontSet()
	fa := fs.plate[rng.IntN(len(fs.plate))]
	cvW := int(capH * float64(len(s)) * 0.9)
	cvH := int(capH * 1.8)
	cv := newCanvas(cvW, cvH, rgb{0, 0, 0})
	drawString(cv, fa, s, float64(cvW)/2, capH*1.4, capH, 1, float64(cvW), rgb{255, 255, 255}, 1)
	x0 := int(uniform(rng, 0, math.Max(1, float64(fr.W-cvW))))
	y0 := int(uniform(rng, 0, 0.1)*float64(fr.H)) + 2
	if rng.Float64() < 0.5 {
		// Against the edge: the glyphs' top (or bottom) a few pixels from it, in a corner.
		y0 = -int(capH*0.4) + rng.IntN(3)
		x0 = rng.IntN(8)
		if rng.Float64() < 0.5 {
			x0 = fr.W - cvW - rng.IntN(8)
		}
	}
	if rng.Float64() < 0.4 {
		y0 = fr.H - cvH - y0
	}
	for y := range cvH {
		for x := range cvW {
			fx, fy := x0+x, y0+y
			if fx < 0 || fy < 0 || fx >= fr.W || fy >= fr.H {
				continue
			}
			if a := cv.pix[3*(y*cvW+x)] / 255; a > 0.05 {
				i := fy*fr.W + fx
				fr.Pix[i] = fr.Pix[i]*(1-a) + 255*a
			}
		}
	}
}

// boxBlurGrey blurs with a (2r+1)^2 box.
func boxBlurGrey(fr *Grey, r int) {
	tmp := make([]float32, len(fr.Pix))
	n := float32(2*r + 1)
	for y := range fr.H {
		for x := range fr.W {
			var s float32
			for d := -r; d <= r; d++ {
				s += fr.Pix[y*fr.W+min(fr.W-1, max(0, x+d))]
			}
			tmp[y*fr.W+x] = s / n
		}
	}
	for y := range fr.H {
		for x := range fr.W {
			var s float32
			for d := -r; d <= r; d++ {
				s += tmp[min(fr.H-1, max(0, y+d))*fr.W+x]
			}
			fr.Pix[y*fr.W+x] = s / n
		}
	}
}
