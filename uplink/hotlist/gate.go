package hotlist

import (
	"fmt"
	"sync/atomic"
)

// Mode is what a device sends (LPRD_SEND_MODE).
type Mode string

// The send modes.
const (
	// All: every read is sealed and sent, plate text and candidates as read.
	All Mode = "all"
	// Hits: only reads on the hotlist are sealed and sent; every other read is discarded as
	// soon as fusion closes the vehicle, and counted.
	Hits Mode = "hits"
	// Hashed: every read is sent, but a read not on the hotlist carries the digests of its
	// plate and first candidates instead of their text.
	Hashed Mode = "hashed"
)

// ParseMode parses a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case All, Hits, Hashed:
		return m, nil
	}
	return "", fmt.Errorf("send mode %q, want all, hits or hashed", s)
}

// Gate applies a mode to each fused read. Decide may be called from one goroutine at a
// time; Stats from any.
type Gate struct {
	mode  Mode
	store *Store // nil in mode All without a hotlist

	seen, sent, discarded, hashed atomic.Uint64
}

// NewGate returns the gate of mode over store (which may be nil only in mode All).
func NewGate(mode Mode, store *Store) (*Gate, error) {
	if store == nil && mode != All {
		return nil, fmt.Errorf("send mode %s needs a hotlist site key", mode)
	}
	return &Gate{mode: mode, store: store}, nil
}

// Store is the gate's hotlist store, nil without a site key.
func (g *Gate) Store() *Store { return g.store }

// Decision is what to do with one read.
type Decision struct {
	Send bool
	// Hit is set when a candidate is on the hotlist (only looked up in modes hits and hashed).
	Hit bool
	// Plate and Candidates are the texts to send: as read, or in mode hashed without a hit
	// the digests (Digest.String) of the plate and of the first candidates; Candidates may
	// be shorter than the read's (the candidates that were not hashed are left out).
	Plate      string
	Candidates []string
}

// Decide applies the mode to a read with plate (its best text) and cands (best first; the
// plate is usually the first). Nothing of the read is kept.
func (g *Gate) Decide(plate string, cands []string) Decision {
	g.seen.Add(1)
	if g.mode == All {
		g.sent.Add(1)
		return Decision{Send: true, Plate: plate, Candidates: cands}
	}
	texts := cands
	if len(texts) == 0 || texts[0] != plate {
		texts = append([]string{plate}, cands...)
	}
	m := g.store.Match(texts)
	if m.Hit >= 0 {
		g.sent.Add(1)
		return Decision{Send: true, Hit: true, Plate: plate, Candidates: cands}
	}
	if g.mode == Hits {
		g.discarded.Add(1)
		return Decision{}
	}
	g.sent.Add(1)
	g.hashed.Add(1)
	d := Decision{Send: true, Plate: m.Digests[0].String()}
	off := len(texts) - len(cands) // 1 when the plate was put in front
	for i := off; i < len(m.Digests); i++ {
		d.Candidates = append(d.Candidates, m.Digests[i].String())
	}
	return d
}

// Stats are the gate's figures on health. They hold no plate data.
type Stats struct {
	Mode           Mode   `json:"mode"`
	HotlistVersion uint64 `json:"hotlist_version"`
	HotlistSize    int    `json:"hotlist_size"`
	HotlistUpdates uint64 `json:"hotlist_updates"`
	HotlistRefused uint64 `json:"hotlist_refused"`
	// ReadsSeen counts fused reads; ReadsPassed those handed on to be sealed and sent
	// (hashed or not); ReadsDiscarded those dropped in mode hits; ReadsHashed those sent
	// as digests.
	ReadsSeen      uint64 `json:"reads_seen"`
	ReadsPassed    uint64 `json:"reads_passed"`
	ReadsDiscarded uint64 `json:"reads_discarded"`
	ReadsHashed    uint64 `json:"reads_hashed"`
}

// Stats returns a snapshot.
func (g *Gate) Stats() Stats {
	st := Stats{Mode: g.mode, ReadsSeen: g.seen.Load(), ReadsPassed: g.sent.Load(),
		ReadsDiscarded: g.discarded.Load(), ReadsHashed: g.hashed.Load()}
	if g.store != nil {
		if l := g.store.List(); l != nil {
			st.HotlistVersion, st.HotlistSize = l.Version, l.Len()
		}
		st.HotlistUpdates, st.HotlistRefused = g.store.Updates(), g.store.Refused()
	}
	return st
}
