package main

import (
	"strings"
	"testing"

	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/plateformat"
	"github.com/lprd/lprd/ocr/synth"
)

// TestEvalSynth reads a few rendered lanes with the whole reader: every frame is counted, the
// plates it scores are those of known text, and the counts hold together. With -ir the frames
// are the night IR look: the scene is darker than by day.
func TestEvalSynth(t *testing.T) {
	if testing.Short() {
		t.Skip("renders frames")
	}
	rules, err := plateformat.Load("us")
	if err != nil {
		t.Fatal(err)
	}
	fr, err := ocr.NewFrameReader(ocr.FrameReaderOptions{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	const n = 6
	for _, look := range []synth.CompositeOptions{{}, {IR: true}, {Rows: 2}} {
		var misses strings.Builder
		s, err := evalSynth(fr, nil, evalDetSeed, n, look, &misses)
		if err != nil {
			t.Fatal(err)
		}
		if s.frames != n || len(s.ms) != n || s.plates == 0 {
			t.Fatalf("%+v: %d frames, %d times, %d plates; want %d, %d, some", look, s.frames, len(s.ms), s.plates, n, n)
		}
		if s.read > s.top5 || s.top5 > s.found || s.found > s.plates {
			t.Errorf("%+v: read %d, top-5 %d, found %d, plates %d: want read <= top-5 <= found <= plates", look, s.read, s.top5, s.found, s.plates)
		}
		if got := strings.Count(misses.String(), "\n"); got != s.plates-s.read {
			t.Errorf("%+v: %d miss lines for %d plates not read right", look, got, s.plates-s.read)
		}
	}
	stacked, err := cropComposite(nil, evalDetSeed, synth.CompositeOptions{Rows: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(stacked.Plates) == 0 || len(stacked.TextQuads) != len(stacked.Plates) {
		t.Fatalf("stacked frame: %d plates, %d rows", len(stacked.Plates), len(stacked.TextQuads))
	}
	// One frame by day may be a dim night scene (a random look): compare 8 of each.
	mean := func(look synth.CompositeOptions) float64 {
		var s float64
		var n int
		for k := range int64(8) {
			c, err := cropComposite(nil, evalDetSeed+k, look)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range c.Frame.Bytes() {
				s += float64(v)
			}
			n += len(c.Frame.Pix)
		}
		return s / float64(n)
	}
	if d, n := mean(synth.CompositeOptions{}), mean(synth.CompositeOptions{IR: true}); n >= d {
		t.Errorf("mean grey of 8 frames by day %.1f, under IR %.1f: want the IR scenes darker", d, n)
	} else {
		t.Logf("mean grey of 8 frames by day %.1f, under IR %.1f", d, n)
	}
}

func TestEvalSynthUsage(t *testing.T) {
	for _, args := range [][]string{{"-n", "0"}, {"-budget", "-1"}, {"-min-conf", "1"}, {"-detector", "nope"}, {"-detector", "agree,classical"}, {"-detector", "learned/10"}, {"extra"}} {
		if rc := evalsynthMain(args); rc != 2 {
			t.Errorf("evalsynthMain(%q) = %d; want 2", args, rc)
		}
	}
}
