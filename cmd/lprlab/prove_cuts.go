// The proof suite's fault rows beyond the broker outage: lprd SIGKILLed and
// restarted, the device's TCP connection black-holed (no FIN, no RST) by a
// loopback proxy the suite owns, and the camera source gone and back.

package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proveLprdKill SIGKILLs lprd once it has stored a read and starts it again
// with the same state folder: every read it stored (before and after) is
// delivered, none output twice.
func proveLprdKill(e *proveEnv) proveRow {
	s, err := e.startStream("prove-lprdkill", false, "recorded")
	if err != nil {
		return failRow("%v", err)
	}
	defer s.stop()
	if !waitFor(2*time.Minute, func() bool { return len(storedEvents(fileText(s.log))) >= 2 }) {
		return failRow("no read stored: %.300s", fileText(s.log))
	}
	s.lprd.stop(syscall.SIGKILL, 5*time.Second)
	killedAt := len(storedEvents(fileText(s.log)))
	connects := s.connects()
	restart := time.Now()
	p, err := e.start(proveCmd{name: "lprd", dir: filepath.Dir(s.log), log: s.log}, filepath.Join(e.bin, "lprd"), "run", "-env", filepath.Join(filepath.Dir(s.log), "lprd.env"))
	if err != nil {
		return failRow("restart: %v", err)
	}
	s.lprd = p
	var rec time.Duration
	if waitFor(time.Minute, func() bool { return s.connects() > connects }) {
		rec = time.Since(restart)
	}
	code, dl := s.finish()
	pass := code == 0 && dl.lost == 0 && dl.duplicates == 0 && rec > 0 && dl.produced > killedAt
	return proveRow{pass: pass, figure: fmt.Sprintf("%s; killed after %d stored; restart to connected %s; exit %d", dl, killedAt, recDur(rec), code)}
}

// holeProxy forwards TCP from a loopback port to target. hole() freezes
// every connection open now and every one accepted until mend(): bytes are
// read and dropped both ways, nothing is closed (no FIN, no RST), as a
// cable cut or a dead NAT entry does. Connections frozen stay frozen.
type holeProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	holed  bool
	frozen map[net.Conn]bool
	conns  []net.Conn
}

func newHoleProxy(target string) (*holeProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &holeProxy{ln: ln, target: target, frozen: map[net.Conn]bool{}}
	go p.accept()
	return p, nil
}

func (p *holeProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *holeProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		if p.holed {
			p.frozen[c] = true
		}
		p.mu.Unlock()
		go p.pipe(c, up, c)
		go p.pipe(up, c, c)
	}
}

// pipe copies src to dst while the connection (keyed by its client side)
// is not frozen; frozen, it reads and drops.
func (p *holeProxy) pipe(src, dst, key net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			frozen := p.frozen[key]
			p.mu.Unlock()
			if !frozen {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			p.mu.Lock()
			frozen := p.frozen[key]
			p.mu.Unlock()
			if !frozen || err != io.EOF {
				src.Close()
				dst.Close()
			}
			return
		}
	}
}

func (p *holeProxy) hole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.holed = true
	for i := 0; i < len(p.conns); i += 2 {
		p.frozen[p.conns[i]] = true
	}
}

func (p *holeProxy) mend() {
	p.mu.Lock()
	p.holed = false
	p.mu.Unlock()
}

func (p *holeProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// proveTCPCut streams through the proxy, black-holes the connection for
// 60 s and mends it: lprd notices without a FIN (MQTT keep-alive),
// reconnects once traffic passes, and every read is delivered once.
func proveTCPCut(e *proveEnv) proveRow {
	px, err := newHoleProxy(fmt.Sprintf("127.0.0.1:%d", e.broker.Port))
	if err != nil {
		return failRow("%v", err)
	}
	defer px.close()
	s, err := e.startStreamWith("prove-tcpcut", true, map[string]string{"LPRD_REPLAY_RATE": "recorded",
		"LPRD_MQTT_BROKER": fmt.Sprintf("ssl://127.0.0.1:%d", px.port())})
	if err != nil {
		return failRow("%v", err)
	}
	defer s.stop()
	time.Sleep(5 * time.Second)
	before := len(storedEvents(fileText(s.log)))
	px.hole()
	cut := time.Now()
	var noticed time.Duration
	lost := func() bool { return strings.Contains(fileText(s.log), "MQTT connection lost") }
	for time.Since(cut) < 60*time.Second {
		if noticed == 0 && lost() {
			noticed = time.Since(cut)
		}
		time.Sleep(200 * time.Millisecond)
	}
	during := len(storedEvents(fileText(s.log))) - before
	connects := s.connects()
	px.mend()
	mended := time.Now()
	var rec time.Duration
	if waitFor(2*time.Minute, func() bool { return s.connects() > connects }) {
		rec = time.Since(mended)
	}
	if noticed == 0 && lost() {
		noticed = time.Since(cut)
	}
	time.Sleep(10 * time.Second)
	code, dl := s.finish()
	pass := dl.produced > 0 && dl.lost == 0 && dl.duplicates == 0 && noticed > 0 && rec > 0
	return proveRow{pass: pass, figure: fmt.Sprintf("%s (%d stored while black-holed); 60 s black hole: lprd noticed after %s, reconnected %s after it ended; exit %d",
		dl, during, recDur(noticed), recDur(rec), code)}
}

// proveCameraGone replays the clip in a loop from a file the suite renames
// away (the next pass cannot open it) and back after 10 s: lprd reports
// the camera unavailable, opens it again, reads on, and loses nothing.
func proveCameraGone(e *proveEnv) proveRow {
	dir := filepath.Join(e.work, "prove-camera")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return failRow("%v", err)
	}
	clip := filepath.Join(dir, "camera.avi")
	if err := copyFiles(dir, e.clip); err != nil {
		return failRow("%v", err)
	}
	if err := os.Rename(filepath.Join(dir, filepath.Base(e.clip)), clip); err != nil {
		return failRow("%v", err)
	}
	s, err := e.startStreamWith("prove-camera", true, map[string]string{"LPRD_REPLAY_RATE": "recorded", "LPRD_CAMERA": clip})
	if err != nil {
		return failRow("%v", err)
	}
	defer s.stop()
	time.Sleep(3 * time.Second)
	if err := os.Rename(clip, clip+".away"); err != nil {
		return failRow("%v", err)
	}
	gone := func() bool { return strings.Contains(fileText(s.log), "camera unavailable; reopening") }
	if !waitFor(90*time.Second, gone) {
		return failRow("lprd did not report the camera gone: %.300s", fileText(s.log))
	}
	time.Sleep(10 * time.Second)
	h, _ := e.health("prove-camera")
	state := fmt.Sprint(h["camera_state"])
	streams := strings.Count(fileText(s.log), "camera streaming")
	storedBack := len(storedEvents(fileText(s.log)))
	if err := os.Rename(clip+".away", clip); err != nil {
		return failRow("%v", err)
	}
	back := time.Now()
	var rec time.Duration
	if waitFor(2*time.Minute, func() bool { return strings.Count(fileText(s.log), "camera streaming") > streams }) {
		rec = time.Since(back)
	}
	readsAfter := waitFor(90*time.Second, func() bool { return len(storedEvents(fileText(s.log))) > storedBack })
	code, dl := s.finish()
	pass := dl.produced > 0 && dl.lost == 0 && dl.duplicates == 0 && rec > 0 && readsAfter && state != "streaming"
	return proveRow{pass: pass, figure: fmt.Sprintf("%s; camera gone 10 s: health camera_state %q; streaming again %s after it came back, reads after it %v; exit %d",
		dl, state, recDur(rec), readsAfter, code)}
}
