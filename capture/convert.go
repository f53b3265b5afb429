package capture

import (
	"encoding/binary"
	"fmt"
)

// rawStride works out the bytes per row of a raw (uncompressed) driver frame of
// bpp bytes per pixel. Drivers may pad rows (bytesperline > width*bpp); a frame
// shorter than the image is truncated, which happens on USB errors.
func rawStride(n, width, height, bpp int) (int, error) {
	if width <= 0 || height <= 0 {
		return 0, fmt.Errorf("%w: size %dx%d", ErrCorruptFrame, width, height)
	}
	row := width * bpp
	if n < row*height {
		return 0, fmt.Errorf("%w: %d bytes for %dx%d at %d bytes/pixel (want %d)",
			ErrCorruptFrame, n, width, height, bpp, row*height)
	}
	stride := n / height
	if stride < row {
		stride = row
	}
	// Row padding is small (alignment); a much longer frame means the driver chose
	// another size than the one negotiated (webcam v0.6.1 does not report it), and
	// reading it with a made-up stride would give a sheared image.
	if stride > row+max(256, row/4) {
		return 0, fmt.Errorf("%w: %d bytes do not fit %dx%d at %d bytes/pixel (did the driver choose another size?)",
			ErrCorruptFrame, n, width, height, bpp)
	}
	return stride, nil
}

// GreyFromGrey copies a GREY driver frame of the given size (rows possibly padded)
// into dst, which must hold width*height bytes.
func GreyFromGrey(dst, src []byte, width, height int) error {
	stride, err := rawStride(len(src), width, height, 1)
	if err != nil {
		return err
	}
	if len(dst) < width*height {
		return fmt.Errorf("capture: destination of %d bytes for %dx%d grey", len(dst), width, height)
	}
	if stride == width {
		copy(dst, src[:width*height])
		return nil
	}
	for y := range height {
		copy(dst[y*width:(y+1)*width], src[y*stride:y*stride+width])
	}
	return nil
}

// GreyFromYUYV writes the luminance of a YUYV (YUY2, 4:2:2) driver frame into dst,
// which must hold width*height bytes. YUYV stores Y0 U Y1 V for every two pixels, so
// the grey image is every other byte: no colour conversion is involved. Width must be
// even, as YUYV requires.
func GreyFromYUYV(dst, src []byte, width, height int) error {
	if width%2 != 0 {
		return fmt.Errorf("%w: YUYV width %d is odd", ErrCorruptFrame, width)
	}
	stride, err := rawStride(len(src), width, height, 2)
	if err != nil {
		return err
	}
	if len(dst) < width*height {
		return fmt.Errorf("capture: destination of %d bytes for %dx%d grey", len(dst), width, height)
	}
	if stride == 2*width {
		yuyvRowToGrey(dst[:width*height], src[:2*width*height])
		return nil
	}
	for y := range height {
		yuyvRowToGrey(dst[y*width:(y+1)*width], src[y*stride:y*stride+2*width])
	}
	return nil
}

// yuyvRowToGrey packs the even bytes of src (len 2*len(dst)) into dst, sixteen pixels
// per step with 64-bit loads and shifts (four independent words keep the CPU busy);
// it is the hot path of a YUYV camera.
func yuyvRowToGrey(dst, src []byte) {
	const (
		lo8  = 0x00FF00FF00FF00FF
		lo16 = 0x0000FFFF0000FFFF
		lo32 = 0x00000000FFFFFFFF
	)
	n := len(dst)
	i := 0
	for ; i+16 <= n; i += 16 {
		s := src[2*i : 2*i+32 : 2*i+32]
		x0 := binary.LittleEndian.Uint64(s[0:8]) & lo8
		x1 := binary.LittleEndian.Uint64(s[8:16]) & lo8
		x2 := binary.LittleEndian.Uint64(s[16:24]) & lo8
		x3 := binary.LittleEndian.Uint64(s[24:32]) & lo8
		x0 = (x0 | x0>>8) & lo16
		x1 = (x1 | x1>>8) & lo16
		x2 = (x2 | x2>>8) & lo16
		x3 = (x3 | x3>>8) & lo16
		x0 = (x0 | x0>>16) & lo32
		x1 = (x1 | x1>>16) & lo32
		x2 = (x2 | x2>>16) & lo32
		x3 = (x3 | x3>>16) & lo32
		d := dst[i : i+16 : i+16]
		binary.LittleEndian.PutUint64(d[0:8], x0|x1<<32)
		binary.LittleEndian.PutUint64(d[8:16], x2|x3<<32)
	}
	for ; i < n; i++ {
		dst[i] = src[2*i]
	}
}

// BGRFromYUYV converts a YUYV driver frame into 3-byte BGR pixels in dst, which must
// hold width*height*3 bytes, with the BT.601 limited-range matrix that UVC cameras use.
func BGRFromYUYV(dst, src []byte, width, height int) error {
	if width%2 != 0 {
		return fmt.Errorf("%w: YUYV width %d is odd", ErrCorruptFrame, width)
	}
	stride, err := rawStride(len(src), width, height, 2)
	if err != nil {
		return err
	}
	if len(dst) < width*height*3 {
		return fmt.Errorf("capture: destination of %d bytes for %dx%d BGR", len(dst), width, height)
	}
	for y := range height {
		row := src[y*stride : y*stride+2*width]
		out := dst[y*width*3 : (y+1)*width*3]
		for x := 0; x+4 <= len(row); x += 4 {
			u := int32(row[x+1]) - 128
			v := int32(row[x+3]) - 128
			o := out[x/2*3 : x/2*3+6 : x/2*3+6]
			putBGR(o[0:3], int32(row[x]), u, v)
			putBGR(o[3:6], int32(row[x+2]), u, v)
		}
	}
	return nil
}

// putBGR converts one BT.601 limited-range sample in 16.16 fixed point.
func putBGR(o []byte, y, u, v int32) {
	c := (y - 16) * 76309 // 1.164
	o[2] = clamp8((c + 104597*v + 32768) >> 16)
	o[1] = clamp8((c - 25675*u - 53279*v + 32768) >> 16)
	o[0] = clamp8((c + 132201*u + 32768) >> 16)
}

func clamp8(x int32) byte {
	if x < 0 {
		return 0
	}
	if x > 255 {
		return 255
	}
	return byte(x)
}
