package mqttclient

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o600)
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Broker: "tcp://127.0.0.1:1883"}, "plain-text MQTT refused"},
		{Config{Broker: "mqtt://127.0.0.1:1883"}, "plain-text MQTT refused"},
		{Config{Broker: "ws://127.0.0.1:80"}, "scheme"},
		{Config{Broker: "127.0.0.1:1883"}, "want scheme://host:port"},
		{Config{Broker: "ssl://127.0.0.1:8883", CAFile: filepath.Join(dir, "missing.pem")}, "CA file"},
		{Config{Broker: "ssl://127.0.0.1:8883", CAFile: junk}, "no PEM certificate"},
		{Config{Broker: "ssl://127.0.0.1:8883", CertFile: junk}, "together"},
		{Config{Broker: "ssl://127.0.0.1:8883", CertFile: junk, KeyFile: junk}, "client certificate"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) error %v; want one containing %q", tt.cfg, err, tt.want)
		}
	}
	if _, err := New(Config{Broker: "tcp://127.0.0.1:1883"}); !errors.Is(err, ErrPlaintext) {
		t.Errorf("New(tcp://) error %v; want ErrPlaintext", err)
	}
	for _, ok := range []Config{
		{Broker: "tcp://127.0.0.1:1883", AllowPlaintext: true},
		{Broker: "ssl://127.0.0.1:8883"},
		{Broker: "mqtts://broker.example:8883"},
	} {
		if _, err := New(ok); err != nil {
			t.Errorf("New(%+v) error %v", ok, err)
		}
	}
}
