// The proof suite's bad key and certificate rows: wrong, unreadable and
// loose key files, a wrong backend key, and brokers whose certificate has
// expired or comes from another CA.

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// proveBadKeys: key and certificate files that are missing, a folder,
// unreadable, readable by others, garbage or of the wrong kind are refused
// by check and run, naming the key.
func proveBadKeys(e *proveEnv) proveRow {
	dir := filepath.Join(e.work, "badkeys")
	base, err := e.badEnvBase(dir, "prove-badkeys")
	if err != nil {
		return failRow("%v", err)
	}
	keys := filepath.Join(dir, "keys")
	write := func(name string, b []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, mode)
		os.Chmod(p, mode)
		return p
	}
	looseTLS := write("client-0644.key", []byte(fileText(e.pki.ClientKey)), 0o644)
	garbage := write("garbage.pem", []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), 0o600)
	x25519 := filepath.Join(dir, "x25519")
	if out, err := execOut(filepath.Join(e.bin, "lprctl"), "keygen", "-backend", "-kem", "x25519", "-out", x25519); err != nil {
		return failRow("lprctl keygen -kem x25519: %v: %s", err, out)
	}
	cases := []badEnvCase{
		{name: "signing key missing", key: "LPRD_SIGNING_KEY", value: filepath.Join(dir, "no-such.key")},
		{name: "signing key a folder", key: "LPRD_SIGNING_KEY", value: keys},
		{name: "signing key relative", key: "LPRD_SIGNING_KEY", value: "keys/prove-badkeys.key", notWant: "required, not set"},
		{name: "TLS key 0644", key: "LPRD_MQTT_KEY", value: looseTLS},
		{name: "client cert garbage", key: "LPRD_MQTT_CERT", value: garbage},
		{name: "CA missing", key: "LPRD_MQTT_CA", value: filepath.Join(dir, "no-such-ca.pem")},
		{name: "backend key is the private key", key: "LPRD_BACKEND_KEY", value: e.backendKey},
		{name: "backend key is a device key", key: "LPRD_BACKEND_KEY", value: filepath.Join(keys, "prove-badkeys.pub")},
		{name: "backend key X25519 for ML-KEM suite", key: "LPRD_BACKEND_KEY", value: filepath.Join(x25519, "backend.pub")},
	}
	pass, figs := e.runEnvCases(base, cases, -1)
	ok, fig := e.unreadableKey(base)
	return proveRow{pass: pass && ok, figure: strings.Join(append(figs, fig), "; ")}
}

// unreadableKey checks a signing key the daemon's user cannot read: as
// nobody (when the suite is root, which reads every file) with every other
// file readable, the key owned by root with mode 0600.
func (e *proveEnv) unreadableKey(base string) (bool, string) {
	uid := unprivUID()
	dir := filepath.Join(e.work, "badkeys-unreadable")
	keys := filepath.Join(dir, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		return false, err.Error()
	}
	key := filepath.Join(filepath.Dir(base), "keys", "prove-badkeys.key")
	if err := copyFiles(keys, e.pki.CA, e.pki.ClientCert, e.pki.ClientKey, e.backendPub, key); err != nil {
		return false, err.Error()
	}
	frames := filepath.Join(dir, "frames")
	writeFrames(frames, map[string][]byte{"a.jpg": goodJPEG(320, 240, 0)})
	kv := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(fileText(base)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			kv[k] = v
		}
	}
	signing := filepath.Join(keys, "prove-badkeys.key")
	kv["LPRD_SIGNING_KEY"], kv["LPRD_CAMERA"], kv["LPRD_STATE_DIR"] = signing, frames, filepath.Join(dir, "state")
	kv["LPRD_MQTT_CA"], kv["LPRD_MQTT_CERT"], kv["LPRD_MQTT_KEY"] = filepath.Join(keys, "ca.pem"), filepath.Join(keys, "client.pem"), filepath.Join(keys, "client.key")
	kv["LPRD_BACKEND_KEY"] = filepath.Join(keys, "backend.pub")
	envFile := filepath.Join(dir, "unreadable.env")
	if err := writeEnvFile(envFile, kv); err != nil {
		return false, err.Error()
	}
	if err := chownTree(dir, uid); err != nil {
		return false, err.Error()
	}
	if uid > 0 {
		os.Chown(signing, 0, 0)
	} else {
		os.Chmod(signing, 0)
	}
	r := e.refuse(envFile, uid)
	named := strings.Contains(r.checkOut, "LPRD_SIGNING_KEY") && strings.Contains(r.checkOut, "permission denied")
	ok := r.checkCode != 0 && r.runCode != 0 && named
	fig := fmt.Sprintf("signing key unreadable (as uid %d): check %d run %d names LPRD_SIGNING_KEY and permission denied %v", runsAs(uid), r.checkCode, r.runCode, named)
	if !ok {
		fig += fmt.Sprintf(" (%.160q)", r.checkOut)
	}
	return ok, fig
}

// proveBrokerCerts starts brokers whose certificate has expired or is
// signed by another CA: lprctl listen exits naming the problem, and lprd
// logs a connect failure that names it (it keeps retrying).
func proveBrokerCerts(e *proveEnv) proveRow {
	dir := filepath.Join(e.work, "broker-certs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return failRow("%v", err)
	}
	expCert, expKey := filepath.Join(dir, "expired.pem"), filepath.Join(dir, "expired.key")
	if err := issueProveCertFor(e.pki.caKey, e.pki.caCert, "127.0.0.1", true, time.Now().Add(-time.Hour), expCert, expKey); err != nil {
		return failRow("%v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "foreign"), 0o700); err != nil {
		return failRow("%v", err)
	}
	foreign, err := newProvePKI(filepath.Join(dir, "foreign"))
	if err != nil {
		return failRow("%v", err)
	}
	pass := true
	var figs []string
	for _, c := range []struct{ name, cert, key, want string }{
		{"expired", expCert, expKey, "expired"},
		{"foreign CA", foreign.ServerCert, foreign.ServerKey, "not signed by the CA given"},
	} {
		ok, fig := e.badBrokerCert(dir, c.name, c.cert, c.key, c.want)
		pass = pass && ok
		figs = append(figs, fig)
	}
	return proveRow{pass: pass, figure: strings.Join(figs, "; ")}
}

func (e *proveEnv) badBrokerCert(dir, name, cert, key, want string) (bool, string) {
	b, err := e.newBrokerWith("broker-"+strings.ReplaceAll(name, " ", "-"), cert, key)
	if err != nil {
		return false, name + ": " + err.Error()
	}
	defer b.Stop()
	listenLog := filepath.Join(dir, "listen-"+b.dir[len(e.work)+1:]+".log")
	lp, err := e.start(proveCmd{name: "lprctl listen", dir: dir, log: listenLog}, filepath.Join(e.bin, "lprctl"), "listen", "-broker", b.URL(),
		"-ca", e.pki.CA, "-cert", e.pki.ClientCert, "-key", e.pki.ClientKey, "-backend-key", e.backendKey, "-devices", e.devices, "-state", "")
	if err != nil {
		return false, name + ": " + err.Error()
	}
	code, ended := lp.wait(60 * time.Second)
	lp.stop(syscall.SIGKILL, 5*time.Second)
	out := fileText(listenLog)
	listenOK := ended && code != 0 && strings.Contains(out, want)
	envFile := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".env")
	device := "prove-cert-" + strings.ReplaceAll(name, " ", "-")
	if err := e.lprdEnv(envFile, device, map[string]string{"LPRD_MQTT_BROKER": b.URL(), "LPRD_STATE_DIR": filepath.Join(dir, "state-"+device)}); err != nil {
		return false, name + ": " + err.Error()
	}
	log := filepath.Join(dir, device+".log")
	p, err := e.start(proveCmd{name: "lprd", dir: dir, log: log}, filepath.Join(e.bin, "lprd"), "run", "-env", envFile)
	if err != nil {
		return false, name + ": " + err.Error()
	}
	lprdOK := waitFor(30*time.Second, func() bool {
		l := fileText(log)
		return strings.Contains(l, "MQTT connect failed") && strings.Contains(l, want)
	})
	p.stop(syscall.SIGTERM, 15*time.Second)
	fig := fmt.Sprintf("broker certificate %s: lprctl listen refuses naming %q %v, lprd logs it %v", name, want, listenOK, lprdOK)
	if !listenOK {
		fig += fmt.Sprintf(" (%.160q)", out)
	}
	return listenOK && lprdOK, fig
}
