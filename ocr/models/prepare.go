package models

import (
	"fmt"
	"image"

	"gocv.io/x/gocv"
)

// Prepare converts a plate crop (CV_8UC1 grey, CV_8UC3 BGR or CV_8UC4 BGRA;
// any size of at least 1x1) into the network's input image: grey, resized to
// InputWidth x InputHeight with area interpolation, written to dst (CV_8UC1).
// grey is scratch space for the colour conversion (unused, and may be nil,
// for grey crops). Both Mats are reused when they already have the right size
// and type.
func Prepare(src gocv.Mat, grey, dst *gocv.Mat) error {
	if src.Empty() || src.Rows() < 1 || src.Cols() < 1 {
		return fmt.Errorf("models: prepare: empty crop")
	}
	in := src
	switch src.Type() {
	case gocv.MatTypeCV8UC1:
	case gocv.MatTypeCV8UC3:
		gocv.CvtColor(src, grey, gocv.ColorBGRToGray)
		in = *grey
	case gocv.MatTypeCV8UC4:
		gocv.CvtColor(src, grey, gocv.ColorBGRAToGray)
		in = *grey
	default:
		return fmt.Errorf("models: prepare: unsupported crop type %v (want 8-bit grey, BGR or BGRA)", src.Type())
	}
	gocv.Resize(in, dst, image.Pt(InputWidth, InputHeight), 0, 0, gocv.InterpolationArea)
	return nil
}
