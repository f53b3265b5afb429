package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/lprd/lprd/capture"
	"github.com/lprd/lprd/capture/trigger"
	"github.com/lprd/lprd/internal/config"
	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/fusion"
	"github.com/lprd/lprd/ocr/lane"
	"github.com/lprd/lprd/ocr/models"
	"github.com/lprd/lprd/ocr/plateformat"
	"github.com/lprd/lprd/uplink"
	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/hotlist"
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

// daemon holds what runDaemon opened: camera, pipeline, uplink and GPIO. The
// pipeline (ocr/lane) owns the workers and fusion; the daemon wires the stages
// and fills health from their Stats.
type daemon struct {
	cfg       config.Config
	log       *slog.Logger
	cam       *capture.Camera
	pipe      *lane.Pipeline
	trig      *trigger.Trigger // nil without a presence input
	led       *trigger.LED     // nil without a status LED
	up        *uplink.Uplink
	gate      *hotlist.Gate // the send mode (LPRD_SEND_MODE) and hotlist
	notStored atomic.Uint64 // results the uplink refused
	done      chan struct{} // closed when runDaemon returns

	uplinkRunning atomic.Bool // the uplink's loop has not returned
}

// supervision samples what the systemd supervisor decides on.
func (d *daemon) supervision() supervision {
	cam, st, up := d.cam.State(), d.pipe.Stats(), d.up.Health()
	return supervision{camera: cam.Status, frames: st.FramesIn, fps: st.FPS, outbox: up.OutboxDepth,
		brokerUp: up.MQTTConnected, uplinkRunning: d.uplinkRunning.Load()}
}

// runDaemon opens every resource, runs the pipeline until ctx ends (or a
// replay ends with LPRD_EXIT_AT_END), then drains it in order: capture stops,
// the pipeline finishes its frames and emits what fusion holds, the uplink
// publishes what it can and keeps the rest in its outbox.
func runDaemon(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if err := waitForClock(ctx, log, time.Now); err != nil {
		return nil // stopped while waiting
	}
	d := &daemon{cfg: cfg, log: log, done: make(chan struct{})}
	defer close(d.done)
	if err := d.open(ctx); err != nil {
		return &startupError{err}
	}
	defer d.pipe.Close()
	defer d.cam.Close()
	queue := capture.NewQueue(cfg.FrameQueue)
	log.Info("lprd started", "version", version, "model", modelVersion(), "device", cfg.DeviceID,
		"site", cfg.Site, "lane", cfg.Lane, "camera", capture.Redact(cfg.Camera), "workers", d.pipe.Workers())

	// The uplink and GPIO outlive ctx: they run until the pipeline has drained.
	bg, stopBG := context.WithCancel(context.Background())
	var bgWG sync.WaitGroup
	d.startBackground(bg, &bgWG)
	pipeDone := make(chan struct{})
	go func() {
		defer close(pipeDone)
		d.pipe.Run(queue, lane.SinkFunc(d.submit))
	}()
	supCtx, stopSup := context.WithCancel(context.Background())
	supDone := make(chan struct{})
	go func() {
		defer close(supDone)
		newSupervisor(d.supervision).run(supCtx)
	}()

	runErr := d.cam.Run(ctx, queue)
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
	stopSup()
	<-supDone
	queue.Close()
	<-pipeDone
	d.drain()
	stopBG()
	bgWG.Wait()
	if err := d.up.Close(); err != nil {
		log.Error("closing uplink", "err", err)
	}
	st := d.pipe.Stats()
	log.Info("lprd stopped", "frames", st.FramesRead, "outside_window", st.FramesSkipped,
		"rejected_frames", st.FramesRejected, "results_below_min_confidence", st.ResultsBelowBar,
		"results_not_stored", d.notStored.Load())
	return runErr
}

// open opens GPIO, the uplink, the camera and the pipeline, in that order; on an
// error it closes what it opened.
func (d *daemon) open(ctx context.Context) error {
	cfg := d.cfg
	rules, err := plateformat.Load(cfg.PlateRegions)
	if err != nil {
		return fmt.Errorf("LPRD_PLATE_REGIONS: %w", err)
	}
	if err := d.openGPIO(); err != nil {
		return err
	}
	if d.gate, err = cfg.OpenHotlist(); err != nil {
		return err
	}
	upOpt := uplinkOptions(cfg, d.fillHealth, d.log)
	upOpt.Commands = d.commands()
	d.up, err = uplink.New(ctx, upOpt)
	if err != nil {
		return err
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	d.cam, err = capture.Open(ctx, captureOptions(cfg, workers, d.log))
	if err != nil {
		d.up.Close()
		return err
	}
	ocr.SetOpenCVThreads(1) // one core per worker: parallelism comes from the workers
	opt := lane.Options{
		Workers: workers,
		Reader: ocr.FrameReaderOptions{Rules: rules, DetectorKind: ocr.DetectorKind(cfg.Detector),
			Locate: ocr.LocateOptions{MinPlateWidth: cfg.MinPlateWidth}},
		Fusion: fusion.Options{Rules: rules, LeaveAfter: cfg.FusionGap, MaxDelay: cfg.FusionMaxDelay,
			Suppress: cfg.FusionSuppress, MaxCandidates: cfg.Candidates, Retain: cfg.FusionRetain},
		Policy: lane.Policy{Send: float32(cfg.MinConfidence)},
		Origin: d.cam.Origin(), Replay: d.cam.Replay(),
		Logger: d.log.With("part", "ocr"),
	}
	if d.trig != nil {
		opt.InWindow = d.trig.InWindow
		opt.WindowClosed = windowEnds(d.done, d.trig.Events(), cfg.TriggerMargin)
	}
	d.pipe, err = lane.New(opt)
	if err != nil {
		d.cam.Close()
		d.up.Close()
		return fmt.Errorf("ocr: %w", err)
	}
	return nil
}

// startBackground starts the uplink loop, the trigger, the LED and its camera
// watch on bg; wg waits for them.
func (d *daemon) startBackground(bg context.Context, wg *sync.WaitGroup) {
	d.uplinkRunning.Store(true)
	wg.Go(func() {
		defer d.uplinkRunning.Store(false)
		if err := d.up.Run(bg); err != nil {
			d.log.Error("uplink stopped", "err", err)
		}
	})
	if d.trig != nil {
		wg.Go(func() {
			if err := d.trig.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
				d.log.Error("trigger stopped", "err", err)
			}
		})
	}
	if d.led != nil {
		wg.Go(func() { d.led.Run(bg) })
		wg.Go(func() {
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-bg.Done():
					return
				case <-t.C:
					d.updateLED()
				}
			}
		})
	}
}

// windowEnds turns the trigger's events into the end times of vehicle windows
// (plus the trigger margin) for the pipeline, until done is closed.
func windowEnds(done <-chan struct{}, events <-chan trigger.Event, margin time.Duration) <-chan time.Time {
	out := make(chan time.Time, 8)
	go func() {
		for {
			select {
			case <-done:
				return
			case ev := <-events:
				if ev.Open {
					continue
				}
				select {
				case out <- ev.Closed.Add(margin):
				case <-done:
					return
				}
			}
		}
	}()
	return out
}

func uplinkOptions(cfg config.Config, health func(*uplink.Health), log *slog.Logger) uplink.Options {
	opt := cfg.UplinkOptions()
	opt.HealthFunc, opt.Version, opt.Logger = health, version, log.With("part", "uplink")
	return opt
}

func captureOptions(cfg config.Config, workers int, log *slog.Logger) capture.Options {
	opt := cfg.CaptureOptions()
	opt.PoolFrames, opt.Logger = cfg.FrameQueue+workers+2, log.With("part", "capture")
	return opt
}

// waitForClock waits until the clock reads at least uplink.MinClock: reads are
// timestamped and sealed with the time, and TLS checks certificate dates, so an
// appliance that boots at 1970 waits for NTP first (as gokrazy's processes do).
func waitForClock(ctx context.Context, log *slog.Logger, now func() time.Time) error {
	if !now().Before(uplink.MinClock) {
		return nil
	}
	log.Warn("waiting for the system clock to be set (NTP) before reading plates", "now", now().UTC())
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for now().Before(uplink.MinClock) {
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

// submit is the pipeline's sink: it seals and stores one result. It runs on
// the pipeline's fusion goroutine. The event id is set here so that the log
// line can name the read the backend will see.
func (d *daemon) submit(r fusion.Result) error {
	ev, send := d.minimise(toEvent(r, d.cfg.Lane))
	if !send {
		d.log.Debug("read discarded (LPRD_SEND_MODE=hits, not on the hotlist)", "frames", r.Frames)
		return nil
	}
	ev.EventID = envelope.NewEventID(time.Now())
	if err := d.up.Submit(ev); err != nil {
		d.notStored.Add(1)
		return fmt.Errorf("read %s not stored: %w", ev.EventID, err)
	}
	d.log.Info("read stored", "event", ev.EventID, "frames", r.Frames, "confidence", fmt.Sprintf("%.2f", r.Confidence), "reason", r.Reason.String())
	return nil
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
	if d.led != nil {
		d.led.Set(ledMode(d.cam.State().Status))
	}
}

// ledMode is the status LED's mode for a camera state: steady while streaming,
// blinking while it (re)connects, fast blinking when it failed, off otherwise.
func ledMode(st capture.Status) trigger.LEDMode {
	switch st {
	case capture.StatusStreaming:
		return trigger.LEDOn
	case capture.StatusReconnecting, capture.StatusStarting:
		return trigger.LEDBlink
	case capture.StatusFailed:
		return trigger.LEDFastBlink
	}
	return trigger.LEDOff
}

// fillHealth adds the capture, pipeline and GPIO figures to a health message.
// It runs on the uplink's goroutine and only reads snapshots.
func (d *daemon) fillHealth(h *uplink.Health) {
	h.ModelVersion = modelVersion()
	if d.cam != nil {
		st := d.cam.State()
		h.CameraState, h.FPSIn, h.FramesDropped, h.FramesCorrupt = string(st.Status), round2(st.FPSIn), st.Dropped, st.Corrupt
	}
	if d.pipe != nil {
		st := d.pipe.Stats()
		h.FPSProcessed = round2(st.FPS)
		h.LatencyP50Ms, h.LatencyP99Ms = round2(st.LatencyP50Ms), round2(st.LatencyP99Ms)
		h.ReadP50Ms, h.ReadP99Ms = round2(st.ReadP50Ms), round2(st.ReadP99Ms)
		h.FramesSkipped, h.FramesRejected = st.FramesSkipped, st.FramesRejected
		h.TracksOpen, h.ResultsBelowBar = st.TracksOpen, st.ResultsBelowBar
		h.ResultsAbsorbed, h.ResultsSuppressed = st.ResultsAbsorbed, st.ResultsSuppressed
	}
	h.ResultsNotStored = d.notStored.Load()
	if d.gate != nil {
		st := d.gate.Stats()
		h.Privacy = &st
	}
	if d.trig != nil {
		st := d.trig.State()
		h.TriggerEventsDropped = st.EventsDropped
		h.GPIO = map[string]string{"presence": onOff(st.Present, "high", "low")}
		if d.cfg.IlluminatorPin != "" {
			h.GPIO["illuminator"] = onOff(st.Illuminator, "on", "off")
		}
	}
}

// round2 rounds a health figure to two decimals.
func round2(x float64) float64 { return math.Round(x*100) / 100 }

func onOff(b bool, on, off string) string {
	if b {
		return on
	}
	return off
}
