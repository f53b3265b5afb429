package uplink

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/mqttclient"
	"github.com/lprd/lprd/uplink/receiver"
	"github.com/lprd/lprd/uplink/uplinktest"
)

// TestMain doubles as the device process of the crash tests: with
// LPRD_UPLINK_HELPER set, the test binary runs helperMain instead of the
// tests, so a test can SIGKILL a real publisher.
func TestMain(m *testing.M) {
	if mode := os.Getenv("LPRD_UPLINK_HELPER"); mode != "" {
		os.Exit(helperMain(mode))
	}
	os.Exit(m.Run())
}

// helperMain runs an Uplink from LPRD_H_* variables. Mode "stream" submits
// LPRD_H_COUNT reads and prints "stored <event id>" after each Submit;
// mode "drain" submits nothing and exits once the outbox is empty; mode
// "idle" connects and waits to be killed.
func helperMain(mode string) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u, err := New(ctx, Options{
		Broker: os.Getenv("LPRD_H_BROKER"), AllowPlaintext: true, Site: "port-a", DeviceID: os.Getenv("LPRD_H_DEVICE"),
		RecipientKeyFile: os.Getenv("LPRD_H_RCPT"), SigningKeyFile: os.Getenv("LPRD_H_SIGNER"), Suite: "x25519-chacha20poly1305",
		StateDir: os.Getenv("LPRD_H_STATE"), PublishTimeout: 2 * time.Second, MaxReconnectInterval: 300 * time.Millisecond,
		HealthInterval: time.Hour,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	done := make(chan struct{})
	go func() { u.Run(ctx); close(done) }()
	switch mode {
	case "stream":
		n, _ := strconv.Atoi(os.Getenv("LPRD_H_COUNT"))
		for i := 0; i < n; i++ {
			ev := testEvent(i, time.Now())
			ev.EventID = envelope.NewEventID(time.Now())
			if err := u.Submit(ev); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 3
			}
			fmt.Printf("stored %s\n", ev.EventID)
			time.Sleep(3 * time.Millisecond)
		}
		fallthrough
	case "drain":
		for u.Health().OutboxDepth > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Println("drained")
	case "idle":
		for !u.Health().MQTTConnected {
			time.Sleep(10 * time.Millisecond)
		}
		fmt.Println("connected")
		select {}
	}
	cancel()
	<-done
	u.Close()
	return 0
}

// collector is a backend: receiver.Listen into a map of event ids.
type collector struct {
	mu      sync.Mutex
	ids     map[string]int
	rejects map[receiver.Reason]int
	late    int
	rcv     *receiver.Receiver
	ready   chan struct{}
}

func listen(t *testing.T, rcv *receiver.Receiver, cfg mqttclient.Config, topic string) *collector {
	t.Helper()
	c, stop := startListen(t, rcv, receiver.ListenOptions{Client: cfg, Topic: topic})
	t.Cleanup(stop)
	return c
}

// startListen runs receiver.Listen with opt (its OnRead, OnReject and
// OnConnect replaced by the collector's) until stop.
func startListen(t *testing.T, rcv *receiver.Receiver, opt receiver.ListenOptions) (*collector, func()) {
	t.Helper()
	c := &collector{ids: map[string]int{}, rejects: map[receiver.Reason]int{}, rcv: rcv, ready: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	opt.OnRead = func(rd receiver.Read) error {
		c.mu.Lock()
		c.ids[rd.Event.EventID]++
		if rd.Late {
			c.late++
		}
		c.mu.Unlock()
		return nil
	}
	opt.OnReject = func(err error) {
		c.mu.Lock()
		c.rejects[receiver.ReasonOf(err)]++
		c.mu.Unlock()
	}
	opt.OnConnect = func() {
		select {
		case c.ready <- struct{}{}:
		default:
		}
	}
	go func() { errc <- receiver.Listen(ctx, rcv, opt) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("Listen: %v", err)
			}
		})
	}
	select {
	case <-c.ready:
	case err := <-errc:
		t.Fatalf("Listen: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("listener did not subscribe")
	}
	return c, stop
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ids)
}

func (c *collector) rejected(r receiver.Reason) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rejects[r]
}

// sniffer records every message on "#".
type sniffer struct {
	mu   sync.Mutex
	msgs []uplinktest.Published
}

func sniff(t *testing.T, cfg mqttclient.Config) *sniffer {
	t.Helper()
	s := &sniffer{}
	c, err := mqttclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("sniffer connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe("#", 1, func(m mqttclient.Message) {
		s.mu.Lock()
		s.msgs = append(s.msgs, uplinktest.Published{Topic: m.Topic(), Retained: m.Retained(), Payload: append([]byte(nil), m.Payload()...)})
		s.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("sniffer subscribe: %v", tok.Error())
	}
	return s
}

func (s *sniffer) on(topic string) []uplinktest.Published {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []uplinktest.Published
	for _, m := range s.msgs {
		if m.Topic == topic {
			out = append(out, m)
		}
	}
	return out
}

func (s *sniffer) all() []uplinktest.Published {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uplinktest.Published(nil), s.msgs...)
}

func tlsClient(b *uplinktest.Mosquitto, id string, clean bool) mqttclient.Config {
	cfg := mqttclient.Config{Broker: b.URL(), AllowPlaintext: true, ClientID: id, CleanSession: clean, MaxReconnectInterval: 300 * time.Millisecond}
	if b.TLS != nil {
		cfg.CAFile, cfg.CertFile, cfg.KeyFile = b.TLS.CAFile, b.TLS.ClientCert, b.TLS.ClientKey
	}
	return cfg
}

// Reads go end to end over mutual TLS with the default (post-quantum)
// suite; nothing on any topic holds plate text in clear; the status goes
// online then stopped; tampered, replayed and foreign envelopes are refused
// with their reasons.
func TestIntegrationEndToEndMutualTLS(t *testing.T) {
	pki := uplinktest.NewPKI(t)
	b := uplinktest.StartMosquitto(t, pki)
	k := newKeys(t, envelope.KEMMLKEM768X25519)
	rcv, _ := receiver.New(receiver.Options{
		RecipientKeys: []*envelope.RecipientPrivateKey{k.rcpt},
		DeviceKeys:    map[string][]ed25519.PublicKey{"dev1": {k.signer.Public().(ed25519.PublicKey)}},
		ReplayWindow:  64,
	})
	col := listen(t, rcv, tlsClient(b, "backend-1", false), "$share/backend/lpr/+/+/reads")
	snf := sniff(t, tlsClient(b, "sniffer", true))

	// A client that trusts another CA cannot connect.
	bad := tlsClient(b, "bad", true)
	bad.CAFile = pki.OtherCAFile
	if c, err := mqttclient.New(bad); err == nil {
		if tok := c.Connect(); tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
			t.Error("connected with a CA that did not sign the broker's certificate")
			c.Disconnect(0)
		}
	}

	// A client without a certificate is refused by the broker.
	anon := tlsClient(b, "anon", true)
	anon.CertFile, anon.KeyFile = "", ""
	if c, err := mqttclient.New(anon); err == nil {
		if tok := c.Connect(); tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
			t.Error("connected without a client certificate")
			c.Disconnect(0)
		}
	}

	opt := Options{
		Broker: b.URL(), CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey,
		Site: "port-a", DeviceID: "dev1", RecipientKey: k.rcpt.Public(), SigningKey: k.signer,
		StateDir: t.TempDir(), HealthInterval: 100 * time.Millisecond, Version: "test",
	}
	u, err := New(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, u)
	const n = 100
	for i := 0; i < n; i++ {
		if err := u.Submit(testEvent(i, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "all reads at the listener", 20*time.Second, func() bool { return col.count() == n })
	waitFor(t, "a health message", 5*time.Second, func() bool { return len(snf.on("lpr/port-a/dev1/health")) > 0 })
	stop()
	waitFor(t, "the stopped status", 5*time.Second, func() bool {
		st := snf.on("lpr/port-a/dev1/status")
		return len(st) > 0 && k.word("lpr/port-a/dev1/status", st[len(st)-1].Payload) == StatusStopped
	})
	if st := snf.on("lpr/port-a/dev1/status"); k.word("lpr/port-a/dev1/status", st[0].Payload) != StatusOnline {
		t.Errorf("first status = %q; want online, signed by dev1", st[0].Payload)
	}
	if hs := snf.on("lpr/port-a/dev1/health"); k.health(t, "lpr/port-a/dev1/health", hs[len(hs)-1].Payload).Version != "test" {
		t.Errorf("last health %s; want version test", hs[len(hs)-1].Payload)
	}
	reads := snf.on("lpr/port-a/dev1/reads")
	for _, m := range snf.all() {
		if testPlate.Match(m.Payload) {
			t.Errorf("plate text in clear on %s", m.Topic)
		}
	}
	t.Logf("envelope size %s: %d bytes", envelope.DefaultSuite, len(reads[0].Payload))

	// Attacks, published straight to the reads topic.
	pub, err := mqttclient.New(tlsClient(b, "attacker", true))
	if err != nil {
		t.Fatal(err)
	}
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	tampered := bytes.Clone(reads[n-1].Payload)
	tampered[len(tampered)/2] ^= 0x40
	fk := newKeys(t, envelope.KEMMLKEM768X25519)
	foreign, _ := envelope.NewSealer("dev9", envelope.DefaultSuite, k.rcpt.Public(), fk.signer)
	foreignEnv, _ := foreign.Seal(1, time.Now(), []byte(`{}`))
	for _, p := range [][]byte{tampered, reads[0].Payload, reads[n-1].Payload, foreignEnv} {
		if tok := pub.Publish("lpr/port-a/dev1/reads", 1, false, p); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	for _, r := range []receiver.Reason{receiver.Tampered, receiver.Replayed, receiver.Duplicate, receiver.UnknownDevice} {
		waitFor(t, "a rejection as "+string(r), 5*time.Second, func() bool { return col.rejected(r) > 0 })
	}
	if col.count() != n {
		t.Errorf("listener has %d reads; want %d", col.count(), n)
	}
}

// The broker is stopped during a stream of reads and restarted: every read
// arrives exactly once at the listener after deduplication, in order.
func TestIntegrationBrokerOutage(t *testing.T) {
	b := uplinktest.StartMosquitto(t, nil)
	k := newKeys(t, envelope.KEMX25519)
	col := listen(t, k.receiver(t, "dev1"), tlsClient(b, "backend-outage", false), "lpr/+/+/reads")
	opt := Options{
		Broker: b.URL(), AllowPlaintext: true, Site: "port-a", DeviceID: "dev1",
		RecipientKey: k.rcpt.Public(), SigningKey: k.signer, Suite: "x25519-chacha20poly1305",
		StateDir: t.TempDir(), PublishTimeout: 2 * time.Second, MaxReconnectInterval: 300 * time.Millisecond,
		HealthInterval: time.Hour,
	}
	u, err := New(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, u)
	const before, during, after = 100, 100, 100
	i := 0
	submit := func(n int) {
		for end := i + n; i < end; i++ {
			if err := u.Submit(testEvent(i, time.Now())); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	submit(before)
	b.Stop()
	submit(during)
	time.Sleep(time.Second)
	depth := u.Health().OutboxDepth
	b.Start()
	submit(after)
	waitFor(t, "every read at the listener", 30*time.Second, func() bool { return col.count() == before+during+after })
	stop()
	time.Sleep(200 * time.Millisecond) // let late duplicates arrive
	col.mu.Lock()
	defer col.mu.Unlock()
	for id, c := range col.ids {
		if c != 1 {
			t.Errorf("event %s output %d times", id, c)
		}
	}
	h := u.Health()
	t.Logf("outage: %d reads sent during the outage (outbox depth %d at restart), %d delivered, %d duplicates dropped, %d reconnections",
		during, depth, len(col.ids), col.rejects[receiver.Duplicate], h.MQTTReconnects)
	if col.late != 0 {
		t.Errorf("%d reads arrived out of order", col.late)
	}
	if depth < during/2 {
		t.Errorf("outbox depth at restart = %d; the outage did not hold reads back", depth)
	}
}

// writeKeyFiles writes the backend public key and the device signing key
// for a helper process.
func writeKeyFiles(t *testing.T, k keys) (rcpt, signer string) {
	dir := t.TempDir()
	rcpt, signer = filepath.Join(dir, "backend.pub"), filepath.Join(dir, "device.key")
	os.WriteFile(rcpt, k.rcpt.Public().MarshalPEM(), 0o644)
	sb, _ := envelope.MarshalSigningPrivateKey(k.signer)
	os.WriteFile(signer, sb, 0o600)
	return rcpt, signer
}

type helper struct {
	cmd    *exec.Cmd
	lines  chan string
	exited chan struct{}
}

func startHelper(t *testing.T, mode string, env ...string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, "LPRD_UPLINK_HELPER="+mode)...)
	cmd.Stderr = os.Stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, lines: make(chan string, 10000), exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
		cmd.Wait()
		close(h.exited)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-h.exited })
	return h
}

func (h *helper) kill() {
	h.cmd.Process.Signal(syscall.SIGKILL)
	<-h.exited
}

// The publishing process is killed with SIGKILL mid-stream, partly while
// the broker is down, and restarted: every read that reached the outbox
// (Submit returned) arrives at the listener.
func TestIntegrationKill9(t *testing.T) {
	b := uplinktest.StartMosquitto(t, nil)
	k := newKeys(t, envelope.KEMX25519)
	col := listen(t, k.receiver(t, "dev1"), tlsClient(b, "backend-kill", false), "lpr/+/+/reads")
	rcpt, signer := writeKeyFiles(t, k)
	env := []string{"LPRD_H_BROKER=" + b.URL(), "LPRD_H_DEVICE=dev1", "LPRD_H_RCPT=" + rcpt, "LPRD_H_SIGNER=" + signer,
		"LPRD_H_STATE=" + t.TempDir(), "LPRD_H_COUNT=100000"}
	h := startHelper(t, "stream", env...)
	var stored []string
	for line := range h.lines {
		id, ok := strings.CutPrefix(line, "stored ")
		if !ok {
			continue
		}
		stored = append(stored, id)
		if len(stored) == 150 {
			b.Stop()
		}
		if len(stored) == 300 {
			h.kill()
			break
		}
	}
	b.Start()
	h2 := startHelper(t, "drain", env...)
	waitFor(t, "the restarted device to drain its outbox", 30*time.Second, func() bool {
		select {
		case <-h2.exited:
			return true
		default:
			return false
		}
	})
	waitFor(t, "every stored read at the listener", 10*time.Second, func() bool {
		col.mu.Lock()
		defer col.mu.Unlock()
		for _, id := range stored {
			if col.ids[id] == 0 {
				return false
			}
		}
		return true
	})
	t.Logf("kill -9: %d reads stored before the kill, all delivered; %d outputs in all (reads sealed after the last 'stored' line may add some), %d duplicates dropped",
		len(stored), col.count(), col.rejected(receiver.Duplicate))
}

// The Last Will "offline" appears when the device's connection is cut (the
// process is killed).
func TestIntegrationLastWill(t *testing.T) {
	b := uplinktest.StartMosquitto(t, nil)
	k := newKeys(t, envelope.KEMX25519)
	snf := sniff(t, tlsClient(b, "sniffer-will", true))
	rcpt, signer := writeKeyFiles(t, k)
	h := startHelper(t, "idle", "LPRD_H_BROKER="+b.URL(), "LPRD_H_DEVICE=dev7", "LPRD_H_RCPT="+rcpt, "LPRD_H_SIGNER="+signer, "LPRD_H_STATE="+t.TempDir())
	waitFor(t, "online", 10*time.Second, func() bool {
		st := snf.on("lpr/port-a/dev7/status")
		return len(st) > 0 && k.word("lpr/port-a/dev7/status", st[len(st)-1].Payload) == StatusOnline
	})
	cut := time.Now()
	h.kill()
	waitFor(t, "the Last Will", 10*time.Second, func() bool {
		st := snf.on("lpr/port-a/dev7/status")
		return k.word("lpr/port-a/dev7/status", st[len(st)-1].Payload) == StatusOffline
	})
	// Signed when the helper's uplink was made, so before it came online.
	st := snf.on("lpr/port-a/dev7/status")
	will, _ := envelope.VerifyMonitor(st[len(st)-1].Payload, "lpr/port-a/dev7/status", k.pub())
	online, _ := envelope.VerifyMonitor(st[0].Payload, "lpr/port-a/dev7/status", k.pub())
	if will.Time.After(online.Time) {
		t.Errorf("Last Will signed at %v, after the online status (%v); want the start time", will.Time, online.Time)
	}
	t.Logf("Last Will after %v", time.Since(cut).Round(time.Millisecond))
}

// The shared broker of scripts/test (LPRD_TEST_BROKER), when there is one:
// a plain-text round trip.
func TestIntegrationSharedBroker(t *testing.T) {
	url := os.Getenv("LPRD_TEST_BROKER")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("LPRD_TEST_BROKER not set")
		}
		t.Skip("LPRD_TEST_BROKER not set")
	}
	k := newKeys(t, envelope.KEMX25519)
	dev := fmt.Sprintf("shared-%d", time.Now().UnixNano())
	col := listen(t, k.receiver(t, dev), mqttclient.Config{Broker: url, AllowPlaintext: true, ClientID: "backend-" + dev}, "lpr/port-a/"+dev+"/reads")
	u, err := New(context.Background(), Options{
		Broker: url, AllowPlaintext: true, Site: "port-a", DeviceID: dev, RecipientKey: k.rcpt.Public(), SigningKey: k.signer,
		Suite: "x25519-chacha20poly1305", StateDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, u)
	for i := 0; i < 10; i++ {
		ev := testEvent(i, time.Now())
		ev.DeviceID = dev
		if err := u.Submit(ev); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "10 reads", 10*time.Second, func() bool { return col.count() == 10 })
	stop()
}

// The state folder fails mid-run (read-only, then full) while the broker
// comes and goes: reads the folder cannot store are kept in memory,
// delivered from there, written to the folder once it works, and the ones
// a full memory queue had to give up are counted on the health topic.
// Every read submitted is delivered or counted as dropped.
func TestIntegrationStateFolderFails(t *testing.T) {
	b := uplinktest.StartMosquitto(t, nil)
	k := newKeys(t, envelope.KEMX25519)
	col := listen(t, k.receiver(t, "dev1"), tlsClient(b, "backend-state", false), "lpr/+/+/reads")
	snf := sniff(t, tlsClient(b, "sniffer-state", true))
	fs := &uplinktest.FaultyFS{}
	logs := &uplinktest.Buffer{}
	state := t.TempDir()
	u, err := New(context.Background(), Options{
		Broker: b.URL(), AllowPlaintext: true, Site: "port-a", DeviceID: "dev1",
		RecipientKey: k.rcpt.Public(), SigningKey: k.signer, Suite: suiteFor(k),
		StateDir: state, PublishTimeout: 2 * time.Second, MaxReconnectInterval: 200 * time.Millisecond,
		HealthInterval: 100 * time.Millisecond, OutboxMemoryMaxCount: 5, OutboxFS: fs,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, u)
	var ids []string
	submit := func(n int) {
		t.Helper()
		for range n {
			ev := testEvent(len(ids), time.Now())
			ev.EventID = envelope.NewEventID(time.Now())
			if err := u.Submit(ev); err != nil {
				t.Fatalf("Submit: %v", err)
			}
			ids = append(ids, ev.EventID)
		}
	}
	submit(5)
	waitFor(t, "5 reads at the listener", 10*time.Second, func() bool { return col.count() == 5 })

	// Broker away, folder read-only: 7 reads, 5 fit in memory.
	b.Stop()
	waitFor(t, "the device to see the broker gone", 10*time.Second, func() bool { return !u.Health().MQTTConnected })
	fs.Fail(syscall.EROFS)
	submit(7)
	if h := u.Health(); h.ReadsInMemory != 5 || h.ReadsDropped != 2 || h.StoreErrors == 0 {
		t.Errorf("Health() = %+v; want 5 in memory, 2 dropped, store errors", h)
	}
	dropped := ids[5:7] // drop-oldest

	// The folder works again: the held reads go to disk.
	fs.Fail(nil)
	waitFor(t, "the held reads on disk", 10*time.Second, func() bool { return u.Health().ReadsInMemory == 0 })
	if n := len(envFiles(state)); n != 5 {
		t.Errorf("%d envelope files after the folder works; want 5", n)
	}

	// Full now; the broker comes back: reads from disk and from memory arrive.
	fs.Fail(syscall.ENOSPC)
	submit(3)
	b.Start()
	waitFor(t, "the device to reconnect", 15*time.Second, func() bool { return u.Health().MQTTConnected })
	submit(2) // published from memory on a live connection
	waitFor(t, "every kept read at the listener", 15*time.Second, func() bool { return col.count() == len(ids)-len(dropped) })
	col.mu.Lock()
	for _, id := range dropped {
		if col.ids[id] != 0 {
			t.Errorf("read %s counted as dropped arrived", id)
		}
	}
	col.mu.Unlock()
	waitFor(t, "an empty memory queue once acknowledged", 10*time.Second, func() bool { return u.Health().OutboxDepth == 0 })
	snf = sniff(t, tlsClient(b, "sniffer-state-2", true)) // the first one went with the broker
	var last Health
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if hs := snf.on("lpr/port-a/dev1/health"); len(hs) > 0 {
			last = k.health(t, "lpr/port-a/dev1/health", hs[len(hs)-1].Payload)
			if last.ReadsInMemory == 0 && last.ReadsSent == uint64(len(ids)-len(dropped)) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no health message with every kept read sent; last: %+v", last)
		}
	}
	if last.ReadsDropped != 2 || last.ReadsHeld != 12 || last.StoreErrors == 0 || last.ReadsSubmitted != uint64(len(ids)) {
		t.Errorf("health = %+v; want 2 dropped, 12 held, store errors, %d submitted", last, len(ids))
	}
	if got := last.ReadsSent + last.ReadsDropped; got != uint64(len(ids)) {
		t.Errorf("sent + dropped = %d; want every submitted read (%d)", got, len(ids))
	}
	fs.Fail(nil) // else Close cannot record the counter, and says so
	stop()
	for _, m := range snf.all() {
		if m.Topic != "lpr/port-a/dev1/reads" && testPlate.Match(m.Payload) {
			t.Errorf("plate text on %s", m.Topic)
		}
	}
	if strings.Contains(logs.String(), "PLT") {
		t.Errorf("plate text in the log:\n%s", logs)
	}
	for _, want := range []string{"read-only file system; read kept in memory", "no space left on device; read kept in memory", "reads dropped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// The real thing, as root: the state folder on a 64 KiB tmpfs that fills
// up, then is remounted read-only.
func TestIntegrationStateFolderTmpfs(t *testing.T) {
	state := t.TempDir()
	mountTmpfs(t, state, "size=64k")
	b := uplinktest.StartMosquitto(t, nil)
	k := newKeys(t, envelope.KEMX25519)
	col := listen(t, k.receiver(t, "dev1"), tlsClient(b, "backend-tmpfs", false), "lpr/+/+/reads")
	u, err := New(context.Background(), Options{
		Broker: b.URL(), AllowPlaintext: true, Site: "port-a", DeviceID: "dev1",
		RecipientKey: k.rcpt.Public(), SigningKey: k.signer, Suite: suiteFor(k),
		StateDir: state, PublishTimeout: 2 * time.Second, MaxReconnectInterval: 200 * time.Millisecond,
		HealthInterval: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, u)
	waitFor(t, "the device connected", 10*time.Second, func() bool { return u.Health().MQTTConnected })
	b.Stop()
	waitFor(t, "the device to see the broker gone", 10*time.Second, func() bool { return !u.Health().MQTTConnected })
	filler := filepath.Join(state, "filler")
	fillUp(t, filler)
	var ids []string
	submit := func(n int) {
		t.Helper()
		for range n {
			ev := testEvent(len(ids), time.Now())
			ev.EventID = envelope.NewEventID(time.Now())
			if err := u.Submit(ev); err != nil {
				t.Fatalf("Submit: %v", err)
			}
			ids = append(ids, ev.EventID)
		}
	}
	submit(8)
	if h := u.Health(); h.ReadsInMemory != 8 || h.StoreErrors == 0 {
		t.Errorf("Health() on a full tmpfs = %+v; want 8 in memory", h)
	}
	os.Remove(filler)
	waitFor(t, "the held reads on the tmpfs", 10*time.Second, func() bool { return u.Health().ReadsInMemory == 0 })
	if n := len(envFiles(state)); n != 8 {
		t.Errorf("%d envelope files after freeing space; want 8", n)
	}
	if err := syscall.Mount("", state, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, "size=64k"); err != nil {
		t.Fatalf("remount %s read-only: %v", state, err)
	}
	submit(3)
	if h := u.Health(); h.ReadsInMemory != 3 {
		t.Errorf("Health() on a read-only tmpfs = %+v; want 3 in memory", h)
	}
	b.Start()
	waitFor(t, "every read at the listener", 15*time.Second, func() bool { return col.count() == len(ids) })
	waitFor(t, "every read acknowledged", 10*time.Second, func() bool { return u.Health().OutboxDepth == 0 })
	if err := syscall.Mount("", state, "", syscall.MS_REMOUNT, "size=64k"); err != nil {
		t.Fatalf("remount %s read-write: %v", state, err)
	}
	stop()
	if h := u.Health(); h.ReadsDropped != 0 || h.ReadsSent != uint64(len(ids)) {
		t.Errorf("Health() = %+v; want %d sent, none dropped", h, len(ids))
	}
}
