package capture

import (
	"context"
	"errors"
	"sync/atomic"
)

// ErrClosed is returned by [Queue.Pop] once the queue is closed and empty.
var ErrClosed = errors.New("capture: queue closed")

// Queue is a bounded queue of frames from one producer (the camera) to any number of
// consumers (the ocr workers). When it is full, [Queue.Push] releases the oldest frame
// and counts it in [Queue.Dropped]: a slow consumer sees recent frames, not old ones,
// and the back-pressure is visible on the health topic.
type Queue struct {
	ch      chan *Frame
	dropped atomic.Uint64
	pushed  atomic.Uint64
}

// NewQueue returns a queue that holds at most capacity frames (at least 1).
func NewQueue(capacity int) *Queue {
	return &Queue{ch: make(chan *Frame, max(capacity, 1))}
}

// Push adds f, releasing the oldest queued frame if the queue is full. It never
// blocks. Only the producer may call Push, and never after Close.
func (q *Queue) Push(f *Frame) {
	q.pushed.Add(1)
	for {
		select {
		case q.ch <- f:
			return
		default:
		}
		select {
		case old := <-q.ch:
			old.Release()
			q.dropped.Add(1)
		default:
			// A consumer took a frame in between: try again.
		}
	}
}

// PushWait adds f, waiting while the queue is full: nothing is dropped. It is used for
// replays at "fast" rate, where the consumer sets the pace. If ctx ends first, f is
// released and ctx's error returned.
func (q *Queue) PushWait(ctx context.Context, f *Frame) error {
	select {
	case q.ch <- f:
		q.pushed.Add(1)
		return nil
	case <-ctx.Done():
		f.Release()
		return ctx.Err()
	}
}

// Pop returns the oldest frame, waiting for one. The caller owns it and must Release
// it. After Close, Pop returns the frames still queued and then ErrClosed.
func (q *Queue) Pop(ctx context.Context) (*Frame, error) {
	select {
	case f, ok := <-q.ch:
		if !ok {
			return nil, ErrClosed
		}
		return f, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// C returns the channel the frames arrive on, for consumers that select on more than
// one thing. It is closed by Close.
func (q *Queue) C() <-chan *Frame { return q.ch }

// Close tells consumers that no more frames will come. Only the producer's owner may
// call it, after the producer stopped (after [Camera.Run] returned).
func (q *Queue) Close() { close(q.ch) }

// Len is the number of frames waiting.
func (q *Queue) Len() int { return len(q.ch) }

// Cap is the capacity given to NewQueue.
func (q *Queue) Cap() int { return cap(q.ch) }

// Dropped is the number of frames released unseen because the queue was full.
func (q *Queue) Dropped() uint64 { return q.dropped.Load() }

// Pushed is the number of frames offered to the queue.
func (q *Queue) Pushed() uint64 { return q.pushed.Load() }
