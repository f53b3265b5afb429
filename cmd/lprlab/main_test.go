package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestLprlabMainProcess is not a test: lprlab runs the test binary as lprlab
// itself with LPRLAB_TEST_MAIN set, to see exit statuses and output as a user
// would.
func TestLprlabMainProcess(t *testing.T) {
	if os.Getenv("LPRLAB_TEST_MAIN") != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(dispatch(args))
}

// lprlab runs `lprlab args...` and returns its exit status, stdout and stderr.
func lprlab(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestLprlabMainProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "LPRLAB_TEST_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	default:
		t.Fatalf("lprlab %q: %v", args, err)
		return -1, "", ""
	}
}

func TestLprlabHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		rc, stdout, _ := lprlab(t, args...)
		if rc != 0 {
			t.Errorf("lprlab %q exits %d; want 0", args, rc)
		}
		for _, cmd := range []string{"eval", "bench", "record", "lanesim", "version", "help"} {
			if !regexp.MustCompile(`(?m)^  ` + cmd + `\b`).MatchString(stdout) {
				t.Errorf("lprlab %q does not list %s:\n%s", args, cmd, stdout)
			}
		}
	}
	if rc, _, stderr := lprlab(t); rc != 2 || !strings.Contains(stderr, "usage: lprlab") {
		t.Errorf("lprlab (no command) = %d, %q; want 2 and the usage", rc, stderr)
	}
}

func TestLprlabCommandHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in stdout for `help CMD`, in stderr for `CMD -h`
	}{
		{[]string{"help", "eval"}, "-dataset"},
		{[]string{"help", "bench"}, "-workers"},
		{[]string{"help", "record"}, "-" + recordOverrideFlag},
		{[]string{"help", "lanesim"}, "-vehicles"},
		{[]string{"help", "version"}, "usage: lprlab version"},
		{[]string{"eval", "-h"}, "-crops"},
		{[]string{"bench", "--help"}, "-clip"},
		{[]string{"record", "-h"}, "-duration"},
		{[]string{"lanesim", "-help"}, "-park"},
	} {
		rc, stdout, stderr := lprlab(t, tc.args...)
		out := stderr
		if tc.args[0] == "help" {
			out = stdout
		}
		if rc != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("lprlab %q = %d, stdout %q, stderr %q; want 0 and %q", tc.args, rc, stdout, stderr, tc.want)
		}
	}
}

func TestLprlabVersionAndUnknown(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		if rc, stdout, _ := lprlab(t, args...); rc != 0 || !strings.HasPrefix(stdout, "lprlab ") || !strings.Contains(stdout, "recognizer model ctc-") {
			t.Errorf("lprlab %q = %d, %q; want 0 and the versions", args, rc, stdout)
		}
	}
	for _, args := range [][]string{{"frobnicate"}, {"help", "frobnicate"}, {"version", "extra"}, {"bench", "-nope"}} {
		if rc, _, _ := lprlab(t, args...); rc != 2 {
			t.Errorf("lprlab %q = %d; want 2", args, rc)
		}
	}
}
