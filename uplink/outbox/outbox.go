package outbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Policy says what happens when a new envelope does not fit.
type Policy int

const (
	// DropOldest evicts the oldest envelopes to make room (counted as
	// evicted).
	DropOldest Policy = iota
	// RejectNew refuses the new envelope with ErrFull (counted as
	// rejected) and keeps the old ones.
	RejectNew
)

// ParsePolicy parses "drop-oldest" or "reject-new" ("" means DropOldest).
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "", "drop-oldest":
		return DropOldest, nil
	case "reject-new":
		return RejectNew, nil
	}
	return 0, fmt.Errorf("outbox policy %q: want drop-oldest or reject-new", s)
}

func (p Policy) String() string {
	if p == RejectNew {
		return "reject-new"
	}
	return "drop-oldest"
}

// Defaults of Options.
const (
	DefaultMaxCount = 100000
	DefaultMaxBytes = 512 << 20
	DefaultMaxAge   = 168 * time.Hour
)

// Options configure an outbox. Zero values take the defaults.
type Options struct {
	Dir      string        // folder of the outbox; created 0700 if missing
	MaxCount int           // most envelopes kept (DefaultMaxCount)
	MaxBytes int64         // most bytes of envelopes kept (DefaultMaxBytes)
	MaxAge   time.Duration // envelopes sealed longer ago expire (DefaultMaxAge)
	Policy   Policy
	Now      func() time.Time // clock, time.Now by default
}

// Entry describes one stored envelope.
type Entry struct {
	Seq     uint64
	Created time.Time // sealing time, millisecond precision
	Size    int64
}

// Stats are the outbox's figures for the health topic.
type Stats struct {
	Depth    int       // envelopes waiting
	Bytes    int64     // their bytes
	Oldest   time.Time // sealing time of the oldest one; zero when empty
	Stored   uint64    // envelopes stored since Open
	Acked    uint64    // removed after the broker's acknowledgement
	Expired  uint64    // removed by MaxAge
	Evicted  uint64    // removed by DropOldest to make room
	Rejected uint64    // refused by RejectNew
}

// Errors.
var (
	ErrFull     = errors.New("outbox full")
	ErrTooLarge = errors.New("envelope larger than the outbox")
	ErrClosed   = errors.New("outbox closed")
)

const (
	seqFile  = "seq"
	lockFile = "LOCK"
	envExt   = ".env"
	ackedExt = ".acked"
	tmpPre   = ".tmp-"
)

// Outbox is a durable, bounded queue of envelopes ordered by sequence
// number. It is safe for concurrent use.
type Outbox struct {
	opt  Options
	dir  string
	lock *os.File

	mu        sync.Mutex
	entries   []Entry // sorted by Seq
	bytes     int64
	next      uint64 // next sequence number to reserve
	persisted uint64 // value in the seq file: every number <= it is used
	seqOnDisk bool   // persisted has been written by this process
	maxStored uint64 // highest number stored since the folder was made
	marker    string // path of the .acked marker of maxStored, if any
	stats     Stats
	closed    bool
}

// Open opens (creating if needed) the outbox in opt.Dir, recovers from an
// interrupted write and loads the index of stored envelopes.
func Open(opt Options) (*Outbox, error) {
	if opt.Dir == "" {
		return nil, errors.New("outbox: no folder given")
	}
	if opt.MaxCount <= 0 {
		opt.MaxCount = DefaultMaxCount
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.MaxAge <= 0 {
		opt.MaxAge = DefaultMaxAge
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if err := os.MkdirAll(opt.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox %s: %w", opt.Dir, err)
	}
	lock, err := lockDir(filepath.Join(opt.Dir, lockFile))
	if err != nil {
		return nil, fmt.Errorf("outbox %s: %w", opt.Dir, err)
	}
	o := &Outbox{opt: opt, dir: opt.Dir, lock: lock}
	if err := o.load(); err != nil {
		lock.Close()
		return nil, err
	}
	return o, nil
}

func (o *Outbox) load() error {
	names, err := os.ReadDir(o.dir)
	if err != nil {
		return fmt.Errorf("outbox %s: %w", o.dir, err)
	}
	var maxSeq uint64
	for _, d := range names {
		name := d.Name()
		switch {
		case strings.HasPrefix(name, tmpPre):
			// An interrupted write: never acknowledged to the caller.
			os.Remove(filepath.Join(o.dir, name))
			continue
		case strings.HasSuffix(name, envExt+ackedExt):
			if seq, _, ok := parseName(strings.TrimSuffix(name, ackedExt)); ok {
				if o.marker != "" { // an older marker whose removal a crash lost
					if old, _, _ := parseName(strings.TrimSuffix(filepath.Base(o.marker), ackedExt)); old < seq {
						os.Remove(o.marker)
					} else {
						os.Remove(filepath.Join(o.dir, name))
						continue
					}
				}
				o.marker = filepath.Join(o.dir, name)
				maxSeq = max(maxSeq, seq)
			}
			continue
		case !strings.HasSuffix(name, envExt):
			continue
		}
		seq, created, ok := parseName(name)
		if !ok {
			continue // not ours; leave it alone
		}
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("outbox %s: %w", o.dir, err)
		}
		o.entries = append(o.entries, Entry{Seq: seq, Created: created, Size: fi.Size()})
		o.bytes += fi.Size()
		maxSeq = max(maxSeq, seq)
	}
	sort.Slice(o.entries, func(i, j int) bool { return o.entries[i].Seq < o.entries[j].Seq })

	b, err := os.ReadFile(filepath.Join(o.dir, seqFile))
	switch {
	case err == nil:
		n, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if perr != nil {
			// Lost counter: jump ahead rather than risk reusing a number.
			n = o.freshCounter()
		}
		o.persisted = n
	case errors.Is(err, os.ErrNotExist):
		if len(o.entries) == 0 {
			o.persisted = o.freshCounter()
		}
	default:
		return fmt.Errorf("outbox %s: sequence counter: %w", o.dir, err)
	}
	o.next = max(o.persisted, maxSeq) + 1
	o.maxStored = maxSeq
	return o.persistSeq(o.next - 1)
}

func (o *Outbox) freshCounter() uint64 { return uint64(o.opt.Now().UnixMilli()) * 1000 }

func entryName(e Entry) string {
	return fmt.Sprintf("%020d-%013d%s", e.Seq, e.Created.UnixMilli(), envExt)
}

func parseName(name string) (seq uint64, created time.Time, ok bool) {
	base := strings.TrimSuffix(name, envExt)
	a, b, found := strings.Cut(base, "-")
	if !found || len(a) != 20 || len(b) != 13 {
		return 0, time.Time{}, false
	}
	seq, err1 := strconv.ParseUint(a, 10, 64)
	ms, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, time.Time{}, false
	}
	return seq, time.UnixMilli(ms).UTC(), true
}

// persistSeq makes sure the counter file says at least n. The caller holds
// o.mu or is Open.
func (o *Outbox) persistSeq(n uint64) error {
	if n <= o.persisted && o.seqOnDisk {
		return nil
	}
	if err := writeFileSync(o.dir, seqFile, []byte(strconv.FormatUint(n, 10)+"\n")); err != nil {
		return fmt.Errorf("outbox %s: sequence counter: %w", o.dir, err)
	}
	o.persisted = max(o.persisted, n)
	o.seqOnDisk = true
	return nil
}

// writeFileSync writes dir/name atomically and durably: temporary file,
// fsync, rename, fsync of the folder.
func writeFileSync(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, tmpPre+name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// Reserve returns the next sequence number. A number is never returned
// twice once an envelope with it was stored or refused; a number reserved
// but never offered to Put may come back after a crash, harmlessly, since
// nothing carried it.
func (o *Outbox) Reserve() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.next
	o.next++
	return n
}

// Put stores the envelope with sequence number seq (from Reserve) and
// sealing time created. When Put returns nil the envelope is on disk and
// survives a crash. When the outbox is full, DropOldest evicts old
// envelopes first and RejectNew returns ErrFull.
func (o *Outbox) Put(seq uint64, created time.Time, envelope []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	size := int64(len(envelope))
	if size > o.opt.MaxBytes {
		o.stats.Rejected++
		return fmt.Errorf("outbox %s: %w: %d bytes, limit %d", o.dir, ErrTooLarge, size, o.opt.MaxBytes)
	}
	if len(o.entries)+1 > o.opt.MaxCount || o.bytes+size > o.opt.MaxBytes {
		if o.opt.Policy == RejectNew {
			o.stats.Rejected++
			o.persistSeq(o.next - 1) // the refused number stays used
			return fmt.Errorf("outbox %s: %w (%d envelopes, %d bytes)", o.dir, ErrFull, len(o.entries), o.bytes)
		}
		var drop []Entry
		i := 0
		for ; i < len(o.entries) && (len(o.entries)-i+1 > o.opt.MaxCount || o.bytes+size > o.opt.MaxBytes); i++ {
			drop = append(drop, o.entries[i])
			o.bytes -= o.entries[i].Size
		}
		o.entries = o.entries[i:]
		o.stats.Evicted += uint64(len(drop))
		if err := o.removeLocked(drop); err != nil {
			return err
		}
	}
	if seq <= o.maxStored {
		return fmt.Errorf("outbox %s: store %d: not above the last stored number %d", o.dir, seq, o.maxStored)
	}
	e := Entry{Seq: seq, Created: created.UTC().Truncate(time.Millisecond), Size: size}
	if err := writeFileSync(o.dir, entryName(e), envelope); err != nil {
		o.persistSeq(o.next - 1) // best effort: never reuse seq
		return fmt.Errorf("outbox %s: store %d: %w", o.dir, seq, err)
	}
	// Keep the index sorted; seq normally is the largest.
	i := sort.Search(len(o.entries), func(i int) bool { return o.entries[i].Seq >= seq })
	o.entries = append(o.entries, Entry{})
	copy(o.entries[i+1:], o.entries[i:])
	o.entries[i] = e
	o.bytes += size
	o.maxStored = seq
	o.stats.Stored++
	return nil
}

// removeLocked deletes the files of entries that are no longer in the index.
// The file of the highest number ever stored is not deleted but renamed to a
// marker (.acked), which keeps that number on disk for the counter without
// an fsync per acknowledgement: if a crash loses the rename, the envelope is
// sent once more and the backend drops the duplicate. The previous marker
// is deleted after the rename, which a journalling file system orders after
// it.
func (o *Outbox) removeLocked(es []Entry) error {
	var first error
	fail := func(err error) {
		if err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = fmt.Errorf("outbox %s: %w", o.dir, err)
		}
	}
	for _, e := range es {
		path := filepath.Join(o.dir, entryName(e))
		if e.Seq != o.maxStored {
			fail(os.Remove(path))
			continue
		}
		err := os.Rename(path, path+ackedExt)
		fail(err)
		if err == nil && o.marker != "" && o.marker != path+ackedExt {
			fail(os.Remove(o.marker))
		}
		if err == nil {
			o.marker = path + ackedExt
		}
	}
	return first
}

// Next returns up to n entries with a sequence number above after, in
// order.
func (o *Outbox) Next(after uint64, n int) []Entry {
	o.mu.Lock()
	defer o.mu.Unlock()
	i := sort.Search(len(o.entries), func(i int) bool { return o.entries[i].Seq > after })
	j := min(len(o.entries), i+n)
	return append([]Entry(nil), o.entries[i:j]...)
}

// Read returns the stored envelope of e. It returns an error wrapping
// os.ErrNotExist when e was removed meanwhile (acknowledged, expired or
// evicted).
func (o *Outbox) Read(e Entry) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(o.dir, entryName(e)))
	if err != nil {
		return nil, fmt.Errorf("outbox %s: read %d: %w", o.dir, e.Seq, err)
	}
	return b, nil
}

// Ack removes the envelopes the broker acknowledged. Unknown numbers (already
// expired or evicted) are ignored.
func (o *Outbox) Ack(seqs ...uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	var done []Entry
	for _, s := range seqs {
		i := sort.Search(len(o.entries), func(i int) bool { return o.entries[i].Seq >= s })
		if i == len(o.entries) || o.entries[i].Seq != s {
			continue
		}
		done = append(done, o.entries[i])
		o.bytes -= o.entries[i].Size
		if i == 0 {
			o.entries = o.entries[1:]
		} else {
			o.entries = append(o.entries[:i], o.entries[i+1:]...)
		}
	}
	o.stats.Acked += uint64(len(done))
	return o.removeLocked(done)
}

// Expire removes the envelopes sealed more than MaxAge ago and returns how
// many.
func (o *Outbox) Expire() (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	cutoff := o.opt.Now().Add(-o.opt.MaxAge)
	i := 0
	for i < len(o.entries) && o.entries[i].Created.Before(cutoff) {
		o.bytes -= o.entries[i].Size
		i++
	}
	if i == 0 {
		return 0, nil
	}
	drop := append([]Entry(nil), o.entries[:i]...)
	o.entries = o.entries[i:]
	o.stats.Expired += uint64(i)
	return i, o.removeLocked(drop)
}

// Stats returns the current figures.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.stats
	s.Depth = len(o.entries)
	s.Bytes = o.bytes
	if len(o.entries) > 0 {
		s.Oldest = o.entries[0].Created
	}
	return s
}

// Close records the counter and releases the folder. Stored envelopes stay
// for the next Open.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	err := o.persistSeq(o.next - 1)
	if cerr := o.lock.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("outbox %s: unlock: %w", o.dir, cerr)
	}
	return err
}
