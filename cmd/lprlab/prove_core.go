// The proof suite's core-dump rows: lprd and lprctl listen started as a
// debugging shell would (GOTRACEBACK=crash, core limit raised), checked from
// outside, then sent SIGABRT.

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// coreShell raises the core limit before the process starts.
const coreShell = `ulimit -c unlimited 2>/dev/null || ulimit -c "$(ulimit -H -c)"`

// unprivUID is the user the core rows run as: nobody when the suite runs as
// root, since only then does a process's /proc owner show that it is not
// dumpable (a process of root has root's /proc files anyway).
func unprivUID() int {
	if os.Geteuid() == 0 {
		return 65534
	}
	return -1
}

func runsAs(uid int) int {
	if uid < 0 {
		return os.Geteuid()
	}
	return uid
}

// chownTree gives dir to uid (when set).
func chownTree(dir string, uid int) error {
	if uid < 0 {
		return nil
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, uid)
	})
}

// copyFiles copies each file into dir, keeping its name, mode 0600.
func copyFiles(dir string, files ...string) error {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// coreResult is what a SIGABRT run shows.
type coreResult struct {
	limits, owner string
	ok            bool
	figure        string
}

// abortAndCheck checks p's core limit and /proc owner, sends SIGABRT and
// looks for a core: in the wait status and as core* files in cwd.
func abortAndCheck(p *proveProc, cwd, log string, uid int) coreResult {
	pid := p.cmd.Process.Pid
	limits := coreLimit(pid)
	var st syscall.Stat_t
	owner := "?"
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/status", pid), &st); err == nil {
		owner = fmt.Sprint(st.Uid)
	}
	ownerOK := owner == "0" // a process that is not dumpable has its /proc files owned by root
	p.cmd.Process.Signal(syscall.SIGABRT)
	p.wait(30 * time.Second)
	p.stop(syscall.SIGKILL, 5*time.Second)
	ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	cores, _ := filepath.Glob(filepath.Join(cwd, "core*"))
	crashed := strings.Contains(fileText(log), "SIGABRT")
	ok := limits == "0 0" && ownerOK && ws.Signaled() && !ws.CoreDump() && len(cores) == 0 && crashed
	return coreResult{limits: limits, owner: owner, ok: ok, figure: fmt.Sprintf(
		"core limit %q; /proc owner uid %s (runs as %d); SIGABRT: signaled %v, traceback %v, core dumped %v, core files %d",
		limits, owner, runsAs(uid), ws.Signaled(), crashed, ws.CoreDump(), len(cores))}
}

// coreLimit returns the soft and hard "Max core file size" of pid.
func coreLimit(pid int) string {
	for _, line := range strings.Split(fileText(fmt.Sprintf("/proc/%d/limits", pid)), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max core file size"); ok {
			if f := strings.Fields(rest); len(f) >= 2 {
				return f[0] + " " + f[1]
			}
		}
	}
	return "?"
}

// controlCore shows that the harness would see a core: a plain process
// under the same limit and signal dumps one.
func controlCore(dir string) string {
	os.MkdirAll(dir, 0o755)
	cmd := exec.Command("/bin/sh", "-c", coreShell+"; exec sleep 60")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		return "control: " + err.Error()
	}
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGABRT)
	err := cmd.Wait()
	var ee *exec.ExitError
	dumped := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).CoreDump()
	os.RemoveAll(dir)
	return fmt.Sprintf("control (sleep): core dumped %v", dumped)
}

// proveCoreLprd starts lprd replaying a folder in a loop, as nobody when
// the suite is root, with GOTRACEBACK=crash and a raised core limit.
func proveCoreLprd(e *proveEnv) proveRow {
	uid := unprivUID()
	dir := filepath.Join(e.work, "core-lprd")
	for _, d := range []string{"keys", "cwd", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return failRow("%v", err)
		}
	}
	keys := filepath.Join(dir, "keys")
	if err := copyFiles(keys, e.pki.CA, e.pki.ClientCert, e.pki.ClientKey, e.backendPub); err != nil {
		return failRow("%v", err)
	}
	frames := filepath.Join(dir, "frames")
	if err := writeFrames(frames, map[string][]byte{"a.jpg": goodJPEG(640, 480, 0), "b.jpg": goodJPEG(640, 480, 60)}); err != nil {
		return failRow("%v", err)
	}
	envFile := filepath.Join(dir, "lprd.env")
	err := e.lprdEnv(envFile, "prove-core", map[string]string{"keydir": keys,
		"LPRD_CAMERA": frames, "LPRD_REPLAY_RATE": "2", "LPRD_REPLAY_LOOP": "true", "LPRD_EXIT_AT_END": "false",
		"LPRD_STATE_DIR": filepath.Join(dir, "state"), "LPRD_MQTT_CA": filepath.Join(keys, "ca.pem"),
		"LPRD_MQTT_CERT": filepath.Join(keys, "client.pem"), "LPRD_MQTT_KEY": filepath.Join(keys, "client.key"),
		"LPRD_BACKEND_KEY": filepath.Join(keys, "backend.pub")})
	if err != nil {
		return failRow("%v", err)
	}
	if err := chownTree(dir, uid); err != nil {
		return failRow("%v", err)
	}
	log := filepath.Join(e.work, "core-lprd.log")
	p, err := e.start(proveCmd{name: "lprd", dir: filepath.Join(dir, "cwd"), log: log, env: []string{"GOTRACEBACK=crash"}, uid: uid, shell: coreShell},
		filepath.Join(e.bin, "lprd"), "run", "-env", envFile)
	if err != nil {
		return failRow("%v", err)
	}
	if !waitFor(60*time.Second, func() bool { return strings.Contains(fileText(log), "MQTT connected") || p.exited() }) || p.exited() {
		p.stop(syscall.SIGKILL, 5*time.Second)
		return failRow("lprd did not start: %.300s", fileText(log))
	}
	r := abortAndCheck(p, filepath.Join(dir, "cwd"), log, uid)
	return proveRow{pass: r.ok, figure: r.figure + "; " + controlCore(filepath.Join(e.work, "core-control"))}
}

// proveCoreListen does the same for lprctl listen, which holds the
// backend's private key and the decrypted reads.
func proveCoreListen(e *proveEnv) proveRow {
	uid := unprivUID()
	dir := filepath.Join(e.work, "core-listen")
	for _, d := range []string{"keys", "cwd", "devices"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return failRow("%v", err)
		}
	}
	keys := filepath.Join(dir, "keys")
	if err := copyFiles(keys, e.pki.CA, e.pki.ClientCert, e.pki.ClientKey, e.backendKey); err != nil {
		return failRow("%v", err)
	}
	pubs, _ := filepath.Glob(filepath.Join(e.devices, "*.pub"))
	if err := copyFiles(filepath.Join(dir, "devices"), pubs...); err != nil {
		return failRow("%v", err)
	}
	if err := chownTree(dir, uid); err != nil {
		return failRow("%v", err)
	}
	log := filepath.Join(e.work, "core-listen.log")
	p, err := e.start(proveCmd{name: "lprctl listen", dir: filepath.Join(dir, "cwd"), log: log, env: []string{"GOTRACEBACK=crash"}, uid: uid, shell: coreShell},
		filepath.Join(e.bin, "lprctl"), "listen", "-broker", e.broker.URL(),
		"-ca", filepath.Join(keys, "ca.pem"), "-cert", filepath.Join(keys, "client.pem"), "-key", filepath.Join(keys, "client.key"),
		"-backend-key", filepath.Join(keys, "backend.key"), "-devices", filepath.Join(dir, "devices"),
		"-client-id", "prove-core-listen", "-state", filepath.Join(dir, "listen.state"))
	if err != nil {
		return failRow("%v", err)
	}
	if !waitFor(60*time.Second, func() bool { return strings.Contains(fileText(log), "subscribed to") || p.exited() }) || p.exited() {
		p.stop(syscall.SIGKILL, 5*time.Second)
		return failRow("lprctl listen did not start: %.300s", fileText(log))
	}
	r := abortAndCheck(p, filepath.Join(dir, "cwd"), log, uid)
	return proveRow{pass: r.ok, figure: r.figure}
}
