package capture

import (
	"fmt"
	"sync"
	"time"
)

// PixelFormat is the layout of [Frame.Pix].
type PixelFormat uint8

const (
	// FormatGrey is 8-bit luminance, one byte per pixel.
	FormatGrey PixelFormat = 1
	// FormatBGR is 8-bit blue, green, red, three bytes per pixel (OpenCV's order).
	FormatBGR PixelFormat = 2
)

// Channels is the number of bytes per pixel, or 0 for an unknown format.
func (f PixelFormat) Channels() int {
	switch f {
	case FormatGrey:
		return 1
	case FormatBGR:
		return 3
	}
	return 0
}

func (f PixelFormat) String() string {
	switch f {
	case FormatGrey:
		return "grey"
	case FormatBGR:
		return "bgr"
	}
	return fmt.Sprintf("PixelFormat(%d)", uint8(f))
}

// Frame is one captured image. It belongs to whoever holds it last: the camera hands
// it to a [Queue], the consumer takes it and calls [Frame.Release] when done.
type Frame struct {
	// Seq numbers the frames of one [Camera] from 1, across reconnects.
	Seq uint64
	// Mono is the capture time on a monotonic clock since the camera was opened.
	// For replayed files and folders it is the position in the recording instead
	// (growing across loops), so that timing is the same at any replay rate.
	Mono time.Duration
	// Wall is the wall-clock time the frame was captured (or replayed).
	Wall time.Time
	// Width and Height are in pixels.
	Width, Height int
	// Format is the layout of Pix.
	Format PixelFormat
	// Pix holds Width*Height*Format.Channels() bytes, row-major, without padding.
	Pix []byte

	pool     *Pool
	released bool
}

// Release zeroes the pixels and returns the frame to its pool. The frame and its Pix
// must not be used afterwards. Releasing a frame twice panics, because two owners of
// one buffer is a bug that would mix images. Release of a frame that came from no pool
// only zeroes it.
func (f *Frame) Release() {
	if f.released {
		panic("capture: frame released twice")
	}
	clear(f.Pix)
	f.Seq, f.Mono, f.Wall, f.Width, f.Height, f.Format = 0, 0, time.Time{}, 0, 0, 0
	f.Pix = f.Pix[:0]
	f.released = true
	if f.pool != nil {
		f.pool.put(f)
	}
}

// Pool keeps released frame buffers for reuse so that steady-state capture does not
// allocate. It is safe for concurrent use.
type Pool struct {
	mu     sync.Mutex
	free   []*Frame
	keep   int
	allocs uint64
}

// NewPool returns a pool that keeps at most keep released frames (at least 1).
func NewPool(keep int) *Pool {
	return &Pool{keep: max(keep, 1)}
}

// Get returns a frame of the given size and format with Pix of the right length.
// The pixels of a reused frame are zero; callers overwrite them all anyway.
func (p *Pool) Get(width, height int, format PixelFormat) *Frame {
	n := width * height * format.Channels()
	p.mu.Lock()
	var f *Frame
	for i := len(p.free) - 1; i >= 0; i-- {
		if cap(p.free[i].Pix) >= n {
			f = p.free[i]
			p.free[i] = p.free[len(p.free)-1]
			p.free[len(p.free)-1] = nil
			p.free = p.free[:len(p.free)-1]
			break
		}
	}
	if f == nil {
		p.allocs++
	}
	p.mu.Unlock()
	if f == nil {
		f = &Frame{pool: p, Pix: make([]byte, n)}
	}
	f.released = false
	f.Width, f.Height, f.Format = width, height, format
	f.Pix = f.Pix[:n]
	return f
}

// Allocs is the number of frame buffers the pool had to allocate so far.
func (p *Pool) Allocs() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.allocs
}

func (p *Pool) put(f *Frame) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) < p.keep {
		p.free = append(p.free, f)
		return
	}
	// Keep the larger buffers: a smaller one is dropped for the garbage collector.
	small := 0
	for i, g := range p.free {
		if cap(g.Pix) < cap(p.free[small].Pix) {
			small = i
		}
	}
	if cap(f.Pix) > cap(p.free[small].Pix) {
		p.free[small] = f
	}
}
