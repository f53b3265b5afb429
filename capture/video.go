package capture

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"gocv.io/x/gocv"
)

// videoSource reads an IP camera stream or a video file through OpenCV's FFmpeg
// backend. A blocking read of a stream is bounded by FFmpeg's own interrupt timeout
// (30 s in OpenCV 4.6), which also bounds how long shutdown can wait for it.
type videoSource struct {
	vc    *gocv.VideoCapture
	mat   gocv.Mat
	pool  *Pool
	out   PixelFormat
	live  bool
	fps   float64
	index int
	// declared is the file's frame count from its header (0 when unknown).
	declared int
	neg      Negotiated
}

func openVideo(opt Options, pool *Pool, live bool) (*videoSource, error) {
	if !live {
		// A file that is gone (or unreadable) is not a damaged one: say so, also when it
		// disappears between two loops of a replay.
		f, err := os.Open(opt.Camera)
		if err != nil {
			return nil, permanent(fmt.Errorf("cannot open the video file: %w", err))
		}
		f.Close()
	}
	vc, err := gocv.OpenVideoCaptureWithAPI(opt.Camera, gocv.VideoCaptureFFmpeg)
	if err != nil || !vc.IsOpened() {
		if vc != nil {
			vc.Close()
		}
		err := errors.New("cannot open (no such stream, unreachable, or a format FFmpeg does not read)")
		if live {
			return nil, err
		}
		return nil, permanent(errors.New("cannot open as a video file (unknown or damaged format)"))
	}
	s := &videoSource{vc: vc, mat: gocv.NewMat(), pool: pool, out: opt.Output, live: live}
	s.fps = vc.Get(gocv.VideoCaptureFPS)
	if math.IsNaN(s.fps) || s.fps <= 0 || s.fps > 1000 {
		s.fps = 25 // files without a usable rate are replayed at a common camera rate
	}
	if n := vc.Get(gocv.VideoCaptureFrameCount); !live && n > 0 && n < 1e9 {
		s.declared = int(n)
	}
	codec := strings.TrimRight(vc.CodecString(), "\x00 ")
	if codec == "" {
		codec = "video"
	}
	s.neg = Negotiated{
		Format: codec,
		Width:  int(vc.Get(gocv.VideoCaptureFrameWidth)),
		Height: int(vc.Get(gocv.VideoCaptureFrameHeight)),
		FPS:    math.Round(s.fps*100) / 100,
	}
	return s, nil
}

func (s *videoSource) negotiated() Negotiated { return s.neg }
func (s *videoSource) replay() bool           { return !s.live }

func (s *videoSource) close() error {
	s.mat.Close()
	return s.vc.Close()
}

func (s *videoSource) read(ctx context.Context) (*Frame, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !s.vc.Read(&s.mat) || s.mat.Empty() {
		if s.live {
			return nil, errors.New("read: stream lost")
		}
		if s.declared > 0 && s.index < s.declared {
			return nil, fmt.Errorf("%w: after %d of the %d frames its header declares", errTruncated, s.index, s.declared)
		}
		return nil, errEnd
	}
	f, err := frameFromMat(s.pool, s.mat, s.out)
	if err != nil {
		return nil, err
	}
	if !s.live {
		f.Mono = durationOfFrames(s.index, s.fps)
	}
	s.index++
	return f, nil
}

// errTruncated ends a video file that stops before the frame count its header
// declares: a damaged or partly copied file. It ends the replay like errEnd, with a
// warning.
var errTruncated = fmt.Errorf("%w: video file truncated", errEnd)

// durationOfFrames is the media time of frame i at fps.
func durationOfFrames(i int, fps float64) time.Duration {
	return time.Duration(float64(i) / fps * float64(time.Second))
}
