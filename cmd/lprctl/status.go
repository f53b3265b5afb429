package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lprd/lprd/uplink"
	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/mqttclient"
	"github.com/lprd/lprd/uplink/receiver"
)

// deviceStatus is what lprctl status knows about one device.
type deviceStatus struct {
	Site     string          `json:"site"`
	DeviceID string          `json:"device_id"`
	Status   string          `json:"status"`
	Health   json.RawMessage `json:"health,omitempty"`
	// HealthStale is set when the device is offline (its Last Will): the
	// retained health is the last one it sent before it went away, and
	// says nothing of now (a crashed daemon's still reads "streaming").
	HealthStale bool `json:"health_stale,omitempty"`
	// StatusVerified and HealthVerified say whether the device signed the
	// message shown (one of the check* values); empty when there is none.
	StatusVerified string `json:"status_verified,omitempty"`
	HealthVerified string `json:"health_verified,omitempty"`
}

// What lprctl status says of a status or health message's signature.
const (
	checkVerified = "verified"      // signed by the device, for this topic
	checkUnsigned = "UNSIGNED"      // a plain payload: an old device, or a forgery
	checkBad      = "BAD SIGNATURE" // another key, device or topic, or tampered
	// checkUnknown: signed, but the devices folder has no key of the device.
	checkUnknown = "UNKNOWN DEVICE"
	// checkNoKeys: signed, but no -devices to check it with.
	checkNoKeys = "unverified (no -devices)"
)

// statusConfig is what lprctl status's flags ask for.
type statusConfig struct {
	mqtt    mqttFlags
	wait    time.Duration
	asJSON  bool
	devices string // folder of <device id>.pub; "": messages are not verified
}

func statusMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg statusConfig
	cfg.mqtt.register(fs, fmt.Sprintf("lprctl-status-%s-%d", hostname(), time.Now().UnixNano()))
	fs.DurationVar(&cfg.wait, "wait", 2*time.Second, "how long to collect retained messages")
	fs.BoolVar(&cfg.asJSON, "json", false, "print one JSON object per device")
	fs.StringVar(&cfg.devices, "devices", os.Getenv("LPRCTL_DEVICES"),
		"folder of device public keys, <device id>.pub, as for listen ($LPRCTL_DEVICES): verify each device's signed status and health")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if cfg.mqtt.broker == "" {
		fmt.Fprintln(stderr, "lprctl status: -broker is required")
		return 2
	}
	var keys map[string][]ed25519.PublicKey
	if cfg.devices != "" {
		var err error
		if keys, err = receiver.LoadDeviceKeys(cfg.devices); err != nil {
			fmt.Fprintf(stderr, "lprctl status: %v\n", err)
			return 1
		}
	}
	devs, err := collectStatus(ctx, cfg, keys)
	if err != nil {
		fmt.Fprintf(stderr, "lprctl status: %v\n", err)
		return 1
	}
	writeStatus(stdout, devs, cfg.asJSON)
	if len(devs) == 0 {
		fmt.Fprintf(stderr, "lprctl status: no device under %s/ answered within %v\n", cfg.mqtt.prefix, cfg.wait)
	}
	return 0
}

// collectStatus connects, subscribes to every device's status and health
// and gathers the retained messages for cfg.wait (or until ctx ends),
// verifying them with keys (nil: not verified). The result is sorted by
// site/device.
func collectStatus(ctx context.Context, cfg statusConfig, keys map[string][]ed25519.PublicKey) ([]*deviceStatus, error) {
	c, err := mqttclient.New(cfg.mqtt.config(true))
	if err != nil {
		return nil, err
	}
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect %s: no answer within 10s", cfg.mqtt.broker)
	}
	if err := tok.Error(); err != nil {
		return nil, mqttclient.ExplainConnect(cfg.mqtt.broker, err)
	}
	defer c.Disconnect(100)
	set := statusSet{prefix: cfg.mqtt.prefix, keys: keys, devs: map[string]*deviceStatus{}}
	handle := func(msg mqttclient.Message) { set.add(msg.Topic(), msg.Payload()) }
	for _, sub := range []string{"/+/+/status", "/+/+/health"} {
		st := c.Subscribe(cfg.mqtt.prefix+sub, 1, handle)
		if !st.WaitTimeout(10*time.Second) || st.Error() != nil {
			return nil, fmt.Errorf("subscribe %s: %v", cfg.mqtt.prefix+sub, st.Error())
		}
	}
	select {
	case <-ctx.Done():
	case <-time.After(cfg.wait):
	}
	return set.sorted(), nil
}

// statusSet gathers status and health messages by site/device; it is safe
// for concurrent use.
type statusSet struct {
	prefix string
	// keys are the devices' signing keys, by device id; nil when lprctl
	// status has no -devices.
	keys map[string][]ed25519.PublicKey
	mu   sync.Mutex
	devs map[string]*deviceStatus
}

// add records one message of <prefix>/<site>/<device>/{status,health},
// signed (envelope.SignMonitor) or plain, with what its signature says;
// other topics, and health that is not JSON, are ignored.
func (s *statusSet) add(topic string, payload []byte) {
	parts := strings.Split(strings.TrimPrefix(topic, s.prefix+"/"), "/")
	if len(parts) != 3 || (parts[2] != "status" && parts[2] != "health") {
		return
	}
	m, check := s.check(topic, parts[1], payload)
	s.mu.Lock()
	defer s.mu.Unlock()
	key := parts[0] + "/" + parts[1]
	d := s.devs[key]
	if d == nil {
		d = &deviceStatus{Site: parts[0], DeviceID: parts[1], Status: "unknown"}
		s.devs[key] = d
	}
	switch {
	case parts[2] == "status" && m == nil:
		d.Status, d.StatusVerified = "invalid", check
	case parts[2] == "status":
		d.Status, d.StatusVerified = m.Status(), check
		if d.Status == "" { // not a JSON string
			d.Status = strings.TrimSpace(string(m.Body))
		}
	case m == nil:
		d.Health, d.HealthVerified = nil, check
	case check != checkUnsigned || json.Valid(payload): // a plain payload must be JSON itself
		d.Health, d.HealthVerified = append(json.RawMessage(nil), m.Body...), check
	}
	d.HealthStale = d.Status == uplink.StatusOffline && d.Health != nil
}

// check parses a status or health message that came on topic, the topic of
// device id, and says what its signature is worth. The message is nil when
// a signed one cannot be parsed (then checkBad).
func (s *statusSet) check(topic, id string, payload []byte) (*envelope.MonitorMessage, string) {
	m, _, err := envelope.ParseMonitor(payload)
	switch {
	case errors.Is(err, envelope.ErrUnsignedMonitor):
		return m, checkUnsigned
	case err != nil:
		return nil, checkBad
	case m.DeviceID != id || m.Topic != topic:
		return m, checkBad // another device's message, moved here
	case s.keys == nil:
		return m, checkNoKeys
	case len(s.keys[id]) == 0:
		return m, checkUnknown
	}
	if _, err := envelope.VerifyMonitor(payload, topic, s.keys[id]); err != nil {
		return m, checkBad
	}
	return m, checkVerified
}

// sorted returns the devices by site/device.
func (s *statusSet) sorted() []*deviceStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*deviceStatus, 0, len(s.devs))
	for _, d := range s.devs {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Site+"/"+out[i].DeviceID < out[j].Site+"/"+out[j].DeviceID
	})
	return out
}

// writeStatus prints one line per device: JSON objects, or site/device,
// status, what the signatures say and the health summary.
func writeStatus(w io.Writer, devs []*deviceStatus, asJSON bool) {
	for _, d := range devs {
		if asJSON {
			b, _ := json.Marshal(d)
			fmt.Fprintf(w, "%s\n", b)
			continue
		}
		fmt.Fprintf(w, "%-40s %-8s %s %s\n", d.Site+"/"+d.DeviceID, d.Status, checks(d), summary(d.Health, d.HealthStale))
	}
}

// checks says in brackets whether the status and health shown are signed:
// "[status and health verified]", "[status verified, health UNSIGNED]".
func checks(d *deviceStatus) string {
	switch {
	case d.StatusVerified == "" && d.HealthVerified == "":
		return "[no messages]"
	case d.HealthVerified == "":
		return "[status " + d.StatusVerified + "]"
	case d.StatusVerified == "":
		return "[health " + d.HealthVerified + "]"
	case d.StatusVerified == d.HealthVerified:
		return "[status and health " + d.StatusVerified + "]"
	}
	return "[status " + d.StatusVerified + ", health " + d.HealthVerified + "]"
}

// summaryKeys are the health figures an operator looks at first, by stage:
// camera and reading, then the outbox and the state folder.
var summaryKeys = []string{
	"time", "camera_state", "fps_processed", "frames_corrupt", "latency_p99_ms", "results_below_bar",
	"reads_sent", "outbox_depth", "reads_in_memory", "outbox_oldest_age_s",
	"reads_expired", "reads_evicted", "reads_dropped", "outbox_store_errors", "cpu_temp_c",
}

// summary picks the figures an operator looks at first. A stale health (the
// device is offline) is marked as the last one before it went offline, with
// its time, so that its camera_state is not taken for the present one.
func summary(h json.RawMessage, stale bool) string {
	if h == nil {
		return "(no health)"
	}
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(h))
	dec.UseNumber() // counters as sent, not 1.234567e+06
	if dec.Decode(&v) != nil {
		return "(bad health)"
	}
	var parts []string
	if stale {
		if at, ok := v["time"].(string); ok {
			parts = append(parts, "(last health before going offline, at "+at+")")
		} else {
			parts = append(parts, "(last health before going offline)")
		}
	}
	for _, k := range summaryKeys {
		if k == "time" && stale {
			continue // in the note
		}
		if x, ok := v[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, x))
		}
	}
	return strings.Join(parts, " ")
}
