package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrEnded is returned by [Camera.Run] when a replayed file or folder has no more
// frames (and [Options.Loop] is off). The daemon drains its queue and exits cleanly.
var ErrEnded = errors.New("capture: replay ended")

// errEnd is what a replay source returns at its last frame.
var errEnd = errors.New("end of recording")

// Status is the camera's state for the health topic.
type Status string

// The camera states.
const (
	StatusStarting     Status = "starting"
	StatusStreaming    Status = "streaming"
	StatusReconnecting Status = "reconnecting"
	StatusFailed       Status = "failed"  // a permanent error; Run returned it
	StatusEnded        Status = "ended"   // a replay ended; Run returned ErrEnded
	StatusStopped      Status = "stopped" // Run's context ended
)

// State is a snapshot of a camera for the health topic. It holds no image data.
type State struct {
	Status Status `json:"status"`
	// Camera is the source with URL credentials removed.
	Camera string `json:"camera"`
	// Since is when Status last changed.
	Since time.Time `json:"since"`
	// LastError is the most recent error, kept after a recovery so that the health
	// topic shows why the camera last reconnected.
	LastError string `json:"last_error,omitempty"`
	// RetryIn is the wait before the next reopen, while reconnecting.
	RetryIn    time.Duration `json:"retry_in_ns,omitempty"`
	Negotiated Negotiated    `json:"negotiated"`
	// FPSIn is the rate at which frames arrived over the last second or so.
	FPSIn float64 `json:"fps_in"`
	// Frames counts frames delivered to the queue; Corrupt the frames skipped as
	// unusable; Dropped the frames the queue dropped (oldest first) because the
	// consumer fell behind; Reconnects the reopen attempts after a failure.
	Frames     uint64 `json:"frames"`
	Corrupt    uint64 `json:"corrupt"`
	Dropped    uint64 `json:"dropped"`
	Reconnects uint64 `json:"reconnects"`
}

// source is one opened camera, file or folder. A source is used by one goroutine.
type source interface {
	// read returns the next frame from the pool, with Mono set for replays and,
	// optionally, Wall set to when a live frame was dequeued. It
	// returns an ErrCorruptFrame error for a frame to skip, errEnd at the end of a
	// replay, and any other error when the source is lost.
	read(ctx context.Context) (*Frame, error)
	negotiated() Negotiated
	// replay reports whether the source is a recording (paced, with media time).
	replay() bool
	close() error
}

type kind int

const (
	kindV4L2 kind = iota
	kindStream
	kindFile
	kindFolder
)

// Camera delivers frames from one source into a [Queue]. Create it with [Open],
// run it with [Camera.Run] (once), read its [Camera.State] from any goroutine.
type Camera struct {
	opt   Options
	kind  kind
	name  string // redacted
	rate  ReplayRate
	pool  *Pool
	start time.Time

	first source // opened by Open, used by Run's first round

	running       atomic.Bool
	seq           uint64
	corruptLogged time.Time // Run's goroutine only

	frames, corrupt, reconnects atomic.Uint64
	queue                       atomic.Pointer[Queue]

	mu        sync.Mutex
	status    Status
	since     time.Time
	lastErr   string
	retryIn   time.Duration
	neg       Negotiated
	fps       float64
	winStart  time.Time
	winFrames int
}

// corruptLogEvery is how often a stream of corrupt frames is logged again: the
// first one at once, then one line with the count per period.
const corruptLogEvery = 10 * time.Second

// logCorrupt logs the n-th corrupt frame when it is the first or the period passed.
// It runs on Run's goroutine only.
func (c *Camera) logCorrupt(n uint64, err error) {
	now := time.Now()
	if n > 1 && now.Sub(c.corruptLogged) < corruptLogEvery {
		return
	}
	c.corruptLogged = now
	c.opt.Logger.Warn("corrupt frame skipped", "camera", c.name, "corrupt_frames", n, "err", err)
}

// Origin is the camera's time zero: a frame's time is Origin + Frame.Mono. For a live
// camera that is its capture time (Frame.Wall); for a replay, the position in the
// recording counted from when the camera was opened. Every stage that timestamps a
// frame takes this one origin.
func (c *Camera) Origin() time.Time { return c.start }

// Replay reports whether the camera replays a file or a folder (media time) rather
// than a live device or stream.
func (c *Camera) Replay() bool { return c.kind == kindFile || c.kind == kindFolder }

// Open validates opt, works out what kind of source opt.Camera is and opens it once
// (a stream URL is first connected by Run). A configuration error (bad options, a
// missing file, a format the device does not offer) is returned at once. A camera
// that is merely absent or busy is not an error here: Run keeps trying to reopen it,
// and State says why it is not streaming.
func Open(ctx context.Context, opt Options) (*Camera, error) {
	if err := opt.Validate(); err != nil {
		return nil, fmt.Errorf("capture %s: %w", Redact(opt.Camera), err)
	}
	opt.setDefaults()
	rate, _ := ParseReplayRate(opt.ReplayRate)
	c := &Camera{
		opt:    opt,
		name:   Redact(opt.Camera),
		rate:   rate,
		pool:   NewPool(opt.PoolFrames),
		start:  time.Now(),
		status: StatusStarting,
	}
	c.since = c.start
	switch {
	case isURL(opt.Camera):
		c.kind = kindStream
	case strings.HasPrefix(opt.Camera, "/dev/"):
		c.kind = kindV4L2
	default:
		st, err := os.Stat(opt.Camera)
		if err != nil {
			return nil, fmt.Errorf("capture %s: %w", c.name, err)
		}
		c.kind = kindFile
		if st.IsDir() {
			c.kind = kindFolder
		}
	}
	if c.kind == kindStream {
		// Connecting to a stream can block for FFmpeg's timeout (30 s): leave it to Run.
		return c, nil
	}
	src, err := c.open(ctx)
	if err != nil {
		if isPermanent(err) {
			return nil, err
		}
		c.setErr(err)
		opt.Logger.Warn("camera not available yet; will retry", "camera", c.name, "err", err)
		return c, nil
	}
	c.first = src
	return c, nil
}

func isURL(s string) bool {
	return hasStreamScheme(s)
}

func (c *Camera) open(ctx context.Context) (source, error) {
	var (
		src source
		err error
	)
	switch c.kind {
	case kindV4L2:
		src, err = openV4L2(c.opt, c.pool)
	case kindStream, kindFile:
		src, err = openVideo(c.opt, c.pool, c.kind == kindStream)
	case kindFolder:
		src, err = openFolder(c.opt, c.pool)
	}
	if err != nil {
		wrapped := fmt.Errorf("capture %s: open: %w", c.name, err)
		if isPermanent(err) {
			return nil, permanent(wrapped)
		}
		return nil, wrapped
	}
	if ctx.Err() != nil {
		src.close()
		return nil, ctx.Err()
	}
	return src, nil
}

// healthySession is how long a camera must stream before a failure counts as new
// rather than as flapping: only then does the reopen backoff start again from
// BackoffMin.
const healthySession = 10 * time.Second

// Run opens the source as needed and pushes frames into out until ctx ends (it then
// returns nil), a replay ends (ErrEnded), or a permanent error occurs (returned, and
// State says failed). A lost camera is reopened after a wait that doubles from
// BackoffMin to BackoffMax and starts again from BackoffMin after the camera
// streamed for 10 s (a camera that keeps failing right after opening is not
// hammered). Live frames are pushed
// with drop-oldest; "fast" replays wait for room in out instead. Run does not close
// out; its caller does, after Run returns. Run may be called only once.
func (c *Camera) Run(ctx context.Context, out *Queue) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("capture: Run called twice")
	}
	c.queue.Store(out)
	log := c.opt.Logger.With("camera", c.name)
	backoff := c.opt.BackoffMin
	var monoOffset time.Duration // replays: media time of the loops before this one
	src := c.first
	c.first = nil
	if src == nil && c.lastError() != "" {
		// Open could not open the source: the first retry waits like any other.
		if !c.wait(ctx, &backoff, log) {
			c.setStatus(StatusStopped)
			return nil
		}
	}
	for {
		if src == nil {
			var err error
			src, err = c.open(ctx)
			if err != nil {
				if ctx.Err() != nil {
					c.setStatus(StatusStopped)
					return nil
				}
				if isPermanent(err) {
					c.fail(err, log)
					return err
				}
				c.setErr(err)
				if !c.wait(ctx, &backoff, log) {
					c.setStatus(StatusStopped)
					return nil
				}
				continue
			}
		}
		c.streaming(src.negotiated(), log)
		began := time.Now()
		delivered, last, err := c.stream(ctx, src, out, monoOffset)
		src.close()
		src = nil
		if delivered > 0 && time.Since(began) >= healthySession {
			backoff = c.opt.BackoffMin
		}
		switch {
		case ctx.Err() != nil:
			c.setStatus(StatusStopped)
			return nil
		case errors.Is(err, errEnd):
			if errors.Is(err, errTruncated) {
				log.Warn("replay file ends early", "err", err)
			}
			if !c.opt.Loop || delivered == 0 {
				c.setStatus(StatusEnded)
				log.Info("replay ended", "frames", c.frames.Load())
				return ErrEnded
			}
			monoOffset = last
			continue
		case isPermanent(err):
			c.fail(err, log)
			return err
		}
		c.setErr(err)
		if !c.wait(ctx, &backoff, log) {
			c.setStatus(StatusStopped)
			return nil
		}
	}
}

// wait sleeps for *backoff (reporting reconnecting) and doubles it up to the cap.
// It returns false when ctx ended first.
func (c *Camera) wait(ctx context.Context, backoff *time.Duration, log *slog.Logger) bool {
	d := *backoff
	c.reconnects.Add(1)
	c.mu.Lock()
	c.setStatusLocked(StatusReconnecting)
	c.retryIn = d
	lastErr := c.lastErr
	c.mu.Unlock()
	log.Warn("camera unavailable; reopening", "in", d, "err", lastErr)
	*backoff = min(2*d, c.opt.BackoffMax)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// stream reads frames from src into out until an error. It returns the number of
// frames delivered and, for replays, the media time just after the last frame.
func (c *Camera) stream(ctx context.Context, src source, out *Queue, monoOffset time.Duration) (int, time.Duration, error) {
	delivered := 0
	end := monoOffset
	lastGood := time.Now()
	var pace pacer
	pace.reset(c.rate)
	for {
		f, err := src.read(ctx)
		if ctx.Err() != nil {
			if f != nil {
				f.Release()
			}
			return delivered, end, ctx.Err()
		}
		if err != nil {
			if errors.Is(err, ErrCorruptFrame) {
				c.logCorrupt(c.corrupt.Add(1), err)
				if time.Since(lastGood) > c.opt.StallTimeout {
					return delivered, end, fmt.Errorf("capture %s: no usable frame for %v: %w", c.name, c.opt.StallTimeout, err)
				}
				continue
			}
			if errors.Is(err, errEnd) {
				return delivered, end, err
			}
			return delivered, end, fmt.Errorf("capture %s: %w", c.name, err)
		}
		lastGood = time.Now()
		c.seq++
		f.Seq = c.seq
		if src.replay() {
			mono := f.Mono
			f.Mono += monoOffset
			end = f.Mono + pace.interval(src.negotiated().FPS)
			if err := pace.wait(ctx, mono); err != nil {
				f.Release()
				return delivered, end, err
			}
			f.Wall = time.Now()
		} else {
			if f.Wall.IsZero() {
				f.Wall = lastGood
			}
			f.Mono = f.Wall.Sub(c.start)
		}
		c.countFrame(f.Wall)
		delivered++
		if src.replay() && c.rate.Fast {
			if err := out.PushWait(ctx, f); err != nil {
				return delivered, end, err
			}
			continue
		}
		out.Push(f)
	}
}

// pacer spaces replayed frames in real time.
type pacer struct {
	rate  ReplayRate
	start time.Time
	first time.Duration
	n     int
}

func (p *pacer) reset(r ReplayRate) { *p = pacer{rate: r} }

// interval is the nominal time between frames of a source at fps.
func (p *pacer) interval(fps float64) time.Duration {
	if fps <= 0 {
		return time.Second
	}
	return time.Duration(float64(time.Second) / fps)
}

// wait returns when the frame at media time mono is due.
func (p *pacer) wait(ctx context.Context, mono time.Duration) error {
	if p.rate.Fast {
		return nil
	}
	now := time.Now()
	if p.n == 0 {
		p.start, p.first = now, mono
	}
	due := p.start.Add(mono - p.first)
	if p.rate.FPS > 0 {
		due = p.start.Add(time.Duration(float64(p.n) * float64(time.Second) / p.rate.FPS))
	}
	p.n++
	d := due.Sub(now)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Camera) countFrame(now time.Time) {
	c.frames.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.winStart.IsZero() {
		c.winStart = now
	}
	c.winFrames++
	if el := now.Sub(c.winStart); el >= time.Second {
		c.fps = float64(c.winFrames) / el.Seconds()
		c.winStart, c.winFrames = now, 0
	}
}

// State returns a snapshot for the health topic. It is safe to call at any time.
func (c *Camera) State() State {
	c.mu.Lock()
	s := State{
		Status:     c.status,
		Camera:     c.name,
		Since:      c.since,
		LastError:  c.lastErr,
		Negotiated: c.neg,
		FPSIn:      c.fps,
	}
	if c.status == StatusReconnecting {
		s.RetryIn = c.retryIn
	}
	if c.status != StatusStreaming || time.Since(c.winStart) > 3*time.Second {
		s.FPSIn = 0
	}
	c.mu.Unlock()
	s.Negotiated.Notes = append([]string(nil), s.Negotiated.Notes...)
	s.Frames = c.frames.Load()
	s.Corrupt = c.corrupt.Load()
	s.Reconnects = c.reconnects.Load()
	if q := c.queue.Load(); q != nil {
		s.Dropped = q.Dropped()
	}
	return s
}

func (c *Camera) setStatusLocked(st Status) {
	if c.status != st {
		c.status, c.since = st, time.Now()
	}
}

func (c *Camera) setStatus(st Status) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setStatusLocked(st)
}

func (c *Camera) setErr(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastErr = err.Error()
}

func (c *Camera) lastError() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

func (c *Camera) fail(err error, log *slog.Logger) {
	c.mu.Lock()
	c.setStatusLocked(StatusFailed)
	c.lastErr = err.Error()
	c.mu.Unlock()
	log.Error("camera failed", "err", err)
}

func (c *Camera) streaming(n Negotiated, log *slog.Logger) {
	c.mu.Lock()
	c.setStatusLocked(StatusStreaming)
	c.neg = n
	c.winStart, c.winFrames, c.fps = time.Time{}, 0, 0
	c.mu.Unlock()
	log.Info("camera streaming", "format", n.Format, "width", n.Width, "height", n.Height,
		"fps", n.FPS, "buffers", n.Buffers, "reconnects", c.reconnects.Load())
	for _, note := range n.Notes {
		log.Warn("camera negotiation", "note", note)
	}
}

// Close releases a source that Open opened and Run never used. It is needed only
// when Run is not called.
func (c *Camera) Close() error {
	if c.running.Load() || c.first == nil {
		return nil
	}
	err := c.first.close()
	c.first = nil
	return err
}

// permanentError marks errors that reopening cannot fix (configuration).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
