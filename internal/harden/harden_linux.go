package harden

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Apply sets RLIMIT_CORE=0 and PR_SET_DUMPABLE=0. It cannot be undone.
func Apply() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("harden: setrlimit RLIMIT_CORE=0: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("harden: prctl PR_SET_DUMPABLE=0: %w", err)
	}
	return nil
}

// Check reports the calling process's settings: the soft core-file limit and
// the dumpable flag (0 once Apply ran).
func Check() (coreLimit uint64, dumpable int, err error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &rl); err != nil {
		return 0, 0, fmt.Errorf("harden: getrlimit RLIMIT_CORE: %w", err)
	}
	d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("harden: prctl PR_GET_DUMPABLE: %w", err)
	}
	return rl.Cur, d, nil
}
