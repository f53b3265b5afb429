package receiver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lprd/lprd/uplink/mqttclient"
)

// ListenOptions configure Listen.
type ListenOptions struct {
	// Client is the MQTT connection. Listen sets AutoReconnect, ManualAck
	// and DefaultHandler; keep CleanSession false (with a stable ClientID)
	// so the broker queues reads while the listener is away. Its
	// MaxReconnectInterval caps paho's doubling back-off between reconnection
	// attempts, and so bounds how late the listener is back after a broker
	// outage; default DefaultMaxReconnectInterval.
	Client    mqttclient.Config
	NewClient mqttclient.Factory // default mqttclient.New
	// Topic to subscribe, e.g. "lpr/+/+/reads", or a shared subscription
	// "$share/<group>/lpr/+/+/reads" to split the load between workers.
	Topic   string
	Timeout time.Duration // for connect and subscribe; default 10 s
	// OnRead receives each accepted read, in arrival order. The message is
	// acknowledged to the broker after OnRead returns nil; an error leaves
	// it unacknowledged, so the broker delivers it again after a
	// reconnection.
	OnRead func(Read) error
	// OnReject receives each rejection (a *Rejection); may be nil.
	OnReject func(error)
	// OnConnect is told about every (re)subscription; may be nil.
	OnConnect func()
	// OnConnectionLost is told when the connection drops (Listen then
	// reconnects by itself); may be nil.
	OnConnectionLost func(error)
	// Acks, with a Key, publishes the backend's signed acknowledgements:
	// every read OnRead took (after it returned nil) and every duplicate,
	// and refusals of reads sealed to a key r does not hold.
	Acks AckOptions
}

// DefaultMaxReconnectInterval is Listen's default cap of the reconnection
// back-off (paho's own default is 10 minutes, mqttclient's 1 minute).
const DefaultMaxReconnectInterval = 30 * time.Second

// Listen subscribes to opt.Topic and feeds every message to r.AcceptTopic
// until ctx is done. It reconnects by itself, and subscribes again after
// every connection (a broker that lost its persistent state, or a clean
// session, would otherwise send nothing). It returns an error only when the
// first connection fails.
func Listen(ctx context.Context, r *Receiver, opt ListenOptions) error {
	if opt.NewClient == nil {
		opt.NewClient = mqttclient.New
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Topic == "" || opt.OnRead == nil {
		return errors.New("listen: topic and OnRead are required")
	}
	connected := make(chan struct{}, 1)
	ack := newAcker(opt.Acks)
	cfg := opt.Client
	cfg.AutoReconnect = true
	cfg.ManualAck = true
	if cfg.MaxReconnectInterval <= 0 {
		cfg.MaxReconnectInterval = DefaultMaxReconnectInterval
	}
	if opt.OnConnectionLost != nil {
		cfg.OnConnectionLost = opt.OnConnectionLost
	}
	cfg.OnConnect = func() {
		select {
		case connected <- struct{}{}:
		default:
		}
	}
	handle := handler(r, opt, ack)
	// Reads the session queued arrive right after CONNACK, before the
	// subscription is made again: they go through the same handler.
	cfg.DefaultHandler = handle
	c, err := opt.NewClient(cfg)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	tok := c.Connect()
	if !tok.WaitTimeout(opt.Timeout) {
		c.Disconnect(0)
		return fmt.Errorf("listen: connect %s: no answer within %v", cfg.Broker, opt.Timeout)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("listen: %w", mqttclient.ExplainConnect(cfg.Broker, err))
	}
	defer c.Disconnect(250)
	tick, stop := ack.tick()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			ack.flush(c, opt.Timeout)
			return nil
		case <-tick:
			ack.flush(c, opt.Timeout)
		case <-ack.fullC():
			ack.flush(c, opt.Timeout)
		case <-connected:
			st := c.Subscribe(opt.Topic, 1, handle)
			if !st.WaitTimeout(opt.Timeout) || st.Error() != nil {
				// Try again on the next tick; the connection may be gone.
				time.AfterFunc(time.Second, func() { cfg.OnConnect() })
				continue
			}
			if opt.OnConnect != nil {
				opt.OnConnect()
			}
		}
	}
}

// handler feeds a message to r.AcceptTopic and opt.OnRead, acknowledges it
// to the broker once OnRead took it, and queues the backend's ack.
func handler(r *Receiver, opt ListenOptions, ack *acker) mqttclient.Handler {
	return func(m mqttclient.Message) {
		rd, err := r.AcceptTopic(m.Topic(), m.Payload())
		if err != nil {
			ack.rejected(m.Topic(), err)
			if opt.OnReject != nil {
				opt.OnReject(fmt.Errorf("%s: %w", m.Topic(), err))
			}
			m.Ack()
			return
		}
		if err := opt.OnRead(rd); err != nil {
			r.Forget(rd)
			if opt.OnReject != nil {
				opt.OnReject(fmt.Errorf("%s: output: %w", m.Topic(), err))
			}
			return
		}
		m.Ack()
		ack.handled(m.Topic(), rd)
	}
}
