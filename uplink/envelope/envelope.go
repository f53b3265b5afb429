package envelope

import (
	"crypto/ed25519"
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Magic starts every version-1 envelope.
const Magic = "LPR1"

// Size limits of an envelope.
const (
	fixedHeaderLen = 43 // magic .. device id length, see docs/envelope.md
	SignatureLen   = ed25519.SignatureSize
	MaxSealedLen   = 60 << 10 // HPKE output (enc || ciphertext)
	MaxEnvelopeLen = fixedHeaderLen + MaxIDLen + 4 + MaxSealedLen + SignatureLen
)

// Errors of Parse, Verify and Open. Receivers count rejections by these.
var (
	ErrMalformed    = errors.New("malformed envelope")
	ErrSignature    = errors.New("envelope signature does not verify")
	ErrDecrypt      = errors.New("envelope does not open")
	ErrWrongKey     = errors.New("envelope is sealed to another recipient key")
	ErrUnknownSuite = errors.New("envelope uses an unsupported suite")
)

// Envelope is a parsed, not yet trusted envelope. Its fields come from the
// header; they are authentic only after Verify succeeds.
type Envelope struct {
	Suite          Suite
	RecipientKeyID KeyID
	SigningKeyID   KeyID
	Seq            uint64
	SealedAt       time.Time // millisecond precision, UTC
	DeviceID       string
	Sealed         []byte // HPKE enc || ciphertext
	Signature      []byte

	raw       []byte // the whole envelope
	headerLen int    // bytes of the header, which is the HPKE info
}

// Info returns the HPKE info of the envelope: its header bytes.
func (e *Envelope) Info() []byte { return e.raw[:e.headerLen] }

// Signed returns the bytes the signature covers: everything before it.
func (e *Envelope) Signed() []byte { return e.raw[:len(e.raw)-SignatureLen] }

// Header describes the envelope a Sealer is about to make.
type Header struct {
	Suite          Suite
	RecipientKeyID KeyID
	SigningKeyID   KeyID
	Seq            uint64
	SealedAt       time.Time
	DeviceID       string
}

// AppendHeader appends the encoded header (the HPKE info) to b.
func AppendHeader(b []byte, h Header) []byte {
	b = append(b, Magic...)
	b = binary.BigEndian.AppendUint16(b, h.Suite.KEM)
	b = binary.BigEndian.AppendUint16(b, h.Suite.KDF)
	b = binary.BigEndian.AppendUint16(b, h.Suite.AEAD)
	b = append(b, h.RecipientKeyID[:]...)
	b = append(b, h.SigningKeyID[:]...)
	b = binary.BigEndian.AppendUint64(b, h.Seq)
	b = binary.BigEndian.AppendUint64(b, uint64(h.SealedAt.UnixMilli()))
	b = append(b, byte(len(h.DeviceID)))
	return append(b, h.DeviceID...)
}

// Sealer seals and signs events for one device. It is safe for concurrent
// use.
type Sealer struct {
	deviceID  string
	suite     Suite
	recipient *RecipientPublicKey
	signer    ed25519.PrivateKey
	signerID  KeyID
	kem       hpke.KEM
	kdf       hpke.KDF
	aead      hpke.AEAD
}

// NewSealer checks that the suite matches the recipient key and returns a
// Sealer for the device.
func NewSealer(deviceID string, suite Suite, recipient *RecipientPublicKey, signer ed25519.PrivateKey) (*Sealer, error) {
	if !ValidID(deviceID) {
		return nil, fmt.Errorf("device id %q: want 1-%d of [A-Za-z0-9._-]", deviceID, MaxIDLen)
	}
	kem, kdf, aead, err := suite.algorithms()
	if err != nil {
		return nil, err
	}
	if recipient == nil || recipient.KEM != suite.KEM {
		got := "none"
		if recipient != nil {
			got = KEMName(recipient.KEM)
		}
		return nil, fmt.Errorf("suite %v needs a %s backend key, have %s", suite, KEMName(suite.KEM), got)
	}
	if len(signer) != ed25519.PrivateKeySize {
		return nil, errors.New("signing key: want an Ed25519 private key")
	}
	pub := signer.Public().(ed25519.PublicKey)
	return &Sealer{
		deviceID: deviceID, suite: suite, recipient: recipient, signer: signer,
		signerID: SigningKeyID(pub), kem: kem, kdf: kdf, aead: aead,
	}, nil
}

// Seal returns the envelope of plaintext with the given sequence number and
// sealing time.
func (s *Sealer) Seal(seq uint64, sealedAt time.Time, plaintext []byte) ([]byte, error) {
	b := AppendHeader(make([]byte, 0, 1400+len(plaintext)), Header{
		Suite: s.suite, RecipientKeyID: s.recipient.ID, SigningKeyID: s.signerID,
		Seq: seq, SealedAt: sealedAt, DeviceID: s.deviceID,
	})
	info := b[:len(b):len(b)]
	sealed, err := hpke.Seal(s.recipient.pub, s.kdf, s.aead, info, plaintext)
	if err != nil {
		return nil, fmt.Errorf("HPKE seal: %w", err)
	}
	if len(sealed) > MaxSealedLen {
		return nil, fmt.Errorf("sealed event is %d bytes, limit %d", len(sealed), MaxSealedLen)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(sealed)))
	b = append(b, sealed...)
	return append(b, ed25519.Sign(s.signer, b)...), nil
}

// SigningKeyID returns the id of the device key that signs.
func (s *Sealer) SigningKeyID() KeyID { return s.signerID }

// RecipientKeyID returns the id of the backend key it seals to.
func (s *Sealer) RecipientKeyID() KeyID { return s.recipient.ID }

// Parse splits an envelope into its fields without trusting it. It checks
// the structure only: lengths, magic, suite and the device id's character
// set.
func Parse(b []byte) (*Envelope, error) {
	if len(b) > MaxEnvelopeLen {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(b), MaxEnvelopeLen)
	}
	if len(b) < fixedHeaderLen {
		return nil, fmt.Errorf("%w: %d bytes, shorter than a header", ErrMalformed, len(b))
	}
	if string(b[:4]) != Magic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrMalformed, b[:4])
	}
	e := &Envelope{raw: b}
	e.Suite = Suite{binary.BigEndian.Uint16(b[4:]), binary.BigEndian.Uint16(b[6:]), binary.BigEndian.Uint16(b[8:])}
	copy(e.RecipientKeyID[:], b[10:18])
	copy(e.SigningKeyID[:], b[18:26])
	e.Seq = binary.BigEndian.Uint64(b[26:])
	e.SealedAt = time.UnixMilli(int64(binary.BigEndian.Uint64(b[34:]))).UTC()
	n := int(b[42])
	if len(b) < fixedHeaderLen+n+4 {
		return nil, fmt.Errorf("%w: truncated in the device id", ErrMalformed)
	}
	e.DeviceID = string(b[fixedHeaderLen : fixedHeaderLen+n])
	if !ValidID(e.DeviceID) {
		return nil, fmt.Errorf("%w: bad device id", ErrMalformed)
	}
	e.headerLen = fixedHeaderLen + n
	m := binary.BigEndian.Uint32(b[e.headerLen:])
	rest := b[e.headerLen+4:]
	if m > MaxSealedLen || uint64(len(rest)) != uint64(m)+SignatureLen {
		return nil, fmt.Errorf("%w: sealed length %d does not match the %d bytes that follow", ErrMalformed, m, len(rest))
	}
	e.Sealed = rest[:m:m]
	e.Signature = rest[m:]
	if !e.Suite.Supported() {
		return nil, fmt.Errorf("%w: %v", ErrUnknownSuite, e.Suite)
	}
	return e, nil
}

// Verify checks the envelope's signature with the device's public key and
// that the key is the one the header names.
func (e *Envelope) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize || SigningKeyID(pub) != e.SigningKeyID {
		return fmt.Errorf("%w: signed by key %v, not by the given key", ErrSignature, e.SigningKeyID)
	}
	if !ed25519.Verify(pub, e.Signed(), e.Signature) {
		return ErrSignature
	}
	return nil
}

// Open decrypts the envelope with the backend's private key. Call Verify
// first: Open authenticates the sender only as "someone who knows the
// backend's public key".
func (e *Envelope) Open(k *RecipientPrivateKey) ([]byte, error) {
	if k.ID != e.RecipientKeyID {
		return nil, fmt.Errorf("%w: sealed to %v, have %v", ErrWrongKey, e.RecipientKeyID, k.ID)
	}
	if k.KEM != e.Suite.KEM {
		return nil, fmt.Errorf("%w: suite %v, key is %s", ErrWrongKey, e.Suite, KEMName(k.KEM))
	}
	_, kdf, aead, err := e.Suite.algorithms()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnknownSuite, err)
	}
	pt, err := hpke.Open(k.priv, kdf, aead, e.Info(), e.Sealed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	return pt, nil
}
