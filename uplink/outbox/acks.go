package outbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Backend confirmations. With end-to-end acknowledgements an envelope has two
// states: it waits for the broker (a .env file) until MarkSent records the
// broker's PUBACK by renaming its file to
// <seq, 20 digits>-<sealed unix ms, 13 digits>-<puback unix ms, 13 digits>.sent,
// and then it waits for the backend, until Confirm removes it. The rename is
// not synced: a power cut that loses it leaves a .env file, and the envelope
// is published once more (the backend drops the duplicate). Due makes the
// envelopes whose confirmation is late wait for the broker again, so that
// they are published again; Refuse keeps those the backend refused from being
// published again until the outbox is reopened. The limits (count, bytes,
// age) and the policy apply to envelopes in both states alike.

// Range is an inclusive range of sequence numbers.
type Range struct{ First, Last uint64 }

// maxBackoff caps Due's doubling of the confirmation timeout: 1, 2, 4, ...
// 64 times (5 min to 5 h 20 min by default), so that a backend away for
// days costs a few republications per read, not one per timeout.
const maxBackoff = 6

func sentName(seq uint64, created, sent time.Time) string {
	return fmt.Sprintf("%020d-%013d-%013d%s", seq, created.UnixMilli(), sent.UnixMilli(), sentExt)
}

// fileName is the name of e's file as it is on disk now.
func fileName(e Entry) string {
	if e.disk.IsZero() {
		return entryName(e)
	}
	return sentName(e.Seq, e.Created, e.disk)
}

// parseEntryName parses the name of a .env or a .sent file.
func parseEntryName(name string) (Entry, bool) {
	if strings.HasSuffix(name, envExt) {
		seq, created, ok := parseName(name)
		return Entry{Seq: seq, Created: created}, ok
	}
	base, ok := strings.CutSuffix(name, sentExt)
	i := strings.LastIndexByte(base, '-')
	if !ok || i < 0 || len(base)-i-1 != 13 {
		return Entry{}, false
	}
	seq, created, ok := parseName(base[:i] + envExt)
	ms, err := strconv.ParseInt(base[i+1:], 10, 64)
	if !ok || err != nil {
		return Entry{}, false
	}
	sent := time.UnixMilli(ms).UTC()
	return Entry{Seq: seq, Created: created, Sent: sent, disk: sent}, true
}

// indexLocked returns the index of seq's entry.
func (o *Outbox) indexLocked(seq uint64) (int, bool) {
	i := sort.Search(len(o.entries), func(i int) bool { return o.entries[i].Seq >= seq })
	return i, i < len(o.entries) && o.entries[i].Seq == seq
}

// MarkSent records that the broker acknowledged the envelopes seqs at at:
// they now wait for the backend's confirmation and Next skips them. Unknown
// numbers are ignored. A rename that fails keeps the state in memory (after a
// restart the envelope is published again) and is returned.
func (o *Outbox) MarkSent(at time.Time, seqs ...uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	at = at.UTC().Truncate(time.Millisecond)
	var first error
	for _, s := range seqs {
		i, ok := o.indexLocked(s)
		if !ok {
			continue
		}
		e := &o.entries[i]
		if e.tries == 0 && e.Sent.IsZero() {
			o.stats.Sent++
		}
		e.Sent = at
		if e.mem || o.closed {
			continue
		}
		from := filepath.Join(o.dir, fileName(*e))
		if err := os.Rename(from, filepath.Join(o.dir, sentName(e.Seq, e.Created, at))); err != nil {
			if first == nil && !errors.Is(err, os.ErrNotExist) {
				first = fmt.Errorf("outbox %s: mark %d sent: %w", o.dir, s, err)
			}
			continue
		}
		e.disk = at
	}
	return first
}

// inRangesLocked returns the indexes of the entries whose numbers are in rs.
func (o *Outbox) inRangesLocked(rs []Range) []int {
	var idx []int
	for _, r := range rs {
		if r.First > r.Last {
			continue
		}
		for i := sort.Search(len(o.entries), func(i int) bool { return o.entries[i].Seq >= r.First }); i < len(o.entries) && o.entries[i].Seq <= r.Last; i++ {
			idx = append(idx, i)
		}
	}
	return idx
}

// Confirm removes the envelopes of rs, which the backend holds, whatever
// their state, and returns how many it removed.
func (o *Outbox) Confirm(rs []Range) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var done []Entry
	for _, i := range o.inRangesLocked(rs) {
		done = append(done, o.entries[i])
	}
	o.dropIndexLocked(done)
	o.stats.Confirmed += uint64(len(done))
	return len(done), o.removeLocked(done)
}

// Refuse marks the envelopes of rs as refused by the backend: they stay (for
// an operator, or until they expire) and are not published again until the
// outbox is reopened. It returns how many it newly marked.
func (o *Outbox) Refuse(rs []Range) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, i := range o.inRangesLocked(rs) {
		if !o.entries[i].refused {
			o.entries[i].refused = true
			n++
		}
	}
	return n
}

// Due makes the envelopes that the broker acknowledged but the backend did
// not confirm within timeout (doubled on each republication, at most 64
// times) wait for the broker again, and returns them in order. Refused
// envelopes are left alone. Due(0) returns every sent envelope.
func (o *Outbox) Due(timeout time.Duration) []Entry {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.opt.Now()
	var out []Entry
	for i := range o.entries {
		e := &o.entries[i]
		if e.Sent.IsZero() || e.refused || now.Before(e.Sent.Add(timeout<<min(e.tries, maxBackoff))) {
			continue
		}
		e.Sent = time.Time{}
		e.tries = min(e.tries+1, maxBackoff+1)
		o.stats.Republished++
		out = append(out, *e)
	}
	return out
}

// awaitingLocked fills the confirmation figures of s.
func (o *Outbox) awaitingLocked(s *Stats) {
	for _, e := range o.entries {
		switch {
		case e.refused:
			s.Refused++
		case e.Sent.IsZero():
			s.AwaitingBroker++
		default:
			if s.AwaitingBackend == 0 {
				s.OldestAwaiting = e.Created
			}
			s.AwaitingBackend++
		}
	}
}
