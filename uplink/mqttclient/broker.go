package mqttclient

import (
	"fmt"
	"net/url"
	"strings"
)

// Broker is a parsed broker URL.
type Broker struct {
	Scheme string // as written, lower case: ssl, tls, mqtts, tcp or mqtt
	Host   string // host:port
	TLS    bool   // ssl, tls and mqtts; tcp and mqtt are plain text
}

// The one list of broker schemes: [New] and the daemon's configuration both go
// through ParseBroker.
var (
	tlsSchemes   = []string{"ssl", "tls", "mqtts"}
	plainSchemes = []string{"tcp", "mqtt"}
)

// ParseBroker parses a broker URL: scheme://host:port, with a TLS scheme (ssl,
// tls, mqtts) or a plain-text one (tcp, mqtt). Whether plain text is allowed
// is the caller's choice (see [Config.AllowPlaintext] and [ErrPlaintext]).
func ParseBroker(raw string) (Broker, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Port() == "" || u.Hostname() == "" {
		return Broker{}, fmt.Errorf("MQTT broker %q: want scheme://host:port, like ssl://broker:8883", raw)
	}
	b := Broker{Scheme: strings.ToLower(u.Scheme), Host: u.Host}
	switch {
	case contains(tlsSchemes, b.Scheme):
		b.TLS = true
	case contains(plainSchemes, b.Scheme):
	default:
		return Broker{}, fmt.Errorf("MQTT broker %s: scheme %q: want %s:// (TLS) or %s:// (plain text)",
			raw, u.Scheme, strings.Join(tlsSchemes, "://, "), strings.Join(plainSchemes, "://, "))
	}
	return b, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
