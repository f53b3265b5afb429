package synth

import (
	"image"
	"math"
)

// rgb is a colour with components in 0..255.
type rgb [3]float32

// canvas is a float RGB raster; drawing on floats keeps blending and the
// degradations simple and exact.
type canvas struct {
	w, h int
	pix  []float32 // 3 per pixel, row-major
}

func newCanvas(w, h int, c rgb) *canvas {
	cv := &canvas{w: w, h: h, pix: make([]float32, 3*w*h)}
	for i := 0; i < len(cv.pix); i += 3 {
		cv.pix[i], cv.pix[i+1], cv.pix[i+2] = c[0], c[1], c[2]
	}
	return cv
}

// blend mixes colour c into pixel (x, y) with coverage a in 0..1.
func (cv *canvas) blend(x, y int, c rgb, a float32) {
	if x < 0 || y < 0 || x >= cv.w || y >= cv.h || a <= 0 {
		return
	}
	if a > 1 {
		a = 1
	}
	i := 3 * (y*cv.w + x)
	p := cv.pix[i : i+3 : i+3]
	p[0] += (c[0] - p[0]) * a
	p[1] += (c[1] - p[1]) * a
	p[2] += (c[2] - p[2]) * a
}

func (cv *canvas) fillRect(x0, y0, x1, y1 float64, c rgb, a float32) {
	for y := max(0, int(math.Floor(y0))); y < min(cv.h, int(math.Ceil(y1))); y++ {
		cy := coverage1(float64(y), y0, y1)
		for x := max(0, int(math.Floor(x0))); x < min(cv.w, int(math.Ceil(x1))); x++ {
			cv.blend(x, y, c, a*float32(cy*coverage1(float64(x), x0, x1)))
		}
	}
}

// coverage1 is how much of pixel [p, p+1) lies within [a, b).
func coverage1(p, a, b float64) float64 {
	return math.Max(0, math.Min(p+1, b)-math.Max(p, a))
}

// gradient fills the whole canvas with a linear gradient from c0 to c1 along
// direction angle (radians).
func (cv *canvas) gradient(c0, c1 rgb, angle float64) {
	dx, dy := math.Cos(angle), math.Sin(angle)
	span := math.Abs(dx)*float64(cv.w) + math.Abs(dy)*float64(cv.h)
	ox := 0.0
	if dx < 0 {
		ox = -dx * float64(cv.w)
	}
	oy := 0.0
	if dy < 0 {
		oy = -dy * float64(cv.h)
	}
	for y := 0; y < cv.h; y++ {
		for x := 0; x < cv.w; x++ {
			t := float32((float64(x)*dx + float64(y)*dy + ox + oy) / span)
			i := 3 * (y*cv.w + x)
			for k := range 3 {
				cv.pix[i+k] = c0[k] + (c1[k]-c0[k])*t
			}
		}
	}
}

// fillEllipse draws an anti-aliased filled ellipse.
func (cv *canvas) fillEllipse(cx, cy, rx, ry float64, c rgb, a float32) {
	if rx <= 0 || ry <= 0 {
		return
	}
	for y := max(0, int(cy-ry-1)); y < min(cv.h, int(cy+ry+2)); y++ {
		for x := max(0, int(cx-rx-1)); x < min(cv.w, int(cx+rx+2)); x++ {
			dx, dy := (float64(x)+0.5-cx)/rx, (float64(y)+0.5-cy)/ry
			d := (math.Sqrt(dx*dx+dy*dy) - 1) * math.Min(rx, ry)
			cv.blend(x, y, c, a*float32(clamp01(0.5-d)))
		}
	}
}

// strokeRect draws the outline of a rectangle with rounded corners.
func (cv *canvas) strokeRect(x0, y0, x1, y1, width, radius float64, c rgb, a float32) {
	inner := width + radius + 2
	for y := max(0, int(y0-1)); y < min(cv.h, int(y1+2)); y++ {
		innerRow := float64(y) > y0+inner && float64(y) < y1-inner
		for x := max(0, int(x0-1)); x < min(cv.w, int(x1+2)); x++ {
			if innerRow && float64(x) > x0+inner && float64(x) < x1-inner {
				x = int(x1 - inner)
				continue
			}
			d := roundRectDist(float64(x)+0.5, float64(y)+0.5, x0, y0, x1, y1, radius)
			// d < 0 inside; the stroke is the band -width < d < 0.
			cov := clamp01(0.5-d) - clamp01(0.5-d-width)
			cv.blend(x, y, c, a*float32(cov))
		}
	}
}

// roundRectDist is the signed distance to a rounded rectangle (negative inside).
func roundRectDist(px, py, x0, y0, x1, y1, r float64) float64 {
	cx, cy := (x0+x1)/2, (y0+y1)/2
	hx, hy := (x1-x0)/2-r, (y1-y0)/2-r
	qx, qy := math.Abs(px-cx)-hx, math.Abs(py-cy)-hy
	out := math.Hypot(math.Max(qx, 0), math.Max(qy, 0))
	return out + math.Min(math.Max(qx, qy), 0) - r
}

// fillPolygon fills a polygon with 4x vertical supersampling for soft edges.
func (cv *canvas) fillPolygon(pts [][2]float64, c rgb, a float32) {
	if len(pts) < 3 {
		return
	}
	miny, maxy := pts[0][1], pts[0][1]
	for _, p := range pts {
		miny, maxy = math.Min(miny, p[1]), math.Max(maxy, p[1])
	}
	cov := make([]float32, cv.w)
	var xs []float64
	for y := max(0, int(miny)); y < min(cv.h, int(maxy)+1); y++ {
		clear(cov)
		for s := range 4 {
			sy := float64(y) + (float64(s)+0.5)/4
			xs = xs[:0]
			for i := range pts {
				p, q := pts[i], pts[(i+1)%len(pts)]
				if (p[1] <= sy) != (q[1] <= sy) {
					xs = append(xs, p[0]+(sy-p[1])/(q[1]-p[1])*(q[0]-p[0]))
				}
			}
			sortFloats(xs)
			for i := 0; i+1 < len(xs); i += 2 {
				for x := max(0, int(xs[i])); x < min(cv.w, int(math.Ceil(xs[i+1]))); x++ {
					cov[x] += float32(coverage1(float64(x), xs[i], xs[i+1])) / 4
				}
			}
		}
		for x, v := range cov {
			cv.blend(x, y, c, a*v)
		}
	}
}

func sortFloats(v []float64) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

// mask is a float coverage layer the size of a canvas, used to draw text that
// is then thickened or thinned before it is composited.
type mask struct {
	w, h  int
	a     []float32
	dirty image.Rectangle // where a may be non-zero
}

func newMask(w, h int) *mask { return &mask{w: w, h: h, a: make([]float32, w*h)} }

// touch records that r may hold coverage.
func (m *mask) touch(r image.Rectangle) {
	m.dirty = m.dirty.Union(r.Intersect(image.Rect(0, 0, m.w, m.h)))
}

// drawGlyph scales glyph g by (sx, sy) with its pen position at (px, py) and
// adds it to the mask. It returns the box the glyph covers.
func (m *mask) drawGlyph(g glyph, px, py, sx, sy float64) image.Rectangle {
	if g.mask == nil {
		return image.Rectangle{}
	}
	gw, gh := g.mask.Rect.Dx(), g.mask.Rect.Dy()
	x0 := px + float64(g.off.X)*sx
	y0 := py + float64(g.off.Y)*sy
	x1, y1 := x0+float64(gw)*sx, y0+float64(gh)*sy
	// Supersample when shrinking so that thin strokes keep their weight.
	ss := 1
	if sx < 0.7 || sy < 0.7 {
		ss = 2
	}
	if sx < 0.35 || sy < 0.35 {
		ss = 4
	}
	inv := 1 / float32(ss*ss)
	box := image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1)))
	m.touch(box)
	for y := max(0, int(y0)); y < min(m.h, int(math.Ceil(y1))); y++ {
		for x := max(0, int(x0)); x < min(m.w, int(math.Ceil(x1))); x++ {
			var acc float32
			for j := range ss {
				v := (float64(y)+(float64(j)+0.5)/float64(ss)-y0)/sy - 0.5
				for i := range ss {
					u := (float64(x)+(float64(i)+0.5)/float64(ss)-x0)/sx - 0.5
					acc += sampleAlpha(g.mask, u, v)
				}
			}
			k := y*m.w + x
			m.a[k] = min(1, m.a[k]+acc*inv)
		}
	}
	return box
}

func sampleAlpha(a *image.Alpha, u, v float64) float32 {
	x0, y0 := int(math.Floor(u)), int(math.Floor(v))
	fx, fy := float32(u-float64(x0)), float32(v-float64(y0))
	at := func(x, y int) float32 {
		if x < 0 || y < 0 || x >= a.Rect.Dx() || y >= a.Rect.Dy() {
			return 0
		}
		return float32(a.Pix[y*a.Stride+x]) / 255
	}
	top := at(x0, y0)*(1-fx) + at(x0+1, y0)*fx
	bot := at(x0, y0+1)*(1-fx) + at(x0+1, y0+1)*fx
	return top*(1-fy) + bot*fy
}

// morph thickens (n > 0) or thins (n < 0) the mask by |n| 3x3 max/min passes.
func (m *mask) morph(n int) {
	if n == 0 {
		return
	}
	tmp := make([]float32, len(m.a))
	for range absInt(n) {
		r := m.dirty.Inset(-1).Intersect(image.Rect(0, 0, m.w, m.h))
		m.dirty = r
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				v := m.a[y*m.w+x]
				for dy := -1; dy <= 1; dy++ {
					yy := y + dy
					if yy < 0 || yy >= m.h {
						if n < 0 {
							v = 0
						}
						continue
					}
					for dx := -1; dx <= 1; dx++ {
						xx := x + dx
						if xx < 0 || xx >= m.w {
							if n < 0 {
								v = 0
							}
							continue
						}
						w := m.a[yy*m.w+xx]
						if (n > 0 && w > v) || (n < 0 && w < v) {
							v = w
						}
					}
				}
				tmp[y*m.w+x] = v
			}
		}
		m.a, tmp = tmp, m.a
	}
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// paint composites colour c through the mask onto the canvas.
func (cv *canvas) paint(m *mask, c rgb, a float32) {
	r := m.dirty
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if v := m.a[y*m.w+x]; v > 0 {
				cv.blend(x, y, c, v*a)
			}
		}
	}
}

// paintShifted composites colour c through the mask moved by (dx, dy).
func (cv *canvas) paintShifted(m *mask, dx, dy int, c rgb, a float32) {
	r := m.dirty
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if v := m.a[y*m.w+x]; v > 0 {
				cv.blend(x+dx, y+dy, c, v*a)
			}
		}
	}
}

// rgba converts the canvas to an image.
func (cv *canvas) rgba() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, cv.w, cv.h))
	for i, j := 0, 0; i < len(cv.pix); i, j = i+3, j+4 {
		img.Pix[j] = clampByte(cv.pix[i])
		img.Pix[j+1] = clampByte(cv.pix[i+1])
		img.Pix[j+2] = clampByte(cv.pix[i+2])
		img.Pix[j+3] = 255
	}
	return img
}

func clampByte(v float32) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v + 0.5)
}
