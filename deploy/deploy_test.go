package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func unitSettings(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open("lprd.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("lprd.service: malformed line %q", line)
		}
		m[k] = append(m[k], v)
	}
	return m
}

// TestUnitHardening pins the settings the privacy model relies on.
func TestUnitHardening(t *testing.T) {
	s := unitSettings(t)
	for key, want := range map[string]string{
		"LimitCORE":             "0",
		"ProtectSystem":         "strict",
		"NoNewPrivileges":       "yes",
		"User":                  "lprd",
		"StateDirectory":        "lprd",
		"UMask":                 "0077",
		"DevicePolicy":          "closed",
		"PrivateTmp":            "yes",
		"ExecStart":             "/usr/local/bin/lprd run",
		"ExecStartPre":          "/usr/local/bin/lprd check",
		"EnvironmentFile":       "/etc/lprd/lprd.env",
		"KillSignal":            "SIGTERM",
		"CapabilityBoundingSet": "",
	} {
		if got := s[key]; len(got) != 1 || got[0] != want {
			t.Errorf("lprd.service: %s = %q; want %q", key, got, want)
		}
	}
	if got := s["ReadWritePaths"]; len(got) != 1 || got[0] != "/var/lib/lprd" {
		t.Errorf("lprd.service: ReadWritePaths = %q; want only the state folder", got)
	}
}

// TestUnitVerifies runs systemd-analyze verify on the unit, with a stand-in
// for the binary.
func TestUnitVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	dir := t.TempDir()
	unit, err := os.ReadFile("lprd.service")
	if err != nil {
		t.Fatal(err)
	}
	// verify insists that the binary exists: point the unit at a stand-in.
	stand := filepath.Join(dir, "lprd")
	if err := os.WriteFile(stand, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit = []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/lprd", stand))
	if err := os.WriteFile(filepath.Join(dir, "lprd.service"), unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", filepath.Join(dir, "lprd.service")).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
