package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lprd/lprd/capture"
	"github.com/lprd/lprd/capture/capturetest"
	"github.com/lprd/lprd/capture/trigger"
	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/fusion"
	"github.com/lprd/lprd/ocr/lane"
	"github.com/lprd/lprd/uplink"
)

// refusingReader is a lane.Reader that refuses every frame.
type refusingReader struct{}

func (refusingReader) Read([]byte, int, int, int) ([]ocr.PlateRead, error) {
	return nil, ocr.ErrFrameSize
}
func (refusingReader) Close() error { return nil }

// TestFillHealth checks the health contents the daemon adds from its stages'
// snapshots: a folder replay with one corrupt file, read by a reader that refuses
// every frame, shows up as corrupt and rejected frames, and reading health twice
// does not disturb the figures (no side effects).
func TestFillHealth(t *testing.T) {
	dir := t.TempDir()
	for i := range 3 {
		var buf bytes.Buffer
		png.Encode(&buf, &image.Gray{Pix: capturetest.GreyPattern(32, 16, byte(i)), Stride: 32, Rect: image.Rect(0, 0, 32, 16)})
		os.WriteFile(filepath.Join(dir, "f"+string(rune('a'+i))+".png"), buf.Bytes(), 0o600)
	}
	os.WriteFile(filepath.Join(dir, "x.jpg"), []byte{0xFF, 0xD8, 0xFF}, 0o600)
	cam, err := capture.Open(t.Context(), capture.Options{Camera: dir, ReplayRate: "fast"})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	// A clock that ticks 100 ms per reading, so the rate does not depend on how fast this
	// machine runs the test.
	var clockMu sync.Mutex
	clock := time.Unix(1_800_000_000, 0)
	tick := func() time.Time {
		clockMu.Lock()
		defer clockMu.Unlock()
		clock = clock.Add(100 * time.Millisecond)
		return clock
	}
	pipe, err := lane.New(lane.Options{Workers: 1, Origin: cam.Origin(), Replay: true, Now: tick,
		NewReader: func(ocr.FrameReaderOptions) (lane.Reader, error) { return refusingReader{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close()
	q := capture.NewQueue(4)
	done := make(chan struct{})
	go func() { defer close(done); pipe.Run(q, lane.SinkFunc(func(fusion.Result) error { return nil })) }()
	cam.Run(t.Context(), q)
	q.Close()
	<-done

	d := &daemon{cam: cam, pipe: pipe}
	d.notStored.Add(2)
	var h, again uplink.Health
	d.fillHealth(&h)
	d.fillHealth(&again)
	if h.CameraState != "ended" || h.FramesCorrupt != 1 || h.FramesRejected != 3 || h.ResultsNotStored != 2 || h.ModelVersion == "" {
		t.Errorf("health %+v; want camera ended, 1 corrupt, 3 rejected frames, 2 results not stored, a model version", h)
	}
	// The rate decays with time since the last frame, but a second read must not
	// reset it (the old rate meter gave the second caller about 0).
	if h.FPSProcessed <= 0 || again.FPSProcessed < 0.5*h.FPSProcessed || h.FramesRejected != again.FramesRejected {
		t.Errorf("two health reads: fps %v then %v, rejected %d then %d; want the second read unaffected by the first",
			h.FPSProcessed, again.FPSProcessed, h.FramesRejected, again.FramesRejected)
	}
	if h.GPIO != nil {
		t.Errorf("GPIO %v without a trigger; want none", h.GPIO)
	}
}

func TestLEDMode(t *testing.T) {
	for st, want := range map[capture.Status]trigger.LEDMode{
		capture.StatusStreaming: trigger.LEDOn, capture.StatusStarting: trigger.LEDBlink,
		capture.StatusReconnecting: trigger.LEDBlink, capture.StatusFailed: trigger.LEDFastBlink,
		capture.StatusEnded: trigger.LEDOff, capture.StatusStopped: trigger.LEDOff,
	} {
		if got := ledMode(st); got != want {
			t.Errorf("ledMode(%s) = %v; want %v", st, got, want)
		}
	}
}
