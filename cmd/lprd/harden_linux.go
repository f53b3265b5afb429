package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// harden keeps frames and plate text out of core dumps and out of reach of
// ptrace by other processes of the same user: RLIMIT_CORE=0 and
// PR_SET_DUMPABLE=0 (the systemd unit sets LimitCORE=0 as well).
func harden() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("setrlimit RLIMIT_CORE=0: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl PR_SET_DUMPABLE=0: %w", err)
	}
	return nil
}

// dumpable reports the process's core-dump settings, for tests.
func dumpable() (coreLimit uint64, dumpableFlag int, err error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &rl); err != nil {
		return 0, 0, err
	}
	d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	return rl.Cur, d, err
}
