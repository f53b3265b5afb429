package ocr

import (
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lprd/lprd/ocr/synth"
)

var (
	evalCropsDir = flag.String("evalcrops", "", "TestEvalCropsDir: folder of plate crops to read (used by scripts/train-ocr)")
	evalCropsOut = flag.String("evalout", "", "TestEvalCropsDir: predictions file to write")
	evalBand     = flag.Int("evalband", 0, "TestEvalCropsDir: BandMode (0 fallback, 1 off, 2 both)")
	evalBelow    = flag.Float64("evalbelow", 0, "TestEvalCropsDir: BandBelow (0: default)")
	evalModel    = flag.String("evalmodel", "", "TestEvalCropsDir: ONNX model to use instead of the embedded one")
	evalKeepO    = flag.Bool("evalkeepo", false, "TestEvalCropsDir: report the letter O (RecognizerOptions.KeepO)")
)

// TestEvalCropsDir reads a real folder when -evalcrops is given; otherwise
// it is skipped (it is a tool for scripts/train-ocr, not a unit test).
func TestEvalCropsDir(t *testing.T) {
	if *evalCropsDir == "" || *evalCropsOut == "" {
		t.Skip("needs -evalcrops DIR -evalout FILE")
	}
	SetOpenCVThreads(1)
	opt := RecognizerOptions{Band: BandMode(*evalBand), BandBelow: float32(*evalBelow), KeepO: *evalKeepO}
	if *evalModel != "" {
		b, err := os.ReadFile(*evalModel)
		if err != nil {
			t.Fatal(err)
		}
		opt.Model = b
	}
	f, err := os.Create(*evalCropsOut)
	if err != nil {
		t.Fatal(err)
	}
	st, err := EvalCrops(*evalCropsDir, f, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d images, %d read, median %.2f ms", st.Images, st.Read, st.MedianMs)
}

func TestEvalCrops(t *testing.T) {
	dir := t.TempDir()
	for i := range 3 {
		p := synth.RenderPlate(int64(i), synth.Options{GoFontsOnly: true, Plain: true})
		f, err := os.Create(filepath.Join(dir, "p"+string(rune('0'+i))+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, p.Image); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o600)
	var sb strings.Builder
	st, err := EvalCrops(dir, &sb, RecognizerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Images != 3 {
		t.Errorf("EvalCrops: %d images; want 3", st.Images)
	}
	for _, line := range strings.Split(strings.TrimSpace(sb.String()), "\n") {
		if n := len(strings.Split(line, "\t")); n != 5 {
			t.Errorf("line %q has %d fields; want 5", line, n)
		}
	}
	if _, err := EvalCrops(filepath.Join(dir, "missing"), &sb, RecognizerOptions{}); err == nil {
		t.Error("EvalCrops(missing dir) = nil error; want one")
	}
}
