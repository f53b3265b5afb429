package outbox

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestConfirmationStates follows envelopes through the two states across a
// restart: MarkSent hides them from Next and survives Close/Open, Due makes
// the late ones wait for the broker again (with a doubling timeout), Refuse
// keeps them unpublished, Confirm removes them.
func TestConfirmationStates(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)}
	o := open(t, Options{Dir: dir, Now: clk.Now})
	var s []uint64
	for i := 0; i < 4; i++ {
		s = append(s, put(t, o, clk.t, fmt.Sprint("env", i)))
	}
	if err := o.MarkSent(clk.t, s[0], s[1], s[2]); err != nil {
		t.Fatal(err)
	}
	if got := seqs(o.Next(0, 10)); !reflect.DeepEqual(got, s[3:]) {
		t.Fatalf("Next after MarkSent = %v, want %v", got, s[3:])
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	o = open(t, Options{Dir: dir, Now: clk.Now})
	defer o.Close()
	st := o.Stats()
	if st.AwaitingBackend != 3 || st.AwaitingBroker != 1 || !st.OldestAwaiting.Equal(clk.t) {
		t.Fatalf("after reopen: %+v; want 3 awaiting the backend, 1 the broker", st)
	}
	if b, err := o.Read(Entry{Seq: s[1]}); err != nil || string(b) != "env1" {
		t.Fatalf("Read of a sent envelope = %q, %v", b, err)
	}
	if n, err := o.Confirm([]Range{{s[0], s[0]}, {s[3] + 10, s[3] + 1<<40}}); n != 1 || err != nil {
		t.Fatalf("Confirm = %d, %v; want 1", n, err)
	}
	if n := o.Refuse([]Range{{s[2], s[2]}}); n != 1 {
		t.Fatalf("Refuse = %d", n)
	}
	clk.t = clk.t.Add(59 * time.Second)
	if due := o.Due(time.Minute); len(due) != 0 {
		t.Fatalf("Due before the timeout: %v", seqs(due))
	}
	clk.t = clk.t.Add(time.Second)
	if due := seqs(o.Due(time.Minute)); !reflect.DeepEqual(due, []uint64{s[1]}) {
		t.Fatalf("Due = %v, want [%d] (the refused one stays)", due, s[1])
	}
	if got := seqs(o.Next(0, 10)); !reflect.DeepEqual(got, []uint64{s[1], s[3]}) {
		t.Fatalf("Next after Due = %v", got)
	}
	o.MarkSent(clk.t, s[1])
	clk.t = clk.t.Add(time.Minute)
	if due := o.Due(time.Minute); len(due) != 0 {
		t.Fatal("the second republication did not wait twice the timeout")
	}
	clk.t = clk.t.Add(time.Minute)
	if due := seqs(o.Due(time.Minute)); len(due) != 1 {
		t.Fatalf("Due after twice the timeout = %v", due)
	}
	st = o.Stats()
	if st.Confirmed != 1 || st.Refused != 1 || st.Republished != 2 || st.Depth != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestConfirmedNewestKeepsCounter: confirming the newest envelope while it
// is a .sent file leaves the counter marker, so numbers never repeat.
func TestConfirmedNewestKeepsCounter(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)}
	o := open(t, Options{Dir: dir, Now: clk.Now})
	a := put(t, o, clk.t, "a")
	o.MarkSent(clk.t, a)
	if _, err := o.Confirm([]Range{{a, a}}); err != nil {
		t.Fatal(err)
	}
	names, _ := os.ReadDir(dir)
	var files []string
	for _, n := range names {
		files = append(files, n.Name())
	}
	if !strings.Contains(strings.Join(files, " "), ".env.acked") {
		t.Errorf("no marker after confirming the newest envelope: %v", files)
	}
	// Simulate a crash: the counter file still says running.
	o.lock.Close()
	o = open(t, Options{Dir: dir, Now: clk.Now})
	defer o.Close()
	if b := o.Reserve(); b <= a {
		t.Errorf("Reserve after confirm and crash = %d, not above %d", b, a)
	}
}

// TestLimitsCoverBothStates: envelopes waiting for the backend count towards
// the limits, and drop-oldest evicts them like the others.
func TestLimitsCoverBothStates(t *testing.T) {
	clk := &clock{time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)}
	o := open(t, Options{Dir: t.TempDir(), Now: clk.Now, MaxCount: 3})
	defer o.Close()
	a := put(t, o, clk.t, "a")
	b := put(t, o, clk.t, "b")
	o.MarkSent(clk.t, a, b)
	put(t, o, clk.t, "c")
	put(t, o, clk.t, "d")
	st := o.Stats()
	if st.Evicted != 1 || st.Depth != 3 || st.AwaitingBackend != 1 {
		t.Errorf("stats %+v; want the oldest (sent) one evicted", st)
	}
}

// TestBackendAwayAnHour: at 30 reads a minute with the default limits and a
// 5-minute confirmation timeout, an hour without the backend keeps all 1800
// reads (nothing expired or evicted), each published at most 4 times (5, 15 and 35 minutes after its first PUBACK).
func TestBackendAwayAnHour(t *testing.T) {
	clk := &clock{time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)}
	o := open(t, Options{Dir: t.TempDir(), Now: clk.Now})
	defer o.Close()
	env := bytes.Repeat([]byte{1}, 1700) // a post-quantum envelope is about that size
	publishes := 0
	for i := 0; i < 1800; i++ {
		seq := o.Reserve()
		if err := o.Put(seq, clk.t, env); err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(2 * time.Second)
		o.Due(5 * time.Minute)
		for _, e := range o.Next(0, 1<<20) {
			o.MarkSent(clk.t, e.Seq)
			publishes++
		}
	}
	st := o.Stats()
	if st.Depth != 1800 || st.AwaitingBackend != 1800 || st.Expired+st.Evicted+st.Rejected != 0 {
		t.Fatalf("after an hour: %+v", st)
	}
	if publishes > 1800*4 || uint64(publishes) != 1800+st.Republished {
		t.Errorf("%d publishes for 1800 reads", publishes)
	}
	t.Logf("1800 reads, %d bytes, %d publishes (%d republications)", st.Bytes, publishes, st.Republished)
	if _, err := os.Stat(filepath.Join(o.dir, "seq")); err != nil {
		t.Fatal(err)
	}
}
