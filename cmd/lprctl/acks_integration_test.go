package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lprd/lprd/uplink"
	"github.com/lprd/lprd/uplink/uplinktest"
)

// Two lprctl listen workers share the reads (-share) and each acks what it
// output; the device deletes a read only on those acks. One worker is
// restarted with its state file: nothing is output twice, nothing is lost.
func TestIntegrationListenAcksShared(t *testing.T) {
	b := uplinktest.StartMosquitto(t, nil)
	keys := t.TempDir()
	devices := filepath.Join(keys, "devices")
	os.Mkdir(devices, 0o755)
	if _, e, code := lprctl(t, "keygen", "-backend", "-kem", "x25519", "-out", keys); code != 0 {
		t.Fatalf("keygen -backend: %s", e)
	}
	if _, e, code := lprctl(t, "keygen", "-device", "cam1", "-out", keys); code != 0 {
		t.Fatalf("keygen -device: %s", e)
	}
	os.Rename(filepath.Join(keys, "cam1.pub"), filepath.Join(devices, "cam1.pub"))
	worker := func(id string) *listener {
		return startListener(t, "-broker", b.URL(), "-allow-plaintext", "-backend-key", filepath.Join(keys, "backend.key"),
			"-devices", devices, "-client-id", id, "-share", "workers", "-state", filepath.Join(keys, id+".state"),
			"-backend-signing-key", filepath.Join(keys, "backend-signing.key"), "-ack-every", "100ms")
	}
	wa, wb := worker("worker-a"), worker("worker-b")
	defer wb.stop()
	u, err := uplink.New(context.Background(), uplink.Options{
		Broker: b.URL(), AllowPlaintext: true, Site: "port-a", DeviceID: "cam1", Suite: "x25519-chacha20poly1305",
		RecipientKeyFile: filepath.Join(keys, "backend.pub"), SigningKeyFile: filepath.Join(keys, "cam1.key"),
		BackendVerifyKeyFile: filepath.Join(keys, "backend-signing.pub"), ConfirmTimeout: time.Second,
		StateDir: t.TempDir(), HealthInterval: time.Hour, MaxReconnectInterval: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { u.Run(ctx); close(done) }()
	defer func() { cancel(); <-done; u.Close() }()
	submit := func(from, n int) {
		for i := from; i < from+n; i++ {
			at := time.Now()
			if err := u.Submit(uplink.Event{Lane: "1", FirstSeen: at, LastSeen: at, Plate: fmt.Sprintf("ACK%03d", i), Confidence: 0.8, Frames: 2}); err != nil {
				t.Fatal(err)
			}
		}
	}
	confirmed := func(what string) {
		deadline := time.Now().Add(30 * time.Second)
		for u.Health().OutboxDepth > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: outbox still holds %d reads: %+v\nworker a:\n%s\nworker b:\n%s", what, u.Health().OutboxDepth, u.Health(), wa.stderr, wb.stderr)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	const n = 40
	submit(0, n)
	confirmed("shared workers")
	la, lb := wa.lines(), wb.lines()
	if la+lb != n || la == 0 || lb == 0 {
		t.Errorf("workers output %d + %d reads; want %d, split between both", la, lb, n)
	}
	if code := wa.stop(); code != 0 {
		t.Fatalf("worker a exited %d: %s", code, wa.stderr)
	}
	submit(n, n)
	wa2 := worker("worker-a")
	defer wa2.stop()
	confirmed("after worker a's restart")
	if got := la + wa2.lines() + wb.lines(); got != 2*n {
		t.Errorf("%d reads output in all; want %d (none twice, none lost)", got, 2*n)
	}
	if h := u.Health(); h.ReadsConfirmed != 2*n || h.AcksUnsigned+h.AcksForeign+h.AcksReplayed != 0 {
		t.Errorf("device health %+v", h)
	}
}
