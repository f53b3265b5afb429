package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"
)

func TestLanesimWritesAReadableClip(t *testing.T) {
	dir := t.TempDir()
	clip := filepath.Join(dir, "lane.avi")
	if rc := lanesimMain([]string{"-out", clip, "-vehicles", "2", "-fps", "5", "-width", "320", "-height", "240", "-gofonts"}); rc != 0 {
		t.Fatalf("lanesimMain = %d", rc)
	}
	vc, err := gocv.VideoCaptureFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	m := gocv.NewMat()
	defer m.Close()
	n := 0
	for vc.Read(&m) && !m.Empty() {
		if m.Cols() != 320 || m.Rows() != 240 {
			t.Fatalf("frame %d is %dx%d; want 320x240", n, m.Cols(), m.Rows())
		}
		n++
	}
	if n < 10 {
		t.Errorf("read %d frames back; want about 20", n)
	}
	gt, err := os.ReadFile(filepath.Join(dir, "lane.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(gt)), "\n"); len(lines) != 2 || len(strings.Split(lines[0], "\t")) != 3 {
		t.Errorf("ground truth = %q", gt)
	}
}

func TestLanesimUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-out"}, {"-out", "x.avi", "extra"}, {"-out", "x.avi", "-fps", "0"}} {
		if rc := lanesimMain(args); rc != 2 {
			t.Errorf("lanesimMain(%q) = %d; want 2", args, rc)
		}
	}
}
