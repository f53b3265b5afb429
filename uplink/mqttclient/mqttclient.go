package mqttclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Token is the completion of an asynchronous MQTT operation.
type Token interface {
	// WaitTimeout waits at most d and reports whether the operation
	// completed.
	WaitTimeout(d time.Duration) bool
	// Done is closed when the operation completed.
	Done() <-chan struct{}
	// Error is the operation's error once it completed.
	Error() error
}

// Message is a received message.
type Message interface {
	Topic() string
	Payload() []byte
	Retained() bool
	Duplicate() bool
	// Ack acknowledges a QoS 1 message when Config.ManualAck is set.
	Ack()
}

// Handler receives messages of a subscription.
type Handler func(Message)

// Client is the part of an MQTT client that lprd uses.
type Client interface {
	Connect() Token
	Publish(topic string, qos byte, retained bool, payload []byte) Token
	Subscribe(topic string, qos byte, h Handler) Token
	// Disconnect waits up to quiesce milliseconds for pending work, then
	// closes the connection.
	Disconnect(quiesce uint)
	IsConnectionOpen() bool
}

// Will is the Last Will the broker publishes when the connection drops
// without a clean disconnect.
type Will struct {
	Topic    string
	Payload  []byte
	QoS      byte
	Retained bool
}

// Config describes a connection.
type Config struct {
	Broker         string // ssl://host:8883 (or tls://, mqtts://); tcp:// needs AllowPlaintext
	AllowPlaintext bool
	CAFile         string // PEM CA bundle for the broker's certificate; system roots if empty
	CertFile       string // PEM client certificate (mutual TLS)
	KeyFile        string // PEM key of CertFile

	ClientID     string
	CleanSession bool
	// AutoReconnect lets paho reconnect by itself. uplink keeps it off and
	// reconnects from its own loop (see the uplink package documentation).
	AutoReconnect        bool
	MaxReconnectInterval time.Duration // cap of paho's back-off (AutoReconnect)
	ConnectTimeout       time.Duration // default 10 s
	KeepAlive            time.Duration // default 30 s
	ManualAck            bool          // received QoS 1 messages are acknowledged by Message.Ack
	Will                 *Will
	// DefaultHandler, when set, receives messages that match no
	// subscription made on this client: with a persistent session the
	// broker sends what it queued right after connecting, before Subscribe
	// has run. Without it paho drops them unacknowledged.
	DefaultHandler Handler

	OnConnect        func()          // after every successful (re)connection
	OnConnectionLost func(err error) // when an open connection drops
}

// Factory makes a Client; tests replace it with a fake.
type Factory func(Config) (Client, error)

// ErrPlaintext is returned for a tcp:// broker without AllowPlaintext.
var ErrPlaintext = errors.New("plain-text MQTT refused: use ssl:// with a CA and a client certificate, or allow plain text explicitly (loopback demos and tests only)")

// New returns a paho-backed Client. It does not connect.
func New(cfg Config) (Client, error) {
	b, err := ParseBroker(cfg.Broker)
	if err != nil {
		return nil, err
	}
	o := mqtt.NewClientOptions()
	if !b.TLS {
		if !cfg.AllowPlaintext {
			return nil, fmt.Errorf("MQTT broker %s: %w", cfg.Broker, ErrPlaintext)
		}
		o.AddBroker("tcp://" + b.Host)
	} else {
		tc, err := TLSConfig(cfg.CAFile, cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("MQTT broker %s: %w", cfg.Broker, err)
		}
		o.AddBroker("ssl://" + b.Host)
		o.SetTLSConfig(tc)
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 30 * time.Second
	}
	if cfg.MaxReconnectInterval <= 0 {
		cfg.MaxReconnectInterval = time.Minute
	}
	o.SetClientID(cfg.ClientID)
	o.SetCleanSession(cfg.CleanSession)
	o.SetAutoReconnect(cfg.AutoReconnect)
	o.SetMaxReconnectInterval(cfg.MaxReconnectInterval)
	o.SetConnectRetry(false)
	o.SetConnectTimeout(cfg.ConnectTimeout)
	o.SetWriteTimeout(cfg.ConnectTimeout)
	o.SetKeepAlive(cfg.KeepAlive)
	o.SetPingTimeout(cfg.ConnectTimeout)
	o.SetResumeSubs(true)
	o.SetAutoAckDisabled(cfg.ManualAck)
	if h := cfg.DefaultHandler; h != nil {
		o.SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { h(m) })
	}
	if w := cfg.Will; w != nil {
		o.SetBinaryWill(w.Topic, w.Payload, w.QoS, w.Retained)
	}
	if f := cfg.OnConnect; f != nil {
		o.SetOnConnectHandler(func(mqtt.Client) { f() })
	}
	if f := cfg.OnConnectionLost; f != nil {
		o.SetConnectionLostHandler(func(_ mqtt.Client, err error) { f(err) })
	}
	return &pahoClient{c: mqtt.NewClient(o)}, nil
}

var _ Factory = New

// TLSConfig builds a client TLS configuration: the broker must present a
// certificate signed by the CA in caFile (or by a system root when caFile is
// empty), and the client presents certFile/keyFile when given.
func TLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate in it", caFile)
		}
		tc.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("client certificate and key must be given together")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate %s / key %s: %w", certFile, keyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

type pahoClient struct{ c mqtt.Client }

func (p *pahoClient) Connect() Token { return p.c.Connect() }

func (p *pahoClient) Publish(topic string, qos byte, retained bool, payload []byte) Token {
	return p.c.Publish(topic, qos, retained, payload)
}

func (p *pahoClient) Subscribe(topic string, qos byte, h Handler) Token {
	return p.c.Subscribe(topic, qos, func(_ mqtt.Client, m mqtt.Message) { h(m) })
}

func (p *pahoClient) Disconnect(quiesce uint) { p.c.Disconnect(quiesce) }

func (p *pahoClient) IsConnectionOpen() bool { return p.c.IsConnectionOpen() }
