package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lprd/lprd/uplink"
	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/mqttclient"
	"github.com/lprd/lprd/uplink/uplinktest"
)

func lprctl(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e uplinktest.Buffer
	code = run(context.Background(), args, &o, &e)
	return o.String(), e.String(), code
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	out, _, code := lprctl(t, "keygen", "-backend", "-kem", "x25519", "-out", dir)
	if code != 0 || !strings.Contains(out, "LPRD HPKE PUBLIC KEY") {
		t.Fatalf("keygen -backend = %d, %q", code, out)
	}
	out, _, code = lprctl(t, "keygen", "-device", "lane3-cam1", "-out", dir)
	if code != 0 || !strings.Contains(out, "BEGIN PUBLIC KEY") {
		t.Fatalf("keygen -device = %d, %q", code, out)
	}
	for name, want := range map[string]os.FileMode{"backend.key": 0o600, "backend.pub": 0o644, "lane3-cam1.key": 0o600, "lane3-cam1.pub": 0o644,
		"backend-signing.key": 0o600, "backend-signing.pub": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, mode %v; want %v", name, err, fi.Mode().Perm(), want)
		}
	}
	if _, err := envelope.LoadSigningPrivateKey(filepath.Join(dir, "lane3-cam1.key")); err != nil {
		t.Errorf("device key does not load: %v", err)
	}
	if keys, err := envelope.LoadRecipientPrivateKeys(filepath.Join(dir, "backend.key")); err != nil || keys[0].KEM != envelope.KEMX25519 {
		t.Errorf("backend key does not load: %v", err)
	}
	sk, err := envelope.LoadSigningPrivateKey(filepath.Join(dir, "backend-signing.key"))
	pks, perr := envelope.LoadBackendVerifyKeys(filepath.Join(dir, "backend-signing.pub"))
	if err != nil || perr != nil || !sk.Public().(ed25519.PublicKey).Equal(pks[0]) {
		t.Errorf("backend signing key pair does not load: %v, %v", err, perr)
	}
	if _, stderr, code := lprctl(t, "keygen", "-backend", "-out", dir); code != 1 || !strings.Contains(stderr, "-force") {
		t.Errorf("keygen over an existing key = %d, %q; want 1 and a -force hint", code, stderr)
	}
	for _, args := range [][]string{{"keygen"}, {"keygen", "-backend", "-device", "x"}, {"keygen", "-device", "a/b"}, {"nope"}} {
		if _, _, code := lprctl(t, args...); code == 0 {
			t.Errorf("lprctl %v = 0; want a failure", args)
		}
	}
	if out, _, code := lprctl(t, "help"); code != 0 || !strings.Contains(out, "listen") {
		t.Errorf("help = %d, %q", code, out)
	}
}

func TestListenRequiresFlags(t *testing.T) {
	if _, stderr, code := lprctl(t, "listen", "-broker", "tcp://127.0.0.1:1"); code != 2 || !strings.Contains(stderr, "required") {
		t.Errorf("listen without keys = %d, %q", code, stderr)
	}
}

// lprctl listen and status against a real broker over mutual TLS, with a
// real device uplink using keys made by lprctl keygen.
func TestIntegrationListenStatus(t *testing.T) {
	pki := uplinktest.NewPKI(t)
	b := uplinktest.StartMosquitto(t, pki)
	keys := t.TempDir()
	devices := filepath.Join(keys, "devices")
	os.Mkdir(devices, 0o755)
	if _, _, code := lprctl(t, "keygen", "-backend", "-out", keys); code != 0 {
		t.Fatal("keygen -backend failed")
	}
	if _, _, code := lprctl(t, "keygen", "-device", "lane3-cam1", "-out", keys); code != 0 {
		t.Fatal("keygen -device failed")
	}
	os.Rename(filepath.Join(keys, "lane3-cam1.pub"), filepath.Join(devices, "lane3-cam1.pub"))
	tlsArgs := []string{"-broker", b.URL(), "-ca", pki.CAFile, "-cert", pki.ClientCert, "-key", pki.ClientKey}

	outFile := filepath.Join(t.TempDir(), "reads.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	var lout, lerr uplinktest.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, append([]string{"listen", "-backend-key", filepath.Join(keys, "backend.key"), "-devices", devices,
			"-out", outFile, "-client-id", "test-listener", "-share", "workers", "-state", filepath.Join(keys, "listen.state")}, tlsArgs...), &lout, &lerr)
	}()
	for !strings.Contains(lerr.String(), "subscribed") {
		select {
		case code := <-done:
			t.Fatalf("listen exited %d: %s", code, lerr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}

	u, err := uplink.New(context.Background(), uplink.Options{
		Broker: b.URL(), CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey,
		Site: "port-a", DeviceID: "lane3-cam1", RecipientKeyFile: filepath.Join(keys, "backend.pub"),
		SigningKeyFile: filepath.Join(keys, "lane3-cam1.key"), StateDir: t.TempDir(), HealthInterval: 50 * time.Millisecond,
		Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	uctx, ucancel := context.WithCancel(context.Background())
	urun := make(chan struct{})
	go func() { u.Run(uctx); close(urun) }()
	const n = 20
	for i := 0; i < n; i++ {
		at := time.Now()
		if err := u.Submit(uplink.Event{Lane: "3", FirstSeen: at, LastSeen: at, Plate: fmt.Sprintf("XYZ%03d", i), Confidence: 0.8, Frames: 2}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(outFile)
		if bytes.Count(b, []byte("\n")) >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen wrote %d lines; want %d; stderr:\n%s", bytes.Count(b, []byte("\n")), n, lerr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A tampered copy of a read is refused and counted.
	pub, _ := mqttclient.New(mqttclient.Config{Broker: b.URL(), CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey, ClientID: "x", CleanSession: true})
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	pub.Publish("lpr/port-a/lane3-cam1/reads", 1, false, []byte("LPR1 not really")).WaitTimeout(5 * time.Second)
	pub.Disconnect(100)

	// status while the device is up: signed by the device, verified with
	// its key from the devices folder.
	sout, serr, code := lprctl(t, append([]string{"status", "-json", "-wait", "500ms", "-devices", devices}, tlsArgs...)...)
	if code != 0 {
		t.Fatalf("status = %d: %s", code, serr)
	}
	var st deviceStatus
	if err := json.Unmarshal([]byte(strings.SplitN(sout, "\n", 2)[0]), &st); err != nil || st.DeviceID != "lane3-cam1" || st.Status != "online" || len(st.Health) == 0 ||
		st.StatusVerified != checkVerified || st.HealthVerified != checkVerified {
		t.Errorf("status -json = %q (%v); want lane3-cam1 online with health, both verified", sout, err)
	}
	var h map[string]any
	if json.Unmarshal(st.Health, &h) != nil || h["version"] != "test" {
		t.Errorf("status -json health = %s; want the device's health object", st.Health)
	}
	ucancel()
	<-urun
	u.Close()
	sout, _, _ = lprctl(t, append([]string{"status", "-wait", "500ms", "-devices", devices}, tlsArgs...)...)
	if !strings.Contains(sout, "port-a/lane3-cam1") || !strings.Contains(sout, "stopped  [status and health verified]") {
		t.Errorf("status after Close = %q; want stopped, verified", sout)
	}

	waitStderr := time.Now().Add(5 * time.Second)
	for !strings.Contains(lerr.String(), "malformed") && time.Now().Before(waitStderr) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("listen exit %d", code)
	}
	if e := lerr.String(); !strings.Contains(e, "accepted=20") || !strings.Contains(e, "malformed=1") {
		t.Errorf("listen stderr lacks the counts:\n%s", e)
	}
	if _, err := os.Stat(filepath.Join(keys, "listen.state")); err != nil {
		t.Errorf("listen -state wrote no state: %v", err)
	}
	data, _ := os.ReadFile(outFile)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i, l := range lines {
		var rl readLine
		if err := json.Unmarshal([]byte(l), &rl); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		ev, err := envelope.ParseEvent(rl.Event)
		if err != nil || rl.DeviceID != "lane3-cam1" || rl.Suite != envelope.DefaultSuite.String() {
			t.Fatalf("line %d = %s (%v)", i, l, err)
		}
		if want := fmt.Sprintf("XYZ%03d", i); ev.Plate != want {
			t.Errorf("line %d plate %s; want %s", i, ev.Plate, want)
		}
	}
	if strings.Contains(lerr.String(), "XYZ") {
		t.Error("plate text on listen's stderr")
	}
}
