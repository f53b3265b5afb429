package mqttclient

import (
	"strings"
	"testing"
)

func TestParseBroker(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Broker
		err  string
	}{
		{"ssl://broker.example:8883", Broker{Scheme: "ssl", Host: "broker.example:8883", TLS: true}, ""},
		{"TLS://10.0.0.1:8883", Broker{Scheme: "tls", Host: "10.0.0.1:8883", TLS: true}, ""},
		{"mqtts://[::1]:8883", Broker{Scheme: "mqtts", Host: "[::1]:8883", TLS: true}, ""},
		{"tcp://127.0.0.1:1883", Broker{Scheme: "tcp", Host: "127.0.0.1:1883"}, ""},
		{"mqtt://127.0.0.1:1883", Broker{Scheme: "mqtt", Host: "127.0.0.1:1883"}, ""},
		{"ws://127.0.0.1:80", Broker{}, `scheme "ws"`},
		{"ssl://broker", Broker{}, "host:port"},
		{"ssl://:8883", Broker{}, "host:port"},
		{"127.0.0.1:1883", Broker{}, "host:port"},
		{"", Broker{}, "host:port"},
	} {
		got, err := ParseBroker(tc.raw)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseBroker(%q) error %v; want one containing %q", tc.raw, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseBroker(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
	}
}
