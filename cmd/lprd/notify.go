package main

import (
	"context"
	"fmt"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"

	"github.com/lprd/lprd/capture"
)

// supervisor speaks systemd's notify protocol (Type=notify): READY=1 once the
// reader works, a STATUS= line a person reads in `systemctl status` (no plate
// data), and WATCHDOG=1 only while the pipeline makes progress, so that a
// stalled pipeline or a hung camera read is restarted by systemd (WatchdogSec=).
// Outside systemd (no NOTIFY_SOCKET) every notification is a no-op.
type supervisor struct {
	notify func(state string) error
	// watchdog is how often to ping (half of WatchdogSec); 0 disables the pings.
	watchdog time.Duration
	// every is how often the status line is refreshed and readiness checked.
	every time.Duration
	// sample reads the figures the supervisor decides on; it runs on the
	// supervisor's goroutine.
	sample func() supervision
}

// supervision is one look at the daemon.
type supervision struct {
	camera        capture.Status
	frames        uint64 // frames taken by the pipeline so far
	fps           float64
	outbox        int
	brokerUp      bool
	uplinkRunning bool
}

// ready reports whether the daemon may report READY=1: the camera streams (or a
// replay has ended) and the uplink loop runs. The broker may be away: that is the
// documented degraded start, reads go to the outbox.
func (s supervision) ready() bool {
	return s.uplinkRunning && (s.camera == capture.StatusStreaming || s.camera == capture.StatusEnded)
}

// status is the STATUS= line.
func (s supervision) status() string {
	broker := "broker connected"
	if !s.brokerUp {
		broker = "broker away, reads kept in the outbox"
	}
	return fmt.Sprintf("camera %s, %.1f fps read, outbox %d, %s", s.camera, s.fps, s.outbox, broker)
}

// newSupervisor returns the supervisor for systemd, with the watchdog interval
// systemd asked for (WATCHDOG_USEC), pinged at half of it.
func newSupervisor(sample func() supervision) *supervisor {
	wd, _ := sd.SdWatchdogEnabled(false)
	return &supervisor{
		notify:   func(state string) error { _, err := sd.SdNotify(false, state); return err },
		watchdog: wd / 2,
		every:    time.Second,
		sample:   sample,
	}
}

// run notifies until ctx ends, then sends STOPPING=1.
func (s *supervisor) run(ctx context.Context) {
	tick := s.every
	if s.watchdog > 0 {
		tick = min(tick, s.watchdog)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	ready := false
	var lastFrames uint64
	lastProgress := time.Now()
	lastStatus := time.Time{}
	for {
		now := time.Now()
		st := s.sample()
		if !ready && st.ready() {
			ready = true
			s.notify("READY=1\nSTATUS=" + st.status())
			lastStatus = now
		}
		if ready && now.Sub(lastStatus) >= s.every {
			s.notify("STATUS=" + st.status())
			lastStatus = now
		}
		// Progress: frames move through the pipeline, or the camera is not in a
		// state that promises frames (reconnecting, a replay that ended), which
		// the capture loop handles itself. A camera that says streaming and
		// delivers nothing for a watchdog period is hung.
		if st.frames != lastFrames || st.camera != capture.StatusStreaming {
			lastFrames, lastProgress = st.frames, now
		}
		if s.watchdog > 0 && st.uplinkRunning && now.Sub(lastProgress) < 2*s.watchdog {
			s.notify("WATCHDOG=1")
		}
		select {
		case <-ctx.Done():
			s.notify("STOPPING=1\nSTATUS=stopping: draining the pipeline and the outbox")
			return
		case <-t.C:
		}
	}
}
