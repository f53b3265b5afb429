package main

import (
	"image"
	"strings"
	"testing"

	"github.com/lprd/lprd/ocr"
)

func TestParseBench(t *testing.T) {
	c, err := parseBench("720p, 1080p,640x480", "mjpeg,grey", "1,2")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.sizes) != 3 || c.sizes[2] != image.Pt(640, 480) || len(c.inputs) != 2 || len(c.workers) != 2 {
		t.Errorf("parseBench = %+v", c)
	}
	for _, bad := range [][3]string{{"4k", "mjpeg", "1"}, {"10x10", "mjpeg", "1"}, {"720p", "yuyv", "1"}, {"720p", "grey", "0"}, {"720p", "grey", "x"}} {
		if _, err := parseBench(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("parseBench(%q) = nil error", bad)
		}
	}
}

func TestRunBench(t *testing.T) {
	var b strings.Builder
	cfg, _ := parseBench("320x240", "mjpeg,grey", "1,2")
	if err := runBench(&b, cfg, "", 6, 2, ocr.FrameReaderOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"mjpeg  320x240     1", "mjpeg  320x240     2", "grey   320x240     1", "grey   320x240     2", "e2e p50"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench output lacks %q:\n%s", want, out)
		}
	}
}
