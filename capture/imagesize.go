package capture

import (
	"bytes"
	"fmt"
	"image"
	_ "image/png" // header check of PNG images in a folder replay
	"strconv"

	_ "golang.org/x/image/bmp"  // header check of BMP images in a folder replay
	_ "golang.org/x/image/tiff" // header check of TIFF images in a folder replay
	_ "golang.org/x/image/webp" // header check of WebP images in a folder replay
)

// Limits on the size an image may declare before it is handed to the decoder.
// OpenCV throws a C++ exception (which aborts a Go process) for images over 2^30
// pixels, and allocates whatever a header below that asks for: a crafted 30000x30000
// header on an 85 KB file costs 1.9 GB. No lane camera sends more than 8K UHD.
const (
	// MaxFrameSide is the largest width or height accepted, in pixels.
	MaxFrameSide = 8192
	// MaxFramePixels is the largest width x height accepted (8K UHD).
	MaxFramePixels = 7680 * 4320
)

// checkDeclaredSize refuses a declared image size that is empty, over the global
// limits, or larger than the negotiated bound (bw x bh; 0 means no bound).
func checkDeclaredSize(w, h, bw, bh int) error {
	switch {
	case w <= 0 || h <= 0:
		return fmt.Errorf("%w: image declares a size of %dx%d", ErrCorruptFrame, w, h)
	case w > MaxFrameSide || h > MaxFrameSide || w*h > MaxFramePixels:
		return fmt.Errorf("%w: image declares %dx%d, over the %dx%d (%d pixels) limit", ErrCorruptFrame, w, h, MaxFrameSide, MaxFrameSide, MaxFramePixels)
	case bw > 0 && bh > 0 && (w > bw || h > bh):
		return fmt.Errorf("%w: image declares %dx%d, larger than the negotiated %dx%d", ErrCorruptFrame, w, h, bw, bh)
	}
	return nil
}

// imageSize reads the size an encoded image declares in its header, without
// decoding its pixels: JPEG through [ParseJPEG] (which also checks its structure),
// PNG, BMP, TIFF and WebP through Go's image decoders, and binary or ASCII PNM.
func imageSize(b []byte) (w, h int, err error) {
	switch {
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xD8:
		info, err := ParseJPEG(b)
		return info.Width, info.Height, err
	case len(b) >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6':
		return pnmSize(b)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: image header: %v", ErrCorruptFrame, err)
	}
	return cfg.Width, cfg.Height, nil
}

// pnmSize parses the width and height of a Netpbm header ("P5 640 480 255", with
// comments and any white space between the fields).
func pnmSize(b []byte) (w, h int, err error) {
	i := 2
	var fields [2]int
	for n := range fields {
		for i < len(b) && (isSpace(b[i]) || b[i] == '#') {
			if b[i] == '#' {
				for i < len(b) && b[i] != '\n' {
					i++
				}
				continue
			}
			i++
		}
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' && j-i < 9 {
			j++
		}
		v, err := strconv.Atoi(string(b[i:j]))
		if err != nil || j >= len(b) || !isSpace(b[j]) {
			return 0, 0, fmt.Errorf("%w: PNM header without a valid size", ErrCorruptFrame)
		}
		fields[n], i = v, j
	}
	return fields[0], fields[1], nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
