package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/lprd/lprd/ocr/synth"
)

func TestEvalUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-out", "x"}, {"-crops", "a", "-dataset", "b", "-out", "x"},
		{"-dataset", "b"}, {"-dataset", "b", "-out", "x", "-regions", "zz"}, {"-dataset", "b", "-out", "x", "extra"}} {
		if rc := evalMain(args); rc != 2 {
			t.Errorf("evalMain(%q) = %d; want 2", args, rc)
		}
	}
	if rc := evalMain([]string{"-dataset", filepath.Join(t.TempDir(), "missing"), "-out", filepath.Join(t.TempDir(), "p.tsv")}); rc != 1 {
		t.Errorf("evalMain(missing dir) = %d; want 1", rc)
	}
}

// TestEvalDatasetFormat runs -dataset on synthetic photos and checks the prediction lines.
func TestEvalDatasetFormat(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 3; i++ {
		vs := []synth.Vehicle{{X: 640, Y: 400, PlateWidth: 150, PlateSeed: int64(i + 1), NoPlate: i == 2}}
		sc := synth.RenderScene(int64(i), synth.SceneOptions{Vehicles: vs, GoFontsOnly: true})
		m, err := gocv.ImageToMatRGB(sc.Image)
		if err != nil {
			t.Fatal(err)
		}
		if !gocv.IMWrite(filepath.Join(dir, "img"+strconv.Itoa(i)+".jpg"), m) {
			t.Fatal("cannot write test image")
		}
		m.Close()
	}
	out := filepath.Join(t.TempDir(), "pred.tsv")
	if rc := evalMain([]string{"-dataset", dir, "-out", out}); rc != 0 {
		t.Fatalf("evalMain = %d", rc)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		images[f[0]] = true
		rank, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("line %q: rank: %v", line, err)
		}
		if ms, err := strconv.ParseFloat(f[4], 64); err != nil || ms <= 0 {
			t.Fatalf("line %q: time_ms %q", line, f[4])
		}
		switch {
		case rank == 0 && (len(f) != 5 || f[2] != ""):
			t.Errorf("no-read line %q: want 5 fields and an empty plate", line)
		case rank > 0 && len(f) != 9:
			t.Errorf("read line %q: want 9 fields", line)
		}
	}
	if len(images) != 3 {
		t.Errorf("predictions cover %d images; want 3", len(images))
	}
}
