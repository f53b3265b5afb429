package fusion

import (
	"image"
	"math/rand"
	"testing"
	"time"

	"github.com/lprd/lprd/ocr/plateformat"
)

var t0 = time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)

// confusable stands in for the recognizer's typical mistakes.
var confusable = map[byte]byte{'B': '8', '8': 'B', 'O': '0', '0': 'O', 'S': '5', '5': 'S', '1': 'I', 'Z': '2', 'G': '6', 'M': 'N', 'E': 'F'}

// noisy returns a read of plate at frame i of a pass: the box moves down-left, a third of the
// reads have a character swapped for a confusable, some drop one, and confidences vary.
func noisy(rng *rand.Rand, plate string, at time.Time, box image.Rectangle) Read {
	b := []byte(plate)
	conf := make([]float32, len(b))
	for i := range conf {
		conf[i] = 0.85 + 0.1*rng.Float32()
	}
	switch rng.Intn(6) {
	case 0, 1:
		i := rng.Intn(len(b))
		if c, ok := confusable[b[i]]; ok {
			b[i] = c
			conf[i] = 0.4 + 0.2*rng.Float32()
		}
	case 2:
		i := rng.Intn(len(b))
		b = append(b[:i], b[i+1:]...)
		conf = conf[:len(b)]
	}
	total := float32(1)
	for _, c := range conf {
		total *= c
	}
	return Read{At: at, Box: box, Text: string(b), Confidence: total, CharConf: conf,
		Candidates: []Candidate{{Text: string(b), Confidence: total}}}
}

func pass(rng *rand.Rand, f *Fuser, plate string, start time.Time, frames int, x0 int) ([]Result, time.Time) {
	var out []Result
	at := start
	for i := 0; i < frames; i++ {
		at = start.Add(time.Duration(i) * 66 * time.Millisecond)
		box := image.Rect(x0-i*8, 300+i*12, x0-i*8+120, 300+i*12+60)
		out = append(out, f.Add(noisy(rng, plate, at, box))...)
	}
	return out, at
}

func TestTenNoisyFramesGiveOneResult(t *testing.T) {
	rules, _ := plateformat.Load("us")
	for seed := int64(0); seed < 50; seed++ {
		rng := rand.New(rand.NewSource(seed))
		// The noise here is heavier than a real lane's: a few seeds fuse under the send bar's
		// default 0.3. This test is about grouping, so the bar is lowered.
		f := New(Options{Rules: rules, MinConfidence: 0.2})
		out, last := pass(rng, f, "7ABC123", t0, 10, 600)
		out = append(out, f.Tick(last.Add(500*time.Millisecond))...) // under LeaveAfter's 700 ms
		if len(out) != 0 {
			t.Fatalf("seed %d: %d results before the plate left", seed, len(out))
		}
		out = append(out, f.Tick(last.Add(2*time.Second))...)
		if len(out) != 1 {
			t.Fatalf("seed %d: %d results; want 1: %+v", seed, len(out), out)
		}
		r := out[0]
		if r.Plate != "7ABC123" || r.Reason != Left || r.Frames != 10 || r.Rule != "us:#@@@###" ||
			!r.FirstSeen.Equal(t0) || !r.LastSeen.Equal(last) || r.Box.Empty() {
			t.Errorf("seed %d: result %+v", seed, r)
		}
		if f.Open() != 0 {
			t.Errorf("seed %d: %d tracks open after the result", seed, f.Open())
		}
	}
}

func TestBackToBackVehicles(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	f := New(Options{})
	out, last := pass(rng, f, "ABC1234", t0, 12, 600)
	// The next vehicle enters at the same place 200 ms after the last read of the first one.
	more, last2 := pass(rng, f, "XYZ9876", last.Add(200*time.Millisecond), 12, 600)
	out = append(out, more...)
	out = append(out, f.Tick(last2.Add(3*time.Second))...)
	if len(out) != 2 || out[0].Plate != "ABC1234" || out[1].Plate != "XYZ9876" {
		t.Fatalf("results = %+v; want ABC1234 then XYZ9876", out)
	}
	if !out[0].LastSeen.Before(out[1].FirstSeen) {
		t.Errorf("passes overlap: %v .. %v", out[0].LastSeen, out[1].FirstSeen)
	}
}

func TestSplitTrackReportedOnce(t *testing.T) {
	// A vehicle close to the camera moves further between two processed frames than the
	// tracker follows (frames dropped under load): its second half starts a new track of the
	// same plate, while the first is still open or just closed. One result either way.
	for _, gap := range []time.Duration{100 * time.Millisecond, 1500 * time.Millisecond} {
		rng := rand.New(rand.NewSource(3))
		f := New(Options{})
		out, last := pass(rng, f, "ABC1234", t0, 12, 600)
		more, last2 := pass(rng, f, "ABC1234", last.Add(gap), 12, 1100) // far from where the first ended
		out = append(out, more...)
		out = append(out, f.Tick(last2.Add(5*time.Second))...)
		if len(out) != 1 || out[0].Plate != "ABC1234" || f.Suppressed != 1 {
			t.Errorf("gap %v: results = %+v, suppressed %d; want one ABC1234, one suppressed", gap, out, f.Suppressed)
		}
	}
	// The same plate long after, elsewhere in the frame, is a new pass.
	rng := rand.New(rand.NewSource(4))
	f := New(Options{})
	out, last := pass(rng, f, "ABC1234", t0, 12, 600)
	more, last2 := pass(rng, f, "ABC1234", last.Add(10*time.Second), 12, 1100)
	out = append(out, more...)
	out = append(out, f.Tick(last2.Add(5*time.Second))...)
	if len(out) != 2 {
		t.Errorf("10 s apart, elsewhere: %d results; want 2", len(out))
	}
}

func TestSloganInLastFramesAbsorbed(t *testing.T) {
	// Near the camera, in a pass's last frames, the plate's slogan line is read on its own
	// just below the registration: part of the same vehicle, not a result.
	rng := rand.New(rand.NewSource(5))
	f := New(Options{})
	out, last := pass(rng, f, "ABC1234", t0, 20, 600)
	lastBox := image.Rect(600-19*8, 300+19*12, 600-19*8+120, 300+19*12+60)
	for i := range 2 {
		at := last.Add(time.Duration(i-1) * 66 * time.Millisecond)
		out = append(out, f.Add(Read{At: at, Box: lastBox.Add(image.Pt(20, 40)), Text: "FRONTERA", Confidence: 0.99,
			Candidates: []Candidate{{Text: "FRONTERA", Confidence: 0.99}}})...)
	}
	out = append(out, f.Tick(last.Add(5*time.Second))...)
	if len(out) != 1 || out[0].Plate != "ABC1234" || f.Absorbed == 0 {
		t.Fatalf("results = %+v, absorbed %d; want ABC1234 alone", out, f.Absorbed)
	}
}

func TestParkedVehicleGivesOneResult(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	f := New(Options{MaxDelay: 3 * time.Second})
	var out []Result
	box := image.Rect(500, 400, 620, 460)
	at := t0
	for i := 0; i < 10*60*15; i++ { // ten minutes at 15 fps
		at = t0.Add(time.Duration(i) * 66 * time.Millisecond)
		if i >= 3000 && i < 3060 { // someone walks in front: 4 s without reads
			continue
		}
		jitter := image.Pt(rng.Intn(5)-2, rng.Intn(5)-2)
		out = append(out, f.Add(noisy(rng, "PARK123", at, box.Add(jitter)))...)
	}
	out = append(out, f.Tick(at.Add(time.Minute))...)
	if len(out) != 1 || out[0].Plate != "PARK123" || out[0].Reason != MaxDelay {
		t.Fatalf("results = %+v; want one PARK123 after MaxDelay", out)
	}
	if d := out[0].LastSeen.Sub(out[0].FirstSeen); d > 3*time.Second {
		t.Errorf("result waited %v; MaxDelay is 3s", d)
	}
	if f.Suppressed != 1 {
		t.Errorf("Suppressed = %d; want 1 (the pass after the gap)", f.Suppressed)
	}
}

func TestCloseWindowAndFlush(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	f := New(Options{})
	_, last := pass(rng, f, "WIN4567", t0, 5, 400)
	out := f.CloseWindow(last.Add(100 * time.Millisecond))
	if len(out) != 1 || out[0].Plate != "WIN4567" || out[0].Reason != Window || f.Open() != 0 {
		t.Fatalf("CloseWindow = %+v, %d open", out, f.Open())
	}
	_, _ = pass(rng, f, "FLU8899", last.Add(time.Minute), 5, 400)
	out = f.Flush()
	if len(out) != 1 || out[0].Plate != "FLU8899" || out[0].Reason != Flush {
		t.Fatalf("Flush = %+v", out)
	}
	if out := f.Flush(); len(out) != 0 {
		t.Fatalf("second Flush = %+v", out)
	}
}

func TestAmbiguousKeepsCandidates(t *testing.T) {
	f := New(Options{})
	box := image.Rect(100, 100, 220, 160)
	for i := 0; i < 4; i++ {
		text := "AB8123"
		if i%2 == 1 {
			text = "ABB123"
		}
		f.Add(Read{At: t0.Add(time.Duration(i) * 100 * time.Millisecond), Box: box, Text: text, Confidence: 0.6,
			Candidates: []Candidate{{Text: text, Confidence: 0.6}}})
	}
	out := f.Flush()
	if len(out) != 1 || !out[0].Ambiguous || len(out[0].Candidates) < 2 {
		t.Fatalf("Flush = %+v; want one ambiguous result with both candidates", out)
	}
	got := map[string]bool{}
	for _, c := range out[0].Candidates {
		got[c.Text] = true
	}
	if !got["AB8123"] || !got["ABB123"] {
		t.Errorf("candidates = %+v", out[0].Candidates)
	}
}

func TestRulesRankFusedText(t *testing.T) {
	rules, _ := plateformat.Load("us-ny")
	f := New(Options{Rules: rules})
	box := image.Rect(100, 100, 220, 160)
	// Every read has the same confusable doubt; the frames offered the rules' repair as an
	// alternative (scored by the recognizer), and the rules prefer it over a free text.
	for i := 0; i < 5; i++ {
		f.Add(Read{At: t0.Add(time.Duration(i) * 100 * time.Millisecond), Box: box, Text: "A8C1234", Confidence: 0.6,
			Candidates: []Candidate{{Text: "A8C1234", Confidence: 0.6}, {Text: "ABC1234", Confidence: 0.3}}})
	}
	out := f.Flush()
	if len(out) != 1 || out[0].Plate != "ABC1234" || out[0].Rule != "us-ny:@@@####" {
		t.Fatalf("Flush = %+v", out)
	}
	// A confident free text is not forced into a format: fusion repairs nothing itself.
	for i := 0; i < 5; i++ {
		f.Add(Read{At: t0.Add(time.Duration(i) * 100 * time.Millisecond), Box: box, Text: "L8VE123", Confidence: 0.9})
	}
	out = f.Flush()
	if len(out) != 1 || out[0].Plate != "L8VE123" || out[0].Rule != "" {
		t.Fatalf("Flush = %+v; want the vanity text as read", out)
	}
}

func TestEmptyReadsIgnored(t *testing.T) {
	f := New(Options{})
	f.Add(Read{At: t0, Box: image.Rect(0, 0, 10, 5)})
	f.Add(Read{At: t0, Box: image.Rect(0, 0, 10, 5), Text: "--"})
	if f.Open() != 0 {
		t.Fatalf("%d tracks from empty reads", f.Open())
	}
	if out := f.Flush(); len(out) != 0 {
		t.Fatalf("Flush = %+v", out)
	}
}

func TestMaxTracksBound(t *testing.T) {
	f := New(Options{MaxTracks: 4})
	var out []Result
	for i := 0; i < 10; i++ {
		text := string([]byte{'A' + byte(i), 'Q', 'X', '1', '2', '3'})
		out = append(out, f.Add(Read{At: t0, Box: image.Rect(i*400, 0, i*400+100, 50), Text: text, Confidence: 0.9})...)
	}
	if f.Open() > 4 {
		t.Fatalf("%d tracks open; MaxTracks is 4", f.Open())
	}
	out = append(out, f.Flush()...)
	if len(out) != 10 {
		t.Fatalf("%d results; want 10", len(out))
	}
}

func TestSimilarity(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want float64
	}{{"ABC", "ABC", 1}, {"", "ABC", 0}, {"ABCD", "ABXD", 0.75}, {"ABCD", "ABD", 0.75}, {"ABCD", "WXYZ", 0}} {
		if got := similarity(tt.a, tt.b); got != tt.want {
			t.Errorf("similarity(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	f := New(Options{})
	reads := make([]Read, 64)
	for i := range reads {
		reads[i] = noisy(rng, "7ABC123", t0, image.Rect(500, 400, 620, 460))
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r := reads[i%len(reads)]
		r.At = t0.Add(time.Duration(i) * 33 * time.Millisecond)
		f.Add(r)
	}
}

func TestSingleUncertainReadDropped(t *testing.T) {
	f := New(Options{})
	box := image.Rect(100, 100, 220, 160)
	f.Add(Read{At: t0, Box: box, Text: "EEFFEE", Confidence: 0.2})
	f.Add(Read{At: t0, Box: box.Add(image.Pt(600, 0)), Text: "SURE123", Confidence: 0.9})
	out := f.Tick(t0.Add(time.Minute))
	if len(out) != 1 || out[0].Plate != "SURE123" || f.Dropped != 1 {
		t.Fatalf("results %+v, dropped %d; want SURE123 only, one dropped", out, f.Dropped)
	}
}
