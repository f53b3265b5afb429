package config

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lprd/lprd/capture"
	"github.com/lprd/lprd/internal/editdist"
	"github.com/lprd/lprd/ocr/plateformat"
	"github.com/lprd/lprd/uplink"
	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/mqttclient"
	"github.com/lprd/lprd/uplink/outbox"
)

// envPrefix is the prefix of every configuration key. An unknown key with this
// prefix is an error: a typo must not silently fall back to a default.
const envPrefix = "LPRD_"

// Config is the daemon's whole configuration, parsed and validated in one
// place. The zero value is not useful; start from defaultConfig.
type Config struct {
	DeviceID string
	Site     string
	Lane     string
	LogLevel string

	Camera         string
	CameraFormat   string
	CameraWidth    int
	CameraHeight   int
	CameraFPS      int
	CameraBuffers  int
	CameraExposure int // driver units; -1 leaves the driver's automatic exposure on
	CameraGain     int // driver units; -1 leaves the driver's default
	ReplayRate     string
	ReplayLoop     bool
	ExitAtEnd      bool
	FrameQueue     int

	TriggerPin      string
	TriggerEdge     string
	TriggerDebounce time.Duration
	TriggerMargin   time.Duration
	IlluminatorPin  string
	StatusLEDPin    string

	Workers        int
	PlateRegions   string
	Detector       string
	MinPlateWidth  int
	MinConfidence  float64
	Candidates     int
	FusionMaxDelay time.Duration
	FusionGap      time.Duration
	FusionSuppress time.Duration
	FusionRetain   time.Duration

	SendMode   string
	Hotlist    string
	HotlistKey string

	MQTTBroker         string
	MQTTAllowPlaintext bool
	MQTTCA             string
	MQTTCert           string
	MQTTKey            string
	MQTTClientID       string
	TopicPrefix        string
	PublishTimeout     time.Duration

	BackendKey     string
	SigningKey     string
	Suite          string
	StateDir       string
	OutboxMaxCount int
	OutboxMaxBytes int64
	OutboxMaxAge   time.Duration
	OutboxPolicy   string
	HealthInterval time.Duration

	// End-to-end acknowledgements (docs/acks.md).
	BackendVerifyKey string
	ConfirmTimeout   time.Duration
}

// keySpec documents and parses one configuration key. The table of specs is
// the single source of truth for defaults, units and examples; deploy/lprd.env
// is checked against it by a test.
type keySpec struct {
	name    string
	def     string // default as written in the env file; "" means empty/unset
	unit    string
	example string
	help    string
	set     func(c *Config, v string) error
}

var (
	idRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	topicRE = regexp.MustCompile(`^[^#+\x00]+$`)
	pinRE   = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)
)

// keys lists every key the daemon understands, in the order of deploy/lprd.env.
var keys = []keySpec{
	{"LPRD_DEVICE_ID", "", "", "lane3-cam1", "Unique id of this device (letters, digits, . _ -); names its MQTT subtree and signs its reads. Required.",
		func(c *Config, v string) error { c.DeviceID = v; return matchID(v) }},
	{"LPRD_SITE", "", "", "port-a", "Site (port of entry) id, same character set as the device id. Required.",
		func(c *Config, v string) error { c.Site = v; return matchID(v) }},
	{"LPRD_LANE", "1", "", "3", "Lane label copied into every read.",
		func(c *Config, v string) error { c.Lane = v; return matchID(v) }},
	{"LPRD_LOG_LEVEL", "info", "", "debug", "One of debug, info, warn, error. Logs never carry plate text or pixels.",
		setEnum(func(c *Config) *string { return &c.LogLevel }, "debug", "info", "warn", "error")},

	{"LPRD_CAMERA", "/dev/video0", "", "rtsp://10.0.3.21/stream1", "Frame source: a V4L2 device (/dev/videoN), an rtsp:// or http(s):// URL, a video file, or a folder of images (replay).",
		setCamera},
	{"LPRD_CAMERA_FORMAT", "auto", "", "mjpeg", "V4L2 pixel format to ask for: auto, mjpeg, yuyv or grey. The driver's choice is logged.",
		setEnum(func(c *Config) *string { return &c.CameraFormat }, "auto", "mjpeg", "yuyv", "grey")},
	{"LPRD_CAMERA_WIDTH", "1280", "pixels", "1920", "Frame width to ask the camera for.",
		setEvenInt(func(c *Config) *int { return &c.CameraWidth }, 160, 7680)},
	{"LPRD_CAMERA_HEIGHT", "720", "pixels", "1080", "Frame height to ask the camera for.",
		setInt(func(c *Config) *int { return &c.CameraHeight }, 120, 4320)},
	{"LPRD_CAMERA_FPS", "30", "frames/s", "25", "Frame rate to ask the camera for.",
		setInt(func(c *Config) *int { return &c.CameraFPS }, 1, 240)},
	{"LPRD_CAMERA_BUFFERS", "4", "buffers", "6", "V4L2 driver buffers (memory-mapped).",
		setInt(func(c *Config) *int { return &c.CameraBuffers }, 2, 32)},
	{"LPRD_CAMERA_EXPOSURE", "-1", "100 us", "300", "Manual exposure (V4L2 exposure_absolute, in 100 us units, at most 100000 = 10 s); -1 keeps automatic exposure.",
		setInt(func(c *Config) *int { return &c.CameraExposure }, -1, maxExposure)},
	{"LPRD_CAMERA_GAIN", "-1", "driver units", "16", "Manual gain; -1 keeps the driver's default.",
		setInt(func(c *Config) *int { return &c.CameraGain }, -1, 1<<20)},
	{"LPRD_REPLAY_RATE", "recorded", "", "fast", "Replay speed of a file or folder source: recorded (the file's own rate), fast (as fast as possible) or a number of frames per second.",
		setReplayRate},
	{"LPRD_REPLAY_LOOP", "false", "", "true", "Replay a file or folder source in a loop.",
		setBool(func(c *Config) *bool { return &c.ReplayLoop })},
	{"LPRD_EXIT_AT_END", "false", "", "true", "Stop the daemon (cleanly, after draining) when a replayed file or folder ends. For demos and tests.",
		setBool(func(c *Config) *bool { return &c.ExitAtEnd })},
	{"LPRD_FRAME_QUEUE", "4", "frames", "8", "Frames queued between capture and ocr; when full the oldest frame is dropped and counted.",
		setInt(func(c *Config) *int { return &c.FrameQueue }, 1, 256)},

	{"LPRD_TRIGGER_PIN", "", "", "GPIO17", "GPIO line of the vehicle-presence loop (kernel name). Empty: no trigger, every frame is processed.",
		setPin(func(c *Config) *string { return &c.TriggerPin })},
	{"LPRD_TRIGGER_EDGE", "rising", "", "falling", "Edge that means a vehicle arrived: rising (active high) or falling (active low).",
		setEnum(func(c *Config) *string { return &c.TriggerEdge }, "rising", "falling")},
	{"LPRD_TRIGGER_DEBOUNCE", "50ms", "duration", "100ms", "The trigger level must hold this long to count.",
		setDuration(func(c *Config) *time.Duration { return &c.TriggerDebounce }, 0, time.Minute)},
	{"LPRD_TRIGGER_MARGIN", "500ms", "duration", "1s", "Frames this long before a window opens and after it closes are processed too.",
		setDuration(func(c *Config) *time.Duration { return &c.TriggerMargin }, 0, time.Minute)},
	{"LPRD_ILLUMINATOR_PIN", "", "", "GPIO27", "GPIO line switched on while a vehicle window is open. Empty: none.",
		setPin(func(c *Config) *string { return &c.IlluminatorPin })},
	{"LPRD_STATUS_LED_PIN", "", "", "GPIO22", "GPIO line of a status LED (on while streaming, blinking while reconnecting). Empty: none.",
		setPin(func(c *Config) *string { return &c.StatusLEDPin })},

	{"LPRD_WORKERS", "0", "workers", "2", "OCR workers, one per core; 0 means one per CPU core.",
		setInt(func(c *Config) *int { return &c.Workers }, 0, 64)},
	{"LPRD_PLATE_REGIONS", "us", "", "us,mx", "Plate-format rule sets, comma separated: us, mx, or a US state as us-XX (e.g. us-ca). Set but empty: no rules, the recognizer's own ranking (for lanes where most plates are foreign). The rules rank readings and repair confusable characters only where the recognizer was unsure of them; they never force or trim a vanity plate.",
		setRegions},
	{"LPRD_DETECTOR", "agree", "", "classical", "Plate detector: agree (both detectors; the regions both find first, then the others of each, alternately), classical (character rows by thresholds; the fastest), learned (the embedded network) or both (the network's regions, then the classical ones they miss).",
		setEnum(func(c *Config) *string { return &c.Detector }, "agree", "classical", "learned", "both")},
	{"LPRD_MIN_PLATE_WIDTH", "50", "pixels", "80", "Narrowest plate to look for, in frame pixels. Raise it when the camera is close, to skip distant vehicles and save time.",
		setInt(func(c *Config) *int { return &c.MinPlateWidth }, 20, 2000)},
	{"LPRD_MIN_CONFIDENCE", "0.3", "0..1", "0.6", "A vehicle's fused result below this confidence is not sent (counted in the log). Results above it carry their confidence and candidates, so the backend can apply a stricter threshold.",
		setFloat(func(c *Config) *float64 { return &c.MinConfidence }, 0, 1)},
	{"LPRD_CANDIDATES", "5", "candidates", "3", "Alternative readings sent with each read (top-N).",
		setInt(func(c *Config) *int { return &c.Candidates }, 1, 20)},
	{"LPRD_FUSION_MAX_DELAY", "3s", "duration", "5s", "A vehicle's result is sent at the latest this long after its plate was first seen (a stopped vehicle is sent once).",
		setDuration(func(c *Config) *time.Duration { return &c.FusionMaxDelay }, 100*time.Millisecond, 10*time.Minute)},
	{"LPRD_FUSION_GAP", "700ms", "duration", "1s", "A plate not seen for this long has left the scene and its result is sent.",
		setDuration(func(c *Config) *time.Duration { return &c.FusionGap }, 10*time.Millisecond, time.Minute)},

	{"LPRD_FUSION_SUPPRESS", "30s", "duration", "2m", "After a result, the same plate at the same place is the same vehicle (stopped at a booth) for this long and is not sent again.",
		setDuration(func(c *Config) *time.Duration { return &c.FusionSuppress }, 0, time.Hour)},
	{"LPRD_FUSION_RETAIN", "0s", "duration", "10s", "How long after a vehicle's result fusion may keep the text of its reads (to follow a vehicle that stays); 0 forgets it as the result is emitted. At most 3m. Repeats are suppressed by an in-memory digest either way.",
		setDuration(func(c *Config) *time.Duration { return &c.FusionRetain }, 0, 3*time.Minute)},

	{"LPRD_SEND_MODE", "all", "", "hits", "What is sent: all (every read), hits (only reads on the hotlist; others are discarded when fusion closes the vehicle, and counted) or hashed (every read, but a read not on the hotlist carries keyed digests instead of its text). hits and hashed need LPRD_HOTLIST_KEY and LPRD_BACKEND_VERIFY_KEY. See docs/hotlist.md.",
		setEnum(func(c *Config) *string { return &c.SendMode }, "all", "hits", "hashed")},
	{"LPRD_HOTLIST", "", "path", "/etc/lprd/hotlist.bin", "Signed hotlist file (from `lprctl hotlist build`); updates pushed on <prefix>/<site>/<device>/hotlist are kept in LPRD_STATE_DIR/hotlist and the newer of the two is used.",
		setPath(func(c *Config) *string { return &c.Hotlist })},
	{"LPRD_HOTLIST_KEY", "", "path", "/etc/lprd/hotlist-site.key", "The site's hotlist key (from `lprctl hotlist key`), readable by the lprd user only: plates are hashed under it.",
		setPath(func(c *Config) *string { return &c.HotlistKey })},

	{"LPRD_MQTT_BROKER", "", "", "ssl://broker.port-a.example:8883", "Broker URL: ssl:// (mutual TLS, the default and expected scheme) or tcp:// (only with LPRD_MQTT_ALLOW_PLAINTEXT=true). Required.",
		setBroker},
	{"LPRD_MQTT_ALLOW_PLAINTEXT", "false", "", "true", "Allow a tcp:// broker without TLS. Meant for loopback demos and tests only.",
		setBool(func(c *Config) *bool { return &c.MQTTAllowPlaintext })},
	{"LPRD_MQTT_CA", "", "path", "/etc/lprd/ca.pem", "PEM file of the CA that signed the broker's certificate (ssl:// brokers).",
		setPath(func(c *Config) *string { return &c.MQTTCA })},
	{"LPRD_MQTT_CERT", "", "path", "/etc/lprd/client.pem", "PEM client certificate for mutual TLS.",
		setPath(func(c *Config) *string { return &c.MQTTCert })},
	{"LPRD_MQTT_KEY", "", "path", "/etc/lprd/client.key", "PEM private key of the client certificate (readable by the lprd user only).",
		setPath(func(c *Config) *string { return &c.MQTTKey })},
	{"LPRD_MQTT_CLIENT_ID", "", "", "lprd-lane3-cam1", "MQTT client id; empty means lprd-<device id>. Must be stable for the persistent session.",
		func(c *Config, v string) error { c.MQTTClientID = v; return nil }},
	{"LPRD_TOPIC_PREFIX", "lpr", "", "border/lpr", "Topic prefix; topics are <prefix>/<site>/<device>/reads|status|health.",
		setTopicPrefix},
	{"LPRD_PUBLISH_TIMEOUT", "10s", "duration", "5s", "How long a publish waits for the broker's acknowledgement before it is retried from the outbox.",
		setDuration(func(c *Config) *time.Duration { return &c.PublishTimeout }, 100*time.Millisecond, 10*time.Minute)},

	{"LPRD_BACKEND_KEY", "", "path", "/etc/lprd/backend.pub", "Backend's HPKE public key (from `lprctl keygen`); reads are sealed to it. The device cannot open them. Required.",
		setPath(func(c *Config) *string { return &c.BackendKey })},
	{"LPRD_SIGNING_KEY", "", "path", "/etc/lprd/device.key", "This device's Ed25519 private signing key (from `lprctl keygen -device`), readable by the lprd user only. Required.",
		setPath(func(c *Config) *string { return &c.SigningKey })},
	{"LPRD_BACKEND_VERIFY_KEY", "", "path", "/etc/lprd/backend-signing.pub", "Backend's Ed25519 signing public key (backend-signing.pub from `lprctl keygen -backend`). With it a read leaves the outbox only when the backend's signed acknowledgement says it holds it (docs/acks.md); without it, on the broker's acknowledgement (delivery only to the broker; `lprd check` warns). It also verifies hotlists (docs/hotlist.md).",
		setPath(func(c *Config) *string { return &c.BackendVerifyKey })},
	{"LPRD_BACKEND_CONFIRM_TIMEOUT", "5m", "duration", "10m", "With LPRD_BACKEND_VERIFY_KEY: a read the broker acknowledged is published again when the backend has not confirmed it within this time (then after 2, 4, ... up to 64 times it).",
		setDuration(func(c *Config) *time.Duration { return &c.ConfirmTimeout }, time.Second, 24*time.Hour)},
	{"LPRD_SUITE", "mlkem768x25519-chacha20poly1305", "", "x25519-chacha20poly1305", "HPKE suite: mlkem768x25519-chacha20poly1305 (post-quantum hybrid, default), x25519-chacha20poly1305 (smaller), or mlkem768x25519-aes256gcm / x25519-aes256gcm (FIPS 140 mode). Must match the backend key.",
		setSuite},
	{"LPRD_STATE_DIR", "/var/lib/lprd", "path", "/var/lib/lprd", "Folder of the outbox and the sequence counter (ciphertext only).",
		setPath(func(c *Config) *string { return &c.StateDir })},
	{"LPRD_OUTBOX_MAX_COUNT", "100000", "reads", "50000", "Most reads kept in the outbox while the broker is away.",
		setInt(func(c *Config) *int { return &c.OutboxMaxCount }, 1, 100000000)},
	{"LPRD_OUTBOX_MAX_BYTES", "512MiB", "bytes (KiB, MiB, GiB suffixes)", "1GiB", "Most bytes the outbox may take on disk.",
		setBytes(func(c *Config) *int64 { return &c.OutboxMaxBytes })},
	{"LPRD_OUTBOX_MAX_AGE", "168h", "duration", "72h", "Reads older than this are expired from the outbox (counted on the health topic).",
		setDuration(func(c *Config) *time.Duration { return &c.OutboxMaxAge }, time.Minute, 10*365*24*time.Hour)},
	{"LPRD_OUTBOX_POLICY", "drop-oldest", "", "reject-new", "When the outbox is full: drop-oldest (evict the oldest read, counted) or reject-new (refuse new reads, counted).",
		setOutboxPolicy},
	{"LPRD_HEALTH_INTERVAL", "30s", "duration", "10s", "Period of the retained health message.",
		setDuration(func(c *Config) *time.Duration { return &c.HealthInterval }, time.Second, 24*time.Hour)},
}

// keyIndex maps a key name to its spec.
var keyIndex = func() map[string]*keySpec {
	m := make(map[string]*keySpec, len(keys))
	for i := range keys {
		m[keys[i].name] = &keys[i]
	}
	return m
}()

// required keys must be set (non-empty) for the daemon to start.
var required = []string{"LPRD_DEVICE_ID", "LPRD_SITE", "LPRD_MQTT_BROKER", "LPRD_BACKEND_KEY", "LPRD_SIGNING_KEY"}

// KeyError is one problem with one key.
type KeyError struct {
	Key   string
	Value string
	Line  int // line in the env file, 0 when the value came from the environment
	Err   error
}

func (e *KeyError) Error() string {
	loc := ""
	if e.Line > 0 {
		loc = fmt.Sprintf("line %d: ", e.Line)
	}
	if e.Key == "" {
		return loc + e.Err.Error()
	}
	return fmt.Sprintf("%s%s=%q: %v", loc, e.Key, e.Value, e.Err)
}

func (e *KeyError) Unwrap() error { return e.Err }

// Problems is every problem found in one configuration.
type Problems []*KeyError

func (p Problems) Error() string {
	var b strings.Builder
	for i, e := range p {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// envEntry is one KEY=VALUE assignment with where it came from.
type envEntry struct {
	key, value string
	line       int
}

// maxLineBytes bounds one line of an env file. No setting comes near it; a
// longer line is a pasted blob or binary data.
const maxLineBytes = 64 << 10

// parseEnvFile reads an env file in the format systemd's EnvironmentFile
// accepts for the keys we use: KEY=VALUE lines, blank lines, comments starting
// with # or ;, an optional "export " prefix, and values in single or double
// quotes. Syntax errors are returned together with the entries that parsed.
func parseEnvFile(r io.Reader) ([]envEntry, Problems) {
	var (
		out  []envEntry
		errs Problems
	)
	br := bufio.NewReaderSize(r, maxLineBytes)
	for n := 1; ; n++ {
		raw, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			head := string(raw[:min(len(raw), 200)])
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n') // skip the rest of the line
			}
			errs = append(errs, longLine(n, head))
		} else if len(raw) > 0 {
			if e, p := parseEnvLine(n, string(raw)); p != nil {
				errs = append(errs, p)
			} else if e.key != "" {
				out = append(out, e)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			errs = append(errs, &KeyError{Line: n, Err: fmt.Errorf("reading env file: %w", err)})
			break
		}
	}
	return out, errs
}

// longLine is the problem of a line over maxLineBytes, naming its key when
// the line starts with one.
func longLine(n int, head string) *KeyError {
	err := fmt.Errorf("line too long (limit %d bytes): expected KEY=VALUE with a short value", maxLineBytes)
	k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(head), "export "), "=")
	if k = strings.TrimSpace(k); ok && validKeyName(k) {
		return &KeyError{Key: k, Value: trunc(v), Line: n, Err: err}
	}
	return &KeyError{Line: n, Err: err}
}

// parseEnvLine parses line n; an entry with an empty key is a blank line or
// a comment.
func parseEnvLine(n int, line string) (envEntry, *KeyError) {
	line = strings.TrimSpace(line)
	if n == 1 {
		line = strings.TrimPrefix(line, "\ufeff")
	}
	if line == "" || line[0] == '#' || line[0] == ';' {
		return envEntry{}, nil
	}
	line = strings.TrimPrefix(line, "export ")
	k, v, ok := strings.Cut(line, "=")
	k = strings.TrimSpace(k)
	switch {
	case !ok && !isText(line):
		return envEntry{}, &KeyError{Line: n, Err: errors.New("binary data (control characters or invalid UTF-8): expected KEY=VALUE text")}
	case !ok:
		return envEntry{}, &KeyError{Line: n, Err: fmt.Errorf("expected KEY=VALUE, got %q", trunc(line))}
	case !validKeyName(k):
		return envEntry{}, &KeyError{Line: n, Err: fmt.Errorf("invalid key name %q: expected letters, digits and _, like LPRD_SITE", trunc(k))}
	}
	v, err := unquote(strings.TrimSpace(v))
	if err == nil && !isText(v) {
		err = errors.New("binary data (control characters or invalid UTF-8) in the value: expected text")
	}
	if err != nil {
		return envEntry{}, &KeyError{Key: k, Value: trunc(v), Line: n, Err: err}
	}
	return envEntry{key: k, value: v, line: n}, nil
}

// isText reports whether s is valid UTF-8 without control characters other
// than tab.
func isText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r != '\t' && unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func validKeyName(k string) bool {
	if k == "" {
		return false
	}
	for i, r := range k {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func unquote(v string) (string, error) {
	if v == "" {
		return v, nil
	}
	switch q := v[0]; q {
	case '"', '\'':
		if len(v) < 2 || v[len(v)-1] != q {
			return v, fmt.Errorf("unterminated %c quote", q)
		}
		inner := v[1 : len(v)-1]
		if q == '"' {
			inner = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(inner)
		}
		return inner, nil
	}
	if i := strings.Index(v, " #"); i >= 0 {
		return v, errors.New("inline comments are not supported; put the comment on its own line")
	}
	return v, nil
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// environEntries picks the LPRD_ variables out of a process environment.
func environEntries(environ []string) []envEntry {
	var out []envEntry
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, envPrefix) {
			out = append(out, envEntry{key: k, value: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

// defaultConfig returns the configuration with every default applied.
func defaultConfig() Config {
	var c Config
	for _, k := range keys {
		if err := k.set(&c, k.def); err != nil && k.def != "" {
			panic(fmt.Sprintf("default of %s: %v", k.name, err))
		}
	}
	return c
}

// buildConfig applies entries on top of the defaults and validates the result.
// It returns every problem at once.
func buildConfig(entries []envEntry) (Config, Problems) { return buildConfigAfter(entries, nil) }

// buildConfigAfter is buildConfig for entries whose source already had the
// problems in prior (an env file's syntax): a key named there is not reported
// again (as "required, not set").
func buildConfigAfter(entries []envEntry, prior Problems) (Config, Problems) {
	c := defaultConfig()
	var errs Problems
	seen := map[string]int{}
	for _, e := range entries {
		if !strings.HasPrefix(e.key, envPrefix) {
			continue // not ours; other programs may share the environment
		}
		spec, ok := keyIndex[e.key]
		if !ok {
			errs = append(errs, &KeyError{Key: e.key, Value: trunc(e.value), Line: e.line, Err: unknownKeyErr(e.key)})
			continue
		}
		if prev, dup := seen[e.key]; dup && e.line > 0 {
			errs = append(errs, &KeyError{Key: e.key, Value: shown(e), Line: e.line, Err: fmt.Errorf("set twice (first on line %d)", prev)})
			continue
		}
		seen[e.key] = e.line
		v := e.value
		if v == "" && !emptyIsAValue[e.key] {
			v = spec.def
		}
		if err := spec.set(&c, v); err != nil {
			errs = append(errs, &KeyError{Key: e.key, Value: shown(e), Line: e.line, Err: err})
		}
	}
	errs = append(errs, c.crossCheck(seen, append(prior[:len(prior):len(prior)], errs...).keys())...)
	return c, errs
}

// keys returns the keys that have a problem, so that a key is reported once:
// a relative LPRD_SIGNING_KEY is "expected an absolute path", not also
// "required, not set", and its file is not opened.
func (p Problems) keys() map[string]bool {
	m := map[string]bool{}
	for _, e := range p {
		if e.Key != "" {
			m[e.Key] = true
		}
	}
	return m
}

// shown is e's value as a problem shows it: shortened, and without the
// credentials a camera URL may carry.
func shown(e envEntry) string {
	if e.key == "LPRD_CAMERA" {
		return trunc(capture.Redact(e.value))
	}
	return trunc(e.value)
}

func unknownKeyErr(k string) error {
	best, bestD := "", 4
	for _, s := range keys {
		if d := editdist.Distance(k, s.name); d < bestD {
			best, bestD = s.name, d
		}
	}
	if best != "" {
		return fmt.Errorf("unknown key; did you mean %s?", best)
	}
	return errors.New("unknown key (see deploy/lprd.env for the list)")
}

// crossCheck validates rules that involve several keys. Keys in bad already
// have a problem and are not checked again.
func (c *Config) crossCheck(seen map[string]int, bad map[string]bool) Problems {
	var errs Problems
	add := func(key, val string, err error) {
		errs = append(errs, &KeyError{Key: key, Value: val, Line: seen[key], Err: err})
	}
	for _, k := range required {
		if v := c.get(k); v == "" && !bad[k] {
			add(k, "", errors.New("required, not set"))
		}
	}
	if b, err := mqttclient.ParseBroker(c.MQTTBroker); err == nil && !bad["LPRD_MQTT_BROKER"] {
		switch {
		case !b.TLS && !c.MQTTAllowPlaintext:
			add("LPRD_MQTT_BROKER", c.MQTTBroker, errors.New("plain-text broker refused: use ssl:// with LPRD_MQTT_CA/CERT/KEY, or set LPRD_MQTT_ALLOW_PLAINTEXT=true for a loopback demo"))
		case b.TLS:
			if c.MQTTCA == "" && !bad["LPRD_MQTT_CA"] {
				add("LPRD_MQTT_CA", "", errors.New("required for an ssl:// broker: PEM file of the broker's CA"))
			}
			if (c.MQTTCert == "") != (c.MQTTKey == "") && !bad["LPRD_MQTT_CERT"] && !bad["LPRD_MQTT_KEY"] {
				add("LPRD_MQTT_CERT", c.MQTTCert, errors.New("LPRD_MQTT_CERT and LPRD_MQTT_KEY must be set together (mutual TLS)"))
			}
		}
	}
	if c.IlluminatorPin != "" && c.IlluminatorPin == c.TriggerPin {
		add("LPRD_ILLUMINATOR_PIN", c.IlluminatorPin, errors.New("same line as LPRD_TRIGGER_PIN"))
	}
	if c.StatusLEDPin != "" && (c.StatusLEDPin == c.TriggerPin || c.StatusLEDPin == c.IlluminatorPin) {
		add("LPRD_STATUS_LED_PIN", c.StatusLEDPin, errors.New("same line as another GPIO key"))
	}
	if c.FusionGap > c.FusionMaxDelay {
		add("LPRD_FUSION_GAP", c.FusionGap.String(), fmt.Errorf("must not exceed LPRD_FUSION_MAX_DELAY (%s)", c.FusionMaxDelay))
	}
	if err := c.CaptureOptions().Validate(); err != nil && !badPrefix(bad, "LPRD_CAMERA") && !bad["LPRD_REPLAY_RATE"] {
		// The key ranges are meant to keep this from happening; it is the
		// capture package's own word on what it will open.
		add("LPRD_CAMERA", c.Camera, fmt.Errorf("refused by capture: %v", strings.ReplaceAll(err.Error(), "\n", "; ")))
	}
	return errs
}

func badPrefix(bad map[string]bool, prefix string) bool {
	for k := range bad {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// captureOptions are the capture options the configuration gives; the daemon
// adds its logger and frame pool size.
func (c *Config) CaptureOptions() capture.Options {
	return capture.Options{
		Camera: c.Camera, Format: c.CameraFormat, Width: c.CameraWidth, Height: c.CameraHeight,
		FPS: float64(c.CameraFPS), Buffers: c.CameraBuffers,
		Exposure:   time.Duration(max(c.CameraExposure, 0)) * 100 * time.Microsecond,
		ManualGain: c.CameraGain >= 0, Gain: c.CameraGain,
		ReplayRate: c.ReplayRate, Loop: c.ReplayLoop,
	}
}

// uplinkOptions are the uplink options the configuration gives; the daemon
// adds its health function, version and logger.
func (c *Config) UplinkOptions() uplink.Options {
	return uplink.Options{
		Broker: c.MQTTBroker, AllowPlaintext: c.MQTTAllowPlaintext,
		CAFile: c.MQTTCA, CertFile: c.MQTTCert, KeyFile: c.MQTTKey, ClientID: c.MQTTClientID,
		TopicPrefix: c.TopicPrefix, Site: c.Site, DeviceID: c.DeviceID,
		RecipientKeyFile: c.BackendKey, SigningKeyFile: c.SigningKey, Suite: c.Suite,
		StateDir: c.StateDir, OutboxMaxCount: c.OutboxMaxCount, OutboxMaxBytes: c.OutboxMaxBytes,
		OutboxMaxAge: c.OutboxMaxAge, OutboxPolicy: c.OutboxPolicy,
		PublishTimeout: c.PublishTimeout, HealthInterval: c.HealthInterval,
		BackendVerifyKeyFile: c.BackendVerifyKey, ConfirmTimeout: c.ConfirmTimeout,
	}
}

func (c *Config) get(key string) string {
	switch key {
	case "LPRD_DEVICE_ID":
		return c.DeviceID
	case "LPRD_SITE":
		return c.Site
	case "LPRD_MQTT_BROKER":
		return c.MQTTBroker
	case "LPRD_BACKEND_KEY":
		return c.BackendKey
	case "LPRD_SIGNING_KEY":
		return c.SigningKey
	}
	return ""
}

func matchID(v string) error {
	if v == "" || idRE.MatchString(v) {
		return nil
	}
	return errors.New("expected 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
}

func setEnum(field func(*Config) *string, allowed ...string) func(*Config, string) error {
	return func(c *Config, v string) error {
		for _, a := range allowed {
			if strings.EqualFold(v, a) {
				*field(c) = a
				return nil
			}
		}
		return fmt.Errorf("expected one of %s", strings.Join(allowed, ", "))
	}
}

func setInt(field func(*Config) *int, lo, hi int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("out of range: expected %d to %d", lo, hi)
		}
		if err != nil {
			return fmt.Errorf("expected a whole number from %d to %d", lo, hi)
		}
		if n < lo || n > hi {
			return fmt.Errorf("out of range: expected %d to %d", lo, hi)
		}
		*field(c) = n
		return nil
	}
}

func setFloat(field func(*Config) *float64, lo, hi float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("out of range: expected %g to %g", lo, hi)
		}
		if err != nil || f != f {
			return fmt.Errorf("expected a number from %g to %g", lo, hi)
		}
		if f < lo || f > hi {
			return fmt.Errorf("out of range: expected %g to %g", lo, hi)
		}
		*field(c) = f
		return nil
	}
}

func setBool(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		switch strings.ToLower(v) {
		case "true", "yes", "1", "on":
			*field(c) = true
		case "false", "no", "0", "off":
			*field(c) = false
		default:
			return errors.New("expected true or false")
		}
		return nil
	}
}

func setDuration(field func(*Config) *time.Duration, lo, hi time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("expected a duration with a unit, like 500ms, 30s, 5m or 72h, from %s to %s", lo, hi)
		}
		if d < lo || d > hi {
			return fmt.Errorf("out of range: expected %s to %s", lo, hi)
		}
		*field(c) = d
		return nil
	}
}

func setPath(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v != "" && !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, ".") {
			return errors.New("expected an absolute path (or one starting with ./)")
		}
		if strings.ContainsRune(v, 0) {
			return errors.New("path contains a NUL byte")
		}
		*field(c) = v
		return nil
	}
}

func setPin(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v != "" && !pinRE.MatchString(v) {
			return errors.New("expected a GPIO line name such as GPIO17, or empty for none")
		}
		*field(c) = v
		return nil
	}
}

var bytesUnits = []struct {
	suffix string
	mult   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1e9}, {"M", 1e6}, {"K", 1e3}, {"B", 1}, {"", 1}}

func setBytes(field func(*Config) *int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		for _, u := range bytesUnits {
			num, ok := strings.CutSuffix(v, u.suffix)
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if errors.Is(err, strconv.ErrRange) {
				return errors.New("out of range: expected 1KiB to 1PiB")
			}
			if err != nil {
				break
			}
			if n < 1 || n > (1<<50)/u.mult {
				return errors.New("out of range: expected 1KiB to 1PiB")
			}
			if n*u.mult < 1024 {
				return errors.New("out of range: expected at least 1KiB")
			}
			*field(c) = n * u.mult
			return nil
		}
		return errors.New("expected a size like 512MiB, 2GiB or 1048576")
	}
}

// maxExposure is the longest manual exposure capture accepts (10 s), in the
// key's 100 us units.
const maxExposure = 100000

func setEvenInt(field func(*Config) *int, lo, hi int) func(*Config, string) error {
	set := setInt(field, lo, hi)
	return func(c *Config, v string) error {
		if err := set(c, v); err != nil {
			return err
		}
		if *field(c)%2 != 0 {
			return fmt.Errorf("expected an even number from %d to %d", lo, hi)
		}
		return nil
	}
}

// setCamera checks the camera with capture's own rules (one list of stream
// schemes); a device, file or folder must also be an absolute path.
func setCamera(c *Config, v string) error {
	c.Camera = v
	if v == "" {
		return nil
	}
	if err := capture.ValidateCamera(v); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "camera: "))
	}
	if capture.IsStream(v) {
		return nil
	}
	return setPath(func(c *Config) *string { return &c.Camera })(c, v)
}

func setReplayRate(c *Config, v string) error {
	if _, err := capture.ParseReplayRate(v); err != nil {
		return errors.New("expected recorded, fast, or frames per second (more than 0, at most 1000)")
	}
	c.ReplayRate = v
	return nil
}

// emptyIsAValue lists the keys whose empty value means "none" rather than "the default".
var emptyIsAValue = map[string]bool{"LPRD_PLATE_REGIONS": true}

// setRegions loads the rule sets as the daemon does (plateformat.Load), so
// that a region the daemon does not know is refused here.
func setRegions(c *Config, v string) error {
	if _, err := plateformat.Load(v); err != nil {
		return err
	}
	c.PlateRegions = strings.ToLower(v)
	return nil
}

func setBroker(c *Config, v string) error {
	c.MQTTBroker = v
	if v == "" {
		return nil
	}
	if _, err := mqttclient.ParseBroker(v); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "MQTT broker "+v+": "))
	}
	return nil
}

func setSuite(c *Config, v string) error {
	s, err := envelope.ParseSuite(v)
	if err != nil {
		return err
	}
	c.Suite = s.String()
	return nil
}

func setOutboxPolicy(c *Config, v string) error {
	if _, err := outbox.ParsePolicy(v); err != nil {
		return errors.New("expected drop-oldest or reject-new")
	}
	c.OutboxPolicy = v
	return nil
}

func setTopicPrefix(c *Config, v string) error {
	if !topicRE.MatchString(v) || strings.HasPrefix(v, "/") || strings.HasSuffix(v, "/") || strings.HasPrefix(v, "$") {
		return errors.New("expected topic levels without wildcards (+, #), without a leading $ or / and no trailing /")
	}
	c.TopicPrefix = v
	return nil
}
