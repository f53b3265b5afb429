package capture

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gocv.io/x/gocv"
)

// imageExts are the still-image formats a folder replay reads (through OpenCV).
var imageExts = []string{".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".pnm", ".tif", ".tiff", ".webp"}

// folderSource replays a folder of images in name order, one per second of media time
// or at a numeric replay rate. An unreadable image is a corrupt frame.
type folderSource struct {
	files []string
	pool  *Pool
	out   PixelFormat
	fps   float64
	index int
	neg   Negotiated
}

func openFolder(opt Options, pool *Pool) (*folderSource, error) {
	entries, err := os.ReadDir(opt.Camera)
	if err != nil {
		return nil, permanent(err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && slices.Contains(imageExts, strings.ToLower(filepath.Ext(e.Name()))) {
			files = append(files, filepath.Join(opt.Camera, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, permanent(fmt.Errorf("no images (%s) in the folder", strings.Join(imageExts, " ")))
	}
	fps := 1.0
	if r, err := ParseReplayRate(opt.ReplayRate); err == nil && r.FPS > 0 {
		fps = r.FPS
	}
	return &folderSource{
		files: files,
		pool:  pool,
		out:   opt.Output,
		fps:   fps,
		neg:   Negotiated{Format: "images", FPS: fps},
	}, nil
}

func (s *folderSource) negotiated() Negotiated { return s.neg }
func (s *folderSource) replay() bool           { return true }
func (s *folderSource) close() error           { return nil }

func (s *folderSource) read(ctx context.Context) (*Frame, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.index >= len(s.files) {
		return nil, errEnd
	}
	i := s.index
	s.index++
	flag := gocv.IMReadGrayScale
	if s.out == FormatBGR {
		flag = gocv.IMReadColor
	}
	name := filepath.Base(s.files[i])
	b, err := os.ReadFile(s.files[i])
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorruptFrame, name, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: %s: empty file", ErrCorruptFrame, name)
	}
	// The declared size is checked before OpenCV sees the file: a crafted header
	// would otherwise abort the process or allocate gigabytes.
	w, h, err := imageSize(b)
	if err == nil {
		err = checkDeclaredSize(w, h, 0, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	m, err := gocv.IMDecode(b, flag)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorruptFrame, name, err)
	}
	defer m.Close()
	if m.Empty() {
		return nil, fmt.Errorf("%w: %s: unreadable image", ErrCorruptFrame, name)
	}
	f, err := frameFromMat(s.pool, m, s.out)
	if err != nil {
		return nil, err
	}
	f.Mono = durationOfFrames(i, s.fps)
	return f, nil
}
