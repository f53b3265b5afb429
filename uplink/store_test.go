package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/uplinktest"
)

func envFiles(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.env"))
	return files
}

// Reads the state folder cannot store are kept in memory, published from
// there, written to the folder once it works, and counted on health; an
// overflow of the memory queue is counted and logged once.
func TestSubmitKeepsReadsTheFolderCannotStore(t *testing.T) {
	checkGoroutines(t)
	k := newKeys(t, envelope.KEMX25519)
	fc := &uplinktest.FakeClient{HoldAcks: true}
	fs := &uplinktest.FaultyFS{}
	logs := &uplinktest.Buffer{}
	opt := fakeOptions(t, k, fc)
	opt.OutboxFS, opt.OutboxMemoryMaxCount = fs, 3
	opt.Logger = slog.New(slog.NewTextHandler(logs, nil))
	u, err := New(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	reads, _, _ := u.Topics()
	stop := run(t, u)
	now := time.Now()
	fs.Fail(syscall.ENOSPC)
	for i := 0; i < 3; i++ {
		if err := u.Submit(testEvent(i, now)); err != nil {
			t.Fatalf("Submit with the state folder full = %v; want nil (kept in memory)", err)
		}
	}
	waitFor(t, "3 reads published from memory", 5*time.Second, func() bool { return len(fc.Published(reads)) == 3 })
	h := u.Health()
	if h.ReadsInMemory != 3 || h.ReadsHeld != 3 || h.StoreErrors == 0 || h.ReadsDropped != 0 || h.OutboxDepth != 3 || h.ReadsSubmitted != 3 {
		t.Errorf("Health() = %+v; want 3 in memory, 3 held, store errors, depth 3", h)
	}
	if n := len(envFiles(opt.StateDir)); n != 0 {
		t.Errorf("%d envelope files with the folder failing; want 0", n)
	}
	want := fmt.Sprintf("outbox %s: no space left on device; read kept in memory (3 held)", filepath.Join(opt.StateDir, "outbox"))
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, logs)
	}

	// Two more overflow the memory queue of 3: the two oldest go, once logged.
	for i := 3; i < 5; i++ {
		if err := u.Submit(testEvent(i, now)); err != nil {
			t.Fatalf("Submit = %v; want nil (drop-oldest keeps the new read)", err)
		}
	}
	if h := u.Health(); h.ReadsDropped != 2 || h.ReadsInMemory != 3 || h.ReadsHeld != 5 {
		t.Errorf("Health() after overflow = %+v; want 2 dropped, 3 in memory, 5 held", h)
	}
	if n := strings.Count(logs.String(), "reads dropped"); n != 1 {
		t.Errorf("%d drop lines; want 1 per burst:\n%s", n, logs)
	}
	b, _ := json.Marshal(u.Health())
	var m map[string]any
	json.Unmarshal(b, &m)
	for key, want := range map[string]any{"reads_in_memory": 3.0, "reads_held": 5.0, "reads_dropped": 2.0, "reads_rejected": 0.0} {
		if m[key] != want {
			t.Errorf("health %s = %v; want %v (%s)", key, m[key], want, b)
		}
	}
	if m["outbox_store_errors"] == nil || m["outbox_store_errors"].(float64) == 0 {
		t.Errorf("health outbox_store_errors = %v; want > 0", m["outbox_store_errors"])
	}

	// The folder works again: the held reads reach the disk, then the broker.
	fs.Fail(nil)
	waitFor(t, "the held reads on disk", 5*time.Second, func() bool {
		return u.Health().ReadsInMemory == 0 && strings.Contains(logs.String(), "reads held in memory written to the outbox")
	})
	if n := len(envFiles(opt.StateDir)); n != 3 {
		t.Errorf("%d envelope files after the folder works; want 3", n)
	}
	if !strings.Contains(logs.String(), "outbox stores reads again") {
		t.Errorf("log lacks the recovery:\n%s", logs)
	}
	fc.SetHoldAcks(false)
	fc.Ack()
	waitFor(t, "3 acknowledged reads", 5*time.Second, func() bool { return u.Health().ReadsSent == 3 })
	if n := len(envFiles(opt.StateDir)); n != 0 {
		t.Errorf("%d envelope files after the acks; want 0", n)
	}
	stop()
	if strings.Contains(logs.String(), "PLT") {
		t.Errorf("plate text in the log:\n%s", logs)
	}
	for _, p := range fc.Published("") {
		if p.Topic != reads && testPlate.Match(p.Payload) {
			t.Errorf("plate text on %s", p.Topic)
		}
	}
}

// With reject-new, a full memory queue refuses the new read: Submit says so
// and health counts it as dropped.
func TestSubmitMemoryQueueRejectNew(t *testing.T) {
	k := newKeys(t, envelope.KEMX25519)
	fs := &uplinktest.FaultyFS{}
	opt := fakeOptions(t, k, &uplinktest.FakeClient{})
	opt.OutboxFS, opt.OutboxMemoryMaxCount, opt.OutboxPolicy = fs, 1, "reject-new"
	u, err := New(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	fs.Fail(syscall.EROFS)
	if err := u.Submit(testEvent(0, time.Now())); err != nil {
		t.Fatalf("first Submit = %v; want nil", err)
	}
	err = u.Submit(testEvent(1, time.Now()))
	if !errors.Is(err, syscall.EROFS) || strings.Contains(err.Error(), "PLT") {
		t.Errorf("second Submit = %v; want EROFS and the memory queue full, no plate", err)
	}
	if h := u.Health(); h.ReadsDropped != 1 || h.ReadsInMemory != 1 || h.ReadsSubmitted != 1 {
		t.Errorf("Health() = %+v; want 1 dropped, 1 in memory, 1 submitted", h)
	}
}

// mountTmpfs mounts a small tmpfs on dir for the test, or skips when it may
// not (not root, or a container without CAP_SYS_ADMIN).
func mountTmpfs(t *testing.T, dir, opts string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
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
