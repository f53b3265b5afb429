package synth

import (
	"math"
	"math/rand/v2"
)

// What lies around a plate on a real car and draws a rectangle of its own, larger than the
// plate: the car's plate recess and a dealer frame. A detector that has not seen them outlines
// the recess or the frame instead of the plate (on real US photos the learned detector's
// outlines were a median 1.1 and up to 1.7 times the plate's width, where on rendered frames
// they were 0.97; models/DETECTOR.md). Both are painted before the plate, which covers their
// middle; the plate's quad stays the label.

// plateUnit maps plate units (0..1 across the plate's quad q, beyond it outside) to frame
// pixels, and gives the plate's width and height in pixels.
func plateUnit(q Quad) (sceneProj, float64, float64) {
	return sceneUnitToQuad(q), math.Hypot(q[1][0]-q[0][0], q[1][1]-q[0][1]), math.Hypot(q[3][0]-q[0][0], q[3][1]-q[0][1])
}

// around returns the quad that extends the plate of m (plateUnit) by side (each side), top
// and bottom, in plate units.
func around(m sceneProj, side, top, bottom float64) Quad {
	var out Quad
	for i, c := range [4][2]float64{{-side, -top}, {1 + side, -top}, {1 + side, 1 + bottom}, {-side, 1 + bottom}} {
		out[i][0], out[i][1] = m.apply(c[0], c[1])
	}
	return out
}

// meanIn is the mean grey of the frame's pixels inside q's bounds, every other pixel of every
// other row (mid-grey where none are).
func meanIn(fr *Grey, q Quad) float32 {
	m, _, n := greyMoments(fr, q.Bounds(), 2)
	if n == 0 {
		return 128
	}
	return float32(m)
}

// paintRecess paints the car's plate recess around the plate of quad q: a rounded moulding
// well beyond the plate, in the shade of the body around it (darker at the top, where the
// bumper shades it), outlined by a dark groove and a lit lip. It returns the recess's quad.
func paintRecess(fr *Grey, rng *rand.Rand, q Quad) Quad {
	side, top, bottom := uniform(rng, 0.1, 0.45), uniform(rng, 0.15, 0.7), uniform(rng, 0.15, 0.8)
	m, pw, ph := plateUnit(q)
	rq := around(m, side, top, bottom)
	w, h := pw*(1+2*side), ph*(1+top+bottom)
	body := meanIn(fr, rq)
	fill := body * float32(uniform(rng, 0.6, 1.15))
	shade := float32(uniform(rng, 0, 0.35)) // darkening at the top
	radius := uniform(rng, 0.15, 0.45) * math.Min(w, h)
	groove, lip := uniform(rng, 1.5, 4), uniform(rng, 1, 2.5)
	dark, lit := fill*float32(uniform(rng, 0.2, 0.6)), min(255, fill*float32(uniform(rng, 1.1, 1.5))+10)
	warpFill(fr, rq, func(u, v float64) (float32, bool) {
		d := roundRectDist(u*w, v*h, 0, 0, w, h, radius)
		switch {
		case d > 0:
			return 0, false
		case d > -groove:
			return dark, true
		case d > -groove-lip:
			return lit, true
		}
		return fill * (1 - shade*float32(1-v)), true
	})
	return rq
}

// frameTexts are what dealer and souvenir frames print on their bars.
var frameTexts = []string{
	"DEALER SALES", "AUTO SALES", "MOTORS", "TOYOTA OF TOWN", "HONDA", "FORD", "CHEVROLET", "NISSAN",
	"ARIZONA", "TEXAS", "CALIFORNIA", "FLORIDA", "GO COWBOYS", "ALUMNI", "555-0142", "www.autos.com",
}

// paintFrame paints a dealer frame around the plate of quad q: bars over and beyond its edges,
// the bottom one most often the widest, black plastic, chrome or a colour, rounded outside,
// with a lit or dark edge and, on a wide bar, bold text. It returns the frame's quad.
func paintFrame(fr *Grey, rng *rand.Rand, q Quad, fs fontSet) Quad {
	side, top, bottom := uniform(rng, 0.02, 0.12), uniform(rng, 0.04, 0.3), uniform(rng, 0.08, 0.5)
	m, pw, ph := plateUnit(q)
	fq := around(m, side, top, bottom)
	// The frame is drawn on a canvas of the plate image's scale (about 200 px wide) and mapped.
	s := 200 / math.Max(1, pw)
	cw, ch := max(8, int(pw*(1+2*side)*s)), max(8, int(ph*(1+top+bottom)*s))
	var base float64
	switch r := rng.Float64(); {
	case r < 0.45: // black plastic
		base = uniform(rng, 0.03, 0.25)
	case r < 0.8: // chrome
		base = uniform(rng, 0.55, 0.95)
	default:
		base = uniform(rng, 0.2, 0.8)
	}
	cv := newCanvas(cw, ch, hsv(0, 0, base))
	if rng.Float64() < 0.6 { // chrome and gloss: brighter or darker towards one edge
		cv.gradient(hsv(0, 0, base), hsv(0, 0, clamp01(base+uniform(rng, -0.3, 0.3))), uniform(rng, 0, 2*math.Pi))
	}
	ink := hsv(0, 0, 1)
	if base > 0.45 {
		ink = hsv(0, 0, uniform(rng, 0, 0.2))
	}
	fa := fs.plate[rng.IntN(len(fs.plate))]
	bar := func(t0, t1 float64) { // bold text centred on the bar between canvas rows t0 and t1
		txt := frameTexts[rng.IntN(len(frameTexts))]
		hgt := (t1 - t0) * uniform(rng, 0.45, 0.75)
		drawString(cv, fa, txt, float64(cw)/2, (t0+t1)/2+hgt/2, hgt, uniform(rng, 0.9, 1.3), float64(cw)*uniform(rng, 0.6, 0.9), ink, rng.IntN(3))
	}
	plateTop, plateBottom := top*ph*s, (top+1)*ph*s
	if bottom > 0.18 && rng.Float64() < 0.75 {
		bar(plateBottom, float64(ch))
	}
	if top > 0.15 && rng.Float64() < 0.5 {
		bar(0, plateTop)
	}
	fg := GreyFromImage(cv.rgba())
	w, h := float64(cw), float64(ch)
	radius := uniform(rng, 0.03, 0.25) * math.Min(w, h)
	edge := uniform(rng, 0.5, 1.5) * s // half a frame pixel to one and a half, in canvas pixels
	edgeVal := float32(uniform(rng, 0, 80))
	if rng.Float64() < 0.4 {
		edgeVal = float32(uniform(rng, 180, 255))
	}
	warpFill(fr, fq, func(u, v float64) (float32, bool) {
		x, y := u*w, v*h
		d := roundRectDist(x, y, 0, 0, w, h, radius)
		switch {
		case d > 0:
			return 0, false
		case d > -edge:
			return edgeVal, true
		}
		return fg.at(x-0.5, y-0.5), true
	})
	return fq
}
