// The proof suite's bad-input rows for configuration: malformed env files,
// bad key and certificate files, and brokers with an expired or foreign
// certificate. Each must be refused by lprd check and lprd run (or, for
// the broker, at connect) with a message that names the key or file.

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// refusal is what lprd check and lprd run did with one env file.
type refusal struct {
	checkCode, runCode int
	checkOut           string
}

// refuse runs lprd check and lprd run on envFile (as uid when > 0).
func (e *proveEnv) refuse(envFile string, uid int) refusal {
	dir := filepath.Dir(envFile)
	base := strings.TrimSuffix(filepath.Base(envFile), ".env")
	var r refusal
	checkLog := filepath.Join(dir, base+".check.log")
	os.Remove(checkLog)
	p, err := e.start(proveCmd{name: "lprd check", dir: dir, log: checkLog, uid: uid}, filepath.Join(e.bin, "lprd"), "check", envFile)
	if err != nil {
		return refusal{checkCode: -1, runCode: -1, checkOut: err.Error()}
	}
	r.checkCode, _ = p.wait(60 * time.Second)
	p.stop(syscall.SIGKILL, 5*time.Second)
	r.checkOut = fileText(checkLog)
	runLog := filepath.Join(dir, base+".run.log")
	p, err = e.start(proveCmd{name: "lprd", dir: dir, log: runLog, uid: uid}, filepath.Join(e.bin, "lprd"), "run", "-env", envFile)
	if err != nil {
		r.runCode = -1
		return r
	}
	var ok bool
	if r.runCode, ok = p.wait(60 * time.Second); !ok {
		p.stop(syscall.SIGKILL, 5*time.Second)
		r.runCode = 0 // still running: not refused
	}
	return r
}

// badEnvCase is one env file: its text (nil: the base with key=value) and
// what the message must name.
type badEnvCase struct {
	name, key, value string
	text             []byte
	mode             os.FileMode
	want             string // the message must contain it (default: the key)
	wantFile         bool   // the message must name the env file
	notWant          string // nor this (a wrong second problem)
}

// envText returns the base env file's lines with key=value set.
func envText(base, key, value string) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimSpace(fileText(base)), "\n") {
		if k, _, _ := strings.Cut(line, "="); k != key {
			b.WriteString(line + "\n")
		}
	}
	if key != "" {
		fmt.Fprintf(&b, "%s=%s\n", key, value)
	}
	return b.Bytes()
}

// runEnvCases writes each case next to base and checks its refusal.
func (e *proveEnv) runEnvCases(base string, cases []badEnvCase, uid int) (bool, []string) {
	pass := true
	var figs []string
	for _, c := range cases {
		text := c.text
		if text == nil {
			text = envText(base, c.key, c.value)
		}
		envFile := filepath.Join(filepath.Dir(base), strings.NewReplacer(" ", "-", "=", "eq").Replace(c.name)+".env")
		mode := c.mode
		if mode == 0 {
			mode = 0o600
		}
		if err := os.WriteFile(envFile, text, mode); err != nil || os.Chmod(envFile, mode) != nil {
			return false, append(figs, c.name+": "+fmt.Sprint(err))
		}
		if uid > 0 {
			os.Chown(envFile, uid, uid)
		}
		r := e.refuse(envFile, uid)
		want := c.want
		switch {
		case c.wantFile:
			want = envFile
		case want == "":
			want = c.key
		}
		named := strings.Contains(r.checkOut, want) && (c.notWant == "" || !strings.Contains(r.checkOut, c.notWant))
		ok := r.checkCode != 0 && r.runCode != 0 && named
		pass = pass && ok
		shown := want
		if c.wantFile {
			shown = "the file"
		}
		fig := fmt.Sprintf("%s: check %d run %d names %s %v", c.name, r.checkCode, r.runCode, shown, named)
		if !ok {
			fig += fmt.Sprintf(" (%.160q)", r.checkOut)
		}
		figs = append(figs, fig)
	}
	return pass, figs
}

// badEnvBase writes a valid env file (frames folder, keys in dir/keys).
func (e *proveEnv) badEnvBase(dir, device string) (string, error) {
	frames := filepath.Join(dir, "frames")
	if err := writeFrames(frames, map[string][]byte{"a.jpg": goodJPEG(320, 240, 0)}); err != nil {
		return "", err
	}
	base := filepath.Join(dir, "base.env")
	err := e.lprdEnv(base, device, map[string]string{"keydir": filepath.Join(dir, "keys"), "LPRD_CAMERA": frames, "LPRD_REPLAY_RATE": "fast",
		"LPRD_STATE_DIR": filepath.Join(dir, "state")})
	return base, err
}

// proveBadEnv: malformed env files are refused by check and run, and the
// message names the key (or the file, for a line that has no key).
func proveBadEnv(e *proveEnv) proveRow {
	dir := filepath.Join(e.work, "badenv")
	base, err := e.badEnvBase(dir, "prove-badenv")
	if err != nil {
		return failRow("%v", err)
	}
	if out, err := execOut(filepath.Join(e.bin, "lprd"), "check", base); err != nil {
		return failRow("the valid env file is refused: %v: %.200s", err, out)
	}
	good := fileText(base)
	cases := []badEnvCase{
		{name: "binary garbage", text: []byte(good + "\x00\x01\xfe\xff\x7fLPRD\x00=\x9c\n"), wantFile: true},
		{name: "line without =", text: []byte(good + "LPRD_LANE 2\n"), wantFile: true},
		{name: "duplicated key", text: []byte(good + "LPRD_SITE=other\n"), want: "LPRD_SITE"},
		{name: "huge duration", key: "LPRD_HEALTH_INTERVAL", value: "99999999999h"},
		{name: "huge integer", key: "LPRD_CAMERA_BUFFERS", value: "99999999999999999999"},
		{name: "huge size", key: "LPRD_OUTBOX_MAX_BYTES", value: "9999999999999999TiB"},
		{name: "negative integer", key: "LPRD_FRAME_QUEUE", value: "-4"},
		{name: "negative duration", key: "LPRD_OUTBOX_MAX_AGE", value: "-1h"},
		{name: "1 MiB value", key: "LPRD_SITE", value: strings.Repeat("a", 1<<20)},
		{name: "unknown key", key: "LPRD_SIGNNIG_KEY", value: "x"},
		{name: "env file mode 0666", text: []byte(good), mode: 0o666, wantFile: true},
	}
	pass, figs := e.runEnvCases(base, cases, -1)
	return proveRow{pass: pass, figure: strings.Join(figs, "; ")}
}
