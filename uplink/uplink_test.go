package uplink

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/receiver"
	"github.com/lprd/lprd/uplink/uplinktest"
)

// keys is a backend key pair and a device key pair for tests.
type keys struct {
	rcpt   *envelope.RecipientPrivateKey
	signer ed25519.PrivateKey
}

func newKeys(t testing.TB, kem uint16) keys {
	t.Helper()
	r, err := envelope.GenerateRecipientKey(kem)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := envelope.GenerateSigningKey()
	return keys{r, s}
}

func (k keys) receiver(t testing.TB, device string) *receiver.Receiver {
	t.Helper()
	r, err := receiver.New(receiver.Options{
		RecipientKeys: []*envelope.RecipientPrivateKey{k.rcpt},
		DeviceKeys:    map[string][]ed25519.PublicKey{device: {k.signer.Public().(ed25519.PublicKey)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (k keys) pub() []ed25519.PublicKey {
	return []ed25519.PublicKey{k.signer.Public().(ed25519.PublicKey)}
}

// word returns the status word of a status message that k's device signed
// for topic, or "" for anything else (unsigned, another key or topic).
func (k keys) word(topic string, payload []byte) string {
	m, err := envelope.VerifyMonitor(payload, topic, k.pub())
	if err != nil {
		return ""
	}
	return m.Status()
}

// health verifies a health message that k's device signed for topic and
// returns its body.
func (k keys) health(t testing.TB, topic string, payload []byte) Health {
	t.Helper()
	var h Health
	m, err := envelope.VerifyMonitor(payload, topic, k.pub())
	if err != nil {
		t.Errorf("health message %s: %v", payload, err)
		return h
	}
	if err := json.Unmarshal(m.Body, &h); err != nil {
		t.Errorf("health body %s: %v", m.Body, err)
	}
	if !m.Time.Equal(h.Time) {
		t.Errorf("health signed at %v; its time field is %v", m.Time, h.Time)
	}
	return h
}

// testPlate matches the test events' plate texts. A bare "PLT" is not enough to look for in a
// payload: it turns up by chance in the base64 of a signature, about once in a hundred runs.
var testPlate = regexp.MustCompile(`PLT[0-9]{4}`)

func testEvent(i int, at time.Time) Event {
	return Event{
		Lane: "3", FirstSeen: at.Add(-time.Second), LastSeen: at, Plate: fmt.Sprintf("PLT%04d", i),
		Confidence: 0.91, Candidates: []Candidate{{Text: fmt.Sprintf("PLT%04d", i), Confidence: 0.91}},
		Format: "us", Frames: 5, Box: Box{X: 1, Y: 2, W: 100, H: 30}, Model: "test-1",
	}
}

func suiteFor(k keys) string {
	if k.rcpt.KEM == envelope.KEMX25519 {
		return "x25519-chacha20poly1305"
	}
	return "mlkem768x25519-chacha20poly1305"
}

func fakeOptions(t testing.TB, k keys, fc *uplinktest.FakeClient) Options {
	return Options{
		Broker: "tcp://127.0.0.1:1", AllowPlaintext: true, Site: "port-a", DeviceID: "dev1",
		RecipientKey: k.rcpt.Public(), SigningKey: k.signer, Suite: suiteFor(k),
		StateDir: t.TempDir(), PublishTimeout: 2 * time.Second, HealthInterval: time.Hour,
		NewClient: fc.Factory(), Version: "test",
	}
}

func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkGoroutines fails the test when goroutines started during it are
// still running a moment after it ended.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("%d goroutines leaked:\n%s", runtime.NumGoroutine()-before, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// run starts u.Run and returns a stop function that cancels it, waits and
// closes u.
func run(t testing.TB, u *Uplink) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := u.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			if err := u.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestSubmitPublishAck(t *testing.T) {
	checkGoroutines(t)
	k := newKeys(t, envelope.KEMX25519)
	fc := &uplinktest.FakeClient{}
	u, err := New(context.Background(), fakeOptions(t, k, fc))
	if err != nil {
		t.Fatal(err)
	}
	reads, status, health := u.Topics()
	if reads != "lpr/port-a/dev1/reads" || status != "lpr/port-a/dev1/status" || health != "lpr/port-a/dev1/health" {
		t.Errorf("Topics() = %s %s %s", reads, status, health)
	}
	cfg := fc.Config()
	if cfg.Will == nil || cfg.Will.Topic != status || !cfg.Will.Retained || cfg.ClientID != "lprd-dev1" || !cfg.CleanSession {
		t.Errorf("client config = %+v, will %+v", cfg, cfg.Will)
	}
	// The Last Will is signed when the uplink is made: its time is the start.
	if m, err := envelope.VerifyMonitor(cfg.Will.Payload, status, k.pub()); err != nil || m.Status() != StatusOffline || m.DeviceID != "dev1" || !m.Time.Equal(u.start) {
		t.Errorf("Last Will %s = %+v, %v; want offline signed by dev1 at the start, %v", cfg.Will.Payload, m, err, u.start)
	}
	stop := run(t, u)
	now := time.Now()
	for i := 0; i < 20; i++ {
		if err := u.Submit(testEvent(i, now)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "20 acknowledged reads", 5*time.Second, func() bool { return u.Health().ReadsSent == 20 })
	stop()

	rcv := k.receiver(t, "dev1")
	for i, p := range fc.Published(reads) {
		if p.QoS != 1 || p.Retained {
			t.Errorf("read %d published with QoS %d retained %v", i, p.QoS, p.Retained)
		}
		rd, err := rcv.Accept(p.Payload)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if want := fmt.Sprintf("PLT%04d", i); rd.Event.Plate != want {
			t.Errorf("read %d: plate %q; want %q (order)", i, rd.Event.Plate, want)
		}
	}
	st := fc.Published(status)
	if len(st) < 2 || k.word(status, st[0].Payload) != StatusOnline || k.word(status, st[len(st)-1].Payload) != StatusStopped || !st[0].Retained {
		t.Errorf("status messages = %v; want online ... stopped, signed by dev1", st)
	}
	hs := fc.Published(health)
	if len(hs) == 0 || !hs[0].Retained {
		t.Fatalf("health messages = %v; want retained ones", hs)
	}
	if h := k.health(t, health, hs[len(hs)-1].Payload); h.ReadsSent != 20 || h.Version != "test" {
		t.Errorf("last health = %+v; want 20 reads sent, version test", h)
	}
	// Signed for their own topics: moved to the other one they do not verify.
	if k.word(health, st[0].Payload) != "" {
		t.Error("a status message verified on the health topic")
	}
	other := newKeys(t, envelope.KEMX25519)
	if other.word(status, st[0].Payload) != "" {
		t.Error("a status message verified with another device's key")
	}
	for _, p := range fc.Published("") {
		if p.Topic != reads && testPlate.Match(p.Payload) {
			t.Errorf("plate text on %s: %s", p.Topic, p.Payload)
		}
	}
}

// A lost connection fails the pending tokens; the loop reconnects and
// republishes from the oldest unacknowledged envelope, in order, so the
// receiver gets everything (some twice, dropped as duplicates).
func TestRepublishAfterConnectionLoss(t *testing.T) {
	checkGoroutines(t)
	k := newKeys(t, envelope.KEMX25519)
	fc := &uplinktest.FakeClient{HoldAcks: true}
	u, err := New(context.Background(), fakeOptions(t, k, fc))
	if err != nil {
		t.Fatal(err)
	}
	reads, _, _ := u.Topics()
	stop := run(t, u)
	now := time.Now()
	for i := 0; i < 10; i++ {
		if err := u.Submit(testEvent(i, now)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "10 publishes", 5*time.Second, func() bool { return len(fc.Published(reads)) >= 10 })
	fc.Drop()
	waitFor(t, "a reconnection", 5*time.Second, func() bool { return fc.Connects() >= 2 })
	waitFor(t, "20 publishes", 5*time.Second, func() bool { return len(fc.Published(reads)) >= 20 })
	fc.SetHoldAcks(false)
	fc.Ack()
	waitFor(t, "an empty outbox", 5*time.Second, func() bool { return u.Health().OutboxDepth == 0 })
	stop()

	rcv := k.receiver(t, "dev1")
	var plates []string
	for _, p := range fc.Published(reads) {
		rd, err := rcv.Accept(p.Payload)
		if receiver.ReasonOf(err) == receiver.Duplicate {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		plates = append(plates, rd.Event.Plate)
	}
	if len(plates) != 10 {
		t.Fatalf("receiver got %d distinct reads; want 10", len(plates))
	}
	for i, p := range plates {
		if want := fmt.Sprintf("PLT%04d", i); p != want {
			t.Errorf("read %d = %s; want %s", i, p, want)
		}
	}
}

func TestOutboxSurvivesRestartWithoutBroker(t *testing.T) {
	checkGoroutines(t)
	k := newKeys(t, envelope.KEMX25519)
	down := &uplinktest.FakeClient{ConnectErr: func() error { return errors.New("broker down") }}
	opt := fakeOptions(t, k, down)
	opt.MaxReconnectInterval = 10 * time.Millisecond
	u, err := New(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, u)
	for i := 0; i < 5; i++ {
		if err := u.Submit(testEvent(i, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	if h := u.Health(); h.OutboxDepth != 5 || h.MQTTConnected {
		t.Errorf("Health() while down = depth %d connected %v", h.OutboxDepth, h.MQTTConnected)
	}
	stop()

	up := &uplinktest.FakeClient{}
	opt.NewClient = up.Factory()
	u2, err := New(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	stop = run(t, u2)
	waitFor(t, "the backlog", 5*time.Second, func() bool { return u2.Health().ReadsSent == 5 })
	stop()
	rcv := k.receiver(t, "dev1")
	reads, _, _ := u2.Topics()
	for _, p := range up.Published(reads) {
		if _, err := rcv.Accept(p.Payload); err != nil {
			t.Error(err)
		}
	}
}

func TestSubmitRejects(t *testing.T) {
	k := newKeys(t, envelope.KEMX25519)
	fc := &uplinktest.FakeClient{}
	u, err := New(context.Background(), fakeOptions(t, k, fc))
	if err != nil {
		t.Fatal(err)
	}
	ev := testEvent(1, time.Now())
	ev.DeviceID = "other"
	if err := u.Submit(ev); err == nil {
		t.Error("Submit(event of another device) = nil error")
	}
	ev = testEvent(1, time.Now())
	ev.Confidence = 2
	err = u.Submit(ev)
	if !errors.Is(err, envelope.ErrInvalidEvent) || bytes.Contains([]byte(err.Error()), []byte("PLT")) {
		t.Errorf("Submit(bad confidence) error %v; want ErrInvalidEvent without plate text", err)
	}
	u.opt.Now = func() time.Time { return time.Unix(3600, 0) }
	if err := u.Submit(testEvent(1, time.Now())); !errors.Is(err, ErrClockNotSet) {
		t.Errorf("Submit with a 1970 clock error %v; want ErrClockNotSet", err)
	}
	u.opt.Now = time.Now
	u.Close()
	if err := u.Submit(testEvent(2, time.Now())); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close error %v; want ErrClosed", err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	k := newKeys(t, envelope.KEMX25519)
	for name, edit := range map[string]func(*Options){
		"no device":       func(o *Options) { o.DeviceID = "" },
		"bad site":        func(o *Options) { o.Site = "a/b" },
		"wildcard prefix": func(o *Options) { o.TopicPrefix = "lpr/#" },
		"no state":        func(o *Options) { o.StateDir = "" },
		"suite mismatch":  func(o *Options) { o.Suite = "mlkem768x25519-chacha20poly1305" },
		"bad policy":      func(o *Options) { o.OutboxPolicy = "keep-all" },
		"missing key file": func(o *Options) {
			o.RecipientKey = nil
			o.RecipientKeyFile = filepath.Join(t.TempDir(), "nope.pub")
		},
	} {
		opt := fakeOptions(t, k, &uplinktest.FakeClient{})
		edit(&opt)
		if u, err := New(context.Background(), opt); err == nil {
			u.Close()
			t.Errorf("%s: New() = nil error", name)
		}
	}
}

func TestHealthJSON(t *testing.T) {
	k := newKeys(t, envelope.KEMX25519)
	opt := fakeOptions(t, k, &uplinktest.FakeClient{})
	sys := t.TempDir()
	zone := filepath.Join(sys, "class", "thermal", "thermal_zone0")
	os.MkdirAll(zone, 0o755)
	os.WriteFile(filepath.Join(zone, "type"), []byte("cpu-thermal\n"), 0o644)
	os.WriteFile(filepath.Join(zone, "temp"), []byte("48312\n"), 0o644)
	opt.SysfsRoot = sys
	opt.HealthFunc = func(h *Health) {
		h.ModelVersion, h.CameraState, h.FPSIn, h.GPIO = "ctc-1", "streaming", 25, map[string]string{"presence": "low"}
	}
	u, err := New(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	b, _ := json.Marshal(u.Health())
	var m map[string]any
	json.Unmarshal(b, &m)
	for key, want := range map[string]any{"cpu_temp_c": 48.312, "model_version": "ctc-1", "camera_state": "streaming", "fps_in": 25.0, "version": "test", "outbox_depth": 0.0} {
		if m[key] != want {
			t.Errorf("health %s = %v; want %v (%s)", key, m[key], want, b)
		}
	}
	if CPUTemperature(t.TempDir()) != nil {
		t.Error("CPUTemperature(empty root) != nil")
	}
}

// A publish that gets no PUBACK within PublishTimeout is retried on a new
// connection; nothing is removed from the outbox meanwhile.
func TestPublishTimeoutReconnects(t *testing.T) {
	checkGoroutines(t)
	k := newKeys(t, envelope.KEMX25519)
	fc := &uplinktest.FakeClient{HoldAcks: true}
	opt := fakeOptions(t, k, fc)
	opt.PublishTimeout = 100 * time.Millisecond
	u, err := New(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	reads, _, _ := u.Topics()
	stop := run(t, u)
	if err := u.Submit(testEvent(1, time.Now())); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a second connection", 5*time.Second, func() bool { return fc.Connects() >= 2 && len(fc.Published(reads)) >= 2 })
	if h := u.Health(); h.OutboxDepth != 1 || h.PublishErrors == 0 {
		t.Errorf("Health() = depth %d, publish errors %d; want 1 and > 0", h.OutboxDepth, h.PublishErrors)
	}
	fc.SetHoldAcks(false)
	fc.Ack()
	waitFor(t, "the acknowledgement", 5*time.Second, func() bool { return u.Health().OutboxDepth == 0 })
	stop()
}
