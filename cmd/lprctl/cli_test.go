package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionAndHelp(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		out, _, code := lprctl(t, args...)
		if code != 0 || !strings.HasPrefix(out, "lprctl "+version+" (go") {
			t.Errorf("lprctl %v = %d, %q; want 0 and the version", args, code, out)
		}
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"listen", "-h"}, {"keygen", "-help"}, {"status", "-h"}} {
		if _, _, code := lprctl(t, args...); code != 0 {
			t.Errorf("lprctl %v = %d; want 0", args, code)
		}
	}
	for _, args := range [][]string{{"version", "x"}, {"listen", "-nope"}, {"keygen", "-backend", "extra"}} {
		if _, _, code := lprctl(t, args...); code != 2 {
			t.Errorf("lprctl %v = %d; want 2", args, code)
		}
	}
}

func TestDefaultStatePath(t *testing.T) {
	t.Setenv("LPRCTL_STATE", "")
	os.Unsetenv("LPRCTL_STATE")
	base := t.TempDir()
	t.Setenv("STATE_DIRECTORY", "")
	t.Setenv("XDG_STATE_HOME", base)
	p, err := defaultStatePath("lprctl-listen-host/1")
	if want := filepath.Join(base, "lprctl", "listen-lprctl-listen-host_1.json"); err != nil || p != want {
		t.Errorf("defaultStatePath with XDG_STATE_HOME = %q, %v; want %q", p, err, want)
	}
	if fi, err := os.Stat(filepath.Join(base, "lprctl")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state folder: %v, %v; want mode 0700", err, fi.Mode().Perm())
	}
	sd := t.TempDir()
	t.Setenv("STATE_DIRECTORY", sd+":/elsewhere")
	if p, err := defaultStatePath("x"); err != nil || p != filepath.Join(sd, "listen-x.json") {
		t.Errorf("defaultStatePath with STATE_DIRECTORY = %q, %v", p, err)
	}
	t.Setenv("LPRCTL_STATE", "")
	if p, err := defaultStatePath("x"); err != nil || p != "" {
		t.Errorf("defaultStatePath with LPRCTL_STATE= = %q, %v; want \"\"", p, err)
	}
}
