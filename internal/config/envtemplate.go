package config

import (
	"fmt"
	"strings"
)

// envTemplate renders deploy/lprd.env, the file operators copy to
// /etc/lprd/lprd.env, from the key table. A test keeps the two in sync.
func Template() string {
	var b strings.Builder
	b.WriteString(`# lprd configuration: copy to /etc/lprd/lprd.env (mode 0640, owner root, group lprd).
#
# Every key starts with LPRD_. A key that is not listed here is an error, so a
# typo cannot silently fall back to a default. Validate with: lprd check /etc/lprd/lprd.env
# Format: KEY=VALUE per line (systemd EnvironmentFile); quotes are optional; comments on
# their own line. An empty or commented-out key takes its default.
#
# lprd reads either this file (lprd run -env FILE, lprd check FILE) or, without one, the
# environment (systemd's EnvironmentFile=). With a file, the file wins and the environment
# is not read: an LPRD_ variable set in the environment to a value the file does not have is
# reported as a problem, not silently ignored. A file writable by others is refused. lprd
# check and lprd run refuse the same things: every key's value, and the files it names
# (backend and signing keys, TLS files, the state folder, a replayed camera file), all at once.
#
# Generated from internal/config/config.go (go test ./internal/config -run TestEnvTemplate -update).
`)
	section := map[string]string{
		"LPRD_DEVICE_ID":   "Identity",
		"LPRD_CAMERA":      "Camera (capture)",
		"LPRD_TRIGGER_PIN": "GPIO: vehicle-presence loop, illuminator, status LED",
		"LPRD_WORKERS":     "Reading (ocr) and fusion",
		"LPRD_MQTT_BROKER": "MQTT",
		"LPRD_BACKEND_KEY": "Sealing, outbox and health (uplink)",
	}
	req := map[string]bool{}
	for _, r := range required {
		req[r] = true
	}
	for _, k := range keys {
		if s, ok := section[k.name]; ok {
			fmt.Fprintf(&b, "\n## %s\n", s)
		}
		b.WriteString("\n")
		for _, line := range wrap(k.help, 96) {
			fmt.Fprintf(&b, "# %s\n", line)
		}
		def := k.def
		if def == "" {
			def = "(empty)"
		}
		unit := ""
		if k.unit != "" {
			unit = "; unit: " + k.unit
		}
		kind := "default: " + def
		if req[k.name] {
			kind = "required"
		}
		fmt.Fprintf(&b, "# %s%s; example: %s\n", kind, unit, k.example)
		if req[k.name] {
			fmt.Fprintf(&b, "%s=\n", k.name)
		} else {
			fmt.Fprintf(&b, "#%s=%s\n", k.name, k.def)
		}
	}
	return b.String()
}

func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}
