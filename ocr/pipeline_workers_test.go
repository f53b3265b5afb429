package ocr

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lprd/lprd/ocr/synth"
)

func TestRunWorkers(t *testing.T) {
	start := matCount()
	sc := synth.RenderScene(1, synth.SceneOptions{Width: 640, Height: 360, GoFontsOnly: true})
	pix := greyPix(sc.Image)
	const frames = 12
	src := make(chan Input, frames)
	var released atomic.Int32
	for i := 0; i < frames; i++ {
		in := Input{Pix: pix, Width: 640, Height: 360, Channels: 1, Seq: uint64(i + 1), At: time.Unix(int64(i), 0),
			Release: func() { released.Add(1) }}
		if i == 5 {
			in.Channels = 2 // refused, reported, not fatal
		}
		src <- in
	}
	close(src)
	var mu sync.Mutex
	seen := map[uint64]Output{}
	stop := errors.New("end of test clip")
	next := func(ctx context.Context) (Input, error) {
		select {
		case in, ok := <-src:
			if !ok {
				return Input{}, stop
			}
			return in, nil
		case <-ctx.Done():
			return Input{}, ctx.Err()
		}
	}
	err := RunWorkers(context.Background(), 2, FrameReaderOptions{}, next, func(o Output) {
		mu.Lock()
		seen[o.Seq] = o
		mu.Unlock()
	})
	if !errors.Is(err, stop) {
		t.Fatalf("RunWorkers = %v; want the source's error", err)
	}
	if len(seen) != frames || released.Load() != frames {
		t.Fatalf("%d outputs, %d releases; want %d of each", len(seen), released.Load(), frames)
	}
	for seq, o := range seen {
		if (seq == 6) != errors.Is(o.Err, ErrFrameFormat) {
			t.Errorf("frame %d: Err = %v", seq, o.Err)
		}
		if o.Err == nil && o.Timing.Total <= 0 {
			t.Errorf("frame %d: no timing", seq)
		}
	}
	if n := matCount(); n != start {
		t.Errorf("Mat count %d -> %d: leak", start, n)
	}
}

func TestRunWorkersStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- RunWorkers(ctx, 2, FrameReaderOptions{}, func(ctx context.Context) (Input, error) {
			<-ctx.Done()
			return Input{}, ctx.Err()
		}, func(Output) { t.Error("no frames, no output") })
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunWorkers after cancel = %v; want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunWorkers did not stop after cancel")
	}
	if err := RunWorkers(ctx, 0, FrameReaderOptions{}, nil, nil); !errors.Is(err, ErrNoWorkers) {
		t.Errorf("RunWorkers(0) = %v", err)
	}
}
