// The proof suite's fault rows beyond the broker outage: lprd SIGKILLed and
// restarted, the device's TCP connection black-holed (no FIN, no RST) by a
// loopback proxy the suite owns, and an HTTP MJPEG camera the suite owns
// gone and back.

package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
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
	// lprd notices by a publish without acknowledgement (it drops the
	// connection and republishes) or by the MQTT keep-alive.
	lost := func() bool {
		l := fileText(s.log)
		return strings.Contains(l, "MQTT connection lost") || strings.Contains(l, "republishing unacknowledged reads") || strings.Contains(l, "MQTT connect failed")
	}
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

// mjpegFrames returns the JPEG frames of an MJPEG AVI (as lanesim
// writes): each from a start-of-image marker to the next end-of-image.
func mjpegFrames(avi []byte) [][]byte {
	var out [][]byte
	for i := 0; ; {
		j := bytes.Index(avi[i:], []byte{0xFF, 0xD8, 0xFF})
		if j < 0 {
			return out
		}
		k := bytes.Index(avi[i+j:], []byte{0xFF, 0xD9})
		if k < 0 {
			return out
		}
		out = append(out, avi[i+j:i+j+k+2])
		i += j + k + 2
	}
}

// mjpegCamera is an IP camera the suite owns: an HTTP server on a fixed
// loopback port sending frames as multipart/x-mixed-replace at fps, in a
// loop. stop() takes it off the network (listener and connections
// closed); start() brings it back on the same port.
type mjpegCamera struct {
	port   int
	frames [][]byte
	fps    float64
	mu     sync.Mutex
	srv    *http.Server
}

func (c *mjpegCamera) url() string { return fmt.Sprintf("http://127.0.0.1:%d/stream.mjpg", c.port) }

func (c *mjpegCamera) start() error {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", c.port))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(c.serve)}
	c.mu.Lock()
	c.srv = srv
	c.mu.Unlock()
	go srv.Serve(ln)
	return nil
}

func (c *mjpegCamera) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srv != nil {
		c.srv.Close()
		c.srv = nil
	}
}

func (c *mjpegCamera) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
	tick := time.NewTicker(time.Duration(float64(time.Second) / c.fps))
	defer tick.Stop()
	for i := 0; ; i++ {
		f := c.frames[i%len(c.frames)]
		if _, err := fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(f)); err != nil {
			return
		}
		if _, err := w.Write(f); err != nil {
			return
		}
		if _, err := io.WriteString(w, "\r\n"); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-tick.C:
		case <-r.Context().Done():
			return
		}
	}
}

// proveCameraGone streams the clip from an HTTP MJPEG camera the suite
// owns, takes the camera off the network for 10 s and brings it back:
// lprd reports it unavailable (log and health), opens it again, reads on,
// and loses nothing.
func proveCameraGone(e *proveEnv) proveRow {
	b, err := os.ReadFile(e.clip)
	if err != nil {
		return failRow("%v", err)
	}
	port, err := freePort()
	if err != nil {
		return failRow("%v", err)
	}
	cam := &mjpegCamera{port: port, frames: mjpegFrames(b), fps: 15}
	if len(cam.frames) < 10 {
		return failRow("%d JPEG frames in %s: not an MJPEG AVI", len(cam.frames), e.clip)
	}
	if err := cam.start(); err != nil {
		return failRow("%v", err)
	}
	defer cam.stop()
	s, err := e.startStreamWith("prove-camera", true, map[string]string{"LPRD_CAMERA": cam.url(), "LPRD_FUSION_SUPPRESS": "1s"})
	if err != nil {
		return failRow("%v", err)
	}
	defer s.stop()
	if !waitFor(90*time.Second, func() bool { return len(storedEvents(fileText(s.log))) >= 1 }) {
		return failRow("no read from the camera: %.300s", fileText(s.log))
	}
	cam.stop()
	gone := func() bool { return strings.Contains(fileText(s.log), "camera unavailable; reopening") }
	noticed := waitFor(30*time.Second, gone)
	time.Sleep(10 * time.Second)
	h, _ := e.health("prove-camera")
	state := fmt.Sprint(h["camera_state"])
	streams := strings.Count(fileText(s.log), "camera streaming")
	storedBack := len(storedEvents(fileText(s.log)))
	if err := cam.start(); err != nil {
		return failRow("camera back: %v", err)
	}
	back := time.Now()
	var rec time.Duration
	if waitFor(2*time.Minute, func() bool { return strings.Count(fileText(s.log), "camera streaming") > streams }) {
		rec = time.Since(back)
	}
	readsAfter := waitFor(90*time.Second, func() bool { return len(storedEvents(fileText(s.log))) > storedBack })
	code, dl := s.finish()
	pass := dl.produced > 0 && dl.lost == 0 && dl.duplicates == 0 && noticed && rec > 0 && readsAfter && state != "streaming"
	return proveRow{pass: pass, figure: fmt.Sprintf("%s; HTTP MJPEG camera off the network 10 s: logged %v, health camera_state %q; streaming again %s after it came back, reads after it %v; exit %d",
		dl, noticed, state, recDur(rec), readsAfter, code)}
}
