package config

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lprd/lprd/capture"
	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/mqttclient"
)

// Check validates the configuration of path (the env file; "" for environ
// alone) and writes every problem at once to w. It returns the exit status of
// `lprd check`: 0 when the configuration is usable, 1 when it is not.
func Check(path string, environ []string, w io.Writer) int {
	src := path
	if src == "" {
		src = "the environment"
	}
	cfg, problems := Load(path, environ)
	if len(problems) > 0 {
		fmt.Fprintf(w, "%s: %d problem(s):\n", src, len(problems))
		for _, p := range problems {
			fmt.Fprintf(w, "  %v\n", p)
		}
		return 1
	}
	fmt.Fprintf(w, "%s: ok (device %s, site %s, lane %s, camera %s, broker %s)\n", src, cfg.DeviceID, cfg.Site, cfg.Lane, capture.Redact(cfg.Camera), cfg.MQTTBroker)
	if cfg.BackendVerifyKey == "" {
		fmt.Fprintln(w, "warning: LPRD_BACKEND_VERIFY_KEY is not set: a read leaves the outbox on the broker's acknowledgement, so delivery is only to the broker (a denied publish, a broker crash or a dropped backend session loses it unseen); give the device backend-signing.pub (docs/acks.md)")
	}
	return 0
}

// loadConfig reads the configuration from an env file (when path is not
// empty) or from the process environment, and checks what it names: key
// files, TLS files, the state folder and a replayed camera file. `lprd check`
// and `lprd run` both call it, so that check refuses what run would refuse.
// Every problem is returned at once.
//
// With an env file, the file is the whole configuration and the environment's
// LPRD_ variables are not read: one that is also set in the environment to
// another value (or not set in the file) is a problem, so that an override
// cannot be silently ignored.
func Load(path string, environ []string) (Config, Problems) {
	var (
		c    Config
		errs Problems
	)
	if path == "" {
		c, errs = buildConfig(environEntries(environ))
	} else {
		data, err := readEnvFile(path)
		if err != nil {
			return Config{}, Problems{{Err: err}}
		}
		entries, perrs := parseEnvFile(bytes.NewReader(data))
		var more Problems
		c, more = buildConfigAfter(entries, perrs)
		errs = append(append(perrs, more...), envConflicts(path, entries, environ)...)
	}
	errs = append(errs, c.checkResources(errs.keys())...)
	// In file order; what belongs to no line (files, cross-key rules) last.
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i].Line, errs[j].Line
		return a != 0 && (b == 0 || a < b)
	})
	return c, errs
}

// readEnvFile reads an env file, refusing one that others can write: whoever
// writes it chooses the broker and the backend key.
func readEnvFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("env file %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("env file %s: is a folder, expected a file", path)
	}
	if m := st.Mode().Perm(); m&0o002 != 0 {
		return nil, fmt.Errorf("env file %s: mode %#o is writable by others: expected 0640 (owner root, group lprd) or stricter; chmod 640 it", path, m)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("env file %s: %w", path, err)
	}
	return data, nil
}

// envConflicts reports the known LPRD_ keys of the environment that an env
// file overrides.
func envConflicts(path string, entries []envEntry, environ []string) Problems {
	inFile := map[string]envEntry{}
	for _, e := range entries {
		inFile[e.key] = e
	}
	var errs Problems
	for _, e := range environEntries(environ) {
		if _, known := keyIndex[e.key]; !known {
			continue
		}
		f, ok := inFile[e.key]
		switch {
		case !ok:
			errs = append(errs, &KeyError{Key: e.key, Value: trunc(e.value), Err: fmt.Errorf(
				"set in the environment, which is not read with an env file (%s wins): put it in the file or unset it", path)})
		case f.value != e.value:
			errs = append(errs, &KeyError{Key: e.key, Value: trunc(e.value), Err: fmt.Errorf(
				"set in the environment and, to %q, on line %d of %s; the file wins: unset it in the environment", trunc(f.value), f.line, path)})
		}
	}
	return errs
}

// checkResources opens what the configuration names the way the daemon will
// (envelope's key loaders, mqttclient's TLS loader), so that `lprd check`
// reports a bad file before the service starts. Keys in bad already have a
// problem and are skipped.
func (c *Config) checkResources(bad map[string]bool) Problems {
	var errs Problems
	add := func(key, val string, err error) {
		errs = append(errs, &KeyError{Key: key, Value: val, Err: err})
	}
	if err := c.checkKeys(bad); err != nil {
		errs = append(errs, err...)
	}
	if c.BackendVerifyKey != "" && !bad["LPRD_BACKEND_VERIFY_KEY"] {
		if _, err := envelope.LoadBackendVerifyKeys(c.BackendVerifyKey); err != nil {
			add("LPRD_BACKEND_VERIFY_KEY", c.BackendVerifyKey, fmt.Errorf("%s (the backend's Ed25519 signing public key, backend-signing.pub from `lprctl keygen -backend`)",
				keyErr(err, "backend verify key "+c.BackendVerifyKey)))
		}
	}
	errs = append(errs, c.checkHotlist(bad)...)
	if b, err := mqttclient.ParseBroker(c.MQTTBroker); err == nil && b.TLS {
		errs = append(errs, c.checkTLS(bad)...)
	}
	if c.StateDir != "" && !bad["LPRD_STATE_DIR"] {
		if err := checkStateDir(c.StateDir); err != nil {
			add("LPRD_STATE_DIR", c.StateDir, err)
		}
	}
	if c.Camera != "" && !bad["LPRD_CAMERA"] && !capture.IsStream(c.Camera) && !strings.HasPrefix(c.Camera, "/dev/") {
		// capture.Open refuses a replay file or folder that is not there; a
		// V4L2 device may appear later and is waited for.
		if _, err := os.Stat(c.Camera); err != nil {
			add("LPRD_CAMERA", c.Camera, fmt.Errorf("cannot open: %v; expected a video file or a folder of images", unwrapPath(err)))
		}
	}
	return errs
}

// checkKeys loads the backend and signing keys with envelope's loaders and
// makes the sealer the uplink will make, which refuses a backend key of
// another KEM than LPRD_SUITE's.
func (c *Config) checkKeys(bad map[string]bool) Problems {
	var (
		errs   Problems
		rcpt   *envelope.RecipientPublicKey
		signer ed25519.PrivateKey
	)
	if c.BackendKey != "" && !bad["LPRD_BACKEND_KEY"] {
		k, err := envelope.LoadRecipientPublicKey(c.BackendKey)
		if err != nil {
			errs = append(errs, &KeyError{Key: "LPRD_BACKEND_KEY", Value: c.BackendKey, Err: fmt.Errorf(
				"%s (the backend's HPKE public key, from `lprctl keygen`)", keyErr(err, "backend key "+c.BackendKey))})
		}
		rcpt = k
	}
	if c.SigningKey != "" && !bad["LPRD_SIGNING_KEY"] {
		k, err := envelope.LoadSigningPrivateKey(c.SigningKey)
		if err != nil {
			errs = append(errs, &KeyError{Key: "LPRD_SIGNING_KEY", Value: c.SigningKey, Err: fmt.Errorf(
				"%s (this device's Ed25519 key, from `lprctl keygen -device`, mode 0600, owned by the lprd user)", keyErr(err, "signing key "+c.SigningKey))})
		}
		signer = k
	}
	if rcpt == nil || bad["LPRD_SUITE"] {
		return errs
	}
	suite, err := envelope.ParseSuite(c.Suite)
	if err != nil {
		return append(errs, &KeyError{Key: "LPRD_SUITE", Value: c.Suite, Err: err})
	}
	if rcpt.KEM != suite.KEM {
		return append(errs, &KeyError{Key: "LPRD_BACKEND_KEY", Value: c.BackendKey, Err: fmt.Errorf(
			"is a %s key, but LPRD_SUITE=%s expects a %s key: use the backend key made for that suite, or set LPRD_SUITE to a %s suite",
			envelope.KEMName(rcpt.KEM), suite, envelope.KEMName(suite.KEM), envelope.KEMName(rcpt.KEM))})
	}
	if signer == nil || bad["LPRD_DEVICE_ID"] {
		return errs
	}
	if _, err := envelope.NewSealer(c.DeviceID, suite, rcpt, signer); err != nil {
		errs = append(errs, &KeyError{Key: "LPRD_BACKEND_KEY", Value: c.BackendKey, Err: err})
	}
	return errs
}

// checkTLS checks the files of an ssl:// broker: each readable, the client key
// readable by its owner only, then together through mqttclient.TLSConfig, as
// the uplink loads them.
func (c *Config) checkTLS(bad map[string]bool) Problems {
	var errs Problems
	for _, f := range []struct{ key, path string }{
		{"LPRD_MQTT_CA", c.MQTTCA}, {"LPRD_MQTT_CERT", c.MQTTCert}, {"LPRD_MQTT_KEY", c.MQTTKey},
	} {
		if f.path == "" || bad[f.key] {
			continue
		}
		st, err := os.Stat(f.path)
		if err == nil && st.IsDir() {
			err = errors.New("is a folder")
		}
		if err == nil {
			var fh *os.File
			if fh, err = os.Open(f.path); err == nil {
				fh.Close()
			}
		}
		if err != nil {
			errs = append(errs, &KeyError{Key: f.key, Value: f.path, Err: fmt.Errorf("cannot read: %v; expected a PEM file", unwrapPath(err))})
			continue
		}
		if m := st.Mode().Perm(); f.key == "LPRD_MQTT_KEY" && m&0o077 != 0 {
			errs = append(errs, &KeyError{Key: f.key, Value: f.path, Err: fmt.Errorf(
				"mode %#o is readable by group or others: expected 0600 (the TLS private key, readable by the lprd user only); chmod 600 it", m)})
		}
	}
	if len(errs) > 0 || bad["LPRD_MQTT_CA"] || bad["LPRD_MQTT_CERT"] || bad["LPRD_MQTT_KEY"] {
		return errs
	}
	if _, err := mqttclient.TLSConfig(c.MQTTCA, c.MQTTCert, c.MQTTKey); err != nil {
		key, val := "LPRD_MQTT_CERT", c.MQTTCert
		if strings.HasPrefix(err.Error(), "CA file") {
			key, val = "LPRD_MQTT_CA", c.MQTTCA
		}
		errs = append(errs, &KeyError{Key: key, Value: val, Err: fmt.Errorf("%v; expected PEM certificates (and the client certificate's own key)", err)})
	}
	return errs
}

// checkStateDir checks that the outbox folder (dir/outbox), or the nearest
// folder above it that exists and in which the uplink would create it, takes
// a new file: it creates and removes one.
func checkStateDir(dir string) error {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return errors.New("exists and is not a folder: expected a folder writable by the lprd user")
	}
	d := filepath.Join(dir, "outbox")
	for {
		st, err := os.Stat(d)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("%s is not a folder: expected the state folder's outbox folder", d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot use %s: %v; expected a folder writable by the lprd user", d, unwrapPath(err))
		}
		up := filepath.Dir(d)
		if up == d {
			return fmt.Errorf("cannot use %s: %v", d, unwrapPath(err))
		}
		d = up
	}
	f, err := os.CreateTemp(d, ".lprd-check-*")
	if err != nil {
		return fmt.Errorf("cannot create a file in %s: %v; expected a folder writable by the lprd user (systemd's StateDirectory=lprd makes one)", d, unwrapPath(err))
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("cannot remove a file from %s: %v; expected a folder writable by the lprd user", d, unwrapPath(err))
	}
	return nil
}

// keyErr is an envelope loader's error without the prefix that names the
// file, which the problem names already.
func keyErr(err error, prefix string) string {
	if e := unwrapPath(err); e != err {
		return "cannot read: " + e.Error()
	}
	return strings.TrimPrefix(err.Error(), prefix+": ")
}

// unwrapPath drops the operation and path of a *fs.PathError, which the
// message already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
