// Package atomicfile replaces a file's contents so that a reader, or the next
// start after a power loss, sees either the old contents or the new, never a
// torn write: a temporary file in the same folder, written and synced, renamed
// over the target, and the folder synced.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data (mode 0600). On an error the target is left as
// it was and the temporary file is removed.
func Write(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
