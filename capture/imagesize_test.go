package capture_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/lprd/lprd/capture"
	"github.com/lprd/lprd/capture/capturetest"
)

// craftedJPEG returns a valid small JPEG whose frame header claims w x h.
func craftedJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	b := encodeJPEG(t, 64, 48, 3, false)
	i := bytes.Index(b, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no baseline frame header")
	}
	binary.BigEndian.PutUint16(b[i+5:], uint16(h))
	binary.BigEndian.PutUint16(b[i+7:], uint16(w))
	return b
}

// craftedPNG returns a PNG whose header claims w x h (with a valid header CRC; the
// pixel data stays that of an 8x8 image).
func craftedPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	g := &image.Gray{Pix: capturetest.GreyPattern(8, 8, 1), Stride: 8, Rect: image.Rect(0, 0, 8, 8)}
	if err := png.Encode(&buf, g); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	binary.BigEndian.PutUint32(b[16:], uint32(w))
	binary.BigEndian.PutUint32(b[20:], uint32(h))
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// TestCraftedFrameHeader is the frame that used to abort the daemon: a JPEG whose
// header claims 65000x65000 passed the structure check and OpenCV threw an uncaught
// C++ exception. Every path refuses it (and smaller giants) as a corrupt frame.
func TestCraftedFrameHeader(t *testing.T) {
	start := matCount()
	defer checkMats(t, start)
	p := NewPool(2)
	for _, size := range [][2]int{{65000, 65000}, {30000, 30000}, {8193, 16}, {7680, 4321}} {
		b := craftedJPEG(t, size[0], size[1])
		for _, neg := range [][2]int{{1280, 720}, {0, 0}, {65535, 65535}} {
			f, err := ConvertFrame(p, b, FourCCMJPEG, neg[0], neg[1], FormatGrey)
			if !errors.Is(err, ErrCorruptFrame) || f != nil {
				t.Errorf("ConvertFrame(MJPEG declaring %dx%d, negotiated %dx%d) = %v, %v; want ErrCorruptFrame", size[0], size[1], neg[0], neg[1], f, err)
			}
		}
	}
	// Larger than negotiated but within the global limit: refused too.
	b := craftedJPEG(t, 1920, 1080)
	if _, err := ConvertFrame(p, b, FourCCMJPEG, 1280, 720, FormatGrey); !errors.Is(err, ErrCorruptFrame) || !strings.Contains(err.Error(), "negotiated 1280x720") {
		t.Errorf("ConvertFrame(1920x1080 declared, 1280x720 negotiated) = %v; want a corrupt frame naming the negotiated size", err)
	}
}

func TestFolderRefusesCraftedHeaders(t *testing.T) {
	start := matCount()
	defer checkMats(t, start)
	dir := t.TempDir()
	files := map[string][]byte{
		"a.jpg": craftedJPEG(t, 65000, 65000),
		"b.png": craftedPNG(t, 30000, 30000),
		"c.pgm": []byte("P5\n# giant\n60000 60000\n255\n\x00\x00"),
		"d.jpg": encodeJPEG(t, 32, 16, 1, false),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cam, err := Open(t.Context(), Options{Camera: dir, ReplayRate: "fast", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	q := NewQueue(4)
	if err := cam.Run(t.Context(), q); !errors.Is(err, ErrEnded) {
		t.Fatalf("Run() = %v; want ErrEnded (the process survives the crafted files)", err)
	}
	f, err := q.Pop(t.Context())
	if err != nil || f.Width != 32 || f.Height != 16 {
		t.Fatalf("Pop() = %v, %v; want the 32x16 image", f, err)
	}
	f.Release()
	if st := cam.State(); st.Frames != 1 || st.Corrupt != 3 {
		t.Errorf("State() = %+v; want 1 frame and the 3 crafted files counted corrupt", st)
	}
}

func TestImageSize(t *testing.T) {
	for name, tc := range map[string]struct {
		b    []byte
		w, h int
		ok   bool
	}{
		"jpeg":        {encodeJPEG(t, 33, 17, 1, true), 33, 17, true},
		"png":         {craftedPNG(t, 12, 34), 12, 34, true},
		"pgm":         {[]byte("P5 640 480 255\n"), 640, 480, true},
		"pgm comment": {[]byte("P2\n# c\n 7\t9\n255\n"), 7, 9, true},
		"pgm short":   {[]byte("P5 640"), 0, 0, false},
		"pgm huge":    {[]byte("P5 99999999999 1 255\n"), 0, 0, false},
		"garbage":     {[]byte("not an image at all"), 0, 0, false},
	} {
		w, h, err := ImageSize(tc.b)
		if (err == nil) != tc.ok || (tc.ok && (w != tc.w || h != tc.h)) {
			t.Errorf("imageSize(%s) = %d, %d, %v; want %d, %d, ok %v", name, w, h, err, tc.w, tc.h, tc.ok)
		}
	}
}
