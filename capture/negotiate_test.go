package capture_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	. "github.com/lprd/lprd/capture"
	"github.com/lprd/lprd/capture/capturetest"
)

func discrete(w, h uint32) FrameSize {
	return FrameSize{MinWidth: w, MaxWidth: w, MinHeight: h, MaxHeight: h}
}

func fps(n uint32) FrameRate {
	return FrameRate{MinNumerator: 1, MaxNumerator: 1, MinDenominator: n, MaxDenominator: n}
}

// uvcCamera is a typical USB camera: MJPEG up to 1080p at 30 fps, YUYV 720p at
// only 10 fps (USB 2 bandwidth) and 640x480 at 30.
func uvcCamera() *capturetest.Device {
	return &capturetest.Device{
		Formats: map[FourCC]string{FourCCMJPEG: "Motion-JPEG", FourCCYUYV: "YUYV 4:2:2"},
		Sizes: map[FourCC][]FrameSize{
			FourCCMJPEG: {discrete(1920, 1080), discrete(1280, 720), discrete(640, 480)},
			FourCCYUYV:  {discrete(1280, 720), discrete(640, 480)},
		},
		Rates: map[FourCC][]FrameRate{
			FourCCMJPEG: {fps(30), fps(15)},
			FourCCYUYV:  {fps(10), fps(5)},
		},
		Ctrls: map[ControlID]Control{
			CIDExposureAuto:     {Name: "Auto Exposure", Min: 0, Max: 3, Step: 1},
			CIDExposureAbsolute: {Name: "Exposure Time, Absolute", Min: 3, Max: 2047, Step: 1},
			CIDGain:             {Name: "Gain", Min: 0, Max: 100, Step: 1},
		},
	}
}

func TestNegotiateFormat(t *testing.T) {
	stepwise := &capturetest.Device{
		Formats: map[FourCC]string{FourCCGrey: "Greyscale 8-bit"},
		Sizes: map[FourCC][]FrameSize{FourCCGrey: {{
			MinWidth: 32, MaxWidth: 2592, StepWidth: 32, MinHeight: 16, MaxHeight: 1944, StepHeight: 16,
		}}},
	}
	for _, tc := range []struct {
		name           string
		dev            *capturetest.Device
		format         string
		w, h           int
		fps            float64
		want           FourCC
		wantW, wantH   uint32
		wantNote       string
		wantPermanent  bool
		wantErrContent string
	}{
		{name: "auto at 30 fps prefers MJPEG over slow YUYV", dev: uvcCamera(), format: "auto", w: 1280, h: 720, fps: 30, want: FourCCMJPEG, wantW: 1280, wantH: 720},
		{name: "auto without a rate prefers YUYV", dev: uvcCamera(), w: 1280, h: 720, want: FourCCYUYV, wantW: 1280, wantH: 720},
		{name: "auto at a rate YUYV can do takes YUYV", dev: uvcCamera(), w: 640, h: 480, fps: 10, want: FourCCYUYV, wantW: 640, wantH: 480},
		{name: "auto 1080p only in MJPEG", dev: uvcCamera(), w: 1920, h: 1080, want: FourCCMJPEG, wantW: 1920, wantH: 1080},
		{name: "explicit yuyv at an unoffered size covers it", dev: uvcCamera(), format: "yuyv", w: 800, h: 600, want: FourCCYUYV, wantW: 1280, wantH: 720, wantNote: "800x600 is not offered"},
		{name: "too large takes the largest", dev: uvcCamera(), format: "mjpeg", w: 4000, h: 3000, want: FourCCMJPEG, wantW: 1920, wantH: 1080},
		{name: "grey not offered", dev: uvcCamera(), format: "grey", w: 1280, h: 720, wantPermanent: true, wantErrContent: "MJPG, YUYV"},
		{name: "stepwise sizes snap to the step", dev: stepwise, w: 1000, h: 700, want: FourCCGrey, wantW: 1024, wantH: 704},
		{name: "no usable format", dev: &capturetest.Device{Formats: map[FourCC]string{0x34325241: "AR24"}}, w: 640, h: 480, wantPermanent: true, wantErrContent: "AR24"},
		{name: "driver substitutes YUYV", dev: func() *capturetest.Device { d := uvcCamera(); d.Substitute = FourCCYUYV; return d }(), format: "mjpeg", w: 1280, h: 720, want: FourCCYUYV, wantW: 1280, wantH: 720, wantNote: "the driver chose YUYV"},
	} {
		n, err := Negotiate(tc.dev, Options{Camera: "/dev/video0", Format: tc.format, Width: tc.w, Height: tc.h, FPS: tc.fps})
		if tc.wantPermanent {
			if err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), tc.wantErrContent) {
				t.Errorf("%s: Negotiate = %v; want a permanent error naming %q", tc.name, err, tc.wantErrContent)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Negotiate = %v", tc.name, err)
			continue
		}
		tc.dev.Lock()
		gotF, gotW, gotH, streaming, bufs := tc.dev.Format, tc.dev.Width, tc.dev.Height, tc.dev.Streaming, tc.dev.Buffers
		tc.dev.Unlock()
		if gotF != tc.want || gotW != tc.wantW || gotH != tc.wantH {
			t.Errorf("%s: asked the driver for %s %dx%d; want %s %dx%d", tc.name, gotF, gotW, gotH, tc.want, tc.wantW, tc.wantH)
		}
		if n.Format != tc.want.String() || n.Width != int(tc.wantW) || n.Height != int(tc.wantH) {
			t.Errorf("%s: reported %s %dx%d; want %s %dx%d", tc.name, n.Format, n.Width, n.Height, tc.want, tc.wantW, tc.wantH)
		}
		if !streaming || bufs != 4 || n.Buffers != 4 {
			t.Errorf("%s: streaming=%v buffers=%d; want streaming with 4 buffers", tc.name, streaming, bufs)
		}
		if tc.wantNote != "" && !strings.Contains(strings.Join(n.Notes, "|"), tc.wantNote) {
			t.Errorf("%s: notes %q; want one containing %q", tc.name, n.Notes, tc.wantNote)
		}
	}
}

func TestNegotiateRateAndControls(t *testing.T) {
	dev := uvcCamera()
	dev.DriverFPS = 15
	n, err := Negotiate(dev, Options{Camera: "/dev/video0", Format: "mjpeg", Width: 1280, Height: 720, FPS: 30,
		Buffers: 6, Exposure: 2 * time.Millisecond, ManualGain: true, Gain: 500})
	if err != nil {
		t.Fatal(err)
	}
	dev.Lock()
	defer dev.Unlock()
	if dev.FPS != 30 || n.FPS != 15 {
		t.Errorf("asked for %g fps, reported %g; want 30 asked and the driver's 15 reported", dev.FPS, n.FPS)
	}
	if dev.Buffers != 6 {
		t.Errorf("buffers = %d; want 6", dev.Buffers)
	}
	if got := dev.Set[CIDExposureAuto]; got != 1 {
		t.Errorf("exposure auto = %d; want 1 (manual)", got)
	}
	if got := dev.Set[CIDExposureAbsolute]; got != 20 || n.Exposure != 2*time.Millisecond {
		t.Errorf("exposure = %d (reported %v); want 20 x 100µs", got, n.Exposure)
	}
	if got := dev.Set[CIDGain]; got != 100 || n.Gain != 100 {
		t.Errorf("gain = %d (reported %d); want clamped to 100", got, n.Gain)
	}
	notes := strings.Join(n.Notes, "|")
	for _, want := range []string{"asked for 30 fps, the driver chose 15", "gain 500 set as 100"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q; want one containing %q", n.Notes, want)
		}
	}
}

func TestNegotiateMissingControls(t *testing.T) {
	dev := uvcCamera()
	dev.Ctrls = nil
	dev.SetFramerateErr = errors.New("inappropriate ioctl")
	n, err := Negotiate(dev, Options{Camera: "/dev/video0", FPS: 25, Exposure: time.Millisecond, ManualGain: true, Gain: 3})
	if err != nil {
		t.Fatalf("Negotiate without controls = %v; want success with notes", err)
	}
	notes := strings.Join(n.Notes, "|")
	for _, want := range []string{"no absolute exposure", "no gain control", "frame rate 25 not set"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q; want one containing %q", n.Notes, want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	err := Options{Camera: "", Format: "h264", Width: 641, FPS: -1, Buffers: 99, Exposure: -1, ManualGain: true, Gain: -2,
		Output: 9, ReplayRate: "slow", BackoffMin: -time.Second}.Validate()
	if err == nil {
		t.Fatal("Validate() = nil; want every bad field reported")
	}
	for _, want := range []string{"camera: empty", "h264", "641", "fps -1", "buffers 99", "exposure", "gain -2", "output format", `replay rate "slow"`, "backoff min"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %q; want it to mention %q", err, want)
		}
	}
	if err := (Options{Camera: "/dev/video0"}).Validate(); err != nil {
		t.Errorf("Validate(defaults) = %v; want nil", err)
	}
}

func TestParseReplayRate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ReplayRate
		ok   bool
	}{
		{"", ReplayRate{}, true}, {"recorded", ReplayRate{}, true}, {"FAST", ReplayRate{Fast: true}, true},
		{"12.5", ReplayRate{FPS: 12.5}, true}, {"30fps", ReplayRate{FPS: 30}, true},
		{"0", ReplayRate{}, false}, {"-3", ReplayRate{}, false}, {"NaN", ReplayRate{}, false}, {"slow", ReplayRate{}, false},
	} {
		got, err := ParseReplayRate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseReplayRate(%q) = %+v, %v; want %+v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"rtsp://admin:s3cret@10.0.0.5:554/stream1": "rtsp://10.0.0.5:554/stream1",
		"http://cam/mjpg?user=a&pwd=b":             "http://cam/mjpg?redacted",
		"/dev/video0":                              "/dev/video0",
		"rtsp://u:p@ss:w@rd@host/x":                "rtsp://host/x",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q; want %q", in, got, want)
		}
	}
}
