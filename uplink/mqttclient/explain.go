package mqttclient

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// ExplainConnect turns a failed connection to broker into an error that says what
// to check: paho reports a scheme that does not match the listener, and a broker
// that refuses the client certificate, as "connection reset by peer". The original
// error stays wrapped.
func ExplainConnect(broker string, err error) error {
	if err == nil {
		return nil
	}
	tlsScheme := !strings.HasPrefix(broker, "tcp://") && !strings.HasPrefix(broker, "mqtt://")
	msg := err.Error()
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	hint := ""
	switch {
	case errors.As(err, &unknownCA) || strings.Contains(msg, "certificate signed by unknown authority"):
		hint = "the broker's certificate is not signed by the CA given (LPRD_MQTT_CA, lprctl -ca)"
	case (errors.As(err, &invalid) && invalid.Reason == x509.Expired) || strings.Contains(msg, "certificate has expired or is not yet valid"):
		hint = "a certificate has expired or is not yet valid (check it, and that the clock is set)"
	case errors.As(err, &hostname) || strings.Contains(msg, "certificate is valid for"):
		hint = "the broker's certificate does not name the host in the broker URL"
	case strings.Contains(msg, "certificate required"):
		hint = "the broker requires a client certificate (LPRD_MQTT_CERT and LPRD_MQTT_KEY, lprctl -cert and -key)"
	case strings.Contains(msg, "bad certificate") || strings.Contains(msg, "unknown certificate authority"):
		hint = "the broker refused the client certificate (not signed by the CA it trusts)"
	case (errors.Is(err, syscall.ECONNRESET) || strings.Contains(msg, "connection reset")) && tlsScheme:
		hint = "the broker closed the connection during the TLS handshake: the port may be a plain-text listener (tcp://), or the broker refused the client certificate"
	case errors.Is(err, syscall.ECONNRESET) || strings.Contains(msg, "connection reset") || strings.Contains(msg, "EOF"):
		if !tlsScheme {
			hint = "the broker closed the plain-text connection: the port may be a TLS listener (use ssl://)"
		}
	case errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(msg, "connection refused"):
		hint = "nothing listens on that port (is the broker running, is the port right?)"
	case strings.Contains(msg, "not Authorized") || strings.Contains(msg, "bad user name or password"):
		hint = "the broker refused this client (its ACL or identity; with use_identity_as_username, the certificate's CN)"
	}
	if hint == "" {
		return fmt.Errorf("connect %s: %w", broker, err)
	}
	return fmt.Errorf("connect %s: %s: %w", broker, hint, err)
}
