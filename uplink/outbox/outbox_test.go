package outbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func open(t testing.TB, opt Options) *Outbox {
	t.Helper()
	o, err := Open(opt)
	if err != nil {
		t.Fatalf("Open(%+v): %v", opt, err)
	}
	return o
}

func put(t testing.TB, o *Outbox, at time.Time, payload string) uint64 {
	t.Helper()
	seq := o.Reserve()
	if err := o.Put(seq, at, []byte(payload)); err != nil {
		t.Fatalf("Put(%d): %v", seq, err)
	}
	return seq
}

func seqs(es []Entry) []uint64 {
	var s []uint64
	for _, e := range es {
		s = append(s, e.Seq)
	}
	return s
}

func TestPutNextAckAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)}
	o := open(t, Options{Dir: dir, Now: clk.Now})
	var got []uint64
	for i := 0; i < 5; i++ {
		got = append(got, put(t, o, clk.t, fmt.Sprint("env", i)))
	}
	first := got[0]
	if first != uint64(clk.t.UnixMilli())*1000+1 {
		t.Errorf("first seq = %d; want unix ms * 1000 + 1", first)
	}
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("seqs %v not consecutive", got)
		}
	}
	if err := o.Ack(got[0], got[2]); err != nil {
		t.Fatal(err)
	}
	if s := seqs(o.Next(0, 10)); fmt.Sprint(s) != fmt.Sprint([]uint64{got[1], got[3], got[4]}) {
		t.Errorf("Next(0, 10) = %v after acking 0 and 2", s)
	}
	if s := seqs(o.Next(got[1], 1)); fmt.Sprint(s) != fmt.Sprint([]uint64{got[3]}) {
		t.Errorf("Next(%d, 1) = %v", got[1], s)
	}
	b, err := o.Read(o.Next(0, 1)[0])
	if err != nil || string(b) != "env1" {
		t.Errorf("Read(first) = %q, %v; want env1", b, err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}

	// Restart: the three left are there, in order, and numbering goes on.
	o = open(t, Options{Dir: dir, Now: clk.Now})
	if s := seqs(o.Next(0, 10)); fmt.Sprint(s) != fmt.Sprint([]uint64{got[1], got[3], got[4]}) {
		t.Errorf("after restart Next(0, 10) = %v", s)
	}
	if st := o.Stats(); st.Depth != 3 || st.Bytes != 12 || !st.Oldest.Equal(clk.t) {
		t.Errorf("Stats() = %+v", st)
	}
	o.Ack(got[1], got[3], got[4])
	next := put(t, o, clk.t, "x")
	if next != got[4]+1 {
		t.Errorf("Reserve() after restart = %d; want %d", next, got[4]+1)
	}
	o.Ack(next)
	if files, _ := filepath.Glob(filepath.Join(dir, "*.env*")); len(files) != 1 {
		t.Errorf("files left after acking everything: %v; want one marker", files)
	}
	// Crash without Close after an ack of everything: the number is still
	// not reused (the counter was written before the files went).
	o.lock.Close()
	o = open(t, Options{Dir: dir, Now: clk.Now})
	if n := o.Reserve(); n <= next {
		t.Errorf("Reserve() after a crash = %d; want > %d", n, next)
	}
	o.Close()
}

func TestInterruptedWriteIsDiscarded(t *testing.T) {
	dir := t.TempDir()
	o := open(t, Options{Dir: dir})
	put(t, o, time.Now(), "kept")
	o.Close()
	os.WriteFile(filepath.Join(dir, ".tmp-00000000000000000099-0000000000001.env"), []byte("torn"), 0o600)
	os.WriteFile(filepath.Join(dir, "README"), []byte("not ours"), 0o600)
	o = open(t, Options{Dir: dir})
	defer o.Close()
	if d := o.Stats().Depth; d != 1 {
		t.Errorf("Depth = %d; want 1", d)
	}
	if _, err := os.Stat(filepath.Join(dir, ".tmp-00000000000000000099-0000000000001.env")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README")); err != nil {
		t.Errorf("foreign file removed: %v", err)
	}
}

func TestCorruptCounterJumpsAhead(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)}
	o := open(t, Options{Dir: dir, Now: clk.Now})
	s := put(t, o, clk.t, "a")
	o.Ack(s)
	o.Close()
	os.WriteFile(filepath.Join(dir, seqFile), []byte("garbage"), 0o600)
	clk.t = clk.t.Add(time.Second)
	o = open(t, Options{Dir: dir, Now: clk.Now})
	defer o.Close()
	if n := o.Reserve(); n <= s {
		t.Errorf("Reserve() after a corrupt counter = %d; want > %d", n, s)
	}
}

func TestBounds(t *testing.T) {
	clk := &clock{time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)}
	tests := []struct {
		name                          string
		opt                           Options
		puts                          int
		wantDepth                     int
		wantEvicted, wantRejected     uint64
		wantFirstIndex, wantPutErrors int
	}{
		{"count drop-oldest", Options{MaxCount: 3}, 5, 3, 2, 0, 2, 0},
		{"count reject-new", Options{MaxCount: 3, Policy: RejectNew}, 5, 3, 0, 2, 0, 2},
		{"bytes drop-oldest", Options{MaxBytes: 40}, 5, 4, 1, 0, 1, 0},
		{"bytes reject-new", Options{MaxBytes: 40, Policy: RejectNew}, 5, 4, 0, 1, 0, 1},
	}
	for _, tt := range tests {
		tt.opt.Dir = t.TempDir()
		tt.opt.Now = clk.Now
		o := open(t, tt.opt)
		var all []uint64
		errs := 0
		for i := 0; i < tt.puts; i++ {
			s := o.Reserve()
			all = append(all, s)
			if err := o.Put(s, clk.t, bytes.Repeat([]byte{'x'}, 10)); err != nil {
				if !errors.Is(err, ErrFull) {
					t.Errorf("%s: Put error %v; want ErrFull", tt.name, err)
				}
				errs++
			}
		}
		st := o.Stats()
		if st.Depth != tt.wantDepth || st.Evicted != tt.wantEvicted || st.Rejected != tt.wantRejected || errs != tt.wantPutErrors {
			t.Errorf("%s: Stats() = %+v, %d Put errors; want depth %d evicted %d rejected %d, %d errors",
				tt.name, st, errs, tt.wantDepth, tt.wantEvicted, tt.wantRejected, tt.wantPutErrors)
		}
		if first := o.Next(0, 1); len(first) != 1 || first[0].Seq != all[tt.wantFirstIndex] {
			t.Errorf("%s: oldest = %v; want seq %d", tt.name, first, all[tt.wantFirstIndex])
		}
		files, _ := filepath.Glob(filepath.Join(tt.opt.Dir, "*.env"))
		if len(files) != tt.wantDepth {
			t.Errorf("%s: %d files on disk; want %d", tt.name, len(files), tt.wantDepth)
		}
		o.Close()
	}
	o := open(t, Options{Dir: t.TempDir(), MaxBytes: 5})
	defer o.Close()
	if err := o.Put(o.Reserve(), clk.t, []byte("123456")); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Put(6 bytes into 5) error %v; want ErrTooLarge", err)
	}
}

func TestExpire(t *testing.T) {
	clk := &clock{time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)}
	o := open(t, Options{Dir: t.TempDir(), MaxAge: time.Hour, Now: clk.Now})
	defer o.Close()
	put(t, o, clk.t.Add(-2*time.Hour), "old")
	put(t, o, clk.t.Add(-90*time.Minute), "old")
	keep := put(t, o, clk.t.Add(-30*time.Minute), "new")
	n, err := o.Expire()
	if n != 2 || err != nil {
		t.Errorf("Expire() = %d, %v; want 2, nil", n, err)
	}
	if st := o.Stats(); st.Expired != 2 || st.Depth != 1 || o.Next(0, 1)[0].Seq != keep {
		t.Errorf("Stats() after Expire = %+v", st)
	}
}

func TestExclusive(t *testing.T) {
	dir := t.TempDir()
	o := open(t, Options{Dir: dir})
	defer o.Close()
	if _, err := Open(Options{Dir: dir}); err == nil {
		t.Error("second Open of the same folder succeeded; want a lock error")
	}
}

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{"": DropOldest, "drop-oldest": DropOldest, "reject-new": RejectNew} {
		if got, err := ParsePolicy(in); got != want || err != nil {
			t.Errorf("ParsePolicy(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParsePolicy("drop-newest"); err == nil {
		t.Error("ParsePolicy(drop-newest) = nil error")
	}
}

// BenchmarkPutAck is the durable part of a read: store (fsync) and remove
// after the acknowledgement.
func BenchmarkPutAck(b *testing.B) {
	o := open(b, Options{Dir: b.TempDir()})
	defer o.Close()
	env := bytes.Repeat([]byte{0xa5}, 1667)
	for b.Loop() {
		s := o.Reserve()
		if err := o.Put(s, time.Now(), env); err != nil {
			b.Fatal(err)
		}
		if err := o.Ack(s); err != nil {
			b.Fatal(err)
		}
	}
}
