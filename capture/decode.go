package capture

import (
	"fmt"

	"gocv.io/x/gocv"
)

// decodeJPEG checks and decodes one MJPEG frame into a frame from pool. A frame
// that declares more than the negotiated maxW x maxH (0: no bound beyond the global
// limits) is refused before the decoder sees it. The grey path asks libjpeg for
// luminance only, which skips the colour conversion.
func decodeJPEG(pool *Pool, src []byte, maxW, maxH int, out PixelFormat) (*Frame, error) {
	info, err := ParseJPEG(src)
	if err != nil {
		return nil, err
	}
	if err := checkDeclaredSize(info.Width, info.Height, maxW, maxH); err != nil {
		return nil, err
	}
	flag := gocv.IMReadGrayScale
	if out == FormatBGR {
		flag = gocv.IMReadColor
	}
	m, err := gocv.IMDecode(src, flag)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptFrame, err)
	}
	defer m.Close()
	if m.Empty() {
		return nil, fmt.Errorf("%w: JPEG did not decode", ErrCorruptFrame)
	}
	return frameFromMat(pool, m, out)
}

// frameFromMat copies an 8-bit grey or BGR Mat into a new frame of format out.
func frameFromMat(pool *Pool, m gocv.Mat, out PixelFormat) (*Frame, error) {
	ch := m.Channels()
	if m.Type()&7 != gocv.MatTypeCV8U || (ch != 1 && ch != 3) {
		return nil, fmt.Errorf("%w: image of OpenCV type %v", ErrCorruptFrame, m.Type())
	}
	if ch != out.Channels() {
		code := gocv.ColorBGRToGray
		if ch == 1 {
			code = gocv.ColorGrayToBGR
		}
		conv := gocv.NewMat()
		defer conv.Close()
		gocv.CvtColor(m, &conv, code)
		return frameFromMat(pool, conv, out)
	}
	if !m.IsContinuous() {
		c := m.Clone()
		defer c.Close()
		return frameFromMat(pool, c, out)
	}
	data, err := m.DataPtrUint8()
	if err != nil {
		return nil, fmt.Errorf("capture: read decoded pixels: %w", err)
	}
	f := pool.Get(m.Cols(), m.Rows(), out)
	if len(data) != len(f.Pix) {
		f.Release()
		return nil, fmt.Errorf("capture: decoded %d bytes for %dx%d %v", len(data), m.Cols(), m.Rows(), out)
	}
	copy(f.Pix, data)
	return f, nil
}
