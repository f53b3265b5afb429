package main

import (
	"os"
	"os/exec"
	"testing"
)

// TestHarden runs harden in a child process (it cannot be undone) and checks
// that core dumps are off afterwards.
func TestHarden(t *testing.T) {
	if os.Getenv("LPRD_TEST_HARDEN_CHILD") == "1" {
		if err := harden(); err != nil {
			t.Fatal(err)
		}
		core, d, err := dumpable()
		if err != nil || core != 0 || d != 0 {
			t.Fatalf("after harden: RLIMIT_CORE=%d dumpable=%d err=%v", core, d, err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHarden$")
	cmd.Env = append(os.Environ(), "LPRD_TEST_HARDEN_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
