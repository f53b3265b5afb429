// Package lane owns the plate-reading pipeline of one lane camera:
//
//	capture.Queue (bounded, drop-oldest) -> N workers, each owning its ocr.FrameReader
//	  -> one fusion owner (ocr/fusion, one clock) -> Sink (one method: the uplink)
//
// The daemon, the benchmark and the end-to-end tests all run frames through the same
// Pipeline. It takes one clock: a frame's time is the camera's origin plus its
// monotonic offset (capture.Frame.Mono), which for a live camera is the capture time
// and for a replay is the position in the recording; fusion closes tracks on the
// injected wall clock for live cameras and on the newest frame's time for replays.
//
// One confidence policy applies, documented on [Policy]: a per-frame floor that drops
// what is surely not a plate, a stricter bar for a vehicle seen in one frame only, and
// the bar a fused result must reach to be sent. What falls under a bar is counted in
// [Stats], never silently lost.
//
// [Pipeline.Stats] is a snapshot without side effects: any number of callers (the
// health topic, the systemd status line, a benchmark) may read it.
package lane

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lprd/lprd/capture"
	"github.com/lprd/lprd/internal/quantile"
	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/fusion"
)

// Reader reads the plates of one frame; *ocr.FrameReader is the implementation. A
// Reader is owned by one worker.
type Reader interface {
	Read(pix []byte, w, h, channels int) ([]ocr.PlateRead, error)
	Close() error
}

var _ Reader = (*ocr.FrameReader)(nil)

// Sink takes the results the pipeline decided to send. Submit is called from the
// fusion goroutine only, one result at a time; an error is logged and counted (the
// sink owns durability, see uplink.Submit).
type Sink interface {
	Submit(fusion.Result) error
}

// SinkFunc adapts a function to [Sink].
type SinkFunc func(fusion.Result) error

// Submit calls f.
func (f SinkFunc) Submit(r fusion.Result) error { return f(r) }

// Policy is the pipeline's one confidence policy. The zero value of each field selects
// its default.
type Policy struct {
	// FrameFloor drops a single frame's read whose best candidate is less probable
	// (default 0.05): crops of grilles, signs and fences, not uncertain plates.
	FrameFloor float32
	// SingleRead is what a vehicle read in one frame only needs (default 0.5): a vehicle
	// passing the camera is read in several frames, while one lone uncertain read is
	// most often text that is not a plate.
	SingleRead float32
	// Send is the fused confidence a result needs to be sent (default 0.3, the env
	// file's LPRD_MIN_CONFIDENCE). Results above it carry their confidence and
	// candidates, so the backend can apply a stricter threshold.
	Send float32
}

// DefaultPolicy is the policy of the zero Policy.
var DefaultPolicy = Policy{FrameFloor: 0.05, SingleRead: 0.5, Send: 0.3}

func (p Policy) withDefaults() Policy {
	if p.FrameFloor <= 0 {
		p.FrameFloor = DefaultPolicy.FrameFloor
	}
	if p.SingleRead <= 0 {
		p.SingleRead = DefaultPolicy.SingleRead
	}
	if p.Send <= 0 {
		p.Send = DefaultPolicy.Send
	}
	return p
}

// Options configures a Pipeline. The zero value of each field selects its default.
type Options struct {
	// Workers is the number of OCR workers (default one per CPU core). Run them with
	// ocr.SetOpenCVThreads(1): parallelism comes from the workers.
	Workers int
	// Reader options for each worker's ocr.FrameReader (MinConfidence is set from
	// Policy.FrameFloor).
	Reader ocr.FrameReaderOptions
	// NewReader replaces ocr.NewFrameReader (tests).
	NewReader func(ocr.FrameReaderOptions) (Reader, error)
	// Fusion configures the fusion stage (its confidence bars are set from Policy).
	Fusion fusion.Options
	// Policy is the confidence policy.
	Policy Policy
	// Origin is media time zero: the camera's [capture.Camera.Origin]. A frame's time
	// is Origin + Frame.Mono.
	Origin time.Time
	// Replay runs fusion on media time (the newest frame's time) instead of Now: a
	// replayed file or folder plays at any rate.
	Replay bool
	// Now is the wall clock (default time.Now).
	Now func() time.Time
	// InWindow reports whether a frame captured at wall time t lies in a vehicle
	// window (the presence trigger); frames outside are released unread and counted.
	// Nil reads every frame.
	InWindow func(t time.Time) bool
	// WindowClosed delivers the end of each vehicle window (media time): fusion then
	// closes every open track. Nil without a trigger.
	WindowClosed <-chan time.Time
	// TickEvery is how often fusion checks for vehicles that left (default 100 ms).
	TickEvery time.Duration
	// Logger receives rejected-frame and sink errors (never plate text).
	Logger *slog.Logger
}

// Stats is a snapshot of the pipeline's counters.
type Stats struct {
	// FramesIn counts the frames taken from the queue.
	FramesIn uint64 `json:"frames_in"`
	// FramesRead counts the frames the workers read.
	FramesRead uint64 `json:"frames_read"`
	// FramesSkipped counts frames outside a vehicle window, released unread.
	FramesSkipped uint64 `json:"frames_skipped"`
	// FramesRejected counts frames the reader refused (wrong size or format).
	FramesRejected uint64 `json:"frames_rejected"`
	// PlateReads counts the single-frame reads handed to fusion.
	PlateReads uint64 `json:"plate_reads"`
	// FPS is the rate of frames read over the last few seconds.
	FPS float64 `json:"fps"`
	// ReadP50Ms and ReadP99Ms are the time a worker spends on one frame;
	// LatencyP50Ms, P90 and P99 the time from capture to the end of its read
	// (conversion and queue wait included), over the latest 1024 frames.
	ReadP50Ms    float64 `json:"read_p50_ms"`
	ReadP99Ms    float64 `json:"read_p99_ms"`
	LatencyP50Ms float64 `json:"latency_p50_ms"`
	LatencyP90Ms float64 `json:"latency_p90_ms"`
	LatencyP99Ms float64 `json:"latency_p99_ms"`
	// TracksOpen is the number of vehicles fusion is following.
	TracksOpen int `json:"tracks_open"`
	// ResultsBelowBar counts vehicles not sent as under the confidence policy.
	ResultsBelowBar uint64 `json:"results_below_bar"`
	// ResultsAbsorbed counts tracks of garbled reads merged into their plate's track.
	ResultsAbsorbed uint64 `json:"results_absorbed"`
	// ResultsSuppressed counts repeats of a recent result (a standing vehicle).
	ResultsSuppressed uint64 `json:"results_suppressed"`
	// ResultsSent counts results the sink took; SinkErrors those it refused.
	ResultsSent uint64 `json:"results_sent"`
	SinkErrors  uint64 `json:"sink_errors"`
}

// Pipeline runs frames through the workers and fusion into a Sink. Create it with New,
// run it once with Run, then Close it.
type Pipeline struct {
	opt     Options
	readers []Reader
	ran     atomic.Bool

	framesIn, framesRead, skipped, rejected, plateReads atomic.Uint64
	belowBar, absorbed, suppressed, sent, sinkErrs      atomic.Uint64
	tracksOpen                                          atomic.Int64
	readLat, e2eLat                                     quantile.Ring
	rate                                                rateWindow
}

// ErrRunTwice is returned by a second Run.
var ErrRunTwice = errors.New("lane: pipeline already ran")

// New loads one reader per worker (the recognizer model is loaded once per reader).
func New(opt Options) (*Pipeline, error) {
	if opt.Workers <= 0 {
		opt.Workers = runtime.NumCPU()
	}
	if opt.NewReader == nil {
		opt.NewReader = func(o ocr.FrameReaderOptions) (Reader, error) { return ocr.NewFrameReader(o) }
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.TickEvery <= 0 {
		opt.TickEvery = 100 * time.Millisecond
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	opt.Policy = opt.Policy.withDefaults()
	opt.Reader.MinConfidence = opt.Policy.FrameFloor
	opt.Fusion.SingleReadConfidence = opt.Policy.SingleRead
	opt.Fusion.MinConfidence = opt.Policy.Send
	if opt.Fusion.Rules == nil {
		opt.Fusion.Rules = opt.Reader.Rules
	}
	p := &Pipeline{opt: opt}
	for range opt.Workers {
		r, err := opt.NewReader(opt.Reader)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("lane: ocr worker: %w", err)
		}
		p.readers = append(p.readers, r)
	}
	return p, nil
}

// Workers is the number of workers.
func (p *Pipeline) Workers() int { return len(p.readers) }

// Close frees the readers. Call it after Run returned.
func (p *Pipeline) Close() error {
	var errs []error
	for _, r := range p.readers {
		errs = append(errs, r.Close())
	}
	p.readers = nil
	return errors.Join(errs...)
}

// frameReads is what a worker hands to the fusion goroutine.
type frameReads struct {
	at    time.Time
	reads []fusion.Read
}

// Run reads frames from q until q is closed (its producer stopped), then drains in
// order: the workers finish their frames, fusion emits what it holds (Flush), and Run
// returns. Every result goes to sink from Run's own goroutine.
func (p *Pipeline) Run(q *capture.Queue, sink Sink) error {
	if p.ran.Swap(true) || p.readers == nil {
		return ErrRunTwice
	}
	results := make(chan frameReads, 4*len(p.readers))
	var wg sync.WaitGroup
	for _, r := range p.readers {
		wg.Go(func() { p.work(r, q, results) })
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	p.fuse(results, sink)
	return nil
}

// work reads the plates of each frame and passes them to fusion. Frames outside a
// vehicle window are released unread.
func (p *Pipeline) work(r Reader, q *capture.Queue, out chan<- frameReads) {
	for f := range q.C() {
		p.framesIn.Add(1)
		if p.opt.InWindow != nil && !p.opt.InWindow(f.Wall) {
			f.Release()
			p.skipped.Add(1)
			continue
		}
		at, wall := p.opt.Origin.Add(f.Mono), f.Wall
		t0 := p.opt.Now()
		reads, err := r.Read(f.Pix, f.Width, f.Height, f.Format.Channels())
		f.Release() // zeroes the pixels
		done := p.opt.Now()
		p.readLat.Observe(done.Sub(t0))
		if !wall.IsZero() {
			p.e2eLat.Observe(done.Sub(wall))
		}
		p.framesRead.Add(1)
		p.rate.observe(done)
		if err != nil {
			if p.rejected.Add(1) == 1 {
				p.opt.Logger.Warn("frame rejected by the reader", "err", err)
			}
			continue
		}
		if len(reads) == 0 {
			continue
		}
		fr := frameReads{at: at, reads: make([]fusion.Read, len(reads))}
		for i, pr := range reads {
			fr.reads[i] = fusion.Read{At: at, Box: pr.Box, Text: pr.Text, Confidence: pr.Confidence,
				CharConf: slices.Clone(pr.CharConf), Candidates: slices.Clone(pr.Candidates)}
		}
		p.plateReads.Add(uint64(len(reads)))
		out <- fr
	}
}

// fuse owns the Fuser: it groups reads into vehicle passes and submits one result per
// pass.
func (p *Pipeline) fuse(in <-chan frameReads, sink Sink) {
	fu := fusion.New(p.opt.Fusion)
	tick := time.NewTicker(p.opt.TickEvery)
	defer tick.Stop()
	var latest time.Time // newest frame time: the clock of a replay
	submit := func(rs []fusion.Result) {
		for _, r := range rs {
			if err := sink.Submit(r); err != nil {
				p.sinkErrs.Add(1)
				p.opt.Logger.Error("result not taken by the sink", "err", err)
				continue
			}
			p.sent.Add(1)
		}
		p.belowBar.Store(uint64(fu.Dropped))
		p.absorbed.Store(uint64(fu.Absorbed))
		p.suppressed.Store(uint64(fu.Suppressed))
		p.tracksOpen.Store(int64(fu.Open()))
	}
	for {
		select {
		case fr, ok := <-in:
			if !ok {
				submit(fu.Flush())
				return
			}
			if fr.at.After(latest) {
				latest = fr.at
			}
			for _, r := range fr.reads {
				submit(fu.Add(r))
			}
		case <-tick.C:
			now := p.opt.Now()
			if p.opt.Replay {
				now = latest
			}
			submit(fu.Tick(now))
		case closed := <-p.opt.WindowClosed:
			submit(fu.CloseWindow(closed))
		}
	}
}

// Stats returns a snapshot of the counters. It has no side effects.
func (p *Pipeline) Stats() Stats {
	rd := p.readLat.Percentiles(50, 99)
	e2e := p.e2eLat.Percentiles(50, 90, 99)
	return Stats{
		FramesIn: p.framesIn.Load(), FramesRead: p.framesRead.Load(), FramesSkipped: p.skipped.Load(),
		FramesRejected: p.rejected.Load(), PlateReads: p.plateReads.Load(),
		FPS:       p.rate.perSecond(p.opt.Now()),
		ReadP50Ms: rd[0], ReadP99Ms: rd[1], LatencyP50Ms: e2e[0], LatencyP90Ms: e2e[1], LatencyP99Ms: e2e[2],
		TracksOpen: int(p.tracksOpen.Load()), ResultsBelowBar: p.belowBar.Load(),
		ResultsAbsorbed: p.absorbed.Load(), ResultsSuppressed: p.suppressed.Load(),
		ResultsSent: p.sent.Load(), SinkErrors: p.sinkErrs.Load(),
	}
}

// rateWindow estimates an event rate from the times of the latest events, without
// side effects on reading.
type rateWindow struct {
	mu    sync.Mutex
	times [64]time.Time
	n     int
}

// rateSpan is the longest span of the latest events a rate is computed over; older
// events do not count, so the rate falls to 0 within rateSpan of a stall.
const rateSpan = 5 * time.Second

func (w *rateWindow) observe(t time.Time) {
	w.mu.Lock()
	w.times[w.n%len(w.times)] = t
	w.n++
	w.mu.Unlock()
}

func (w *rateWindow) perSecond(now time.Time) float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := 0
	var oldest time.Time
	for i := range min(w.n, len(w.times)) {
		t := w.times[(w.n-1-i)%len(w.times)]
		if now.Sub(t) > rateSpan {
			break
		}
		oldest, k = t, k+1
	}
	if k < 2 {
		return 0
	}
	span := now.Sub(oldest)
	if span <= 0 {
		return 0
	}
	return float64(k-1) / span.Seconds()
}
