package uplinktest

import (
	"os"
	"path/filepath"
	"sync"

	"github.com/lprd/lprd/uplink/outbox"
)

// FaultyFS is an outbox.FS that writes to the real file system until Fail
// is called, and then fails every write with the given error (e.g.
// syscall.ENOSPC or syscall.EROFS) until Fail(nil). It works for root,
// whom a chmod 0500 folder does not stop.
type FaultyFS struct {
	mu     sync.Mutex
	err    error
	Writes int // successful writes
	Fails  int // refused writes
}

var _ outbox.FS = &FaultyFS{}

// Fail makes every later write fail with err; nil makes them work again.
func (f *FaultyFS) Fail(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

// WriteFile fails with the set error or writes through outbox.OSFS.
func (f *FaultyFS) WriteFile(dir, name string, data []byte) error {
	f.mu.Lock()
	err := f.err
	if err != nil {
		f.Fails++
	}
	f.mu.Unlock()
	if err != nil {
		// What os.OpenFile returns, so that the outbox sees the errno
		// wrapped as it would come from the kernel.
		return &os.PathError{Op: "open", Path: filepath.Join(dir, ".tmp-"+name), Err: err}
	}
	if err := outbox.OSFS.WriteFile(dir, name, data); err != nil {
		return err
	}
	f.mu.Lock()
	f.Writes++
	f.mu.Unlock()
	return nil
}
