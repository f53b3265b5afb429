//go:build !race

package ocr

// The lane replay renders and reads a whole clip: seconds normally, minutes under the race
// detector, so it is left out of race runs; the other pipeline tests cover races.

import (
	"testing"
	"time"

	"github.com/lprd/lprd/ocr/fusion"
	"github.com/lprd/lprd/ocr/plateformat"
	"github.com/lprd/lprd/ocr/synth"
)

// TestLaneEndToEnd replays a synthetic lane clip (three vehicles, the last one parked for 6 s)
// through a FrameReader and the fusion stage, as the daemon wires them, and expects one
// result per vehicle with the right plate.
func TestLaneEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("renders and reads a whole clip")
	}
	lane := synth.NewLane(3, synth.LaneOptions{Width: 960, Height: 540, FPS: 8, Vehicles: 3,
		Park: 5 * time.Second, GoFontsOnly: true})
	rules, _ := plateformat.Load("us,mx")
	fr, err := NewFrameReader(FrameReaderOptions{Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	fu := fusion.New(fusion.Options{Rules: rules, MaxDelay: 4 * time.Second})
	t0 := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	var results []fusion.Result
	var at time.Time
	for i := 0; i < lane.Frames(); i++ {
		at = t0.Add(lane.FrameTime(i))
		sc := lane.Frame(i)
		reads, err := fr.Read(greyPix(sc.Image), 960, 540, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reads {
			results = append(results, fu.Add(fusion.Read{At: at, Box: r.Box, Text: r.Text, Confidence: r.Confidence,
				CharConf: r.CharConf, Candidates: r.Candidates})...)
		}
		results = append(results, fu.Tick(at)...)
	}
	results = append(results, fu.Tick(at.Add(time.Minute))...)
	passes := lane.Passes()
	got := map[string]int{}
	for _, r := range results {
		got[r.Plate]++
	}
	right := 0
	for _, p := range passes {
		if got[Canonical(p.Text)] == 1 {
			right++
		} else {
			t.Logf("pass %q: %d results", p.Text, got[p.Text])
		}
	}
	if right < len(passes)-1 || len(results) > len(passes)+1 {
		for _, r := range results {
			t.Logf("result %q conf %.2f frames %d %v..%v %s", r.Plate, r.Confidence, r.Frames,
				r.FirstSeen.Sub(t0), r.LastSeen.Sub(t0), r.Reason)
		}
		t.Errorf("%d of %d passes reported exactly once, %d results in all", right, len(passes), len(results))
	}
}
