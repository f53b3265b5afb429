package outbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// failFS writes through OSFS until err is set.
type failFS struct {
	mu  sync.Mutex
	err error
}

func (f *failFS) set(err error) { f.mu.Lock(); f.err = err; f.mu.Unlock() }

func (f *failFS) WriteFile(dir, name string, data []byte) error {
	f.mu.Lock()
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return &os.PathError{Op: "open", Path: filepath.Join(dir, tmpPre+name), Err: err}
	}
	return OSFS.WriteFile(dir, name, data)
}

func envFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*"+envExt))
	return files
}

// Envelopes the folder cannot store are held in memory, in order with the
// stored ones, readable and ackable, and written once the folder works.
func TestStoreFailureHeldInMemory(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EROFS, syscall.EACCES, syscall.EIO} {
		t.Run(errno.Error(), func(t *testing.T) {
			dir := t.TempDir()
			clk := &clock{time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)}
			fs := &failFS{}
			o := open(t, Options{Dir: dir, Now: clk.Now, FS: fs})
			var all []uint64
			for i := 0; i < 2; i++ {
				all = append(all, put(t, o, clk.t, fmt.Sprint("disk", i)))
			}
			fs.set(errno)
			for i := 0; i < 3; i++ {
				seq := o.Reserve()
				err := o.Put(seq, clk.t, []byte(fmt.Sprint("mem", i)))
				var serr *StoreError
				if !errors.As(err, &serr) || !errors.Is(err, errno) || !errors.Is(err, ErrKeptInMemory) || errors.Is(err, ErrDropped) {
					t.Fatalf("Put(%d) with the folder failing = %v; want a StoreError wrapping %v and ErrKeptInMemory", seq, err, errno)
				}
				want := fmt.Sprintf("outbox %s: %s; read kept in memory (%d held)", dir, errno.Error(), i+1)
				if err.Error() != want {
					t.Errorf("Put error = %q; want %q", err, want)
				}
				all = append(all, seq)
			}
			st := o.Stats()
			if st.Depth != 5 || st.InMemory != 3 || st.StoreErrors == 0 || st.Dropped != 0 {
				t.Errorf("Stats() = %+v; want depth 5, 3 in memory, store errors, none dropped", st)
			}
			if got := seqs(o.Next(0, 10)); fmt.Sprint(got) != fmt.Sprint(all) {
				t.Errorf("Next(0, 10) = %v; want %v", got, all)
			}
			next := o.Next(all[1], 10)
			if !next[0].InMemory() {
				t.Errorf("entry %d: InMemory() = false", next[0].Seq)
			}
			if b, err := o.Read(next[0]); err != nil || string(b) != "mem0" {
				t.Errorf("Read(held) = %q, %v; want mem0", b, err)
			}
			if n := len(envFiles(t, dir)); n != 2 {
				t.Errorf("%d envelope files; want 2", n)
			}
			// One held envelope is acknowledged from memory.
			if err := o.Ack(all[2]); err != nil {
				t.Fatal(err)
			}
			// Retry backs off while the folder still fails.
			clk.t = clk.t.Add(2 * time.Second)
			if n, err := o.Retry(); n != 0 || !errors.Is(err, errno) {
				t.Errorf("Retry() while failing = %d, %v; want 0, %v", n, err, errno)
			}
			fs.set(nil)
			if n, err := o.Retry(); n != 0 || err != nil {
				t.Errorf("Retry() within the back-off = %d, %v; want 0, nil", n, err)
			}
			clk.t = clk.t.Add(3 * time.Second)
			if n, err := o.Retry(); n != 2 || err != nil {
				t.Errorf("Retry() after the folder works = %d, %v; want 2, nil", n, err)
			}
			if st := o.Stats(); st.InMemory != 0 || st.MemoryBytes != 0 || st.Depth != 4 {
				t.Errorf("Stats() after Retry = %+v; want 4 on disk", st)
			}
			if n := len(envFiles(t, dir)); n != 4 {
				t.Errorf("%d envelope files after Retry; want 4", n)
			}
			o.Close()
			o = open(t, Options{Dir: dir, Now: clk.Now})
			defer o.Close()
			want := []uint64{all[0], all[1], all[3], all[4]}
			if got := seqs(o.Next(0, 10)); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("after restart Next(0, 10) = %v; want %v", got, want)
			}
			if n := o.Reserve(); n != all[4]+1 {
				t.Errorf("Reserve() after a clean restart = %d; want %d", n, all[4]+1)
			}
		})
	}
}

// A Put while envelopes are held writes them first, in order, when the
// folder works again.
func TestPutFlushesHeldFirst(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)}
	fs := &failFS{}
	o := open(t, Options{Dir: dir, Now: clk.Now, FS: fs})
	defer o.Close()
	fs.set(syscall.ENOSPC)
	held := o.Reserve()
	if err := o.Put(held, clk.t, []byte("a")); !errors.Is(err, ErrKeptInMemory) {
		t.Fatalf("Put = %v", err)
	}
	fs.set(nil)
	last := put(t, o, clk.t, "b")
	if st := o.Stats(); st.InMemory != 0 || st.Depth != 2 || st.Stored != 2 {
		t.Errorf("Stats() = %+v; want both on disk", st)
	}
	if n := len(envFiles(t, dir)); n != 2 {
		t.Errorf("%d files; want 2", n)
	}
	// The marker logic still sees the highest number last.
	if err := o.Ack(held, last); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"+envExt+ackedExt))
	if len(files) != 1 || !strings.Contains(files[0], fmt.Sprintf("%020d", last)) {
		t.Errorf("markers %v; want one of %d", files, last)
	}
}

// A full memory queue drops by the policy, and counts it.
func TestMemoryQueueOverflow(t *testing.T) {
	for _, tc := range []struct {
		policy Policy
		kept   []string // payloads left, in order
	}{
		{DropOldest, []string{"m2", "m3"}},
		{RejectNew, []string{"m0", "m1"}},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			clk := &clock{time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)}
			fs := &failFS{}
			o := open(t, Options{Dir: t.TempDir(), Now: clk.Now, FS: fs, Policy: tc.policy, MemoryMaxCount: 2})
			defer o.Close()
			fs.set(syscall.EROFS)
			var dropped int
			for i := 0; i < 4; i++ {
				err := o.Put(o.Reserve(), clk.t, []byte(fmt.Sprint("m", i)))
				var serr *StoreError
				if !errors.As(err, &serr) {
					t.Fatalf("Put = %v; want a StoreError", err)
				}
				dropped += serr.Dropped
				if i >= 2 && !errors.Is(err, ErrDropped) {
					t.Errorf("Put #%d = %v; want ErrDropped", i, err)
				}
				if kept := tc.policy == DropOldest || i < 2; serr.Kept != kept {
					t.Errorf("Put #%d: Kept = %v; want %v", i, serr.Kept, kept)
				}
			}
			var got []string
			for _, e := range o.Next(0, 10) {
				b, _ := o.Read(e)
				got = append(got, string(b))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.kept) {
				t.Errorf("held %v; want %v", got, tc.kept)
			}
			if st := o.Stats(); st.Dropped != 2 || dropped != 2 || st.InMemory != 2 || st.Depth != 2 {
				t.Errorf("Stats() = %+v, errors said %d dropped; want 2 dropped, 2 held", st, dropped)
			}
		})
	}
}

// When neither the envelopes nor the counter file can be written and the
// process stops without a clean Close, the next Open never reuses a number
// that may have gone out from memory.
func TestCounterNotReusedAfterFailedStop(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)}
	fs := &failFS{}
	o := open(t, Options{Dir: dir, Now: clk.Now, FS: fs})
	put(t, o, clk.t, "stored")
	fs.set(syscall.ENOSPC)
	var last uint64
	for i := 0; i < 5; i++ {
		last = o.Reserve()
		o.Put(last, clk.t, []byte("held")) // sent from memory, say
	}
	if err := o.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Close() with the folder failing = %v; want ENOSPC and the loss said", err)
	} else if !strings.Contains(err.Error(), "5 reads held in memory are lost") {
		t.Errorf("Close() = %q; want the count of lost reads", err)
	}
	clk.t = clk.t.Add(time.Minute)
	o = open(t, Options{Dir: dir, Now: clk.Now})
	defer o.Close()
	if n := o.Reserve(); n <= last {
		t.Errorf("Reserve() after a stop with unwritable state = %d; want > %d", n, last)
	}
}

// The real file system: a folder made read-only mid-run (chmod 0500, which
// root ignores, so root uses a tmpfs remounted read-only) and a full tmpfs.
func TestRealFolderFullAndReadOnly(t *testing.T) {
	clk := &clock{time.Now()}
	t.Run("read-only", func(t *testing.T) {
		dir := t.TempDir()
		if os.Geteuid() == 0 {
			mountTmpfs(t, dir, "size=1m")
		}
		o := open(t, Options{Dir: dir, Now: clk.Now})
		defer o.Close()
		put(t, o, clk.t, "before")
		if os.Geteuid() == 0 {
			if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
				t.Fatalf("remount %s read-only: %v", dir, err)
			}
			defer syscall.Mount("", dir, "", syscall.MS_REMOUNT, "")
		} else {
			os.Chmod(dir, 0o500)
			defer os.Chmod(dir, 0o700)
		}
		want := syscall.EACCES
		if os.Geteuid() == 0 {
			want = syscall.EROFS
		}
		if err := o.Put(o.Reserve(), clk.t, []byte("during")); !errors.Is(err, want) || !errors.Is(err, ErrKeptInMemory) {
			t.Fatalf("Put on a read-only folder = %v; want %v, kept in memory", err, want)
		}
		if os.Geteuid() == 0 {
			if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT, ""); err != nil {
				t.Fatalf("remount %s read-write: %v", dir, err)
			}
		} else {
			os.Chmod(dir, 0o700)
		}
		clk.t = clk.t.Add(2 * time.Second)
		if n, err := o.Retry(); n != 1 || err != nil {
			t.Errorf("Retry() = %d, %v; want 1, nil", n, err)
		}
		if n := len(envFiles(t, dir)); n != 2 {
			t.Errorf("%d files; want 2", n)
		}
	})
	t.Run("full", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("a full tmpfs needs root")
		}
		dir := t.TempDir()
		mountTmpfs(t, dir, "size=64k")
		o := open(t, Options{Dir: dir, Now: clk.Now})
		defer o.Close()
		filler := filepath.Join(dir, "filler")
		fillUp(t, filler)
		big := make([]byte, 8<<10)
		var seqs []uint64
		for i := 0; i < 3; i++ {
			seq := o.Reserve()
			if err := o.Put(seq, clk.t, big); !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, ErrKeptInMemory) {
				t.Fatalf("Put on a full tmpfs = %v; want ENOSPC, kept in memory", err)
			}
			seqs = append(seqs, seq)
		}
		if st := o.Stats(); st.InMemory != 3 {
			t.Errorf("InMemory = %d; want 3", st.InMemory)
		}
		os.Remove(filler)
		clk.t = clk.t.Add(2 * time.Second)
		if n, err := o.Retry(); n != 3 || err != nil {
			t.Errorf("Retry() after freeing space = %d, %v; want 3, nil", n, err)
		}
		if n := len(envFiles(t, dir)); n != 3 {
			t.Errorf("%d files; want 3", n)
		}
	})
}

// mountTmpfs mounts a tmpfs on dir for the test, or skips it when mounting
// is not allowed (a container without CAP_SYS_ADMIN).
func mountTmpfs(t *testing.T, dir, opts string) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		t.Skipf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// fillUp writes path until the file system is full.
func fillUp(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			return
		}
	}
}
