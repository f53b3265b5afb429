//go:build !unix

package outbox

import "os"

// lockDir opens the lock file; other platforms get no exclusive lock.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}

// syncDir is a no-op where folders cannot be fsynced.
func syncDir(string) error { return nil }
