package capture

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// v4l2Source streams from a negotiated V4L2 device.
type v4l2Source struct {
	dev     Device
	plan    plan
	neg     Negotiated
	out     PixelFormat
	pool    *Pool
	waitSec uint32
	stall   time.Duration
}

func openV4L2(opt Options, pool *Pool) (*v4l2Source, error) {
	dev, err := opt.OpenDevice(opt.Camera)
	if err != nil {
		return nil, err
	}
	neg, p, err := negotiate(dev, &opt)
	if err != nil {
		dev.Close()
		return nil, err
	}
	return &v4l2Source{
		dev:     dev,
		plan:    p,
		neg:     neg,
		out:     opt.Output,
		pool:    pool,
		waitSec: uint32((opt.WaitTimeout + time.Second - 1) / time.Second),
		stall:   opt.StallTimeout,
	}, nil
}

func (s *v4l2Source) negotiated() Negotiated { return s.neg }
func (s *v4l2Source) replay() bool           { return false }
func (s *v4l2Source) close() error           { return s.dev.Close() }

// read waits for a frame in bounded steps (checking ctx between them), copies it out of
// the driver's buffer and gives the buffer back at once.
func (s *v4l2Source) read(ctx context.Context) (*Frame, error) {
	deadline := time.Now().Add(s.stall)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		err := s.dev.WaitForFrame(s.waitSec)
		if errors.Is(err, ErrWaitTimeout) {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("no frame for %v (stalled)", s.stall)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("wait: %w", err)
		}
		at := time.Now()
		buf, idx, err := s.dev.GetFrame()
		if errors.Is(err, syscall.EAGAIN) {
			continue // woken without a filled buffer
		}
		if err != nil {
			return nil, fmt.Errorf("dequeue: %w", err)
		}
		f, cerr := ConvertFrame(s.pool, buf, s.plan.format, int(s.plan.width), int(s.plan.height), s.out)
		if err := s.dev.ReleaseFrame(idx); err != nil {
			if f != nil {
				f.Release()
			}
			return nil, fmt.Errorf("requeue: %w", err)
		}
		if cerr != nil {
			return nil, cerr
		}
		f.Wall = at // before the decode: the capture time
		return f, nil
	}
}

// ConvertFrame copies one raw driver frame of the given V4L2 format and negotiated
// size into a new frame from pool in the output format. YUYV to grey takes the Y
// plane; MJPEG is checked by [ParseJPEG] and decoded once (its own size wins over
// the negotiated one, but a frame that declares more than the negotiated size, or
// more than [MaxFramePixels], is refused undecoded). A frame that is truncated or undecodable gives an error
// wrapping [ErrCorruptFrame] and no frame. src is not retained.
func ConvertFrame(pool *Pool, src []byte, format FourCC, width, height int, out PixelFormat) (*Frame, error) {
	switch format {
	case FourCCMJPEG:
		return decodeJPEG(pool, src, width, height, out)
	case FourCCYUYV:
		if _, err := rawStride(len(src), width, height, 2); err != nil {
			return nil, err
		}
		f := pool.Get(width, height, out)
		var err error
		if out == FormatGrey {
			err = GreyFromYUYV(f.Pix, src, width, height)
		} else {
			err = BGRFromYUYV(f.Pix, src, width, height)
		}
		if err != nil {
			f.Release()
			return nil, err
		}
		return f, nil
	case FourCCGrey:
		if _, err := rawStride(len(src), width, height, 1); err != nil {
			return nil, err
		}
		f := pool.Get(width, height, out)
		var err error
		if out == FormatGrey {
			err = GreyFromGrey(f.Pix, src, width, height)
		} else {
			err = bgrFromGrey(f.Pix, src, width, height)
		}
		if err != nil {
			f.Release()
			return nil, err
		}
		return f, nil
	}
	return nil, fmt.Errorf("capture: cannot convert V4L2 format %s", format)
}

// bgrFromGrey spreads a GREY frame over three equal channels.
func bgrFromGrey(dst, src []byte, width, height int) error {
	stride, err := rawStride(len(src), width, height, 1)
	if err != nil {
		return err
	}
	for y := range height {
		row := src[y*stride : y*stride+width]
		out := dst[y*width*3 : (y+1)*width*3]
		for x, v := range row {
			out[3*x], out[3*x+1], out[3*x+2] = v, v, v
		}
	}
	return nil
}
