package envelope

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestMonitorSignVerify(t *testing.T) {
	key, _ := GenerateSigningKey()
	other, _ := GenerateSigningKey()
	pub := []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}
	at := time.Date(2026, 12, 2, 10, 0, 0, 123, time.UTC)
	health := []byte(`{"camera_state":"streaming","reads_sent":3}`)
	status, _ := json.Marshal("online")
	for _, body := range [][]byte{health, status} {
		msg, err := SignMonitor(key, "cam1", "lpr/s/cam1/health", at, body)
		if err != nil {
			t.Fatal(err)
		}
		m, err := VerifyMonitor(msg, "lpr/s/cam1/health", pub)
		if err != nil || !m.Verified || m.DeviceID != "cam1" || !m.Time.Equal(at) || !bytes.Equal(m.Body, body) {
			t.Fatalf("VerifyMonitor(%s) = %+v, %v; want verified cam1 at %v", msg, m, err, at)
		}
		if _, err := VerifyMonitor(msg, "lpr/s/cam2/health", pub); err == nil {
			t.Error("a message moved to another device's topic verified")
		}
		if _, err := VerifyMonitor(msg, "lpr/s/cam1/health", []ed25519.PublicKey{other.Public().(ed25519.PublicKey)}); err == nil {
			t.Error("a message verified with another device's key")
		}
		forged := bytes.Replace(msg, []byte("cam1"), []byte("cam9"), 1)
		if _, err := VerifyMonitor(forged, "lpr/s/cam1/health", pub); err == nil {
			t.Error("a tampered message verified")
		}
	}
	on, _ := SignMonitor(key, "cam1", "t", at, status)
	if m, _ := VerifyMonitor(on, "t", pub); m.Status() != "online" {
		t.Errorf("Status() = %q; want online", m.Status())
	}
	for _, plain := range []string{"online", `{"reads_sent":999}`} {
		m, err := VerifyMonitor([]byte(plain), "t", pub)
		if !errors.Is(err, ErrUnsignedMonitor) || m == nil || m.Verified {
			t.Errorf("VerifyMonitor(%q) = %+v, %v; want an unverified message and ErrUnsignedMonitor", plain, m, err)
		}
	}
	if m, _ := VerifyMonitor([]byte("offline"), "t", pub); m.Status() != "offline" {
		t.Errorf("unsigned status word gives Status() %q; want offline", m.Status())
	}
}

func FuzzVerifyMonitor(f *testing.F) {
	key, _ := GenerateSigningKey()
	pub := []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}
	msg, _ := SignMonitor(key, "cam1", "t", time.Unix(1e9, 0), []byte(`{"a":1}`))
	f.Add(msg)
	f.Add([]byte("online"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := VerifyMonitor(b, "t", pub)
		if err == nil && (m == nil || !m.Verified) {
			t.Errorf("VerifyMonitor accepted %q without marking it verified", b)
		}
	})
}
