package capture_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/lprd/lprd/capture"
	"github.com/lprd/lprd/uplink/uplinktest"
)

// TestCorruptFramesAreLoggedAndCounted: a folder of damaged files used to give
// skipped frames with no log line at all. The first corrupt frame is logged at once
// (naming the file and the problem), a burst is summarised, and State counts each.
func TestCorruptFramesAreLoggedAndCounted(t *testing.T) {
	dir := imageFolder(t, 2) // two good images, one truncated JPEG
	for i, b := range [][]byte{{0xFF, 0xD8, 0xFF, 0xE0}, []byte("garbage"), nil} {
		os.WriteFile(filepath.Join(dir, "z"+string(rune('a'+i))+".jpg"), b, 0o600)
	}
	var logs uplinktest.Buffer
	cam, err := Open(t.Context(), Options{Camera: dir, ReplayRate: "fast", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	q := NewQueue(8)
	if err := cam.Run(t.Context(), q); !errors.Is(err, ErrEnded) {
		t.Fatalf("Run() = %v; want ErrEnded", err)
	}
	if st := cam.State(); st.Corrupt != 4 || st.Frames != 2 {
		t.Errorf("State() = %+v; want 2 frames and 4 corrupt", st)
	}
	if n := strings.Count(logs.String(), "corrupt frame skipped"); n != 1 || !strings.Contains(logs.String(), "img01b.jpg") {
		t.Errorf("log has %d \"corrupt frame skipped\" lines (want 1, naming img01b.jpg, within the burst period):\n%s", n, logs.String())
	}
}

// TestTruncatedVideoWarns: a video file cut short ends the replay with a warning
// that says how many of its declared frames it had.
func TestTruncatedVideoWarns(t *testing.T) {
	path := writeClip(t, 64, 48, 40, 25)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b[:len(b)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	var logs uplinktest.Buffer
	cam, err := Open(t.Context(), Options{Camera: path, ReplayRate: "fast", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	q := NewQueue(64)
	if err := cam.Run(t.Context(), q); !errors.Is(err, ErrEnded) {
		t.Fatalf("Run() = %v; want ErrEnded", err)
	}
	q.Close()
	for f := range q.C() {
		f.Release()
	}
	if !strings.Contains(logs.String(), "replay file ends early") || !strings.Contains(logs.String(), "of the 40 frames") {
		t.Errorf("no truncation warning naming the declared 40 frames:\n%s", logs.String())
	}
}
