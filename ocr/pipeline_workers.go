package ocr

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Input is one frame handed to a worker: pixels (row-major, no padding, 1 grey or 3 BGR
// channels), its capture time, and Release, which the worker calls as soon as it no longer
// needs Pix (the capture stage then zeroes and reuses the buffer). Release may be nil.
type Input struct {
	Pix                     []byte
	Width, Height, Channels int
	Seq                     uint64
	At                      time.Time
	Release                 func()
}

// Output is what a worker found in one frame. Reads belong to the receiver (they are copied
// out of the worker's reader). Err is set for a frame the reader refused (wrong size or
// format); the worker goes on with the next frame.
type Output struct {
	Seq    uint64
	At     time.Time
	Reads  []PlateRead
	Timing Timing
	Err    error
}

// ErrNoWorkers is returned by RunWorkers for a worker count below one.
var ErrNoWorkers = errors.New("ocr: workers: need at least one")

// RunWorkers runs n workers until ctx is done or next fails, and returns then (after every
// worker has stopped and closed its FrameReader). Each worker owns one FrameReader (its own
// recognizer and scratch Mats) and loops: next (block for a frame, e.g. a capture queue's Pop),
// read it, release its pixels, emit the result. emit is called from the worker goroutines,
// concurrently and not necessarily in frame order; hand the result to the single goroutine that
// owns the fusion stage (e.g. through a channel). Run one worker per core with
// SetOpenCVThreads(1).
//
// A next error other than the context's ends the run and is returned; the context's own error
// ends it quietly (nil).
func RunWorkers(ctx context.Context, n int, opt FrameReaderOptions, next func(context.Context) (Input, error), emit func(Output)) error {
	if n < 1 {
		return ErrNoWorkers
	}
	readers := make([]*FrameReader, 0, n)
	for i := 0; i < n; i++ {
		fr, err := NewFrameReader(opt)
		if err != nil {
			for _, r := range readers {
				r.Close()
			}
			return fmt.Errorf("ocr: workers: start worker %d: %w", i, err)
		}
		readers = append(readers, fr)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var runErr error
	for _, fr := range readers {
		wg.Add(1)
		go func(fr *FrameReader) {
			defer wg.Done()
			defer fr.Close()
			for {
				in, err := next(ctx)
				if err != nil {
					if ctx.Err() == nil || !errors.Is(err, ctx.Err()) {
						once.Do(func() { runErr = err })
					}
					cancel()
					return
				}
				emit(work(fr, in))
			}
		}(fr)
	}
	wg.Wait()
	if runErr != nil && !errors.Is(runErr, context.Canceled) && !errors.Is(runErr, context.DeadlineExceeded) {
		return fmt.Errorf("ocr: workers: next frame: %w", runErr)
	}
	return nil
}

// work reads one input and releases its pixels.
func work(fr *FrameReader, in Input) Output {
	reads, err := fr.Read(in.Pix, in.Width, in.Height, in.Channels)
	if in.Release != nil {
		in.Release()
	}
	out := Output{Seq: in.Seq, At: in.At, Timing: fr.LastTiming(), Err: err}
	if len(reads) > 0 {
		out.Reads = append([]PlateRead(nil), reads...)
	}
	return out
}
