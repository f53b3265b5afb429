package main

import (
	"bufio"
	"context"
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

func listenMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var m mqttFlags
	m.register(fs, "lprctl-listen-"+hostname())
	keyFiles := fs.String("backend-key", os.Getenv("LPRCTL_BACKEND_KEY"), "backend HPKE private key file(s), comma-separated while rotating ($LPRCTL_BACKEND_KEY)")
	devices := fs.String("devices", os.Getenv("LPRCTL_DEVICES"), "folder of device public keys, <device id>.pub ($LPRCTL_DEVICES)")
	share := fs.String("share", "", "shared-subscription group: several listeners with the same group split the reads")
	clean := fs.Bool("clean", false, "clean MQTT session (the broker forgets reads sent while the listener is away)")
	outPath := fs.String("out", "", "append JSON lines to this file instead of stdout")
	maxAge := fs.Duration("max-age", receiver.DefaultMaxAge, "refuse envelopes sealed longer ago (keep above the devices' LPRD_OUTBOX_MAX_AGE)")
	maxSkew := fs.Duration("max-skew", receiver.DefaultMaxSkew, "refuse envelopes sealed this far in the future")
	window := fs.Uint64("replay-window", receiver.DefaultReplayWindow, "sequence numbers remembered per device")
	statsEvery := fs.Duration("stats", 0, "print the counters to stderr at this interval (0: only on exit)")
	format := fs.String("format", "json", "output: json (one object per read, for the site's systems) or text (a table for people)")
	statePath := fs.String("state", "", "file that keeps the replay and duplicate memory across restarts (saved every 10 s and on exit); "+
		"default $LPRCTL_STATE, else $STATE_DIRECTORY/listen-<client id>.json (systemd StateDirectory=), else "+
		"$XDG_STATE_HOME/lprctl/listen-<client id>.json ($XDG_STATE_HOME defaults to ~/.local/state); -state \"\" keeps none")
	reconnectMax := fs.Duration("reconnect-max", receiver.DefaultMaxReconnectInterval, "longest wait between reconnection attempts after a broker outage (the back-off doubles from 1 s up to this)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if *reconnectMax <= 0 {
		fmt.Fprintln(stderr, "lprctl listen: -reconnect-max must be positive")
		return 2
	}
	if *format != "json" && *format != "text" {
		fmt.Fprintln(stderr, "lprctl listen: -format must be json or text")
		return 2
	}
	if m.broker == "" || *keyFiles == "" || *devices == "" {
		fmt.Fprintln(stderr, "lprctl listen: -broker, -backend-key and -devices are required")
		return 2
	}
	stateSet := false
	fs.Visit(func(f *flag.Flag) { stateSet = stateSet || f.Name == "state" })
	if !stateSet {
		p, err := defaultStatePath(m.clientID)
		if err != nil {
			fmt.Fprintf(stderr, "lprctl listen: %v\n", err)
			return 1
		}
		*statePath = p
	}
	if *statePath == "" {
		fmt.Fprintf(stderr, "lprctl listen: warning: no -state: the replay and duplicate memory is lost on restart, and envelopes up to -max-age (%v) old are accepted again\n", *maxAge)
	}
	var keys []*envelope.RecipientPrivateKey
	for _, p := range strings.Split(*keyFiles, ",") {
		k, err := envelope.LoadRecipientPrivateKeys(strings.TrimSpace(p))
		if err != nil {
			fmt.Fprintf(stderr, "lprctl listen: %v\n", err)
			return 1
		}
		keys = append(keys, k...)
	}
	devKeys, err := receiver.LoadDeviceKeys(*devices)
	if err != nil {
		fmt.Fprintf(stderr, "lprctl listen: %v\n", err)
		return 1
	}
	rcv, err := receiver.New(receiver.Options{RecipientKeys: keys, DeviceKeys: devKeys, MaxAge: *maxAge, MaxSkew: *maxSkew, ReplayWindow: *window})
	if err != nil {
		fmt.Fprintf(stderr, "lprctl listen: %v\n", err)
		return 1
	}
	if *statePath != "" {
		if err := rcv.LoadState(*statePath); err != nil {
			fmt.Fprintf(stderr, "lprctl listen: %v\n", err)
			return 1
		}
	}
	out := stdout
	var file *os.File
	if *outPath != "" {
		if file, err = os.OpenFile(*outPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
			fmt.Fprintf(stderr, "lprctl listen: %v\n", err)
			return 1
		}
		defer file.Close()
		out = file
	}
	w := bufio.NewWriter(out)
	var errMu sync.Mutex
	logf := func(format string, a ...any) {
		errMu.Lock()
		fmt.Fprintf(stderr, "lprctl: "+format+"\n", a...)
		errMu.Unlock()
	}
	topic := m.prefix + "/+/+/reads"
	if *share != "" {
		topic = "$share/" + *share + "/" + topic
	}
	var bg sync.WaitGroup
	defer bg.Wait()
	if *statePath != "" {
		bg.Go(func() {
			t := time.NewTicker(10 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if err := rcv.SaveState(*statePath); err != nil {
						logf("%v", err)
					}
				}
			}
		})
	}
	if *statsEvery > 0 {
		bg.Go(func() {
			t := time.NewTicker(*statsEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					logf("%s", statsLine(rcv.Stats()))
				}
			}
		})
	}
	if *statePath != "" {
		logf("replay state in %s", *statePath)
	}
	cfg := m.config(*clean)
	cfg.MaxReconnectInterval = *reconnectMax
	err = receiver.Listen(ctx, rcv, receiver.ListenOptions{
		Client: cfg, Topic: topic,
		OnConnect: func() { logf("subscribed to %s on %s", topic, m.broker) },
		OnConnectionLost: func(err error) {
			logf("connection to %s lost: %v; reconnecting (attempts at most %v apart)", m.broker, err, *reconnectMax)
		},
		OnRead: func(rd receiver.Read) error {
			if rd.Missing > 0 {
				logf("gap: device %s: %d sequence numbers missing before %d", rd.DeviceID, rd.Missing, rd.Seq)
			}
			if rd.Reset {
				logf("device %s: sequence counter jumped to %d (state folder reset?)", rd.DeviceID, rd.Seq)
			}
			if *format == "text" {
				writeTextRead(w, rd)
				if err := w.Flush(); err != nil {
					return err
				}
				if file != nil {
					return file.Sync()
				}
				return nil
			}
			b, err := json.Marshal(readLine{
				ReceivedAt: envelope.CanonicalTime(time.Now()), DeviceID: rd.DeviceID, Seq: rd.Seq,
				SealedAt: envelope.CanonicalTime(rd.SealedAt), Suite: rd.Suite.String(),
				MissingBefore: rd.Missing, CounterReset: rd.Reset, Event: rd.Plain,
			})
			if err != nil {
				return err
			}
			w.Write(b)
			w.WriteByte('\n')
			if err := w.Flush(); err != nil {
				return err
			}
			if file != nil {
				return file.Sync()
			}
			return nil
		},
		OnReject: func(err error) { logf("%v", err) },
	})
	if err != nil {
		fmt.Fprintf(stderr, "lprctl listen: %v\n", err)
		return 1
	}
	code := 0
	if *statePath != "" {
		if err := rcv.SaveState(*statePath); err != nil {
			logf("%v", err)
			code = 1
		}
	}
	logf("%s", statsLine(rcv.Stats()))
	return code
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
