package envelope

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// EventVersion is the version (field "v") of the event encoding this package
// writes and reads.
const EventVersion = 1

// Limits on the fields of an event; an event outside them is refused by
// [Event.Validate] both when sealing and when opening.
const (
	MaxIDLen         = 64 // device, site and lane ids
	MaxPlateLen      = 32 // bytes of plate text (and of each candidate)
	MaxCandidates    = 16
	MaxShortTextLen  = 64 // format and model names
	CanonicalTimeFmt = "2006-01-02T15:04:05.000Z"
)

// Event is one vehicle pass as reported by the fusion stage: the result that
// leaves the device, only ever inside a sealed envelope. It never holds
// pixels.
type Event struct {
	V          int         // encoding version, EventVersion
	EventID    string      // time-ordered unique id (UUIDv7, see NewEventID)
	DeviceID   string      // the device that read the plate
	Site       string      // the site (port of entry)
	Lane       string      // the lane within the site
	FirstSeen  time.Time   // first frame of the pass
	LastSeen   time.Time   // last frame of the pass
	Plate      string      // best reading; sensitive, never logged
	Confidence float64     // of Plate, in [0, 1]
	Candidates []Candidate // top N readings, best first, Plate included
	Format     string      // plate-format rule that matched ("" if none)
	Frames     int         // frames that contributed
	Box        Box         // where the plate was in the last frame, in pixels
	Model      string      // recognizer model version
}

// Candidate is one alternative reading with its confidence.
type Candidate struct {
	Text       string
	Confidence float64
}

// Box is an axis-aligned rectangle in frame pixels.
type Box struct {
	X, Y, W, H int
}

// Errors of event encoding and validation.
var (
	ErrEventVersion = errors.New("unsupported event version")
	ErrInvalidEvent = errors.New("invalid event")
)

// ValidID reports whether s is a valid device, site or lane id: 1 to
// MaxIDLen characters from [A-Za-z0-9._-]. Ids end up in MQTT topics and file
// names, so the set is deliberately small.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return s != "." && s != ".."
}

// Validate checks the event against the limits of version 1. Error messages
// name the field, never its content for plate text.
func (e *Event) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidEvent, fmt.Sprintf(format, a...))
	}
	if e.V != EventVersion {
		return fmt.Errorf("%w: v=%d", ErrEventVersion, e.V)
	}
	if _, err := ParseEventID(e.EventID); err != nil {
		return bad("event_id: %v", err)
	}
	if !ValidID(e.DeviceID) {
		return bad("device_id %q: want 1-%d of [A-Za-z0-9._-]", e.DeviceID, MaxIDLen)
	}
	if !ValidID(e.Site) {
		return bad("site %q: want 1-%d of [A-Za-z0-9._-]", e.Site, MaxIDLen)
	}
	if e.Lane != "" && !ValidID(e.Lane) {
		return bad("lane %q: want 0-%d of [A-Za-z0-9._-]", e.Lane, MaxIDLen)
	}
	if e.FirstSeen.IsZero() || e.LastSeen.IsZero() {
		return bad("first_seen and last_seen are required")
	}
	if e.LastSeen.Before(e.FirstSeen) {
		return bad("last_seen before first_seen")
	}
	if err := checkText(e.Plate, MaxPlateLen); err != nil || e.Plate == "" {
		return bad("plate: want 1-%d bytes of valid UTF-8 without control characters", MaxPlateLen)
	}
	if !validConfidence(e.Confidence) {
		return bad("confidence %v: want a number in [0, 1]", e.Confidence)
	}
	if len(e.Candidates) > MaxCandidates {
		return bad("candidates: %d, want at most %d", len(e.Candidates), MaxCandidates)
	}
	for i, c := range e.Candidates {
		if err := checkText(c.Text, MaxPlateLen); err != nil || c.Text == "" {
			return bad("candidates[%d].text: want 1-%d bytes of valid UTF-8 without control characters", i, MaxPlateLen)
		}
		if !validConfidence(c.Confidence) {
			return bad("candidates[%d].confidence %v: want a number in [0, 1]", i, c.Confidence)
		}
	}
	if err := checkText(e.Format, MaxShortTextLen); err != nil {
		return bad("format: %v", err)
	}
	if err := checkText(e.Model, MaxShortTextLen); err != nil {
		return bad("model: %v", err)
	}
	if e.Frames < 0 || e.Frames > math.MaxInt32 {
		return bad("frames %d: want 0..2^31-1", e.Frames)
	}
	for _, v := range [...]int{e.Box.X, e.Box.Y, e.Box.W, e.Box.H} {
		if v < 0 || v > math.MaxInt32 {
			return bad("box %+v: want non-negative pixel values below 2^31", e.Box)
		}
	}
	return nil
}

func validConfidence(c float64) bool { return c >= 0 && c <= 1 } // false for NaN

func checkText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%d bytes, want at most %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return errors.New("control character")
		}
	}
	return nil
}

// MarshalCanonical validates e and returns its canonical JSON encoding (see
// the package documentation and docs/envelope.md). Equal events give equal
// bytes.
func (e *Event) MarshalCanonical() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 384)
	b = append(b, `{"box":{"h":`...)
	b = strconv.AppendInt(b, int64(e.Box.H), 10)
	b = append(b, `,"w":`...)
	b = strconv.AppendInt(b, int64(e.Box.W), 10)
	b = append(b, `,"x":`...)
	b = strconv.AppendInt(b, int64(e.Box.X), 10)
	b = append(b, `,"y":`...)
	b = strconv.AppendInt(b, int64(e.Box.Y), 10)
	b = append(b, `},"candidates":[`...)
	for i, c := range e.Candidates {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"confidence":`...)
		b = appendConfidence(b, c.Confidence)
		b = append(b, `,"text":`...)
		b = appendString(b, c.Text)
		b = append(b, '}')
	}
	b = append(b, `],"confidence":`...)
	b = appendConfidence(b, e.Confidence)
	b = append(b, `,"device_id":`...)
	b = appendString(b, e.DeviceID)
	b = append(b, `,"event_id":`...)
	b = appendString(b, e.EventID)
	b = append(b, `,"first_seen":`...)
	b = appendString(b, CanonicalTime(e.FirstSeen))
	b = append(b, `,"format":`...)
	b = appendString(b, e.Format)
	b = append(b, `,"frames":`...)
	b = strconv.AppendInt(b, int64(e.Frames), 10)
	b = append(b, `,"lane":`...)
	b = appendString(b, e.Lane)
	b = append(b, `,"last_seen":`...)
	b = appendString(b, CanonicalTime(e.LastSeen))
	b = append(b, `,"model":`...)
	b = appendString(b, e.Model)
	b = append(b, `,"plate":`...)
	b = appendString(b, e.Plate)
	b = append(b, `,"site":`...)
	b = appendString(b, e.Site)
	b = append(b, `,"v":`...)
	b = strconv.AppendInt(b, int64(e.V), 10)
	b = append(b, '}')
	return b, nil
}

// CanonicalTime formats t as the event encoding does: UTC, millisecond
// precision (truncated), for example 2026-11-30T02:32:13.123Z.
func CanonicalTime(t time.Time) string {
	return t.UTC().Truncate(time.Millisecond).Format(CanonicalTimeFmt)
}

// RoundConfidence rounds c to the four decimals the encoding keeps.
func RoundConfidence(c float64) float64 { return math.Round(c*1e4) / 1e4 }

func appendConfidence(b []byte, c float64) []byte {
	// 'f' with the shortest precision never uses an exponent, and for
	// values in [0, 1] with four decimals it matches ECMAScript's
	// Number.prototype.toString, hence RFC 8785.
	return strconv.AppendFloat(b, RoundConfidence(c), 'f', -1, 64)
}

// appendString writes s as an RFC 8785 string: only '"', '\\' and control
// characters are escaped, everything else is written as UTF-8.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// wireEvent is the JSON shape used for decoding; pointers tell a missing
// field from a zero one.
type wireEvent struct {
	V          *int    `json:"v"`
	EventID    string  `json:"event_id"`
	DeviceID   string  `json:"device_id"`
	Site       string  `json:"site"`
	Lane       string  `json:"lane"`
	FirstSeen  string  `json:"first_seen"`
	LastSeen   string  `json:"last_seen"`
	Plate      string  `json:"plate"`
	Confidence float64 `json:"confidence"`
	Candidates []struct {
		Text       string  `json:"text"`
		Confidence float64 `json:"confidence"`
	} `json:"candidates"`
	Format string `json:"format"`
	Frames int    `json:"frames"`
	Box    struct {
		X int `json:"x"`
		Y int `json:"y"`
		W int `json:"w"`
		H int `json:"h"`
	} `json:"box"`
	Model string `json:"model"`
}

// ParseEvent decodes and validates an event. It accepts any JSON encoding of
// the fields (not only the canonical one) and ignores unknown fields, so
// that a newer device can add fields without breaking an older backend.
func ParseEvent(b []byte) (Event, error) {
	var w wireEvent
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&w); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrInvalidEvent, err)
	}
	if dec.More() {
		return Event{}, fmt.Errorf("%w: trailing data after the object", ErrInvalidEvent)
	}
	if w.V == nil {
		return Event{}, fmt.Errorf("%w: missing v", ErrInvalidEvent)
	}
	e := Event{
		V: *w.V, EventID: w.EventID, DeviceID: w.DeviceID, Site: w.Site, Lane: w.Lane,
		Plate: w.Plate, Confidence: w.Confidence, Format: w.Format, Frames: w.Frames,
		Box: Box{X: w.Box.X, Y: w.Box.Y, W: w.Box.W, H: w.Box.H}, Model: w.Model,
	}
	if e.V != EventVersion {
		return Event{}, fmt.Errorf("%w: v=%d", ErrEventVersion, e.V)
	}
	var err error
	if e.FirstSeen, err = time.Parse(time.RFC3339Nano, w.FirstSeen); err != nil {
		return Event{}, fmt.Errorf("%w: first_seen: %v", ErrInvalidEvent, err)
	}
	if e.LastSeen, err = time.Parse(time.RFC3339Nano, w.LastSeen); err != nil {
		return Event{}, fmt.Errorf("%w: last_seen: %v", ErrInvalidEvent, err)
	}
	e.FirstSeen, e.LastSeen = e.FirstSeen.UTC(), e.LastSeen.UTC()
	if len(w.Candidates) > 0 {
		e.Candidates = make([]Candidate, len(w.Candidates))
		for i, c := range w.Candidates {
			e.Candidates[i] = Candidate{Text: c.Text, Confidence: c.Confidence}
		}
	}
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	return e, nil
}

// EventIDs makes time-ordered unique event ids: UUID version 7 (RFC 9562)
// with a 12-bit counter in rand_a so that ids made in the same millisecond
// still sort in the order they were made (RFC 9562 section 6.2, method 1).
// The zero value is ready to use and safe for concurrent use.
type EventIDs struct {
	mu     sync.Mutex
	lastMs int64
	ctr    uint16
}

// New returns the id of an event made at now.
func (g *EventIDs) New(now time.Time) string {
	ms := now.UnixMilli()
	var rnd [10]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails
	g.mu.Lock()
	if ms <= g.lastMs {
		ms = g.lastMs // clock stepped back or same ms: keep the order
		g.ctr++
		if g.ctr > 0xfff { // counter exhausted: borrow the next millisecond
			ms++
			g.ctr = 0
		}
	} else {
		g.ctr = uint16(rnd[0]&0x07)<<8 | uint16(rnd[1]) // random start, room to count up
	}
	g.lastMs = ms
	ctr := g.ctr
	g.mu.Unlock()

	var u [16]byte
	binary.BigEndian.PutUint64(u[0:8], uint64(ms)<<16)
	u[6] = 0x70 | byte(ctr>>8)
	u[7] = byte(ctr)
	copy(u[8:], rnd[2:10])
	u[8] = 0x80 | u[8]&0x3f
	return formatUUID(u)
}

var defaultIDs EventIDs

// NewEventID returns a new event id made at now from a process-wide
// generator.
func NewEventID(now time.Time) string { return defaultIDs.New(now) }

func formatUUID(u [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// ParseEventID checks that s is a lower-case UUIDv7 and returns the time in
// its first 48 bits.
func ParseEventID(s string) (time.Time, error) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return time.Time{}, errors.New("want a UUID in 8-4-4-4-12 form")
	}
	var u [16]byte
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	for i := 0; i < len(h); i++ {
		if c := h[i]; c >= 'A' && c <= 'F' {
			return time.Time{}, errors.New("want lower-case hex")
		}
	}
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return time.Time{}, errors.New("want hex digits")
	}
	if u[6]>>4 != 7 || u[8]>>6 != 2 {
		return time.Time{}, errors.New("want UUID version 7, RFC 9562 variant")
	}
	ms := int64(binary.BigEndian.Uint64(u[0:8]) >> 16)
	return time.UnixMilli(ms).UTC(), nil
}
