package capture

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Options configures [Open]. The zero value of every field but Camera is a usable
// default, documented on the field.
type Options struct {
	// Camera is a V4L2 device (/dev/video0), an rtsp://, rtsps://, http:// or
	// https:// URL, a video file, or a folder of images. Required.
	Camera string

	// Format is the V4L2 pixel format to ask for: "auto" (default: GREY, then YUYV,
	// then MJPEG, preferring one that offers Width x Height at FPS), "mjpeg",
	// "yuyv" or "grey". Ignored for other sources.
	Format string
	// Width and Height are the V4L2 frame size to ask for; default 1280x720. The
	// nearest size the driver offers is used and reported.
	Width, Height int
	// FPS is the V4L2 frame rate to ask for (0: the driver's default). Ignored
	// for other sources.
	FPS float64
	// Buffers is the number of V4L2 driver buffers; default 4.
	Buffers int
	// Exposure is the V4L2 absolute exposure time (set in 100 µs steps, with
	// auto exposure switched off); 0 leaves the camera's automatic exposure.
	Exposure time.Duration
	// ManualGain sets the V4L2 gain control to Gain (in the driver's units,
	// clamped to the control's range); otherwise the driver's gain is kept.
	ManualGain bool
	Gain       int

	// Output is the pixel format of the frames delivered; default FormatGrey.
	Output PixelFormat

	// ReplayRate paces files and folders: "recorded" (default: the file's own rate),
	// "fast" (as fast as the consumer takes frames: nothing is dropped, the queue's
	// consumer sets the pace), or a number of frames per second. A folder of stills
	// has no rate of its own: its images are one second apart in media time
	// (Frame.Mono), each a scene of its own, unless a number is given, which then
	// also spaces them (a folder of frames exported from a clip).
	ReplayRate string
	// Loop replays a file or folder forever instead of ending with ErrEnded.
	Loop bool

	// WaitTimeout bounds each wait for a V4L2 frame, so that shutdown is prompt. The
	// driver interface counts whole seconds; default (and minimum) 1 s.
	WaitTimeout time.Duration
	// StallTimeout is how long a stream may deliver no usable frame before it is
	// reopened; default 5 s.
	StallTimeout time.Duration
	// BackoffMin and BackoffMax bound the exponential wait between reopen attempts;
	// defaults 500 ms and 30 s.
	BackoffMin, BackoffMax time.Duration
	// PoolFrames is how many released frames the pool keeps for reuse; default 8.
	PoolFrames int

	// Logger receives state changes and negotiation notes (never pixels);
	// default slog.Default().
	Logger *slog.Logger
	// OpenDevice opens a V4L2 device; default: the kernel driver through
	// github.com/blackjack/webcam (Linux only). Tests pass a capturetest.Device.
	OpenDevice func(path string) (Device, error)
}

// Validate reports every invalid field at once; Open calls it.
func (o Options) Validate() error {
	var errs []error
	if strings.TrimSpace(o.Camera) == "" {
		errs = append(errs, errors.New("camera: empty (want /dev/videoN, an rtsp:// or http:// URL, a video file or a folder)"))
	}
	if _, err := parseCameraFormat(o.Format); err != nil {
		errs = append(errs, err)
	}
	if o.Width < 0 || o.Height < 0 || o.Width > 16384 || o.Height > 16384 {
		errs = append(errs, fmt.Errorf("camera size %dx%d: want 1..16384 each (0 for the default)", o.Width, o.Height))
	}
	if o.Width%2 != 0 {
		errs = append(errs, fmt.Errorf("camera width %d: want an even number", o.Width))
	}
	if o.FPS < 0 || o.FPS > 1000 {
		errs = append(errs, fmt.Errorf("camera fps %g: want 0..1000", o.FPS))
	}
	if o.Buffers < 0 || o.Buffers > 32 {
		errs = append(errs, fmt.Errorf("camera buffers %d: want 1..32 (0 for the default)", o.Buffers))
	}
	if o.Exposure < 0 || o.Exposure > 10*time.Second {
		errs = append(errs, fmt.Errorf("camera exposure %v: want 0 (auto) to 10s", o.Exposure))
	}
	if o.ManualGain && o.Gain < 0 {
		errs = append(errs, fmt.Errorf("camera gain %d: want 0 or more", o.Gain))
	}
	if o.Output != 0 && o.Output.Channels() == 0 {
		errs = append(errs, fmt.Errorf("output format %v: want grey or bgr", o.Output))
	}
	if _, err := ParseReplayRate(o.ReplayRate); err != nil {
		errs = append(errs, err)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"wait timeout", o.WaitTimeout}, {"stall timeout", o.StallTimeout}, {"backoff min", o.BackoffMin}, {"backoff max", o.BackoffMax}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %v: want a positive duration (0 for the default)", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}

func (o *Options) setDefaults() {
	if o.Format == "" {
		o.Format = "auto"
	}
	if o.Width == 0 && o.Height == 0 {
		o.Width, o.Height = 1280, 720
	}
	if o.Buffers == 0 {
		o.Buffers = 4
	}
	if o.Output == 0 {
		o.Output = FormatGrey
	}
	if o.ReplayRate == "" {
		o.ReplayRate = "recorded"
	}
	if o.WaitTimeout < time.Second {
		o.WaitTimeout = time.Second
	}
	if o.StallTimeout == 0 {
		o.StallTimeout = 5 * time.Second
	}
	if o.BackoffMin == 0 {
		o.BackoffMin = 500 * time.Millisecond
	}
	if o.BackoffMax == 0 {
		o.BackoffMax = 30 * time.Second
	}
	o.BackoffMax = max(o.BackoffMax, o.BackoffMin)
	if o.PoolFrames == 0 {
		o.PoolFrames = 8
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.OpenDevice == nil {
		o.OpenDevice = openV4L2Device
	}
}

// ReplayRate is a parsed [Options.ReplayRate].
type ReplayRate struct {
	// Fast replays as fast as the consumer takes frames.
	Fast bool
	// FPS, when not zero, replays at this many frames per second.
	FPS float64
}

// ParseReplayRate parses "recorded" (or ""), "fast", or a positive number of frames
// per second.
func ParseReplayRate(s string) (ReplayRate, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "recorded":
		return ReplayRate{}, nil
	case "fast":
		return ReplayRate{Fast: true}, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "fps"), 64)
	if err != nil || !(v > 0 && v <= 1000) {
		return ReplayRate{}, fmt.Errorf("replay rate %q: want recorded, fast, or frames per second (0 < fps <= 1000)", s)
	}
	return ReplayRate{FPS: v}, nil
}

// Redact returns a camera name fit for logs, errors and the health topic: URL
// credentials and query strings (which may carry tokens) are removed.
func Redact(camera string) string {
	u, err := url.Parse(camera)
	if err != nil || u.Scheme == "" || u.Host == "" {
		if i := strings.LastIndex(camera, "@"); i >= 0 && strings.Contains(camera, "://") {
			return camera[:strings.Index(camera, "://")+3] + camera[i+1:]
		}
		return camera
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "redacted"
	}
	u.Fragment = ""
	return u.String()
}
