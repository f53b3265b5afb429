// The proof suite's bad-input rows: a crafted frame header, corrupt
// frames, and lprd check refusing what lprd run refuses.

package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// runFolder replays a folder of images once with lprd and returns its exit
// code, log, peak RSS (MiB) and final retained health. The rate is 5
// frames/s, not fast: a fast replay of a few files ends before lprd has
// connected, and it then publishes no health at all.
func (e *proveEnv) runFolder(device string, frames map[string][]byte) (code int, log string, rssMiB int64, h map[string]any, err error) {
	dir := filepath.Join(e.work, device)
	if err = writeFrames(filepath.Join(dir, "frames"), frames); err != nil {
		return
	}
	envFile := filepath.Join(dir, "lprd.env")
	err = e.lprdEnv(envFile, device, map[string]string{"LPRD_CAMERA": filepath.Join(dir, "frames"), "LPRD_REPLAY_RATE": "5"})
	if err != nil {
		return
	}
	logFile := filepath.Join(dir, "lprd.log")
	p, err := e.start(proveCmd{name: "lprd", dir: dir, log: logFile}, filepath.Join(e.bin, "lprd"), "run", "-env", envFile)
	if err != nil {
		return
	}
	code, ok := p.wait(2 * time.Minute)
	if !ok {
		p.stop(syscall.SIGKILL, 5*time.Second)
		return code, fileText(logFile), 0, nil, fmt.Errorf("lprd did not end within 2 minutes")
	}
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rssMiB = ru.Maxrss / 1024
	}
	h, err = e.health(device)
	return code, fileText(logFile), rssMiB, h, err
}

func healthCount(h map[string]any, key string) int {
	f, _ := h[key].(float64)
	return int(f)
}

// proveCraftedFrame: one JPEG whose frame header claims 65000x65000 among
// good ones used to abort lprd (an uncaught OpenCV exception).
func proveCraftedFrame(e *proveEnv) proveRow {
	crafted, err := craftedJPEG(65000, 65000)
	if err != nil {
		return failRow("%v", err)
	}
	frames := map[string][]byte{"a1.jpg": goodJPEG(640, 480, 0), "a2.jpg": goodJPEG(640, 480, 40),
		"b-crafted.jpg": crafted, "c1.jpg": goodJPEG(640, 480, 80), "c2.jpg": goodJPEG(640, 480, 120)}
	code, log, rss, h, err := e.runFolder("prove-crafted", frames)
	if err != nil {
		return failRow("exit %d: %v; log: %.300s", code, err, log)
	}
	corrupt := healthCount(h, "frames_corrupt")
	return proveRow{pass: code == 0 && corrupt >= 1, figure: fmt.Sprintf("exit %d, frames_corrupt %d, peak RSS %d MiB", code, corrupt, rss)}
}

// damagedFiles returns n damaged image files of different kinds.
func damagedFiles(n int) map[string][]byte {
	good := goodJPEG(320, 240, 7)
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(rand.IntN(256))
	}
	kinds := [][]byte{
		good[:len(good)/2],       // truncated: no end-of-image
		{0xFF, 0xD8, 0xFF, 0xE0}, // a start-of-image and nothing else
		[]byte("not an image at all\n"),
		{}, // empty
		garbage,
		good[:len(good)-300],                    // cut near the end
		[]byte("\x89PNG\r\n\x1a\n\x00\x00\x00"), // a PNG signature, then nothing
	}
	out := map[string][]byte{}
	for i := 0; i < n; i++ {
		out[fmt.Sprintf("d%02d.jpg", i)] = kinds[i%len(kinds)]
	}
	return out
}

// proveCorruptFrames: a folder with N damaged files among good ones; the
// health topic must count exactly N and the log must say so.
func proveCorruptFrames(e *proveEnv) proveRow {
	const n = 7
	frames := damagedFiles(n)
	frames["a1.jpg"], frames["z1.jpg"] = goodJPEG(640, 480, 0), goodJPEG(640, 480, 90)
	code, log, _, h, err := e.runFolder("prove-corrupt", frames)
	if err != nil {
		return failRow("exit %d: %v; log: %.300s", code, err, log)
	}
	corrupt := healthCount(h, "frames_corrupt")
	logged := strings.Count(log, "corrupt frame skipped")
	return proveRow{pass: code == 0 && corrupt == n && logged >= 1,
		figure: fmt.Sprintf("%d damaged files: frames_corrupt %d, %d \"corrupt frame skipped\" lines, exit %d", n, corrupt, logged, code)}
}

// proveCheckRun: lprd check and lprd run on the same bad env files: both
// refuse, and check names the key.
func proveCheckRun(e *proveEnv) proveRow {
	dir := filepath.Join(e.work, "check")
	frames := filepath.Join(dir, "frames")
	if err := writeFrames(frames, map[string][]byte{"a.jpg": goodJPEG(320, 240, 0)}); err != nil {
		return failRow("%v", err)
	}
	base := filepath.Join(dir, "base.env")
	keys := filepath.Join(dir, "keys")
	if err := e.lprdEnv(base, "prove-check", map[string]string{"keydir": keys, "LPRD_CAMERA": frames, "LPRD_REPLAY_RATE": "fast",
		"LPRD_STATE_DIR": filepath.Join(dir, "state")}); err != nil {
		return failRow("%v", err)
	}
	key := filepath.Join(keys, "prove-check.key")
	loose, garbage := filepath.Join(dir, "loose.key"), filepath.Join(dir, "garbage.key")
	if err := copyFiles(dir, key); err != nil {
		return failRow("%v", err)
	}
	os.Rename(filepath.Join(dir, "prove-check.key"), loose)
	os.Chmod(loose, 0o644)
	os.WriteFile(garbage, []byte("this is not a key\n"), 0o600)
	cases := []struct {
		name, key, value string
	}{
		{"us-zz", "LPRD_PLATE_REGIONS", "us-zz"},
		{"key 0644", "LPRD_SIGNING_KEY", loose},
		{"garbage key", "LPRD_SIGNING_KEY", garbage},
	}
	var figs []string
	pass := true
	if out, err := execOut(filepath.Join(e.bin, "lprd"), "check", base); err != nil {
		pass = false
		figs = append(figs, fmt.Sprintf("valid env refused: %v: %.200s", err, out))
	}
	for _, c := range cases {
		ok, fig := e.checkCase(dir, base, c.name, c.key, c.value)
		pass = pass && ok
		figs = append(figs, fig)
	}
	return proveRow{pass: pass, figure: strings.Join(figs, "; ")}
}

// checkCase writes base with key=value and runs check and run on it.
func (e *proveEnv) checkCase(dir, base, name, key, value string) (bool, string) {
	kv := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(fileText(base)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = v
		}
	}
	kv[key] = value
	envFile := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".env")
	if err := writeEnvFile(envFile, kv); err != nil {
		return false, name + ": " + err.Error()
	}
	checkOut, checkErr := execOut(filepath.Join(e.bin, "lprd"), "check", envFile)
	log := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".run.log")
	p, err := e.start(proveCmd{name: "lprd", dir: dir, log: log}, filepath.Join(e.bin, "lprd"), "run", "-env", envFile)
	if err != nil {
		return false, name + ": " + err.Error()
	}
	runCode, ok := p.wait(60 * time.Second)
	if !ok {
		p.stop(syscall.SIGKILL, 5*time.Second)
	}
	checkCode := 0
	if checkErr != nil {
		checkCode = -1
		if p, ok := checkErr.(interface{ ExitCode() int }); ok {
			checkCode = p.ExitCode()
		}
	}
	named := strings.Contains(string(checkOut), key)
	pass := checkCode != 0 && named && runCode != 0
	return pass, fmt.Sprintf("%s: check exit %d (names %s: %v), run exit %d", name, checkCode, key, named, runCode)
}
