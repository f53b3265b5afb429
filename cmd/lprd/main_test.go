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

// TestLprdMainProcess is not a test: lprd runs the test binary as lprd itself
// with LPRD_TEST_MAIN set, to see exit statuses and output as a user would.
func TestLprdMainProcess(t *testing.T) {
	if os.Getenv("LPRD_TEST_MAIN") != "1" {
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

// lprd runs `lprd args...` and returns its exit status, stdout and stderr.
func lprd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestLprdMainProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "LPRD_TEST_MAIN=1")
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
		t.Fatalf("lprd %q: %v", args, err)
		return -1, "", ""
	}
}

var toolWords = regexp.MustCompile(`\b(eval|bench|record|lanesim)\b`)

func TestHelpListsTheDaemonCommandsOnly(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"-help"}} {
		rc, stdout, _ := lprd(t, args...)
		if rc != 0 {
			t.Errorf("lprd %q exits %d; want 0", args, rc)
		}
		for _, cmd := range []string{"run", "check", "version", "help"} {
			if !regexp.MustCompile(`(?m)^  ` + cmd + `\b`).MatchString(stdout) {
				t.Errorf("lprd %q does not list %s:\n%s", args, cmd, stdout)
			}
		}
		if w := toolWords.FindString(stdout); w != "" {
			t.Errorf("lprd %q mentions %q, a tool that belongs to lprlab:\n%s", args, w, stdout)
		}
	}
}

func TestCommandHelp(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		inStdout bool // the help goes to stdout (asked for with `help`) or stderr (-h)
		want     string
	}{
		{[]string{"help", "run"}, true, "-env"},
		{[]string{"help", "check"}, true, "usage: lprd check [ENVFILE]"},
		{[]string{"help", "version"}, true, "usage: lprd version"},
		{[]string{"run", "-h"}, false, "-env"},
		{[]string{"run", "--help"}, false, "-env"},
		{[]string{"run", "-env", "x.env", "-h"}, false, "-env"},
		{[]string{"check", "-h"}, false, "usage: lprd check"},
		{[]string{"version", "-h"}, false, "usage: lprd version"},
	} {
		rc, stdout, stderr := lprd(t, tc.args...)
		out := stderr
		if tc.inStdout {
			out = stdout
		}
		if rc != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("lprd %q = %d, stdout %q, stderr %q; want 0 and %q in %s", tc.args, rc, stdout, stderr, tc.want,
				map[bool]string{true: "stdout", false: "stderr"}[tc.inStdout])
		}
	}
}

func TestVersionFlag(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		rc, stdout, _ := lprd(t, args...)
		if rc != 0 || !strings.HasPrefix(stdout, "lprd ") || !strings.Contains(stdout, "recognizer model ctc-") {
			t.Errorf("lprd %q = %d, %q; want 0 and the versions", args, rc, stdout)
		}
	}
}

func TestUnknownCommands(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"help", "run", "check"}, "usage: lprd help"},
		{[]string{"eval", "-crops", "x"}, "lprlab eval"},
		{[]string{"bench"}, "lprlab bench"},
		{[]string{"record"}, "lprlab record"},
		{[]string{"run", "-nope"}, "flag provided but not defined"},
	} {
		rc, _, stderr := lprd(t, tc.args...)
		if rc != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("lprd %q = %d, stderr %q; want 2 and %q", tc.args, rc, stderr, tc.want)
		}
	}
}
