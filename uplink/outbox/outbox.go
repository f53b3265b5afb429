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
	"syscall"
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

	// Bounds of the memory queue that holds envelopes the folder could
	// not store (full, read-only or failing disk): about 10 minutes of
	// reads at a busy lane, a few MiB of ciphertext.
	DefaultMemoryMaxCount = 1024
	DefaultMemoryMaxBytes = 8 << 20
)

// FS is how the outbox writes a file. Tests pass a fake that fails with
// syscall.ENOSPC or EROFS; the default is [OSFS].
type FS interface {
	// WriteFile writes dir/name atomically and durably (temporary file,
	// fsync, rename, fsync of the folder) or not at all.
	WriteFile(dir, name string, data []byte) error
}

// WriteFunc adapts a function to FS.
type WriteFunc func(dir, name string, data []byte) error

// WriteFile calls f.
func (f WriteFunc) WriteFile(dir, name string, data []byte) error { return f(dir, name, data) }

// OSFS writes to the real file system.
var OSFS FS = WriteFunc(writeFileSync)

// Options configure an outbox. Zero values take the defaults.
type Options struct {
	Dir      string        // folder of the outbox; created 0700 if missing
	MaxCount int           // most envelopes kept (DefaultMaxCount)
	MaxBytes int64         // most bytes of envelopes kept (DefaultMaxBytes)
	MaxAge   time.Duration // envelopes sealed longer ago expire (DefaultMaxAge)
	Policy   Policy
	Now      func() time.Time // clock, time.Now by default

	// Envelopes that cannot be written (no space, read-only, I/O error)
	// are held in memory, at most MemoryMaxCount envelopes and
	// MemoryMaxBytes bytes (DefaultMemoryMaxCount, DefaultMemoryMaxBytes),
	// and written to the folder by Retry or the next Put once it works
	// again. Beyond the bound, Policy decides which one is dropped.
	MemoryMaxCount int
	MemoryMaxBytes int64
	FS             FS // default OSFS
}

// Entry describes one stored envelope.
type Entry struct {
	Seq     uint64
	Created time.Time // sealing time, millisecond precision
	Size    int64
	// Sent is when the broker acknowledged the envelope (MarkSent), which
	// then waits for the backend's confirmation; zero while it waits for
	// the broker.
	Sent    time.Time
	mem     bool      // held in memory, not (yet) on disk
	disk    time.Time // the PUBACK time in the file's name; zero: a .env file
	tries   uint8     // republications after the confirmation timeout
	refused bool      // the backend refused it: not published again
}

// InMemory reports whether the envelope is held in memory only: the folder
// could not store it yet.
func (e Entry) InMemory() bool { return e.mem }

// Stats are the outbox's figures for the health topic.
type Stats struct {
	Depth    int       // envelopes waiting, on disk or in memory
	Bytes    int64     // their bytes
	Oldest   time.Time // sealing time of the oldest one; zero when empty
	Stored   uint64    // envelopes written to the folder since Open
	Acked    uint64    // removed after the broker's acknowledgement
	Expired  uint64    // removed by MaxAge
	Evicted  uint64    // removed by DropOldest to make room
	Rejected uint64    // refused by RejectNew

	InMemory    int    // envelopes of Depth held in memory only
	MemoryBytes int64  // their bytes
	Dropped     uint64 // held in memory and dropped: the memory queue was full
	StoreErrors uint64 // failed writes of envelopes and of the counter file

	// Backend confirmations (MarkSent, Confirm, Due, Refuse; acks.go).
	AwaitingBroker  int       // envelopes of Depth not yet acknowledged by the broker
	AwaitingBackend int       // acknowledged by the broker, not yet confirmed by the backend
	OldestAwaiting  time.Time // sealing time of the oldest of AwaitingBackend; zero when none
	Refused         int       // envelopes of Depth the backend refused
	Sent            uint64    // first broker acknowledgements (MarkSent) since Open
	Confirmed       uint64    // removed after the backend's confirmation
	Republished     uint64    // made due again by Due
}

// Errors.
var (
	ErrFull     = errors.New("outbox full")
	ErrTooLarge = errors.New("envelope larger than the outbox")
	ErrClosed   = errors.New("outbox closed")
	// ErrKeptInMemory is wrapped by Put's error when the folder could not
	// store the envelope and it is held in memory instead: it is still
	// delivered, unless the process stops before the folder works again.
	ErrKeptInMemory = errors.New("read kept in memory")
	// ErrDropped is wrapped by Put's error when the folder could not
	// store the envelope and the memory queue was full: the new envelope
	// (RejectNew) or the oldest held one (DropOldest) is gone.
	ErrDropped = errors.New("memory queue full")
)

// StoreError is Put's error when the folder could not store the envelope.
// It wraps the cause (a syscall.Errno where there is one) and
// ErrKeptInMemory or ErrDropped.
type StoreError struct {
	Dir     string
	Seq     uint64
	Err     error // the cause: syscall.ENOSPC, EROFS, EACCES, EIO, ...
	Kept    bool  // the envelope is held in memory
	Held    int   // envelopes held in memory after this Put
	Dropped int   // envelopes dropped by this Put (the new one or old ones)
}

func (e *StoreError) Error() string {
	s := fmt.Sprintf("outbox %s: %s", e.Dir, e.Err)
	if e.Dropped > 0 {
		s += fmt.Sprintf("; %v, %d dropped", ErrDropped, e.Dropped)
	}
	if e.Kept {
		s += fmt.Sprintf("; %v (%d held)", ErrKeptInMemory, e.Held)
	}
	return s
}

func (e *StoreError) Unwrap() []error {
	errs := []error{e.Err}
	if e.Kept {
		errs = append(errs, ErrKeptInMemory)
	}
	if e.Dropped > 0 {
		errs = append(errs, ErrDropped)
	}
	return errs
}

// Reason returns the errno inside err ("no space left on device") or, when
// there is none, err itself: a path in an error is the outbox's own file
// name, which says nothing the folder does not.
func Reason(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}

const (
	seqFile  = "seq"
	lockFile = "LOCK"
	envExt   = ".env"
	sentExt  = ".sent"
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
	lastPut   uint64 // highest number offered to Put
	mem       map[uint64][]byte
	memBytes  int64
	stats     Stats
	closed    bool

	retryAt   time.Time     // Retry does nothing before
	retryWait time.Duration // back-off of Retry while the folder fails
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
	if opt.MemoryMaxCount <= 0 {
		opt.MemoryMaxCount = DefaultMemoryMaxCount
	}
	if opt.MemoryMaxBytes <= 0 {
		opt.MemoryMaxBytes = DefaultMemoryMaxBytes
	}
	if opt.FS == nil {
		opt.FS = OSFS
	}
	if err := os.MkdirAll(opt.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox %s: %w", opt.Dir, err)
	}
	lock, err := lockDir(filepath.Join(opt.Dir, lockFile))
	if err != nil {
		return nil, fmt.Errorf("outbox %s: %w", opt.Dir, err)
	}
	o := &Outbox{opt: opt, dir: opt.Dir, lock: lock, mem: map[uint64][]byte{}}
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
		case !strings.HasSuffix(name, envExt) && !strings.HasSuffix(name, sentExt):
			continue
		}
		e, ok := parseEntryName(name)
		if !ok {
			continue // not ours; leave it alone
		}
		seq := e.Seq
		fi, err := d.Info()
		if err != nil {
			return fmt.Errorf("outbox %s: %w", o.dir, err)
		}
		e.Size = fi.Size()
		o.entries = append(o.entries, e)
		o.bytes += fi.Size()
		maxSeq = max(maxSeq, seq)
	}
	sort.Slice(o.entries, func(i, j int) bool { return o.entries[i].Seq < o.entries[j].Seq })

	b, err := os.ReadFile(filepath.Join(o.dir, seqFile))
	switch {
	case err == nil:
		num, state, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
		n, perr := strconv.ParseUint(num, 10, 64)
		if perr != nil {
			// Lost counter: jump ahead rather than risk reusing a number.
			n = o.freshCounter()
		} else if state == runningMark {
			// The last process did not close the outbox: it may have
			// sent numbers from memory that no file records (the folder
			// was failing). Jump ahead rather than risk reusing one.
			n = max(n, o.freshCounter())
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
	o.lastPut = maxSeq
	return o.writeSeq(o.next-1, true)
}

// runningMark follows the number in the counter file while the outbox is
// open; Close writes the number alone.
const runningMark = "running"

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
	return o.writeSeq(n, true)
}

func (o *Outbox) writeSeq(n uint64, running bool) error {
	line := strconv.FormatUint(n, 10)
	if running {
		line += " " + runningMark
	}
	if err := o.opt.FS.WriteFile(o.dir, seqFile, []byte(line+"\n")); err != nil {
		o.stats.StoreErrors++
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
//
// When the folder cannot store the envelope (no space, read-only, I/O
// error), Put holds it in memory and returns a *StoreError wrapping
// ErrKeptInMemory: Next and Read return it like a stored one, and Retry or
// a later Put writes it to the folder once that works again. When the
// memory queue is full as well, the error also wraps ErrDropped and
// Stats.Dropped counts the envelope that was given up.
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
	if seq <= o.lastPut {
		return fmt.Errorf("outbox %s: store %d: not above the last stored number %d", o.dir, seq, o.lastPut)
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
	o.lastPut = seq
	e := Entry{Seq: seq, Created: created.UTC().Truncate(time.Millisecond), Size: size}
	// Held envelopes go first, so that the files keep the sequence order
	// (the marker logic relies on it).
	err := o.flushLocked()
	if err == nil {
		err = o.opt.FS.WriteFile(o.dir, entryName(e), envelope)
		if err != nil {
			o.stats.StoreErrors++
		}
	}
	if err != nil {
		o.persistSeq(o.next - 1) // best effort: never reuse seq
		return o.holdLocked(e, envelope, err)
	}
	o.insertLocked(e)
	o.maxStored = seq
	o.stats.Stored++
	o.retryWait = 0
	return nil
}

func (o *Outbox) insertLocked(e Entry) {
	// Keep the index sorted; seq normally is the largest.
	i := sort.Search(len(o.entries), func(i int) bool { return o.entries[i].Seq >= e.Seq })
	o.entries = append(o.entries, Entry{})
	copy(o.entries[i+1:], o.entries[i:])
	o.entries[i] = e
	o.bytes += e.Size
}

// holdLocked keeps e in memory after the folder failed with cause.
func (o *Outbox) holdLocked(e Entry, envelope []byte, cause error) error {
	serr := &StoreError{Dir: o.dir, Seq: e.Seq, Err: Reason(cause)}
	if len(o.mem)+1 > o.opt.MemoryMaxCount || o.memBytes+e.Size > o.opt.MemoryMaxBytes {
		if o.opt.Policy == RejectNew || e.Size > o.opt.MemoryMaxBytes {
			o.stats.Dropped++
			serr.Dropped = 1
			serr.Held = len(o.mem)
			return serr
		}
		// Drop the oldest held envelopes until the new one fits.
		var drop []Entry
		count, bytes := len(o.mem), o.memBytes
		for _, old := range o.entries {
			if count+1 <= o.opt.MemoryMaxCount && bytes+e.Size <= o.opt.MemoryMaxBytes {
				break
			}
			if old.mem {
				drop = append(drop, old)
				count--
				bytes -= old.Size
			}
		}
		o.dropIndexLocked(drop)
		o.removeLocked(drop)
		o.stats.Dropped += uint64(len(drop))
		serr.Dropped = len(drop)
	}
	e.mem = true
	o.mem[e.Seq] = append([]byte(nil), envelope...)
	o.memBytes += e.Size
	o.insertLocked(e)
	serr.Kept = true
	serr.Held = len(o.mem)
	if o.retryAt.IsZero() || o.retryWait == 0 {
		o.retryWait = time.Second
		o.retryAt = o.opt.Now().Add(o.retryWait)
	}
	return serr
}

// dropIndexLocked takes es out of the index.
func (o *Outbox) dropIndexLocked(es []Entry) {
	if len(es) == 0 {
		return
	}
	gone := make(map[uint64]bool, len(es))
	for _, e := range es {
		gone[e.Seq] = true
	}
	kept := o.entries[:0]
	for _, e := range o.entries {
		if gone[e.Seq] {
			o.bytes -= e.Size
			continue
		}
		kept = append(kept, e)
	}
	o.entries = kept
}

// flushLocked writes the held envelopes to the folder, in order, and stops
// at the first failure.
func (o *Outbox) flushLocked() error {
	if len(o.mem) == 0 {
		return nil
	}
	for i := range o.entries {
		e := &o.entries[i]
		if !e.mem {
			continue
		}
		b := o.mem[e.Seq]
		stored := *e
		stored.disk = e.Sent
		if err := o.opt.FS.WriteFile(o.dir, fileName(stored), b); err != nil {
			o.stats.StoreErrors++
			return err
		}
		e.disk = e.Sent
		e.mem = false
		delete(o.mem, e.Seq)
		o.memBytes -= e.Size
		o.maxStored = e.Seq
		o.stats.Stored++
		clear(b)
	}
	return nil
}

// Retry writes the envelopes held in memory to the folder, in order. While
// the folder keeps failing, it tries at most once per back-off interval
// (1 s doubling to 1 min); it returns how many it wrote and the first error
// of this attempt.
func (o *Outbox) Retry() (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || len(o.mem) == 0 {
		return 0, nil
	}
	now := o.opt.Now()
	if now.Before(o.retryAt) {
		return 0, nil
	}
	before := len(o.mem)
	err := o.flushLocked()
	if err != nil {
		o.retryWait = min(max(2*o.retryWait, time.Second), time.Minute)
		o.retryAt = now.Add(o.retryWait)
		return before - len(o.mem), &StoreError{Dir: o.dir, Err: Reason(err), Kept: true, Held: len(o.mem)}
	}
	o.retryWait = 0
	o.retryAt = time.Time{}
	return before, nil
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
		if e.mem {
			if b, ok := o.mem[e.Seq]; ok {
				clear(b)
				delete(o.mem, e.Seq)
				o.memBytes -= e.Size
			}
			continue
		}
		path := filepath.Join(o.dir, fileName(e))
		if e.Seq != o.maxStored {
			fail(os.Remove(path))
			continue
		}
		marker := filepath.Join(o.dir, entryName(e)+ackedExt)
		err := os.Rename(path, marker)
		fail(err)
		if err == nil && o.marker != "" && o.marker != marker {
			fail(os.Remove(o.marker))
		}
		if err == nil {
			o.marker = marker
		}
	}
	return first
}

// Next returns up to n entries with a sequence number above after, in
// order, that wait for the broker: not sent (MarkSent) and not refused.
func (o *Outbox) Next(after uint64, n int) []Entry {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []Entry
	for i := sort.Search(len(o.entries), func(i int) bool { return o.entries[i].Seq > after }); i < len(o.entries) && len(out) < n; i++ {
		if e := o.entries[i]; e.Sent.IsZero() && !e.refused {
			out = append(out, e)
		}
	}
	return out
}

// Read returns the stored envelope of e. It returns an error wrapping
// os.ErrNotExist when e was removed meanwhile (acknowledged, expired or
// evicted).
func (o *Outbox) Read(e Entry) ([]byte, error) {
	o.mu.Lock()
	if b, ok := o.mem[e.Seq]; ok {
		b = append([]byte(nil), b...)
		o.mu.Unlock()
		return b, nil
	}
	if i, ok := o.indexLocked(e.Seq); ok {
		e = o.entries[i] // its file may have been renamed (MarkSent)
	}
	o.mu.Unlock()
	b, err := os.ReadFile(filepath.Join(o.dir, fileName(e)))
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
	s.InMemory = len(o.mem)
	s.MemoryBytes = o.memBytes
	if len(o.entries) > 0 {
		s.Oldest = o.entries[0].Created
	}
	o.awaitingLocked(&s)
	return s
}

// Close writes the envelopes held in memory if the folder takes them now,
// records the counter and releases the folder. Stored envelopes stay for
// the next Open; envelopes still held in memory are lost, and Close says
// how many.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	var err error
	if ferr := o.flushLocked(); ferr != nil {
		err = &StoreError{Dir: o.dir, Err: fmt.Errorf("%w; %d reads held in memory are lost", Reason(ferr), len(o.mem))}
	}
	for _, b := range o.mem {
		clear(b)
	}
	if serr := o.writeSeq(o.next-1, false); err == nil {
		err = serr
	}
	if cerr := o.lock.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("outbox %s: unlock: %w", o.dir, cerr)
	}
	return err
}
