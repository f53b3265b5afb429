package receiver

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/uplinktest"
)

func TestAckerBatches(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x09}, ed25519.SeedSize))
	pub := []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}
	at := time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)
	a := newAcker(AckOptions{Key: key, Batch: 5, Now: func() time.Time { return at }})
	ta, tb := "lpr/port-a/cam-a/reads", "lpr/port-a/cam-b/reads"
	a.handled(ta, Read{DeviceID: "cam-a", Seq: 3})
	a.handled(ta, Read{DeviceID: "cam-a", Seq: 1})
	a.rejected(ta, &Rejection{Reason: Duplicate, DeviceID: "cam-a", Seq: 2})
	a.rejected(tb, &Rejection{Reason: WrongRecipient, DeviceID: "cam-b", Seq: 9, SealedTo: envelope.KeyID{1, 2, 3, 4, 5, 6, 7, 8}})
	a.rejected(tb, &Rejection{Reason: Tampered, DeviceID: "cam-b", Seq: 10}) // not known to be cam-b's: no answer
	a.rejected(tb, errors.New("output failed"))
	select {
	case <-a.full:
		t.Fatal("batch full after 4 reads of 5")
	default:
	}
	a.handled(tb, Read{DeviceID: "cam-b", Seq: 7})
	select {
	case <-a.full:
	default:
		t.Fatal("batch not full after 5 reads")
	}
	msgs := a.take()
	type want struct {
		topic, kind string
		seqs        []envelope.SeqRange
	}
	wants := []want{
		{"lpr/port-a/cam-a/acks", envelope.KindAck, []envelope.SeqRange{{First: 1, Last: 3}}},
		{"lpr/port-a/cam-b/acks", envelope.KindAck, []envelope.SeqRange{{First: 7, Last: 7}}},
		{"lpr/port-a/cam-b/acks", envelope.KindRefusal, []envelope.SeqRange{{First: 9, Last: 9}}},
	}
	if len(msgs) != len(wants) {
		t.Fatalf("%d messages, want %d", len(msgs), len(wants))
	}
	for i, w := range wants {
		m := msgs[i]
		dev := map[string]string{"lpr/port-a/cam-a/acks": "cam-a", "lpr/port-a/cam-b/acks": "cam-b"}[w.topic]
		got, err := envelope.VerifyAck(m.payload, w.topic, dev, pub)
		if err != nil || m.topic != w.topic || got.Kind != w.kind || !reflect.DeepEqual(got.Seqs, w.seqs) {
			t.Errorf("message %d: %s on %s (%v); want %+v", i, m.payload, m.topic, err, w)
		}
		if w.kind == envelope.KindRefusal && (got.SealedTo != "0102030405060708" || got.Reason != "wrong-recipient") {
			t.Errorf("refusal %s", m.payload)
		}
	}
	if again := a.take(); len(again) != 0 {
		t.Errorf("take twice: %d messages", len(again))
	}
}

func TestAckerFlushPublishes(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x09}, ed25519.SeedSize))
	var published []string
	a := newAcker(AckOptions{Key: key, OnPublish: func(topic, kind string, n int, err error) {
		if err != nil {
			t.Errorf("publish %s: %v", topic, err)
		}
		published = append(published, topic)
	}})
	fc := &uplinktest.FakeClient{}
	c, _ := fc.Factory()(fc.Config())
	c.Connect().WaitTimeout(time.Second)
	a.handled("lpr/s/d/reads", Read{DeviceID: "d", Seq: 1})
	a.flush(c, time.Second)
	if len(fc.Published("lpr/s/d/acks")) != 1 || len(published) != 1 {
		t.Errorf("published %v", fc.Published(""))
	}
	if newAcker(AckOptions{}) != nil {
		t.Error("an acker without a key")
	}
	var none *acker
	none.handled("lpr/s/d/reads", Read{}) // a nil acker does nothing
	none.flush(c, time.Second)
}
