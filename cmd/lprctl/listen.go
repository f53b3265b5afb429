package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lprd/lprd/uplink/envelope"
	"github.com/lprd/lprd/uplink/mqttclient"
	"github.com/lprd/lprd/uplink/receiver"
)

// readLine is one output object of lprctl listen.
type readLine struct {
	ReceivedAt    string          `json:"received_at"`
	DeviceID      string          `json:"device_id"`
	Seq           uint64          `json:"seq"`
	SealedAt      string          `json:"sealed_at"`
	Suite         string          `json:"suite"`
	MissingBefore uint64          `json:"missing_before,omitempty"`
	CounterReset  bool            `json:"counter_reset,omitempty"`
	Event         json.RawMessage `json:"event"`
}

// listenConfig is what lprctl listen's flags ask for.
type listenConfig struct {
	mqtt              mqttFlags
	keyFiles, devices string
	share             string
	clean             bool
	outPath, format   string
	maxAge, maxSkew   time.Duration
	window            uint64
	statsEvery        time.Duration
	statePath         string // "": no state kept
	reconnectMax      time.Duration
	ackKeyFile        string // "": no acknowledgements
	ackKey            ed25519.PrivateKey
	ackEvery          time.Duration
	ackBatch          int
}

func listenMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, code := parseListenFlags(args, stderr)
	if code >= 0 {
		return code
	}
	if err := cfg.loadAckKey(stderr); err != nil {
		fmt.Fprintf(stderr, "lprctl listen: %v\n", err)
		return 1
	}
	if cfg.statePath == "" {
		fmt.Fprintf(stderr, "lprctl listen: warning: no -state: the replay and duplicate memory is lost on restart, and envelopes up to -max-age (%v) old are accepted again\n", cfg.maxAge)
	}
	rcv, err := newListenReceiver(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "lprctl listen: %v\n", err)
		return 1
	}
	out, err := openReadOutput(cfg.outPath, cfg.format, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "lprctl listen: %v\n", err)
		return 1
	}
	defer out.close()
	logf := lockedLogf(stderr)
	if n, err := out.recall(rcv); err != nil {
		logf("%v (a read output just before the last stop may be output again)", err)
	} else if n > 0 {
		logf("%d read(s) in the output were not in the replay state (stopped between the two); their redeliveries are dropped", n)
	}
	var bg sync.WaitGroup
	defer bg.Wait()
	if cfg.statsEvery > 0 {
		every(ctx, &bg, cfg.statsEvery, func() { logf("%s", statsLine(rcv.Stats())) })
	}
	if cfg.statePath != "" {
		logf("replay state in %s", cfg.statePath)
	}
	// The replay memory is saved after each read is output and before it is
	// acknowledged to the broker: a listener killed at any point loses no read,
	// and one killed between the output and the save recalls the read from its
	// output file at start (out.recall) instead of outputting it twice.
	var persist func() error
	if cfg.statePath != "" {
		persist = func() error { return rcv.SaveState(cfg.statePath) }
	}
	if err := receiver.Listen(ctx, rcv, cfg.listenOptions(out, logf, persist)); err != nil {
		fmt.Fprintf(stderr, "lprctl listen: %v\n", err)
		return 1
	}
	code = 0
	if cfg.statePath != "" {
		if err := rcv.SaveState(cfg.statePath); err != nil {
			logf("%v", err)
			code = 1
		}
	}
	logf("%s", statsLine(rcv.Stats()))
	return code
}

// parseListenFlags reads lprctl listen's flags and the default state path.
// A code of 0 or more means exit with it (help, or a usage or state folder
// error, already reported on stderr).
func parseListenFlags(args []string, stderr io.Writer) (listenConfig, int) {
	fs := flag.NewFlagSet("listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c listenConfig
	c.mqtt.register(fs, "lprctl-listen-"+hostname())
	fs.StringVar(&c.keyFiles, "backend-key", os.Getenv("LPRCTL_BACKEND_KEY"), "backend HPKE private key file(s), comma-separated while rotating ($LPRCTL_BACKEND_KEY)")
	fs.StringVar(&c.devices, "devices", os.Getenv("LPRCTL_DEVICES"), "folder of device public keys, <device id>.pub ($LPRCTL_DEVICES)")
	fs.StringVar(&c.share, "share", "", "shared-subscription group: several listeners with the same group split the reads")
	fs.BoolVar(&c.clean, "clean", false, "clean MQTT session (the broker forgets reads sent while the listener is away)")
	fs.StringVar(&c.outPath, "out", "", "append JSON lines to this file instead of stdout")
	fs.DurationVar(&c.maxAge, "max-age", receiver.DefaultMaxAge, "refuse envelopes sealed longer ago (keep above the devices' LPRD_OUTBOX_MAX_AGE)")
	fs.DurationVar(&c.maxSkew, "max-skew", receiver.DefaultMaxSkew, "refuse envelopes sealed this far in the future")
	fs.Uint64Var(&c.window, "replay-window", receiver.DefaultReplayWindow, "sequence numbers remembered per device")
	fs.DurationVar(&c.statsEvery, "stats", 0, "print the counters to stderr at this interval (0: only on exit)")
	fs.StringVar(&c.format, "format", "json", "output: json (one object per read, for the site's systems) or text (a table for people)")
	fs.StringVar(&c.statePath, "state", "", "file that keeps the replay and duplicate memory across restarts (saved after every read, before the broker is acknowledged, and on exit); "+
		"default $LPRCTL_STATE, else $STATE_DIRECTORY/listen-<client id>.json (systemd StateDirectory=), else "+
		"$XDG_STATE_HOME/lprctl/listen-<client id>.json ($XDG_STATE_HOME defaults to ~/.local/state); -state \"\" keeps none")
	fs.StringVar(&c.ackKeyFile, "backend-signing-key", os.Getenv("LPRCTL_BACKEND_SIGNING_KEY"), "backend Ed25519 signing key (backend-signing.key, mode 0600): publish signed acknowledgements of the reads held, and refusals, on <prefix>/<site>/<device>/acks ($LPRCTL_BACKEND_SIGNING_KEY; docs/acks.md)")
	fs.DurationVar(&c.ackEvery, "ack-every", receiver.DefaultAckEvery, "longest a read waits for its acknowledgement (batched per device)")
	fs.IntVar(&c.ackBatch, "ack-batch", receiver.DefaultAckBatch, "reads waiting that send the acknowledgements at once")
	fs.DurationVar(&c.reconnectMax, "reconnect-max", receiver.DefaultMaxReconnectInterval, "longest wait between reconnection attempts after a broker outage (the back-off doubles from 1 s up to this)")
	if code := parseFlags(fs, args); code >= 0 {
		return c, code
	}
	if c.ackEvery <= 0 || c.ackBatch <= 0 {
		fmt.Fprintln(stderr, "lprctl listen: -ack-every and -ack-batch must be positive")
		return c, 2
	}
	if c.reconnectMax <= 0 {
		fmt.Fprintln(stderr, "lprctl listen: -reconnect-max must be positive")
		return c, 2
	}
	if c.format != "json" && c.format != "text" {
		fmt.Fprintln(stderr, "lprctl listen: -format must be json or text")
		return c, 2
	}
	if c.mqtt.broker == "" || c.keyFiles == "" || c.devices == "" {
		fmt.Fprintln(stderr, "lprctl listen: -broker, -backend-key and -devices are required")
		return c, 2
	}
	stateSet := false
	fs.Visit(func(f *flag.Flag) { stateSet = stateSet || f.Name == "state" })
	if !stateSet {
		p, err := defaultStatePath(c.mqtt.clientID)
		if err != nil {
			fmt.Fprintf(stderr, "lprctl listen: %v\n", err)
			return c, 1
		}
		c.statePath = p
	}
	return c, -1
}

// newListenReceiver loads the backend and device keys and the replay state.
func newListenReceiver(c listenConfig) (*receiver.Receiver, error) {
	var keys []*envelope.RecipientPrivateKey
	for _, p := range strings.Split(c.keyFiles, ",") {
		k, err := envelope.LoadRecipientPrivateKeys(strings.TrimSpace(p))
		if err != nil {
			return nil, err
		}
		keys = append(keys, k...)
	}
	devKeys, err := receiver.LoadDeviceKeys(c.devices)
	if err != nil {
		return nil, err
	}
	rcv, err := receiver.New(receiver.Options{RecipientKeys: keys, DeviceKeys: devKeys, MaxAge: c.maxAge, MaxSkew: c.maxSkew, ReplayWindow: c.window})
	if err != nil {
		return nil, err
	}
	if c.statePath != "" {
		if err := rcv.LoadState(c.statePath); err != nil {
			return nil, err
		}
	}
	return rcv, nil
}

// listenOptions subscribes to every device's reads (in the -share group if
// any), logs connection changes, gaps, counter resets and rejections, and
// writes each read to out.
func (c listenConfig) listenOptions(out *readOutput, logf func(string, ...any), persist func() error) receiver.ListenOptions {
	topic := c.mqtt.prefix + "/+/+/reads"
	if c.share != "" {
		topic = "$share/" + c.share + "/" + topic
	}
	client := c.mqtt.config(c.clean)
	client.MaxReconnectInterval = c.reconnectMax
	broker := c.mqtt.broker
	return receiver.ListenOptions{
		Client: client, Topic: topic,
		OnConnect: func() { logf("subscribed to %s on %s", topic, broker) },
		OnConnectionLost: func(err error) {
			logf("connection to %s lost: %v; reconnecting (attempts at most %v apart)", broker, err, c.reconnectMax)
		},
		OnRead: func(rd receiver.Read) error {
			if rd.Missing > 0 {
				logf("gap: device %s: %d sequence numbers missing before %d", rd.DeviceID, rd.Missing, rd.Seq)
			}
			if rd.Reset {
				logf("device %s: sequence counter jumped to %d (state folder reset?)", rd.DeviceID, rd.Seq)
			}
			if err := out.write(rd); err != nil {
				return err
			}
			if persist != nil {
				if err := persist(); err != nil {
					logf("%v", err)
					return err
				}
			}
			return nil
		},
		OnReject: func(err error) { logf("%v", err) },
		Acks: receiver.AckOptions{Key: c.ackKey, Every: c.ackEvery, Batch: c.ackBatch,
			OnPublish: func(topic, kind string, n int, err error) {
				switch {
				case err != nil:
					logf("%s of %d read(s) on %s not published: %v (the device publishes them again)", kind, n, topic, err)
				case kind == envelope.KindRefusal:
					logf("refused %d read(s) on %s: sealed to a key this listener does not hold", n, topic)
				}
			}},
	}
}

// loadAckKey loads the backend signing key, or warns that devices waiting
// for acknowledgements will keep their reads.
func (c *listenConfig) loadAckKey(stderr io.Writer) error {
	if c.ackKeyFile == "" {
		fmt.Fprintln(stderr, "lprctl listen: warning: no -backend-signing-key: no acknowledgements are published; devices with LPRD_BACKEND_VERIFY_KEY keep their reads and publish them again")
		return nil
	}
	k, err := envelope.LoadSigningPrivateKey(c.ackKeyFile)
	if err != nil {
		return fmt.Errorf("-backend-signing-key: %w", err)
	}
	c.ackKey = k
	return nil
}

// lockedLogf returns a printf to stderr, prefixed "lprctl: ", that
// goroutines may share.
func lockedLogf(stderr io.Writer) func(format string, a ...any) {
	var mu sync.Mutex
	return func(format string, a ...any) {
		mu.Lock()
		fmt.Fprintf(stderr, "lprctl: "+format+"\n", a...)
		mu.Unlock()
	}
}

// every runs f at each interval d, in a goroutine that bg waits for, until
// ctx ends.
func every(ctx context.Context, bg *sync.WaitGroup, d time.Duration, f func()) {
	bg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f()
			}
		}
	})
}

// readOutput is where lprctl listen writes reads: stdout, or a file it
// appends to and syncs after each read, so that an acknowledged read is on
// disk.
type readOutput struct {
	w      *bufio.Writer
	file   *os.File // nil for stdout
	format string   // json or text
	// journal is the output as a file to read back at start: the -out file,
	// or stdout when it is a regular file (lprctl listen >> reads.jsonl);
	// empty when the output is a pipe or a terminal.
	journal string
}

// openReadOutput opens path for appending (0600), or uses stdout when path
// is empty.
func openReadOutput(path, format string, stdout io.Writer) (*readOutput, error) {
	o := &readOutput{format: format}
	out := stdout
	if path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		o.file, out, o.journal = f, f, path
	} else if f, ok := stdout.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			o.journal = fmt.Sprintf("/proc/self/fd/%d", f.Fd())
		}
	}
	o.w = bufio.NewWriter(out)
	return o, nil
}

// recallBytes is how much of the output's end recall reads back. The reads
// it is for are the last ones output (the state is saved after each read),
// so this only needs to hold a few lines; 1 MiB is some 2000 of them.
const recallBytes = 1 << 20

// recall reads the JSON lines at the end of the output back into rcv, so
// that a read output just before the listener was killed, and not yet in
// its saved state, is dropped as a duplicate when the broker redelivers it
// instead of being output twice. It ends a line torn by a kill mid-write,
// so the next read starts a line of its own. It returns how many reads
// were new to rcv.
func (o *readOutput) recall(rcv *receiver.Receiver) (int, error) {
	if o.journal == "" || o.format != "json" {
		return 0, nil
	}
	f, err := os.Open(o.journal)
	if err != nil {
		return 0, fmt.Errorf("reading back the output %s: %w", o.journal, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("reading back the output %s: %w", o.journal, err)
	}
	from := max(fi.Size()-recallBytes, 0)
	b := make([]byte, fi.Size()-from)
	if _, err := f.ReadAt(b, from); err != nil {
		return 0, fmt.Errorf("reading back the output %s: %w", o.journal, err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		o.w.WriteByte('\n')
		if err := o.w.Flush(); err != nil {
			return 0, fmt.Errorf("ending a torn line in the output: %w", err)
		}
	}
	lines := bytes.Split(b, []byte("\n"))
	if from > 0 {
		lines = lines[1:] // the first is cut
	}
	n := 0
	for _, line := range lines {
		var rl readLine
		var ev struct {
			EventID string `json:"event_id"`
		}
		if json.Unmarshal(line, &rl) != nil || json.Unmarshal(rl.Event, &ev) != nil {
			continue // a torn line, or not a read
		}
		if rcv.Recall(rl.DeviceID, rl.Seq, ev.EventID) {
			n++
		}
	}
	return n, nil
}

// write writes rd as a JSON line or a table row, flushed (and synced to a
// file) before it returns: an error leaves the read unacknowledged.
func (o *readOutput) write(rd receiver.Read) error {
	if o.format == "text" {
		writeTextRead(o.w, rd)
	} else {
		b, err := json.Marshal(readLine{
			ReceivedAt: envelope.CanonicalTime(time.Now()), DeviceID: rd.DeviceID, Seq: rd.Seq,
			SealedAt: envelope.CanonicalTime(rd.SealedAt), Suite: rd.Suite.String(),
			MissingBefore: rd.Missing, CounterReset: rd.Reset, Event: rd.Plain,
		})
		if err != nil {
			return err
		}
		o.w.Write(b)
		o.w.WriteByte('\n')
	}
	if err := o.w.Flush(); err != nil {
		return err
	}
	if o.file != nil {
		return o.file.Sync()
	}
	return nil
}

func (o *readOutput) close() {
	if o.file != nil {
		o.file.Close()
	}
}

// defaultStatePath is where lprctl listen keeps its replay memory when
// -state is not given: $LPRCTL_STATE when set (even empty: no state), else
// a file named after the MQTT client id (two listeners on one host, e.g.
// workers of a -share group, have distinct ids and must not share a file) in
// systemd's $STATE_DIRECTORY or in $XDG_STATE_HOME/lprctl. The folder is
// made (0700) when missing.
func defaultStatePath(clientID string) (string, error) {
	if p, ok := os.LookupEnv("LPRCTL_STATE"); ok {
		return p, nil
	}
	name := "listen-" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, clientID) + ".json"
	dir, _, _ := strings.Cut(os.Getenv("STATE_DIRECTORY"), ":")
	if dir == "" {
		base := os.Getenv("XDG_STATE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil || home == "" {
				return "", fmt.Errorf("no folder for the replay state (no $STATE_DIRECTORY, $XDG_STATE_HOME or $HOME): give -state FILE, or -state \"\" to keep none")
			}
			base = filepath.Join(home, ".local", "state")
		}
		dir = filepath.Join(base, "lprctl")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("replay state folder: %w (give -state FILE, or -state \"\" to keep none)", err)
	}
	return filepath.Join(dir, name), nil
}

func statsLine(s receiver.Stats) string {
	var parts []string
	for _, r := range receiver.Reasons {
		if n := s.Rejected[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", r, n))
		}
	}
	sort.Strings(parts)
	rej := "none"
	if len(parts) > 0 {
		rej = strings.Join(parts, " ")
	}
	return fmt.Sprintf("stats: accepted=%d missing=%d counter_resets=%d rejected: %s", s.Accepted, s.Missing, s.Resets, rej)
}

var _ mqttclient.Factory = mqttclient.New

// writeTextRead writes one read as a table row: plate, confidence, lane,
// first seen, frames, device (the header is the caller's).
func writeTextRead(w io.Writer, rd receiver.Read) {
	ev := rd.Event
	plate := ev.Plate
	if plate == "" {
		plate = "-"
	}
	fmt.Fprintf(w, "  %-10s %-6.2f %-5s %-24s %-6d %s\n", plate, ev.Confidence, ev.Lane,
		ev.FirstSeen.UTC().Format("2006-01-02 15:04:05.000"), ev.Frames, rd.DeviceID)
}
