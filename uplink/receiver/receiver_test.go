package receiver

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
)

type fixture struct {
	now    time.Time
	rcpt   *envelope.RecipientPrivateKey
	signer ed25519.PrivateKey
	sealer *envelope.Sealer
	r      *Receiver
}

func newFixture(t testing.TB, window uint64) *fixture {
	t.Helper()
	f := &fixture{now: time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)}
	var err error
	if f.rcpt, err = envelope.GenerateRecipientKey(envelope.KEMX25519); err != nil {
		t.Fatal(err)
	}
	f.signer, _ = envelope.GenerateSigningKey()
	if f.sealer, err = envelope.NewSealer("dev1", envelope.SuiteX25519ChaCha20, f.rcpt.Public(), f.signer); err != nil {
		t.Fatal(err)
	}
	f.r, err = New(Options{
		RecipientKeys: []*envelope.RecipientPrivateKey{f.rcpt},
		DeviceKeys:    map[string][]ed25519.PublicKey{"dev1": {f.signer.Public().(ed25519.PublicKey)}},
		ReplayWindow:  window, MaxAge: time.Hour, MaxGap: 1000,
		Now: func() time.Time { return f.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func event(t testing.TB, dev string, at time.Time) []byte {
	t.Helper()
	e := envelope.Event{V: 1, EventID: envelope.NewEventID(at), DeviceID: dev, Site: "port-a", FirstSeen: at, LastSeen: at,
		Plate: "ABC1234", Confidence: 0.9, Frames: 3}
	b, err := e.MarshalCanonical()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) seal(t testing.TB, seq uint64, at time.Time, plain []byte) []byte {
	t.Helper()
	env, err := f.sealer.Seal(seq, at, plain)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestAcceptReasons(t *testing.T) {
	f := newFixture(t, 64)
	at := f.now.Add(-time.Minute)
	first := f.seal(t, 10, at, event(t, "dev1", at))

	foreignSigner, _ := envelope.GenerateSigningKey()
	foreign, _ := envelope.NewSealer("dev9", envelope.SuiteX25519ChaCha20, f.rcpt.Public(), foreignSigner)
	foreignEnv, _ := foreign.Seal(1, at, event(t, "dev9", at))
	impostor, _ := envelope.NewSealer("dev1", envelope.SuiteX25519ChaCha20, f.rcpt.Public(), foreignSigner)
	impostorEnv, _ := impostor.Seal(11, at, event(t, "dev1", at))
	otherBackend, _ := envelope.GenerateRecipientKey(envelope.KEMX25519)
	misdirected, _ := envelope.NewSealer("dev1", envelope.SuiteX25519ChaCha20, otherBackend.Public(), f.signer)
	misdirectedEnv, _ := misdirected.Seal(12, at, event(t, "dev1", at))
	tampered := bytes.Clone(f.seal(t, 13, at, event(t, "dev1", at)))
	tampered[len(tampered)-70] ^= 1 // inside the ciphertext
	sameEvent := event(t, "dev1", at)

	tests := []struct {
		name string
		env  []byte
		want Reason // "" for accepted
	}{
		{"first", first, ""},
		{"redelivery", first, Duplicate},
		{"garbage", []byte("hello"), Malformed},
		{"unknown device", foreignEnv, UnknownDevice},
		{"impostor key", impostorEnv, UnknownDevice},
		{"sealed to another backend", misdirectedEnv, WrongRecipient},
		{"tampered ciphertext", tampered, Tampered},
		{"too old", f.seal(t, 14, f.now.Add(-2*time.Hour), event(t, "dev1", at)), OutOfWindow},
		{"from the future", f.seal(t, 15, f.now.Add(time.Hour), event(t, "dev1", at)), OutOfWindow},
		{"event of another device", f.seal(t, 16, at, event(t, "dev2", at)), InvalidEvent},
		{"gap then read", f.seal(t, 20, at, sameEvent), ""},
		{"same event, new number", f.seal(t, 21, at, sameEvent), Duplicate},
		{"late but in window", f.seal(t, 18, at, event(t, "dev1", at)), ""},
		{"far ahead", f.seal(t, 200, at, event(t, "dev1", at)), ""},
		{"replay below the window", first, Replayed},
	}
	for _, tt := range tests {
		_, err := f.r.Accept(tt.env)
		if got := ReasonOf(err); got != tt.want || (tt.want == "" && err != nil) {
			t.Errorf("%s: Accept() error %v (reason %q); want reason %q", tt.name, err, got, tt.want)
		}
		if err != nil && bytes.Contains([]byte(err.Error()), []byte("ABC1234")) {
			t.Errorf("%s: error %q holds the plate", tt.name, err)
		}
	}
	st := f.r.Stats()
	if st.Accepted != 4 {
		t.Errorf("Accepted = %d; want 4", st.Accepted)
	}
	// Gaps: 11..19 missing at seq 20 (9), 18 came late (-1), 21..199 at 200 (179;
	// 21 was refused as a duplicate event, its number is still missing).
	if st.Missing != 9-1+179 {
		t.Errorf("Missing = %d; want %d", st.Missing, 9-1+179)
	}
	for _, reason := range []Reason{Duplicate, Malformed, UnknownDevice, WrongRecipient, Tampered, OutOfWindow, InvalidEvent, Replayed} {
		if st.Rejected[reason] == 0 {
			t.Errorf("Rejected[%s] = 0", reason)
		}
	}
}

func TestGapAndReset(t *testing.T) {
	f := newFixture(t, 64)
	at := f.now
	for _, tt := range []struct {
		seq     uint64
		missing uint64
		reset   bool
	}{{1, 0, false}, {2, 0, false}, {5, 2, false}, {5000, 0, true}, {5001, 0, false}} {
		rd, err := f.r.Accept(f.seal(t, tt.seq, at, event(t, "dev1", at)))
		if err != nil {
			t.Fatalf("seq %d: %v", tt.seq, err)
		}
		if rd.Missing != tt.missing || rd.Reset != tt.reset {
			t.Errorf("seq %d: Missing %d Reset %v; want %d %v", tt.seq, rd.Missing, rd.Reset, tt.missing, tt.reset)
		}
	}
}

func TestLoadDeviceKeys(t *testing.T) {
	dir := t.TempDir()
	k, _ := envelope.GenerateSigningKey()
	pem, _ := envelope.MarshalSigningPublicKey(k.Public().(ed25519.PublicKey))
	os.WriteFile(filepath.Join(dir, "lane3-cam1.pub"), pem, 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	keys, err := LoadDeviceKeys(dir)
	if err != nil || len(keys["lane3-cam1"]) != 1 || len(keys) != 1 {
		t.Fatalf("LoadDeviceKeys = %v, %v", keys, err)
	}
	os.WriteFile(filepath.Join(dir, "broken.pub"), []byte("nope"), 0o644)
	if _, err := LoadDeviceKeys(dir); !errors.Is(err, envelope.ErrNoKey) {
		t.Errorf("LoadDeviceKeys(with a broken file) error %v; want ErrNoKey", err)
	}
}

func FuzzAccept(f *testing.F) {
	fx := newFixture(f, 64)
	at := fx.now
	f.Add(fx.seal(f, 1, at, event(f, "dev1", at)))
	f.Add([]byte("LPR1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rd, err := fx.r.Accept(b)
		if err == nil && rd.Event.DeviceID != "dev1" {
			t.Fatalf("accepted an event of device %q", rd.Event.DeviceID)
		}
		if err != nil && ReasonOf(err) == "" {
			t.Fatalf("error without a reason: %v", err)
		}
	})
}

func TestStateSurvivesRestart(t *testing.T) {
	f := newFixture(t, 64)
	at := f.now
	first := f.seal(t, 1, at, event(t, "dev1", at))
	if _, err := f.r.Accept(first); err != nil {
		t.Fatal(err)
	}
	for s := uint64(2); s < 100; s++ {
		if _, err := f.r.Accept(f.seal(t, s, at, event(t, "dev1", at))); err != nil {
			t.Fatal(err)
		}
	}
	recent := f.seal(t, 100, at, event(t, "dev1", at))
	f.r.Accept(recent)
	path := filepath.Join(t.TempDir(), "state.json")
	if err := f.r.SaveState(path); err != nil {
		t.Fatal(err)
	}
	// A fresh receiver without the state accepts the replay; with it, not.
	r2, _ := New(f.r.opt)
	if err := r2.LoadState(path); err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Accept(first); ReasonOf(err) != Replayed {
		t.Errorf("old envelope after a restart: %v; want replayed", err)
	}
	if _, err := r2.Accept(recent); ReasonOf(err) != Duplicate {
		t.Errorf("recent envelope after a restart: %v; want duplicate", err)
	}
	if rd, err := r2.Accept(f.seal(t, 101, at, event(t, "dev1", at))); err != nil || rd.Missing != 0 {
		t.Errorf("next envelope after a restart: %+v, %v; want accepted without a gap", rd, err)
	}
	opt := f.r.opt
	opt.ReplayWindow = 128
	r3, _ := New(opt)
	if err := r3.LoadState(path); err == nil {
		t.Error("LoadState with another window = nil error")
	}
	if err := r3.LoadState(filepath.Join(t.TempDir(), "none.json")); err != nil {
		t.Errorf("LoadState(missing file) = %v; want nil", err)
	}
}

// A read output but not yet in the saved state (the listener was killed
// between the two) is recalled from the output: its redelivery is a
// duplicate, the next read shows no gap, and nothing is counted.
func TestRecall(t *testing.T) {
	f := newFixture(t, 64)
	at := f.now
	for s := uint64(1); s <= 5; s++ {
		if _, err := f.r.Accept(f.seal(t, s, at, event(t, "dev1", at))); err != nil {
			t.Fatal(err)
		}
	}
	plain := event(t, "dev1", at)
	ev, err := envelope.ParseEvent(plain)
	if err != nil {
		t.Fatal(err)
	}
	redelivered := f.seal(t, 6, at, plain)
	accepted := f.r.Stats().Accepted
	tests := []struct {
		name, dev, id string
		seq           uint64
		want          bool
	}{
		{"output, not saved", "dev1", ev.EventID, 6, true},
		{"recalled twice", "dev1", ev.EventID, 6, false},
		{"no event id", "dev1", "", 7, false},
		{"below the window", "dev1", envelope.NewEventID(at), 1, true},
		{"device not seen yet", "dev2", envelope.NewEventID(at), 40, true},
	}
	for _, tt := range tests {
		if got := f.r.Recall(tt.dev, tt.seq, tt.id); got != tt.want {
			t.Errorf("%s: Recall = %v; want %v", tt.name, got, tt.want)
		}
	}
	if _, err := f.r.Accept(redelivered); ReasonOf(err) != Duplicate {
		t.Errorf("redelivery of a recalled read: %v; want duplicate", err)
	}
	if rd, err := f.r.Accept(f.seal(t, 7, at, event(t, "dev1", at))); err != nil || rd.Missing != 0 {
		t.Errorf("next read after a recall: %+v, %v; want accepted without a gap", rd, err)
	}
	if got := f.r.Stats().Accepted; got != accepted+1 {
		t.Errorf("accepted %d; want %d (a recall is not an acceptance)", got, accepted+1)
	}
	if got := f.r.Devices()["dev2"]; got != 40 {
		t.Errorf("dev2's highest = %d; want 40", got)
	}
}
