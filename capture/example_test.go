package capture_test

import (
	"context"
	"errors"
	"log"
	"sync"

	"github.com/lprd/lprd/capture"
)

// The daemon's wiring: one goroutine runs the camera, workers take frames from the
// queue and release them, and a replay that ends lets everything finish cleanly.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cam, err := capture.Open(ctx, capture.Options{Camera: "/dev/video0", Format: "mjpeg", Width: 1920, Height: 1080, FPS: 25})
	if err != nil {
		log.Fatal(err) // a configuration error: say which, exit non-zero
	}
	q := capture.NewQueue(4)
	var workers sync.WaitGroup
	for range 2 {
		workers.Go(func() {
			for f := range q.C() {
				_ = f.Pix // read the plate here: f.Width, f.Height, f.Format
				f.Release()
			}
		})
	}
	err = cam.Run(ctx, q) // until ctx ends, a replay ends, or a permanent error
	q.Close()             // the workers drain what is queued and stop
	workers.Wait()
	if err != nil && !errors.Is(err, capture.ErrEnded) {
		log.Fatal(err)
	}
}
