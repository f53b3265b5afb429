package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lprd/lprd/internal/config"
	"github.com/lprd/lprd/ocr/fusion"
	"github.com/lprd/lprd/uplink"
	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/hotlist"
	"github.com/lprd/lprd/uplink/receiver"
	"github.com/lprd/lprd/uplink/uplinktest"
)

// fastParams keep the tests quick; the real cost is hotlist's BenchmarkHash.
var fastParams = hotlist.Params{Time: 1, Memory: 64, Threads: 1}

type privacyKeys struct {
	dir            string
	backend        *envelope.RecipientPrivateKey
	device, signer ed25519.PrivateKey // the device's key; the backend's signing key
	site           *hotlist.SiteKey
}

func newPrivacyKeys(t *testing.T) *privacyKeys {
	t.Helper()
	k := &privacyKeys{dir: t.TempDir()}
	var err error
	if k.backend, err = envelope.GenerateRecipientKey(envelope.KEMX25519); err != nil {
		t.Fatal(err)
	}
	if k.device, err = envelope.GenerateSigningKey(); err != nil {
		t.Fatal(err)
	}
	if k.signer, err = envelope.GenerateSigningKey(); err != nil {
		t.Fatal(err)
	}
	if k.site, err = hotlist.GenerateSiteKey(); err != nil {
		t.Fatal(err)
	}
	dev, _ := envelope.MarshalSigningPrivateKey(k.device)
	pub, _ := envelope.MarshalSigningPublicKey(k.signer.Public().(ed25519.PublicKey))
	writeFile(t, filepath.Join(k.dir, "backend.pub"), k.backend.Public().MarshalPEM())
	writeFile(t, filepath.Join(k.dir, "device.key"), dev)
	writeFile(t, filepath.Join(k.dir, "backend-signing.pub"), pub)
	writeFile(t, filepath.Join(k.dir, "site.key"), k.site.MarshalPEM())
	writeFile(t, filepath.Join(k.dir, "hotlist.bin"), k.list(t, 1, "7ABC123"))
	return k
}

// list is a signed hotlist of site "test".
func (k *privacyKeys) list(t *testing.T, version uint64, plates ...string) []byte {
	t.Helper()
	l, err := hotlist.Build(k.site, "test", version, time.Now(), fastParams, plates)
	if err != nil {
		t.Fatal(err)
	}
	return l.Marshal(k.signer)
}

func (k *privacyKeys) config(t *testing.T, mode, broker string, pki *uplinktest.PKI) config.Config {
	t.Helper()
	env := []string{
		"LPRD_DEVICE_ID=cam", "LPRD_SITE=test", "LPRD_CAMERA=/dev/video9", "LPRD_SEND_MODE=" + mode,
		"LPRD_MQTT_BROKER=" + broker, "LPRD_MQTT_ALLOW_PLAINTEXT=true", "LPRD_SUITE=x25519-chacha20poly1305",
		"LPRD_BACKEND_KEY=" + filepath.Join(k.dir, "backend.pub"), "LPRD_SIGNING_KEY=" + filepath.Join(k.dir, "device.key"),
		"LPRD_HOTLIST=" + filepath.Join(k.dir, "hotlist.bin"), "LPRD_HOTLIST_KEY=" + filepath.Join(k.dir, "site.key"),
		"LPRD_BACKEND_VERIFY_KEY=" + filepath.Join(k.dir, "backend-signing.pub"),
		"LPRD_STATE_DIR=" + filepath.Join(t.TempDir(), "state"), "LPRD_HEALTH_INTERVAL=1s",
	}
	if pki != nil {
		env = append(env, "LPRD_MQTT_CA="+pki.CAFile, "LPRD_MQTT_CERT="+pki.ClientCert, "LPRD_MQTT_KEY="+pki.ClientKey)
	}
	cfg, problems := config.Load("", env)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	return cfg
}

func result(plate string, cands ...string) fusion.Result {
	r := fusion.Result{FirstSeen: time.Now(), LastSeen: time.Now(), Plate: plate, Confidence: 0.9, Frames: 5,
		Box: image.Rect(1, 2, 3, 4), Reason: fusion.Left}
	for _, c := range append([]string{plate}, cands...) {
		r.Candidates = append(r.Candidates, fusion.Candidate{Text: c, Confidence: 0.5})
	}
	return r
}

// TestMinimiseModes: the sink's decision in each mode, on the events that would be sealed.
func TestMinimiseModes(t *testing.T) {
	k := newPrivacyKeys(t)
	hit, miss := result("7A8C123", "7ABC123"), result("5XYZ987", "5XYZ981", "SXYZ987", "5XY2987")
	for _, mode := range []string{"all", "hits", "hashed"} {
		cfg := k.config(t, mode, "tcp://127.0.0.1:1", nil)
		gate, err := cfg.OpenHotlist()
		if err != nil {
			t.Fatal(err)
		}
		d := &daemon{cfg: cfg, gate: gate}
		ev, send := d.minimise(toEvent(hit, "1"))
		if !send || ev.Plate != "7A8C123" || len(ev.Candidates) != 2 || ev.Candidates[1].Text != "7ABC123" {
			t.Errorf("%s: hit gave %v %+v", mode, send, ev)
		}
		ev, send = d.minimise(toEvent(miss, "1"))
		switch mode {
		case "all":
			if !send || ev.Plate != "5XYZ987" || len(ev.Candidates) != 4 {
				t.Errorf("all: miss gave %v %+v", send, ev)
			}
		case "hits":
			if send || ev.Plate != "" {
				t.Errorf("hits: miss gave %v %+v", send, ev)
			}
		case "hashed":
			want := hotlist.Hash(k.site, "test", fastParams, "5XYZ987").String()
			if !send || ev.Plate != want || len(ev.Candidates) != hotlist.DefaultK || ev.Candidates[0].Text != want ||
				ev.Candidates[0].Confidence != 0.5 || strings.Contains(ev.Candidates[2].Text, "XYZ") {
				t.Errorf("hashed: miss gave %v %+v, want plate %s", send, ev, want)
			}
			if err := (&envelope.Event{V: 1, EventID: envelope.NewEventID(time.Now()), DeviceID: "cam", Site: "test", Lane: "1",
				FirstSeen: ev.FirstSeen, LastSeen: ev.LastSeen, Plate: ev.Plate, Confidence: ev.Confidence,
				Candidates: ev.Candidates, Frames: ev.Frames, Box: ev.Box, Model: "m"}).Validate(); err != nil {
				t.Errorf("hashed event is not a valid event: %v", err)
			}
		}
		if st := gate.Stats(); st.ReadsSeen != 2 || (mode == "hits") != (st.ReadsDiscarded == 1) {
			t.Errorf("%s: stats %+v", mode, st)
		}
	}
}

// TestHotlistOverBroker runs the device's uplink against a real mosquitto in mode hits: a hit
// (read with B as 8) reaches the backend, a non-hit does not; a list pushed on the command
// topic is applied and kept in the state folder, a tampered or older one is refused and the
// current list stays; health reports it.
func TestHotlistOverBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	pki := uplinktest.NewPKI(t)
	broker := uplinktest.StartMosquitto(t, pki)
	k := newPrivacyKeys(t)
	cfg := k.config(t, "hits", broker.URL(), pki)
	cfg.MQTTAllowPlaintext = false

	var logs uplinktest.Buffer
	d := &daemon{cfg: cfg, log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	var err error
	if d.gate, err = cfg.OpenHotlist(); err != nil {
		t.Fatal(err)
	}
	opt := uplinkOptions(cfg, d.fillHealth, d.log)
	opt.Commands = d.commands()
	if d.up, err = uplink.New(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.up.Run(ctx) }()
	defer func() { cancel(); <-done; d.up.Close() }()

	spy := newSpy(t, broker.URL(), pki)
	waitFor(t, "the device online", func() bool { return d.up.Health().MQTTConnected })

	for _, r := range []fusion.Result{result("7A8C123"), result("5XYZ987")} {
		if err := d.submit(r); err != nil {
			t.Fatal(err)
		}
	}
	push := func(b []byte) { spy.publish(t, "lpr/test/cam/hotlist", b) }
	// Retained: the device gets it whenever its subscription is in place; once it has it,
	// the later pushes reach it live.
	push(k.list(t, 2, "7ABC123", "5XYZ987"))
	waitFor(t, "version 2", func() bool { return d.gate.Stats().HotlistVersion == 2 })
	tampered := k.list(t, 3, "9QQQ999")
	tampered[len(tampered)-80] ^= 1
	push(tampered)
	push(k.list(t, 1, "9QQQ999"))
	waitFor(t, "two refusals", func() bool { return d.gate.Stats().HotlistRefused == 2 })
	if err := d.submit(result("5XYZ987")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two reads", func() bool { return len(spy.reads()) >= 2 })

	recv, err := receiver.New(receiver.Options{RecipientKeys: []*envelope.RecipientPrivateKey{k.backend},
		DeviceKeys: map[string][]ed25519.PublicKey{"cam": {k.device.Public().(ed25519.PublicKey)}}})
	if err != nil {
		t.Fatal(err)
	}
	var plates []string
	for _, p := range spy.reads() {
		rd, err := recv.Accept(p)
		if err != nil {
			t.Fatal(err)
		}
		plates = append(plates, rd.Event.Plate)
	}
	if strings.Join(plates, ",") != "7A8C123,5XYZ987" {
		t.Errorf("reads at the backend %q; want the hit, then the plate added by the update", plates)
	}
	st := d.gate.Stats()
	if st.HotlistVersion != 2 || st.HotlistSize != 2 || st.ReadsSeen != 3 || st.ReadsDiscarded != 1 || st.HotlistUpdates != 1 {
		t.Errorf("stats %+v", st)
	}
	b, err := os.ReadFile(filepath.Join(cfg.StateDir, "hotlist"))
	if err != nil {
		t.Fatal(err)
	}
	if l, _, _, err := hotlist.Parse(b); err != nil || l.Version != 2 {
		t.Errorf("state copy: %v", err)
	}
	if h := d.up.Health(); h.Privacy == nil || h.Privacy.HotlistVersion != 2 || h.Privacy.Mode != hotlist.Hits {
		t.Errorf("health privacy %+v", h.Privacy)
	}
	for _, p := range []string{"7A8C123", "5XYZ987", "7ABC123", "9QQQ999"} {
		if strings.Contains(logs.String(), p) {
			t.Errorf("plate text in the log")
		}
	}
}

// spy is the backend's side of the broker: it records reads and publishes commands.
type spy struct {
	c  mqtt.Client
	mu sync.Mutex
	rs [][]byte
}

func newSpy(t *testing.T, url string, pki *uplinktest.PKI) *spy {
	t.Helper()
	s := &spy{c: mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("hotlist-spy").SetTLSConfig(tlsConfig(t, pki)))}
	if tok := s.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("spy connect: %v", tok.Error())
	}
	t.Cleanup(func() { s.c.Disconnect(100) })
	tok := s.c.Subscribe("lpr/test/cam/reads", 1, func(_ mqtt.Client, m mqtt.Message) {
		s.mu.Lock()
		s.rs = append(s.rs, bytes.Clone(m.Payload()))
		s.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("spy subscribe: %v", tok.Error())
	}
	return s
}

func (s *spy) reads() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rs
}

func (s *spy) publish(t *testing.T, topic string, b []byte) {
	t.Helper()
	if tok := s.c.Publish(topic, 1, true, b); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
