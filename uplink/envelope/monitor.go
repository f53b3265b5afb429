package envelope

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Signed monitoring messages. The status and health topics are retained and read
// by operators; without a signature anyone who may publish there could show a
// forged "online ... reads_sent=999". A device signs each such message with its
// Ed25519 key (the one that signs its envelopes):
//
//	{"v":1,"device":"<id>","topic":"<topic>","time":"<RFC 3339 ns>","body":<body>,"sig":"<base64>"}
//
// body is the health JSON object, or the status word as a JSON string ("online",
// "offline", "stopped"); sig is Ed25519 over MonitorContext, NUL, then the exact
// bytes of the message with "sig" removed, i.e. up to and including the body's
// closing byte followed by "}". The topic is signed, so a message cannot be moved
// to another device's topic; the time tells a replayed old message. The Last Will
// ("offline") is signed when the uplink is created, so its time is the start time.

// MonitorContext separates monitoring signatures from envelope signatures.
const MonitorContext = "lprd-monitor-v1"

// MonitorMessage is a parsed signed monitoring message.
type MonitorMessage struct {
	DeviceID string
	Topic    string
	Time     time.Time
	// Body is the health JSON, or the status word's JSON string.
	Body json.RawMessage
	// Verified is set by VerifyMonitor.
	Verified bool
}

// Status returns the status word of a status message ("" for a health body).
func (m *MonitorMessage) Status() string {
	var s string
	if json.Unmarshal(m.Body, &s) != nil {
		return ""
	}
	return s
}

type monitorWire struct {
	V      int             `json:"v"`
	Device string          `json:"device"`
	Topic  string          `json:"topic"`
	Time   string          `json:"time"`
	Body   json.RawMessage `json:"body"`
	Sig    string          `json:"sig,omitempty"`
}

// SignMonitor returns the signed message for body on topic. body must be valid
// JSON (a health object, or a status word marshalled as a string).
func SignMonitor(key ed25519.PrivateKey, deviceID, topic string, at time.Time, body []byte) ([]byte, error) {
	if !json.Valid(body) {
		return nil, errors.New("envelope: monitor body is not JSON")
	}
	unsigned, err := json.Marshal(monitorWire{V: 1, Device: deviceID, Topic: topic, Time: at.UTC().Format(time.RFC3339Nano), Body: body})
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(key, monitorSigned(unsigned))
	out := append(unsigned[:len(unsigned)-1:len(unsigned)-1], `,"sig":"`...)
	out = base64.StdEncoding.AppendEncode(out, sig)
	return append(out, `"}`...), nil
}

func monitorSigned(unsigned []byte) []byte {
	return append(append([]byte(MonitorContext), 0), unsigned...)
}

// ErrUnsignedMonitor marks a monitoring message that carries no signature: a
// plain status word or health object from a device that does not sign, or a
// forgery.
var ErrUnsignedMonitor = errors.New("envelope: monitoring message is not signed")

// ParseMonitor parses a signed monitoring message without verifying it. A plain
// payload (an unsigned status word or health object) gives ErrUnsignedMonitor and
// a message whose Body is the payload.
func ParseMonitor(payload []byte) (*MonitorMessage, []byte, error) {
	var w monitorWire
	if err := json.Unmarshal(payload, &w); err != nil || w.V != 1 || w.Sig == "" {
		body := payload
		if !json.Valid(payload) {
			body, _ = json.Marshal(strings.TrimSpace(string(payload)))
		}
		return &MonitorMessage{Body: body}, nil, ErrUnsignedMonitor
	}
	at, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return nil, nil, fmt.Errorf("envelope: monitor time %q: %w", w.Time, err)
	}
	sig, err := base64.StdEncoding.DecodeString(w.Sig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, nil, errors.New("envelope: monitor signature is not a base64 Ed25519 signature")
	}
	i := bytes.LastIndex(payload, []byte(`,"sig":"`))
	if i < 0 {
		return nil, nil, errors.New("envelope: monitor signature is not the last field")
	}
	unsigned := append(payload[:i:i], '}')
	return &MonitorMessage{DeviceID: w.Device, Topic: w.Topic, Time: at, Body: w.Body}, append(monitorSigned(unsigned), sig...), nil
}

// VerifyMonitor parses payload, received on topic, and verifies it with one of
// keys (the device's signing keys). It fails for an unsigned message
// (ErrUnsignedMonitor, with the message still returned), a bad signature, or a
// message signed for another topic.
func VerifyMonitor(payload []byte, topic string, keys []ed25519.PublicKey) (*MonitorMessage, error) {
	m, signed, err := ParseMonitor(payload)
	if err != nil {
		return m, err
	}
	if m.Topic != topic {
		return m, fmt.Errorf("envelope: monitoring message of topic %q published on %q", m.Topic, topic)
	}
	msg, sig := signed[:len(signed)-ed25519.SignatureSize], signed[len(signed)-ed25519.SignatureSize:]
	for _, k := range keys {
		if ed25519.Verify(k, msg, sig) {
			m.Verified = true
			return m, nil
		}
	}
	return m, fmt.Errorf("envelope: monitoring message of device %q: signature does not verify with its %d key(s)", m.DeviceID, len(keys))
}
