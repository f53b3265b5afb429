package main

// lprlab record is a maintenance tool: it records a short clip from a real camera into
// a Motion-JPEG AVI file, to build regression cases from a real lane. It is the only
// code path of the product that writes images, and it writes them only when a person
// runs it by hand:
//
//   - it does nothing without -out;
//   - it refuses to run as part of a service: when NOTIFY_SOCKET is set (a systemd
//     Type=notify unit, like lprd's), or when INVOCATION_ID or JOURNAL_STREAM is set
//     (a systemd unit) and standard input is not a terminal;
//   - it refuses to run without a terminal on standard input (cron, scripts, pipes)
//     unless -i-know-this-records-images is given;
//   - it never overwrites a file (the output is created new, mode 0600), records at
//     most five minutes, and takes only live cameras (V4L2 devices and stream URLs).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lprd/lprd/capture"
	"gocv.io/x/gocv"
)

// maxRecording bounds a clip: enough for a few vehicles, too short for surveillance.
const maxRecording = 5 * time.Minute

// recordOverrideFlag lets a person run the tool without a terminal (e.g. over a
// non-interactive ssh command); it never overrides the service checks.
const recordOverrideFlag = "i-know-this-records-images"

func recordMain(args []string) int {
	fs := flag.NewFlagSet("record", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	var (
		camera   = fs.String("camera", "/dev/video0", "live camera: a V4L2 device or an rtsp:// / http(s):// URL")
		out      = fs.String("out", "", "output file, a new .avi (Motion-JPEG); required, never overwritten")
		dur      = fs.Duration("duration", 10*time.Second, "clip length, at most "+maxRecording.String())
		format   = fs.String("format", "auto", "V4L2 pixel format: auto, mjpeg, yuyv or grey")
		width    = fs.Int("width", 1280, "frame width to ask for")
		height   = fs.Int("height", 720, "frame height to ask for")
		fps      = fs.Float64("fps", 0, "frame rate to ask for (0: the camera's default)")
		exposure = fs.Duration("exposure", 0, "manual exposure time (0: automatic)")
		gain     = fs.Int("gain", -1, "manual gain in driver units (-1: the driver's)")
		colour   = fs.Bool("colour", false, "record colour (BGR) instead of grey")
		override = fs.Bool(recordOverrideFlag, false, "allow running without a terminal (never as a service)")
	)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: lprlab record -out FILE.avi [flags]\n\nMaintenance only: records camera images to a file. Never run it as part of the service.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return parseStatus(err)
	}
	if err := recordAllowed(os.Getenv, stdinIsTerminal(), *override); err != nil {
		fmt.Fprintln(os.Stderr, "lprlab record:", err)
		return 2
	}
	if err := checkRecordArgs(*camera, *out, *dur, fs.NArg()); err != nil {
		fmt.Fprintln(os.Stderr, "lprlab record:", err)
		fs.Usage()
		return 2
	}
	ctx, stop := signalContext()
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	opt := capture.Options{
		Camera: *camera, Format: *format, Width: *width, Height: *height, FPS: *fps,
		Exposure: *exposure, ManualGain: *gain >= 0, Gain: max(*gain, 0),
		Output: capture.FormatGrey, Logger: log,
		// A maintenance run should fail rather than wait for a camera at length.
		BackoffMin: time.Second, BackoffMax: 2 * time.Second,
	}
	if *colour {
		opt.Output = capture.FormatBGR
	}
	fmt.Fprintf(os.Stderr, "lprlab record: WARNING: writing %v of camera images to %s. They show vehicles and people:\n"+
		"keep the file only as long as needed, never copy it off the site's systems, delete it when done.\n", *dur, *out)
	n, err := record(ctx, opt, *out, *dur, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lprlab record:", err)
		if n == 0 {
			return 1
		}
	}
	fmt.Fprintf(os.Stderr, "lprlab record: %d frames written to %s\n", n, *out)
	if err != nil {
		return 1
	}
	return 0
}

// recordAllowed decides whether the tool may run here; see the file comment.
func recordAllowed(getenv func(string) string, terminal, override bool) error {
	if getenv("NOTIFY_SOCKET") != "" {
		return errors.New("refusing to record under a systemd service (NOTIFY_SOCKET is set); run it by hand from a shell")
	}
	if !terminal && (getenv("INVOCATION_ID") != "" || getenv("JOURNAL_STREAM") != "") {
		return errors.New("refusing to record under a systemd unit (INVOCATION_ID/JOURNAL_STREAM set, no terminal); run it by hand from a shell")
	}
	if !terminal && !override {
		return fmt.Errorf("refusing to record without a terminal on standard input: this tool writes camera images and is meant for a person at a shell (add -%s to confirm)", recordOverrideFlag)
	}
	return nil
}

func checkRecordArgs(camera, out string, dur time.Duration, extra int) error {
	switch {
	case extra > 0:
		return errors.New("unexpected arguments")
	case out == "":
		return errors.New("-out FILE.avi is required")
	case !strings.EqualFold(filepath.Ext(out), ".avi"):
		return fmt.Errorf("-out %s: want a .avi file (Motion-JPEG)", out)
	case dur <= 0 || dur > maxRecording:
		return fmt.Errorf("-duration %v: want more than 0 and at most %v", dur, maxRecording)
	case !strings.HasPrefix(camera, "/dev/") && !strings.Contains(camera, "://"):
		return fmt.Errorf("-camera %s: want a live camera (/dev/videoN or a stream URL), not a file", capture.Redact(camera))
	}
	return nil
}

// stdinIsTerminal reports whether standard input is a terminal (Linux: a tty or pty).
func stdinIsTerminal() bool {
	target, err := os.Readlink("/proc/self/fd/0")
	if err != nil {
		return false
	}
	return strings.HasPrefix(target, "/dev/pts/") || strings.HasPrefix(target, "/dev/tty") || target == "/dev/console"
}

// record captures for dur from the first frame into a new file at path and returns
// the number of frames written.
func record(ctx context.Context, opt capture.Options, path string, dur time.Duration, log *slog.Logger) (int, error) {
	// Create the file first, exclusively and private: never overwrite anything.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	f.Close()
	keep := false
	defer func() {
		if !keep {
			os.Remove(path)
		}
	}()

	cam, err := capture.Open(ctx, opt)
	if err != nil {
		return 0, err
	}
	q := capture.NewQueue(16)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- cam.Run(runCtx, q) }()
	defer func() {
		cancel()
		<-runErr
		q.Close()
		for fr := range q.C() {
			fr.Release()
		}
	}()

	// Wait for the first frame (at most 30 s) to learn the size.
	firstCtx, firstCancel := context.WithTimeout(ctx, 30*time.Second)
	first, err := q.Pop(firstCtx)
	firstCancel()
	if err != nil {
		st := cam.State()
		return 0, fmt.Errorf("no frame from %s (%s: %s): %w", st.Camera, st.Status, st.LastError, err)
	}
	neg := cam.State().Negotiated
	rate := neg.FPS
	if rate <= 0 {
		rate = 25
	}
	w, err := gocv.VideoWriterFile(path, "MJPG", rate, first.Width, first.Height, first.Format == capture.FormatBGR)
	if err != nil {
		first.Release()
		return 0, fmt.Errorf("create %s: %w", path, err)
	}
	defer w.Close()
	log.Info("recording", "format", neg.Format, "width", first.Width, "height", first.Height, "fps", rate, "duration", dur)

	end := time.Now().Add(dur)
	n := 0
	fr := first
	for {
		if err := writeFrame(w, fr); err != nil {
			return n, fmt.Errorf("write %s: %w", path, err)
		}
		n++
		keep = true
		if time.Now().After(end) {
			break
		}
		popCtx, popCancel := context.WithDeadline(ctx, end)
		fr, err = q.Pop(popCtx)
		popCancel()
		if err != nil {
			if ctx.Err() != nil {
				return n, errors.New("interrupted")
			}
			break
		}
	}
	if st := cam.State(); st.Dropped > 0 || st.Corrupt > 0 {
		log.Warn("frames lost while recording", "dropped", st.Dropped, "corrupt", st.Corrupt)
	}
	return n, nil
}

// writeFrame encodes one frame into the clip and releases it.
func writeFrame(w *gocv.VideoWriter, fr *capture.Frame) error {
	defer fr.Release()
	mt := gocv.MatTypeCV8UC1
	if fr.Format == capture.FormatBGR {
		mt = gocv.MatTypeCV8UC3
	}
	m, err := gocv.NewMatFromBytes(fr.Height, fr.Width, mt, fr.Pix)
	if err != nil {
		return err
	}
	defer m.Close()
	return w.Write(m)
}
