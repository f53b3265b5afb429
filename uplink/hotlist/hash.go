package hotlist

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"golang.org/x/crypto/argon2"
)

// DigestSize is the length of a plate digest in bytes.
const DigestSize = 16

// Digest is the keyed slow hash of one canonical plate text.
type Digest [DigestSize]byte

// String is the digest as it replaces a plate in the hashed mode: "h1:" and the digest in
// unpadded base64url (25 characters).
func (d Digest) String() string { return "h1:" + base64.RawURLEncoding.EncodeToString(d[:]) }

// Params are the Argon2id costs, carried in the list header so that backend and device
// hash alike.
type Params struct {
	Time    uint32 // passes over the memory
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultParams cost about 4 ms and 2 MiB per plate on one core of the development machine
// (BenchmarkDigest; see docs/hotlist.md for the figures).
var DefaultParams = Params{Time: 1, Memory: 2 * 1024, Threads: 1}

// Limits of the parameters a list may ask for: a device hashes a few candidates per vehicle,
// so a list cannot make it spend more than this.
const (
	MaxTime    = 16
	MaxMemory  = 256 * 1024 // KiB
	MinMemory  = 8          // KiB per thread, Argon2's own minimum
	MaxThreads = 16
)

func (p Params) check() error {
	if p.Time < 1 || p.Time > MaxTime {
		return fmt.Errorf("argon2 time %d, want 1-%d", p.Time, MaxTime)
	}
	if p.Threads < 1 || p.Threads > MaxThreads {
		return fmt.Errorf("argon2 threads %d, want 1-%d", p.Threads, MaxThreads)
	}
	if p.Memory < MinMemory*uint32(p.Threads) || p.Memory > MaxMemory {
		return fmt.Errorf("argon2 memory %d KiB, want %d-%d", p.Memory, MinMemory*uint32(p.Threads), MaxMemory)
	}
	return nil
}

// SiteKeySize is the length of a site key in bytes.
const SiteKeySize = 32

// SiteKey is the secret a site's backend and devices share to hash plates.
type SiteKey [SiteKeySize]byte

// ID names a site key without disclosing it: the first 8 bytes of SHA-256 over
// "lprd hotlist key id v1", NUL, the key.
func (k *SiteKey) ID() [8]byte {
	h := sha256.New()
	h.Write([]byte("lprd hotlist key id v1\x00"))
	h.Write(k[:])
	var id [8]byte
	copy(id[:], h.Sum(nil))
	return id
}

// salt is the Argon2 salt of a site: SHA-256 over "lprd hotlist salt v1", NUL, the site
// id, first 16 bytes.
func salt(site string) []byte {
	s := sha256.Sum256([]byte("lprd hotlist salt v1\x00" + site))
	return s[:16]
}

// Hash returns the digest of text (any form; Canonical is applied) for site under key with
// p: Argon2id(password = HMAC-SHA256(key, "lprd hotlist plate v1" NUL canonical),
// salt(site), p.Time, p.Memory, p.Threads, 16 bytes). An empty canonical text has the zero
// digest, which no list holds.
func Hash(key *SiteKey, site string, p Params, text string) Digest {
	c := Canonical(text)
	var d Digest
	if c == "" {
		return d
	}
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte("lprd hotlist plate v1\x00"))
	m.Write([]byte(c))
	pw := m.Sum(nil)
	copy(d[:], argon2.IDKey(pw, salt(site), p.Time, p.Memory, p.Threads, DigestSize))
	clear(pw)
	return d
}

const siteKeyPEM = "LPRD HOTLIST SITE KEY"

// GenerateSiteKey returns a new random site key.
func GenerateSiteKey() (*SiteKey, error) {
	var k SiteKey
	if _, err := rand.Read(k[:]); err != nil {
		return nil, fmt.Errorf("hotlist: site key: %w", err)
	}
	return &k, nil
}

// MarshalPEM encodes the key as a PEM block of type "LPRD HOTLIST SITE KEY".
func (k *SiteKey) MarshalPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: siteKeyPEM, Bytes: k[:]})
}

// ParseSiteKey decodes a PEM site key.
func ParseSiteKey(data []byte) (*SiteKey, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != siteKeyPEM {
		return nil, errors.New("no PEM block of type " + siteKeyPEM + " (made by `lprctl hotlist key`)")
	}
	if len(b.Bytes) != SiteKeySize {
		return nil, fmt.Errorf("site key of %d bytes, want %d", len(b.Bytes), SiteKeySize)
	}
	var k SiteKey
	copy(k[:], b.Bytes)
	clear(b.Bytes)
	return &k, nil
}

// LoadSiteKey reads a site key file. Like the device's signing key it must not be readable
// by group or others: whoever holds it can test plate guesses against the list.
func LoadSiteKey(path string) (*SiteKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("hotlist site key %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("hotlist site key %s: mode %v is readable by group or others; chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hotlist site key %s: %w", path, err)
	}
	defer clear(b)
	k, err := ParseSiteKey(b)
	if err != nil {
		return nil, fmt.Errorf("hotlist site key %s: %w", path, err)
	}
	return k, nil
}
