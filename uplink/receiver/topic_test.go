package receiver

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/mqttclient"
	"github.com/lprd/lprd/uplink/uplinktest"
)

func TestAcceptTopic(t *testing.T) {
	f := newFixture(t, 64)
	at := f.now.Add(-time.Minute)
	env := f.seal(t, 1, at, event(t, "dev1", at)) // event of site port-a
	tests := []struct {
		topic string
		env   []byte
		want  Reason
	}{
		{"lpr/port-a/dev2/reads", env, TopicMismatch},
		{"lpr/port-b/dev1/reads", env, TopicMismatch},
		{"lpr/port-a/dev1/status", env, TopicMismatch},
		{"dev1/reads", env, TopicMismatch},
		{"", env, TopicMismatch},
		{"lpr/port-a/dev2/reads", []byte("garbage"), Malformed},
		// Refused copies changed nothing: the envelope is still new here.
		{"lpr/port-a/dev1/reads", env, ""},
		{"lpr/port-a/dev1/reads", env, Duplicate},
		{"a/b/port-a/dev1/reads", f.seal(t, 2, at, event(t, "dev1", at)), ""},
	}
	for _, tt := range tests {
		_, err := f.r.AcceptTopic(tt.topic, tt.env)
		if got := ReasonOf(err); got != tt.want || (tt.want == "" && err != nil) {
			t.Errorf("AcceptTopic(%q, ...) error %v (reason %q); want reason %q", tt.topic, err, got, tt.want)
		}
	}
	if n := f.r.Stats().Rejected[TopicMismatch]; n != 5 {
		t.Errorf("Rejected[topic-mismatch] = %d; want 5", n)
	}
}

// badPayloads returns damaged copies of a good envelope, by what was done to
// it.
func badPayloads(good []byte) map[string][]byte {
	out := map[string][]byte{
		"empty":     {},
		"one byte":  good[:1],
		"magic":     good[:4],
		"garbage":   bytes.Repeat([]byte{0xA5}, len(good)),
		"text":      []byte(`{"plate":"ABC1234"}`),
		"doubled":   append(bytes.Clone(good), good...),
		"extended":  append(bytes.Clone(good), 0),
		"no sig":    good[:len(good)-envelope.SignatureLen],
		"truncated": good[:len(good)-1],
		"half":      good[:len(good)/2],
	}
	for _, at := range []int{5, 12, len(good) / 2, len(good) - 70, len(good) - 1} {
		b := bytes.Clone(good)
		b[at] ^= 0x10
		out[fmt.Sprintf("byte %d flipped", at)] = b
	}
	return out
}

func TestAcceptBadPayloads(t *testing.T) {
	f := newFixture(t, 64)
	at := f.now
	good := f.seal(t, 7, at, event(t, "dev1", at))
	for name, b := range badPayloads(good) {
		_, err := f.r.AcceptTopic("lpr/port-a/dev1/reads", b)
		if err == nil || ReasonOf(err) == "" {
			t.Errorf("%s: AcceptTopic() = %v; want a rejection with a reason", name, err)
		}
	}
	if _, err := f.r.AcceptTopic("lpr/port-a/dev1/reads", good); err != nil {
		t.Errorf("the good envelope after the damaged ones: %v", err)
	}
	if _, err := f.r.AcceptTopic("lpr/port-a/dev1/reads", good); ReasonOf(err) != Duplicate {
		t.Errorf("the good envelope again: %v; want duplicate", err)
	}
}

// fakeSub is an MQTT client whose subscriptions the test feeds by hand.
type fakeSub struct {
	mu      sync.Mutex
	cfg     mqttclient.Config
	handler mqttclient.Handler
	subs    int
	acks    int
}

func (c *fakeSub) factory(cfg mqttclient.Config) (mqttclient.Client, error) {
	c.mu.Lock()
	c.cfg = cfg
	c.mu.Unlock()
	return c, nil
}

func (c *fakeSub) Connect() mqttclient.Token {
	tok := uplinktest.NewToken()
	tok.Complete(nil)
	c.cfg.OnConnect()
	return tok
}

func (c *fakeSub) Publish(string, byte, bool, []byte) mqttclient.Token {
	tok := uplinktest.NewToken()
	tok.Complete(nil)
	return tok
}

func (c *fakeSub) Subscribe(_ string, _ byte, h mqttclient.Handler) mqttclient.Token {
	c.mu.Lock()
	c.handler = h
	c.subs++
	c.mu.Unlock()
	tok := uplinktest.NewToken()
	tok.Complete(nil)
	return tok
}

func (c *fakeSub) Disconnect(uint)        {}
func (c *fakeSub) IsConnectionOpen() bool { return true }

func (c *fakeSub) subscriptions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.subs
}

// deliver hands one message to the subscription, or to the default handler
// before there is one.
func (c *fakeSub) deliver(topic string, payload []byte) {
	c.mu.Lock()
	h := c.handler
	if h == nil {
		h = c.cfg.DefaultHandler
	}
	c.mu.Unlock()
	h(&fakeMsg{c: c, topic: topic, payload: payload})
}

type fakeMsg struct {
	c       *fakeSub
	topic   string
	payload []byte
}

func (m *fakeMsg) Topic() string   { return m.topic }
func (m *fakeMsg) Payload() []byte { return m.payload }
func (m *fakeMsg) Retained() bool  { return false }
func (m *fakeMsg) Duplicate() bool { return false }
func (m *fakeMsg) Ack() {
	m.c.mu.Lock()
	m.c.acks++
	m.c.mu.Unlock()
}

// Listen keeps running through every kind of bad payload, counts each under
// its reason, acknowledges it, subscribes again on every reconnection, and
// handles reads the session delivers before the subscription.
func TestListenRejectsAndKeepsRunning(t *testing.T) {
	f := newFixture(t, 1<<10)
	f.r.opt.Now = time.Now
	at := time.Now()
	fake := &fakeSub{}
	var mu sync.Mutex
	var reads []uint64
	var rejects []Reason
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	connected := make(chan struct{}, 10)
	go func() {
		done <- Listen(ctx, f.r, ListenOptions{
			NewClient: fake.factory, Topic: "lpr/+/+/reads",
			OnRead: func(rd Read) error {
				mu.Lock()
				reads = append(reads, rd.Seq)
				mu.Unlock()
				return nil
			},
			OnReject: func(err error) {
				mu.Lock()
				rejects = append(rejects, ReasonOf(err))
				mu.Unlock()
			},
			OnConnect: func() { connected <- struct{}{} },
		})
	}()
	<-connected
	if got := fake.cfg.MaxReconnectInterval; got != DefaultMaxReconnectInterval {
		t.Errorf("Listen's MaxReconnectInterval = %v; want %v", got, DefaultMaxReconnectInterval)
	}
	if !fake.cfg.AutoReconnect || !fake.cfg.ManualAck || fake.cfg.DefaultHandler == nil {
		t.Errorf("Listen's client config: AutoReconnect %v ManualAck %v DefaultHandler set %v; want all", fake.cfg.AutoReconnect, fake.cfg.ManualAck, fake.cfg.DefaultHandler != nil)
	}
	const topic = "lpr/port-a/dev1/reads"
	good := f.seal(t, 1, at, event(t, "dev1", at))
	fake.deliver(topic, good)
	bad := badPayloads(f.seal(t, 2, at, event(t, "dev1", at)))
	bad["replayed"] = good
	bad["on another device's topic"] = f.seal(t, 3, at, event(t, "dev1", at))
	for name, b := range bad {
		tp := topic
		if name == "on another device's topic" {
			tp = "lpr/port-a/dev2/reads"
		}
		fake.deliver(tp, b)
	}
	// A reconnection: Listen subscribes again.
	fake.cfg.OnConnect()
	<-connected
	if n := fake.subscriptions(); n != 2 {
		t.Errorf("subscriptions after a reconnection = %d; want 2", n)
	}
	fake.deliver(topic, f.seal(t, 4, at, event(t, "dev1", at)))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Listen = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reads) != 2 || reads[0] != 1 || reads[1] != 4 {
		t.Errorf("reads = %v; want [1 4]", reads)
	}
	if len(rejects) != len(bad) {
		t.Errorf("%d rejections; want %d (%v)", len(rejects), len(bad), rejects)
	}
	for _, r := range rejects {
		if r == "" {
			t.Errorf("a rejection without a reason: %v", rejects)
		}
	}
	st := f.r.Stats()
	if st.Rejected[TopicMismatch] != 1 || st.Rejected[Duplicate] != 1 || st.Accepted != 2 {
		t.Errorf("stats %+v; want 1 topic-mismatch, 1 duplicate, 2 accepted", st)
	}
	if fake.acks != 2+len(bad) {
		t.Errorf("acks = %d; want %d", fake.acks, 2+len(bad))
	}
}

// Reads a persistent session delivers before Subscribe has run go through
// the default handler, not lost.
func TestListenDefaultHandler(t *testing.T) {
	f := newFixture(t, 64)
	f.r.opt.Now = time.Now
	at := time.Now()
	fake := &fakeSub{}
	var got []uint64
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	connected := make(chan struct{}, 1)
	wrapped := func(cfg mqttclient.Config) (mqttclient.Client, error) {
		c, err := fake.factory(cfg)
		// The broker sends the queued read as soon as the session resumes.
		fake.deliver("lpr/port-a/dev1/reads", f.seal(t, 9, at, event(t, "dev1", at)))
		return c, err
	}
	go func() {
		done <- Listen(ctx, f.r, ListenOptions{NewClient: wrapped, Topic: "lpr/+/+/reads",
			OnRead: func(rd Read) error {
				mu.Lock()
				got = append(got, rd.Seq)
				mu.Unlock()
				return nil
			},
			OnConnect: func() { connected <- struct{}{} },
		})
	}()
	<-connected
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != 9 {
		t.Errorf("reads before the subscription = %v; want [9]", got)
	}
}
