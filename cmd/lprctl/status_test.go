package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

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

func TestStatusSetStale(t *testing.T) {
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
		s := statusSet{prefix: "lpr", devs: map[string]*deviceStatus{}}
		for _, m := range tc.msgs {
			s.add(m[0], []byte(m[1]))
		}
		s.add("lpr/a/cam1/health/extra", []byte("{}"))
		devs := s.sorted()
		if len(devs) != 1 || devs[0].Status != tc.status || devs[0].HealthStale != tc.wantStale {
			t.Errorf("statusSet after %v = %+v; want one device, status %s, stale %v", tc.msgs, devs, tc.status, tc.wantStale)
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
	if l := lines[0]; !strings.HasPrefix(l, "port-a/lane1-cam1") || !strings.Contains(l, "offline  (last health before going offline, at 2026-12-02T14:00:00Z) camera_state=streaming") ||
		!strings.Contains(l, "reads_dropped=5 outbox_store_errors=6") {
		t.Errorf("status line of the offline device = %q; want its health marked stale, with the new keys", l)
	}
	if l := lines[1]; !strings.HasPrefix(l, "port-a/lane2-cam1") || strings.Contains(l, "last health") || !strings.Contains(l, "time=2026-12-02T14:00:00Z camera_state=streaming") {
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
