package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr"
	"github.com/lprd/lprd/ocr/models"
	"github.com/lprd/lprd/ocr/synth"
)

// TestGencrops cuts crops out of synthetic lanes with the reader's detector: the set is what
// the trainer reads (one image per label), it is the same for the same seed, labels are plate
// texts or empty, negatives stay within their share, and a plate crop is read as its label
// by the recognizer often enough to show the crop and the label belong together.
func TestGencrops(t *testing.T) {
	if testing.Short() {
		t.Skip("renders frames")
	}
	dir := t.TempDir()
	const n = 40
	job := cropJob{n: n, seed: 5, neg: 0.2, kind: ocr.DetectorClassical, workers: 2}
	st, err := gencrops(job, filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	pix, err := os.ReadFile(filepath.Join(dir, "a.u8"))
	if err != nil {
		t.Fatal(err)
	}
	txt, err := os.ReadFile(filepath.Join(dir, "a.txt"))
	if err != nil {
		t.Fatal(err)
	}
	labels := strings.Split(strings.TrimSuffix(string(txt), "\n"), "\n")
	const sz = models.InputWidth * models.InputHeight
	if len(labels) != n || len(pix) != n*sz {
		t.Fatalf("%d labels and %d bytes; want %d and %d", len(labels), len(pix), n, n*sz)
	}
	if st.pos+st.negs != n || st.negs > int(0.2*n)+1 || st.pos == 0 || st.found > st.plates {
		t.Errorf("stats %+v", st)
	}
	text := regexp.MustCompile(`^[0-9A-Z]{2,10}$`)
	empty := 0
	for i, l := range labels {
		if l == "" {
			empty++
		} else if !text.MatchString(l) {
			t.Errorf("label %d = %q; want a plate text or nothing", i, l)
		}
	}
	if empty != st.negs {
		t.Errorf("%d empty labels; stats say %d negatives", empty, st.negs)
	}
	// The same seed gives the same set, whatever the workers' order.
	job.workers = 1
	if _, err := gencrops(job, filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	pix2, _ := os.ReadFile(filepath.Join(dir, "b.u8"))
	txt2, _ := os.ReadFile(filepath.Join(dir, "b.txt"))
	if !bytes.Equal(pix, pix2) || !bytes.Equal(txt, txt2) {
		t.Error("the same seed gave a different set with one worker")
	}
	// The crops are the plates their labels name: the recognizer reads most of them.
	rec, err := ocr.NewRecognizer()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	right, plates := 0, 0
	for i, l := range labels {
		if l == "" {
			continue
		}
		plates++
		m, err := gocv.NewMatFromBytes(models.InputHeight, models.InputWidth, gocv.MatTypeCV8UC1, pix[i*sz:(i+1)*sz])
		if err != nil {
			t.Fatal(err)
		}
		rd, err := rec.Read(m)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		if rd.Text == l {
			right++
		}
	}
	if right*2 < plates {
		t.Errorf("the recognizer read %d of %d plate crops as their label; want at least half", right, plates)
	}
}

func TestGencropsUsage(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x")
	for _, args := range [][]string{nil, {"-out", out, "-n", "0"}, {"-out", out, "-negatives", "1"},
		{"-out", out, "-detector", "nope"}, {"-out", out, "extra"}} {
		if rc := gencropsMain(args); rc != 2 {
			t.Errorf("gencropsMain(%q) = %d; want 2", args, rc)
		}
	}
}

// TestHoldsRow: a crop is labelled only when it shows the whole character row.
func TestHoldsRow(t *testing.T) {
	row := synth.Quad{{100, 50}, {200, 50}, {200, 80}, {100, 80}} // 100 x 30 px
	for _, tc := range []struct {
		name string
		g    ocr.Region
		want bool
	}{
		{"loose", ocr.Region{CX: 150, CY: 65, Width: 140, Height: 50}, true},
		{"tight within slack", ocr.Region{CX: 150, CY: 65, Width: 104, Height: 32}, true},
		{"last character cut", ocr.Region{CX: 140, CY: 65, Width: 100, Height: 40}, false},
		{"first characters missed", ocr.Region{CX: 175, CY: 65, Width: 90, Height: 40}, false},
		{"rotated off", ocr.Region{CX: 150, CY: 65, Width: 110, Height: 34, Angle: 20}, false},
		{"row unknown", ocr.Region{CX: 150, CY: 65, Width: 400, Height: 400}, false},
	} {
		q := row
		if tc.name == "row unknown" {
			q = synth.Quad{}
		}
		if got := holdsRow(tc.g, q); got != tc.want {
			t.Errorf("%s: holdsRow = %v; want %v", tc.name, got, tc.want)
		}
	}
}
