package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lprctl listen, started as a debugging shell would (GOTRACEBACK=crash, core
// limit raised), holds no core limit, is not dumpable, and leaves no core
// file on SIGABRT. Checked from outside, on the process itself.
func TestListenNotDumpable(t *testing.T) {
	s := newBackendSetup(t, "cam1")
	// A "broker" that accepts and never answers keeps listen waiting in
	// connect, after the keys are loaded.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", `ulimit -c unlimited 2>/dev/null || ulimit -c "$(ulimit -H -c)"; exec "$0" "$@"`,
		os.Args[0], "listen", "-broker", "tcp://"+ln.Addr().String(), "-allow-plaintext",
		"-backend-key", s.backendKey, "-devices", s.devices, "-state", "")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LPRCTL_TEST_MAIN=1", "GOTRACEBACK=crash")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	select {
	case c := <-accepted:
		defer c.Close()
	case <-time.After(10 * time.Second):
		t.Fatalf("listen did not connect; stderr:\n%s", stderr.String())
	}
	pid := cmd.Process.Pid

	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	var coreLine string
	for sc := bufio.NewScanner(strings.NewReader(string(limits))); sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "Max core file size") {
			coreLine = sc.Text()
		}
	}
	if f := strings.Fields(strings.TrimPrefix(coreLine, "Max core file size")); len(f) < 2 || f[0] != "0" || f[1] != "0" {
		t.Errorf("listen's /proc/%d/limits: %q; want soft and hard limits 0", pid, coreLine)
	}
	// A process that is not dumpable has its /proc files owned by root;
	// this shows only when the test does not run as root.
	if os.Geteuid() != 0 {
		var st syscall.Stat_t
		if err := syscall.Stat(fmt.Sprintf("/proc/%d/status", pid), &st); err != nil || st.Uid != 0 {
			t.Errorf("/proc/%d/status owned by uid %d (%v); want 0 (not dumpable)", pid, st.Uid, err)
		}
	}

	cmd.Process.Signal(syscall.SIGABRT)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("listen after SIGABRT: %v; want it killed", err)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if ws.CoreDump() {
		t.Errorf("listen dumped core on SIGABRT (%v)", err)
	}
	cores, _ := filepath.Glob(filepath.Join(dir, "core*"))
	if len(cores) > 0 {
		t.Errorf("core files after SIGABRT: %v", cores)
	}
	pattern, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	t.Logf("listen after SIGABRT: %v, core dumped %v; core_pattern %q; limits %q", err, ws.CoreDump(), strings.TrimSpace(string(pattern)), coreLine)
	if !strings.Contains(stderr.String(), "SIGABRT") {
		t.Errorf("listen's stderr does not show the crash (GOTRACEBACK=crash):\n%.2000s", stderr.String())
	}
}
