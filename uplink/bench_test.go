package uplink

import (
	"context"
	"testing"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/uplinktest"
)

// BenchmarkReadToPuback is the whole uplink path per read: canonical JSON,
// HPKE seal, Ed25519 signature, durable store (fsync), QoS 1 publish to a
// real mosquitto on loopback and removal on PUBACK. ns/op is per read.
func BenchmarkReadToPuback(b *testing.B) {
	for _, s := range envelope.Suites {
		b.Run(s.Name, func(b *testing.B) {
			broker := uplinktest.StartMosquitto(b, nil)
			k := newKeys(b, s.Suite.KEM)
			u, err := New(context.Background(), Options{
				Broker: broker.URL(), AllowPlaintext: true, Site: "port-a", DeviceID: "dev1",
				RecipientKey: k.rcpt.Public(), SigningKey: k.signer, Suite: s.Name, StateDir: b.TempDir(),
				HealthInterval: time.Hour,
			})
			if err != nil {
				b.Fatal(err)
			}
			stop := run(b, u)
			ev := testEvent(1, time.Now())
			waitFor(b, "connection", 10*time.Second, func() bool { return u.Health().MQTTConnected })
			b.ResetTimer()
			for b.Loop() {
				ev.EventID = ""
				if err := u.Submit(ev); err != nil {
					b.Fatal(err)
				}
			}
			waitFor(b, "all acknowledged", time.Minute, func() bool { return u.Health().OutboxDepth == 0 })
			b.StopTimer()
			stop()
		})
	}
}

// BenchmarkSubmit is the synchronous part a caller waits for: seal, sign
// and durable store (the fake client acknowledges at once).
func BenchmarkSubmit(b *testing.B) {
	k := newKeys(b, envelope.KEMMLKEM768X25519)
	u, err := New(context.Background(), fakeOptions(b, k, &uplinktest.FakeClient{}))
	if err != nil {
		b.Fatal(err)
	}
	defer u.Close()
	ev := testEvent(1, time.Now())
	for b.Loop() {
		ev.EventID = ""
		if err := u.Submit(ev); err != nil {
			b.Fatal(err)
		}
	}
}
