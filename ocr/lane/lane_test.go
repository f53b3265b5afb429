package lane

import (
	"context"
	"errors"
	"image"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lprd/lprd/capture"
	"github.com/lprd/lprd/capture/capturetest"
	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/fusion"
	"github.com/lprd/lprd/ocr/plateformat"
)

// fakeReader is a hand-written Reader: every frame whose first pixel is not 0 holds
// one plate, read as text with confidence conf.
type fakeReader struct {
	text   string
	conf   float32
	err    error
	mu     sync.Mutex
	frames int
	closed bool
}

func (r *fakeReader) Read(pix []byte, w, h, ch int) ([]ocr.PlateRead, error) {
	r.mu.Lock()
	r.frames++
	r.mu.Unlock()
	if r.err != nil {
		return nil, r.err
	}
	if len(pix) == 0 || pix[0] == 0 {
		return nil, nil
	}
	return []ocr.PlateRead{{Box: image.Rect(10, 10, 50, 30), Text: r.text, Confidence: r.conf,
		Candidates: []plateformat.Candidate{{Text: r.text, Confidence: r.conf}}}}, nil
}

func (r *fakeReader) Close() error { r.closed = true; return nil }

// collect is a Sink that keeps what it is given and signals each result.
type collect struct {
	mu  sync.Mutex
	got []fusion.Result
	ch  chan fusion.Result
}

func newCollect() *collect { return &collect{ch: make(chan fusion.Result, 16)} }

func (c *collect) Submit(r fusion.Result) error {
	c.mu.Lock()
	c.got = append(c.got, r)
	c.mu.Unlock()
	c.ch <- r
	return nil
}

func newPipeline(t *testing.T, r Reader, opt Options) *Pipeline {
	t.Helper()
	opt.Workers = 1
	opt.NewReader = func(ocr.FrameReaderOptions) (Reader, error) { return r, nil }
	p, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// frame is a 4x2 grey frame at media time mono; mark 0 means no plate in it.
func frame(pool *capture.Pool, mono time.Duration, wall time.Time, mark byte) *capture.Frame {
	f := pool.Get(4, 2, capture.FormatGrey)
	f.Pix[0], f.Mono, f.Wall = mark, mono, wall
	return f
}

// TestLiveCameraFirstSeenIsCaptureTime runs a fake V4L2 camera on a fake clock and
// starts the pipeline 3 s after the camera opened (model load, keys, outbox): the
// result's first and last seen are the capture times of its first and last frames,
// not early by the start-up time as with two time origins.
func TestLiveCameraFirstSeenIsCaptureTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &capturetest.Device{
			Formats:  map[capture.FourCC]string{capture.FourCCYUYV: "YUYV"},
			Sizes:    map[capture.FourCC][]capture.FrameSize{capture.FourCCYUYV: {{MinWidth: 64, MaxWidth: 64, MinHeight: 32, MaxHeight: 32}}},
			Interval: 100 * time.Millisecond,
		}
		for i := range 5 {
			y, _ := capturetest.YUYV(64, 32, byte(i+1))
			dev.Frames = append(dev.Frames, y)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cam, err := capture.Open(ctx, capture.Options{Camera: "/dev/video1", Width: 64, Height: 32,
			Logger:     slog.New(slog.DiscardHandler),
			OpenDevice: func(string) (capture.Device, error) { return dev, nil }})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second) // the daemon's start-up after the camera opened
		reader := &fakeReader{text: "ABC1234", conf: 0.9}
		p := newPipeline(t, reader, Options{Origin: cam.Origin()})
		q := capture.NewQueue(4)
		sink := newCollect()
		start := time.Now()
		camDone := make(chan error, 1)
		go func() { camDone <- cam.Run(ctx, q) }()
		runDone := make(chan error, 1)
		go func() { runDone <- p.Run(q, sink) }()

		r := <-sink.ch
		if want := start.Add(100 * time.Millisecond); !r.FirstSeen.Equal(want) {
			t.Errorf("FirstSeen = %v after the start; want %v (the first frame's capture time)", r.FirstSeen.Sub(start), want.Sub(start))
		}
		if want := start.Add(500 * time.Millisecond); !r.LastSeen.Equal(want) {
			t.Errorf("LastSeen = %v after the start; want %v (the fifth frame's capture time)", r.LastSeen.Sub(start), want.Sub(start))
		}
		if r.Plate != "ABC1234" || r.Frames != 5 {
			t.Errorf("result %q from %d frames; want ABC1234 from 5", r.Plate, r.Frames)
		}
		cancel()
		<-camDone
		q.Close()
		if err := <-runDone; err != nil {
			t.Errorf("Run() = %v", err)
		}
		if st := p.Stats(); st.FramesIn != 5 || st.FramesRead != 5 || st.ResultsSent != 1 || st.PlateReads != 5 {
			t.Errorf("Stats() = %+v; want 5 frames in and read, 5 plate reads, 1 result sent", st)
		}
	})
}

// TestPipelineGatesPolicyAndStats covers what only the daemon's end-to-end test used
// to touch: frames outside the trigger window are released unread and counted; a
// vehicle under the send bar is counted and not sent; a window's end closes the
// vehicle; Stats has no side effects.
func TestPipelineGatesPolicyAndStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		origin := time.Now()
		for _, tc := range []struct {
			name      string
			conf      float32
			sent      int
			belowBar  uint64
			inWindow  func(time.Time) bool
			skipped   uint64
			closeWith bool
		}{
			{name: "confident", conf: 0.9, sent: 1},
			{name: "under the send bar", conf: 0.2, sent: 0, belowBar: 1},
			{name: "outside the window", conf: 0.9, sent: 0, skipped: 6,
				inWindow: func(time.Time) bool { return false }},
			{name: "window closed", conf: 0.9, sent: 1, closeWith: true},
		} {
			closed := make(chan time.Time, 1)
			p := newPipeline(t, &fakeReader{text: "XYZ987", conf: tc.conf}, Options{
				Origin: origin, InWindow: tc.inWindow, WindowClosed: closed, Replay: true,
				Fusion: fusion.Options{LeaveAfter: time.Hour, MaxDelay: time.Hour}})
			q := capture.NewQueue(8)
			pool := capture.NewPool(8)
			for i := range 6 {
				q.Push(frame(pool, time.Duration(i)*100*time.Millisecond, origin, 1))
			}
			sink := newCollect()
			done := make(chan error, 1)
			go func() { done <- p.Run(q, sink) }()
			synctest.Wait()
			if tc.closeWith {
				closed <- origin.Add(time.Second)
				<-sink.ch
			}
			q.Close()
			<-done
			st, again := p.Stats(), p.Stats()
			if st != again {
				t.Errorf("%s: Stats() changed between two calls: %+v then %+v", tc.name, st, again)
			}
			if len(sink.got) != tc.sent || st.ResultsBelowBar != tc.belowBar || st.FramesSkipped != tc.skipped || st.FramesIn != 6 {
				t.Errorf("%s: %d results, Stats() = %+v; want %d results, %d below the bar, %d skipped of 6",
					tc.name, len(sink.got), st, tc.sent, tc.belowBar, tc.skipped)
			}
			if tc.closeWith && len(sink.got) == 1 && sink.got[0].Reason != fusion.Window {
				t.Errorf("%s: result reason %v; want window", tc.name, sink.got[0].Reason)
			}
		}
	})
}

func TestPipelineRejectedFramesAndSinkErrors(t *testing.T) {
	r := &fakeReader{err: ocr.ErrFrameSize}
	p := newPipeline(t, r, Options{})
	q := capture.NewQueue(4)
	pool := capture.NewPool(4)
	for range 3 {
		q.Push(frame(pool, 0, time.Now(), 1))
	}
	q.Close()
	if err := p.Run(q, SinkFunc(func(fusion.Result) error { return errors.New("full") })); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.FramesRejected != 3 || st.FramesRead != 3 {
		t.Errorf("Stats() = %+v; want 3 frames read and rejected", st)
	}
	if err := p.Run(q, nil); !errors.Is(err, ErrRunTwice) {
		t.Errorf("second Run() = %v; want ErrRunTwice", err)
	}

	r2 := &fakeReader{text: "QRS456", conf: 0.9}
	p2 := newPipeline(t, r2, Options{})
	q2 := capture.NewQueue(4)
	for i := range 3 {
		q2.Push(frame(pool, time.Duration(i)*time.Millisecond, time.Now(), 1))
	}
	q2.Close()
	p2.Run(q2, SinkFunc(func(fusion.Result) error { return errors.New("outbox full") }))
	if st := p2.Stats(); st.SinkErrors != 1 || st.ResultsSent != 0 {
		t.Errorf("Stats() = %+v; want the refused result counted as a sink error", st)
	}
	p2.Close()
	if !r2.closed {
		t.Error("Close() did not close the worker's reader")
	}
}

func TestDefaultPolicy(t *testing.T) {
	p := newPipeline(t, &fakeReader{}, Options{})
	if p.opt.Policy != DefaultPolicy || p.opt.Reader.MinConfidence != 0.05 || p.opt.Fusion.MinConfidence != 0.3 ||
		p.opt.Fusion.SingleReadConfidence != 0.5 {
		t.Errorf("zero Policy became %+v (reader floor %v, fusion %v/%v); want the documented defaults",
			p.opt.Policy, p.opt.Reader.MinConfidence, p.opt.Fusion.MinConfidence, p.opt.Fusion.SingleReadConfidence)
	}
}

func TestRateWindow(t *testing.T) {
	var w rateWindow
	t0 := time.Now()
	for i := range 11 {
		w.observe(t0.Add(time.Duration(i) * 100 * time.Millisecond))
	}
	if got := w.perSecond(t0.Add(time.Second)); got < 9.9 || got > 10.1 {
		t.Errorf("perSecond after 11 frames at 10 fps = %.2f; want 10", got)
	}
	if a, b := w.perSecond(t0.Add(time.Second)), w.perSecond(t0.Add(time.Second)); a != b {
		t.Errorf("perSecond changed between two reads: %v then %v", a, b)
	}
	if got := w.perSecond(t0.Add(time.Minute)); got != 0 {
		t.Errorf("perSecond a minute after the last frame = %v; want 0", got)
	}
}
