package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/mqttclient"
	"github.com/lprd/lprd/uplink/uplinktest"
)

// backendSetup is a backend key pair and one device, made by lprctl keygen,
// and a sealer for that device's reads.
type backendSetup struct {
	backendKey, devices string
	sealer              *envelope.Sealer
}

func newBackendSetup(t *testing.T, device string) *backendSetup {
	t.Helper()
	dir := t.TempDir()
	s := &backendSetup{backendKey: filepath.Join(dir, "backend.key"), devices: filepath.Join(dir, "devices")}
	os.Mkdir(s.devices, 0o755)
	if _, e, code := lprctl(t, "keygen", "-backend", "-kem", "x25519", "-out", dir); code != 0 {
		t.Fatalf("keygen -backend: %s", e)
	}
	if _, e, code := lprctl(t, "keygen", "-device", device, "-out", dir); code != 0 {
		t.Fatalf("keygen -device: %s", e)
	}
	os.Rename(filepath.Join(dir, device+".pub"), filepath.Join(s.devices, device+".pub"))
	pub, err := envelope.LoadRecipientPublicKey(filepath.Join(dir, "backend.pub"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := envelope.LoadSigningPrivateKey(filepath.Join(dir, device+".key"))
	if err != nil {
		t.Fatal(err)
	}
	if s.sealer, err = envelope.NewSealer(device, envelope.SuiteX25519ChaCha20, pub, signer); err != nil {
		t.Fatal(err)
	}
	return s
}

// read seals read number seq of the device at site port-a.
func (s *backendSetup) read(t *testing.T, device string, seq uint64) []byte {
	t.Helper()
	at := time.Now()
	ev := envelope.Event{V: 1, EventID: envelope.NewEventID(at), DeviceID: device, Site: "port-a", FirstSeen: at, LastSeen: at,
		Plate: "ABC1234", Confidence: 0.9, Frames: 3}
	plain, err := ev.MarshalCanonical()
	if err != nil {
		t.Fatal(err)
	}
	env, err := s.sealer.Seal(seq, at, plain)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// listener is lprctl listen running in the test process.
type listener struct {
	t      *testing.T
	out    string
	stderr *uplinktest.Buffer
	cancel context.CancelFunc
	done   chan int
}

func startListener(t *testing.T, args ...string) *listener {
	t.Helper()
	return startListenerOut(t, filepath.Join(t.TempDir(), "reads.jsonl"), args...)
}

// startListenerOut starts lprctl listen appending to the output file out.
func startListenerOut(t *testing.T, out string, args ...string) *listener {
	t.Helper()
	l := &listener{t: t, out: out, stderr: &uplinktest.Buffer{}, done: make(chan int, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go func() {
		l.done <- run(ctx, append([]string{"listen", "-out", l.out}, args...), &uplinktest.Buffer{}, l.stderr)
	}()
	l.waitStderr("subscribed", 1, 10*time.Second)
	return l
}

// waitStderr waits until stderr holds s n times.
func (l *listener) waitStderr(s string, n int, d time.Duration) {
	l.t.Helper()
	deadline := time.Now().Add(d)
	for strings.Count(l.stderr.String(), s) < n {
		select {
		case code := <-l.done:
			l.t.Fatalf("listen exited %d: %s", code, l.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("listen stderr has not %d× %q after %v:\n%s", n, s, d, l.stderr.String())
		}
	}
}

func (l *listener) lines() int {
	b, _ := os.ReadFile(l.out)
	return bytes.Count(b, []byte("\n"))
}

// waitLines waits until the output has n lines and returns how long that
// took.
func (l *listener) waitLines(n int, d time.Duration) time.Duration {
	l.t.Helper()
	start := time.Now()
	for l.lines() < n {
		if time.Since(start) > d {
			l.t.Fatalf("listen wrote %d lines after %v; want %d; stderr:\n%s", l.lines(), d, n, l.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func (l *listener) stop() int {
	l.cancel()
	return <-l.done
}

func publish(t *testing.T, broker, topic string, payload []byte) {
	t.Helper()
	c, err := mqttclient.New(mqttclient.Config{Broker: broker, AllowPlaintext: true, ClientID: "test-pub", CleanSession: true})
	if err != nil {
		t.Fatal(err)
	}
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

// After a broker outage the listener is back within -reconnect-max of the
// broker's return, subscribes again, and receives what is published then:
// with a persistent session and with a clean one (where only the new
// subscription brings the reads).
func TestIntegrationListenReconnect(t *testing.T) {
	for _, clean := range []bool{false, true} {
		name := "persistent"
		if clean {
			name = "clean"
		}
		t.Run(name, func(t *testing.T) {
			b := uplinktest.StartMosquitto(t, nil)
			s := newBackendSetup(t, "cam1")
			const reconnectMax = time.Second
			l := startListener(t, "-broker", b.URL(), "-allow-plaintext", "-backend-key", s.backendKey, "-devices", s.devices,
				"-state", "", "-client-id", "test-listen-"+name, "-reconnect-max", reconnectMax.String(), "-clean="+map[bool]string{true: "true", false: "false"}[clean])
			const topic = "lpr/port-a/cam1/reads"
			publish(t, b.URL(), topic, s.read(t, "cam1", 1))
			l.waitLines(1, 5*time.Second)

			b.Stop()
			l.waitStderr("connection to", 1, 5*time.Second)
			const outage = 5 * time.Second
			time.Sleep(outage) // long enough for the back-off to reach its cap
			b.Start()
			restarted := time.Now()
			if clean {
				// The broker keeps nothing for a clean session: publish
				// once the listener has subscribed again.
				l.waitStderr("subscribed", 2, 10*time.Second)
				t.Logf("clean session: subscribed again %v after the broker's restart", time.Since(restarted).Round(time.Millisecond))
			}
			publish(t, b.URL(), topic, s.read(t, "cam1", 2))
			l.waitLines(2, 10*time.Second)
			took := time.Since(restarted)
			t.Logf("%s session: read published after a %v outage received %v after the broker's restart (-reconnect-max %v)", name, outage, took.Round(time.Millisecond), reconnectMax)
			if limit := reconnectMax + 2*time.Second; took > limit {
				t.Errorf("read received %v after the restart; want within %v", took, limit)
			}
			// With a persistent session the queued read may come before
			// the new subscription is confirmed.
			l.waitStderr("subscribed", 2, 5*time.Second)
			if n := strings.Count(l.stderr.String(), "subscribed"); n != 2 {
				t.Errorf("subscribed %d times; want once more after the outage", n)
			}
			if code := l.stop(); code != 0 {
				t.Errorf("listen exit %d", code)
			}
			if e := l.stderr.String(); !strings.Contains(e, "accepted=2") {
				t.Errorf("listen stderr lacks accepted=2:\n%s", e)
			}
		})
	}
}

// Without -state, the listener keeps its replay memory in the default state
// file: after a restart, a replay of a read it already output is refused.
// -state "" keeps none, with a warning.
func TestIntegrationListenDefaultState(t *testing.T) {
	b := uplinktest.StartMosquitto(t, nil)
	s := newBackendSetup(t, "cam1")
	stateHome := t.TempDir()
	t.Setenv("XDG_STATE_HOME", stateHome)
	t.Setenv("STATE_DIRECTORY", "")
	t.Setenv("LPRCTL_STATE", "")
	os.Unsetenv("LPRCTL_STATE")
	args := []string{"-broker", b.URL(), "-allow-plaintext", "-backend-key", s.backendKey, "-devices", s.devices, "-client-id", "test-state", "-clean"}
	const topic = "lpr/port-a/cam1/reads"
	env := s.read(t, "cam1", 1)

	l := startListener(t, args...)
	if e := l.stderr.String(); strings.Contains(e, "warning: no -state") {
		t.Errorf("listen with the default state warns:\n%s", e)
	}
	publish(t, b.URL(), topic, env)
	l.waitLines(1, 5*time.Second)
	if code := l.stop(); code != 0 {
		t.Fatalf("listen exit %d", code)
	}
	statePath := filepath.Join(stateHome, "lprctl", "listen-test-state.json")
	if fi, err := os.Stat(statePath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("default state file: %v", err)
	}

	l = startListener(t, args...)
	publish(t, b.URL(), topic, env)
	publish(t, b.URL(), "lpr/port-a/cam2/reads", s.read(t, "cam1", 2))
	publish(t, b.URL(), topic, s.read(t, "cam1", 3))
	l.waitLines(1, 5*time.Second)
	l.waitStderr("topic-mismatch", 1, 5*time.Second)
	l.stop()
	if e := l.stderr.String(); !strings.Contains(e, "rejected (duplicate) device cam1 seq 1") || !strings.Contains(e, "accepted=1") {
		t.Errorf("replay after a restart with the default state was not refused:\n%s", e)
	}

	l = startListener(t, append(args, "-state", "")...)
	l.stop()
	if e := l.stderr.String(); !strings.Contains(e, "warning: no -state") {
		t.Errorf("listen -state \"\" does not warn:\n%s", e)
	}
}

// A listener killed after it output a read and before it saved its state
// (and acknowledged the read) gets the read again from the broker after its
// restart: it finds the read at the end of its output and drops the
// redelivery instead of outputting it twice. A line torn by the kill is
// ended, so the next read is a line of its own.
func TestIntegrationListenRecallsOutput(t *testing.T) {
	b := uplinktest.StartMosquitto(t, nil)
	s := newBackendSetup(t, "cam1")
	dir := t.TempDir()
	out, state := filepath.Join(dir, "reads.jsonl"), filepath.Join(dir, "listen.state")
	args := []string{"-broker", b.URL(), "-allow-plaintext", "-backend-key", s.backendKey, "-devices", s.devices,
		"-client-id", "test-recall", "-state", state}
	const topic = "lpr/port-a/cam1/reads"
	l := startListenerOut(t, out, args...)
	publish(t, b.URL(), topic, s.read(t, "cam1", 1))
	l.waitLines(1, 5*time.Second)
	if code := l.stop(); code != 0 {
		t.Fatalf("listen exit %d", code)
	}

	// What the kill leaves: read 2 output, not in the state, then a torn line.
	at := time.Now()
	ev := envelope.Event{V: 1, EventID: envelope.NewEventID(at), DeviceID: "cam1", Site: "port-a", FirstSeen: at, LastSeen: at,
		Plate: "ABC1234", Confidence: 0.9, Frames: 3}
	plain, err := ev.MarshalCanonical()
	if err != nil {
		t.Fatal(err)
	}
	env2, err := s.sealer.Seal(2, at, plain)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := json.Marshal(readLine{DeviceID: "cam1", Seq: 2, Event: plain})
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(append(line, '\n'))
	f.WriteString(`{"received_at":"2026-`)
	f.Close()

	l = startListenerOut(t, out, args...)
	l.waitStderr("1 read(s) in the output were not in the replay state", 1, 5*time.Second)
	publish(t, b.URL(), topic, env2)
	l.waitStderr("rejected (duplicate) device cam1 seq 2", 1, 5*time.Second)
	publish(t, b.URL(), topic, s.read(t, "cam1", 3))
	l.waitLines(4, 5*time.Second) // read 1, read 2, the torn line, read 3
	if code := l.stop(); code != 0 {
		t.Fatalf("listen exit %d", code)
	}
	b2, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSuffix(string(b2), "\n"), "\n")
	var last readLine
	if len(lines) != 4 || json.Unmarshal([]byte(lines[3]), &last) != nil || last.Seq != 3 {
		t.Errorf("output after the restart:\n%s\nwant reads 1 and 2, the torn line ended, read 3 on a line of its own", b2)
	}
}
