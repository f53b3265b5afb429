package main

import (
	"flag"
	"os"

	"github.com/lprd/lprd/uplink/mqttclient"
)

// mqttFlags are the connection flags listen and status share; defaults come
// from LPRCTL_* variables.
type mqttFlags struct {
	broker, ca, cert, key, clientID, prefix string
	plaintext                               bool
}

func (m *mqttFlags) register(fs *flag.FlagSet, defaultClientID string) {
	fs.StringVar(&m.broker, "broker", os.Getenv("LPRCTL_BROKER"), "broker URL, ssl://host:8883 or tcp://host:1883 ($LPRCTL_BROKER)")
	fs.StringVar(&m.ca, "ca", os.Getenv("LPRCTL_CA"), "PEM CA of the broker's certificate ($LPRCTL_CA)")
	fs.StringVar(&m.cert, "cert", os.Getenv("LPRCTL_CERT"), "PEM client certificate for mutual TLS ($LPRCTL_CERT)")
	fs.StringVar(&m.key, "key", os.Getenv("LPRCTL_KEY"), "PEM key of -cert ($LPRCTL_KEY)")
	fs.BoolVar(&m.plaintext, "allow-plaintext", os.Getenv("LPRCTL_ALLOW_PLAINTEXT") == "true", "allow a tcp:// broker without TLS ($LPRCTL_ALLOW_PLAINTEXT=true)")
	fs.StringVar(&m.clientID, "client-id", defaultClientID, "MQTT client id (stable, for a persistent session)")
	fs.StringVar(&m.prefix, "prefix", "lpr", "topic prefix of the devices (LPRD_TOPIC_PREFIX)")
}

func (m *mqttFlags) config(clean bool) mqttclient.Config {
	return mqttclient.Config{
		Broker: m.broker, AllowPlaintext: m.plaintext, CAFile: m.ca, CertFile: m.cert, KeyFile: m.key,
		ClientID: m.clientID, CleanSession: clean,
	}
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "backend"
	}
	return h
}
