package ocr

import (
	"image"
	"image/color"
	"math"

	"gocv.io/x/gocv"
)

// Rectifier cuts deskewed, fixed-size crops out of a frame: the plate (or its character band)
// rotated upright and scaled, ready for the recognizer. It owns its scratch Mats: one per worker
// goroutine, not safe for concurrent use.
//
// Rectification corrects rotation (the tilt of the character row, up to about 15 degrees in a
// lane); the recognizer is trained on synthetic plates with mild perspective, which covers the
// remaining keystone of a camera mounted off-axis.
type Rectifier struct {
	affine gocv.Mat // 2x3 CV_64F, output -> frame
	out    gocv.Mat
}

// NewRectifier allocates a Rectifier's scratch Mats.
func NewRectifier() *Rectifier {
	return &Rectifier{affine: gocv.NewMatWithSize(2, 3, gocv.MatTypeCV64F), out: gocv.NewMat()}
}

// Close frees the scratch Mats.
func (r *Rectifier) Close() error {
	r.affine.Close()
	r.out.Close()
	return nil
}

// Region is an oriented rectangle in a frame: centre, size along and across its own axes, and
// rotation in degrees (clockwise in image coordinates).
type Region struct {
	CX, CY        float64
	Width, Height float64
	Angle         float64
}

// Bounds is the axis-aligned bounding box of the region.
func (g Region) Bounds() image.Rectangle {
	sin, cos := math.Sincos(g.Angle * math.Pi / 180)
	hw := (math.Abs(g.Width*cos) + math.Abs(g.Height*sin)) / 2
	hh := (math.Abs(g.Width*sin) + math.Abs(g.Height*cos)) / 2
	return image.Rect(int(math.Floor(g.CX-hw)), int(math.Floor(g.CY-hh)), int(math.Ceil(g.CX+hw)), int(math.Ceil(g.CY+hh)))
}

// Crop samples g out of frame into an outW x outH image, upright, and returns it. The Mat
// belongs to the Rectifier and is overwritten by the next call. Parts of g outside the frame
// repeat the frame's edge pixels.
func (r *Rectifier) Crop(frame gocv.Mat, g Region, outW, outH int) gocv.Mat {
	sin, cos := math.Sincos(g.Angle * math.Pi / 180)
	sx, sy := g.Width/float64(outW), g.Height/float64(outH)
	// frame = centre + R(angle) * S * (out - outCentre)
	ox, oy := float64(outW)/2-0.5, float64(outH)/2-0.5
	a, b := cos*sx, -sin*sy
	c, d := sin*sx, cos*sy
	r.affine.SetDoubleAt(0, 0, a)
	r.affine.SetDoubleAt(0, 1, b)
	r.affine.SetDoubleAt(0, 2, g.CX-0.5-a*ox-b*oy)
	r.affine.SetDoubleAt(1, 0, c)
	r.affine.SetDoubleAt(1, 1, d)
	r.affine.SetDoubleAt(1, 2, g.CY-0.5-c*ox-d*oy)
	gocv.WarpAffineWithParams(frame, &r.out, r.affine, image.Pt(outW, outH),
		gocv.InterpolationLinear+gocv.WarpInverseMap, gocv.BorderReplicate, color.RGBA{})
	return r.out
}

// PlateRegion is the whole plate around a candidate's character row, upright.
func (c PlateCandidate) PlateRegion() Region {
	if s := c.Stack; s != nil {
		// Two rows: the plate spans both, with the margins of a one-row plate around them.
		w := math.Max(math.Max(c.TextWidth, s.TextWidth)*1.3, c.CharHeight*3.3)
		d := math.Hypot(s.CenterX-c.CenterX, s.CenterY-c.CenterY)
		return Region{CX: (c.CenterX + s.CenterX) / 2, CY: (c.CenterY + s.CenterY) / 2, Width: w,
			Height: math.Max(w/2, (d+c.CharHeight)*1.3), Angle: c.Angle}
	}
	w := math.Max(c.TextWidth*1.15, c.CharHeight*3.3)
	h := w / 2
	// US and Mexican plates carry a banner above the characters: the plate's centre is a little
	// above the row's.
	sin, cos := math.Sincos(c.Angle * math.Pi / 180)
	up := 0.05 * h
	return Region{CX: c.CenterX + up*sin, CY: c.CenterY - up*cos, Width: w, Height: h, Angle: c.Angle}
}

// BandRegion is the character row with a margin, upright: what the recognizer reads.
func (c PlateCandidate) BandRegion() Region {
	return Region{CX: c.CenterX, CY: c.CenterY, Width: c.TextWidth + 0.8*c.CharHeight, Height: 1.5 * c.CharHeight, Angle: c.Angle}
}
