package envelope

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// monitorVector is the test vector of docs/monitoring.md: a status and a
// health message of device lane3-cam1, signed with the seed of the envelope
// vectors. Ed25519 is deterministic, so the bytes are fixed.
type monitorVector struct {
	seed, public    string // hex
	device, topic   string
	at              time.Time
	body            []byte
	message, sigB64 string
}

func makeMonitorVectors(t *testing.T) []monitorVector {
	t.Helper()
	seed := bytes.Repeat([]byte{0x07}, ed25519.SeedSize)
	key := ed25519.NewKeyFromSeed(seed)
	status, _ := json.Marshal("online")
	var out []monitorVector
	for _, v := range []struct {
		topic string
		at    time.Time
		body  []byte
	}{
		{"lpr/port-a/lane3-cam1/status", time.Date(2026, 12, 2, 14, 0, 0, 123456789, time.UTC), status},
		{"lpr/port-a/lane3-cam1/health", time.Date(2026, 12, 2, 14, 0, 30, 123000000, time.UTC),
			[]byte(`{"time":"2026-12-02T14:00:30.123Z","camera_state":"streaming","reads_sent":42}`)},
	} {
		msg, err := SignMonitor(key, "lane3-cam1", v.topic, v.at, v.body)
		if err != nil {
			t.Fatal(err)
		}
		var w monitorWire
		if err := json.Unmarshal(msg, &w); err != nil {
			t.Fatal(err)
		}
		out = append(out, monitorVector{
			seed: hex.EncodeToString(seed), public: hex.EncodeToString(key.Public().(ed25519.PublicKey)),
			device: "lane3-cam1", topic: v.topic, at: v.at, body: v.body, message: string(msg), sigB64: w.Sig,
		})
	}
	return out
}

// TestMonitorVectors checks that the vectors verify, that their signature is
// Ed25519 over the context, a NUL and the message without "sig" as the
// documentation says, and that docs/monitoring.md shows exactly these bytes.
func TestMonitorVectors(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "monitoring.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range makeMonitorVectors(t) {
		pub, _ := hex.DecodeString(v.public)
		m, err := VerifyMonitor([]byte(v.message), v.topic, []ed25519.PublicKey{pub})
		if err != nil || m.DeviceID != v.device || !m.Time.Equal(v.at) || !bytes.Equal(m.Body, v.body) {
			t.Errorf("VerifyMonitor(%s) = %+v, %v", v.message, m, err)
		}
		i := strings.LastIndex(v.message, `,"sig":"`)
		unsigned := v.message[:i] + "}"
		sig, _ := base64.StdEncoding.DecodeString(v.sigB64)
		if !ed25519.Verify(pub, []byte(MonitorContext+"\x00"+unsigned), sig) {
			t.Errorf("signature of %s is not Ed25519 over %q NUL %s", v.message, MonitorContext, unsigned)
		}
		for _, want := range []string{v.seed, v.public, v.message, unsigned, v.sigB64} {
			if !strings.Contains(string(doc), want) {
				t.Errorf("docs/monitoring.md lacks %q; the vector is:\nseed %s\npublic key %s\nunsigned %s\nsignature %s\nmessage %s",
					want, v.seed, v.public, unsigned, v.sigB64, v.message)
			}
		}
	}
}
