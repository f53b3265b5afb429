// Package mqttclient is the small MQTT boundary of lprd: the few client
// methods uplink and lprctl use ([Client], [Token], [Message]), a [Factory]
// that tests replace with a fake (see uplink/uplinktest), and the
// implementation on paho.mqtt.golang with lprd's TLS rules.
//
// TLS with a CA file and a client certificate (mutual TLS) is the expected
// setup (ssl://, tls:// or mqtts:// URLs). A plain tcp:// broker is refused
// unless Config.AllowPlaintext is set, which is meant for loopback demos and
// tests.
//
// Every operation returns a Token; callers wait with WaitTimeout or select
// on Done, never without a bound.
package mqttclient
