//go:build linux

package capture

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/blackjack/webcam"
)

// The capture loop's interface matches the library's type as it is.
var _ FrameSource = (*webcam.Webcam)(nil)

// webcamDevice adapts *webcam.Webcam to Device: capture's own types in the
// signatures, and the library's *webcam.Timeout mapped to ErrWaitTimeout.
type webcamDevice struct{ *webcam.Webcam }

func openV4L2Device(path string) (Device, error) {
	w, err := webcam.Open(path)
	switch {
	case err == nil:
		return webcamDevice{w}, nil
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("%w (add the lprd user to the video group)", err)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ENXIO):
		return nil, fmt.Errorf("%w (camera unplugged or not detected)", err)
	case errors.Is(err, syscall.EBUSY):
		return nil, fmt.Errorf("%w (another process uses the camera)", err)
	}
	return nil, err
}

func (d webcamDevice) WaitForFrame(timeoutSeconds uint32) error {
	err := d.Webcam.WaitForFrame(timeoutSeconds)
	var t *webcam.Timeout
	if errors.As(err, &t) {
		return ErrWaitTimeout
	}
	return err
}

func (d webcamDevice) SupportedFormats() map[FourCC]string {
	m := make(map[FourCC]string)
	for f, s := range d.GetSupportedFormats() {
		m[FourCC(f)] = s
	}
	return m
}

func (d webcamDevice) SupportedFrameSizes(f FourCC) []FrameSize {
	var out []FrameSize
	for _, s := range d.GetSupportedFrameSizes(webcam.PixelFormat(f)) {
		out = append(out, FrameSize(s))
	}
	return out
}

func (d webcamDevice) SupportedFrameRates(f FourCC, width, height uint32) []FrameRate {
	var out []FrameRate
	for _, r := range d.GetSupportedFramerates(webcam.PixelFormat(f), width, height) {
		out = append(out, FrameRate(r))
	}
	return out
}

// SetImageFormat reports the format code the driver chose. Note that webcam v0.6.1
// returns the requested size rather than the driver's; capture therefore asks only
// for sizes the driver enumerates, and frames carry the size they really have.
func (d webcamDevice) SetImageFormat(f FourCC, width, height uint32) (FourCC, uint32, uint32, error) {
	g, w, h, err := d.Webcam.SetImageFormat(webcam.PixelFormat(f), width, height)
	return FourCC(g), w, h, err
}

func (d webcamDevice) Framerate() (float32, error) { return d.GetFramerate() }

func (d webcamDevice) Controls() map[ControlID]Control {
	m := make(map[ControlID]Control)
	for id, c := range d.GetControls() {
		m[ControlID(id)] = Control(c)
	}
	return m
}

func (d webcamDevice) SetControl(id ControlID, value int32) error {
	return d.Webcam.SetControl(webcam.ControlID(id), value)
}
