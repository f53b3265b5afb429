package capturetest

// YUYV returns a width x height YUYV frame whose luminance is the pattern of
// [GreyPattern] and whose chroma is a fixed tint, and that luminance.
func YUYV(width, height int, seed byte) (yuyv, grey []byte) {
	grey = GreyPattern(width, height, seed)
	yuyv = make([]byte, 2*width*height)
	for i, y := range grey {
		yuyv[2*i] = y
		if i%2 == 0 {
			yuyv[2*i+1] = 90 // U
		} else {
			yuyv[2*i+1] = 160 // V
		}
	}
	return yuyv, grey
}

// GreyPattern returns a deterministic grey test image: gradients plus a seed-dependent
// offset, so frames of a sequence differ.
func GreyPattern(width, height int, seed byte) []byte {
	g := make([]byte, width*height)
	for y := range height {
		for x := range width {
			g[y*width+x] = byte(x+2*y) ^ seed
		}
	}
	return g
}

// Pad returns a copy of a raw frame whose rows of rowBytes are padded to stride bytes,
// as some drivers deliver them.
func Pad(frame []byte, rowBytes, stride int) []byte {
	rows := len(frame) / rowBytes
	out := make([]byte, rows*stride)
	for r := range rows {
		copy(out[r*stride:], frame[r*rowBytes:(r+1)*rowBytes])
	}
	return out
}
