package main

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lprd/lprd/capture"
)

// notifySocket listens where systemd would (NOTIFY_SOCKET) and records each
// datagram with the time it came.
type notifySocket struct {
	mu   sync.Mutex
	msgs []notifyMsg
}

type notifyMsg struct {
	at    time.Time
	state string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	s := &notifySocket{}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, notifyMsg{time.Now(), string(buf[:n])})
			s.mu.Unlock()
		}
	}()
	return s
}

// count returns how many messages containing state came after since.
func (s *notifySocket) count(state string, since time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.msgs {
		if !m.at.Before(since) && strings.Contains(m.state, state) {
			n++
		}
	}
	return n
}

// TestSupervisorReadyAndWatchdog speaks the real notify protocol over a unix
// socket: no READY=1 while the camera starts (but the watchdog is fed: start-up is
// bounded by TimeoutStartSec), READY=1 once when it streams, WATCHDOG=1 while frames
// move, and no WATCHDOG=1 once a streaming camera stops delivering (a hung read or a
// stalled pipeline), so that systemd restarts the daemon.
func TestSupervisorReadyAndWatchdog(t *testing.T) {
	sock := listenNotify(t)
	t.Setenv("WATCHDOG_USEC", "200000") // WatchdogSec=200ms: pings every 100 ms
	t.Setenv("WATCHDOG_PID", "")
	var (
		camera atomic.Value
		frames atomic.Uint64
		moving atomic.Bool
	)
	camera.Store(capture.StatusStarting)
	sup := newSupervisor(func() supervision {
		if moving.Load() {
			frames.Add(1)
		}
		return supervision{camera: camera.Load().(capture.Status), frames: frames.Load(), fps: 10, outbox: 2, uplinkRunning: true}
	})
	if sup.watchdog != 100*time.Millisecond {
		t.Fatalf("watchdog interval %v; want 100ms (half of WATCHDOG_USEC)", sup.watchdog)
	}
	sup.every = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); sup.run(ctx) }()

	t0 := time.Now()
	time.Sleep(400 * time.Millisecond)
	if n := sock.count("READY=1", t0); n != 0 {
		t.Errorf("%d READY=1 while the camera starts; want none", n)
	}
	if n := sock.count("WATCHDOG=1", t0); n == 0 {
		t.Error("no WATCHDOG=1 during start-up")
	}

	t1 := time.Now()
	camera.Store(capture.StatusStreaming)
	moving.Store(true)
	time.Sleep(400 * time.Millisecond)
	if n := sock.count("READY=1", t1); n != 1 {
		t.Errorf("%d READY=1 once the camera streams; want 1", n)
	}
	if n := sock.count("STATUS=camera streaming, 10.0 fps read, outbox 2, broker away", t1); n == 0 {
		t.Error("no STATUS= line naming camera, fps, outbox and broker")
	}
	if n := sock.count("WATCHDOG=1", t1); n == 0 {
		t.Error("no WATCHDOG=1 while frames move")
	}

	moving.Store(false) // the camera still says streaming but delivers nothing
	t2 := time.Now()
	time.Sleep(800 * time.Millisecond)
	// Pings stop within two watchdog intervals of the last frame.
	if n := sock.count("WATCHDOG=1", t2.Add(300*time.Millisecond)); n != 0 {
		t.Errorf("%d WATCHDOG=1 after the pipeline stalled; want none (systemd must restart it)", n)
	}
	cancel()
	<-done
	for deadline := time.Now().Add(5 * time.Second); sock.count("STOPPING=1", t2) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // the datagram is sent; wait for the reader to have it
	}
	if n := sock.count("STOPPING=1", t2); n != 1 {
		t.Errorf("%d STOPPING=1 at the end; want 1", n)
	}
}
