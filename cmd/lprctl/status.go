package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lprd/lprd/uplink/mqttclient"
)

// deviceStatus is what lprctl status knows about one device.
type deviceStatus struct {
	Site     string          `json:"site"`
	DeviceID string          `json:"device_id"`
	Status   string          `json:"status"`
	Health   json.RawMessage `json:"health,omitempty"`
}

func statusMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var m mqttFlags
	m.register(fs, fmt.Sprintf("lprctl-status-%s-%d", hostname(), time.Now().UnixNano()))
	wait := fs.Duration("wait", 2*time.Second, "how long to collect retained messages")
	asJSON := fs.Bool("json", false, "print one JSON object per device")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if m.broker == "" {
		fmt.Fprintln(stderr, "lprctl status: -broker is required")
		return 2
	}
	c, err := mqttclient.New(m.config(true))
	if err != nil {
		fmt.Fprintf(stderr, "lprctl status: %v\n", err)
		return 1
	}
	tok := c.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		fmt.Fprintf(stderr, "lprctl status: connect %s: %v\n", m.broker, tok.Error())
		return 1
	}
	defer c.Disconnect(100)
	var mu sync.Mutex
	devs := map[string]*deviceStatus{}
	handle := func(msg mqttclient.Message) {
		parts := strings.Split(strings.TrimPrefix(msg.Topic(), m.prefix+"/"), "/")
		if len(parts) != 3 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		key := parts[0] + "/" + parts[1]
		d := devs[key]
		if d == nil {
			d = &deviceStatus{Site: parts[0], DeviceID: parts[1], Status: "unknown"}
			devs[key] = d
		}
		switch parts[2] {
		case "status":
			d.Status = string(msg.Payload())
		case "health":
			if json.Valid(msg.Payload()) {
				d.Health = append(json.RawMessage(nil), msg.Payload()...)
			}
		}
	}
	for _, sub := range []string{"/+/+/status", "/+/+/health"} {
		st := c.Subscribe(m.prefix+sub, 1, handle)
		if !st.WaitTimeout(10*time.Second) || st.Error() != nil {
			fmt.Fprintf(stderr, "lprctl status: subscribe %s: %v\n", m.prefix+sub, st.Error())
			return 1
		}
	}
	select {
	case <-ctx.Done():
	case <-time.After(*wait):
	}
	mu.Lock()
	defer mu.Unlock()
	keys := make([]string, 0, len(devs))
	for k := range devs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d := devs[k]
		if *asJSON {
			b, _ := json.Marshal(d)
			fmt.Fprintf(stdout, "%s\n", b)
			continue
		}
		fmt.Fprintf(stdout, "%-40s %-8s %s\n", k, d.Status, summary(d.Health))
	}
	if len(keys) == 0 {
		fmt.Fprintf(stderr, "lprctl status: no device under %s/ answered within %v\n", m.prefix, *wait)
	}
	return 0
}

// summary picks the figures an operator looks at first.
func summary(h json.RawMessage) string {
	if h == nil {
		return "(no health)"
	}
	var v map[string]any
	if json.Unmarshal(h, &v) != nil {
		return "(bad health)"
	}
	var parts []string
	for _, k := range []string{"time", "camera_state", "fps_processed", "latency_p99_ms", "reads_sent", "outbox_depth", "outbox_oldest_age_s", "reads_expired", "reads_evicted", "cpu_temp_c"} {
		if x, ok := v[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, x))
		}
	}
	return strings.Join(parts, " ")
}
