package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// maxExposure is the highest overall exposure the unit may have under
// `systemd-analyze security --offline=true` (Debian 12's systemd 252).
const maxExposure = 1.5

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
		"EnvironmentFile":       "/etc/lprd/lprd.env",
		"KillSignal":            "SIGTERM",
		"CapabilityBoundingSet": "",
		"Type":                  "notify",
		"NotifyAccess":          "main",
		"WatchdogSec":           "30s",
		"Restart":               "on-failure",
		"IPAddressDeny":         "any",
		"IPAddressAllow":        "localhost",
		"PrivateMounts":         "yes",
	} {
		if got := s[key]; len(got) != 1 || got[0] != want {
			t.Errorf("lprd.service: %s = %q; want %q", key, got, want)
		}
	}
	pre := []string{"/usr/local/bin/lprd check", "/usr/local/lib/lprd/keycheck /etc/lprd/lprd.env"}
	if got := s["ExecStartPre"]; strings.Join(got, "\n") != strings.Join(pre, "\n") {
		t.Errorf("lprd.service: ExecStartPre = %q; want %q", got, pre)
	}
	for _, key := range []string{"RestartSec", "TimeoutStartSec", "StartLimitIntervalSec", "StartLimitBurst"} {
		if len(s[key]) != 1 || s[key][0] == "" {
			t.Errorf("lprd.service: %s = %q; want one value", key, s[key])
		}
	}
	if got := s["ReadWritePaths"]; len(got) != 1 || got[0] != "/var/lib/lprd" {
		t.Errorf("lprd.service: ReadWritePaths = %q; want only the state folder", got)
	}
}

// systemdAnalyze returns the path of systemd-analyze, or skips the test.
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian: apt-get install systemd); unit not analyzed")
	}
	return sa
}

// standInUnit writes the unit to a temporary folder with its programs
// replaced by stand-ins, since verify insists that they exist.
func standInUnit(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	unit, err := os.ReadFile("lprd.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, prog := range []string{"/usr/local/bin/lprd", "/usr/local/lib/lprd/keycheck"} {
		stand := filepath.Join(dir, filepath.Base(prog))
		if err := os.WriteFile(stand, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		unit = []byte(strings.ReplaceAll(string(unit), prog, stand))
	}
	path := filepath.Join(dir, "lprd.service")
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestUnitVerifies runs systemd-analyze verify on the unit, with stand-ins
// for the programs.
func TestUnitVerifies(t *testing.T) {
	sa := systemdAnalyze(t)
	out, err := exec.Command(sa, "verify", standInUnit(t)).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

var overallRE = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

// TestUnitExposure keeps the offline security analysis at maxExposure or
// below.
func TestUnitExposure(t *testing.T) {
	sa := systemdAnalyze(t)
	out, err := exec.Command(sa, "security", "--offline=true", "--no-pager", standInUnit(t)).CombinedOutput()
	m := overallRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security --offline=true: %v; no overall exposure in\n%s", err, out)
	}
	got, perr := strconv.ParseFloat(string(m[1]), 64)
	if perr != nil {
		t.Fatal(perr)
	}
	if got > maxExposure {
		t.Errorf("systemd-analyze security --offline=true lprd.service: exposure %.1f; want <= %.1f\n%s", got, maxExposure, out)
	}
}
