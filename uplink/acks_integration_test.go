package uplink

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/mqttclient"
	"github.com/lprd/lprd/uplink/receiver"
	"github.com/lprd/lprd/uplink/uplinktest"
)

// End-to-end acknowledgements against a real mosquitto: each test is one of
// the ways a read the broker acknowledged used to be lost (issue 15), and
// shows that the device keeps it until the backend's signed ack.

// backendSigner is the backend's acknowledgement key of these tests.
func backendSigner() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x09}, ed25519.SeedSize))
}

// ackDevice runs an uplink for dev1 that waits for the backend's acks
// (confirmation timeout timeout); edit changes its options first.
func ackDevice(t *testing.T, b *uplinktest.Mosquitto, k keys, timeout time.Duration, edit func(*Options)) (*Uplink, *uplinktest.Buffer) {
	t.Helper()
	logs := &uplinktest.Buffer{}
	opt := Options{
		Broker: b.URL(), AllowPlaintext: true, Site: "port-a", DeviceID: "dev1",
		RecipientKey: k.rcpt.Public(), SigningKey: k.signer, Suite: "x25519-chacha20poly1305",
		StateDir: t.TempDir(), PublishTimeout: 2 * time.Second, MaxReconnectInterval: 300 * time.Millisecond,
		HealthInterval: time.Hour, BackendVerifyKeys: []ed25519.PublicKey{backendSigner().Public().(ed25519.PublicKey)},
		ConfirmTimeout: timeout, Logger: slog.New(slog.NewTextHandler(logs, nil)),
	}
	if edit != nil {
		edit(&opt)
	}
	u, err := New(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(run(t, u))
	return u, logs
}

// ackListen runs a backend listener that acks, with a persistent session of
// client id id; stop ends it.
func ackListen(t *testing.T, rcv *receiver.Receiver, cfg mqttclient.Config) (*collector, func()) {
	t.Helper()
	return startListen(t, rcv, receiver.ListenOptions{Client: cfg, Topic: "lpr/+/+/reads",
		Acks: receiver.AckOptions{Key: backendSigner(), Every: 100 * time.Millisecond}})
}

func submitN(t *testing.T, u *Uplink, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := u.Submit(testEvent(i, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
}

// An ACL that denies the device's reads (MQTT 3.1.1: mosquitto may
// acknowledge the denied publish, then drops the client): the reads stay in
// the outbox and show on health; once the ACL is fixed and reloaded they
// arrive and leave the outbox.
func TestIntegrationAckACLDenied(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("..", "deploy", "mosquitto", "lprd.acl"))
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(good), "pattern write lpr/+/%u/#", "pattern write lpr/+/%u/status\npattern write lpr/+/%u/health", 1)
	if broken == string(good) {
		t.Fatal("deploy/mosquitto/lprd.acl has no device write pattern to break")
	}
	acl := filepath.Join(t.TempDir(), "lprd.acl")
	os.WriteFile(acl, []byte(broken), 0o644)
	pki := uplinktest.NewPKI(t)
	b := uplinktest.StartMosquittoWith(t, pki, "acl_file "+acl)
	k := newKeys(t, envelope.KEMX25519)
	beCert, beKey := pki.IssueClient(t, "lprd-backend")
	col, stop := ackListen(t, k.receiver(t, "dev1"), mqttclient.Config{Broker: b.URL(), CAFile: pki.CAFile, CertFile: beCert, KeyFile: beKey,
		ClientID: "backend-acl", MaxReconnectInterval: 300 * time.Millisecond})
	defer stop()
	snf := sniff(t, mqttclient.Config{Broker: b.URL(), CAFile: pki.CAFile, CertFile: beCert, KeyFile: beKey, ClientID: "backend-health", CleanSession: true})
	devCert, devKey := pki.IssueClient(t, "dev1")
	u, _ := ackDevice(t, b, k, 500*time.Millisecond, func(o *Options) {
		o.CAFile, o.CertFile, o.KeyFile, o.AllowPlaintext = pki.CAFile, devCert, devKey, false
	})
	const n = 5
	submitN(t, u, n)
	// The broker either fails the denied publishes, or acknowledges them (the
	// device republishes them after the confirmation timeout), or drops the
	// connection before their acknowledgements arrive (the device reconnects
	// and publishes them again): which one depends on mosquitto's timing.
	var last Health
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last health: %+v", last)
		}
	})
	waitFor(t, "the denied publishes failed or were published again", 20*time.Second, func() bool {
		last = u.Health()
		return last.PublishErrors > 0 || last.ReadsRepublished >= n || last.MQTTReconnects > 0
	})
	// The device's own health message (published on every reconnection)
	// shows the reads waiting.
	waitFor(t, "a health message showing the reads waiting", 20*time.Second, func() bool {
		hs := snf.on("lpr/port-a/dev1/health")
		if len(hs) == 0 {
			return false
		}
		h := k.health(t, "lpr/port-a/dev1/health", hs[len(hs)-1].Payload)
		return h.OutboxDepth == n && h.ReadsAwaitingBroker+h.ReadsAwaitingBackend == n && h.ReadsConfirmed == 0 && h.BackendAcks
	})
	h := u.Health()
	if col.count() != 0 || h.OutboxDepth != n || h.ReadsConfirmed != 0 || h.ReadsAwaitingBroker+h.ReadsAwaitingBackend != n {
		t.Fatalf("under the denying ACL: listener %d reads, health %+v; want all %d kept and shown waiting", col.count(), h, n)
	}
	t.Logf("denied: awaiting broker %d, awaiting backend %d, republished %d, publish errors %d, oldest %.1fs",
		h.ReadsAwaitingBroker, h.ReadsAwaitingBackend, h.ReadsRepublished, h.PublishErrors, h.OutboxOldestAgeS)
	os.WriteFile(acl, good, 0o644)
	b.Reload()
	waitFor(t, "every read delivered and confirmed after the ACL fix", 30*time.Second, func() bool {
		return col.count() == n && u.Health().OutboxDepth == 0
	})
	if h := u.Health(); h.ReadsConfirmed != n {
		t.Errorf("confirmed %d; want %d", h.ReadsConfirmed, n)
	}
}

// The broker is SIGKILLed with mosquitto's default autosave interval (30
// minutes) while the reads it acknowledged wait in the listener's session:
// it forgets them. The device publishes them again after the confirmation
// timeout; nothing is lost, nothing output twice.
func TestIntegrationAckBrokerKilled(t *testing.T) {
	b := uplinktest.StartMosquittoWith(t, nil, "autosave_interval 1800")
	k := newKeys(t, envelope.KEMX25519)
	rcv := k.receiver(t, "dev1")
	cfg := tlsClient(b, "backend-kill", false)
	_, stop := ackListen(t, rcv, cfg) // makes the persistent session
	stop()
	u, _ := ackDevice(t, b, k, time.Second, nil)
	const n = 20
	submitN(t, u, n)
	waitFor(t, "every read acknowledged by the broker", 10*time.Second, func() bool { return u.Health().ReadsAwaitingBackend == n })
	b.Kill()
	b.Start()
	col, stop := ackListen(t, rcv, cfg)
	defer stop()
	waitFor(t, "every read at the listener and confirmed", 30*time.Second, func() bool {
		return col.count() == n && u.Health().OutboxDepth == 0
	})
	col.mu.Lock()
	defer col.mu.Unlock()
	for id, c := range col.ids {
		if c != 1 {
			t.Errorf("event %s output %d times", id, c)
		}
	}
	t.Logf("broker killed: %d reads republished, %d delivered", u.Health().ReadsRepublished, len(col.ids))
}

// A device that seals to a key the backend does not hold: every read is
// refused (signed), kept in the outbox and not published again; health and
// the log say so, with the key ids.
func TestIntegrationAckWrongBackendKey(t *testing.T) {
	b := uplinktest.StartMosquitto(t, nil)
	k := newKeys(t, envelope.KEMX25519)
	other := newKeys(t, envelope.KEMX25519)
	col, stop := ackListen(t, k.receiver(t, "dev1"), tlsClient(b, "backend-wrong", false))
	defer stop()
	u, logs := ackDevice(t, b, k, 300*time.Millisecond, func(o *Options) { o.RecipientKey = other.rcpt.Public() })
	const n = 5
	submitN(t, u, n)
	waitFor(t, "every read refused", 10*time.Second, func() bool { return u.Health().ReadsRefused == n })
	time.Sleep(time.Second) // over three confirmation timeouts: nothing republished, nothing dropped
	h := u.Health()
	if h.OutboxDepth != n || h.RefusedSealedTo != other.rcpt.ID.String() || h.BackendKeyID != other.rcpt.ID.String() || h.ReadsRepublished != 0 {
		t.Errorf("health %+v; want %d reads kept, refused as sealed to %v", h, n, other.rcpt.ID)
	}
	if col.rejected(receiver.WrongRecipient) != n {
		t.Errorf("listener: %d wrong-recipient; want %d", col.rejected(receiver.WrongRecipient), n)
	}
	if !strings.Contains(logs.String(), "the backend refused reads") || !strings.Contains(logs.String(), other.rcpt.ID.String()) {
		t.Errorf("log lacks the refusal:\n%s", logs)
	}
}

// The listener is away for longer than the broker keeps its session (here
// the session is discarded, as its expiry or a queue limit would): what was
// queued for it is gone, and the device publishes it again after the
// confirmation timeout.
func TestIntegrationAckListenerSessionLost(t *testing.T) {
	b := uplinktest.StartMosquitto(t, nil)
	k := newKeys(t, envelope.KEMX25519)
	rcv := k.receiver(t, "dev1")
	cfg := tlsClient(b, "backend-expire", false)
	_, stop := ackListen(t, rcv, cfg)
	stop()
	u, _ := ackDevice(t, b, k, time.Second, nil)
	const n = 10
	submitN(t, u, n)
	waitFor(t, "every read acknowledged by the broker", 10*time.Second, func() bool { return u.Health().ReadsAwaitingBackend == n })
	// A clean connection with the listener's client id discards its session
	// and what was queued in it.
	clean := cfg
	clean.CleanSession = true
	c, err := mqttclient.New(clean)
	if err != nil {
		t.Fatal(err)
	}
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	c.Disconnect(100)
	col, stop := ackListen(t, rcv, cfg)
	defer stop()
	waitFor(t, "every read at the listener and confirmed", 30*time.Second, func() bool {
		return col.count() == n && u.Health().OutboxDepth == 0
	})
	if h := u.Health(); h.ReadsRepublished < n {
		t.Errorf("republished %d; want at least %d (the session's queue was lost)", h.ReadsRepublished, n)
	}
}

// Forged, unsigned, foreign and replayed acks published on the device's acks
// topic delete nothing and are counted; the genuine ack deletes.
func TestIntegrationAckForged(t *testing.T) {
	b := uplinktest.StartMosquitto(t, nil)
	k := newKeys(t, envelope.KEMX25519)
	u, _ := ackDevice(t, b, k, time.Hour, nil)
	const n = 3
	submitN(t, u, n)
	waitFor(t, "every read acknowledged by the broker", 10*time.Second, func() bool { return u.Health().ReadsAwaitingBackend == n })
	topic := u.AcksTopic()
	all := []envelope.SeqRange{{First: 0, Last: ^uint64(0)}}
	sign := func(key ed25519.PrivateKey, dev, topic string) []byte {
		b, err := envelope.SignAck(key, envelope.Ack{Kind: envelope.KindAck, DeviceID: dev, Topic: topic, Time: time.Now(), Seqs: all})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	attacker := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x0a}, ed25519.SeedSize))
	pub, err := mqttclient.New(tlsClient(b, "attacker", true))
	if err != nil {
		t.Fatal(err)
	}
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	send := func(p []byte) {
		if tok := pub.Publish(topic, 1, false, p); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	send([]byte(`{"v":1,"kind":"ack","device":"dev1","seqs":[[0,18446744073709551615]]}`))
	send(sign(attacker, "dev1", topic))
	send(sign(backendSigner(), "dev2", "lpr/port-a/dev2/acks"))
	waitFor(t, "the bad acks counted", 10*time.Second, func() bool { h := u.Health(); return h.AcksUnsigned == 2 && h.AcksForeign == 1 })
	if h := u.Health(); h.OutboxDepth != n {
		t.Fatalf("a forged ack deleted reads: %+v", h)
	}
	genuine := sign(backendSigner(), "dev1", topic)
	send(genuine)
	waitFor(t, "the genuine ack applied", 10*time.Second, func() bool { return u.Health().OutboxDepth == 0 })
	send(genuine)
	waitFor(t, "the replay counted", 10*time.Second, func() bool { return u.Health().AcksReplayed == 1 })
}

// TestIntegrationAckCost measures what acknowledgements add per read: the
// ack bytes per batch and per read at 30 reads a minute (one read every 2 s,
// so each ack carries one read) and in a burst, and the time from Submit to
// the read leaving the outbox with the listener's default 1 s batching.
func TestIntegrationAckCost(t *testing.T) {
	b := uplinktest.StartMosquitto(t, nil)
	k := newKeys(t, envelope.KEMX25519)
	snf := sniff(t, tlsClient(b, "sniffer-acks", true))
	_, stop := startListen(t, k.receiver(t, "dev1"), receiver.ListenOptions{Client: tlsClient(b, "backend-cost", false),
		Topic: "lpr/+/+/reads", Acks: receiver.AckOptions{Key: backendSigner()}})
	defer stop()
	u, _ := ackDevice(t, b, k, time.Minute, nil)
	var total time.Duration
	const single = 3
	for i := 0; i < single; i++ {
		start := time.Now()
		submitN(t, u, 1)
		waitFor(t, "the read confirmed", 10*time.Second, func() bool { return u.Health().OutboxDepth == 0 })
		total += time.Since(start)
	}
	one := snf.on(u.AcksTopic())
	const burst = 100
	submitN(t, u, burst)
	waitFor(t, "the burst confirmed", 20*time.Second, func() bool { return u.Health().OutboxDepth == 0 })
	waitFor(t, "the burst's acks seen", 5*time.Second, func() bool { return len(snf.on(u.AcksTopic())) > len(one) })
	bytesOf := func(ms []uplinktest.Published) (n int) {
		for _, m := range ms {
			n += len(m.Payload)
		}
		return n
	}
	all := snf.on(u.AcksTopic())
	burstAcks := all[len(one):]
	t.Logf("single reads: %d acks, %d bytes each on average, Submit to confirmed %v on average (ack batching 1 s)",
		len(one), bytesOf(one)/max(len(one), 1), total/single)
	t.Logf("burst of %d reads: %d acks, %d bytes (%.1f bytes per read)", burst, len(burstAcks), bytesOf(burstAcks), float64(bytesOf(burstAcks))/burst)
}
