package fusion

import (
	"image"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"
)

// heldStrings returns every non-empty string reachable from f (exported or not, including
// the spare capacity of its slices, where a dropped element could linger): the test hook
// that shows what fusion still holds.
func heldStrings(f *Fuser) []string {
	var out []string
	seen := map[uintptr]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			if s := v.String(); s != "" {
				out = append(out, s)
			}
		case reflect.Pointer:
			if !v.IsNil() && !seen[v.Pointer()] {
				seen[v.Pointer()] = true
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		case reflect.Slice:
			full := v.Slice3(0, v.Cap(), v.Cap())
			for i := range full.Len() {
				walk(full.Index(i))
			}
		case reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				walk(it.Key())
				walk(it.Value())
			}
		}
	}
	walk(reflect.ValueOf(f))
	return out
}

// holds reports whether any string f holds contains a 4-character piece of plate (so a
// read with one character wrong counts too).
func holds(f *Fuser, plate string) bool {
	for _, s := range heldStrings(f) {
		for i := 0; i+4 <= len(plate); i++ {
			if strings.Contains(s, plate[i:i+4]) {
				return true
			}
		}
	}
	return false
}

// TestPurgeAtEmission: with the default Retain, no text of a vehicle remains in fusion once
// its result is out, neither for a vehicle that left nor for a standing one reported at
// MaxDelay (which is still tracked and suppressed, by digest).
func TestPurgeAtEmission(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	f := New(Options{})
	out, last := pass(rng, f, "7ABC123", t0, 10, 600)
	if !holds(f, "7ABC123") {
		t.Fatal("the hook sees no text before the result: it cannot see anything")
	}
	out = append(out, f.Tick(last.Add(time.Second))...)
	if len(out) != 1 || out[0].Plate != "7ABC123" {
		t.Fatalf("results %+v", out)
	}
	if holds(f, "7ABC123") {
		t.Errorf("text held after the result: %q", heldStrings(f))
	}

	// A standing vehicle: reported at MaxDelay, then still read for 20 s.
	box := out[0].Box
	var standing []Result
	at := last.Add(5 * time.Second)
	for i := 0; i < 20*15; i++ {
		at = at.Add(66 * time.Millisecond)
		standing = append(standing, f.Add(noisy(rng, "PARK123", at, box))...)
		if len(standing) == 1 && holds(f, "PARK123") {
			t.Fatalf("text held %v after the result: %q", at.Sub(standing[0].LastSeen), heldStrings(f))
		}
	}
	standing = append(standing, f.Tick(at.Add(time.Minute))...)
	if len(standing) != 1 || standing[0].Plate != "PARK123" || f.Open() != 0 {
		t.Fatalf("standing vehicle: %d results %+v, %d open", len(standing), standing, f.Open())
	}
	if holds(f, "PARK123") {
		t.Errorf("text held at the end: %q", heldStrings(f))
	}
}

// TestPurgeDeadline: with Retain set, the text stays until its deadline (the last read before
// the result plus Retain) and is gone at it, on fusion's own clock; Retain is capped at
// MaxRetain.
func TestPurgeDeadline(t *testing.T) {
	for _, tt := range []struct{ retain, want time.Duration }{
		{30 * time.Second, 30 * time.Second},
		{time.Hour, MaxRetain},
	} {
		rng := rand.New(rand.NewSource(4))
		f := New(Options{Retain: tt.retain, MaxDelay: time.Second})
		box := image.Rect(500, 400, 620, 460)
		var out []Result
		at := t0
		for at.Sub(t0) < 1200*time.Millisecond { // a standing vehicle: reported at 1 s
			at = at.Add(66 * time.Millisecond)
			out = append(out, f.Add(noisy(rng, "7ABC123", at, box))...)
		}
		if len(out) != 1 {
			t.Fatalf("retain %v: %d results", tt.retain, len(out))
		}
		deadline := out[0].LastSeen.Add(tt.want)
		f.Tick(deadline.Add(-time.Millisecond)) // the vehicle left meanwhile...
		if f.Open() != 0 {
			t.Fatalf("retain %v: track still open", tt.retain)
		}
		// ... and its track is closed: nothing of its text is kept for Suppress either.
		if holds(f, "7ABC123") {
			t.Errorf("retain %v: text held after the track closed: %q", tt.retain, heldStrings(f))
		}
		// A vehicle that stays: the text is kept up to the deadline, not after.
		g := New(Options{Retain: tt.retain, MaxDelay: time.Second})
		at, out = t0, nil
		for !at.After(deadline) {
			at = at.Add(66 * time.Millisecond)
			out = append(out, g.Add(noisy(rng, "7ABC123", at, box))...)
			before := at.Before(deadline)
			if len(out) == 1 && before && !holds(g, "7ABC123") {
				t.Fatalf("retain %v: text gone %v before the deadline", tt.retain, deadline.Sub(at))
			}
			if !before && holds(g, "7ABC123") {
				t.Fatalf("retain %v: text held %v after the deadline", tt.retain, at.Sub(deadline))
			}
		}
		if len(out) != 1 {
			t.Fatalf("retain %v: standing vehicle gave %d results", tt.retain, len(out))
		}
	}
}
