// The proof suite's end-to-end acknowledgement row: reads the broker
// acknowledged and then forgot (SIGKILL with mosquitto's default 30-minute
// autosave, the listener away) still reach the backend, because lprd keeps
// each read until the backend's signed ack (docs/acks.md).

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// acksBroker starts a second mosquitto like the suite's, but with
// mosquitto's default autosave interval (30 minutes): what it acknowledged
// since its start is gone after a SIGKILL.
func (e *proveEnv) acksBroker() (*proveBroker, error) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/mosquitto"); err != nil {
			return nil, fmt.Errorf("mosquitto not found (scripts/setup installs it)")
		}
	}
	b := &proveBroker{env: e, dir: filepath.Join(e.work, "acks-broker")}
	if b.Port, err = freePort(); err != nil {
		return nil, err
	}
	conf := []string{
		fmt.Sprintf("listener %d 127.0.0.1", b.Port),
		"persistence true", "persistence_location " + b.dir + "/",
		"max_queued_messages 0", "max_inflight_messages 0",
		"log_dest file " + filepath.Join(b.dir, "mosquitto.log"), "log_type error", "log_type warning", "log_type notice",
		"cafile " + e.pki.CA, "certfile " + e.pki.ServerCert, "keyfile " + e.pki.ServerKey,
		"require_certificate true", "use_identity_as_username true",
	}
	if os.Geteuid() == 0 {
		conf = append(conf, "user root")
	}
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(b.dir, "mosquitto.conf"), []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	return b, b.start(bin)
}

// acksListen starts lprctl listen on b with the backend signing key (it
// publishes acks), a fixed client id and a state file in dir.
func (e *proveEnv) acksListen(b *proveBroker, dir string) (*proveListener, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	l := &proveListener{out: filepath.Join(dir, "reads.json"), log: filepath.Join(dir, "listen.log"), dir: dir}
	before := strings.Count(fileText(l.log), "subscribed to")
	p, err := e.start(proveCmd{name: "lprctl listen (acks)", dir: dir, log: l.log, out: l.out}, filepath.Join(e.bin, "lprctl"), "listen",
		"-broker", b.URL(), "-ca", e.pki.CA, "-cert", e.pki.ClientCert, "-key", e.pki.ClientKey,
		"-backend-key", e.backendKey, "-devices", e.devices, "-client-id", "prove-acks",
		"-state", filepath.Join(dir, "listen.state"), "-backend-signing-key", filepath.Join(filepath.Dir(e.backendKey), "backend-signing.key"))
	if err != nil {
		return nil, err
	}
	l.proc = p
	if !waitFor(30*time.Second, func() bool { return strings.Count(fileText(l.log), "subscribed to") > before || p.exited() }) || p.exited() {
		return nil, fmt.Errorf("lprctl listen did not subscribe: %s", fileText(l.log))
	}
	return l, nil
}

// outboxFiles counts the reads in an outbox folder: waiting for the broker
// (.env) and for the backend (.sent).
func outboxFiles(dir string) (env, sent int) {
	names, _ := os.ReadDir(dir)
	for _, n := range names {
		switch {
		case strings.HasSuffix(n.Name(), ".env"):
			env++
		case strings.HasSuffix(n.Name(), ".sent"):
			sent++
		}
	}
	return env, sent
}

// proveAcksBrokerKill: the listener is away (its persistent session made),
// lprd replays the clip with LPRD_BACKEND_VERIFY_KEY, the broker acknowledges
// every read and is SIGKILLed before its 30-minute save; after its restart
// the listener comes back and lprd runs again: every read stored reaches the
// listener, none twice, and the outbox ends empty.
func proveAcksBrokerKill(e *proveEnv) proveRow {
	b, err := e.acksBroker()
	if err != nil {
		return failRow("%v", err)
	}
	defer b.proc.stop(syscall.SIGTERM, 10*time.Second)
	dir := filepath.Join(e.work, "acks")
	l, err := e.acksListen(b, filepath.Join(dir, "listen"))
	if err != nil {
		return failRow("%v", err)
	}
	l.proc.stop(syscall.SIGTERM, 15*time.Second)
	envFile, state := filepath.Join(dir, "lprd.env"), filepath.Join(dir, "state")
	if err := e.lprdEnv(envFile, "prove-acks", map[string]string{"LPRD_MQTT_BROKER": b.URL(), "LPRD_STATE_DIR": state,
		"LPRD_BACKEND_VERIFY_KEY": filepath.Join(filepath.Dir(e.backendKey), "backend-signing.pub"), "LPRD_BACKEND_CONFIRM_TIMEOUT": "1s"}); err != nil {
		return failRow("%v", err)
	}
	log := filepath.Join(dir, "lprd.log")
	runOnce := func() int {
		p, err := e.start(proveCmd{name: "lprd (acks)", dir: dir, log: log}, filepath.Join(e.bin, "lprd"), "run", "-env", envFile)
		if err != nil {
			return -1
		}
		code, ok := p.wait(3 * time.Minute)
		if !ok {
			p.stop(syscall.SIGKILL, 5*time.Second)
		}
		return code
	}
	code1 := runOnce()
	stored1 := len(storedEvents(fileText(log)))
	_, waiting := outboxFiles(filepath.Join(state, "outbox"))
	b.proc.stop(syscall.SIGKILL, 10*time.Second)
	if err := b.Start(); err != nil {
		return failRow("broker restart: %v", err)
	}
	if l, err = e.acksListen(b, filepath.Join(dir, "listen")); err != nil {
		return failRow("%v", err)
	}
	defer l.proc.stop(syscall.SIGTERM, 15*time.Second)
	code2 := runOnce()
	dl := waitDelivered(l, log, 60*time.Second)
	envLeft, sentLeft := outboxFiles(filepath.Join(state, "outbox"))
	pass := code1 == 0 && code2 == 0 && stored1 > 0 && waiting == stored1 && dl.lost == 0 && dl.duplicates == 0 && envLeft+sentLeft == 0
	return proveRow{pass: pass, figure: fmt.Sprintf("run 1: %d stored, %d acknowledged by the broker and waiting for the backend at the SIGKILL; after it: %s; outbox left %d; exits %d, %d",
		stored1, waiting, dl, envLeft+sentLeft, code1, code2)}
}
