package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	c, more := buildConfig(entries)
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
	if c.Suite != "mlkem768x25519-chacha20poly1305" || c.HealthInterval != 30*time.Second || c.TopicPrefix != "lpr" {
		t.Errorf("defaults not applied: %+v", c)
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
		{"enum", "LPRD_SUITE=rsa", []string{"LPRD_SUITE", "expected one of"}},
		{"bool", "LPRD_REPLAY_LOOP=maybe", []string{"LPRD_REPLAY_LOOP", "true or false"}},
		{"bytes", "LPRD_OUTBOX_MAX_BYTES=lots", []string{"LPRD_OUTBOX_MAX_BYTES", "size like"}},
		{"relative path", "LPRD_STATE_DIR=var/lib", []string{"LPRD_STATE_DIR", "absolute path"}},
		{"camera scheme", "LPRD_CAMERA=ftp://cam/x", []string{"LPRD_CAMERA", `"ftp"`}},
		{"region", "LPRD_PLATE_REGIONS=us,zz", []string{"LPRD_PLATE_REGIONS", `"zz"`}},
		{"pin", "LPRD_TRIGGER_PIN=GPIO 17", []string{"LPRD_TRIGGER_PIN", "GPIO line name"}},
		{"same pin", "LPRD_TRIGGER_PIN=GPIO17\nLPRD_ILLUMINATOR_PIN=GPIO17", []string{"LPRD_ILLUMINATOR_PIN", "same line"}},
		{"duplicate", "LPRD_LANE=4", []string{"LPRD_LANE", "set twice"}},
		{"no equals", "LPRD_LANE", []string{"line", "KEY=VALUE"}},
		{"quote", `LPRD_LANE="4`, []string{"unterminated"}},
		{"inline comment", "LPRD_LANE=4 # lane four", []string{"inline comments"}},
		{"plaintext broker", "LPRD_MQTT_BROKER=tcp://127.0.0.1:1883", []string{"LPRD_MQTT_BROKER", "plain-text broker refused"}},
		{"broker port", "LPRD_MQTT_BROKER=ssl://broker", []string{"LPRD_MQTT_BROKER", "with a port"}},
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
				t.Fatalf("parse(%q) gave %d problems, want 1: %v", tc.line, len(errs), errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs[0].Error(), w) {
					t.Errorf("parse(%q) = %q; want it to contain %q", tc.line, errs[0], w)
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

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := write("backend.pub", "x")
	good := write("good.env", "LPRD_DEVICE_ID=d1\nLPRD_SITE=s\nLPRD_MQTT_BROKER=tcp://127.0.0.1:1883\nLPRD_MQTT_ALLOW_PLAINTEXT=true\n"+
		"LPRD_BACKEND_KEY="+key+"\nLPRD_SIGNING_KEY="+key+"\n")
	missing := write("missing.env", "LPRD_DEVICE_ID=d1\nLPRD_SITE=s\nLPRD_MQTT_BROKER=tcp://127.0.0.1:1883\nLPRD_MQTT_ALLOW_PLAINTEXT=true\n"+
		"LPRD_BACKEND_KEY="+filepath.Join(dir, "nope")+"\nLPRD_SIGNING_KEY="+key+"\n")
	for _, tc := range []struct {
		path string
		want int
		out  string
	}{
		{good, 0, "ok"},
		{missing, 1, "LPRD_BACKEND_KEY"},
		{filepath.Join(dir, "absent.env"), 1, "no such file"},
	} {
		var out strings.Builder
		if got := check(tc.path, nil, &out); got != tc.want || !strings.Contains(out.String(), tc.out) {
			t.Errorf("check(%s) = %d, %q; want %d and %q", filepath.Base(tc.path), got, out.String(), tc.want, tc.out)
		}
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
	want := envTemplate()
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
		t.Errorf("%s is out of date; run go test ./cmd/lprd -run TestEnvTemplate -update", path)
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
	f.Fuzz(func(t *testing.T, s string) {
		entries, errs := parseEnvFile(strings.NewReader(s))
		for _, e := range errs {
			_ = e.Error()
		}
		c, errs := buildConfig(entries)
		if len(errs) == 0 {
			// A configuration without problems must be usable as is.
			if c.DeviceID == "" || c.MQTTBroker == "" || c.OutboxMaxBytes < 1024 || c.MinConfidence != c.MinConfidence {
				t.Fatalf("accepted an unusable configuration: %+v", c)
			}
		}
	})
}
