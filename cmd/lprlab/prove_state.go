// The proof suite's state folder rows: lprd's state folder on a small tmpfs
// that is filled up, or remounted read-only, in the middle of a stream.

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// stateFault is how a row breaks the state folder at mnt and mends it.
type stateFault struct {
	name        string
	spoil, mend func(mnt string) error
}

// fillFolder writes a filler file into dir until the file system is full.
func fillFolder(dir string) error {
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		return err
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return fmt.Errorf("fill %s: %w", dir, err)
		}
	}
}

func remount(mode string) func(string) error {
	return func(mnt string) error {
		if out, err := exec.Command("mount", "-o", "remount,"+mode, mnt).CombinedOutput(); err != nil {
			return fmt.Errorf("mount -o remount,%s %s: %v: %s", mode, mnt, err, out)
		}
		return nil
	}
}

var (
	stateFull = stateFault{"full",
		fillFolder,
		func(mnt string) error { return os.Remove(filepath.Join(mnt, "filler")) }}
	stateReadOnly = stateFault{"read-only", remount("ro"), remount("rw")}
)

// mountTmpfs mounts a tmpfs of size at dir (unmounted by unmountAll at
// the end); an error says why it cannot (not root, no CAP_SYS_ADMIN in a
// container).
func (e *proveEnv) mountTmpfs(dir, size string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("not root: mounting a tmpfs needs root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("mount -t tmpfs: %v: %s", err, strings.TrimSpace(string(out)))
	}
	e.mu.Lock()
	e.mounts = append(e.mounts, dir)
	e.mu.Unlock()
	return nil
}

// unmountAll unmounts what mountTmpfs mounted (lazily: a process still
// using it does not keep it).
func (e *proveEnv) unmountAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.mounts {
		exec.Command("umount", "-l", m).Run()
	}
	e.mounts = nil
}

// healthPeak follows a device's health while a fault lasts.
type healthPeak struct {
	storeErrors, held, inMemory, dropped int
}

func (h *healthPeak) add(m map[string]any) {
	h.storeErrors = max(h.storeErrors, healthCount(m, "outbox_store_errors"))
	h.held = max(h.held, healthCount(m, "reads_held"))
	h.inMemory = max(h.inMemory, healthCount(m, "reads_in_memory"))
	h.dropped = max(h.dropped, healthCount(m, "reads_dropped"))
}

// proveStateFault runs lprd over the clip in a loop with its state folder
// on a 256 KiB tmpfs, breaks the folder for 25 s and mends it: health shows
// the failed writes and the reads held in memory, the log names the folder,
// reads go on being stored during the fault, and none is lost.
func proveStateFault(e *proveEnv, f stateFault) proveRow {
	device := "prove-state-" + f.name
	mnt := filepath.Join(e.work, device+"-mnt")
	if err := e.mountTmpfs(mnt, "256k"); err != nil {
		return skipRow("no tmpfs for the state folder (%v); the behaviour is Go-tested in uplink/outbox (TestStoreFailureHeldInMemory, TestRealFolderFullAndReadOnly)", err)
	}
	s, err := e.startStreamWith(device, true, map[string]string{"LPRD_REPLAY_RATE": "recorded", "LPRD_STATE_DIR": mnt})
	if err != nil {
		return failRow("%v", err)
	}
	defer s.stop()
	time.Sleep(4 * time.Second)
	before := len(storedEvents(fileText(s.log)))
	if err := f.spoil(mnt); err != nil {
		return failRow("%v", err)
	}
	var peak healthPeak
	for end := time.Now().Add(25 * time.Second); time.Now().Before(end); {
		if h, err := e.health(device); err == nil {
			peak.add(h)
		}
		time.Sleep(time.Second)
	}
	during := len(storedEvents(fileText(s.log))) - before
	if err := f.mend(mnt); err != nil {
		return failRow("%v", err)
	}
	mended := time.Now()
	var after map[string]any
	waitFor(60*time.Second, func() bool {
		after, _ = e.health(device)
		return after != nil && healthCount(after, "reads_in_memory") == 0 && strings.Contains(fileText(s.log), "outbox stores reads again")
	})
	recovered := time.Since(mended)
	time.Sleep(5 * time.Second)
	code, dl := s.finish()
	log := fileText(s.log)
	named := strings.Count(log, "level=ERROR") > 0 && strings.Contains(log, mnt)
	again := strings.Contains(log, "outbox stores reads again")
	pass := dl.lost == 0 && dl.duplicates == 0 && during > 0 && peak.storeErrors > 0 && peak.held > 0 && peak.dropped == 0 &&
		named && again && healthCount(after, "reads_in_memory") == 0
	return proveRow{pass: pass, figure: fmt.Sprintf("%s; %d reads stored during 25 s %s; health: outbox_store_errors %d, reads_held %d, reads_in_memory peak %d -> %d, reads_dropped %d; "+
		"log names the folder %v, \"stores reads again\" %v after %s; exit %d",
		dl, during, f.name, peak.storeErrors, peak.held, peak.inMemory, healthCount(after, "reads_in_memory"), peak.dropped, named, again, recDur(recovered), code)}
}
