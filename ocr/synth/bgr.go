package synth

import "image"

// BGR returns the pixels of img as packed 8-bit BGR rows (3 bytes a pixel,
// no padding), the layout of an OpenCV CV_8UC3 Mat and of a capture frame in
// FormatBGR. Alpha is dropped.
func BGR(img *image.RGBA) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := make([]byte, 3*w*h)
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		o := out[3*w*y : 3*w*(y+1)]
		for x := range w {
			o[3*x], o[3*x+1], o[3*x+2] = row[4*x+2], row[4*x+1], row[4*x]
		}
	}
	return out
}
