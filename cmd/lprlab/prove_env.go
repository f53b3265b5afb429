// The proof suite's environment: a throw-away PKI, a real mosquitto with
// mutual TLS and persistence, key pairs from lprctl keygen, the processes it
// starts (each stopped by its PID) and the env files it writes.

package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proveEnv is what every row shares: the binaries, the work folder, the PKI,
// the broker and the backend's keys.
type proveEnv struct {
	bin, repo, work string
	pki             provePKI
	broker          *proveBroker
	backendKey      string // private, for lprctl listen
	backendPub      string // for the devices
	devices         string // folder of <device>.pub
	clip, truth     string
	plates          []string // ground truth, as rendered
	fuzzTime        time.Duration
	fix             *backendFixture // lprd's envelopes for the backend rows, made once

	mu     sync.Mutex
	procs  []*proveProc // every process started, killed at the end
	mounts []string     // tmpfs mounts, unmounted at the end
}

// provePKI is a CA with a server certificate for 127.0.0.1 and one client
// certificate shared by the devices, the listener and the suite's own client.
type provePKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string

	caKey  *ecdsa.PrivateKey // to issue more certificates (ACL, broker certificate rows)
	caCert *x509.Certificate
}

func newProvePKI(dir string) (provePKI, error) {
	p := provePKI{
		CA: filepath.Join(dir, "ca.pem"), ServerCert: filepath.Join(dir, "server.pem"), ServerKey: filepath.Join(dir, "server.key"),
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client.key"),
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return p, err
	}
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lprlab prove CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return p, err
	}
	if ca, err = x509.ParseCertificate(der); err != nil {
		return p, err
	}
	if err := writeProvePEM(p.CA, "CERTIFICATE", der); err != nil {
		return p, err
	}
	p.caKey, p.caCert = caKey, ca
	if err := issueProveCert(caKey, ca, "127.0.0.1", true, p.ServerCert, p.ServerKey); err != nil {
		return p, err
	}
	return p, issueProveCert(caKey, ca, "lprlab-prove", false, p.ClientCert, p.ClientKey)
}

// issue writes a client certificate of common name cn (the MQTT user name
// under use_identity_as_username) and its key into dir.
func (p provePKI) issue(dir, cn string) (cert, key string, err error) {
	cert, key = filepath.Join(dir, cn+".pem"), filepath.Join(dir, cn+".key")
	return cert, key, issueProveCert(p.caKey, p.caCert, cn, false, cert, key)
}

func issueProveCert(caKey *ecdsa.PrivateKey, ca *x509.Certificate, cn string, server bool, certFile, keyFile string) error {
	return issueProveCertFor(caKey, ca, cn, server, time.Now().Add(48*time.Hour), certFile, keyFile)
}

// issueProveCertFor issues a certificate valid until notAfter (in the past
// for an expired one).
func issueProveCertFor(caKey *ecdsa.PrivateKey, ca *x509.Certificate, cn string, server bool, notAfter time.Time, certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: notAfter.Add(-72 * time.Hour), NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeProvePEM(certFile, "CERTIFICATE", der); err != nil {
		return err
	}
	return writeProvePEM(keyFile, "EC PRIVATE KEY", kder)
}

func writeProvePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

// proveBroker is a mosquitto on a fixed loopback port that survives Stop
// and Start, with persistence on (sessions and queued reads survive a
// restart) and mutual TLS.
type proveBroker struct {
	env  *proveEnv
	dir  string
	Port int
	proc *proveProc
}

func (e *proveEnv) newBroker() (*proveBroker, error) {
	return e.newBrokerWith("broker", e.pki.ServerCert, e.pki.ServerKey)
}

// newBrokerWith starts a mosquitto with its folder under the work folder,
// the server certificate given and extra configuration lines (an ACL).
func (e *proveEnv) newBrokerWith(name, cert, key string, extra ...string) (*proveBroker, error) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/mosquitto"); err != nil {
			return nil, fmt.Errorf("mosquitto not found (scripts/setup installs it)")
		}
	}
	b := &proveBroker{env: e, dir: filepath.Join(e.work, name)}
	if b.Port, err = freePort(); err != nil {
		return nil, err
	}
	conf := []string{
		fmt.Sprintf("listener %d 127.0.0.1", b.Port),
		"persistence true", "persistence_location " + b.dir + "/", "autosave_interval 1",
		"max_queued_messages 0", "max_inflight_messages 0",
		"log_dest file " + filepath.Join(b.dir, "mosquitto.log"), "log_type error", "log_type warning", "log_type notice",
		"cafile " + e.pki.CA, "certfile " + cert, "keyfile " + key,
		"require_certificate true", "use_identity_as_username true",
	}
	if os.Geteuid() == 0 {
		conf = append(conf, "user root") // else it drops to the mosquitto user, who cannot read the work folder
	}
	conf = append(conf, extra...)
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(b.dir, "mosquitto.conf"), []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		return nil, err
	}
	return b, b.start(bin)
}

func (b *proveBroker) URL() string { return fmt.Sprintf("ssl://127.0.0.1:%d", b.Port) }

// Start (re)starts the broker and waits until it accepts connections.
func (b *proveBroker) Start() error { return b.start(b.proc.cmd.Path) }

func (b *proveBroker) start(bin string) error {
	p, err := b.env.start(proveCmd{name: "mosquitto", dir: b.dir, log: filepath.Join(b.dir, "stderr.log")}, bin, "-c", filepath.Join(b.dir, "mosquitto.conf"))
	if err != nil {
		return err
	}
	b.proc = p
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", b.Port), 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			log, _ := os.ReadFile(filepath.Join(b.dir, "mosquitto.log"))
			return fmt.Errorf("mosquitto exited at start: %s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("mosquitto did not listen on port %d", b.Port)
}

// Stop ends the broker with SIGTERM (it saves its persistent state).
func (b *proveBroker) Stop() { b.proc.stop(syscall.SIGTERM, 15*time.Second) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// proveCmd says how to start a process: its folder, extra environment,
// where stdout and stderr go (stderr to log, stdout to out or log) and the
// user to run as (uid < 0: the suite's own).
type proveCmd struct {
	name, dir, log, out string
	env                 []string
	unset               []string // variables of the suite's environment left out
	uid                 int
	shell               string // a sh prologue run before exec (e.g. ulimit -c)
}

// proveProc is a started process; Wait is done by one goroutine.
type proveProc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// start starts c, recorded so that cleanup kills it if a row does not.
func (e *proveEnv) start(c proveCmd, bin string, args ...string) (*proveProc, error) {
	if c.shell != "" {
		args = append([]string{"-c", c.shell + `; exec "$0" "$@"`, bin}, args...)
		bin = "/bin/sh"
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(environWithout(c.unset), c.env...)
	logf, err := os.OpenFile(c.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if c.out != "" {
		outf, err := os.OpenFile(c.out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		defer outf.Close()
		cmd.Stdout = outf
	}
	if c.uid > 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.uid)}}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", c.name, err)
	}
	p := &proveProc{name: c.name, cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	return p, nil
}

// environWithout is the suite's environment less the variables named.
func environWithout(names []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, k) {
			out = append(out, kv)
		}
	}
	return out
}

func (p *proveProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to d for the process to end and returns its exit code (-1
// when killed by a signal or still running).
func (p *proveProc) wait(d time.Duration) (int, bool) {
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode(), true
	case <-time.After(d):
		return -1, false
	}
}

// stop sends sig and waits up to d, then SIGKILLs.
func (p *proveProc) stop(sig syscall.Signal, d time.Duration) {
	if p == nil || p.exited() {
		return
	}
	p.cmd.Process.Signal(sig)
	if _, ok := p.wait(d); !ok {
		p.cmd.Process.Kill()
		<-p.done
	}
}

// killAll kills every process still running, by its PID.
func (e *proveEnv) killAll() {
	e.mu.Lock()
	procs := append([]*proveProc(nil), e.procs...)
	e.mu.Unlock()
	for _, p := range procs {
		p.stop(syscall.SIGKILL, 10*time.Second)
	}
}

// keygen makes a device signing key pair with lprctl keygen into dir and
// publishes its public key in the backend's devices folder.
func (e *proveEnv) keygen(device, dir string) (string, error) {
	out, err := exec.Command(filepath.Join(e.bin, "lprctl"), "keygen", "-device", device, "-out", dir).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("lprctl keygen -device %s: %v: %s", device, err, out)
	}
	pub, err := os.ReadFile(filepath.Join(dir, device+".pub"))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, device+".key"), os.WriteFile(filepath.Join(e.devices, device+".pub"), pub, 0o644)
}

// lprdEnv writes an env file for device (site "prove") at path, with a new
// signing key (in extra["keydir"] when set), the broker and the backend key;
// the other extra keys are added or replace the defaults.
func (e *proveEnv) lprdEnv(path, device string, extra map[string]string) error {
	keyDir := filepath.Join(e.work, "keys-"+device)
	if d, ok := extra["keydir"]; ok {
		keyDir = d
		delete(extra, "keydir")
	}
	key, err := e.keygen(device, keyDir)
	if err != nil {
		return err
	}
	kv := map[string]string{
		"LPRD_DEVICE_ID": device, "LPRD_SITE": "prove", "LPRD_LANE": "1",
		"LPRD_CAMERA": e.clip, "LPRD_REPLAY_RATE": "recorded", "LPRD_EXIT_AT_END": "true",
		"LPRD_MQTT_BROKER": e.broker.URL(), "LPRD_MQTT_CA": e.pki.CA,
		"LPRD_MQTT_CERT": e.pki.ClientCert, "LPRD_MQTT_KEY": e.pki.ClientKey,
		"LPRD_BACKEND_KEY": e.backendPub, "LPRD_SIGNING_KEY": key,
		"LPRD_STATE_DIR": filepath.Join(e.work, "state-"+device), "LPRD_HEALTH_INTERVAL": "1s",
		"LPRD_MQTT_CLIENT_ID": "lprd-" + device,
	}
	for k, v := range extra {
		kv[k] = v
	}
	return writeEnvFile(path, kv)
}

func writeEnvFile(path string, kv map[string]string) error {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, kv[k])
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}

// waitFor polls f every 100 ms until it is true or d passes.
func waitFor(d time.Duration, f func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if f() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fileText returns a file's text, or "" when it cannot be read.
func fileText(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// execOut runs a command and returns its combined output.
func execOut(bin string, args ...string) ([]byte, error) {
	return exec.Command(bin, args...).CombinedOutput()
}
