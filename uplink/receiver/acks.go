package receiver

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/mqttclient"
)

// AckOptions configure the acknowledgements Listen publishes (docs/acks.md).
type AckOptions struct {
	// Key is the backend's Ed25519 signing key; nil publishes none.
	Key ed25519.PrivateKey
	// Every is the longest a handled read waits for its ack (default 1 s);
	// Batch the number of waiting reads that sends the acks at once
	// (default 256).
	Every time.Duration
	Batch int
	// OnPublish is told about every ack or refusal published (n reads),
	// or that failed; may be nil.
	OnPublish func(topic, kind string, n int, err error)
	Now       func() time.Time // default time.Now
}

// Defaults of AckOptions.
const (
	DefaultAckEvery = time.Second
	DefaultAckBatch = 256
)

// ackKey groups the reads of one message: one device's acks topic, the kind,
// and for a refusal the key the reads were sealed to.
type ackKey struct {
	topic, device, kind, sealedTo string
}

// acker collects what the listener handled and signs it in batches. The
// message handler adds; Listen's goroutine flushes.
type acker struct {
	opt     AckOptions
	mu      sync.Mutex
	pending map[ackKey][]uint64
	count   int
	full    chan struct{} // capacity 1: a batch is full
}

func newAcker(opt AckOptions) *acker {
	if opt.Key == nil {
		return nil
	}
	if opt.Every <= 0 {
		opt.Every = DefaultAckEvery
	}
	if opt.Batch <= 0 {
		opt.Batch = DefaultAckBatch
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &acker{opt: opt, pending: map[ackKey][]uint64{}, full: make(chan struct{}, 1)}
}

// acksTopic is the acks topic of a device's reads topic.
func acksTopic(readsTopic string) string {
	return strings.TrimSuffix(readsTopic, "reads") + "acks"
}

func (a *acker) add(k ackKey, seq uint64) {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.pending[k] = append(a.pending[k], seq)
	a.count++
	full := a.count >= a.opt.Batch
	a.mu.Unlock()
	if full {
		select {
		case a.full <- struct{}{}:
		default:
		}
	}
}

// handled acks a read the caller took (output written, state saved).
func (a *acker) handled(topic string, rd Read) {
	a.add(ackKey{topic: acksTopic(topic), device: rd.DeviceID, kind: envelope.KindAck}, rd.Seq)
}

// rejected acks a duplicate (the backend holds it) and refuses a read sealed
// to a key the backend does not hold. Other rejections get no answer: they
// are not known to be the device's.
func (a *acker) rejected(topic string, err error) {
	var rej *Rejection
	if !errors.As(err, &rej) {
		return
	}
	switch rej.Reason {
	case Duplicate:
		a.add(ackKey{topic: acksTopic(topic), device: rej.DeviceID, kind: envelope.KindAck}, rej.Seq)
	case WrongRecipient:
		a.add(ackKey{topic: acksTopic(topic), device: rej.DeviceID, kind: envelope.KindRefusal, sealedTo: rej.SealedTo.String()}, rej.Seq)
	}
}

// signed is one message to publish.
type signed struct {
	topic, kind string
	n           int
	payload     []byte
}

// take signs what is pending, one message per device and kind (split when
// it would exceed envelope.MaxAckRanges ranges), and forgets it.
func (a *acker) take() []signed {
	a.mu.Lock()
	pending := a.pending
	a.pending, a.count = map[ackKey][]uint64{}, 0
	a.mu.Unlock()
	keys := make([]ackKey, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].topic+keys[i].kind < keys[j].topic+keys[j].kind })
	var out []signed
	now := a.opt.Now()
	for _, k := range keys {
		rs := envelope.Ranges(pending[k])
		for len(rs) > 0 {
			part := rs[:min(len(rs), envelope.MaxAckRanges)]
			rs = rs[len(part):]
			m := envelope.Ack{Kind: k.kind, DeviceID: k.device, Topic: k.topic, Time: now, Seqs: part}
			if k.kind == envelope.KindRefusal {
				m.Reason, m.SealedTo = string(WrongRecipient), k.sealedTo
			}
			b, err := envelope.SignAck(a.opt.Key, m)
			if err != nil {
				a.report(k.topic, k.kind, 0, err)
				continue
			}
			out = append(out, signed{topic: k.topic, kind: k.kind, n: count(part), payload: b})
		}
	}
	return out
}

func count(rs []envelope.SeqRange) int {
	n := 0
	for _, r := range rs {
		n += int(r.Last - r.First + 1)
	}
	return n
}

// flush publishes what is pending (QoS 1, not retained) and waits for the
// broker at most timeout in all (after one message timed out, the others
// are not waited for: the broker is away). A lost ack only makes the device
// publish its reads again, and this listener acks the duplicates.
func (a *acker) flush(c mqttclient.Client, timeout time.Duration) {
	if a == nil {
		return
	}
	deadline := time.Now().Add(timeout)
	for _, m := range a.take() {
		tok := c.Publish(m.topic, 1, false, m.payload)
		var err error
		if !tok.WaitTimeout(max(time.Until(deadline), 0)) {
			err = fmt.Errorf("no PUBACK within %v", timeout)
		} else {
			err = tok.Error()
		}
		a.report(m.topic, m.kind, m.n, err)
	}
}

func (a *acker) report(topic, kind string, n int, err error) {
	if a.opt.OnPublish != nil {
		a.opt.OnPublish(topic, kind, n, err)
	}
}

// tick returns the channel of the acker's flush interval, or nil.
func (a *acker) tick() (<-chan time.Time, func()) {
	if a == nil {
		return nil, func() {}
	}
	t := time.NewTicker(a.opt.Every)
	return t.C, t.Stop
}

// fullC returns the channel that says a batch is full, or nil.
func (a *acker) fullC() <-chan struct{} {
	if a == nil {
		return nil
	}
	return a.full
}
