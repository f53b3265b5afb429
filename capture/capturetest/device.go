package capturetest

import (
	"errors"
	"sync"
	"time"

	"github.com/lprd/lprd/capture"
)

var _ capture.Device = (*Device)(nil)

// Device is a fake V4L2 device. Set the exported knobs before use; read the recorded
// fields (under Lock) afterwards. It delivers Frames in order through one reused
// driver buffer that it scribbles over on ReleaseFrame, so a caller that keeps the
// slice instead of copying it sees garbage.
type Device struct {
	sync.Mutex

	// Offered formats, frame sizes per format, frame intervals per format (for any
	// size) and controls.
	Formats map[capture.FourCC]string
	Sizes   map[capture.FourCC][]capture.FrameSize
	Rates   map[capture.FourCC][]capture.FrameRate
	Ctrls   map[capture.ControlID]capture.Control

	// Substitute, when set, is the format SetImageFormat chooses whatever is asked,
	// like a driver that cannot do the requested one.
	Substitute capture.FourCC
	// DriverFPS is what Framerate reports (default: what SetFramerate was given, or 30).
	DriverFPS float32
	// SetFramerateErr is returned by SetFramerate.
	SetFramerateErr error

	// Frames are delivered in order; Loop starts over after the last.
	Frames [][]byte
	Loop   bool
	// Interval is how long WaitForFrame takes before each frame (simulated camera rate).
	Interval time.Duration
	// FailAfter > 0 makes GetFrame fail with Err after that many frames (an unplug).
	FailAfter int
	// Err is the failure GetFrame returns (default syscall-like "no such device").
	Err error

	// Recorded calls.
	Format         capture.FourCC
	Width, Height  uint32
	Buffers        uint32
	FPS            float32
	Set            map[capture.ControlID]int32
	Streaming      bool
	Closed         bool
	Delivered      int
	Outstanding    int // buffers dequeued and not yet released
	MaxOutstanding int
	WaitCalls      int

	buf  []byte
	next int
}

// ErrNoDevice is the default Err: what a read returns after the camera is unplugged.
var ErrNoDevice = errors.New("no such device")

// SupportedFormats implements capture.Device.
func (d *Device) SupportedFormats() map[capture.FourCC]string {
	d.Lock()
	defer d.Unlock()
	m := make(map[capture.FourCC]string, len(d.Formats))
	for k, v := range d.Formats {
		m[k] = v
	}
	return m
}

// SupportedFrameSizes implements capture.Device.
func (d *Device) SupportedFrameSizes(f capture.FourCC) []capture.FrameSize {
	d.Lock()
	defer d.Unlock()
	return append([]capture.FrameSize(nil), d.Sizes[f]...)
}

// SupportedFrameRates implements capture.Device.
func (d *Device) SupportedFrameRates(f capture.FourCC, width, height uint32) []capture.FrameRate {
	d.Lock()
	defer d.Unlock()
	return append([]capture.FrameRate(nil), d.Rates[f]...)
}

// SetImageFormat implements capture.Device.
func (d *Device) SetImageFormat(f capture.FourCC, width, height uint32) (capture.FourCC, uint32, uint32, error) {
	d.Lock()
	defer d.Unlock()
	if d.Streaming {
		return 0, 0, 0, errors.New("device busy")
	}
	if d.Substitute != 0 {
		f = d.Substitute
	}
	d.Format, d.Width, d.Height = f, width, height
	return f, width, height, nil
}

// SetBufferCount implements capture.Device.
func (d *Device) SetBufferCount(n uint32) error {
	d.Lock()
	defer d.Unlock()
	d.Buffers = n
	return nil
}

// SetFramerate implements capture.Device.
func (d *Device) SetFramerate(fps float32) error {
	d.Lock()
	defer d.Unlock()
	if d.SetFramerateErr != nil {
		return d.SetFramerateErr
	}
	d.FPS = fps
	return nil
}

// Framerate implements capture.Device.
func (d *Device) Framerate() (float32, error) {
	d.Lock()
	defer d.Unlock()
	switch {
	case d.DriverFPS != 0:
		return d.DriverFPS, nil
	case d.FPS != 0:
		return d.FPS, nil
	}
	return 30, nil
}

// Controls implements capture.Device.
func (d *Device) Controls() map[capture.ControlID]capture.Control {
	d.Lock()
	defer d.Unlock()
	m := make(map[capture.ControlID]capture.Control, len(d.Ctrls))
	for k, v := range d.Ctrls {
		m[k] = v
	}
	return m
}

// SetControl implements capture.Device.
func (d *Device) SetControl(id capture.ControlID, value int32) error {
	d.Lock()
	defer d.Unlock()
	if _, ok := d.Ctrls[id]; !ok {
		return errors.New("invalid argument")
	}
	if d.Set == nil {
		d.Set = make(map[capture.ControlID]int32)
	}
	d.Set[id] = value
	return nil
}

// StartStreaming implements capture.Device.
func (d *Device) StartStreaming() error {
	d.Lock()
	defer d.Unlock()
	if d.Streaming {
		return errors.New("already streaming")
	}
	d.Streaming = true
	return nil
}

// Close implements capture.Device.
func (d *Device) Close() error {
	d.Lock()
	defer d.Unlock()
	d.Closed = true
	d.Streaming = false
	return nil
}

func (d *Device) failing() bool { return d.FailAfter > 0 && d.Delivered >= d.FailAfter }

func (d *Device) more() bool { return d.next < len(d.Frames) || (d.Loop && len(d.Frames) > 0) }

// WaitForFrame implements capture.FrameSource. With no frame to give it sleeps for
// the timeout and returns capture.ErrWaitTimeout.
func (d *Device) WaitForFrame(timeoutSeconds uint32) error {
	d.Lock()
	d.WaitCalls++
	ready := d.Streaming && (d.failing() || d.more())
	interval := d.Interval
	d.Unlock()
	if !ready {
		time.Sleep(time.Duration(timeoutSeconds) * time.Second)
		return capture.ErrWaitTimeout
	}
	if interval > 0 {
		time.Sleep(interval)
	}
	return nil
}

// GetFrame implements capture.FrameSource.
func (d *Device) GetFrame() ([]byte, uint32, error) {
	d.Lock()
	defer d.Unlock()
	if !d.Streaming {
		return nil, 0, errors.New("not streaming")
	}
	if d.failing() {
		if d.Err != nil {
			return nil, 0, d.Err
		}
		return nil, 0, ErrNoDevice
	}
	if !d.more() {
		return nil, 0, errors.New("resource temporarily unavailable")
	}
	if d.next >= len(d.Frames) {
		d.next = 0
	}
	f := d.Frames[d.next]
	d.next++
	d.Delivered++
	d.buf = append(d.buf[:0], f...)
	d.Outstanding++
	d.MaxOutstanding = max(d.MaxOutstanding, d.Outstanding)
	return d.buf, uint32(d.next - 1), nil
}

// ReleaseFrame implements capture.FrameSource: the buffer goes back to the "driver",
// which overwrites it.
func (d *Device) ReleaseFrame(index uint32) error {
	d.Lock()
	defer d.Unlock()
	if d.Outstanding == 0 {
		return errors.New("release of a buffer not dequeued")
	}
	d.Outstanding--
	for i := range d.buf {
		d.buf[i] = 0xA5
	}
	return nil
}
