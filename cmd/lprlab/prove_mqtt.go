// The proof suite's view of the backend: lprctl listen started as an
// operator would, its output counted, and the suite's own MQTT client for
// the retained topics and for recording and replaying envelopes.

package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lprd/lprd/uplink/envelope"
)

// proveListener is one `lprctl listen` process; its JSON reads go to out.
type proveListener struct {
	proc          *proveProc
	out, log, dir string
}

// listen starts lprctl listen with a fixed client id and state file in dir
// (so that a restart resumes the same session and replay memory) and waits
// until it has subscribed.
func (e *proveEnv) listen(dir string) (*proveListener, error) {
	return e.listenWith(dir, nil, nil, "-state", filepath.Join(dir, "listen.state"))
}

// listenWith starts lprctl listen with the main broker and the shared
// client certificate (or those of args, which come after them), the
// extra environment, and a client id of dir.
func (e *proveEnv) listenWith(dir string, env []string, unset []string, args ...string) (*proveListener, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	l := &proveListener{out: filepath.Join(dir, "reads.json"), log: filepath.Join(dir, "listen.log"), dir: dir}
	before := strings.Count(fileText(l.log), "subscribed to")
	id := "prove"
	if rel, err := filepath.Rel(e.work, dir); err == nil {
		id += "-" + strings.ReplaceAll(rel, string(filepath.Separator), "-")
	}
	args = append([]string{"listen", "-broker", e.broker.URL(), "-ca", e.pki.CA, "-cert", e.pki.ClientCert, "-key", e.pki.ClientKey,
		"-backend-key", e.backendKey, "-devices", e.devices, "-client-id", id}, args...) // the default -reconnect-max, as an operator runs it
	p, err := e.start(proveCmd{name: "lprctl listen", dir: dir, log: l.log, out: l.out, env: env, unset: unset}, filepath.Join(e.bin, "lprctl"), args...)
	if err != nil {
		return nil, err
	}
	l.proc = p
	if !waitFor(30*time.Second, func() bool { return strings.Count(fileText(l.log), "subscribed to") > before || p.exited() }) || p.exited() {
		return nil, fmt.Errorf("lprctl listen did not subscribe: %s", fileText(l.log))
	}
	return l, nil
}

// proveRead is the part of a listener's JSON line the suite looks at.
type proveRead struct {
	DeviceID string `json:"device_id"`
	Seq      uint64 `json:"seq"`
	Event    struct {
		EventID string `json:"event_id"`
		Plate   string `json:"plate"`
	} `json:"event"`
}

// reads returns the reads a listener wrote (all its runs: the file is
// appended to).
func (l *proveListener) reads() []proveRead {
	var out []proveRead
	sc := bufio.NewScanner(strings.NewReader(fileText(l.out)))
	for sc.Scan() {
		var r proveRead
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

var storedRE = regexp.MustCompile(`msg="read stored" event=(\S+)`)

// storedEvents returns the event ids of lprd's "read stored" log lines.
func storedEvents(log string) []string {
	var ids []string
	for _, m := range storedRE.FindAllStringSubmatch(log, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// delivery compares what lprd stored with what the listener wrote:
// duplicates are reads the listener output twice, dropped those it
// recognised as duplicates and did not output.
type delivery struct {
	produced, delivered, lines, duplicates, dropped, lost int
}

func (d delivery) String() string {
	return fmt.Sprintf("produced %d, delivered %d, lost %d, duplicates removed %d (output twice %d)",
		d.produced, d.delivered, d.lost, d.dropped, d.duplicates)
}

func compareDelivery(stored []string, reads []proveRead, listenLog string) delivery {
	seen := map[string]int{}
	for _, r := range reads {
		seen[r.Event.EventID]++
	}
	d := delivery{produced: len(stored), lines: len(reads), delivered: len(seen), dropped: strings.Count(listenLog, "rejected (duplicate)")}
	d.duplicates = len(reads) - len(seen)
	for _, id := range stored {
		if seen[id] == 0 {
			d.lost++
		}
	}
	return d
}

// waitDelivered waits until every stored read reached the listener.
func waitDelivered(l *proveListener, lprdLog string, d time.Duration) delivery {
	var dl delivery
	waitFor(d, func() bool {
		dl = compareDelivery(storedEvents(fileText(lprdLog)), l.reads(), fileText(l.log))
		return dl.lost == 0
	})
	return dl
}

// mqttClient connects the suite's own client (mutual TLS) to the broker.
func (e *proveEnv) mqttClient(id string) (mqtt.Client, error) {
	return e.mqttClientAs(e.broker.URL(), e.pki.ClientCert, e.pki.ClientKey, id)
}

// mqttClientAs connects a client with the certificate given to url.
func (e *proveEnv) mqttClientAs(url, certFile, keyFile, id string) (mqtt.Client, error) {
	ca, err := os.ReadFile(e.pki.CA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(true).
		SetTLSConfig(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}).
		SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("mqtt connect %s: %v", url, tok.Error())
	}
	return c, nil
}

// retained returns the retained messages under filter, collected for wait.
func (e *proveEnv) retained(filter string, wait time.Duration) (map[string][]byte, error) {
	c, err := e.mqttClient("prove-retained")
	if err != nil {
		return nil, err
	}
	defer c.Disconnect(100)
	var mu sync.Mutex
	got := map[string][]byte{}
	tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		if m.Retained() {
			mu.Lock()
			got[m.Topic()] = append([]byte(nil), m.Payload()...)
			mu.Unlock()
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("subscribe %s: %v", filter, tok.Error())
	}
	time.Sleep(wait)
	mu.Lock()
	defer mu.Unlock()
	return got, nil
}

// health returns a device's retained health message.
func (e *proveEnv) health(device string) (map[string]any, error) {
	msgs, err := e.retained("lpr/prove/"+device+"/health", 2*time.Second)
	if err != nil {
		return nil, err
	}
	b, ok := msgs["lpr/prove/"+device+"/health"]
	if !ok {
		return nil, fmt.Errorf("no retained health for %s", device)
	}
	// Health may be signed (a wrapper with the body inside) or plain.
	m, _, err := envelope.ParseMonitor(b)
	if err != nil && !errors.Is(err, envelope.ErrUnsignedMonitor) {
		return nil, fmt.Errorf("health of %s: %w", device, err)
	}
	var h map[string]any
	return h, json.Unmarshal(m.Body, &h)
}

// recorder keeps every envelope published on a reads topic, to replay.
type recorder struct {
	c    mqtt.Client
	mu   sync.Mutex
	msgs []mqtt.Message
}

func (e *proveEnv) record(filter string) (*recorder, error) {
	c, err := e.mqttClient("prove-recorder")
	if err != nil {
		return nil, err
	}
	r := &recorder{c: c}
	tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		r.mu.Lock()
		r.msgs = append(r.msgs, m)
		r.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		c.Disconnect(100)
		return nil, fmt.Errorf("subscribe %s: %v", filter, tok.Error())
	}
	return r, nil
}

// replay publishes every recorded envelope again, as an attacker with
// broker access would, and returns how many.
func (r *recorder) replay() (int, error) {
	r.mu.Lock()
	msgs := append([]mqtt.Message(nil), r.msgs...)
	r.mu.Unlock()
	for _, m := range msgs {
		tok := r.c.Publish(m.Topic(), 1, false, m.Payload())
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			return 0, fmt.Errorf("replay publish %s: %v", m.Topic(), tok.Error())
		}
	}
	return len(msgs), nil
}

func (r *recorder) close() { r.c.Disconnect(100) }
