package capture_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	. "github.com/lprd/lprd/capture"
	"github.com/lprd/lprd/capture/capturetest"
	"gocv.io/x/gocv"
)

var quiet = slog.New(slog.DiscardHandler)

// yuyvCamera is a fake 64x32 YUYV camera delivering n distinct frames.
func yuyvCamera(n int) (*capturetest.Device, [][]byte) {
	d := &capturetest.Device{
		Formats: map[FourCC]string{FourCCYUYV: "YUYV"},
		Sizes:   map[FourCC][]FrameSize{FourCCYUYV: {discrete(64, 32)}},
	}
	var greys [][]byte
	for i := range n {
		y, g := capturetest.YUYV(64, 32, byte(i))
		d.Frames = append(d.Frames, y)
		greys = append(greys, g)
	}
	return d, greys
}

// runCamera starts cam.Run in a goroutine and returns a function that cancels it and
// returns Run's result.
func runCamera(t *testing.T, cam *Camera, q *Queue) (stop func() error, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	ch := make(chan error, 1)
	go func() { ch <- cam.Run(ctx, q) }()
	var once sync.Once
	var err error
	return func() error {
		once.Do(func() { cancel(); err = <-ch })
		return err
	}, ch
}

func popN(t *testing.T, q *Queue, n int) []*Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var fs []*Frame
	for range n {
		f, err := q.Pop(ctx)
		if err != nil {
			t.Fatalf("Pop() after %d frames: %v", len(fs), err)
		}
		fs = append(fs, f)
	}
	return fs
}

func TestCameraDeliversCopiedFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev, greys := yuyvCamera(3)
		cam, err := Open(t.Context(), Options{Camera: "/dev/video0", Width: 64, Height: 32, Logger: quiet,
			OpenDevice: func(string) (Device, error) { return dev, nil }})
		if err != nil {
			t.Fatal(err)
		}
		q := NewQueue(8)
		stop, _ := runCamera(t, cam, q)
		fs := popN(t, q, 3)
		for i, f := range fs {
			if f.Seq != uint64(i+1) || f.Width != 64 || f.Height != 32 || f.Format != FormatGrey {
				t.Errorf("frame %d = seq %d %dx%d %v; want seq %d 64x32 grey", i, f.Seq, f.Width, f.Height, f.Format, i+1)
			}
			if !bytes.Equal(f.Pix, greys[i]) {
				t.Errorf("frame %d: pixels differ from the camera's Y plane (driver buffer not copied?)", i)
			}
			if i > 0 && (f.Mono < fs[i-1].Mono || f.Wall.Before(fs[i-1].Wall)) {
				t.Errorf("frame %d: timestamps go backwards", i)
			}
		}
		st := cam.State()
		if st.Status != StatusStreaming || st.Frames != 3 || st.Negotiated.Format != "YUYV" || st.Negotiated.Width != 64 {
			t.Errorf("State() = %+v; want streaming, 3 frames, YUYV 64x32", st)
		}
		if err := stop(); err != nil {
			t.Errorf("Run() after cancel = %v; want nil", err)
		}
		for _, f := range fs {
			f.Release()
		}
		dev.Lock()
		defer dev.Unlock()
		if !dev.Closed || dev.Outstanding != 0 || dev.MaxOutstanding != 1 {
			t.Errorf("device closed=%v outstanding=%d max=%d; want closed, every buffer given back at once", dev.Closed, dev.Outstanding, dev.MaxOutstanding)
		}
		if cam.State().Status != StatusStopped {
			t.Errorf("State().Status after cancel = %v; want stopped", cam.State().Status)
		}
	})
}

func TestCameraShutdownIsPrompt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev, _ := yuyvCamera(0) // streams nothing: every wait times out
		cam, err := Open(t.Context(), Options{Camera: "/dev/video0", Width: 64, Height: 32, Logger: quiet,
			OpenDevice: func(string) (Device, error) { return dev, nil }})
		if err != nil {
			t.Fatal(err)
		}
		stop, _ := runCamera(t, cam, NewQueue(1))
		time.Sleep(2500 * time.Millisecond)
		start := time.Now()
		if err := stop(); err != nil {
			t.Errorf("Run() = %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Run took %v to stop; want at most one wait timeout (1s)", d)
		}
	})
}

func TestCameraCorruptMJPEGSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := matCount()
		defer checkMats(t, start)
		good := encodeJPEG(t, 64, 32, 1, false)
		dev := &capturetest.Device{
			Formats: map[FourCC]string{FourCCMJPEG: "MJPEG"},
			Sizes:   map[FourCC][]FrameSize{FourCCMJPEG: {discrete(64, 32)}},
			Frames:  [][]byte{good, good[:len(good)/2], make([]byte, 1000), good},
		}
		cam, err := Open(t.Context(), Options{Camera: "/dev/video1", Width: 64, Height: 32, Logger: quiet,
			OpenDevice: func(string) (Device, error) { return dev, nil }})
		if err != nil {
			t.Fatal(err)
		}
		q := NewQueue(4)
		stop, _ := runCamera(t, cam, q)
		fs := popN(t, q, 2)
		synctest.Wait()
		if st := cam.State(); st.Corrupt != 2 || st.Frames != 2 || st.Status != StatusStreaming {
			t.Errorf("State() = %+v; want 2 frames, 2 corrupt, still streaming", st)
		}
		if fs[1].Seq != 2 {
			t.Errorf("second good frame has Seq %d; want 2 (corrupt frames take no number)", fs[1].Seq)
		}
		for _, f := range fs {
			f.Release()
		}
		stop()
	})
}

// TestCameraReconnectBackoff: a camera absent at start appears after five attempts,
// streams for 16 s, is unplugged, flaps once and comes back. The waits double from
// BackoffMin up to BackoffMax, start again after the healthy session, and keep
// doubling after the short one.
func TestCameraReconnectBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu      sync.Mutex
			times   []time.Duration
			devices []*capturetest.Device
		)
		t0 := time.Now()
		open := func(path string) (Device, error) {
			mu.Lock()
			defer mu.Unlock()
			times = append(times, time.Since(t0))
			var d *capturetest.Device
			switch n := len(times); {
			case n <= 5:
				return nil, fmt.Errorf("open %s: %w", path, capturetest.ErrNoDevice)
			case n == 6:
				d, _ = yuyvCamera(3)
				d.Interval = 4 * time.Second
				d.FailAfter = 3 // unplugged after three frames, 16 s in
			case n == 7:
				d, _ = yuyvCamera(1)
				d.FailAfter = 1 // fails right after opening
			default:
				d, _ = yuyvCamera(2)
			}
			devices = append(devices, d)
			return d, nil
		}
		cam, err := Open(t.Context(), Options{Camera: "/dev/video0", Width: 64, Height: 32, Logger: quiet, OpenDevice: open,
			BackoffMin: 500 * time.Millisecond, BackoffMax: 1500 * time.Millisecond, StallTimeout: time.Minute})
		if err != nil {
			t.Fatalf("Open with the camera absent = %v; want a camera that retries", err)
		}
		if st := cam.State(); !strings.Contains(st.LastError, "no such device") {
			t.Errorf("State().LastError = %q; want the open error", st.LastError)
		}
		q := NewQueue(16)
		stop, _ := runCamera(t, cam, q)
		time.Sleep(2 * time.Second)
		st := cam.State()
		if st.Status != StatusReconnecting || st.RetryIn != 1500*time.Millisecond || !strings.Contains(st.LastError, "/dev/video0") {
			t.Errorf("State() while absent = %+v; want reconnecting, retry in 1.5s, error naming the device", st)
		}
		fs := popN(t, q, 6) // three from the long session, one from the short, two after
		synctest.Wait()
		mu.Lock()
		want := []time.Duration{0, 500, 1500, 3000, 4500, 6000, 22500, 23500}
		for i := range want {
			want[i] *= time.Millisecond
		}
		if fmt.Sprint(times) != fmt.Sprint(want) {
			t.Errorf("open attempts at %v; want %v", times, want)
		}
		mu.Unlock()
		for i, f := range fs {
			if f.Seq != uint64(i+1) {
				t.Errorf("frame %d has Seq %d; want numbering to continue across reconnects", i, f.Seq)
			}
			f.Release()
		}
		st = cam.State()
		if st.Status != StatusStreaming || st.Reconnects != 7 || !strings.Contains(st.LastError, "dequeue") {
			t.Errorf("State() after recovery = %+v; want streaming, 7 reconnects, last error from dequeue", st)
		}
		stop()
		mu.Lock()
		defer mu.Unlock()
		for i, d := range devices {
			d.Lock()
			if !d.Closed {
				t.Errorf("device %d not closed", i)
			}
			d.Unlock()
		}
	})
}

func TestCameraStallReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var opens int
		cam, err := Open(t.Context(), Options{Camera: "/dev/video0", Width: 64, Height: 32, Logger: quiet,
			StallTimeout: 3 * time.Second,
			OpenDevice: func(string) (Device, error) {
				opens++
				d, _ := yuyvCamera(1)
				return d, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		stop, _ := runCamera(t, cam, NewQueue(4))
		time.Sleep(5 * time.Second)
		st := cam.State()
		if opens != 2 || st.Reconnects != 1 || !strings.Contains(st.LastError, "stalled") {
			t.Errorf("after a stall: %d opens, State() = %+v; want a reopen after 3s without frames", opens, st)
		}
		stop()
	})
}

func TestOpenPermanentErrors(t *testing.T) {
	dev, _ := yuyvCamera(1)
	for name, opt := range map[string]Options{
		"format not offered": {Camera: "/dev/video0", Format: "grey", OpenDevice: func(string) (Device, error) { return dev, nil }},
		"missing file":       {Camera: filepath.Join(t.TempDir(), "nope.avi")},
		"empty folder":       {Camera: t.TempDir()},
		"bad options":        {Camera: "/dev/video0", ReplayRate: "sometimes"},
		"not a video":        {Camera: writeFile(t, "clip.avi", []byte("not a video at all"))},
	} {
		opt.Logger = quiet
		cam, err := Open(t.Context(), opt)
		if err == nil {
			cam.Close()
			t.Errorf("Open(%s) succeeded; want an error", name)
			continue
		}
		if name == "missing file" && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%s) = %v; want it to say the file does not exist", name, err)
		}
	}
}

func TestRunFailsOnPermanentError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		cam, err := Open(t.Context(), Options{Camera: "/dev/video0", Format: "yuyv", Logger: quiet,
			OpenDevice: func(string) (Device, error) {
				n++
				if n == 1 {
					return nil, capturetest.ErrNoDevice
				}
				// Another camera model was plugged in: it has no YUYV.
				return &capturetest.Device{Formats: map[FourCC]string{FourCCMJPEG: "MJPEG"}}, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		err = cam.Run(t.Context(), NewQueue(1))
		if err == nil || !strings.Contains(err.Error(), "YUYV not offered") {
			t.Errorf("Run() = %v; want the permanent negotiation error", err)
		}
		if st := cam.State(); st.Status != StatusFailed {
			t.Errorf("State().Status = %v; want failed", st.Status)
		}
	})
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// imageFolder writes n synthetic PNG images (tests only) plus a corrupt JPEG and a
// text file that replay must skip.
func imageFolder(t *testing.T, n int) string {
	dir := t.TempDir()
	for i := range n {
		g := &image.Gray{Pix: capturetest.GreyPattern(40, 20, byte(i)), Stride: 40, Rect: image.Rect(0, 0, 40, 20)}
		var buf bytes.Buffer
		if err := png.Encode(&buf, g); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("img%02d.png", i)), buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "img01b.jpg"), []byte{0xFF, 0xD8, 0xFF}, 0o600)
	os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not an image"), 0o600)
	return dir
}

func TestFolderReplayFastEnds(t *testing.T) {
	start := matCount()
	defer checkMats(t, start)
	dir := imageFolder(t, 5)
	cam, err := Open(t.Context(), Options{Camera: dir, ReplayRate: "fast", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	q := NewQueue(1) // smaller than the folder: fast replay must wait, not drop
	done := make(chan error, 1)
	go func() { done <- cam.Run(t.Context(), q) }()
	var fs []*Frame
	for len(fs) < 5 {
		f, err := q.Pop(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	if err := <-done; !errors.Is(err, ErrEnded) {
		t.Errorf("Run() at the end of the folder = %v; want ErrEnded", err)
	}
	want := []time.Duration{0, time.Second, 3 * time.Second, 4 * time.Second, 5 * time.Second}
	for i, f := range fs {
		if !bytes.Equal(f.Pix, capturetest.GreyPattern(40, 20, byte(i))) {
			t.Errorf("image %d differs", i)
		}
		if f.Mono != want[i] {
			t.Errorf("image %d: Mono = %v; want %v (one image per second, in name order)", i, f.Mono, want[i])
		}
		f.Release()
	}
	st := cam.State()
	if st.Status != StatusEnded || st.Frames != 5 || st.Corrupt != 1 || st.Dropped != 0 {
		t.Errorf("State() = %+v; want ended, 5 frames, 1 corrupt, 0 dropped", st)
	}
}

func TestFolderReplayLoopsAtRate(t *testing.T) {
	dir := imageFolder(t, 2)
	synctest.Test(t, func(t *testing.T) {
		cam, err := Open(t.Context(), Options{Camera: dir, ReplayRate: "10", Loop: true, Output: FormatBGR, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		q := NewQueue(16)
		stop, _ := runCamera(t, cam, q)
		fs := popN(t, q, 5)
		for i, f := range fs {
			if f.Format != FormatBGR || len(f.Pix) != 40*20*3 {
				t.Errorf("frame %d: %v with %d bytes; want BGR 40x20", i, f.Format, len(f.Pix))
			}
			if i > 0 {
				if want := fs[i-1].Mono + 100*time.Millisecond; f.Mono != want && i != 2 && i != 4 {
					t.Errorf("frame %d: Mono %v; want %v (10 fps)", i, f.Mono, want)
				}
				if f.Mono <= fs[i-1].Mono {
					t.Errorf("frame %d: Mono %v after %v; want it to grow across loops", i, f.Mono, fs[i-1].Mono)
				}
				if d := f.Wall.Sub(fs[i-1].Wall); i != 2 && i != 4 && d != 100*time.Millisecond {
					t.Errorf("frame %d came %v after the previous; want 100ms at 10 fps", i, d)
				}
			}
		}
		for _, f := range fs {
			f.Release()
		}
		stop()
		if st := cam.State(); st.Dropped != 0 || st.Corrupt < 2 {
			t.Errorf("State() = %+v; want no drops and the corrupt file counted on each loop", st)
		}
	})
}

// writeClip writes a synthetic MJPEG AVI of n frames (tests only) and returns its path.
func writeClip(t testing.TB, w, h, n int, fps float64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clip.avi")
	vw, err := gocv.VideoWriterFile(path, "MJPG", fps, w, h, true)
	if err != nil {
		t.Fatal(err)
	}
	defer vw.Close()
	for i := range n {
		m, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8UC1, capturetest.GreyPattern(w, h, byte(i*30)))
		if err != nil {
			t.Fatal(err)
		}
		bgr := gocv.NewMat()
		gocv.CvtColor(m, &bgr, gocv.ColorGrayToBGR)
		err = vw.Write(bgr)
		m.Close()
		bgr.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestVideoFileReplay(t *testing.T) {
	start := matCount()
	defer checkMats(t, start)
	path := writeClip(t, 64, 48, 8, 25)

	cam, err := Open(t.Context(), Options{Camera: path, ReplayRate: "fast", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	q := NewQueue(2)
	done := make(chan error, 1)
	go func() { done <- cam.Run(t.Context(), q) }()
	var fs []*Frame
	for {
		select {
		case f := <-q.C():
			fs = append(fs, f)
			continue
		case err = <-done:
		}
		break
	}
	for len(q.C()) > 0 {
		fs = append(fs, <-q.C())
	}
	if !errors.Is(err, ErrEnded) || len(fs) != 8 {
		t.Fatalf("Run() = %v with %d frames; want ErrEnded after 8", err, len(fs))
	}
	for i, f := range fs {
		if f.Width != 64 || f.Height != 48 || f.Format != FormatGrey {
			t.Errorf("frame %d = %dx%d %v; want 64x48 grey", i, f.Width, f.Height, f.Format)
		}
		if d := meanAbsDiff(f.Pix, capturetest.GreyPattern(64, 48, byte(i*30))); d > 8 {
			t.Errorf("frame %d differs from what was recorded by %.1f on average", i, d)
		}
		if want := time.Duration(i) * 40 * time.Millisecond; f.Mono != want {
			t.Errorf("frame %d: Mono = %v; want %v (25 fps)", i, f.Mono, want)
		}
		f.Release()
	}
	if n := cam.State().Negotiated; n.FPS != 25 || n.Width != 64 || n.Height != 48 {
		t.Errorf("Negotiated = %+v; want 64x48 at 25 fps", n)
	}
}

// TestStreamReconnects serves a short clip over HTTP as a stand-in for an IP camera:
// when the stream ends, the camera reconnects and frames keep coming. The URL's
// credentials never show in the state.
func TestStreamReconnects(t *testing.T) {
	start := matCount()
	defer checkMats(t, start)
	clip, err := os.ReadFile(writeClip(t, 64, 48, 4, 25))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		w.Header().Set("Content-Type", "video/x-msvideo")
		w.Write(clip)
	}))
	defer srv.Close()
	url := strings.Replace(srv.URL, "http://", "http://operator:hunter2@", 1) + "/live.avi"
	cam, err := Open(t.Context(), Options{Camera: url, Logger: quiet, BackoffMin: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	q := NewQueue(16)
	stop, _ := runCamera(t, cam, q)
	fs := popN(t, q, 6)
	st := cam.State()
	stop()
	for _, f := range fs {
		f.Release()
	}
	mu.Lock()
	defer mu.Unlock()
	if requests < 2 || st.Reconnects < 1 || !strings.Contains(st.LastError, "stream lost") {
		t.Errorf("after the stream ended: %d requests, State() = %+v; want a reconnect", requests, st)
	}
	if strings.Contains(fmt.Sprintf("%+v", st), "hunter2") || strings.Contains(st.Camera, "operator") {
		t.Errorf("State() shows the URL's credentials: %+v", st)
	}
}

// BenchmarkReplayClip720p measures a "fast" replay of an MJPEG clip through OpenCV
// (demux, decode, grey conversion, copy into pooled frames).
func BenchmarkReplayClip720p(b *testing.B) {
	path := writeClip(b, 1280, 720, 30, 25)
	b.ReportAllocs()
	frames := 0
	for b.Loop() {
		cam, err := Open(b.Context(), Options{Camera: path, ReplayRate: "fast", Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		q := NewQueue(4)
		done := make(chan error, 1)
		go func() { done <- cam.Run(b.Context(), q); q.Close() }()
		for f := range q.C() {
			frames++
			f.Release()
		}
		if err := <-done; !errors.Is(err, ErrEnded) {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/frame")
}
