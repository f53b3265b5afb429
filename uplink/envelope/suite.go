package envelope

import (
	"crypto/ecdh"
	"crypto/hpke"
	"fmt"
	"strings"
)

// HPKE algorithm identifiers used by lprd (RFC 9180 and draft-ietf-hpke-pq).
const (
	KEMX25519         uint16 = 0x0020 // DHKEM(X25519, HKDF-SHA256)
	KEMMLKEM768X25519 uint16 = 0x647a // MLKEM768-X25519 (X-Wing)
	KDFHKDFSHA256     uint16 = 0x0001
	AEADAES256GCM     uint16 = 0x0002
	AEADChaCha20      uint16 = 0x0003 // ChaCha20-Poly1305
)

// Suite is an HPKE cipher suite: KEM, KDF and AEAD ids. Only the suites in
// [Suites] are accepted; the KDF is always HKDF-SHA256.
type Suite struct {
	KEM, KDF, AEAD uint16
}

// The suites lprd supports, by name (LPRD_SUITE).
var (
	SuiteMLKEM768X25519ChaCha20 = Suite{KEMMLKEM768X25519, KDFHKDFSHA256, AEADChaCha20}
	SuiteX25519ChaCha20         = Suite{KEMX25519, KDFHKDFSHA256, AEADChaCha20}
	SuiteMLKEM768X25519AES256   = Suite{KEMMLKEM768X25519, KDFHKDFSHA256, AEADAES256GCM}
	SuiteX25519AES256           = Suite{KEMX25519, KDFHKDFSHA256, AEADAES256GCM}

	// DefaultSuite is the hybrid post-quantum suite: plate histories stay
	// sensitive for decades, so "record now, decrypt later" matters.
	DefaultSuite = SuiteMLKEM768X25519ChaCha20
)

// Suites lists the supported suites with their names.
var Suites = []struct {
	Name  string
	Suite Suite
}{
	{"mlkem768x25519-chacha20poly1305", SuiteMLKEM768X25519ChaCha20},
	{"x25519-chacha20poly1305", SuiteX25519ChaCha20},
	{"mlkem768x25519-aes256gcm", SuiteMLKEM768X25519AES256},
	{"x25519-aes256gcm", SuiteX25519AES256},
}

// ParseSuite returns the suite with the given name ("" means DefaultSuite).
func ParseSuite(name string) (Suite, error) {
	if name == "" {
		return DefaultSuite, nil
	}
	for _, s := range Suites {
		if strings.EqualFold(name, s.Name) {
			return s.Suite, nil
		}
	}
	names := make([]string, len(Suites))
	for i, s := range Suites {
		names[i] = s.Name
	}
	return Suite{}, fmt.Errorf("unknown HPKE suite %q: want one of %s", name, strings.Join(names, ", "))
}

// String returns the suite's name, or its ids in hex when it is not
// supported.
func (s Suite) String() string {
	for _, n := range Suites {
		if n.Suite == s {
			return n.Name
		}
	}
	return fmt.Sprintf("kem=0x%04x,kdf=0x%04x,aead=0x%04x", s.KEM, s.KDF, s.AEAD)
}

// Supported reports whether s is one of [Suites].
func (s Suite) Supported() bool {
	for _, n := range Suites {
		if n.Suite == s {
			return true
		}
	}
	return false
}

func (s Suite) algorithms() (hpke.KEM, hpke.KDF, hpke.AEAD, error) {
	if !s.Supported() {
		return nil, nil, nil, fmt.Errorf("unsupported HPKE suite %v", s)
	}
	kem, err := newKEM(s.KEM)
	if err != nil {
		return nil, nil, nil, err
	}
	aead := hpke.ChaCha20Poly1305()
	if s.AEAD == AEADAES256GCM {
		aead = hpke.AES256GCM()
	}
	return kem, hpke.HKDFSHA256(), aead, nil
}

func newKEM(id uint16) (hpke.KEM, error) {
	switch id {
	case KEMX25519:
		return hpke.DHKEM(ecdh.X25519()), nil
	case KEMMLKEM768X25519:
		return hpke.MLKEM768X25519(), nil
	}
	return nil, fmt.Errorf("unsupported HPKE KEM 0x%04x", id)
}

// KEMName names a supported KEM id for humans and for `lprctl keygen -kem`.
func KEMName(id uint16) string {
	switch id {
	case KEMX25519:
		return "x25519"
	case KEMMLKEM768X25519:
		return "mlkem768x25519"
	}
	return fmt.Sprintf("0x%04x", id)
}

// ParseKEM is the inverse of KEMName.
func ParseKEM(name string) (uint16, error) {
	switch strings.ToLower(name) {
	case "x25519":
		return KEMX25519, nil
	case "mlkem768x25519", "":
		return KEMMLKEM768X25519, nil
	}
	return 0, fmt.Errorf("unknown KEM %q: want mlkem768x25519 or x25519", name)
}
