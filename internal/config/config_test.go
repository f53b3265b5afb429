package config

import (
	"crypto/ed25519"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lprd/lprd/ocr/plateformat"
	"github.com/lprd/lprd/uplink"
	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/mqttclient"
	"github.com/lprd/lprd/uplink/uplinktest"
)

var update = flag.Bool("update", false, "rewrite golden files (deploy/lprd.env)")

const validEnv = `# a comment
LPRD_DEVICE_ID=lane3-cam1
LPRD_SITE=port-a
export LPRD_LANE="3"
LPRD_CAMERA='/srv/clips/lane.avi'
LPRD_MQTT_BROKER=ssl://broker.example:8883
LPRD_MQTT_CA=/etc/lprd/ca.pem
LPRD_MQTT_CERT=/etc/lprd/client.pem
LPRD_MQTT_KEY=/etc/lprd/client.key
LPRD_BACKEND_KEY=/etc/lprd/backend.pub
LPRD_SIGNING_KEY=/etc/lprd/device.key
LPRD_OUTBOX_MAX_BYTES=2GiB
LPRD_FUSION_MAX_DELAY=5s
LPRD_PLATE_REGIONS=us-ca,mx
`

func parseString(t *testing.T, s string) (Config, Problems) {
	t.Helper()
	entries, errs := parseEnvFile(strings.NewReader(s))
	c, more := buildConfigAfter(entries, errs)
	return c, append(errs, more...)
}

func TestValidConfig(t *testing.T) {
	c, errs := parseString(t, validEnv)
	if len(errs) != 0 {
		t.Fatalf("problems: %v", errs)
	}
	if c.Lane != "3" || c.Camera != "/srv/clips/lane.avi" || c.OutboxMaxBytes != 2<<30 || c.FusionMaxDelay != 5*time.Second {
		t.Errorf("parsed %+v", c)
	}
	if c.Suite != "mlkem768x25519-chacha20poly1305" || c.HealthInterval != 30*time.Second || c.TopicPrefix != "lpr" || c.ConfirmTimeout != 5*time.Minute {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestPlateRegionsEmptyMeansNone(t *testing.T) {
	base := strings.Replace(validEnv, "LPRD_PLATE_REGIONS=us-ca,mx\n", "", 1)
	for _, tt := range []struct{ line, want string }{
		{"", "us"},                        // unset: the default
		{"LPRD_PLATE_REGIONS=\n", ""},     // set but empty: no rules
		{"LPRD_PLATE_REGIONS=''\n", ""},   // the same, quoted
		{"LPRD_PLATE_REGIONS=MX\n", "mx"}, // codes are case-insensitive
	} {
		c, errs := parseString(t, base+tt.line)
		if len(errs) != 0 || c.PlateRegions != tt.want {
			t.Errorf("%q: PlateRegions = %q, problems %v; want %q", tt.line, c.PlateRegions, errs, tt.want)
		}
	}
}

func TestConfigProblems(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       []string // substrings of the single expected problem
	}{
		{"unknown key", "LPRD_CAMRA=/dev/video1", []string{"LPRD_CAMRA", "unknown key", "did you mean LPRD_CAMERA"}},
		{"bad int", "LPRD_CAMERA_WIDTH=wide", []string{"LPRD_CAMERA_WIDTH", `"wide"`, "whole number"}},
		{"int range", "LPRD_CAMERA_FPS=0", []string{"LPRD_CAMERA_FPS", "out of range", "1 to 240"}},
		{"duration unit", "LPRD_HEALTH_INTERVAL=30", []string{"LPRD_HEALTH_INTERVAL", "duration with a unit"}},
		{"enum", "LPRD_LOG_LEVEL=loud", []string{"LPRD_LOG_LEVEL", "expected one of"}},
		{"suite", "LPRD_SUITE=rsa", []string{"LPRD_SUITE", `"rsa"`, "want one of", "x25519-chacha20poly1305"}},
		{"bool", "LPRD_REPLAY_LOOP=maybe", []string{"LPRD_REPLAY_LOOP", "true or false"}},
		{"bytes", "LPRD_OUTBOX_MAX_BYTES=lots", []string{"LPRD_OUTBOX_MAX_BYTES", "size like"}},
		{"relative path", "LPRD_STATE_DIR=var/lib", []string{"LPRD_STATE_DIR", "absolute path"}},
		{"camera scheme", "LPRD_CAMERA=ftp://cam/x", []string{"LPRD_CAMERA", `"ftp"`}},
		{"region", "LPRD_PLATE_REGIONS=us,zz", []string{"LPRD_PLATE_REGIONS", `"zz"`}},
		{"pin", "LPRD_TRIGGER_PIN=GPIO 17", []string{"LPRD_TRIGGER_PIN", "GPIO line name"}},
		{"same pin", "LPRD_TRIGGER_PIN=GPIO17\nLPRD_ILLUMINATOR_PIN=GPIO17", []string{"LPRD_ILLUMINATOR_PIN", "same line"}},
		{"duplicate", "LPRD_LANE=4", []string{"LPRD_LANE", "set twice"}},
		{"no equals", "LPRD_LANE", []string{"line 1", "KEY=VALUE", `"LPRD_LANE"`}},
		{"quote", `LPRD_LANE="4`, []string{"unterminated"}},
		{"inline comment", "LPRD_LANE=4 # lane four", []string{"inline comments"}},
		{"plaintext broker", "LPRD_MQTT_BROKER=tcp://127.0.0.1:1883", []string{"LPRD_MQTT_BROKER", "plain-text broker refused"}},
		{"broker port", "LPRD_MQTT_BROKER=ssl://broker", []string{"LPRD_MQTT_BROKER", "host:port"}},
		{"broker scheme", "LPRD_MQTT_BROKER=ws://broker:80", []string{"LPRD_MQTT_BROKER", `"ws"`, "ssl://"}},
		{"unknown state", "LPRD_PLATE_REGIONS=us-zz", []string{"LPRD_PLATE_REGIONS", `"us-zz"`, "unknown"}},
		{"camera url host", "LPRD_CAMERA=rtsp:///stream", []string{"LPRD_CAMERA", "rtsp://host/path"}},
		{"camera credentials", "LPRD_CAMERA=ftp://admin:secret@cam/x", []string{"LPRD_CAMERA", `"ftp"`, "ftp://cam/x"}},
		{"replay rate", "LPRD_REPLAY_RATE=0", []string{"LPRD_REPLAY_RATE", "frames per second"}},
		{"odd width", "LPRD_CAMERA_WIDTH=1281", []string{"LPRD_CAMERA_WIDTH", "even number"}},
		{"exposure", "LPRD_CAMERA_EXPOSURE=200000", []string{"LPRD_CAMERA_EXPOSURE", "out of range", "-1 to 100000"}},
		{"huge int", "LPRD_CAMERA_FPS=99999999999999999999999", []string{"LPRD_CAMERA_FPS", "out of range", "1 to 240"}},
		{"negative int", "LPRD_CAMERA_FPS=-30", []string{"LPRD_CAMERA_FPS", "out of range", "1 to 240"}},
		{"negative duration", "LPRD_HEALTH_INTERVAL=-5s", []string{"LPRD_HEALTH_INTERVAL", "out of range", "1s to 24h0m0s"}},
		{"huge duration", "LPRD_HEALTH_INTERVAL=99999999999999h", []string{"LPRD_HEALTH_INTERVAL", "duration", "1s to 24h0m0s"}},
		{"huge bytes", "LPRD_OUTBOX_MAX_BYTES=99999999999999999999GiB", []string{"LPRD_OUTBOX_MAX_BYTES", "out of range"}},
		{"negative bytes", "LPRD_OUTBOX_MAX_BYTES=-1GiB", []string{"LPRD_OUTBOX_MAX_BYTES", "out of range"}},
		{"huge float", "LPRD_MIN_CONFIDENCE=1e999", []string{"LPRD_MIN_CONFIDENCE", "out of range", "0 to 1"}},
		{"outbox policy", "LPRD_OUTBOX_POLICY=keep", []string{"LPRD_OUTBOX_POLICY", "drop-oldest or reject-new"}},
		{"binary line", "\x00\x01\xfe\xff\x7f", []string{"line 1", "binary data", "KEY=VALUE"}},
		{"binary value", "LPRD_SITE=po\x00rt\xff", []string{"line 1", "LPRD_SITE", "binary data"}},
		{"binary key", "LPRD_\xffSITE=x", []string{"line 1", "invalid key name"}},
		{"long value", "LPRD_SITE=" + strings.Repeat("a", 1<<20), []string{"line 1", "LPRD_SITE", "line too long (limit 65536 bytes)"}},
		{"long garbage", strings.Repeat("\x00", 1<<20), []string{"line 1", "line too long (limit 65536 bytes)"}},
		{"relative key path", "LPRD_SIGNING_KEY=keys/device.key", []string{"LPRD_SIGNING_KEY", "absolute path"}},
		{"gap", "LPRD_FUSION_GAP=10s", []string{"LPRD_FUSION_GAP", "must not exceed"}},
		{"topic", "LPRD_TOPIC_PREFIX=lpr/#", []string{"LPRD_TOPIC_PREFIX", "wildcards"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := validEnv
			// Replace keys the case sets, so that only its own problem remains.
			k, _, _ := strings.Cut(tc.line, "=")
			if k != "LPRD_LANE" && !strings.HasPrefix(tc.line, "LPRD_TRIGGER") {
				var kept []string
				for _, l := range strings.Split(env, "\n") {
					if !strings.HasPrefix(l, k+"=") {
						kept = append(kept, l)
					}
				}
				env = strings.Join(kept, "\n")
			}
			_, errs := parseString(t, env+tc.line+"\n")
			if len(errs) != 1 {
				t.Fatalf("parse(%q) gave %d problems, want 1: %v", trunc(tc.line), len(errs), errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs[0].Error(), w) {
					t.Errorf("parse(%q) = %q; want it to contain %q", trunc(tc.line), errs[0], w)
				}
			}
		})
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	_, errs := parseString(t, "LPRD_CAMERA_FPS=x\nLPRD_SUITE=rsa\nLPRD_BOGUS=1\ngarbage\n")
	// 4 bad lines + 5 required keys missing.
	if len(errs) != 9 {
		t.Fatalf("got %d problems, want 9:\n%v", len(errs), errs)
	}
	for _, k := range required {
		if !strings.Contains(errs.Error(), k+`="": required`) {
			t.Errorf("missing required-key problem for %s", k)
		}
	}
}

// deployment is a device's files, made in a temporary folder with the
// envelope package's own key generation, as `lprctl keygen` makes them.
type deployment struct {
	dir                   string
	backend, backendX     string // ML-KEM-768+X25519 and X25519 backend public keys
	signing               string // Ed25519 signing key, mode 0600
	clip                  string // a folder to replay
	pki                   *uplinktest.PKI
	caFile, cert, tlsKey  string
	signingPub, backendSK string // wrong-type files: a public signing key, a private backend key
}

func newDeployment(t *testing.T) *deployment {
	t.Helper()
	d := &deployment{dir: t.TempDir()}
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(d.dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // whatever the umask
			t.Fatal(err)
		}
		return p
	}
	for _, k := range []struct {
		kem  uint16
		dest *string
	}{{envelope.KEMMLKEM768X25519, &d.backend}, {envelope.KEMX25519, &d.backendX}} {
		priv, err := envelope.GenerateRecipientKey(k.kem)
		if err != nil {
			t.Fatal(err)
		}
		*k.dest = write(envelope.KEMName(k.kem)+".pub", priv.Public().MarshalPEM(), 0o644)
		if k.kem == envelope.KEMMLKEM768X25519 {
			b, err := priv.MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			d.backendSK = write("backend.key", b, 0o600)
		}
	}
	sk, err := envelope.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := envelope.MarshalSigningPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	d.signing = write("device.key", b, 0o600)
	if b, err = envelope.MarshalSigningPublicKey(sk.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	d.signingPub = write("device.pub", b, 0o644)
	d.clip = filepath.Join(d.dir, "clip")
	if err := os.Mkdir(d.clip, 0o755); err != nil {
		t.Fatal(err)
	}
	d.pki = uplinktest.NewPKI(t)
	d.caFile, d.cert, d.tlsKey = d.pki.CAFile, d.pki.ClientCert, d.pki.ClientKey
	return d
}

// env is a complete configuration for a loopback broker, with extra lines
// replacing the keys they set.
func (d *deployment) env(extra ...string) string {
	lines := []string{
		"LPRD_DEVICE_ID=lane3-cam1", "LPRD_SITE=port-a", "LPRD_CAMERA=" + d.clip,
		"LPRD_MQTT_BROKER=tcp://127.0.0.1:1883", "LPRD_MQTT_ALLOW_PLAINTEXT=true",
		"LPRD_BACKEND_KEY=" + d.backend, "LPRD_SIGNING_KEY=" + d.signing,
		"LPRD_STATE_DIR=" + filepath.Join(d.dir, "state"),
	}
	for _, e := range extra {
		k, _, _ := strings.Cut(e, "=")
		lines = slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, k+"=") })
		lines = append(lines, e)
	}
	return strings.Join(lines, "\n") + "\n"
}

// tls is the extra lines of a mutual-TLS broker.
func (d *deployment) tls(extra ...string) []string {
	return append([]string{"LPRD_MQTT_BROKER=ssl://127.0.0.1:8883", "LPRD_MQTT_ALLOW_PLAINTEXT=false",
		"LPRD_MQTT_CA=" + d.caFile, "LPRD_MQTT_CERT=" + d.cert, "LPRD_MQTT_KEY=" + d.tlsKey}, extra...)
}

func (d *deployment) writeEnv(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(d.dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// copyMode copies src to a new file of d with the given mode.
func (d *deployment) copyMode(t *testing.T, src string, mode os.FileMode) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return d.writeEnv(t, "copy-"+filepath.Base(src)+"-"+mode.String(), string(b), mode)
}

func TestCheckCommand(t *testing.T) {
	d := newDeployment(t)
	good := d.writeEnv(t, "good.env", d.env(), 0o640)
	missing := d.writeEnv(t, "missing.env", d.env("LPRD_BACKEND_KEY="+filepath.Join(d.dir, "nope")), 0o640)
	acks := d.writeEnv(t, "acks.env", d.env("LPRD_BACKEND_VERIFY_KEY="+d.signingPub), 0o640)
	badAcks := d.writeEnv(t, "bad-acks.env", d.env("LPRD_BACKEND_VERIFY_KEY="+d.backend), 0o640)
	for _, tc := range []struct {
		path string
		want int
		out  string
	}{
		{good, 0, "ok"},
		{missing, 1, "LPRD_BACKEND_KEY"},
		{filepath.Join(d.dir, "absent.env"), 1, "no such file"},
		{good, 0, "warning: LPRD_BACKEND_VERIFY_KEY is not set"},
		{acks, 0, "ok"},
		{badAcks, 1, "LPRD_BACKEND_VERIFY_KEY"},
	} {
		var out strings.Builder
		if got := Check(tc.path, nil, &out); got != tc.want || !strings.Contains(out.String(), tc.out) {
			t.Errorf("Check(%s) = %d, %q; want %d and %q", filepath.Base(tc.path), got, out.String(), tc.want, tc.out)
		}
	}
	var out strings.Builder
	if Check(acks, nil, &out); strings.Contains(out.String(), "warning") {
		t.Errorf("a warning with LPRD_BACKEND_VERIFY_KEY set: %s", out.String())
	}
}

// unwritableDir is a state folder in which no file can be created, even by
// root (who ignores permission bits): /proc takes no new files.
func unwritableDir(t *testing.T, d *deployment) string {
	if os.Getuid() == 0 {
		return "/proc/lprd-state"
	}
	ro := filepath.Join(d.dir, "ro")
	if err := os.Mkdir(ro, 0o500); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(ro, "state")
}

// TestCheckRefusesFiles covers what only opening the files shows: each case
// is one problem naming the key, the file and what is expected.
func TestCheckRefusesFiles(t *testing.T) {
	d := newDeployment(t)
	garbage := d.writeEnv(t, "garbage.key", "\x00\x01 not a key\n", 0o600)
	notAFile := filepath.Join(d.dir, "state-file")
	if err := os.WriteFile(notAFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		extra   []string
		environ []string
		mode    os.FileMode // of the env file; 0 means 0640
		want    []string
	}{
		{"state folder unwritable", []string{"LPRD_STATE_DIR=" + unwritableDir(t, d)}, nil, 0, []string{"LPRD_STATE_DIR", "cannot create a file in", "writable by the lprd user"}},
		{"state folder is a file", []string{"LPRD_STATE_DIR=" + notAFile}, nil, 0, []string{"LPRD_STATE_DIR", "not a folder"}},
		{"signing key 0644", []string{"LPRD_SIGNING_KEY=" + d.copyMode(t, d.signing, 0o644)}, nil, 0, []string{"LPRD_SIGNING_KEY", "readable by group or others", "chmod 600"}},
		{"signing key garbage", []string{"LPRD_SIGNING_KEY=" + garbage}, nil, 0, []string{"LPRD_SIGNING_KEY", garbage, `"PRIVATE KEY" PEM block`, "Ed25519"}},
		{"signing key is a public key", []string{"LPRD_SIGNING_KEY=" + d.copyMode(t, d.signingPub, 0o600)}, nil, 0, []string{"LPRD_SIGNING_KEY", `"PRIVATE KEY" PEM block`}},
		{"signing key is the backend key", []string{"LPRD_SIGNING_KEY=" + d.backendSK}, nil, 0, []string{"LPRD_SIGNING_KEY", `"PRIVATE KEY" PEM block`}},
		{"signing key missing", []string{"LPRD_SIGNING_KEY=" + filepath.Join(d.dir, "none.key")}, nil, 0, []string{"LPRD_SIGNING_KEY", "no such file"}},
		{"backend key garbage", []string{"LPRD_BACKEND_KEY=" + garbage}, nil, 0, []string{"LPRD_BACKEND_KEY", `"LPRD HPKE PUBLIC KEY" PEM block`}},
		{"backend key is the signing key", []string{"LPRD_BACKEND_KEY=" + d.signing}, nil, 0, []string{"LPRD_BACKEND_KEY", `"LPRD HPKE PUBLIC KEY" PEM block`}},
		{"X25519 key, ML-KEM suite", []string{"LPRD_BACKEND_KEY=" + d.backendX}, nil, 0, []string{"LPRD_BACKEND_KEY", "is a x25519 key", "LPRD_SUITE=mlkem768x25519-chacha20poly1305", "expects a"}},
		{"ML-KEM key, X25519 suite", []string{"LPRD_SUITE=x25519-aes256gcm"}, nil, 0, []string{"LPRD_BACKEND_KEY", "LPRD_SUITE=x25519-aes256gcm", "expects a x25519 key"}},
		{"TLS key 0644", d.tls("LPRD_MQTT_KEY=" + d.copyMode(t, d.tlsKey, 0o644)), nil, 0, []string{"LPRD_MQTT_KEY", "readable by group or others", "expected 0600"}},
		{"TLS cert garbage", d.tls("LPRD_MQTT_CERT=" + garbage), nil, 0, []string{"LPRD_MQTT_CERT", "client certificate"}},
		{"TLS key of another cert", d.tls("LPRD_MQTT_KEY=" + d.copyMode(t, d.pki.ServerKey, 0o600)), nil, 0, []string{"LPRD_MQTT_CERT", "private key does not match"}},
		{"TLS CA missing", d.tls("LPRD_MQTT_CA=" + filepath.Join(d.dir, "none.pem")), nil, 0, []string{"LPRD_MQTT_CA", "no such file", "PEM file"}},
		{"TLS CA garbage", d.tls("LPRD_MQTT_CA=" + garbage), nil, 0, []string{"LPRD_MQTT_CA", "no PEM certificate"}},
		{"camera file missing", []string{"LPRD_CAMERA=" + filepath.Join(d.dir, "none.avi")}, nil, 0, []string{"LPRD_CAMERA", "no such file", "video file or a folder"}},
		{"env file 0666", nil, nil, 0o666, []string{"env file", "writable by others", "expected 0640"}},
		{"environment conflict", nil, []string{"LPRD_LOG_LEVEL=loud"}, 0, []string{"LPRD_LOG_LEVEL", `"loud"`, "environment", "wins"}},
		{"environment differs", []string{"LPRD_LANE=4"}, []string{"LPRD_LANE=5", "LPRD_SITE=port-a", "LPRD_TEST_OTHER=1"}, 0, []string{"LPRD_LANE", `"5"`, `to "4"`, "the file wins"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mode := tc.mode
			if mode == 0 {
				mode = 0o640
			}
			path := d.writeEnv(t, strings.ReplaceAll(tc.name, " ", "_")+".env", d.env(tc.extra...), mode)
			_, problems := Load(path, tc.environ)
			if len(problems) != 1 {
				t.Fatalf("Load(%s) gave %d problems, want 1:\n%v", tc.name, len(problems), problems)
			}
			for _, w := range tc.want {
				if !strings.Contains(problems[0].Error(), w) {
					t.Errorf("Load(%s) = %q; want it to contain %q", tc.name, problems[0], w)
				}
			}
			var out strings.Builder
			if got := Check(path, tc.environ, &out); got != 1 {
				t.Errorf("Check(%s) = %d, want 1:\n%s", tc.name, got, out.String())
			}
		})
	}
}

// TestCheckReportsAllAtOnce: file problems come with the syntax problems,
// not after they are fixed.
func TestCheckReportsAllAtOnce(t *testing.T) {
	d := newDeployment(t)
	path := d.writeEnv(t, "all.env", d.env("LPRD_CAMERA_FPS=fast", "LPRD_PLATE_REGIONS=us-zz",
		"LPRD_SIGNING_KEY="+d.copyMode(t, d.signing, 0o644), "LPRD_BACKEND_KEY="+d.backendX,
		"LPRD_STATE_DIR="+unwritableDir(t, d), "no equals sign"), 0o640)
	var out strings.Builder
	if got := Check(path, nil, &out); got != 1 {
		t.Fatalf("check = %d, want 1", got)
	}
	for _, w := range []string{"6 problem(s)", "LPRD_CAMERA_FPS", "LPRD_PLATE_REGIONS", "LPRD_SIGNING_KEY", "LPRD_STATE_DIR", "KEY=VALUE", "LPRD_BACKEND_KEY"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("check output lacks %q:\n%s", w, out.String())
		}
	}
}

// TestCheckAcceptedStarts proves, for the keys that need no hardware, that a
// configuration loadConfig accepts (what `lprd check` and `lprd run` call) also
// passes the constructors the daemon calls: the plate rules, the capture
// options and the whole uplink (keys through envelope, sealer, TLS files,
// outbox in the state folder). Besides hand-picked configurations it tries
// every key's documented example and bounds.
func TestCheckAcceptedStarts(t *testing.T) {
	d := newDeployment(t)
	cases := map[string][]string{
		"defaults":        nil,
		"mutual TLS":      d.tls(),
		"x25519 suite":    {"LPRD_SUITE=x25519-chacha20poly1305", "LPRD_BACKEND_KEY=" + d.backendX},
		"x25519 fips":     {"LPRD_SUITE=X25519-AES256GCM", "LPRD_BACKEND_KEY=" + d.backendX},
		"rtsp camera":     {"LPRD_CAMERA=rtsp://user:pw@10.0.3.21:554/stream1"},
		"srt camera":      {"LPRD_CAMERA=srt://10.0.3.21:9000"},
		"v4l2 camera":     {"LPRD_CAMERA=/dev/video9"},
		"regions":         {"LPRD_PLATE_REGIONS=US-CA, us-nv,mx"},
		"existing state":  {"LPRD_STATE_DIR=" + d.dir},
		"largest camera":  {"LPRD_CAMERA_WIDTH=7680", "LPRD_CAMERA_HEIGHT=4320", "LPRD_CAMERA_FPS=240", "LPRD_CAMERA_BUFFERS=32", "LPRD_CAMERA_EXPOSURE=100000", "LPRD_CAMERA_GAIN=1048576"},
		"smallest camera": {"LPRD_CAMERA_WIDTH=160", "LPRD_CAMERA_HEIGHT=120", "LPRD_CAMERA_FPS=1", "LPRD_CAMERA_BUFFERS=2", "LPRD_CAMERA_EXPOSURE=0", "LPRD_CAMERA_GAIN=0"},
		"replay rates":    {"LPRD_REPLAY_RATE=1000"},
		"outbox bounds":   {"LPRD_OUTBOX_MAX_BYTES=1KiB", "LPRD_OUTBOX_MAX_COUNT=1", "LPRD_OUTBOX_MAX_AGE=1m", "LPRD_OUTBOX_POLICY=reject-new"},
		"timing bounds":   {"LPRD_PUBLISH_TIMEOUT=100ms", "LPRD_HEALTH_INTERVAL=24h"},
	}
	for _, k := range keys {
		if k.unit == "path" || strings.HasSuffix(k.name, "_PIN") || k.name == "LPRD_MQTT_BROKER" || k.name == "LPRD_SUITE" || k.name == "LPRD_CAMERA" || k.name == "LPRD_SEND_MODE" {
			continue // files, GPIO lines, the broker and the send mode (hotlist_test.go) are covered elsewhere
		}
		cases["example of "+k.name] = []string{k.name + "=" + k.example}
	}
	for name, extra := range cases {
		t.Run(name, func(t *testing.T) {
			extra = append(extra, "LPRD_STATE_DIR="+filepath.Join(t.TempDir(), "state"))
			if name == "existing state" {
				extra = extra[:1]
			}
			path := d.writeEnv(t, strings.ReplaceAll(name, " ", "_")+".env", d.env(extra...), 0o640)
			cfg, problems := Load(path, nil)
			if len(problems) > 0 {
				t.Fatalf("loadConfig refused it: %v", problems)
			}
			if _, err := plateformat.Load(cfg.PlateRegions); err != nil {
				t.Errorf("plateformat.Load(%q): %v", cfg.PlateRegions, err)
			}
			if err := cfg.CaptureOptions().Validate(); err != nil {
				t.Errorf("capture options: %v", err)
			}
			up, err := uplink.New(t.Context(), cfg.UplinkOptions())
			if err != nil {
				t.Fatalf("uplink.New: %v", err)
			}
			if err := up.Close(); err != nil {
				t.Errorf("uplink Close: %v", err)
			}
		})
	}
}

func TestEnvironmentIgnoresOtherVariables(t *testing.T) {
	e := environEntries([]string{"PATH=/bin", "LPRD_SITE=s", "HOME=/root", "LPRD_DEVICE_ID=d"})
	if len(e) != 2 || e[0].key != "LPRD_DEVICE_ID" {
		t.Errorf("environEntries = %+v", e)
	}
}

// TestEnvTemplate keeps deploy/lprd.env in sync with the key table, and
// checks that the template itself parses (apart from the required keys).
func TestEnvTemplate(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "lprd.env")
	want := Template()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date; run go test ./internal/config -run TestEnvTemplate -update", path)
	}
	_, errs := parseString(t, want)
	for _, e := range errs {
		if !strings.Contains(e.Error(), "required, not set") {
			t.Errorf("template: %v", e)
		}
	}
	for _, k := range keys {
		if k.example == "" || k.help == "" {
			t.Errorf("%s lacks an example or help text", k.name)
		}
		var c Config
		if err := k.set(&c, k.example); err != nil {
			t.Errorf("%s: example %q does not parse: %v", k.name, k.example, err)
		}
	}
}

func FuzzParseEnv(f *testing.F) {
	f.Add(validEnv)
	f.Add("LPRD_X=\"a\\\"b\"\n\ufeffLPRD_LANE=1\n;c\nexport LPRD_SITE='q'")
	f.Add("LPRD_OUTBOX_MAX_BYTES=9223372036854775807GiB\nLPRD_MIN_CONFIDENCE=NaN")
	f.Add("LPRD_SITE=" + strings.Repeat("x", maxLineBytes+10) + "\nLPRD_LANE=\x00\xff\n\x01\x02")
	f.Add("LPRD_DEVICE_ID=d\nLPRD_SITE=s\nLPRD_MQTT_BROKER=tcp://h:1\nLPRD_MQTT_ALLOW_PLAINTEXT=1\nLPRD_BACKEND_KEY=/k\nLPRD_SIGNING_KEY=/k\nLPRD_CAMERA_WIDTH=161\nLPRD_PLATE_REGIONS=us-zz")
	f.Fuzz(func(t *testing.T, s string) {
		entries, perrs := parseEnvFile(strings.NewReader(s))
		for _, e := range perrs {
			_ = e.Error()
		}
		c, errs := buildConfigAfter(entries, perrs)
		// Load reports the parse problems (perrs) with the key problems; a key
		// that failed to parse is not reported again as missing.
		if len(errs) == 0 && len(perrs) == 0 {
			// A configuration without problems must be usable as is, by the
			// packages' own parsers.
			if c.DeviceID == "" || c.MQTTBroker == "" || c.OutboxMaxBytes < 1024 || c.MinConfidence != c.MinConfidence {
				t.Fatalf("accepted an unusable configuration: %+v", c)
			}
			if _, err := plateformat.Load(c.PlateRegions); err != nil {
				t.Fatalf("accepted regions the daemon refuses: %v", err)
			}
			if err := c.CaptureOptions().Validate(); err != nil {
				t.Fatalf("accepted camera options capture refuses: %v", err)
			}
			if _, err := mqttclient.ParseBroker(c.MQTTBroker); err != nil {
				t.Fatalf("accepted a broker mqttclient refuses: %v", err)
			}
			if _, err := envelope.ParseSuite(c.Suite); err != nil {
				t.Fatalf("accepted a suite envelope refuses: %v", err)
			}
		}
	})
}
