package uplink

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/mqttclient"
	"github.com/lprd/lprd/uplink/outbox"
)

// Event is the read event of one vehicle pass (see envelope.Event).
type (
	Event     = envelope.Event
	Candidate = envelope.Candidate
	Box       = envelope.Box
)

// Defaults of Options.
const (
	DefaultTopicPrefix          = "lpr"
	DefaultPublishTimeout       = 10 * time.Second
	DefaultHealthInterval       = 30 * time.Second
	DefaultConnectTimeout       = 10 * time.Second
	DefaultMaxReconnectInterval = time.Minute
	DefaultInFlight             = 16
	DefaultSysfsRoot            = "/sys"
)

// Status words. Each goes out as a signed monitoring message
// (envelope.SignMonitor) whose body is the word as a JSON string.
const (
	StatusOnline  = "online"
	StatusOffline = "offline" // the Last Will
	StatusStopped = "stopped" // clean exit
)

// Options configure an Uplink. Zero values take the documented defaults.
type Options struct {
	Broker         string // ssl://host:8883 or, with AllowPlaintext, tcp://127.0.0.1:1883
	AllowPlaintext bool
	CAFile         string // PEM CA of the broker's certificate
	CertFile       string // PEM client certificate (mutual TLS)
	KeyFile        string // PEM key of CertFile
	ClientID       string // default "lprd-<DeviceID>"

	TopicPrefix string // default "lpr"
	Site        string // required, [A-Za-z0-9._-]
	DeviceID    string // required, [A-Za-z0-9._-]

	// The backend's HPKE public key and the device's Ed25519 signing key,
	// as files (RecipientKeyFile, SigningKeyFile) or, when set, as values.
	// The signing key signs the envelopes and the status and health
	// messages.
	RecipientKeyFile string
	SigningKeyFile   string
	RecipientKey     *envelope.RecipientPublicKey
	SigningKey       ed25519.PrivateKey
	Suite            string // envelope suite name; default mlkem768x25519-chacha20poly1305

	// The backend's Ed25519 signing public keys (backend-signing.pub), as
	// a file or as values. With them a read leaves the outbox only on the
	// backend's signed acknowledgement (docs/acks.md), and one the broker
	// acknowledged is published again when the backend has not confirmed
	// it within ConfirmTimeout (default 5 min). Without them a read leaves
	// on the broker's PUBACK.
	BackendVerifyKeyFile string
	BackendVerifyKeys    []ed25519.PublicKey
	ConfirmTimeout       time.Duration

	StateDir       string        // required; the outbox lives in StateDir/outbox
	OutboxMaxCount int           // default outbox.DefaultMaxCount
	OutboxMaxBytes int64         // default outbox.DefaultMaxBytes
	OutboxMaxAge   time.Duration // default outbox.DefaultMaxAge
	OutboxPolicy   string        // "drop-oldest" (default) or "reject-new"
	// Reads the state folder cannot store (full, read-only, failing) are
	// held in memory, sealed, at most OutboxMemoryMaxCount reads and
	// OutboxMemoryMaxBytes bytes (default outbox.DefaultMemoryMaxCount,
	// outbox.DefaultMemoryMaxBytes), published from there and written to
	// the folder once it works again; OutboxPolicy decides which read is
	// dropped when that is full too.
	OutboxMemoryMaxCount int
	OutboxMemoryMaxBytes int64
	OutboxFS             outbox.FS // default outbox.OSFS; tests pass a failing one

	PublishTimeout       time.Duration // wait for a PUBACK before retrying; default 10 s
	ConnectTimeout       time.Duration // default 10 s
	MaxReconnectInterval time.Duration // cap of the reconnection back-off; default 1 min
	InFlight             int           // reads published but not yet acknowledged; default 16

	HealthInterval time.Duration // default 30 s
	// HealthFunc fills the capture, ocr and GPIO figures of a health
	// message. It runs on Run's goroutine and must not block.
	HealthFunc func(*Health)
	Version    string // lprd's version, reported on health
	SysfsRoot  string // root of sysfs for the CPU temperature; default /sys

	// Commands are the device's command topics: each key is a topic name under
	// <prefix>/<site>/<device>/ (e.g. "hotlist"), subscribed at QoS 1 after every
	// connection (retained commands arrive again each time); its function gets
	// each payload, on the MQTT client's goroutine, and must verify it.
	Commands map[string]func(payload []byte)

	Logger    *slog.Logger       // default: discard
	NewClient mqttclient.Factory // default mqttclient.New; tests pass a fake
	Now       func() time.Time   // default time.Now
}

// Uplink seals, stores and publishes read events. Create it with New, call
// Run in one goroutine, Submit from any, and Close at the end.
type Uplink struct {
	opt    Options
	log    *slog.Logger
	sealer *envelope.Sealer
	// key signs the status and health messages (envelope.SignMonitor);
	// it is the key that signs the envelopes.
	key    ed25519.PrivateKey
	box    *outbox.Outbox
	client mqttclient.Client
	topics topics
	acks   *acks
	start  time.Time

	submitMu sync.Mutex
	wake     chan struct{} // Submit -> Run, capacity 1
	lost     chan error    // connection lost -> Run, capacity 1

	connected  atomic.Bool
	submitted  atomic.Uint64
	held       atomic.Uint64 // reads that went to the memory queue
	failing    atomic.Bool   // the state folder failed; cleared when it works
	dropBurst  atomic.Uint64 // reads dropped since failing was set
	reconnects atomic.Uint64
	failures   atomic.Uint64

	runMu   sync.Mutex
	running chan struct{} // closed when Run returns; nil when Run never started
	closed  bool
}

type topics struct{ reads, status, health, acks string }

// Errors of Submit.
var (
	ErrClosed = errors.New("uplink closed")
	// ErrClockNotSet is returned while the system clock is before
	// MinClock: a read sealed with a 1970 time would be refused by the
	// backend and expire from the outbox at once. Wait for time
	// synchronisation before reading plates.
	ErrClockNotSet = errors.New("system clock not set")
)

// MinClock is the earliest time Submit accepts as "now".
var MinClock = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// setDefaults fills the zero fields with their defaults.
func (opt *Options) setDefaults() {
	if opt.TopicPrefix == "" {
		opt.TopicPrefix = DefaultTopicPrefix
	}
	if opt.PublishTimeout <= 0 {
		opt.PublishTimeout = DefaultPublishTimeout
	}
	if opt.HealthInterval <= 0 {
		opt.HealthInterval = DefaultHealthInterval
	}
	if opt.ConnectTimeout <= 0 {
		opt.ConnectTimeout = DefaultConnectTimeout
	}
	if opt.MaxReconnectInterval <= 0 {
		opt.MaxReconnectInterval = DefaultMaxReconnectInterval
	}
	if opt.InFlight <= 0 {
		opt.InFlight = DefaultInFlight
	}
	if opt.SysfsRoot == "" {
		opt.SysfsRoot = DefaultSysfsRoot
	}
	if opt.ConfirmTimeout <= 0 {
		opt.ConfirmTimeout = DefaultConfirmTimeout
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.NewClient == nil {
		opt.NewClient = mqttclient.New
	}
	if opt.ClientID == "" {
		opt.ClientID = "lprd-" + opt.DeviceID
	}
}

// validate checks the ids, the topic prefix and the state folder.
func (opt *Options) validate() error {
	if !envelope.ValidID(opt.DeviceID) {
		return fmt.Errorf("uplink: device id %q: want 1-%d of [A-Za-z0-9._-]", opt.DeviceID, envelope.MaxIDLen)
	}
	if !envelope.ValidID(opt.Site) {
		return fmt.Errorf("uplink: site %q: want 1-%d of [A-Za-z0-9._-]", opt.Site, envelope.MaxIDLen)
	}
	if strings.ContainsAny(opt.TopicPrefix, "+#\x00") || strings.HasPrefix(opt.TopicPrefix, "/") || strings.HasSuffix(opt.TopicPrefix, "/") {
		return fmt.Errorf("uplink: topic prefix %q: no wildcards, no leading or trailing /", opt.TopicPrefix)
	}
	if opt.StateDir == "" {
		return errors.New("uplink: no state folder given")
	}
	return nil
}

// sealer loads the keys and makes the envelope sealer. It also returns the
// signing key, which signs the status and health messages too.
func (opt *Options) sealer() (*envelope.Sealer, ed25519.PrivateKey, error) {
	suite, err := envelope.ParseSuite(opt.Suite)
	if err != nil {
		return nil, nil, fmt.Errorf("uplink: %w", err)
	}
	rcpt := opt.RecipientKey
	if rcpt == nil {
		if rcpt, err = envelope.LoadRecipientPublicKey(opt.RecipientKeyFile); err != nil {
			return nil, nil, fmt.Errorf("uplink: %w", err)
		}
	}
	signer := opt.SigningKey
	if signer == nil {
		if signer, err = envelope.LoadSigningPrivateKey(opt.SigningKeyFile); err != nil {
			return nil, nil, fmt.Errorf("uplink: %w", err)
		}
	}
	sealer, err := envelope.NewSealer(opt.DeviceID, suite, rcpt, signer)
	if err != nil {
		return nil, nil, fmt.Errorf("uplink: %w", err)
	}
	return sealer, signer, nil
}

// New checks the options, loads the keys and opens the outbox. It does not
// connect; Run does.
func New(ctx context.Context, opt Options) (*Uplink, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opt.setDefaults()
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := opt.validate(); err != nil {
		return nil, err
	}
	sealer, key, err := opt.sealer()
	if err != nil {
		return nil, err
	}
	policy, err := outbox.ParsePolicy(opt.OutboxPolicy)
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	backendKeys, err := opt.loadBackendKeys()
	if err != nil {
		return nil, err
	}
	base := opt.TopicPrefix + "/" + opt.Site + "/" + opt.DeviceID + "/"
	u := &Uplink{
		opt: opt, log: log, sealer: sealer, key: key, start: opt.Now(), acks: newAcks(backendKeys, &opt),
		topics: topics{reads: base + "reads", status: base + "status", health: base + "health", acks: base + "acks"},
		wake:   make(chan struct{}, 1),
		lost:   make(chan error, 1),
	}
	// The broker publishes the Last Will as it was handed over, so it is
	// signed here, once: its time is the start time, not the time the
	// connection dropped.
	will, err := u.status(StatusOffline, u.start)
	if err != nil {
		return nil, err
	}
	u.client, err = opt.NewClient(mqttclient.Config{
		Broker: opt.Broker, AllowPlaintext: opt.AllowPlaintext,
		CAFile: opt.CAFile, CertFile: opt.CertFile, KeyFile: opt.KeyFile,
		ClientID: opt.ClientID, CleanSession: true, AutoReconnect: false,
		ConnectTimeout: opt.ConnectTimeout,
		Will:           &mqttclient.Will{Topic: u.topics.status, Payload: will, QoS: 1, Retained: true},
		OnConnectionLost: func(err error) {
			select {
			case u.lost <- err:
			default:
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	u.box, err = outbox.Open(outbox.Options{
		Dir: filepath.Join(opt.StateDir, "outbox"), MaxCount: opt.OutboxMaxCount, MaxBytes: opt.OutboxMaxBytes,
		MaxAge: opt.OutboxMaxAge, Policy: policy, Now: opt.Now,
		MemoryMaxCount: opt.OutboxMemoryMaxCount, MemoryMaxBytes: opt.OutboxMemoryMaxBytes, FS: opt.OutboxFS,
	})
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	if !u.acks.on() {
		// Reads a run with acknowledgements left waiting for the backend
		// now leave on the broker's PUBACK.
		u.box.Due(0)
		log.Warn("no backend verify key: a read leaves the outbox on the broker's acknowledgement, so delivery is only to the broker", "backend_key_id", sealer.RecipientKeyID().String())
	} else {
		log.Info("reads leave the outbox on the backend's signed acknowledgement", "topic", u.topics.acks,
			"backend_key_id", sealer.RecipientKeyID().String(), "confirm_timeout", opt.ConfirmTimeout)
	}
	return u, nil
}

// status returns the signed status message of word (StatusOnline, ...) at.
func (u *Uplink) status(word string, at time.Time) ([]byte, error) {
	body, _ := json.Marshal(word)
	msg, err := envelope.SignMonitor(u.key, u.opt.DeviceID, u.topics.status, at, body)
	if err != nil {
		return nil, fmt.Errorf("uplink: status %s: %w", word, err)
	}
	return msg, nil
}

// AcksTopic returns the topic of the backend's acknowledgements to this
// device.
func (u *Uplink) AcksTopic() string { return u.topics.acks }

// Topics returns the reads, status and health topics of this device.
func (u *Uplink) Topics() (reads, status, health string) {
	return u.topics.reads, u.topics.status, u.topics.health
}

// Submit seals and signs ev and stores the envelope durably; Run publishes
// it. When Submit returns nil, the read survives a crash and will be
// delivered or expired by the outbox policy, or, when the state folder
// cannot store it (full, read-only, failing disk), it is held in memory,
// sealed: Run publishes it from there and writes it to the folder once
// that works again, and it is lost only if the process stops first. Such
// reads are logged (naming the folder and the reason) and counted on health
// (reads_in_memory, outbox_store_errors). Submit returns an error when the
// read is not kept at all: the outbox refused it, or the memory queue was
// full (reads_dropped). Empty V, EventID, DeviceID and Site are filled in.
// Errors name the event by its id, never by its plate.
func (u *Uplink) Submit(ev Event) error {
	now := u.opt.Now()
	if now.Before(MinClock) {
		return fmt.Errorf("uplink: %w: %s", ErrClockNotSet, now.UTC().Format(time.RFC3339))
	}
	if ev.V == 0 {
		ev.V = envelope.EventVersion
	}
	if ev.EventID == "" {
		ev.EventID = envelope.NewEventID(now)
	}
	if ev.DeviceID == "" {
		ev.DeviceID = u.opt.DeviceID
	}
	if ev.Site == "" {
		ev.Site = u.opt.Site
	}
	if ev.DeviceID != u.opt.DeviceID {
		return fmt.Errorf("uplink: event %s: device id %q is not this device's %q", ev.EventID, ev.DeviceID, u.opt.DeviceID)
	}
	pt, err := ev.MarshalCanonical()
	if err != nil {
		return fmt.Errorf("uplink: event %s: %w", ev.EventID, err)
	}
	u.submitMu.Lock()
	defer u.submitMu.Unlock()
	if u.isClosed() {
		return ErrClosed
	}
	seq := u.box.Reserve()
	env, err := u.sealer.Seal(seq, now, pt)
	clear(pt)
	if err != nil {
		return fmt.Errorf("uplink: event %s: %w", ev.EventID, err)
	}
	if err := u.box.Put(seq, now, env); err != nil {
		var serr *outbox.StoreError
		if !errors.As(err, &serr) {
			return fmt.Errorf("uplink: event %s: %w", ev.EventID, err)
		}
		u.storeFailed(ev.EventID, serr)
		if !serr.Kept {
			return fmt.Errorf("uplink: event %s: %w", ev.EventID, err)
		}
	} else {
		u.storeWorks()
		u.log.Debug("read stored", "event_id", ev.EventID, "seq", seq, "bytes", len(env))
	}
	u.submitted.Add(1)
	select {
	case u.wake <- struct{}{}:
	default:
	}
	return nil
}

// storeFailed logs a read the state folder could not store: every read kept
// in memory, and the first drop of a burst (until the folder works again).
func (u *Uplink) storeFailed(eventID string, serr *outbox.StoreError) {
	u.failing.Store(true)
	if serr.Kept {
		u.held.Add(1)
	}
	if serr.Dropped == 0 {
		u.log.Error(serr.Error(), "event_id", eventID, "seq", serr.Seq)
		return
	}
	if u.dropBurst.Add(uint64(serr.Dropped)) > uint64(serr.Dropped) {
		u.log.Debug(serr.Error(), "event_id", eventID, "seq", serr.Seq)
		return
	}
	u.log.Error("reads dropped: the state folder cannot store them and the memory queue is full; further drops are counted on health (reads_dropped) until the folder works again",
		"outbox", serr.Dir, "reason", serr.Err, "held", serr.Held, "event_id", eventID)
}

// storeWorks notes that the state folder stored an envelope again.
func (u *Uplink) storeWorks() {
	if !u.failing.Swap(false) {
		return
	}
	u.log.Info("outbox stores reads again", "outbox", filepath.Join(u.opt.StateDir, "outbox"),
		"reads_dropped_meanwhile", u.dropBurst.Swap(0))
}

// retryStore writes the reads held in memory to the state folder (the
// outbox backs off while it keeps failing).
func (u *Uplink) retryStore() {
	n, err := u.box.Retry()
	if err != nil {
		return // logged when the reads were kept; counted on health
	}
	if n > 0 {
		u.log.Info("reads held in memory written to the outbox", "count", n)
		u.storeWorks()
	}
}

func (u *Uplink) isClosed() bool {
	u.runMu.Lock()
	defer u.runMu.Unlock()
	return u.closed
}

type flight struct {
	e   outbox.Entry
	tok mqttclient.Token
	at  time.Time
}

// Run connects, publishes stored envelopes in order and the health message
// every HealthInterval, and reconnects with a capped back-off, until ctx is
// done. It returns nil then, leaving the connection open for Close.
func (u *Uplink) Run(ctx context.Context) error {
	u.runMu.Lock()
	if u.closed || u.running != nil {
		u.runMu.Unlock()
		return errors.New("uplink: Run called twice or after Close")
	}
	done := make(chan struct{})
	u.running = done
	u.runMu.Unlock()
	defer close(done)

	health := time.NewTicker(u.opt.HealthInterval)
	defer health.Stop()
	expireEvery := min(max(u.opt.OutboxMaxAge/100, time.Second), 10*time.Second)
	expire := time.NewTicker(expireEvery)
	defer expire.Stop()
	retry := time.NewTicker(storeRetryTick)
	defer retry.Stop()
	confirm := time.NewTicker(min(max(u.opt.ConfirmTimeout/10, 100*time.Millisecond), 30*time.Second))
	defer confirm.Stop()
	l := &window{u: u, backoff: time.Second}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			return nil
		}
		if !u.connected.Load() && !l.reconnect(ctx, retry.C) {
			return nil
		}
		if !u.connected.Load() {
			continue
		}
		l.fill()
		var headDone <-chan struct{}
		if len(l.inflight) > 0 {
			headDone = l.inflight[0].tok.Done()
			timer.Reset(max(time.Until(l.inflight[0].at.Add(u.opt.PublishTimeout)), 0))
		} else {
			timer.Reset(time.Hour)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-u.wake:
		case err := <-u.lost:
			if u.client.IsConnectionOpen() {
				// A late notice about the previous connection (paho
				// reports losses from its own goroutine).
				continue
			}
			u.connected.Store(false)
			u.log.Warn("MQTT connection lost", "err", err)
			l.reset("connection lost", err)
		case <-health.C:
			u.publishHealth()
		case <-expire.C:
			u.expire()
		case <-retry.C:
			u.retryStore()
		case p := <-u.acks.in:
			u.handleAck(p)
		case <-confirm.C:
			if u.acks.on() {
				l.republish()
			}
		case <-timer.C:
			l.fail("no acknowledgement within the publish timeout", nil)
		case <-headDone:
			l.acknowledge()
		}
	}
}

// window is Run's publish window: the reads published on this connection and
// not yet acknowledged, in sequence order. It belongs to Run's goroutine.
type window struct {
	u        *Uplink
	inflight []flight
	redo     []outbox.Entry // republished after the confirmation timeout
	cursor   uint64         // highest seq published on this connection
	backoff  time.Duration  // between failed connection attempts
	// failWait grows while publishes fail on connections that open fine (a
	// broker that accepts and then drops us), so such a broker is not
	// hammered; an acknowledgement resets it.
	failWait time.Duration
}

// reconnect tries one connection after the waits that apply. It returns false
// when ctx is done.
func (l *window) reconnect(ctx context.Context, retry <-chan time.Time) bool {
	u := l.u
	if l.failWait > 0 && !u.pause(ctx, l.failWait, retry) {
		return false
	}
	if err := u.connect(ctx); err != nil {
		u.log.Warn("MQTT connect failed", "broker", u.opt.Broker, "err", err, "retry_in", l.backoff)
		if !u.pause(ctx, l.backoff, retry) {
			return false
		}
		l.backoff = min(2*l.backoff, u.opt.MaxReconnectInterval)
		return true
	}
	l.backoff = time.Second
	u.publishHealth()
	return true
}

// fill publishes the next reads of the outbox until the window is full.
func (l *window) fill() {
	u := l.u
	l.fillRedo()
	for len(l.inflight) < u.opt.InFlight {
		next := u.box.Next(l.cursor, u.opt.InFlight-len(l.inflight))
		if len(next) == 0 {
			return
		}
		for _, e := range next {
			l.cursor = e.Seq
			env, err := u.box.Read(e)
			if err != nil {
				continue // expired or evicted meanwhile
			}
			tok := u.client.Publish(u.topics.reads, 1, false, env)
			l.inflight = append(l.inflight, flight{e: e, tok: tok, at: time.Now()})
		}
	}
}

// acknowledge removes the completed prefix of the window from the outbox in one
// go; a failed publish drops the connection.
func (l *window) acknowledge() {
	var acks []uint64
	var failed error
	for _, f := range l.inflight {
		if !isDone(f.tok) {
			break
		}
		if failed = f.tok.Error(); failed != nil {
			break
		}
		acks = append(acks, f.e.Seq)
	}
	l.inflight = l.inflight[len(acks):]
	if len(acks) > 0 {
		l.failWait = 0
	}
	if err := l.u.acked(acks); err != nil {
		l.u.log.Error("outbox", "err", err)
	}
	if failed != nil {
		l.fail("publish failed", failed)
	}
}

// fail drops the connection after a publish failed or timed out; what was in
// flight is published again on the next one.
func (l *window) fail(why string, err error) {
	u := l.u
	l.failWait = min(max(2*l.failWait, 100*time.Millisecond), u.opt.MaxReconnectInterval)
	u.failures.Add(1)
	u.connected.Store(false)
	u.client.Disconnect(0)
	l.reset(why, err)
}

func (l *window) reset(why string, err error) {
	if len(l.inflight) > 0 {
		l.u.log.Warn("republishing unacknowledged reads", "why", why, "err", err, "from_seq", l.inflight[0].e.Seq, "count", len(l.inflight))
	}
	l.inflight = l.inflight[:0]
	l.redo = l.redo[:0]
	l.cursor = 0
}

// pause waits d while the broker is away, still offering the reads held in
// memory to the state folder on every tick of retry. It returns false when
// ctx is done.
func (u *Uplink) pause(ctx context.Context, d time.Duration, retry <-chan time.Time) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-retry:
			u.retryStore()
		}
	}
}

// storeRetryTick is how often Run offers the reads held in memory to the
// outbox, which itself backs off from 1 s to 1 min while the folder fails.
const storeRetryTick = 250 * time.Millisecond

func isDone(t mqttclient.Token) bool {
	select {
	case <-t.Done():
		return true
	default:
		return false
	}
}

// connect makes one connection attempt and announces the device online.
func (u *Uplink) connect(ctx context.Context) error {
	// Drain a stale loss notice of the previous connection.
	select {
	case <-u.lost:
	default:
	}
	tok := u.client.Connect()
	if err := wait(ctx, tok, u.opt.ConnectTimeout); err != nil {
		u.client.Disconnect(0)
		return mqttclient.ExplainConnect(u.opt.Broker, err)
	}
	if n := u.reconnects.Add(1); n > 1 {
		u.log.Info("MQTT reconnected", "broker", u.opt.Broker, "connections", n)
	} else {
		u.log.Info("MQTT connected", "broker", u.opt.Broker)
	}
	online, err := u.status(StatusOnline, u.opt.Now())
	if err != nil {
		u.client.Disconnect(0)
		return err
	}
	u.connected.Store(true)
	if err := wait(ctx, u.client.Publish(u.topics.status, 1, true, online), u.opt.PublishTimeout); err != nil {
		u.connected.Store(false)
		u.client.Disconnect(0)
		return fmt.Errorf("publish %s: %w", u.topics.status, err)
	}
	u.subscribeAcks()
	u.subscribeCommands(ctx)
	return nil
}

// subscribeCommands subscribes to the command topics. A refused subscription is
// logged and does not stop the reads.
func (u *Uplink) subscribeCommands(ctx context.Context) {
	base := u.opt.TopicPrefix + "/" + u.opt.Site + "/" + u.opt.DeviceID + "/"
	for name, handle := range u.opt.Commands {
		topic := base + name
		tok := u.client.Subscribe(topic, 1, func(m mqttclient.Message) { handle(m.Payload()) })
		if err := wait(ctx, tok, u.opt.PublishTimeout); err != nil {
			u.log.Warn("command topic not subscribed", "topic", topic, "err", err)
		}
	}
}

// wait waits for tok at most d.
func wait(ctx context.Context, tok mqttclient.Token, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-t.C:
		return fmt.Errorf("no answer from the broker within %v", d)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (u *Uplink) expire() {
	n, err := u.box.Expire()
	if err != nil {
		u.log.Error("outbox", "err", err)
	}
	if n > 0 {
		u.log.Warn("reads expired from the outbox", "count", n, "max_age", u.opt.OutboxMaxAge)
	}
}

// Health returns the current health figures (uplink's own, then
// HealthFunc's).
func (u *Uplink) Health() Health {
	now := u.opt.Now()
	st := u.box.Stats()
	h := Health{
		Version:        u.opt.Version,
		Time:           now.UTC().Truncate(time.Millisecond),
		UptimeS:        now.Sub(u.start).Seconds(),
		ReadsSubmitted: u.submitted.Load(),
		ReadsSent:      st.Acked + st.Sent,
		OutboxDepth:    st.Depth,
		OutboxBytes:    st.Bytes,
		ReadsExpired:   st.Expired,
		ReadsEvicted:   st.Evicted,
		ReadsRejected:  st.Rejected,
		ReadsInMemory:  st.InMemory,
		ReadsDropped:   st.Dropped,
		ReadsHeld:      u.held.Load(),
		StoreErrors:    st.StoreErrors,
		MQTTConnected:  u.connected.Load(),
		MQTTReconnects: max(u.reconnects.Load(), 1) - 1,
		PublishErrors:  u.failures.Load(),
		CPUTempC:       CPUTemperature(u.opt.SysfsRoot),
	}
	if !st.Oldest.IsZero() {
		h.OutboxOldestAgeS = max(now.Sub(st.Oldest).Seconds(), 0)
	}
	u.ackHealth(&h, st, now)
	if u.opt.HealthFunc != nil {
		u.opt.HealthFunc(&h)
	}
	return h
}

func (u *Uplink) publishHealth() {
	if !u.connected.Load() {
		return
	}
	u.expire()
	h := u.Health()
	b, err := json.Marshal(h)
	if err == nil {
		b, err = envelope.SignMonitor(u.key, u.opt.DeviceID, u.topics.health, h.Time, b)
	}
	if err != nil {
		u.log.Error("health", "err", err)
		return
	}
	tok := u.client.Publish(u.topics.health, 1, true, b)
	if !tok.WaitTimeout(u.opt.PublishTimeout) {
		u.log.Warn("health publish timed out", "topic", u.topics.health)
	} else if err := tok.Error(); err != nil {
		u.log.Warn("health publish failed", "topic", u.topics.health, "err", err)
	}
}

// Close waits for Run to return (cancel its context first), publishes a
// last health message and the retained "stopped" status when connected,
// disconnects and closes the outbox. Envelopes not yet acknowledged stay in
// the outbox for the next start.
func (u *Uplink) Close() error {
	u.submitMu.Lock() // no Submit in progress from here
	u.runMu.Lock()
	if u.closed {
		u.runMu.Unlock()
		u.submitMu.Unlock()
		return nil
	}
	u.closed = true
	running := u.running
	u.runMu.Unlock()
	u.submitMu.Unlock()
	if running != nil {
		<-running
	}
	if u.connected.Load() && u.client.IsConnectionOpen() {
		u.publishHealth()
		stopped, err := u.status(StatusStopped, u.opt.Now())
		if err == nil {
			tok := u.client.Publish(u.topics.status, 1, true, stopped)
			if !tok.WaitTimeout(u.opt.PublishTimeout) || tok.Error() != nil {
				err = errors.New("not acknowledged")
			}
		}
		if err != nil {
			u.log.Warn("could not publish the stopped status", "topic", u.topics.status, "err", err)
		}
	}
	u.connected.Store(false)
	u.client.Disconnect(250)
	err := u.box.Close()
	if err != nil {
		u.log.Error("outbox close", "err", err)
	}
	return err
}
