package uplink

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/mqttclient"
	"github.com/lprd/lprd/uplink/outbox"
)

// End-to-end acknowledgements (docs/acks.md). With the backend's signing key
// (Options.BackendVerifyKeyFile), a read the broker acknowledged waits in the
// outbox for the backend's signed ack on <prefix>/<site>/<device>/acks, is
// published again when none came within ConfirmTimeout, and is kept when the
// backend refuses it. Without the key a read leaves on the broker's PUBACK.

// Defaults of the acknowledgement options.
const (
	DefaultConfirmTimeout = 5 * time.Minute
	// ackQueue bounds the acks waiting for Run; beyond it an ack is
	// dropped, which only makes its reads be published again.
	ackQueue = 256
	// seenAcks is how many recent ack signatures are remembered to tell a
	// replayed copy.
	seenAcks = 1024
	// maxAckLead is how far ahead of the device's clock an ack may be.
	maxAckLead = 5 * time.Minute
)

// acks is the device side of the acknowledgements. Run's goroutine owns it,
// apart from the queue (filled by the MQTT client's goroutine) and the
// counters.
type acks struct {
	keys    []ed25519.PublicKey // the backend's signing keys; nil: acks off
	in      chan []byte
	seen    map[string]bool
	ring    []string
	next    int
	maxAge  time.Duration
	timeout time.Duration

	unsigned, foreign, replayed, overflow atomic.Uint64
	refusedTo                             atomic.Value // string: sealed_to of the last refusal
}

// on reports whether end-to-end acknowledgements are on.
func (a *acks) on() bool { return a.keys != nil }

// loadBackendKeys returns the backend's signing keys of opt, or nil when
// none is configured.
func (opt *Options) loadBackendKeys() ([]ed25519.PublicKey, error) {
	if opt.BackendVerifyKeys != nil || opt.BackendVerifyKeyFile == "" {
		return opt.BackendVerifyKeys, nil
	}
	k, err := envelope.LoadBackendVerifyKeys(opt.BackendVerifyKeyFile)
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	return k, nil
}

func newAcks(keys []ed25519.PublicKey, opt *Options) *acks {
	maxAge := opt.OutboxMaxAge
	if maxAge <= 0 {
		maxAge = outbox.DefaultMaxAge
	}
	return &acks{keys: keys, in: make(chan []byte, ackQueue), seen: map[string]bool{}, ring: make([]string, seenAcks),
		maxAge: maxAge, timeout: opt.ConfirmTimeout}
}

// handler queues a received ack for Run.
func (a *acks) handler(m mqttclient.Message) {
	select {
	case a.in <- append([]byte(nil), m.Payload()...):
	default:
		a.overflow.Add(1)
	}
}

// subscribeAcks subscribes to the device's acks topic on a new connection
// (the session is clean, so on every one).
func (u *Uplink) subscribeAcks() {
	if !u.acks.on() {
		return
	}
	tok := u.client.Subscribe(u.topics.acks, 1, u.acks.handler)
	if !tok.WaitTimeout(u.opt.PublishTimeout) || tok.Error() != nil {
		u.log.Warn("subscribe to the backend's acknowledgements failed; reads wait in the outbox and are published again", "topic", u.topics.acks, "err", tok.Error())
	}
}

// handleAck verifies one message of the acks topic and applies it: an ack
// removes its reads from the outbox, a refusal keeps them and is reported.
// Anything unsigned, foreign or replayed changes nothing and is counted.
func (u *Uplink) handleAck(payload []byte) {
	a, err := envelope.VerifyAck(payload, u.topics.acks, u.opt.DeviceID, u.acks.keys)
	switch {
	case errors.Is(err, envelope.ErrAckForeign):
		u.acks.foreign.Add(1)
		u.log.Warn("backend acknowledgement for another device ignored", "topic", u.topics.acks, "err", err)
		return
	case err != nil:
		u.acks.unsigned.Add(1)
		u.log.Warn("unsigned or forged backend acknowledgement ignored", "topic", u.topics.acks, "err", err)
		return
	}
	if why := u.acks.replay(a, u.opt.Now()); why != "" {
		u.acks.replayed.Add(1)
		u.log.Warn("replayed backend acknowledgement ignored", "topic", u.topics.acks, "why", why, "signed_at", a.Time)
		return
	}
	rs := make([]outbox.Range, len(a.Seqs))
	for i, r := range a.Seqs {
		rs[i] = outbox.Range{First: r.First, Last: r.Last}
	}
	if a.Kind == envelope.KindRefusal {
		n := u.box.Refuse(rs)
		u.acks.refusedTo.Store(a.SealedTo)
		u.log.Error("the backend refused reads: kept in the outbox, not published again until lprd restarts; give the backend the key they are sealed to, or fix LPRD_BACKEND_KEY",
			"reason", a.Reason, "sealed_to", a.SealedTo, "backend_key_id", u.sealer.RecipientKeyID().String(), "reads", n, "first_seq", a.Seqs[0].First)
		return
	}
	n, err := u.box.Confirm(rs)
	if err != nil {
		u.log.Error("outbox", "err", err)
	}
	u.log.Debug("backend confirmed reads", "count", n)
}

// replay says why a verified ack is a replay ("" when it is not): its
// signature was seen recently, or its time is outside the outbox's age
// window.
func (a *acks) replay(m *envelope.Ack, now time.Time) string {
	sig := string(m.Signature)
	switch {
	case a.seen[sig]:
		return "seen before"
	case m.Time.Before(now.Add(-a.maxAge)):
		return "older than the outbox's max age"
	case m.Time.After(now.Add(maxAckLead)):
		return "signed in the future"
	}
	if old := a.ring[a.next]; old != "" {
		delete(a.seen, old)
	}
	a.ring[a.next] = sig
	a.next = (a.next + 1) % len(a.ring)
	a.seen[sig] = true
	return ""
}

// republish makes the reads whose confirmation is late wait for the broker
// again and hands them to the window.
func (l *window) republish() {
	u := l.u
	due := u.box.Due(u.acks.timeout)
	if len(due) == 0 {
		return
	}
	u.log.Warn("no backend acknowledgement within the confirmation timeout: publishing reads again",
		"count", len(due), "from_seq", due[0].Seq, "timeout", u.acks.timeout)
	l.redo = append(l.redo, due...)
}

// fillRedo publishes the republished reads the cursor has passed (the others
// come through Next).
func (l *window) fillRedo() {
	u := l.u
	for len(l.redo) > 0 && len(l.inflight) < u.opt.InFlight {
		e := l.redo[0]
		l.redo = l.redo[1:]
		if e.Seq > l.cursor {
			continue
		}
		env, err := u.box.Read(e)
		if err != nil {
			continue // confirmed, expired or evicted meanwhile
		}
		tok := u.client.Publish(u.topics.reads, 1, false, env)
		l.inflight = append(l.inflight, flight{e: e, tok: tok, at: time.Now()})
	}
}

// acked records what the broker acknowledged: with acks on, the reads wait
// for the backend; without, they leave the outbox.
func (u *Uplink) acked(seqs []uint64) error {
	if u.acks.on() {
		return u.box.MarkSent(u.opt.Now(), seqs...)
	}
	return u.box.Ack(seqs...)
}

// ackHealth fills the acknowledgement figures of h.
func (u *Uplink) ackHealth(h *Health, st outbox.Stats, now time.Time) {
	h.BackendKeyID = u.sealer.RecipientKeyID().String()
	h.BackendAcks = u.acks.on()
	h.ReadsAwaitingBroker = st.AwaitingBroker
	h.ReadsAwaitingBackend = st.AwaitingBackend
	if !st.OldestAwaiting.IsZero() {
		h.AwaitingBackendOldestAgeS = max(now.Sub(st.OldestAwaiting).Seconds(), 0)
	}
	h.ReadsConfirmed = st.Confirmed
	h.ReadsRepublished = st.Republished
	h.ReadsRefused = st.Refused
	if st.Refused > 0 {
		h.RefusedSealedTo, _ = u.acks.refusedTo.Load().(string)
	}
	h.AcksUnsigned = u.acks.unsigned.Load()
	h.AcksForeign = u.acks.foreign.Load()
	h.AcksReplayed = u.acks.replayed.Load()
	h.AcksOverflow = u.acks.overflow.Load()
}
