package main

import (
	"bytes"
	"crypto/ed25519"
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

const testHealth = `{"time":"2026-12-02T14:00:00Z","camera_state":"streaming","fps_processed":9.5,"frames_corrupt":2,` +
	`"latency_p99_ms":120,"results_below_bar":3,"reads_sent":1234567,"outbox_depth":4,"reads_in_memory":1,` +
	`"outbox_oldest_age_s":12.5,"reads_expired":0,"reads_evicted":0,"reads_dropped":5,"outbox_store_errors":6,"version":"x"}`

func TestSummary(t *testing.T) {
	const figures = "camera_state=streaming fps_processed=9.5 frames_corrupt=2 latency_p99_ms=120 results_below_bar=3 " +
		"reads_sent=1234567 outbox_depth=4 reads_in_memory=1 outbox_oldest_age_s=12.5 reads_expired=0 reads_evicted=0 " +
		"reads_dropped=5 outbox_store_errors=6"
	for _, tc := range []struct {
		health string
		stale  bool
		want   string
	}{
		{testHealth, false, "time=2026-12-02T14:00:00Z " + figures},
		{testHealth, true, "(last health before going offline, at 2026-12-02T14:00:00Z) " + figures},
		{`{"camera_state":"streaming"}`, true, "(last health before going offline) camera_state=streaming"},
		{`[1]`, false, "(bad health)"},
		{"", false, "(no health)"},
	} {
		var h json.RawMessage
		if tc.health != "" {
			h = json.RawMessage(tc.health)
		}
		if got := summary(h, tc.stale); got != tc.want {
			t.Errorf("summary(%s, %v) = %q; want %q", tc.health, tc.stale, got, tc.want)
		}
	}
}

// signed returns payload (a status word or a health object) as key's
// device signs it for topic.
func signed(t *testing.T, key ed25519.PrivateKey, device, topic, payload string) string {
	t.Helper()
	body := []byte(payload)
	if !json.Valid(body) {
		body, _ = json.Marshal(payload)
	}
	msg, err := envelope.SignMonitor(key, device, topic, time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC), body)
	if err != nil {
		t.Fatal(err)
	}
	return string(msg)
}

func newSigner(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	k, err := envelope.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pubOf(k ed25519.PrivateKey) []ed25519.PublicKey {
	return []ed25519.PublicKey{k.Public().(ed25519.PublicKey)}
}

// Stale health works alike for plain (old devices) and signed messages.
func TestStatusSetStale(t *testing.T) {
	key := newSigner(t)
	keys := map[string][]ed25519.PublicKey{"cam1": pubOf(key)}
	for _, tc := range []struct {
		msgs      [][2]string // topic, payload, in arrival order
		status    string
		wantStale bool
	}{
		{[][2]string{{"lpr/a/cam1/health", testHealth}, {"lpr/a/cam1/status", "offline"}}, "offline", true},
		{[][2]string{{"lpr/a/cam1/status", "offline"}, {"lpr/a/cam1/health", testHealth}}, "offline", true},
		{[][2]string{{"lpr/a/cam1/status", "offline"}}, "offline", false}, // no health to mark
		{[][2]string{{"lpr/a/cam1/health", testHealth}, {"lpr/a/cam1/status", "online"}}, "online", false},
		{[][2]string{{"lpr/a/cam1/status", "offline"}, {"lpr/a/cam1/health", testHealth}, {"lpr/a/cam1/status", "online"}}, "online", false},
		{[][2]string{{"lpr/a/cam1/health", testHealth}, {"lpr/a/cam1/status", "stopped"}}, "stopped", false},
		{[][2]string{{"lpr/a/cam1/health", testHealth}}, "unknown", false},
	} {
		for _, sign := range []bool{false, true} {
			s := statusSet{prefix: "lpr", keys: keys, devs: map[string]*deviceStatus{}}
			for _, m := range tc.msgs {
				p := m[1]
				if sign {
					p = signed(t, key, "cam1", m[0], p)
				}
				s.add(m[0], []byte(p))
			}
			s.add("lpr/a/cam1/health/extra", []byte("{}"))
			devs := s.sorted()
			if len(devs) != 1 || devs[0].Status != tc.status || devs[0].HealthStale != tc.wantStale {
				t.Errorf("statusSet after %v (signed %v) = %+v; want one device, status %s, stale %v", tc.msgs, sign, devs, tc.status, tc.wantStale)
			}
			if sign && devs[0].Health != nil && !bytes.Equal(devs[0].Health, []byte(testHealth)) {
				t.Errorf("health of a signed message = %s; want its body %s", devs[0].Health, testHealth)
			}
		}
	}
}

// After a crash the broker keeps the device's last health (camera_state
// streaming) beside its Last Will (offline): lprctl status shows that
// health as stale, in text and JSON.
func TestIntegrationStatusOfflineHealthStale(t *testing.T) {
	b := uplinktest.StartMosquitto(t, nil)
	pub, err := mqttclient.New(mqttclient.Config{Broker: b.URL(), AllowPlaintext: true, ClientID: "fake-device", CleanSession: true})
	if err != nil {
		t.Fatal(err)
	}
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	for _, m := range [][2]string{
		{"lpr/port-a/lane1-cam1/health", testHealth}, {"lpr/port-a/lane1-cam1/status", "offline"},
		{"lpr/port-a/lane2-cam1/health", testHealth}, {"lpr/port-a/lane2-cam1/status", "online"},
	} {
		if tok := pub.Publish(m[0], 1, true, []byte(m[1])); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", m[0], tok.Error())
		}
	}
	pub.Disconnect(100)
	args := []string{"status", "-broker", b.URL(), "-allow-plaintext", "-wait", "500ms"}

	out, serr, code := lprctl(t, args...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("status = %d, %q, %q; want 0 and two devices", code, out, serr)
	}
	if l := lines[0]; !strings.HasPrefix(l, "port-a/lane1-cam1") || !strings.Contains(l, "offline  [status and health UNSIGNED] (last health before going offline, at 2026-12-02T14:00:00Z) camera_state=streaming") ||
		!strings.Contains(l, "reads_dropped=5 outbox_store_errors=6") {
		t.Errorf("status line of the offline device = %q; want its health marked stale, with the new keys", l)
	}
	if l := lines[1]; !strings.HasPrefix(l, "port-a/lane2-cam1") || strings.Contains(l, "last health") || !strings.Contains(l, "[status and health UNSIGNED] time=2026-12-02T14:00:00Z camera_state=streaming") {
		t.Errorf("status line of the online device = %q; want its health as is", l)
	}

	out, _, code = lprctl(t, append(args, "-json")...)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("status -json = %d, %q; want 0 and two devices", code, out)
	}
	for i, want := range []bool{true, false} {
		var st deviceStatus
		if err := json.Unmarshal([]byte(lines[i]), &st); err != nil || st.HealthStale != want || len(st.Health) == 0 {
			t.Errorf("status -json line %d = %s (%v); want health_stale %v with health", i, lines[i], err, want)
		}
	}
}

// Each status and health message is shown with what its signature says.
func TestStatusSetVerify(t *testing.T) {
	cam1, cam2, cam3 := newSigner(t), newSigner(t), newSigner(t) // cam3 is not in the devices folder
	keys := map[string][]ed25519.PublicKey{"cam1": pubOf(cam1), "cam2": pubOf(cam2)}
	const st, he = "lpr/a/cam1/status", "lpr/a/cam1/health"
	real := signed(t, cam1, "cam1", st, "online")
	tampered := strings.Replace(real, `"online"`, `"stopped"`, 1)
	for _, tc := range []struct {
		name          string
		keys          map[string][]ed25519.PublicKey
		topic, msg    string
		status, check string
	}{
		{"the device's own", keys, st, real, "online", checkVerified},
		{"forged plain word", keys, st, "online", "online", checkUnsigned},
		{"signed by another device's key", keys, st, signed(t, cam2, "cam1", st, "online"), "online", checkBad},
		{"another device's message moved here", keys, st, signed(t, cam2, "cam2", "lpr/a/cam2/status", "online"), "online", checkBad},
		{"signed for the health topic", keys, st, signed(t, cam1, "cam1", he, "online"), "online", checkBad},
		{"another site's topic", keys, st, signed(t, cam1, "cam1", "lpr/b/cam1/status", "online"), "online", checkBad},
		{"tampered", keys, st, tampered, "stopped", checkBad},
		{"garbage signature", keys, st, `{"v":1,"device":"cam1","topic":"` + st + `","time":"2026-12-02T14:00:00Z","body":"online","sig":"AAAA"}`, "invalid", checkBad},
		{"no key for the device", keys, "lpr/a/cam3/status", signed(t, cam3, "cam3", "lpr/a/cam3/status", "online"), "online", checkUnknown},
		{"no -devices, signed", nil, st, real, "online", checkNoKeys},
		{"no -devices, plain", nil, st, "online", "online", checkUnsigned},
		{"no -devices, moved", nil, st, signed(t, cam2, "cam2", "lpr/a/cam2/status", "online"), "online", checkBad},
	} {
		s := statusSet{prefix: "lpr", keys: tc.keys, devs: map[string]*deviceStatus{}}
		s.add(tc.topic, []byte(tc.msg))
		d := s.sorted()[0]
		if d.Status != tc.status || d.StatusVerified != tc.check || d.HealthVerified != "" {
			t.Errorf("%s: add(%s, %s) = status %q, %q; want %q, %q", tc.name, tc.topic, tc.msg, d.Status, d.StatusVerified, tc.status, tc.check)
		}
	}

	// Health: the body is shown, marked.
	for _, tc := range []struct {
		name, msg, check string
	}{
		{"the device's own", signed(t, cam1, "cam1", he, testHealth), checkVerified},
		{"forged plain", `{"reads_sent":999}`, checkUnsigned},
		{"signed by another device's key", signed(t, cam2, "cam1", he, `{"reads_sent":999}`), checkBad},
	} {
		s := statusSet{prefix: "lpr", keys: keys, devs: map[string]*deviceStatus{}}
		s.add(he, []byte(tc.msg))
		d := s.sorted()[0]
		if d.HealthVerified != tc.check || d.Health == nil || d.Health[0] != '{' || d.StatusVerified != "" {
			t.Errorf("%s: add(%s, %s) = health %s, %q; want the body, %q", tc.name, he, tc.msg, d.Health, d.HealthVerified, tc.check)
		}
	}
}

func TestWriteStatusChecks(t *testing.T) {
	for _, tc := range []struct {
		d    deviceStatus
		want string
	}{
		{deviceStatus{Status: "online", StatusVerified: checkVerified, HealthVerified: checkVerified}, "online   [status and health verified] (no health)"},
		{deviceStatus{Status: "online", StatusVerified: checkUnsigned, HealthVerified: checkVerified}, "online   [status UNSIGNED, health verified] (no health)"},
		{deviceStatus{Status: "online", StatusVerified: checkBad}, "online   [status BAD SIGNATURE] (no health)"},
		{deviceStatus{Status: "unknown", HealthVerified: checkNoKeys}, "unknown  [health unverified (no -devices)] (no health)"},
	} {
		tc.d.Site, tc.d.DeviceID = "a", "cam1"
		var b bytes.Buffer
		writeStatus(&b, []*deviceStatus{&tc.d}, false)
		if got := strings.TrimSpace(strings.TrimPrefix(b.String(), "a/cam1")); got != tc.want {
			t.Errorf("writeStatus(%+v) = %q; want %q", tc.d, got, tc.want)
		}
		b.Reset()
		writeStatus(&b, []*deviceStatus{&tc.d}, true)
		var back map[string]any
		if json.Unmarshal(b.Bytes(), &back) != nil || (tc.d.StatusVerified != "" && back["status_verified"] != tc.d.StatusVerified) ||
			(tc.d.HealthVerified != "" && back["health_verified"] != tc.d.HealthVerified) {
			t.Errorf("writeStatus(%+v, json) = %s; want status_verified and health_verified", tc.d, b.String())
		}
	}
}

// A real device, a forger with no key, and a device that signs another's
// messages, through a real broker: lprctl status -devices tells them apart.
func TestIntegrationStatusVerify(t *testing.T) {
	b := uplinktest.StartMosquitto(t, nil)
	cam1, cam2 := newSigner(t), newSigner(t)
	devices := t.TempDir()
	for id, k := range map[string]ed25519.PrivateKey{"lane1-cam1": cam1, "lane2-cam1": cam2} {
		pem, _ := envelope.MarshalSigningPublicKey(k.Public().(ed25519.PublicKey))
		if err := os.WriteFile(filepath.Join(devices, id+".pub"), pem, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pub, err := mqttclient.New(mqttclient.Config{Broker: b.URL(), AllowPlaintext: true, ClientID: "fake-devices", CleanSession: true})
	if err != nil {
		t.Fatal(err)
	}
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	const p1, p2 = "lpr/port-a/lane1-cam1/", "lpr/port-a/lane2-cam1/"
	for _, m := range [][2]string{
		{p1 + "status", signed(t, cam1, "lane1-cam1", p1+"status", "online")},
		{p1 + "health", signed(t, cam1, "lane1-cam1", p1+"health", testHealth)},
		// lane2-cam1 is impersonated: a plain "online" with forged figures,
		// and a health signed by lane1-cam1's key.
		{p2 + "status", "online"},
		{p2 + "health", signed(t, cam1, "lane2-cam1", p2+"health", `{"camera_state":"streaming","reads_sent":999}`)},
	} {
		if tok := pub.Publish(m[0], 1, true, []byte(m[1])); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", m[0], tok.Error())
		}
	}
	pub.Disconnect(100)
	args := []string{"status", "-broker", b.URL(), "-allow-plaintext", "-wait", "500ms", "-devices", devices}

	out, serr, code := lprctl(t, args...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("status = %d, %q, %q; want 0 and two devices", code, out, serr)
	}
	if l := lines[0]; !strings.Contains(l, "online   [status and health verified] time=2026-12-02T14:00:00Z camera_state=streaming") {
		t.Errorf("status line of the real device = %q; want it verified", l)
	}
	if l := lines[1]; !strings.Contains(l, "online   [status UNSIGNED, health BAD SIGNATURE]") || !strings.Contains(l, "reads_sent=999") {
		t.Errorf("status line of the impersonated device = %q; want its forgeries marked", l)
	}

	out, _, code = lprctl(t, append(args, "-json")...)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("status -json = %d, %q; want 0 and two devices", code, out)
	}
	for i, want := range [][2]string{{checkVerified, checkVerified}, {checkUnsigned, checkBad}} {
		var st deviceStatus
		if err := json.Unmarshal([]byte(lines[i]), &st); err != nil || st.StatusVerified != want[0] || st.HealthVerified != want[1] {
			t.Errorf("status -json line %d = %s (%v); want status_verified %q, health_verified %q", i, lines[i], err, want[0], want[1])
		}
	}

	// Without -devices no signature is checked (a signature by the wrong
	// key passes for unverified); plain messages are still told.
	out, _, _ = lprctl(t, args[:len(args)-2]...)
	if !strings.Contains(out, "[status and health unverified (no -devices)]") || !strings.Contains(out, "[status UNSIGNED, health unverified (no -devices)]") {
		t.Errorf("status without -devices = %q; want the signed ones unverified, the plain one UNSIGNED", out)
	}
	if _, serr, code := lprctl(t, "status", "-broker", b.URL(), "-allow-plaintext", "-devices", filepath.Join(devices, "none")); code != 1 || !strings.Contains(serr, "device keys") {
		t.Errorf("status -devices (missing folder) = %d, %q; want 1 naming the folder", code, serr)
	}
}
