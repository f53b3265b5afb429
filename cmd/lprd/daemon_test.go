package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"gocv.io/x/gocv"

	"github.com/lprd/lprd/internal/config"
	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/synth"
	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/receiver"
	"github.com/lprd/lprd/uplink/uplinktest"
)

// writeLaneClip renders a synthetic lane clip as an MJPEG AVI (test data
// only: the product never writes frames) and returns its plates.
func writeLaneClip(t *testing.T, path string, opt synth.LaneOptions) []string {
	t.Helper()
	lane := synth.NewLane(11, opt)
	vw, err := gocv.VideoWriterFile(path, "MJPG", opt.FPS, opt.Width, opt.Height, true)
	if err != nil || !vw.IsOpened() {
		t.Fatalf("VideoWriterFile(%s): %v", path, err)
	}
	defer vw.Close()
	for i := range lane.Frames() {
		img := lane.Frame(i).Image
		rgba, err := gocv.ImageToMatRGBA(img)
		if err != nil {
			t.Fatal(err)
		}
		bgr := gocv.NewMat()
		gocv.CvtColor(rgba, &bgr, gocv.ColorRGBAToBGR)
		if err := vw.Write(bgr); err != nil {
			t.Fatal(err)
		}
		rgba.Close()
		bgr.Close()
	}
	var plates []string
	for _, p := range lane.Passes() {
		plates = append(plates, p.Text)
	}
	return plates
}

// TestDaemonEndToEnd runs the whole daemon on a synthetic clip against a real
// mosquitto with mutual TLS, and checks what a backend and an eavesdropper on
// the broker see.
func TestDaemonEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	dir := t.TempDir()
	pki := uplinktest.NewPKI(t)
	broker := uplinktest.StartMosquitto(t, pki)

	backend, err := envelope.GenerateRecipientKey(envelope.KEMMLKEM768X25519)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := envelope.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := backend.Public().MarshalPEM()
	keyPEM, err := envelope.MarshalSigningPrivateKey(signer)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "backend.pub"), pubPEM)
	writeFile(t, filepath.Join(dir, "device.key"), keyPEM)

	clip := filepath.Join(dir, "lane.avi")
	plates := writeLaneClip(t, clip, synth.LaneOptions{Width: 960, Height: 540, FPS: 10, Vehicles: 2,
		Pass: 2 * time.Second, Gap: 500 * time.Millisecond})

	// An eavesdropper on the whole broker, and the backend.
	recv, err := receiver.New(receiver.Options{RecipientKeys: []*envelope.RecipientPrivateKey{backend},
		DeviceKeys: map[string][]ed25519.PublicKey{"e2e-cam": {signer.Public().(ed25519.PublicKey)}}})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		topics = map[string][][]byte{}
	)
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL()).SetClientID("e2e-spy").
		SetTLSConfig(tlsConfig(t, pki)).SetOrderMatters(false))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("spy connect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	if tok := sub.Subscribe("#", 1, func(_ mqtt.Client, m mqtt.Message) {
		mu.Lock()
		topics[m.Topic()] = append(topics[m.Topic()], bytes.Clone(m.Payload()))
		mu.Unlock()
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("spy subscribe: %v", tok.Error())
	}

	cfg, problems := config.Load("", []string{
		"LPRD_DEVICE_ID=e2e-cam",
		"LPRD_SITE=test",
		"LPRD_LANE=2",
		"LPRD_CAMERA=" + clip,
		"LPRD_REPLAY_RATE=fast",
		"LPRD_EXIT_AT_END=true",
		"LPRD_MQTT_BROKER=" + broker.URL(),
		"LPRD_MQTT_CA=" + pki.CAFile,
		"LPRD_MQTT_CERT=" + pki.ClientCert,
		"LPRD_MQTT_KEY=" + pki.ClientKey,
		"LPRD_BACKEND_KEY=" + filepath.Join(dir, "backend.pub"),
		"LPRD_SIGNING_KEY=" + filepath.Join(dir, "device.key"),
		"LPRD_STATE_DIR=" + filepath.Join(dir, "state"),
		"LPRD_HEALTH_INTERVAL=1s",
		"LPRD_WORKERS=2",
		"LPRD_LOG_LEVEL=debug",
	})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	var logs uplinktest.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := runDaemon(ctx, cfg, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))); err != nil {
		t.Fatalf("runDaemon: %v\n%s", err, logs.String())
	}
	// The last message the daemon publishes is its "stopped" status: wait for the
	// spy to have it.
	prefix := "lpr/test/e2e-cam/"
	devKeys := []ed25519.PublicKey{signer.Public().(ed25519.PublicKey)}
	// verified opens a status or health message signed by the device for
	// its topic (nil when it is not).
	verified := func(topic string, payload []byte) *envelope.MonitorMessage {
		m, err := envelope.VerifyMonitor(payload, topic, devKeys)
		if err != nil || m.DeviceID != "e2e-cam" {
			return nil
		}
		return m
	}
	lastStatus := func() string { // with mu held
		s := topics[prefix+"status"]
		if len(s) == 0 {
			return ""
		}
		if m := verified(prefix+"status", s[len(s)-1]); m != nil {
			return m.Status()
		}
		return "(not signed by the device)"
	}
	stopped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return lastStatus() == "stopped"
	}
	for deadline := time.Now().Add(10 * time.Second); !stopped() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}

	mu.Lock()
	defer mu.Unlock()
	var got []string
	for _, p := range topics[prefix+"reads"] {
		rd, err := recv.Accept(p)
		if err != nil {
			t.Errorf("backend rejected an envelope: %v", err)
			continue
		}
		if rd.Event.Lane != "2" || rd.Event.Frames < 1 || rd.Event.Model == "" || len(rd.Event.Candidates) == 0 {
			t.Errorf("event lacks fields: %+v", rd.Event)
		}
		got = append(got, rd.Event.Plate)
	}
	correct := 0
	for _, want := range plates {
		for _, g := range got {
			if g == ocr.Canonical(want) {
				correct++
				break
			}
		}
	}
	t.Logf("clip plates %d, reads %d, read correctly %d", len(plates), len(got), correct)
	if correct != len(plates) || len(got) != len(plates) {
		t.Errorf("%d of %d vehicles read right with %d results; want every vehicle right and no false or repeated result", correct, len(plates), len(got))
	}
	// Every stored read is logged with the event id the backend sees.
	if n := len(regexp.MustCompile(`msg="read stored" event=[0-9a-f]{8}-`).FindAllString(logs.String(), -1)); n != len(got) {
		t.Errorf("%d \"read stored\" log lines with an event id; want %d:\n%s", n, len(got), logs.String())
	}

	// Status and health are there, signed by the device, and nothing
	// anywhere carries a plate in clear.
	for _, s := range topics[prefix+"status"] {
		if verified(prefix+"status", s) == nil {
			t.Errorf("status message %s does not verify with the device's key", s)
		}
	}
	if s := topics[prefix+"status"]; lastStatus() != "stopped" {
		t.Errorf("status messages %q; want the last to be stopped", s)
	}
	var h map[string]any
	hs := topics[prefix+"health"]
	if len(hs) == 0 {
		t.Errorf("no health message")
	} else if m := verified(prefix+"health", hs[len(hs)-1]); m == nil || json.Unmarshal(m.Body, &h) != nil || h["camera_state"] == nil {
		t.Errorf("no usable health message signed by the device: %q", hs)
	}
	for _, k := range []string{"frames_corrupt", "frames_skipped", "frames_rejected", "results_below_bar", "tracks_open", "read_p99_ms"} {
		if _, ok := h[k]; !ok {
			t.Errorf("health lacks %s: %v", k, h)
		}
	}
	for topic, msgs := range topics {
		for _, m := range msgs {
			for _, p := range plates {
				if bytes.Contains(m, []byte(p)) || bytes.Contains(m, []byte(ocr.Canonical(p))) {
					t.Errorf("plate text in clear on topic %s", topic)
				}
			}
		}
	}
	for _, p := range plates {
		if strings.Contains(logs.String(), p) || strings.Contains(logs.String(), ocr.Canonical(p)) {
			t.Errorf("plate text in the daemon's log")
		}
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func tlsConfig(t *testing.T, pki *uplinktest.PKI) *tls.Config {
	t.Helper()
	ca, err := os.ReadFile(pki.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(pki.ClientCert, pki.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

func TestWaitForClock(t *testing.T) {
	var logs uplinktest.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if err := waitForClock(context.Background(), log, time.Now); err != nil || logs.String() != "" {
		t.Errorf("waitForClock with a set clock = %v, logged %q", err, logs.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	unset := func() time.Time { return time.Unix(0, 0) }
	if err := waitForClock(ctx, log, unset); err == nil || !strings.Contains(logs.String(), "waiting for the system clock") {
		t.Errorf("waitForClock at 1970 = %v, logged %q; want it to wait and say so", err, logs.String())
	}
	var calls int
	later := func() time.Time {
		calls++
		if calls < 3 {
			return time.Unix(0, 0)
		}
		return time.Now()
	}
	if err := waitForClock(context.Background(), log, later); err != nil {
		t.Errorf("waitForClock once the clock is set = %v", err)
	}
}
