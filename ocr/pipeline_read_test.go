package ocr

import (
	"testing"

	"github.com/lprd/lprd/ocr/synth"
)

func TestFrameReaderReadsSyntheticScenes(t *testing.T) {
	start := matCount()
	fr := newTestReader(t)
	read := 0
	for i, v := range sceneCases {
		v.Text = []string{"7ABC123", "8XYZ456", "ABC1234", "5KLM789", "3PQR246", "JKL5678", "ABC123D", "4TUV135"}[i]
		sc := synth.RenderScene(int64(200+i), synth.SceneOptions{Vehicles: []synth.Vehicle{v}, GoFontsOnly: true})
		w, h := sc.Image.Rect.Dx(), sc.Image.Rect.Dy()
		var reads []PlateRead
		var err error
		if i%2 == 0 {
			reads, err = fr.Read(greyPix(sc.Image), w, h, 1)
		} else {
			reads, err = fr.Read(synth.BGR(sc.Image), w, h, 3)
		}
		if err != nil {
			t.Fatalf("case %d: Read: %v", i, err)
		}
		ok := false
		for _, r := range reads {
			if r.Text == v.Text && iou(r.Box, sc.Plates[0].Box) >= 0.4 {
				ok = true
			}
		}
		if ok {
			read++
			continue
		}
		got := make([]string, len(reads))
		for k, r := range reads {
			got[k] = r.Text
		}
		t.Logf("case %d (width %d, tilt %.0f): want %s, read %q", i, v.PlateWidth, v.Tilt, v.Text, got)
	}
	if read < len(sceneCases)-2 {
		t.Errorf("read %d of %d plates right; want at least %d", read, len(sceneCases), len(sceneCases)-2)
	}
	fr.Close()
	if n := matCount(); n != start {
		t.Errorf("Mat count %d -> %d: leak", start, n)
	}
}
