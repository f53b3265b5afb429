package uplink

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Health is the retained JSON message on the health topic. Uplink fills its
// own figures; the daemon fills capture, ocr and GPIO figures through
// Options.HealthFunc. It never holds plate data.
type Health struct {
	Version      string    `json:"version"`
	ModelVersion string    `json:"model_version"`
	Time         time.Time `json:"time"`
	UptimeS      float64   `json:"uptime_s"`

	// Capture and ocr (HealthFunc).
	CameraState   string  `json:"camera_state"` // e.g. "streaming", "reconnecting", "absent"
	FPSIn         float64 `json:"fps_in"`
	FPSProcessed  float64 `json:"fps_processed"`
	FramesDropped uint64  `json:"frames_dropped"`
	LatencyP50Ms  float64 `json:"latency_p50_ms"`
	LatencyP99Ms  float64 `json:"latency_p99_ms"`

	// Uplink.
	ReadsSubmitted   uint64  `json:"reads_submitted"` // stored in the outbox since start
	ReadsSent        uint64  `json:"reads_sent"`      // acknowledged by the broker since start
	OutboxDepth      int     `json:"outbox_depth"`
	OutboxBytes      int64   `json:"outbox_bytes"`
	OutboxOldestAgeS float64 `json:"outbox_oldest_age_s"`
	ReadsExpired     uint64  `json:"reads_expired"`  // outbox MaxAge
	ReadsEvicted     uint64  `json:"reads_evicted"`  // outbox full, drop-oldest
	ReadsRejected    uint64  `json:"reads_rejected"` // outbox full, reject-new
	MQTTConnected    bool    `json:"mqtt_connected"`
	MQTTReconnects   uint64  `json:"mqtt_reconnects"`
	PublishErrors    uint64  `json:"publish_errors"`

	// GPIO lines by role, e.g. {"presence": "high", "illuminator": "on"}
	// (HealthFunc).
	GPIO map[string]string `json:"gpio,omitempty"`
	// CPUTempC is absent when no thermal zone is readable.
	CPUTempC *float64 `json:"cpu_temp_c,omitempty"`
}

// CPUTemperature reads the CPU temperature in degrees Celsius from
// <sysfsRoot>/class/thermal: the first zone whose type names the CPU or the
// SoC package, else thermal_zone0. It returns nil when none is readable.
func CPUTemperature(sysfsRoot string) *float64 {
	zones, _ := filepath.Glob(filepath.Join(sysfsRoot, "class", "thermal", "thermal_zone*"))
	pick := ""
	for _, z := range zones {
		t, err := os.ReadFile(filepath.Join(z, "type"))
		if err != nil {
			continue
		}
		typ := strings.ToLower(strings.TrimSpace(string(t)))
		if strings.Contains(typ, "cpu") || strings.Contains(typ, "x86_pkg") || strings.Contains(typ, "soc") {
			pick = z
			break
		}
	}
	if pick == "" {
		pick = filepath.Join(sysfsRoot, "class", "thermal", "thermal_zone0")
	}
	b, err := os.ReadFile(filepath.Join(pick, "temp"))
	if err != nil {
		return nil
	}
	milli, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return nil
	}
	c := float64(milli) / 1000
	return &c
}
