package capture

import (
	"errors"
	"fmt"
)

// FrameSource is what the capture loop needs from a streaming V4L2 camera. The
// library github.com/blackjack/webcam exports no interface; *webcam.Webcam satisfies
// this one (checked at compile time on Linux). The byte slice of GetFrame is the
// driver's mmap buffer: it must be copied before ReleaseFrame hands it back.
type FrameSource interface {
	// WaitForFrame waits up to timeoutSeconds for a frame; on timeout it returns an
	// error that is ErrWaitTimeout (the Linux adapter maps *webcam.Timeout to it).
	WaitForFrame(timeoutSeconds uint32) error
	// GetFrame dequeues a filled buffer and its index.
	GetFrame() ([]byte, uint32, error)
	// ReleaseFrame gives the buffer back to the driver.
	ReleaseFrame(index uint32) error
}

// Device is a V4L2 capture device as negotiation and streaming use it: formats, sizes,
// rates and controls, then [FrameSource]. On Linux it wraps *webcam.Webcam; tests use
// capturetest.Device.
type Device interface {
	FrameSource
	SupportedFormats() map[FourCC]string
	SupportedFrameSizes(f FourCC) []FrameSize
	SupportedFrameRates(f FourCC, width, height uint32) []FrameRate
	// SetImageFormat asks for a format and size and returns what the driver set.
	SetImageFormat(f FourCC, width, height uint32) (FourCC, uint32, uint32, error)
	SetBufferCount(n uint32) error
	SetFramerate(fps float32) error
	Framerate() (float32, error)
	Controls() map[ControlID]Control
	SetControl(id ControlID, value int32) error
	StartStreaming() error
	Close() error
}

// ErrWaitTimeout is returned by [FrameSource.WaitForFrame] when no frame came in time.
var ErrWaitTimeout = errors.New("timed out waiting for a frame")

// FourCC is a V4L2 pixel format code.
type FourCC uint32

// The V4L2 pixel formats that capture decodes.
const (
	FourCCMJPEG FourCC = 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24
	FourCCYUYV  FourCC = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
	FourCCGrey  FourCC = 'G' | 'R'<<8 | 'E'<<16 | 'Y'<<24
)

func (c FourCC) String() string {
	b := []byte{byte(c), byte(c >> 8), byte(c >> 16), byte(c >> 24)}
	for _, x := range b {
		if x < 0x20 || x > 0x7E {
			return fmt.Sprintf("0x%08X", uint32(c))
		}
	}
	return string(b)
}

// FrameSize is one entry of VIDIOC_ENUM_FRAMESIZES. A discrete size has Min == Max and
// zero steps; a stepwise one spans Min..Max in steps. It has the layout of
// webcam.FrameSize, so one converts to the other.
type FrameSize struct {
	MinWidth, MaxWidth, StepWidth    uint32
	MinHeight, MaxHeight, StepHeight uint32
}

// FrameRate is one entry of VIDIOC_ENUM_FRAMEINTERVALS: a frame interval of
// Numerator/Denominator seconds, discrete (zero steps) or stepwise. It has the layout
// of webcam.FrameRate.
type FrameRate struct {
	MinNumerator, MaxNumerator, StepNumerator       uint32
	MinDenominator, MaxDenominator, StepDenominator uint32
}

// ControlID is a V4L2 control id.
type ControlID uint32

// The V4L2 controls that matter at a lane.
const (
	CIDGain             ControlID = 0x00980913 // V4L2_CID_GAIN
	CIDExposureAuto     ControlID = 0x009a0901 // V4L2_CID_EXPOSURE_AUTO (menu)
	CIDExposureAbsolute ControlID = 0x009a0902 // V4L2_CID_EXPOSURE_ABSOLUTE, in 100 µs
)

// exposureManual is the V4L2_EXPOSURE_MANUAL entry of the exposure-auto menu.
const exposureManual = 1

// Control describes one control a device offers (layout of webcam.Control).
type Control struct {
	Name           string
	Min, Max, Type int32
	Step           int32
}
