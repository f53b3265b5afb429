package receiver

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
)

// Reason is why an envelope was rejected.
type Reason string

// Rejection reasons (see the package documentation).
const (
	Malformed      Reason = "malformed"
	UnknownDevice  Reason = "unknown-device"
	Tampered       Reason = "tampered"
	OutOfWindow    Reason = "out-of-window"
	Replayed       Reason = "replayed"
	Duplicate      Reason = "duplicate"
	WrongRecipient Reason = "wrong-recipient"
	InvalidEvent   Reason = "invalid-event"
	TopicMismatch  Reason = "topic-mismatch"
)

// Reasons lists every reason, for reports.
var Reasons = []Reason{Malformed, UnknownDevice, Tampered, TopicMismatch, OutOfWindow, Replayed, Duplicate, WrongRecipient, InvalidEvent}

// Rejection is the error Accept returns for a refused envelope. Its message
// never holds event content.
type Rejection struct {
	Reason   Reason
	DeviceID string // as claimed by the header; empty when malformed
	Seq      uint64
	Err      error
	// SealedTo is, for WrongRecipient, the backend key the envelope was
	// sealed to (the device answers a refusal with it on health).
	SealedTo envelope.KeyID
}

func (r *Rejection) Error() string {
	if r.DeviceID == "" {
		return fmt.Sprintf("rejected (%s): %v", r.Reason, r.Err)
	}
	return fmt.Sprintf("rejected (%s) device %s seq %d: %v", r.Reason, r.DeviceID, r.Seq, r.Err)
}

func (r *Rejection) Unwrap() error { return r.Err }

// ReasonOf returns the reason of a Rejection, or "" for other errors.
func ReasonOf(err error) Reason {
	var r *Rejection
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}

// Defaults of Options.
const (
	DefaultMaxAge       = 8 * 24 * time.Hour // the device outbox keeps reads 7 days by default
	DefaultMaxSkew      = 5 * time.Minute
	DefaultReplayWindow = 1 << 16
	DefaultDedupeSize   = 1 << 17
	DefaultMaxGap       = 1 << 20
)

// Options configure a Receiver.
type Options struct {
	RecipientKeys []*envelope.RecipientPrivateKey // the backend's keys (several while rotating)
	DeviceKeys    map[string][]ed25519.PublicKey  // known devices' signing keys, by device id
	MaxAge        time.Duration                   // default DefaultMaxAge; keep it above the devices' outbox max age
	MaxSkew       time.Duration                   // tolerated device clock lead; default 5 min
	ReplayWindow  uint64                          // sequence numbers remembered per device; default 65536
	DedupeSize    int                             // event ids remembered; default 131072
	MaxGap        uint64                          // larger jumps are counter resets; default 2^20
	Now           func() time.Time                // default time.Now
}

// Read is an accepted envelope.
type Read struct {
	DeviceID string
	Seq      uint64
	SealedAt time.Time
	Suite    envelope.Suite
	Event    envelope.Event
	Plain    []byte // the event's JSON as sealed (canonical)
	Missing  uint64 // sequence numbers skipped right before this one (a gap)
	Reset    bool   // the device's counter jumped by more than MaxGap
	Late     bool   // arrived after a higher sequence number of its device
}

// Stats are the receiver's counters.
type Stats struct {
	Accepted uint64
	Rejected map[Reason]uint64
	Missing  uint64 // net sequence numbers not (yet) seen inside gaps
	Resets   uint64
}

type device struct {
	high uint64
	seen []uint64 // bitmap of the window, indexed by seq % window
}

// Receiver verifies and opens envelopes. It is safe for concurrent use.
type Receiver struct {
	saveMu sync.Mutex // one SaveState at a time (they share a temporary file)
	opt    Options
	keys   map[envelope.KeyID]*envelope.RecipientPrivateKey

	mu      sync.Mutex
	devices map[string]*device
	ids     map[string]struct{}
	idRing  []string
	idNext  int
	stats   Stats
}

// New returns a Receiver.
func New(opt Options) (*Receiver, error) {
	if len(opt.RecipientKeys) == 0 {
		return nil, errors.New("receiver: no backend private key")
	}
	if opt.MaxAge <= 0 {
		opt.MaxAge = DefaultMaxAge
	}
	if opt.MaxSkew <= 0 {
		opt.MaxSkew = DefaultMaxSkew
	}
	if opt.ReplayWindow == 0 {
		opt.ReplayWindow = DefaultReplayWindow
	}
	opt.ReplayWindow = (opt.ReplayWindow + 63) / 64 * 64
	if opt.DedupeSize <= 0 {
		opt.DedupeSize = DefaultDedupeSize
	}
	if opt.MaxGap == 0 {
		opt.MaxGap = DefaultMaxGap
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	r := &Receiver{
		opt: opt, keys: map[envelope.KeyID]*envelope.RecipientPrivateKey{},
		devices: map[string]*device{}, ids: map[string]struct{}{}, idRing: make([]string, opt.DedupeSize),
		stats: Stats{Rejected: map[Reason]uint64{}},
	}
	for _, k := range opt.RecipientKeys {
		r.keys[k.ID] = k
	}
	return r, nil
}

func (r *Receiver) reject(reason Reason, dev string, seq uint64, err error) error {
	r.stats.Rejected[reason]++
	return &Rejection{Reason: reason, DeviceID: dev, Seq: seq, Err: err}
}

// Accept verifies, opens and deduplicates one envelope. It returns a
// *Rejection for a refused one. It does not know where the envelope came
// from; a receiver of MQTT messages uses AcceptTopic.
func (r *Receiver) Accept(payload []byte) (Read, error) {
	return r.accept("", payload)
}

// AcceptTopic is Accept for an envelope received on an MQTT topic of the
// form <prefix>/<site>/<device>/reads: the envelope must be one of that
// device (its signed header names the device) and its event one of that
// site, else it is refused as TopicMismatch. This keeps a device's
// certificate, or anyone who can publish, from passing one device's reads
// off as another's, or a lane's reads as another site's.
func (r *Receiver) AcceptTopic(topic string, payload []byte) (Read, error) {
	if topic == "" {
		return Read{}, r.count(TopicMismatch, "", 0, errors.New("no topic"))
	}
	return r.accept(topic, payload)
}

// topicParts returns the site and device of a <prefix>/<site>/<device>/reads
// topic.
func topicParts(topic string) (site, dev string, ok bool) {
	parts := strings.Split(topic, "/")
	n := len(parts)
	if n < 4 || parts[n-1] != "reads" || parts[n-2] == "" || parts[n-3] == "" {
		return "", "", false
	}
	return parts[n-3], parts[n-2], true
}

func (r *Receiver) count(reason Reason, dev string, seq uint64, err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reject(reason, dev, seq, err)
}

func (r *Receiver) accept(topic string, payload []byte) (Read, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	env, err := envelope.Parse(payload)
	if err != nil {
		return Read{}, r.reject(Malformed, "", 0, err)
	}
	if err := r.authenticate(env); err != nil {
		return Read{}, err
	}
	// A genuine envelope: is it where its device publishes? Checked before
	// the replay memory so that a copy on another topic is counted as what
	// it is, and changes nothing.
	topicSite, err := r.checkTopic(env, topic)
	if err != nil {
		return Read{}, err
	}
	if err := r.checkFresh(env); err != nil {
		return Read{}, err
	}
	ev, plain, err := r.open(env, topic, topicSite)
	if err != nil {
		return Read{}, err
	}
	rd := Read{DeviceID: env.DeviceID, Seq: env.Seq, SealedAt: env.SealedAt, Suite: env.Suite, Event: ev, Plain: plain}
	r.remember(&rd)
	return rd, nil
}

// authenticate checks env's signature against its device's known keys
// (UnknownDevice, Tampered).
func (r *Receiver) authenticate(env *envelope.Envelope) error {
	var pub ed25519.PublicKey
	for _, k := range r.opt.DeviceKeys[env.DeviceID] {
		if envelope.SigningKeyID(k) == env.SigningKeyID {
			pub = k
		}
	}
	if pub == nil {
		return r.reject(UnknownDevice, env.DeviceID, env.Seq, fmt.Errorf("no public key %v for this device", env.SigningKeyID))
	}
	if err := env.Verify(pub); err != nil {
		return r.reject(Tampered, env.DeviceID, env.Seq, err)
	}
	return nil
}

// checkTopic checks that topic, when given, is a reads topic of env's
// device, and returns its site (TopicMismatch).
func (r *Receiver) checkTopic(env *envelope.Envelope, topic string) (site string, err error) {
	if topic == "" {
		return "", nil
	}
	dev, seq := env.DeviceID, env.Seq
	topicSite, topicDev, ok := topicParts(topic)
	if !ok {
		return "", r.reject(TopicMismatch, dev, seq, fmt.Errorf("topic %q is not <prefix>/<site>/<device>/reads", topic))
	}
	if topicDev != dev {
		return "", r.reject(TopicMismatch, dev, seq, fmt.Errorf("envelope of device %s on topic %q of device %s", dev, topic, topicDev))
	}
	return topicSite, nil
}

// checkFresh refuses an envelope sealed outside the time window
// (OutOfWindow) or whose sequence number was already accepted or has left
// the replay window (Duplicate, Replayed).
func (r *Receiver) checkFresh(env *envelope.Envelope) error {
	dev, seq := env.DeviceID, env.Seq
	now := r.opt.Now()
	if env.SealedAt.Before(now.Add(-r.opt.MaxAge)) || env.SealedAt.After(now.Add(r.opt.MaxSkew)) {
		return r.reject(OutOfWindow, dev, seq, fmt.Errorf("sealed at %v, window is %v before to %v after %v",
			env.SealedAt.Format(time.RFC3339), r.opt.MaxAge, r.opt.MaxSkew, now.UTC().Format(time.RFC3339)))
	}
	d := r.devices[dev]
	if d != nil && seq <= d.high {
		if d.high-seq >= r.opt.ReplayWindow {
			return r.reject(Replayed, dev, seq, fmt.Errorf("below the replay window (highest %d)", d.high))
		}
		if d.has(seq, r.opt.ReplayWindow) {
			return r.reject(Duplicate, dev, seq, errors.New("sequence number already accepted"))
		}
	}
	return nil
}

// open decrypts env and checks its event: of env's device, of the topic's
// site when topicSite is given, not accepted before (WrongRecipient,
// Tampered, InvalidEvent, TopicMismatch, Duplicate).
func (r *Receiver) open(env *envelope.Envelope, topic, topicSite string) (envelope.Event, []byte, error) {
	dev, seq := env.DeviceID, env.Seq
	k := r.keys[env.RecipientKeyID]
	if k == nil {
		rej := r.reject(WrongRecipient, dev, seq, fmt.Errorf("sealed to key %v", env.RecipientKeyID))
		rej.(*Rejection).SealedTo = env.RecipientKeyID
		return envelope.Event{}, nil, rej
	}
	plain, err := env.Open(k)
	if err != nil {
		return envelope.Event{}, nil, r.reject(Tampered, dev, seq, err)
	}
	ev, err := envelope.ParseEvent(plain)
	if err != nil {
		return envelope.Event{}, nil, r.reject(InvalidEvent, dev, seq, err)
	}
	if ev.DeviceID != dev {
		return envelope.Event{}, nil, r.reject(InvalidEvent, dev, seq, fmt.Errorf("event names device %q", ev.DeviceID))
	}
	if topic != "" && ev.Site != topicSite {
		return envelope.Event{}, nil, r.reject(TopicMismatch, dev, seq, fmt.Errorf("event of site %s on topic %q of site %s", ev.Site, topic, topicSite))
	}
	if _, ok := r.ids[ev.EventID]; ok {
		return envelope.Event{}, nil, r.reject(Duplicate, dev, seq, fmt.Errorf("event %s already accepted", ev.EventID))
	}
	return ev, plain, nil
}

// remember records an accepted read: its sequence number in its device's
// window (setting rd's Missing, Reset or Late) and its event id.
func (r *Receiver) remember(rd *Read) {
	dev, seq := rd.DeviceID, rd.Seq
	d := r.devices[dev]
	if d == nil {
		d = &device{high: seq, seen: make([]uint64, r.opt.ReplayWindow/64)}
		r.devices[dev] = d
	} else if seq > d.high {
		gap := seq - d.high - 1
		if gap > r.opt.MaxGap {
			rd.Reset = true
			r.stats.Resets++
		} else {
			rd.Missing = gap
			r.stats.Missing += gap
		}
		d.advance(seq, r.opt.ReplayWindow)
	} else {
		rd.Late = true
		if r.stats.Missing > 0 {
			r.stats.Missing--
		}
	}
	d.mark(seq, r.opt.ReplayWindow)
	r.rememberID(rd.Event.EventID)
	r.stats.Accepted++
}

// rememberID adds an event id to the ring of recent ids, forgetting the
// oldest one when the ring is full. r.mu is held.
func (r *Receiver) rememberID(id string) {
	if old := r.idRing[r.idNext]; old != "" {
		delete(r.ids, old)
	}
	r.idRing[r.idNext] = id
	r.idNext = (r.idNext + 1) % len(r.idRing)
	r.ids[id] = struct{}{}
}

func (d *device) has(seq, w uint64) bool {
	i := seq % w
	return d.seen[i/64]&(1<<(i%64)) != 0
}

func (d *device) mark(seq, w uint64) {
	i := seq % w
	d.seen[i/64] |= 1 << (i % 64)
}

// advance moves the window's top to seq, forgetting the numbers that leave
// it.
func (d *device) advance(seq, w uint64) {
	if seq-d.high >= w {
		clear(d.seen)
	} else {
		for s := d.high + 1; s <= seq; s++ {
			i := s % w
			d.seen[i/64] &^= 1 << (i % 64)
		}
	}
	d.high = seq
}

// Recall records a read that was output before the state was last saved
// (lprctl listen reads them back from its output file when it starts), so
// that the broker's redelivery of it is dropped as a duplicate instead of
// being output twice. It counts nothing and reports no gap; a sequence number
// below the device's window records only the event id. It reports whether
// the read was new to the receiver.
func (r *Receiver) Recall(deviceID string, seq uint64, eventID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.ids[eventID]; ok || eventID == "" {
		return false
	}
	w := r.opt.ReplayWindow
	d := r.devices[deviceID]
	if d == nil {
		d = &device{high: seq, seen: make([]uint64, w/64)}
		r.devices[deviceID] = d
	} else if seq > d.high {
		d.advance(seq, w)
	}
	if d.high-seq < w {
		d.mark(seq, w)
	}
	r.rememberID(eventID)
	return true
}

// Forget undoes the acceptance of rd, so that its redelivery is accepted
// again: for a read whose output failed.
func (r *Receiver) Forget(rd Read) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d := r.devices[rd.DeviceID]; d != nil && d.high-rd.Seq < r.opt.ReplayWindow {
		i := rd.Seq % r.opt.ReplayWindow
		d.seen[i/64] &^= 1 << (i % 64)
	}
	delete(r.ids, rd.Event.EventID)
	r.stats.Accepted--
}

// Stats returns a copy of the counters.
func (r *Receiver) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Rejected = make(map[Reason]uint64, len(r.stats.Rejected))
	for k, v := range r.stats.Rejected {
		s.Rejected[k] = v
	}
	return s
}

// LoadDeviceKeys reads a folder of device public keys: one file
// <device id>.pub per device, each with one or more PKIX Ed25519 PEM blocks
// (as lprctl keygen -device writes them). Other files are ignored.
func LoadDeviceKeys(dir string) (map[string][]ed25519.PublicKey, error) {
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("device keys %s: %w", dir, err)
	}
	keys := map[string][]ed25519.PublicKey{}
	for _, n := range names {
		id, ok := strings.CutSuffix(n.Name(), ".pub")
		if !ok || n.IsDir() {
			continue
		}
		if !envelope.ValidID(id) {
			return nil, fmt.Errorf("device keys %s: file %s: %q is not a valid device id", dir, n.Name(), id)
		}
		b, err := os.ReadFile(filepath.Join(dir, n.Name()))
		if err != nil {
			return nil, fmt.Errorf("device keys %s: %w", dir, err)
		}
		k, err := envelope.ParseSigningPublicKeys(b)
		if err != nil {
			return nil, fmt.Errorf("device keys %s: file %s: %w", dir, n.Name(), err)
		}
		keys[id] = k
	}
	return keys, nil
}

// Devices returns the highest accepted sequence number of each device seen
// so far.
func (r *Receiver) Devices() map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]uint64, len(r.devices))
	for id, d := range r.devices {
		out[id] = d.high
	}
	return out
}
