package uplinktest

import (
	"errors"
	"sync"
	"time"

	"github.com/lprd/lprd/uplink/mqttclient"
)

// Token is a fake mqttclient.Token completed by Complete.
type Token struct {
	once sync.Once
	done chan struct{}
	err  error
}

// NewToken returns a pending token.
func NewToken() *Token { return &Token{done: make(chan struct{})} }

// Complete finishes the token with err (nil for success). Later calls do
// nothing.
func (t *Token) Complete(err error) {
	t.once.Do(func() { t.err = err; close(t.done) })
}

// WaitTimeout implements mqttclient.Token.
func (t *Token) WaitTimeout(d time.Duration) bool {
	select {
	case <-t.done:
		return true
	case <-time.After(d):
		return false
	}
}

// Done implements mqttclient.Token.
func (t *Token) Done() <-chan struct{} { return t.done }

// Error implements mqttclient.Token.
func (t *Token) Error() error {
	select {
	case <-t.done:
		return t.err
	default:
		return nil
	}
}

var _ mqttclient.Token = &Token{}

// Published is one Publish call seen by FakeClient.
type Published struct {
	Topic    string
	QoS      byte
	Retained bool
	Payload  []byte
	Token    *Token
}

// ErrConnectionLost is what FakeClient.Drop fails pending tokens with.
var ErrConnectionLost = errors.New("fake: connection lost")

// FakeClient is a scriptable mqttclient.Client. The zero value connects and
// acknowledges every publish at once.
type FakeClient struct {
	// ConnectErr, when set, is called on each Connect; a non-nil result
	// fails the connection.
	ConnectErr func() error
	// HoldAcks leaves the tokens of non-retained QoS 1 publishes (reads)
	// pending until Ack or Drop. Set it before use or with SetHoldAcks.
	HoldAcks bool

	mu        sync.Mutex
	cfg       mqttclient.Config
	open      bool
	published []Published
	connects  int
	subs      map[string]mqttclient.Handler
}

// Factory returns a mqttclient.Factory that records the Config and returns
// f.
func (f *FakeClient) Factory() mqttclient.Factory {
	return func(cfg mqttclient.Config) (mqttclient.Client, error) {
		f.mu.Lock()
		f.cfg = cfg
		f.mu.Unlock()
		return f, nil
	}
}

// Config returns the configuration the factory received.
func (f *FakeClient) Config() mqttclient.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}

// Connect implements mqttclient.Client.
func (f *FakeClient) Connect() mqttclient.Token {
	t := NewToken()
	var err error
	if f.ConnectErr != nil {
		err = f.ConnectErr()
	}
	f.mu.Lock()
	f.connects++
	f.open = err == nil
	onConnect := f.cfg.OnConnect
	f.mu.Unlock()
	t.Complete(err)
	if err == nil && onConnect != nil {
		onConnect()
	}
	return t
}

// Connects returns how many times Connect was called.
func (f *FakeClient) Connects() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connects
}

// Publish implements mqttclient.Client.
func (f *FakeClient) Publish(topic string, qos byte, retained bool, payload []byte) mqttclient.Token {
	t := NewToken()
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.open {
		t.Complete(errors.New("fake: not connected"))
		return t
	}
	f.published = append(f.published, Published{topic, qos, retained, append([]byte(nil), payload...), t})
	if !f.HoldAcks || qos == 0 || retained {
		t.Complete(nil)
	}
	return t
}

// Subscribe implements mqttclient.Client; Deliver sends to the handler.
func (f *FakeClient) Subscribe(topic string, _ byte, h mqttclient.Handler) mqttclient.Token {
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[string]mqttclient.Handler{}
	}
	f.subs[topic] = h
	f.mu.Unlock()
	t := NewToken()
	t.Complete(nil)
	return t
}

// Deliver hands payload to the handler subscribed to topic (exactly that
// topic, no wildcards) and reports whether there was one.
func (f *FakeClient) Deliver(topic string, payload []byte) bool {
	f.mu.Lock()
	h := f.subs[topic]
	f.mu.Unlock()
	if h == nil {
		return false
	}
	h(message{topic: topic, payload: append([]byte(nil), payload...)})
	return true
}

type message struct {
	topic   string
	payload []byte
}

func (m message) Topic() string   { return m.topic }
func (m message) Payload() []byte { return m.payload }
func (m message) Retained() bool  { return false }
func (m message) Duplicate() bool { return false }
func (m message) Ack()            {}

// Disconnect implements mqttclient.Client.
func (f *FakeClient) Disconnect(uint) {
	f.mu.Lock()
	f.open = false
	f.mu.Unlock()
}

// IsConnectionOpen implements mqttclient.Client.
func (f *FakeClient) IsConnectionOpen() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open
}

// Published returns the publishes so far, optionally only those to topic.
func (f *FakeClient) Published(topic string) []Published {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Published
	for _, p := range f.published {
		if topic == "" || p.Topic == topic {
			out = append(out, p)
		}
	}
	return out
}

// SetHoldAcks changes HoldAcks safely while the client is in use.
func (f *FakeClient) SetHoldAcks(hold bool) {
	f.mu.Lock()
	f.HoldAcks = hold
	f.mu.Unlock()
}

// Ack completes every pending publish token successfully.
func (f *FakeClient) Ack() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.published {
		p.Token.Complete(nil)
	}
}

// Drop simulates a lost connection: pending tokens fail and the
// OnConnectionLost callback runs, as paho does with a clean session.
func (f *FakeClient) Drop() {
	f.mu.Lock()
	f.open = false
	for _, p := range f.published {
		p.Token.Complete(ErrConnectionLost)
	}
	lost := f.cfg.OnConnectionLost
	f.mu.Unlock()
	if lost != nil {
		lost(ErrConnectionLost)
	}
}

var _ mqttclient.Client = &FakeClient{}
