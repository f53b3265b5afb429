package uplinktest

import (
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

// MosquittoBinary returns the mosquitto to start: $LPRD_TEST_MOSQUITTO, else
// /usr/sbin/mosquitto or mosquitto on PATH. Without one the test skips, or
// fails when CI=true.
func MosquittoBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("LPRD_TEST_MOSQUITTO"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/sbin/mosquitto", "mosquitto"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("mosquitto not found: set LPRD_TEST_MOSQUITTO (apt-get install mosquitto)")
	}
	t.Skip("mosquitto not found (set LPRD_TEST_MOSQUITTO)")
	return ""
}

// Mosquitto is a broker started by a test, on a fixed loopback port that
// survives Stop and Start.
type Mosquitto struct {
	t    testing.TB
	bin  string
	dir  string
	Port int
	TLS  *PKI // nil for a plain-text listener
	cmd  *exec.Cmd
	exit chan struct{}
}

// StartMosquitto starts a broker with persistence in a temporary folder (so
// persistent sessions and their queued messages survive a restart) and a
// plain listener, or a mutual-TLS listener when pki is not nil. The broker
// is killed when the test ends.
func StartMosquitto(t testing.TB, pki *PKI) *Mosquitto {
	t.Helper()
	return StartMosquittoWith(t, pki)
}

// StartMosquittoWith is StartMosquitto with extra configuration lines (an
// acl_file, say), appended after the test's own.
func StartMosquittoWith(t testing.TB, pki *PKI, extra ...string) *Mosquitto {
	t.Helper()
	m := &Mosquitto{t: t, bin: MosquittoBinary(t), dir: t.TempDir(), Port: FreePort(t), TLS: pki}
	conf := []string{
		fmt.Sprintf("listener %d 127.0.0.1", m.Port),
		"allow_anonymous true",
		"persistence true",
		"persistence_location " + m.dir + "/",
		"autosave_interval 1",
		"max_queued_messages 0",
		"max_inflight_messages 0",
		"log_dest file " + filepath.Join(m.dir, "mosquitto.log"),
		"log_type error",
		"log_type warning",
		"log_type notice",
	}
	if os.Geteuid() == 0 {
		// Started as root, mosquitto would switch to the mosquitto user,
		// who cannot read the test's temporary folder.
		conf = append(conf, "user root")
	}
	if pki != nil {
		conf = append(conf,
			"cafile "+pki.CAFile, "certfile "+pki.ServerCert, "keyfile "+pki.ServerKey,
			"require_certificate true", "use_identity_as_username true")
	}
	conf = append(conf, extra...)
	if err := os.WriteFile(filepath.Join(m.dir, "mosquitto.conf"), []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m.Start()
	t.Cleanup(m.Kill)
	return m
}

// URL is the broker's address for mqttclient.
func (m *Mosquitto) URL() string {
	if m.TLS != nil {
		return fmt.Sprintf("ssl://127.0.0.1:%d", m.Port)
	}
	return fmt.Sprintf("tcp://127.0.0.1:%d", m.Port)
}

// Start (re)starts the broker and waits until it accepts connections.
func (m *Mosquitto) Start() {
	m.t.Helper()
	m.cmd = exec.Command(m.bin, "-c", filepath.Join(m.dir, "mosquitto.conf"))
	stderr, err := os.OpenFile(filepath.Join(m.dir, "stderr.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		m.t.Fatal(err)
	}
	defer stderr.Close()
	m.cmd.Stdout, m.cmd.Stderr = stderr, stderr
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start mosquitto: %v", err)
	}
	m.exit = make(chan struct{})
	go func(cmd *exec.Cmd, exit chan struct{}) { cmd.Wait(); close(exit) }(m.cmd, m.exit)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", m.Port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-m.exit:
			m.t.Fatalf("mosquitto exited at start; log:\n%s", m.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
	m.t.Fatalf("mosquitto did not listen on port %d", m.Port)
}

// Stop ends the broker with SIGTERM (it saves its persistent state) and
// waits for it.
func (m *Mosquitto) Stop() { m.signal(syscall.SIGTERM) }

// Reload makes the broker reread its configuration files, the ACL among
// them (SIGHUP).
func (m *Mosquitto) Reload() {
	if m.cmd != nil && m.cmd.Process != nil {
		m.cmd.Process.Signal(syscall.SIGHUP)
	}
}

// Kill ends the broker with SIGKILL, as a crash or a cut cable would.
func (m *Mosquitto) Kill() { m.signal(syscall.SIGKILL) }

func (m *Mosquitto) signal(sig syscall.Signal) {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	select {
	case <-m.exit:
		return
	default:
	}
	m.cmd.Process.Signal(sig)
	select {
	case <-m.exit:
	case <-time.After(10 * time.Second):
		m.cmd.Process.Kill()
		<-m.exit
	}
}

// Log returns the broker's log and error output so far.
func (m *Mosquitto) Log() string {
	a, _ := os.ReadFile(filepath.Join(m.dir, "stderr.log"))
	b, _ := os.ReadFile(filepath.Join(m.dir, "mosquitto.log"))
	return string(a) + string(b)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
