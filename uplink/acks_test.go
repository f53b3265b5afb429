package uplink

import (
	"bytes"
	"crypto/ed25519"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/uplinktest"
)

// ackFixture is an uplink with end-to-end acknowledgements on a fake client,
// and the backend signing key that acks for it.
type ackFixture struct {
	u       *Uplink
	fc      *uplinktest.FakeClient
	backend ed25519.PrivateKey
	log     *uplinktest.Buffer
	seqs    []uint64
}

func newAckFixture(t *testing.T, timeout time.Duration) *ackFixture {
	t.Helper()
	k := newKeys(t, envelope.KEMX25519)
	backend := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x09}, ed25519.SeedSize))
	f := &ackFixture{fc: &uplinktest.FakeClient{}, backend: backend, log: &uplinktest.Buffer{}}
	opt := fakeOptions(t, k, f.fc)
	opt.BackendVerifyKeys = []ed25519.PublicKey{backend.Public().(ed25519.PublicKey)}
	opt.ConfirmTimeout = timeout
	opt.Logger = slog.New(slog.NewTextHandler(f.log, nil))
	u, err := New(t.Context(), opt)
	if err != nil {
		t.Fatal(err)
	}
	f.u = u
	t.Cleanup(run(t, u))
	for i := 0; i < 4; i++ {
		if err := u.Submit(testEvent(i, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "4 reads acknowledged by the broker", 5*time.Second, func() bool { return u.Health().ReadsAwaitingBackend == 4 })
	reads, _, _ := u.Topics()
	for _, p := range f.fc.Published(reads) {
		env, err := envelope.Parse(p.Payload)
		if err != nil {
			t.Fatal(err)
		}
		f.seqs = append(f.seqs, env.Seq)
	}
	return f
}

func (f *ackFixture) ack(t *testing.T, key ed25519.PrivateKey, kind, device, topic string, at time.Time, seqs ...uint64) []byte {
	t.Helper()
	a := envelope.Ack{Kind: kind, DeviceID: device, Topic: topic, Time: at, Seqs: envelope.Ranges(seqs)}
	if kind == envelope.KindRefusal {
		a.Reason, a.SealedTo = "wrong-recipient", "0011223344556677"
	}
	b, err := envelope.SignAck(key, a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAcksDeleteOnlyVerified: only a verified ack for this device deletes
// reads; unsigned, forged, foreign and replayed ones are counted; a refusal
// keeps its read and shows on health and in the log.
func TestAcksDeleteOnlyVerified(t *testing.T) {
	f := newAckFixture(t, time.Hour)
	u, topic, dev, now := f.u, f.u.AcksTopic(), "dev1", time.Now()
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x0a}, ed25519.SeedSize))
	good := f.ack(t, f.backend, envelope.KindAck, dev, topic, now, f.seqs[0], f.seqs[1])
	for _, c := range []struct {
		name    string
		payload []byte
		check   func(h Health) bool
	}{
		{"unsigned", []byte(`{"v":1,"kind":"ack","device":"dev1","seqs":[[0,99999999999999999]]}`), func(h Health) bool { return h.AcksUnsigned == 1 }},
		{"forged", f.ack(t, other, envelope.KindAck, dev, topic, now, f.seqs...), func(h Health) bool { return h.AcksUnsigned == 2 }},
		{"foreign", f.ack(t, f.backend, envelope.KindAck, "dev2", strings.Replace(topic, "dev1", "dev2", 1), now, f.seqs...), func(h Health) bool { return h.AcksForeign == 1 }},
		{"stale", f.ack(t, f.backend, envelope.KindAck, dev, topic, now.Add(-200*time.Hour), f.seqs...), func(h Health) bool { return h.AcksReplayed == 1 }},
		{"good", good, func(h Health) bool { return h.ReadsConfirmed == 2 && h.OutboxDepth == 2 }},
		{"replayed", good, func(h Health) bool { return h.AcksReplayed == 2 }},
		{"refusal", f.ack(t, f.backend, envelope.KindRefusal, dev, topic, now, f.seqs[2]), func(h Health) bool { return h.ReadsRefused == 1 && h.RefusedSealedTo == "0011223344556677" }},
	} {
		if !f.fc.Deliver(topic, c.payload) {
			t.Fatal("the uplink did not subscribe to its acks topic")
		}
		waitFor(t, c.name, 5*time.Second, func() bool { return c.check(u.Health()) })
	}
	h := u.Health()
	if h.OutboxDepth != 2 || h.ReadsAwaitingBackend != 1 || h.ReadsConfirmed != 2 || h.BackendKeyID != u.sealer.RecipientKeyID().String() || !h.BackendAcks {
		t.Errorf("health %+v", h)
	}
	// The refusal reaches health a moment before its log line is written.
	waitFor(t, "the refusal in the log", 5*time.Second, func() bool {
		l := f.log.String()
		return strings.Contains(l, "the backend refused reads") && strings.Contains(l, "sealed_to=0011223344556677")
	})
	if strings.Contains(f.log.String(), "PLT") {
		t.Errorf("plate text in the log:\n%s", f.log)
	}
}

// TestAcksRepublishAfterTimeout: a read the broker acknowledged and the
// backend did not confirm is published again; a refused one is not.
func TestAcksRepublishAfterTimeout(t *testing.T) {
	f := newAckFixture(t, 200*time.Millisecond)
	reads, _, _ := f.u.Topics()
	f.fc.Deliver(f.u.AcksTopic(), f.ack(t, f.backend, envelope.KindRefusal, "dev1", f.u.AcksTopic(), time.Now(), f.seqs[3]))
	waitFor(t, "the refusal", 5*time.Second, func() bool { return f.u.Health().ReadsRefused == 1 })
	before := len(f.fc.Published(reads))
	waitFor(t, "3 reads published again", 5*time.Second, func() bool { return len(f.fc.Published(reads)) >= before+3 })
	f.fc.Deliver(f.u.AcksTopic(), f.ack(t, f.backend, envelope.KindAck, "dev1", f.u.AcksTopic(), time.Now(), f.seqs[:3]...))
	waitFor(t, "the ack", 5*time.Second, func() bool { return f.u.Health().OutboxDepth == 1 })
	h := f.u.Health()
	if h.ReadsRepublished < 3 || h.ReadsRefused != 1 {
		t.Errorf("health %+v", h)
	}
	for _, p := range f.fc.Published(reads)[before:] {
		env, err := envelope.Parse(p.Payload)
		if err == nil && env.Seq == f.seqs[3] {
			t.Error("the refused read was published again")
		}
	}
}

// TestNoVerifyKeyLeavesOnPUBACK: without the backend's key a read leaves the
// outbox on the broker's acknowledgement, as before, and health says so.
func TestNoVerifyKeyLeavesOnPUBACK(t *testing.T) {
	k := newKeys(t, envelope.KEMX25519)
	fc := &uplinktest.FakeClient{}
	u, err := New(t.Context(), fakeOptions(t, k, fc))
	if err != nil {
		t.Fatal(err)
	}
	defer run(t, u)()
	if err := u.Submit(testEvent(1, time.Now())); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the read sent", 5*time.Second, func() bool { h := u.Health(); return h.ReadsSent == 1 && h.OutboxDepth == 0 })
	if h := u.Health(); h.BackendAcks || h.ReadsAwaitingBackend != 0 {
		t.Errorf("health %+v", h)
	}
}
