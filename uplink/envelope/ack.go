package envelope

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"
)

// Backend acknowledgements (docs/acks.md). After the backend listener has
// verified, opened and durably output a read, it tells the device so on the
// device's acks topic, signed with the backend's Ed25519 signing key:
//
//	{"v":1,"kind":"ack","device":"<id>","topic":"<topic>","time":"<RFC 3339 ns>","key":"<key id>","seqs":[[first,last],...],"sig":"<base64>"}
//
// A refusal (kind "refusal") names reads the backend will never open, with
// the reason and the recipient key id they were sealed to:
//
//	{...,"seqs":[[first,last]],"reason":"wrong-recipient","sealed_to":"<key id>","sig":"<base64>"}
//
// sig is Ed25519 over the kind's context (AckContext or RefusalContext), NUL,
// then the exact bytes of the message with "sig" removed (as for monitoring
// messages). The context differs per kind, so that no signature made for one
// kind of message verifies as another.

// Signature contexts of backend acknowledgements and refusals.
const (
	AckContext     = "lprd ack v1"
	RefusalContext = "lprd refusal v1"
)

// Kinds of backend messages on a device's acks topic.
const (
	KindAck     = "ack"
	KindRefusal = "refusal"
)

// Limits of an ack message: a longer payload or more ranges is refused before
// any signature check, so a flood of junk costs little.
const (
	MaxAckBytes  = 64 << 10
	MaxAckRanges = 4096
)

// SeqRange is an inclusive range of sequence numbers.
type SeqRange struct{ First, Last uint64 }

// MarshalJSON writes the range as [first,last].
func (r SeqRange) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "[%d,%d]", r.First, r.Last), nil
}

// UnmarshalJSON reads [first,last] with first <= last.
func (r *SeqRange) UnmarshalJSON(b []byte) error {
	var a []uint64
	if err := json.Unmarshal(b, &a); err != nil || len(a) != 2 || a[0] > a[1] {
		return fmt.Errorf("envelope: ack range %s: want [first,last] with first <= last", b)
	}
	r.First, r.Last = a[0], a[1]
	return nil
}

// Ranges turns sequence numbers (any order, duplicates allowed) into sorted,
// merged ranges.
func Ranges(seqs []uint64) []SeqRange {
	s := append([]uint64(nil), seqs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var out []SeqRange
	for _, n := range s {
		if k := len(out); k > 0 && n <= out[k-1].Last+1 {
			out[k-1].Last = max(out[k-1].Last, n)
			continue
		}
		out = append(out, SeqRange{n, n})
	}
	return out
}

// Ack is a parsed backend acknowledgement or refusal.
type Ack struct {
	Kind     string // KindAck or KindRefusal
	DeviceID string
	Topic    string
	Time     time.Time
	KeyID    KeyID // the backend signing key that signed it
	Seqs     []SeqRange
	Reason   string // refusal: why (e.g. "wrong-recipient")
	SealedTo string // refusal: the recipient key id the reads were sealed to (hex)
	// Signature is the message's signature: a replayed copy has the same.
	Signature []byte
}

type ackWire struct {
	V        int        `json:"v"`
	Kind     string     `json:"kind"`
	Device   string     `json:"device"`
	Topic    string     `json:"topic"`
	Time     string     `json:"time"`
	Key      string     `json:"key"`
	Seqs     []SeqRange `json:"seqs"`
	Reason   string     `json:"reason,omitempty"`
	SealedTo string     `json:"sealed_to,omitempty"`
	Sig      string     `json:"sig,omitempty"`
}

func ackContext(kind string) (string, error) {
	switch kind {
	case KindAck:
		return AckContext, nil
	case KindRefusal:
		return RefusalContext, nil
	}
	return "", fmt.Errorf("envelope: ack kind %q: want %q or %q", kind, KindAck, KindRefusal)
}

// SignAck returns the signed message of a (its Kind, DeviceID, Topic, Time,
// Seqs and, for a refusal, Reason and SealedTo), signed with key; a.KeyID and
// a.Signature are ignored.
func SignAck(key ed25519.PrivateKey, a Ack) ([]byte, error) {
	ctx, err := ackContext(a.Kind)
	if err != nil {
		return nil, err
	}
	if len(a.Seqs) == 0 || len(a.Seqs) > MaxAckRanges {
		return nil, fmt.Errorf("envelope: ack of %d ranges: want 1 to %d", len(a.Seqs), MaxAckRanges)
	}
	w := ackWire{V: 1, Kind: a.Kind, Device: a.DeviceID, Topic: a.Topic, Time: a.Time.UTC().Format(time.RFC3339Nano),
		Key: SigningKeyID(key.Public().(ed25519.PublicKey)).String(), Seqs: a.Seqs, Reason: a.Reason, SealedTo: a.SealedTo}
	unsigned, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(key, signedAck(ctx, unsigned))
	out := append(unsigned[:len(unsigned)-1:len(unsigned)-1], `,"sig":"`...)
	out = base64.StdEncoding.AppendEncode(out, sig)
	return append(out, `"}`...), nil
}

func signedAck(ctx string, unsigned []byte) []byte {
	return append(append([]byte(ctx), 0), unsigned...)
}

// Errors of VerifyAck. A device counts them apart on its health topic.
var (
	// ErrAckUnsigned: not a signed ack (malformed, no signature, unknown
	// kind or key, or a signature that does not verify).
	ErrAckUnsigned = errors.New("envelope: not a validly signed backend acknowledgement")
	// ErrAckForeign: a valid ack, but for another device or topic.
	ErrAckForeign = errors.New("envelope: backend acknowledgement for another device or topic")
)

// ParseAck parses an ack or refusal without verifying it, and returns the
// bytes its signature covers (context, NUL, message without "sig").
func ParseAck(payload []byte) (*Ack, []byte, error) {
	if len(payload) > MaxAckBytes {
		return nil, nil, fmt.Errorf("%w: %d bytes, at most %d", ErrAckUnsigned, len(payload), MaxAckBytes)
	}
	var w ackWire
	if err := json.Unmarshal(payload, &w); err != nil || w.V != 1 || w.Sig == "" {
		return nil, nil, fmt.Errorf("%w: malformed or unsigned", ErrAckUnsigned)
	}
	ctx, err := ackContext(w.Kind)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrAckUnsigned, err)
	}
	if len(w.Seqs) == 0 || len(w.Seqs) > MaxAckRanges {
		return nil, nil, fmt.Errorf("%w: %d ranges, want 1 to %d", ErrAckUnsigned, len(w.Seqs), MaxAckRanges)
	}
	at, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: time %q", ErrAckUnsigned, w.Time)
	}
	var id KeyID
	kb, err := hex.DecodeString(w.Key)
	if err != nil || len(kb) != len(id) {
		return nil, nil, fmt.Errorf("%w: key id %q", ErrAckUnsigned, w.Key)
	}
	copy(id[:], kb)
	sig, err := base64.StdEncoding.Strict().DecodeString(w.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, nil, fmt.Errorf("%w: signature is not a base64 Ed25519 signature", ErrAckUnsigned)
	}
	// The signature is the last field, written as SignAck writes it: one
	// message has one encoding.
	i := bytes.LastIndex(payload, []byte(`,"sig":"`))
	if i < 0 || !bytes.Equal(payload[i:], []byte(`,"sig":"`+w.Sig+`"}`)) {
		return nil, nil, fmt.Errorf("%w: signature is not the last field", ErrAckUnsigned)
	}
	a := &Ack{Kind: w.Kind, DeviceID: w.Device, Topic: w.Topic, Time: at, KeyID: id, Seqs: w.Seqs,
		Reason: w.Reason, SealedTo: w.SealedTo, Signature: sig}
	return a, signedAck(ctx, append(payload[:i:i], '}')), nil
}

// VerifyAck parses payload, received on topic, verifies it with the one of
// keys (the backend's signing keys) its key id names, and checks that it is
// for deviceID on topic. It fails with ErrAckUnsigned or ErrAckForeign.
func VerifyAck(payload []byte, topic, deviceID string, keys []ed25519.PublicKey) (*Ack, error) {
	a, signed, err := ParseAck(payload)
	if err != nil {
		return nil, err
	}
	var pub ed25519.PublicKey
	for _, k := range keys {
		if SigningKeyID(k) == a.KeyID {
			pub = k
		}
	}
	if pub == nil {
		return a, fmt.Errorf("%w: signed by key %v, which is not a backend key of this device", ErrAckUnsigned, a.KeyID)
	}
	if !ed25519.Verify(pub, signed, a.Signature) {
		return a, fmt.Errorf("%w: signature does not verify with backend key %v", ErrAckUnsigned, a.KeyID)
	}
	if a.DeviceID != deviceID || a.Topic != topic {
		return a, fmt.Errorf("%w: for device %q on topic %q, received on %q", ErrAckForeign, a.DeviceID, a.Topic, topic)
	}
	return a, nil
}

// LoadBackendVerifyKeys reads the backend's signing public keys
// (backend-signing.pub from lprctl keygen -backend: one or more PKIX Ed25519
// PEM blocks) from path, as a device's LPRD_BACKEND_VERIFY_KEY names it.
func LoadBackendVerifyKeys(path string) ([]ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("backend verify key %s: %w", path, err)
	}
	k, err := ParseSigningPublicKeys(b)
	if err != nil {
		return nil, fmt.Errorf("backend verify key %s: %w", path, err)
	}
	return k, nil
}
