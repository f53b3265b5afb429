// The proof suite's access row: deploy/mosquitto/lprd.acl in a second
// mosquitto, with a real lprd as one device and lprctl listen as the
// backend, and forgeries by another device and by the backend.

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// collector keeps topic and payload of every message a subscription saw.
type collector struct {
	mu   sync.Mutex
	msgs []string // topic " " payload
}

func (c *collector) subscribe(cl mqtt.Client, filter string) error {
	tok := cl.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		c.mu.Lock()
		c.msgs = append(c.msgs, m.Topic()+" "+string(m.Payload()))
		c.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("subscribe %s: %v", filter, tok.Error())
	}
	return nil
}

// count returns how many messages contain s (topic or payload).
func (c *collector) count(s string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.msgs {
		if strings.Contains(m, s) {
			n++
		}
	}
	return n
}

// aclSetup is the ACL broker and a certificate per user name.
type aclSetup struct {
	broker *proveBroker
	certs  map[string][2]string // CN -> cert, key
}

func (e *proveEnv) aclBroker(dir string) (*aclSetup, error) {
	acl, err := filepath.Abs(filepath.Join(e.repo, "deploy", "mosquitto", "lprd.acl"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(acl); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &aclSetup{certs: map[string][2]string{}}
	for _, cn := range []string{"cam-a", "cam-b", "lprd-backend"} {
		cert, key, err := e.pki.issue(dir, cn)
		if err != nil {
			return nil, err
		}
		s.certs[cn] = [2]string{cert, key}
	}
	s.broker, err = e.newBrokerWith("broker-acl", e.pki.ServerCert, e.pki.ServerKey, "acl_file "+acl)
	return s, err
}

func (s *aclSetup) client(e *proveEnv, cn, id string) (mqtt.Client, error) {
	return e.mqttClientAs(s.broker.URL(), s.certs[cn][0], s.certs[cn][1], id)
}

// forge publishes payload on topic as cn, on a connection of its own
// (mosquitto may drop a client after a denied publish).
func (s *aclSetup) forge(e *proveEnv, cn, topic, payload string) {
	c, err := s.client(e, cn, "forge-"+cn+"-"+strings.ReplaceAll(topic, "/", "-"))
	if err != nil {
		return
	}
	c.Publish(topic, 1, false, []byte(payload)).WaitTimeout(5 * time.Second)
	c.Disconnect(100)
}

// proveACL: with deploy/mosquitto/lprd.acl, lprd as cam-a delivers its reads
// to lprctl listen as lprd-backend; cam-a cannot publish on cam-b's reads,
// status or health, nor read anyone's reads (its own included); the
// backend cannot publish reads.
func proveACL(e *proveEnv) proveRow {
	dir := filepath.Join(e.work, "acl")
	s, err := e.aclBroker(dir)
	if err != nil {
		return failRow("%v", err)
	}
	defer s.broker.Stop()
	envFile := filepath.Join(dir, "cam-a.env") // first: its key joins the devices folder the listener loads
	cert := s.certs["cam-a"]
	if err := e.lprdEnv(envFile, "cam-a", map[string]string{"LPRD_MQTT_BROKER": s.broker.URL(), "LPRD_MQTT_CERT": cert[0], "LPRD_MQTT_KEY": cert[1],
		"LPRD_STATE_DIR": filepath.Join(dir, "state-cam-a")}); err != nil {
		return failRow("%v", err)
	}
	be := s.certs["lprd-backend"]
	l, err := e.listenWith(filepath.Join(dir, "listen"), nil, nil, "-broker", s.broker.URL(), "-cert", be[0], "-key", be[1],
		"-state", filepath.Join(dir, "listen", "listen.state"))
	if err != nil {
		return failRow("%v", err)
	}
	defer l.proc.stop(syscall.SIGTERM, 15*time.Second)
	var spy, camAReads collector
	spyC, err := s.client(e, "lprd-backend", "spy")
	if err != nil {
		return failRow("%v", err)
	}
	defer spyC.Disconnect(100)
	readerC, err := s.client(e, "cam-a", "cam-a-reader")
	if err != nil {
		return failRow("%v", err)
	}
	defer readerC.Disconnect(100)
	if err := spy.subscribe(spyC, "lpr/#"); err != nil {
		return failRow("%v", err)
	}
	if err := camAReads.subscribe(readerC, "lpr/+/+/reads"); err != nil {
		return failRow("%v", err)
	}
	for _, sub := range []string{"reads", "status", "health"} {
		s.forge(e, "cam-a", "lpr/prove/cam-b/"+sub, "forged-by-cam-a")
	}
	s.forge(e, "lprd-backend", "lpr/prove/cam-a/reads", "forged-by-backend")
	code, dl, err := e.aclDevice(dir, envFile)
	if err != nil {
		return failRow("%v", err)
	}
	camB, err := s.client(e, "cam-b", "cam-b")
	if err != nil {
		return failRow("%v", err)
	}
	defer camB.Disconnect(100)
	if err := (publisher{camB}).publish("lpr/prove/cam-b/reads", []byte("marker-cam-b"), false); err != nil {
		return failRow("cam-b on its own topic: %v", err)
	}
	waitFor(10*time.Second, func() bool { return spy.count("marker-cam-b") > 0 })
	time.Sleep(500 * time.Millisecond)
	forgedA, forgedB := spy.count("forged-by-cam-a"), spy.count("forged-by-backend")
	ownReads := spy.count("lpr/prove/cam-a/reads ")
	pass := code == 0 && dl.produced > 0 && dl.lost == 0 && spy.count("marker-cam-b") == 1 && forgedA == 0 && forgedB == 0 &&
		camAReads.count("lpr/") == 0 && ownReads >= dl.produced
	return proveRow{pass: pass, figure: fmt.Sprintf("lprd as cam-a -> lprctl listen as lprd-backend: %s; cam-a's forgeries on cam-b's reads, status, health seen by the backend: %d of 3; "+
		"backend's forged read: %d of 1; cam-a subscribed to lpr/+/+/reads got %d of %d reads; cam-b on its own topic: %d of 1",
		dl, forgedA, forgedB, camAReads.count("lpr/"), ownReads, spy.count("marker-cam-b"))}
}

// aclDevice runs lprd as cam-a over the clip against the ACL broker.
func (e *proveEnv) aclDevice(dir, envFile string) (int, delivery, error) {
	log := filepath.Join(dir, "cam-a.log")
	p, err := e.start(proveCmd{name: "lprd", dir: dir, log: log}, filepath.Join(e.bin, "lprd"), "run", "-env", envFile)
	if err != nil {
		return 0, delivery{}, err
	}
	code, ok := p.wait(3 * time.Minute)
	if !ok {
		p.stop(syscall.SIGKILL, 5*time.Second)
	}
	l := &proveListener{out: filepath.Join(dir, "listen", "reads.json"), log: filepath.Join(dir, "listen", "listen.log")}
	return code, waitDelivered(l, log, 30*time.Second), nil
}
