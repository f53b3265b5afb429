package envelope

import (
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// PEM block types of lprd's key files. HPKE keys have no standard container,
// so their PEM body is the KEM id (2 bytes, big endian) followed by the key
// as RFC 9180 SerializePublicKey / SerializePrivateKey writes it. Signing
// keys use the standard PKIX / PKCS #8 containers that openssl reads.
const (
	PEMRecipientPublic  = "LPRD HPKE PUBLIC KEY"
	PEMRecipientPrivate = "LPRD HPKE PRIVATE KEY"
	PEMSigningPublic    = "PUBLIC KEY"
	PEMSigningPrivate   = "PRIVATE KEY"
)

// KeyID names a key in an envelope header: the first 8 bytes of a SHA-256
// digest (see RecipientKeyID and SigningKeyID).
type KeyID [8]byte

func (k KeyID) String() string { return hex.EncodeToString(k[:]) }

// RecipientKeyID is SHA-256(kem_id as 2 bytes big endian || public key)[:8].
func RecipientKeyID(kem uint16, pub []byte) KeyID {
	h := sha256.New()
	_ = binary.Write(h, binary.BigEndian, kem)
	h.Write(pub)
	var id KeyID
	copy(id[:], h.Sum(nil))
	return id
}

// SigningKeyID is SHA-256(Ed25519 public key)[:8].
func SigningKeyID(pub ed25519.PublicKey) KeyID {
	sum := sha256.Sum256(pub)
	var id KeyID
	copy(id[:], sum[:])
	return id
}

// RecipientPublicKey is the backend's HPKE public key that devices seal to.
type RecipientPublicKey struct {
	KEM uint16
	pub hpke.PublicKey
	ID  KeyID
}

// RecipientPrivateKey is the backend's HPKE private key. It never belongs on
// a device.
type RecipientPrivateKey struct {
	KEM  uint16
	priv hpke.PrivateKey
	ID   KeyID
}

// Bytes returns the serialized public key (without the KEM id).
func (k *RecipientPublicKey) Bytes() []byte { return k.pub.Bytes() }

// Public returns the matching public key.
func (k *RecipientPrivateKey) Public() *RecipientPublicKey {
	return &RecipientPublicKey{KEM: k.KEM, pub: k.priv.PublicKey(), ID: k.ID}
}

// NewRecipientPublicKey deserializes a public key of the given KEM.
func NewRecipientPublicKey(kemID uint16, b []byte) (*RecipientPublicKey, error) {
	kem, err := newKEM(kemID)
	if err != nil {
		return nil, err
	}
	pub, err := kem.NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("HPKE %s public key: %w", KEMName(kemID), err)
	}
	return &RecipientPublicKey{KEM: kemID, pub: pub, ID: RecipientKeyID(kemID, pub.Bytes())}, nil
}

// NewRecipientPrivateKey deserializes a private key of the given KEM.
func NewRecipientPrivateKey(kemID uint16, b []byte) (*RecipientPrivateKey, error) {
	kem, err := newKEM(kemID)
	if err != nil {
		return nil, err
	}
	priv, err := kem.NewPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("HPKE %s private key: %w", KEMName(kemID), err)
	}
	return &RecipientPrivateKey{KEM: kemID, priv: priv, ID: RecipientKeyID(kemID, priv.PublicKey().Bytes())}, nil
}

// GenerateRecipientKey makes a new backend key pair for the KEM.
func GenerateRecipientKey(kemID uint16) (*RecipientPrivateKey, error) {
	kem, err := newKEM(kemID)
	if err != nil {
		return nil, err
	}
	priv, err := kem.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("generate HPKE %s key: %w", KEMName(kemID), err)
	}
	return &RecipientPrivateKey{KEM: kemID, priv: priv, ID: RecipientKeyID(kemID, priv.PublicKey().Bytes())}, nil
}

// MarshalPEM encodes the public key as an "LPRD HPKE PUBLIC KEY" block.
func (k *RecipientPublicKey) MarshalPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: PEMRecipientPublic, Bytes: kemPrefixed(k.KEM, k.pub.Bytes())})
}

// MarshalPEM encodes the private key as an "LPRD HPKE PRIVATE KEY" block.
func (k *RecipientPrivateKey) MarshalPEM() ([]byte, error) {
	b, err := k.priv.Bytes()
	if err != nil {
		return nil, fmt.Errorf("serialize HPKE private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMRecipientPrivate, Bytes: kemPrefixed(k.KEM, b)}), nil
}

func kemPrefixed(kem uint16, b []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, kem), b...)
}

// ErrNoKey is returned when a file holds no key block of the wanted type.
var ErrNoKey = errors.New("no key of the expected type")

// pemBlocks returns the bodies of all blocks of type typ in data.
func pemBlocks(data []byte, typ string) [][]byte {
	var out [][]byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out
		}
		if b.Type == typ {
			out = append(out, b.Bytes)
		}
	}
}

// ParseRecipientPublicKey reads the first "LPRD HPKE PUBLIC KEY" block.
func ParseRecipientPublicKey(data []byte) (*RecipientPublicKey, error) {
	bs := pemBlocks(data, PEMRecipientPublic)
	if len(bs) == 0 {
		return nil, fmt.Errorf("%w: want a %q PEM block", ErrNoKey, PEMRecipientPublic)
	}
	if len(bs[0]) < 2 {
		return nil, fmt.Errorf("%q block too short", PEMRecipientPublic)
	}
	return NewRecipientPublicKey(binary.BigEndian.Uint16(bs[0]), bs[0][2:])
}

// ParseRecipientPrivateKeys reads every "LPRD HPKE PRIVATE KEY" block, so
// that a backend can hold the old and the new key while it rotates.
func ParseRecipientPrivateKeys(data []byte) ([]*RecipientPrivateKey, error) {
	bs := pemBlocks(data, PEMRecipientPrivate)
	if len(bs) == 0 {
		return nil, fmt.Errorf("%w: want a %q PEM block", ErrNoKey, PEMRecipientPrivate)
	}
	var keys []*RecipientPrivateKey
	for _, b := range bs {
		if len(b) < 2 {
			return nil, fmt.Errorf("%q block too short", PEMRecipientPrivate)
		}
		k, err := NewRecipientPrivateKey(binary.BigEndian.Uint16(b), b[2:])
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// GenerateSigningKey makes a device's Ed25519 key pair.
func GenerateSigningKey() (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate Ed25519 key: %w", err)
	}
	return priv, nil
}

// MarshalSigningPrivateKey encodes an Ed25519 private key as PKCS #8 PEM.
func MarshalSigningPrivateKey(k ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode Ed25519 private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMSigningPrivate, Bytes: der}), nil
}

// MarshalSigningPublicKey encodes an Ed25519 public key as PKIX PEM.
func MarshalSigningPublicKey(k ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, fmt.Errorf("encode Ed25519 public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: PEMSigningPublic, Bytes: der}), nil
}

// ParseSigningPrivateKey reads a PKCS #8 Ed25519 private key.
func ParseSigningPrivateKey(data []byte) (ed25519.PrivateKey, error) {
	bs := pemBlocks(data, PEMSigningPrivate)
	if len(bs) == 0 {
		return nil, fmt.Errorf("%w: want a %q PEM block (PKCS #8 Ed25519)", ErrNoKey, PEMSigningPrivate)
	}
	k, err := x509.ParsePKCS8PrivateKey(bs[0])
	if err != nil {
		return nil, fmt.Errorf("Ed25519 private key: %w", err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is a %T, want Ed25519", k)
	}
	return ek, nil
}

// ParseSigningPublicKeys reads every PKIX Ed25519 public key in data (a
// device may have an old and a new key while it rotates).
func ParseSigningPublicKeys(data []byte) ([]ed25519.PublicKey, error) {
	bs := pemBlocks(data, PEMSigningPublic)
	if len(bs) == 0 {
		return nil, fmt.Errorf("%w: want a %q PEM block (PKIX Ed25519)", ErrNoKey, PEMSigningPublic)
	}
	var keys []ed25519.PublicKey
	for _, b := range bs {
		k, err := x509.ParsePKIXPublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("Ed25519 public key: %w", err)
		}
		ek, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key is a %T, want Ed25519", k)
		}
		keys = append(keys, ek)
	}
	return keys, nil
}

// LoadRecipientPublicKey reads a backend public key file.
func LoadRecipientPublicKey(path string) (*RecipientPublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("backend key %s: %w", path, err)
	}
	k, err := ParseRecipientPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("backend key %s: %w", path, err)
	}
	return k, nil
}

// LoadRecipientPrivateKeys reads a backend private key file.
func LoadRecipientPrivateKeys(path string) ([]*RecipientPrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("backend private key %s: %w", path, err)
	}
	k, err := ParseRecipientPrivateKeys(b)
	if err != nil {
		return nil, fmt.Errorf("backend private key %s: %w", path, err)
	}
	return k, nil
}

// LoadSigningPrivateKey reads a device signing key file. It refuses a file
// that others can read, because whoever holds the key can forge reads.
func LoadSigningPrivateKey(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("signing key %s: mode %v is readable by group or others; chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	k, err := ParseSigningPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return k, nil
}
