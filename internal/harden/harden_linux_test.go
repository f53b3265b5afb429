package harden

import (
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

// TestApply runs Apply in a child process (it cannot be undone), after
// raising the child's core limit as a debugging shell would, and checks that
// core dumps are off afterwards.
func TestApply(t *testing.T) {
	if os.Getenv("LPRD_TEST_HARDEN_CHILD") == "1" {
		var rl unix.Rlimit
		unix.Getrlimit(unix.RLIMIT_CORE, &rl)
		rl.Cur = rl.Max
		unix.Setrlimit(unix.RLIMIT_CORE, &rl)
		if err := Apply(); err != nil {
			t.Fatal(err)
		}
		core, d, err := Check()
		if err != nil || core != 0 || d != 0 {
			t.Fatalf("after Apply: RLIMIT_CORE=%d dumpable=%d err=%v; want 0 0 nil", core, d, err)
		}
		if err := unix.Getrlimit(unix.RLIMIT_CORE, &rl); err != nil || rl.Max != 0 {
			t.Fatalf("after Apply: RLIMIT_CORE hard limit %d (%v); want 0", rl.Max, err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestApply$", "-test.v")
	cmd.Env = append(os.Environ(), "LPRD_TEST_HARDEN_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}
