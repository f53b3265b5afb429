package capture

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPoolZeroesAndReuses(t *testing.T) {
	p := NewPool(2)
	f := p.Get(4, 2, FormatBGR)
	if len(f.Pix) != 24 {
		t.Fatalf("Get(4, 2, bgr): len(Pix) = %d; want 24", len(f.Pix))
	}
	for i := range f.Pix {
		f.Pix[i] = 0xFF
	}
	f.Seq, f.Mono, f.Wall = 7, time.Second, time.Now()
	pix := f.Pix[:cap(f.Pix)]
	f.Release()
	for i, b := range pix {
		if b != 0 {
			t.Fatalf("after Release, byte %d = %#x; want 0", i, b)
		}
	}
	if f.Seq != 0 || f.Mono != 0 || !f.Wall.IsZero() || f.Width != 0 {
		t.Errorf("after Release, frame = %+v; want zero fields", f)
	}
	g := p.Get(2, 2, FormatGrey) // smaller: reuses the same buffer
	if &g.Pix[:1][0] != &pix[0] {
		t.Errorf("Get after Release allocated a new buffer; want reuse")
	}
	if len(g.Pix) != 4 || g.Width != 2 || g.Format != FormatGrey {
		t.Errorf("Get(2, 2, grey) = %dx%d %v len %d", g.Width, g.Height, g.Format, len(g.Pix))
	}
	if got := p.Allocs(); got != 1 {
		t.Errorf("Allocs() = %d; want 1", got)
	}
	g.Release()
}

func TestPoolKeepsBounded(t *testing.T) {
	p := NewPool(2)
	var fs []*Frame
	for range 5 {
		fs = append(fs, p.Get(8, 8, FormatGrey))
	}
	for _, f := range fs {
		f.Release()
	}
	if n := len(p.free); n != 2 {
		t.Errorf("pool keeps %d frames; want 2", n)
	}
}

func TestDoubleReleasePanics(t *testing.T) {
	f := NewPool(1).Get(2, 2, FormatGrey)
	f.Release()
	defer func() {
		if recover() == nil {
			t.Error("second Release did not panic")
		}
	}()
	f.Release()
}

func TestQueueDropsOldest(t *testing.T) {
	q := NewQueue(2)
	var frames []*Frame
	for i := range 5 {
		f := NewPool(1).Get(2, 1, FormatGrey) // own pools: a released frame is not reused

		f.Seq = uint64(i + 1)
		f.Pix[0] = byte(i + 1)
		frames = append(frames, f)
		q.Push(f)
	}
	if got := q.Dropped(); got != 3 {
		t.Errorf("Dropped() = %d; want 3", got)
	}
	if got := q.Pushed(); got != 5 {
		t.Errorf("Pushed() = %d; want 5", got)
	}
	for _, f := range frames[:3] {
		if !f.released || f.Pix[:1][0] != 0 {
			t.Errorf("dropped frame %v not released and zeroed", f)
		}
	}
	ctx := context.Background()
	for _, want := range []uint64{4, 5} {
		f, err := q.Pop(ctx)
		if err != nil || f.Seq != want {
			t.Fatalf("Pop() = %v, %v; want frame %d", f, err, want)
		}
		f.Release()
	}
	q.Close()
	if _, err := q.Pop(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Pop() after Close = %v; want ErrClosed", err)
	}
}

func TestQueueCloseDrains(t *testing.T) {
	p := NewPool(2)
	q := NewQueue(3)
	q.Push(p.Get(1, 1, FormatGrey))
	q.Close()
	f, err := q.Pop(context.Background())
	if err != nil {
		t.Fatalf("Pop() after Close with a frame queued: %v", err)
	}
	f.Release()
	if _, err := q.Pop(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("second Pop() = %v; want ErrClosed", err)
	}
}

func TestQueuePushWait(t *testing.T) {
	p := NewPool(2)
	q := NewQueue(1)
	ctx, cancel := context.WithCancel(context.Background())
	if err := q.PushWait(ctx, p.Get(1, 1, FormatGrey)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	f := p.Get(1, 1, FormatGrey)
	go func() { done <- q.PushWait(ctx, f) }()
	select {
	case err := <-done:
		t.Fatalf("PushWait on a full queue returned %v; want it to wait", err)
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("PushWait after cancel = %v; want context.Canceled", err)
	}
	if !f.released || q.Dropped() != 0 {
		t.Errorf("cancelled PushWait: released=%v dropped=%d; want released, 0 dropped", f.released, q.Dropped())
	}
}

func TestQueueConcurrent(t *testing.T) {
	p := NewPool(16)
	q := NewQueue(4)
	ctx := context.Background()
	const n = 2000
	got := make(chan int)
	for range 3 {
		go func() {
			c := 0
			for {
				f, err := q.Pop(ctx)
				if err != nil {
					got <- c
					return
				}
				c++
				f.Release()
			}
		}()
	}
	for range n {
		q.Push(p.Get(16, 16, FormatGrey))
	}
	q.Close()
	total := <-got + <-got + <-got
	if uint64(total)+q.Dropped() != n {
		t.Errorf("consumed %d + dropped %d; want %d", total, q.Dropped(), n)
	}
}
