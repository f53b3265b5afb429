package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/lprd/lprd/capture"
	"github.com/lprd/lprd/capture/trigger"
	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/fusion"
	"github.com/lprd/lprd/ocr/models"
	"github.com/lprd/lprd/ocr/plateformat"
	"github.com/lprd/lprd/uplink"
)

// modelVersion names the embedded recognizer: a prefix of its SHA-256.
var modelVersion = sync.OnceValue(func() string {
	sum := sha256.Sum256(models.RecognizerONNX())
	return "ctc-" + hex.EncodeToString(sum[:6])
})

// drainTimeout bounds how long a stopping daemon waits for the broker to
// acknowledge what is still in the outbox; what is left stays there for the
// next start.
const drainTimeout = 5 * time.Second

// daemon is the running pipeline: camera -> queue -> ocr workers -> fusion ->
// uplink. Each goroutine is started and waited for by runDaemon.
type daemon struct {
	cfg     Config
	log     *slog.Logger
	cam     *capture.Camera
	queue   *capture.Queue
	trig    *trigger.Trigger // nil without a presence input
	led     *trigger.LED     // nil without a status LED
	up      *uplink.Uplink
	replay  bool      // a file or folder source: fusion runs on media time
	origin  time.Time // media time zero
	lat     latencies
	skipped atomic.Uint64 // frames outside a vehicle window
	failed  atomic.Uint64 // frames the reader rejected
	lowConf atomic.Uint64 // results below LPRD_MIN_CONFIDENCE, not sent
	rate    rateMeter
}

// frameReads is what a worker hands to the fusion goroutine.
type frameReads struct {
	at    time.Time
	reads []fusion.Read
}

// runDaemon opens every resource, runs the pipeline until ctx ends (or a
// replay ends with LPRD_EXIT_AT_END), then drains it in order: capture stops,
// the workers finish their frames, fusion emits what it holds, the uplink
// publishes what it can and keeps the rest in its outbox.
func runDaemon(ctx context.Context, cfg Config, log *slog.Logger) error {
	if err := waitForClock(ctx, log, time.Now); err != nil {
		return nil // stopped while waiting
	}
	d := &daemon{cfg: cfg, log: log, origin: time.Now(), replay: isReplay(cfg.Camera)}
	rules, err := plateformat.Load(cfg.PlateRegions)
	if err != nil {
		return &startupError{fmt.Errorf("LPRD_PLATE_REGIONS: %w", err)}
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	ocr.SetOpenCVThreads(1) // one core per worker: parallelism comes from the workers
	readers := make([]*ocr.FrameReader, 0, workers)
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	for range workers {
		r, err := ocr.NewFrameReader(ocr.FrameReaderOptions{Rules: rules,
			Locate: ocr.LocateOptions{MinPlateWidth: cfg.MinPlateWidth}})
		if err != nil {
			return &startupError{fmt.Errorf("ocr: %w", err)}
		}
		readers = append(readers, r)
	}

	if err := d.openGPIO(); err != nil {
		return &startupError{err}
	}
	d.up, err = uplink.New(ctx, uplink.Options{
		Broker: cfg.MQTTBroker, AllowPlaintext: cfg.MQTTAllowPlaintext,
		CAFile: cfg.MQTTCA, CertFile: cfg.MQTTCert, KeyFile: cfg.MQTTKey, ClientID: cfg.MQTTClientID,
		TopicPrefix: cfg.TopicPrefix, Site: cfg.Site, DeviceID: cfg.DeviceID,
		RecipientKeyFile: cfg.BackendKey, SigningKeyFile: cfg.SigningKey, Suite: cfg.Suite,
		StateDir: cfg.StateDir, OutboxMaxCount: cfg.OutboxMaxCount, OutboxMaxBytes: cfg.OutboxMaxBytes,
		OutboxMaxAge: cfg.OutboxMaxAge, OutboxPolicy: cfg.OutboxPolicy,
		PublishTimeout: cfg.PublishTimeout, HealthInterval: cfg.HealthInterval,
		HealthFunc: d.fillHealth, Version: version, Logger: log.With("part", "uplink"),
	})
	if err != nil {
		return &startupError{err}
	}
	d.cam, err = capture.Open(ctx, capture.Options{
		Camera: cfg.Camera, Format: cfg.CameraFormat, Width: cfg.CameraWidth, Height: cfg.CameraHeight,
		FPS: float64(cfg.CameraFPS), Buffers: cfg.CameraBuffers,
		Exposure:   time.Duration(max(cfg.CameraExposure, 0)) * 100 * time.Microsecond,
		ManualGain: cfg.CameraGain >= 0, Gain: cfg.CameraGain,
		ReplayRate: cfg.ReplayRate, Loop: cfg.ReplayLoop, PoolFrames: cfg.FrameQueue + workers + 2,
		Logger: log.With("part", "capture"),
	})
	if err != nil {
		d.up.Close()
		return &startupError{err}
	}
	defer d.cam.Close()
	d.queue = capture.NewQueue(cfg.FrameQueue)
	log.Info("lprd started", "version", version, "model", modelVersion(), "device", cfg.DeviceID,
		"site", cfg.Site, "lane", cfg.Lane, "camera", capture.Redact(cfg.Camera), "workers", workers)

	// The uplink and GPIO outlive ctx: they run until the pipeline has drained.
	bg, stopBG := context.WithCancel(context.Background())
	var bgWG sync.WaitGroup
	bgWG.Go(func() {
		if err := d.up.Run(bg); err != nil {
			log.Error("uplink stopped", "err", err)
		}
	})
	if d.trig != nil {
		bgWG.Go(func() {
			if err := d.trig.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("trigger stopped", "err", err)
			}
		})
	}
	if d.led != nil {
		bgWG.Go(func() { d.led.Run(bg) })
	}

	results := make(chan frameReads, 4*workers)
	var workerWG sync.WaitGroup
	for _, r := range readers {
		workerWG.Go(func() { d.work(r, results) })
	}
	fusionDone := make(chan struct{})
	go func() {
		defer close(fusionDone)
		d.fuse(rules, results)
	}()

	runErr := d.cam.Run(ctx, d.queue)
	switch {
	case errors.Is(runErr, capture.ErrEnded) && !cfg.ExitAtEnd:
		log.Info("replay ended; waiting for a signal (LPRD_EXIT_AT_END=false)")
		<-ctx.Done()
		runErr = nil
	case errors.Is(runErr, capture.ErrEnded):
		log.Info("replay ended; stopping")
		runErr = nil
	case ctx.Err() != nil:
		runErr = nil
	}
	d.queue.Close()
	workerWG.Wait()
	close(results)
	<-fusionDone
	d.drain()
	stopBG()
	bgWG.Wait()
	if err := d.up.Close(); err != nil {
		log.Error("closing uplink", "err", err)
	}
	log.Info("lprd stopped", "frames", d.rate.total.Load(), "outside_window", d.skipped.Load(),
		"rejected_frames", d.failed.Load(), "results_below_min_confidence", d.lowConf.Load())
	return runErr
}

// clockSet is the earliest time taken for a set clock: reads are timestamped
// and sealed with the time, and TLS checks certificate dates, so an appliance
// that boots at 1970 waits for NTP first (as gokrazy's processes do).
var clockSet = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func waitForClock(ctx context.Context, log *slog.Logger, now func() time.Time) error {
	if !now().Before(clockSet) {
		return nil
	}
	log.Warn("waiting for the system clock to be set (NTP) before reading plates", "now", now().UTC())
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for now().Before(clockSet) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	log.Info("system clock set", "now", now().UTC())
	return nil
}

// drain waits, within drainTimeout, until the broker has acknowledged every
// read in the outbox.
func (d *daemon) drain() {
	deadline := time.Now().Add(drainTimeout)
	for d.up.Health().OutboxDepth > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := d.up.Health().OutboxDepth; n > 0 {
		d.log.Warn("stopping with reads in the outbox; they are sent at the next start", "reads", n)
	}
}

// work reads the plates of each frame and passes them to fusion. Frames
// outside a vehicle window are released unread.
func (d *daemon) work(r *ocr.FrameReader, out chan<- frameReads) {
	for f := range d.queue.C() {
		if d.trig != nil && !d.trig.InWindow(f.Wall) {
			f.Release()
			d.skipped.Add(1)
			continue
		}
		at, wall := d.origin.Add(f.Mono), f.Wall
		reads, err := r.Read(f.Pix, f.Width, f.Height, f.Format.Channels())
		f.Release() // zeroes the pixels
		d.lat.observe(time.Since(wall))
		d.rate.total.Add(1)
		if err != nil {
			if d.failed.Add(1) == 1 {
				d.log.Warn("frame rejected by the reader", "err", err)
			}
			continue
		}
		if len(reads) == 0 {
			continue
		}
		fr := frameReads{at: at, reads: make([]fusion.Read, len(reads))}
		for i, p := range reads {
			fr.reads[i] = fusion.Read{At: at, Box: p.Box, Text: p.Text, Confidence: p.Confidence,
				CharConf: slices.Clone(p.CharConf), Candidates: slices.Clone(p.Candidates)}
		}
		out <- fr
	}
}

// fuse owns the Fuser: it groups reads into vehicle passes and submits one
// event per pass.
func (d *daemon) fuse(rules *plateformat.Set, in <-chan frameReads) {
	fu := fusion.New(fusion.Options{Rules: rules, LeaveAfter: d.cfg.FusionGap, MaxDelay: d.cfg.FusionMaxDelay,
		Suppress: d.cfg.FusionSuppress, MaxCandidates: d.cfg.Candidates})
	var windows <-chan trigger.Event
	if d.trig != nil {
		windows = d.trig.Events()
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var latest time.Time // newest frame time: the clock of a replay
	for {
		select {
		case fr, ok := <-in:
			if !ok {
				d.submit(fu.Flush())
				return
			}
			if fr.at.After(latest) {
				latest = fr.at
			}
			for _, r := range fr.reads {
				d.submit(fu.Add(r))
			}
		case <-tick.C:
			now := time.Now()
			if d.replay {
				now = latest
			}
			d.submit(fu.Tick(now))
			d.updateLED()
		case ev := <-windows:
			if !ev.Open {
				d.submit(fu.CloseWindow(ev.Closed.Add(d.cfg.TriggerMargin)))
			}
		}
	}
}

func (d *daemon) submit(results []fusion.Result) {
	for _, r := range results {
		if float64(r.Confidence) < d.cfg.MinConfidence {
			d.lowConf.Add(1)
			d.log.Debug("result below LPRD_MIN_CONFIDENCE not sent", "frames", r.Frames, "confidence", r.Confidence)
			continue
		}
		ev := toEvent(r, d.cfg.Lane)
		if err := d.up.Submit(ev); err != nil {
			d.log.Error("read not stored", "err", err)
			continue
		}
		d.log.Info("read stored", "event", ev.EventID, "frames", r.Frames, "confidence", fmt.Sprintf("%.2f", r.Confidence), "reason", r.Reason.String())
	}
}

// toEvent turns a fused result into the event that is sealed and sent.
func toEvent(r fusion.Result, lane string) uplink.Event {
	ev := uplink.Event{
		Lane: lane, FirstSeen: r.FirstSeen.UTC(), LastSeen: r.LastSeen.UTC(),
		Plate: r.Plate, Confidence: float64(r.Confidence), Format: r.Rule, Frames: r.Frames,
		Box:   uplink.Box{X: r.Box.Min.X, Y: r.Box.Min.Y, W: r.Box.Dx(), H: r.Box.Dy()},
		Model: modelVersion(),
	}
	for _, c := range r.Candidates {
		ev.Candidates = append(ev.Candidates, uplink.Candidate{Text: c.Text, Confidence: float64(c.Confidence)})
	}
	return ev
}

func isReplay(camera string) bool {
	return !strings.HasPrefix(camera, "/dev/") && !strings.Contains(camera, "://")
}

// openGPIO opens the optional presence input, illuminator and status LED.
func (d *daemon) openGPIO() error {
	c := d.cfg
	if c.StatusLEDPin != "" {
		p, err := trigger.Lookup(c.StatusLEDPin)
		if err != nil {
			return fmt.Errorf("LPRD_STATUS_LED_PIN: %w", err)
		}
		d.led = trigger.NewLED(p)
	}
	if c.TriggerPin == "" {
		if c.IlluminatorPin != "" {
			return errors.New("LPRD_ILLUMINATOR_PIN: needs LPRD_TRIGGER_PIN (the illuminator follows vehicle windows)")
		}
		return nil
	}
	presence, err := trigger.Lookup(c.TriggerPin)
	if err != nil {
		return fmt.Errorf("LPRD_TRIGGER_PIN: %w", err)
	}
	opt := trigger.Options{Presence: presence, Edge: gpio.RisingEdge, Debounce: c.TriggerDebounce,
		Margin: c.TriggerMargin, Logger: d.log.With("part", "trigger")}
	if c.TriggerEdge == "falling" {
		opt.Edge = gpio.FallingEdge
	}
	if c.IlluminatorPin != "" {
		if opt.Illuminator, err = trigger.Lookup(c.IlluminatorPin); err != nil {
			return fmt.Errorf("LPRD_ILLUMINATOR_PIN: %w", err)
		}
	}
	d.trig, err = trigger.New(opt)
	return err
}

func (d *daemon) updateLED() {
	if d.led == nil {
		return
	}
	switch d.cam.State().Status {
	case capture.StatusStreaming:
		d.led.Set(trigger.LEDOn)
	case capture.StatusReconnecting, capture.StatusStarting:
		d.led.Set(trigger.LEDBlink)
	case capture.StatusFailed:
		d.led.Set(trigger.LEDFastBlink)
	default:
		d.led.Set(trigger.LEDOff)
	}
}

// fillHealth adds the capture, ocr and GPIO figures to a health message. It
// runs on the uplink's goroutine.
func (d *daemon) fillHealth(h *uplink.Health) {
	h.ModelVersion = modelVersion()
	if d.cam != nil {
		st := d.cam.State()
		h.CameraState, h.FPSIn, h.FramesDropped = string(st.Status), st.FPSIn, st.Dropped
	}
	h.FPSProcessed = d.rate.perSecond()
	h.LatencyP50Ms, h.LatencyP99Ms = d.lat.percentiles()
	if d.trig != nil {
		st := d.trig.State()
		h.GPIO = map[string]string{"presence": onOff(st.Present, "high", "low")}
		if d.cfg.IlluminatorPin != "" {
			h.GPIO["illuminator"] = onOff(st.Illuminator, "on", "off")
		}
	}
}

func onOff(b bool, on, off string) string {
	if b {
		return on
	}
	return off
}

// latencies keeps the most recent frame latencies (capture to read) for the
// health topic's percentiles.
type latencies struct {
	mu   sync.Mutex
	ring [1024]time.Duration
	n    int
}

func (l *latencies) observe(d time.Duration) {
	l.mu.Lock()
	l.ring[l.n%len(l.ring)] = d
	l.n++
	l.mu.Unlock()
}

func (l *latencies) percentiles() (p50, p99 float64) {
	l.mu.Lock()
	s := slices.Clone(l.ring[:min(l.n, len(l.ring))])
	l.mu.Unlock()
	if len(s) == 0 {
		return 0, 0
	}
	slices.Sort(s)
	ms := func(q float64) float64 { return float64(s[int(q*float64(len(s)-1))]) / 1e6 }
	return ms(0.50), ms(0.99)
}

// rateMeter turns a frame count into frames per second between two calls.
type rateMeter struct {
	total atomic.Uint64
	mu    sync.Mutex
	last  uint64
	at    time.Time
}

func (r *rateMeter) perSecond() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	now, n := time.Now(), r.total.Load()
	var fps float64
	if !r.at.IsZero() {
		fps = float64(n-r.last) / now.Sub(r.at).Seconds()
	}
	r.last, r.at = n, now
	return fps
}
