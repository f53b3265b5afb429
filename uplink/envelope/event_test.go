package envelope

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func testEvent() Event {
	t0 := time.Date(2026, 11, 30, 2, 32, 13, 123456789, time.UTC)
	return Event{
		V:          EventVersion,
		EventID:    "019ad2c1-5e43-7abc-8def-0123456789ab",
		DeviceID:   "lane3-cam1",
		Site:       "port-a",
		Lane:       "3",
		FirstSeen:  t0,
		LastSeen:   t0.Add(850 * time.Millisecond),
		Plate:      "ABC1234",
		Confidence: 0.97314,
		Candidates: []Candidate{{"ABC1234", 0.97314}, {"A8C1234", 0.0123}},
		Format:     "us-ca",
		Frames:     7,
		Box:        Box{X: 410, Y: 288, W: 132, H: 41},
		Model:      "ctc-2026.11.1",
	}
}

func TestMarshalCanonical(t *testing.T) {
	const want = `{"box":{"h":41,"w":132,"x":410,"y":288},"candidates":[{"confidence":0.9731,"text":"ABC1234"},{"confidence":0.0123,"text":"A8C1234"}],"confidence":0.9731,"device_id":"lane3-cam1","event_id":"019ad2c1-5e43-7abc-8def-0123456789ab","first_seen":"2026-11-30T02:32:13.123Z","format":"us-ca","frames":7,"lane":"3","last_seen":"2026-11-30T02:32:13.973Z","model":"ctc-2026.11.1","plate":"ABC1234","site":"port-a","v":1}`
	tests := []struct {
		name string
		edit func(*Event)
		want string
	}{
		{"full", func(*Event) {}, want},
		{"local time zone is normalized", func(e *Event) {
			loc := time.FixedZone("MX", -6*3600)
			e.FirstSeen, e.LastSeen = e.FirstSeen.In(loc), e.LastSeen.In(loc)
		}, want},
		{"no candidates, no box", func(e *Event) { e.Candidates = nil; e.Box = Box{} },
			strings.Replace(strings.Replace(want, `"candidates":[{"confidence":0.9731,"text":"ABC1234"},{"confidence":0.0123,"text":"A8C1234"}]`, `"candidates":[]`, 1), `{"h":41,"w":132,"x":410,"y":288}`, `{"h":0,"w":0,"x":0,"y":0}`, 1)},
		{"confidence bounds", func(e *Event) { e.Confidence = 1; e.Candidates = []Candidate{{"ABC1234", 0}} },
			strings.Replace(strings.Replace(want, `"confidence":0.9731,"device_id"`, `"confidence":1,"device_id"`, 1), `[{"confidence":0.9731,"text":"ABC1234"},{"confidence":0.0123,"text":"A8C1234"}]`, `[{"confidence":0,"text":"ABC1234"}]`, 1)},
		{"small confidence has no exponent", func(e *Event) { e.Confidence = 0.00012 },
			strings.Replace(want, `"confidence":0.9731,"device_id"`, `"confidence":0.0001,"device_id"`, 1)},
		{"escapes and UTF-8", func(e *Event) { e.Plate = `Ñ"\Ü1`; e.Model = "m<&>" },
			strings.Replace(strings.Replace(want, `"plate":"ABC1234"`, `"plate":"Ñ\"\\Ü1"`, 1), `"model":"ctc-2026.11.1"`, `"model":"m<&>"`, 1)},
		{"empty lane and format", func(e *Event) { e.Lane = ""; e.Format = "" },
			strings.Replace(strings.Replace(want, `"lane":"3"`, `"lane":""`, 1), `"format":"us-ca"`, `"format":""`, 1)},
	}
	for _, tt := range tests {
		e := testEvent()
		tt.edit(&e)
		got, err := e.MarshalCanonical()
		if err != nil {
			t.Errorf("%s: MarshalCanonical() error %v", tt.name, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s: MarshalCanonical() =\n%s\nwant\n%s", tt.name, got, tt.want)
		}
		back, err := ParseEvent(got)
		if err != nil {
			t.Errorf("%s: ParseEvent(MarshalCanonical()) error %v", tt.name, err)
			continue
		}
		again, _ := back.MarshalCanonical()
		if string(again) != string(got) {
			t.Errorf("%s: re-encoding after ParseEvent =\n%s\nwant\n%s", tt.name, again, got)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Event)
		want error
	}{
		{"version", func(e *Event) { e.V = 2 }, ErrEventVersion},
		{"event id", func(e *Event) { e.EventID = "not-a-uuid" }, ErrInvalidEvent},
		{"uuid v4", func(e *Event) { e.EventID = "019ad2c1-5e43-4abc-8def-0123456789ab" }, ErrInvalidEvent},
		{"upper-case id", func(e *Event) { e.EventID = "019AD2C1-5E43-7ABC-8DEF-0123456789AB" }, ErrInvalidEvent},
		{"device id", func(e *Event) { e.DeviceID = "lane 3/cam" }, ErrInvalidEvent},
		{"site", func(e *Event) { e.Site = "" }, ErrInvalidEvent},
		{"lane", func(e *Event) { e.Lane = "+" }, ErrInvalidEvent},
		{"no plate", func(e *Event) { e.Plate = "" }, ErrInvalidEvent},
		{"long plate", func(e *Event) { e.Plate = strings.Repeat("A", MaxPlateLen+1) }, ErrInvalidEvent},
		{"control char", func(e *Event) { e.Plate = "AB\nC" }, ErrInvalidEvent},
		{"bad utf8", func(e *Event) { e.Plate = "AB\xffC" }, ErrInvalidEvent},
		{"confidence", func(e *Event) { e.Confidence = 1.5 }, ErrInvalidEvent},
		{"candidate confidence", func(e *Event) { e.Candidates[1].Confidence = -0.1 }, ErrInvalidEvent},
		{"too many candidates", func(e *Event) { e.Candidates = make([]Candidate, MaxCandidates+1) }, ErrInvalidEvent},
		{"times", func(e *Event) { e.LastSeen = e.FirstSeen.Add(-time.Second) }, ErrInvalidEvent},
		{"zero time", func(e *Event) { e.FirstSeen = time.Time{} }, ErrInvalidEvent},
		{"frames", func(e *Event) { e.Frames = -1 }, ErrInvalidEvent},
		{"box", func(e *Event) { e.Box.W = -3 }, ErrInvalidEvent},
	}
	for _, tt := range tests {
		e := testEvent()
		tt.edit(&e)
		_, err := e.MarshalCanonical()
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: MarshalCanonical() error %v; want %v", tt.name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "ABC1234") {
			t.Errorf("%s: error %q contains the plate text", tt.name, err)
		}
	}
}

func TestParseEventRejects(t *testing.T) {
	good, _ := func() ([]byte, error) { e := testEvent(); return e.MarshalCanonical() }()
	for _, in := range []string{
		``, `null`, `[]`, `{}`, `{"v":1}`, string(good) + `{}`,
		strings.Replace(string(good), `"v":1`, `"v":"1"`, 1),
		strings.Replace(string(good), `"first_seen":"2026-11-30T02:32:13.123Z"`, `"first_seen":"yesterday"`, 1),
	} {
		if _, err := ParseEvent([]byte(in)); err == nil {
			t.Errorf("ParseEvent(%q) = nil error; want an error", in)
		}
	}
	// Unknown fields are ignored for forward compatibility.
	if _, err := ParseEvent([]byte(strings.Replace(string(good), `"v":1`, `"v":1,"zz":true`, 1))); err != nil {
		t.Errorf("ParseEvent(with an unknown field) error %v; want nil", err)
	}
}

func TestEventIDs(t *testing.T) {
	var g EventIDs
	now := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	prev := ""
	for i := 0; i < 10000; i++ {
		at := now
		if i%100 == 0 {
			at = now.Add(-time.Second) // clock stepping back must not break the order
		}
		id := g.New(at)
		ts, err := ParseEventID(id)
		if err != nil {
			t.Fatalf("ParseEventID(%q) error %v", id, err)
		}
		if ts.Before(now.Add(-time.Second)) {
			t.Fatalf("ParseEventID(%q) = %v; want >= %v", id, ts, now)
		}
		if id <= prev {
			t.Fatalf("ids out of order: %q after %q", id, prev)
		}
		prev = id
	}
}

func FuzzParseEvent(f *testing.F) {
	e := testEvent()
	good, _ := e.MarshalCanonical()
	f.Add(good)
	f.Add([]byte(`{"v":1,"event_id":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ParseEvent(b)
		if err != nil {
			return
		}
		c, err := ev.MarshalCanonical()
		if err != nil {
			t.Fatalf("MarshalCanonical of a parsed event: %v", err)
		}
		ev2, err := ParseEvent(c)
		if err != nil {
			t.Fatalf("ParseEvent(canonical) error %v", err)
		}
		c2, _ := ev2.MarshalCanonical()
		if string(c) != string(c2) {
			t.Fatalf("canonical form not stable:\n%s\n%s", c, c2)
		}
	})
}
