package ocr

import (
	"image"
	"testing"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr/synth"
)

// TestDefaultReaderReadsHardPlates renders scenes with the plates the classical localizer
// misses (very low contrast, the vehicle's shadow, heavy frames, bars in front, IR at night)
// and reads them with the default reader (both detectors, DetectorAgree) and with the
// classical detector alone: the default must read more of them right, and no fewer on any
// look.
func TestDefaultReaderReadsHardPlates(t *testing.T) {
	start := matCount()
	def, err := NewFrameReader(FrameReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer def.Close()
	classical, err := NewFrameReader(FrameReaderOptions{DetectorKind: DetectorClassical})
	if err != nil {
		t.Fatal(err)
	}
	defer classical.Close()
	const scenes = 6
	var plates, readDef, readClassical int
	for _, tc := range []struct {
		name  string
		looks synth.Look
	}{
		{"low contrast", synth.LookLowContrast},
		{"shadow", synth.LookShadow},
		{"frame", synth.LookFrame},
		{"bars", synth.LookBars},
		{"ir", synth.LookIR},
	} {
		var n, d, c int
		for i := range scenes {
			comp := synth.RenderComposite(int64(7100+i), synth.CompositeOptions{Looks: tc.looks, GoFontsOnly: true})
			m, err := gocv.NewMatFromBytes(comp.Frame.H, comp.Frame.W, gocv.MatTypeCV8UC1, comp.Frame.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			rd, rc := readTexts(t, def, m), readTexts(t, classical, m)
			for k, q := range comp.Plates {
				if comp.Texts[k] == "" {
					continue // a real plate of the background, text unknown
				}
				n++
				d += rightAt(rd, q.Bounds(), comp.Texts[k])
				c += rightAt(rc, q.Bounds(), comp.Texts[k])
			}
			m.Close()
		}
		t.Logf("%s: default read %d of %d plates right, classical %d", tc.name, d, n, c)
		if d < c {
			t.Errorf("%s: the default reader read %d of %d plates right, the classical one %d", tc.name, d, n, c)
		}
		plates, readDef, readClassical = plates+n, readDef+d, readClassical+c
	}
	if readDef <= readClassical {
		t.Errorf("the default reader read %d of %d hard plates right, the classical one %d; want more", readDef, plates, readClassical)
	}
	def.Close()
	classical.Close()
	if c := matCount(); c != start {
		t.Errorf("Mat count %d after the test; want %d (leak)", c, start)
	}
}

// readTexts reads a frame and copies the reads (the reader reuses its slice).
func readTexts(t *testing.T, fr *FrameReader, m gocv.Mat) []PlateRead {
	t.Helper()
	reads, err := fr.ReadMat(m)
	if err != nil {
		t.Fatal(err)
	}
	return append([]PlateRead(nil), reads...)
}

// rightAt is 1 when one of reads is text (O read as 0) at box.
func rightAt(reads []PlateRead, box image.Rectangle, text string) int {
	for _, r := range reads {
		if r.Text == Canonical(text) && iou(r.Box, box) >= 0.4 {
			return 1
		}
	}
	return 0
}
