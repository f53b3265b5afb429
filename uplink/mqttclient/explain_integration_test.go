package mqttclient_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lprd/lprd/uplink/mqttclient"
	"github.com/lprd/lprd/uplink/uplinktest"
)

// TestIntegrationConnectErrorsNameTheProblem connects the ways an operator gets
// wrong: ssl:// to a plain listener, tcp:// to a TLS one, no client certificate
// for a broker that wants one, a CA that did not sign the broker. Each error says
// what to check, not just "connection reset by peer".
func TestIntegrationConnectErrorsNameTheProblem(t *testing.T) {
	pki := uplinktest.NewPKI(t)
	plain := uplinktest.StartMosquitto(t, nil)
	tlsb := uplinktest.StartMosquitto(t, pki)
	for _, tc := range []struct {
		name string
		cfg  mqttclient.Config
		want string
	}{
		{"ssl to plain", mqttclient.Config{Broker: fmt.Sprintf("ssl://127.0.0.1:%d", plain.Port), CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}, "plain-text listener"},
		{"tcp to TLS", mqttclient.Config{Broker: fmt.Sprintf("tcp://127.0.0.1:%d", tlsb.Port), AllowPlaintext: true}, "TLS listener"},
		{"no client certificate", mqttclient.Config{Broker: tlsb.URL(), CAFile: pki.CAFile}, "client certificate"},
		{"foreign CA", mqttclient.Config{Broker: tlsb.URL(), CAFile: pki.OtherCAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}, "CA"},
	} {
		tc.cfg.ClientID, tc.cfg.CleanSession, tc.cfg.ConnectTimeout = "explain-"+strings.ReplaceAll(tc.name, " ", "-"), true, 5*time.Second
		c, err := mqttclient.New(tc.cfg)
		if err != nil {
			t.Fatalf("%s: New: %v", tc.name, err)
		}
		tok := c.Connect()
		tok.WaitTimeout(10 * time.Second)
		err = mqttclient.ExplainConnect(tc.cfg.Broker, tok.Error())
		c.Disconnect(0)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: connect error %v; want it to mention %q", tc.name, err, tc.want)
		} else {
			t.Logf("%s: %v", tc.name, err)
		}
	}
}
