package ocr

import (
	"image"
	"testing"

	"github.com/lprd/lprd/ocr/synth"
)

// TestOverlayRowsDropped renders frames with a camera's date and time overlay (forced, in
// every format and place the renderer has) and checks that no candidate row lies along the
// frame's top or bottom edge, that the reader reads nothing there, and that the frames'
// plates are still found.
func TestOverlayRowsDropped(t *testing.T) {
	loc := NewLocator(LocateOptions{})
	defer loc.Close()
	fr, err := NewFrameReader(FrameReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	const frames = 24
	var plates, found int
	for i := range frames {
		m, boxes := compositeMat(t, int64(9100+i), synth.CompositeOptions{Looks: synth.LookTimestamp})
		fh := m.Rows()
		for _, c := range loc.Locate(m) {
			if atFrameEdge(c.Band, fh) {
				t.Errorf("frame %d: candidate row %v along the frame's edge (height %d)", i, c.Band, fh)
			}
		}
		reads, err := fr.ReadMat(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reads {
			if atFrameEdge(r.Box, fh) && !touchesAny(r.Box, boxes) {
				t.Errorf("frame %d: a read at the frame's edge, %v, touching no plate", i, r.Box)
			}
		}
		plates += len(boxes)
		for _, b := range boxes {
			for _, r := range reads {
				if iou(r.Box, b) >= 0.4 {
					found++
					break
				}
			}
		}
		m.Close()
	}
	t.Logf("%d frames: %d of %d plates read at the plate", frames, found, plates)
	if found*3 < plates {
		t.Errorf("%d of %d plates read at the plate in frames with an overlay; want at least a third", found, plates)
	}
}

func touchesAny(r image.Rectangle, boxes []image.Rectangle) bool {
	for _, b := range boxes {
		if r.Overlaps(b) {
			return true
		}
	}
	return false
}
