// Package uplinktest holds what tests of uplink and lprctl share: a
// hand-written fake MQTT client (FakeClient) with knobs for failures and
// held acknowledgements, a throw-away PKI made with crypto/x509 for mutual
// TLS, and a runner that starts, stops and restarts a real mosquitto on a
// free loopback port with a configuration in a test's temporary folder.
//
// Tests that need mosquitto find it through LPRD_TEST_MOSQUITTO (or
// /usr/sbin/mosquitto); without it they skip, except when CI=true, where
// they fail.
package uplinktest
