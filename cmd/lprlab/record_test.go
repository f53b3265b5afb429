package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lprd/lprd/capture"
	"github.com/lprd/lprd/capture/capturetest"
	"gocv.io/x/gocv"
)

func TestRecordAllowed(t *testing.T) {
	for _, tc := range []struct {
		env      map[string]string
		terminal bool
		override bool
		ok       bool
	}{
		{nil, true, false, true},
		{nil, false, false, false},
		{nil, false, true, true},
		{map[string]string{"NOTIFY_SOCKET": "/run/systemd/notify"}, true, true, false},
		{map[string]string{"INVOCATION_ID": "abc"}, false, true, false},
		{map[string]string{"JOURNAL_STREAM": "8:123"}, false, true, false},
		{map[string]string{"INVOCATION_ID": "abc"}, true, false, true}, // a terminal started by a user unit
	} {
		err := recordAllowed(func(k string) string { return tc.env[k] }, tc.terminal, tc.override)
		if (err == nil) != tc.ok {
			t.Errorf("recordAllowed(env %v, terminal %v, override %v) = %v; want allowed=%v", tc.env, tc.terminal, tc.override, err, tc.ok)
		}
	}
}

func TestCheckRecordArgs(t *testing.T) {
	for _, tc := range []struct {
		camera, out string
		dur         time.Duration
		ok          bool
	}{
		{"/dev/video0", "clip.avi", 10 * time.Second, true},
		{"rtsp://cam/stream", "clip.AVI", time.Minute, true},
		{"/dev/video0", "", time.Second, false},
		{"/dev/video0", "clip.png", time.Second, false},
		{"/dev/video0", "clip.avi", time.Hour, false},
		{"/dev/video0", "clip.avi", 0, false},
		{"lane.avi", "clip.avi", time.Second, false},
	} {
		if err := checkRecordArgs(tc.camera, tc.out, tc.dur, 0); (err == nil) != tc.ok {
			t.Errorf("checkRecordArgs(%q, %q, %v) = %v; want ok=%v", tc.camera, tc.out, tc.dur, err, tc.ok)
		}
	}
}

func TestRecordWritesClip(t *testing.T) {
	dev := &capturetest.Device{
		Formats:  map[capture.FourCC]string{capture.FourCCYUYV: "YUYV"},
		Sizes:    map[capture.FourCC][]capture.FrameSize{capture.FourCCYUYV: {{MinWidth: 64, MaxWidth: 64, MinHeight: 48, MaxHeight: 48}}},
		Interval: 40 * time.Millisecond,
		Loop:     true,
	}
	y, _ := capturetest.YUYV(64, 48, 1)
	dev.Frames = [][]byte{y}
	opt := capture.Options{Camera: "/dev/video9", Width: 64, Height: 48, FPS: 25, Logger: slog.New(slog.DiscardHandler),
		OpenDevice: func(string) (capture.Device, error) { return dev, nil }}
	path := filepath.Join(t.TempDir(), "clip.avi")
	n, err := record(t.Context(), opt, path, 400*time.Millisecond, opt.Logger)
	if err != nil || n < 5 {
		t.Fatalf("record() = %d frames, %v; want about 10", n, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("clip %v, %v; want a private file (0600)", st, err)
	}
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	m := gocv.NewMat()
	defer m.Close()
	got := 0
	for vc.Read(&m) && !m.Empty() {
		if m.Cols() != 64 || m.Rows() != 48 {
			t.Fatalf("recorded frame %dx%d; want 64x48", m.Cols(), m.Rows())
		}
		got++
	}
	if got != n {
		t.Errorf("clip holds %d frames; record reported %d", got, n)
	}

	// Never overwrites.
	if _, err := record(t.Context(), opt, path, time.Second, opt.Logger); !errors.Is(err, os.ErrExist) {
		t.Errorf("record() onto an existing file = %v; want os.ErrExist", err)
	}
}

func TestRecordRemovesEmptyClip(t *testing.T) {
	opt := capture.Options{Camera: "/dev/video9", Format: "grey", Logger: slog.New(slog.DiscardHandler),
		OpenDevice: func(string) (capture.Device, error) {
			return &capturetest.Device{Formats: map[capture.FourCC]string{capture.FourCCYUYV: "YUYV"}}, nil
		}}
	path := filepath.Join(t.TempDir(), "clip.avi")
	if _, err := record(t.Context(), opt, path, time.Second, opt.Logger); err == nil || !strings.Contains(err.Error(), "not offered") {
		t.Errorf("record() with a format the camera lacks = %v; want the negotiation error", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed recording left %s behind", path)
	}
}
