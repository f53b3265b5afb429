package uplink

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lprd/lprd/uplink/hotlist"
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
	// FramesCorrupt counts frames the camera delivered damaged (truncated, undecodable,
	// or declaring an impossible size), skipped.
	FramesCorrupt uint64 `json:"frames_corrupt"`
	// FramesSkipped counts frames outside a vehicle window (presence trigger), unread;
	// FramesRejected those the reader refused.
	FramesSkipped  uint64 `json:"frames_skipped"`
	FramesRejected uint64 `json:"frames_rejected"`
	// ReadP50Ms and ReadP99Ms are the OCR time of one frame in a worker.
	ReadP50Ms float64 `json:"read_p50_ms"`
	ReadP99Ms float64 `json:"read_p99_ms"`
	// Fusion: vehicles followed now; results under the confidence policy (not sent);
	// garbled tracks merged into their plate's; repeats of a standing vehicle withheld.
	TracksOpen        int    `json:"tracks_open"`
	ResultsBelowBar   uint64 `json:"results_below_bar"`
	ResultsAbsorbed   uint64 `json:"results_absorbed"`
	ResultsSuppressed uint64 `json:"results_suppressed"`
	// ResultsNotStored counts results the uplink refused to take (see the log).
	ResultsNotStored uint64 `json:"results_not_stored"`
	// Privacy is the send mode, the hotlist's version and size and what the mode saw,
	// passed and discarded (HealthFunc; docs/hotlist.md).
	Privacy *hotlist.Stats `json:"privacy,omitempty"`
	// TriggerEventsDropped counts presence events lost because no one read them in time.
	TriggerEventsDropped uint64 `json:"trigger_events_dropped,omitempty"`

	// Uplink. A read that entered the outbox is sent, expired, evicted or
	// dropped, each counted here; rejected reads never entered it.
	ReadsSubmitted uint64 `json:"reads_submitted"` // kept by the outbox (on disk or in memory) since start
	ReadsSent      uint64 `json:"reads_sent"`      // acknowledged by the broker since start (first time)
	// OutboxDepth counts every read waiting, on disk or held in memory
	// (ReadsInMemory of them); OutboxBytes their sealed bytes.
	OutboxDepth      int     `json:"outbox_depth"`
	OutboxBytes      int64   `json:"outbox_bytes"`
	OutboxOldestAgeS float64 `json:"outbox_oldest_age_s"`
	ReadsExpired     uint64  `json:"reads_expired"`  // outbox MaxAge
	ReadsEvicted     uint64  `json:"reads_evicted"`  // outbox full, drop-oldest
	ReadsRejected    uint64  `json:"reads_rejected"` // outbox full or read too large, reject-new: never stored
	// ReadsInMemory is how many waiting reads the state folder could not
	// store (full, read-only, failing): held sealed in memory, still
	// published, written to the folder once it works again, lost if the
	// process stops first. Non-zero means the state folder needs a look.
	ReadsInMemory int `json:"reads_in_memory"`
	// ReadsHeld counts the reads that went to memory since start.
	ReadsHeld uint64 `json:"reads_held"`
	// ReadsDropped counts reads given up because the state folder could
	// not store them and the memory queue was full (by OutboxPolicy: the
	// new read or the oldest held one): lost, visible at the backend as
	// missing sequence numbers.
	ReadsDropped uint64 `json:"reads_dropped"`
	// StoreErrors counts failed writes of the state folder (envelopes and
	// the sequence counter file).
	StoreErrors    uint64 `json:"outbox_store_errors"`
	MQTTConnected  bool   `json:"mqtt_connected"`
	MQTTReconnects uint64 `json:"mqtt_reconnects"`
	PublishErrors  uint64 `json:"publish_errors"`

	// End-to-end acknowledgements (docs/acks.md). BackendKeyID is the id
	// of the backend key reads are sealed to; BackendAcks whether reads
	// wait for the backend's signed ack (LPRD_BACKEND_VERIFY_KEY). Of
	// OutboxDepth, ReadsAwaitingBroker are not yet acknowledged by the
	// broker, ReadsAwaitingBackend are and wait for the backend (the
	// oldest sealed AwaitingBackendOldestAgeS ago), ReadsRefused were
	// refused by the backend (sealed to RefusedSealedTo, a key it does not
	// hold) and are kept for an operator. ReadsConfirmed left the outbox
	// on the backend's ack, ReadsRepublished were published again after
	// the confirmation timeout. Acks that changed nothing: AcksUnsigned
	// (malformed, unknown key, bad signature), AcksForeign (another
	// device's), AcksReplayed (seen before, or out of the time window),
	// AcksOverflow (queue full; their reads are published again).
	BackendKeyID              string  `json:"backend_key_id"`
	BackendAcks               bool    `json:"backend_acks"`
	ReadsAwaitingBroker       int     `json:"reads_awaiting_broker"`
	ReadsAwaitingBackend      int     `json:"reads_awaiting_backend"`
	AwaitingBackendOldestAgeS float64 `json:"awaiting_backend_oldest_age_s"`
	ReadsConfirmed            uint64  `json:"reads_confirmed"`
	ReadsRepublished          uint64  `json:"reads_republished"`
	ReadsRefused              int     `json:"reads_refused"`
	RefusedSealedTo           string  `json:"refused_sealed_to,omitempty"`
	AcksUnsigned              uint64  `json:"acks_unsigned"`
	AcksForeign               uint64  `json:"acks_foreign"`
	AcksReplayed              uint64  `json:"acks_replayed"`
	AcksOverflow              uint64  `json:"acks_overflow,omitempty"`

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
