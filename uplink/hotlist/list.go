package hotlist

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Magic starts every hotlist file.
const Magic = "LPRDHL01"

// SignContext separates hotlist signatures from every other signature of the project
// (envelopes, monitoring messages, acknowledgements).
const SignContext = "lprd hotlist v1"

// Limits of a list.
const (
	MaxSiteLen = 64
	MaxEntries = 1 << 20
)

// List is a parsed hotlist: no plate, only digests.
type List struct {
	Version uint64 // grows with every list of a site; a device refuses an older one
	Created time.Time
	Site    string
	KeyID   [8]byte // SiteKey.ID of the key the digests were made with
	Params  Params
	Digests []Digest // strictly ascending
}

// Len is the number of entries.
func (l *List) Len() int { return len(l.Digests) }

// Contains reports whether d is on the list.
func (l *List) Contains(d Digest) bool {
	_, ok := slices.BinarySearchFunc(l.Digests, d, func(a, b Digest) int { return bytes.Compare(a[:], b[:]) })
	return ok
}

// Build hashes plates (any form; duplicates after Canonical collapse) into a list. It costs
// one Argon2id hash per plate.
func Build(key *SiteKey, site string, version uint64, created time.Time, p Params, plates []string) (*List, error) {
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("hotlist: %w", err)
	}
	if site == "" || len(site) > MaxSiteLen {
		return nil, fmt.Errorf("hotlist: site of %d bytes, want 1-%d", len(site), MaxSiteLen)
	}
	if len(plates) > MaxEntries {
		return nil, fmt.Errorf("hotlist: %d plates, want at most %d", len(plates), MaxEntries)
	}
	l := &List{Version: version, Created: created.UTC().Truncate(time.Second), Site: site, KeyID: key.ID(), Params: p}
	for i, pl := range plates {
		d := Hash(key, site, p, pl)
		if d == (Digest{}) {
			return nil, fmt.Errorf("hotlist: plate %d (line %d) has no letter or digit", i, i+1)
		}
		l.Digests = append(l.Digests, d)
	}
	slices.SortFunc(l.Digests, func(a, b Digest) int { return bytes.Compare(a[:], b[:]) })
	l.Digests = slices.Compact(l.Digests)
	return l, nil
}

// Marshal returns the signed file (docs/hotlist.md).
func (l *List) Marshal(signer ed25519.PrivateKey) []byte {
	b := make([]byte, 0, 64+len(l.Site)+len(l.Digests)*DigestSize+ed25519.SignatureSize)
	b = append(b, Magic...)
	b = binary.BigEndian.AppendUint64(b, l.Version)
	b = binary.BigEndian.AppendUint64(b, uint64(l.Created.Unix()))
	b = append(b, byte(len(l.Site)))
	b = append(b, l.Site...)
	b = append(b, l.KeyID[:]...)
	b = binary.BigEndian.AppendUint32(b, l.Params.Time)
	b = binary.BigEndian.AppendUint32(b, l.Params.Memory)
	b = append(b, l.Params.Threads, DigestSize)
	b = binary.BigEndian.AppendUint32(b, uint32(len(l.Digests)))
	for _, d := range l.Digests {
		b = append(b, d[:]...)
	}
	return append(b, ed25519.Sign(signer, signed(b))...)
}

func signed(body []byte) []byte {
	return append(append([]byte(SignContext), 0), body...)
}

// Errors of Parse and Verify.
var (
	ErrFormat    = errors.New("not a hotlist file")
	ErrSignature = errors.New("hotlist signature does not verify with the backend's key")
)

// Parse decodes a hotlist file without verifying its signature; it returns the list, the
// signed bytes and the signature.
func Parse(data []byte) (*List, []byte, []byte, error) {
	r := reader{b: data}
	if string(r.next(len(Magic))) != Magic {
		return nil, nil, nil, fmt.Errorf("%w: no %q magic", ErrFormat, Magic)
	}
	l := &List{Version: r.u64(), Created: time.Unix(int64(r.u64()), 0).UTC()}
	n := int(r.u8())
	l.Site = string(r.next(n))
	copy(l.KeyID[:], r.next(8))
	l.Params = Params{Time: r.u32(), Memory: r.u32(), Threads: r.u8()}
	dlen, count := r.u8(), r.u32()
	if r.short {
		return nil, nil, nil, fmt.Errorf("%w: header truncated at %d bytes", ErrFormat, len(data))
	}
	if n == 0 || n > MaxSiteLen {
		return nil, nil, nil, fmt.Errorf("%w: site of %d bytes, want 1-%d", ErrFormat, n, MaxSiteLen)
	}
	if err := l.Params.check(); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if dlen != DigestSize || count > MaxEntries {
		return nil, nil, nil, fmt.Errorf("%w: %d digests of %d bytes, want at most %d of %d", ErrFormat, count, dlen, MaxEntries, DigestSize)
	}
	if want := r.off + int(count)*DigestSize + ed25519.SignatureSize; len(data) != want {
		return nil, nil, nil, fmt.Errorf("%w: %d bytes, want %d for %d entries", ErrFormat, len(data), want, count)
	}
	l.Digests = make([]Digest, count)
	for i := range l.Digests {
		copy(l.Digests[i][:], r.next(DigestSize))
		if i > 0 && bytes.Compare(l.Digests[i-1][:], l.Digests[i][:]) >= 0 {
			return nil, nil, nil, fmt.Errorf("%w: entry %d out of order", ErrFormat, i)
		}
	}
	return l, data[:r.off], data[r.off:], nil
}

// Verify parses data and checks its signature with one of keys (the backend's signing keys,
// LPRD_BACKEND_VERIFY_KEY).
func Verify(data []byte, keys []ed25519.PublicKey) (*List, error) {
	l, body, sig, err := Parse(data)
	if err != nil {
		return nil, err
	}
	msg := signed(body)
	for _, k := range keys {
		if ed25519.Verify(k, msg, sig) {
			return l, nil
		}
	}
	return nil, ErrSignature
}

// reader reads big-endian fields; short is set once data ran out.
type reader struct {
	b     []byte
	off   int
	short bool
}

func (r *reader) next(n int) []byte {
	if r.short || len(r.b)-r.off < n {
		r.short = true
		return make([]byte, n)
	}
	r.off += n
	return r.b[r.off-n : r.off]
}

func (r *reader) u8() uint8   { return r.next(1)[0] }
func (r *reader) u32() uint32 { return binary.BigEndian.Uint32(r.next(4)) }
func (r *reader) u64() uint64 { return binary.BigEndian.Uint64(r.next(8)) }
