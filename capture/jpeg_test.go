package capture_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	. "github.com/lprd/lprd/capture"
	"github.com/lprd/lprd/capture/capturetest"
)

// encodeJPEG encodes a synthetic test image (tests only: the product never encodes).
func encodeJPEG(t testing.TB, w, h int, seed byte, colour bool) []byte {
	t.Helper()
	grey := capturetest.GreyPattern(w, h, seed)
	var img image.Image
	if colour {
		rgba := image.NewRGBA(image.Rect(0, 0, w, h))
		for i, v := range grey {
			rgba.Set(i%w, i/w, color.RGBA{v, v / 2, 255 - v, 255})
		}
		img = rgba
	} else {
		img = &image.Gray{Pix: grey, Stride: w, Rect: image.Rect(0, 0, w, h)}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseJPEG(t *testing.T) {
	for _, colour := range []bool{false, true} {
		b := encodeJPEG(t, 64, 48, 1, colour)
		info, err := ParseJPEG(b)
		want := JPEGInfo{Width: 64, Height: 48, Components: 1}
		if colour {
			want.Components = 3
		}
		if err != nil || info != want {
			t.Errorf("ParseJPEG(colour=%v) = %+v, %v; want %+v", colour, info, err, want)
		}
		padded := append(append([]byte(nil), b...), make([]byte, 100)...)
		if _, err := ParseJPEG(padded); err != nil {
			t.Errorf("ParseJPEG(with trailing zero padding) = %v; want ok", err)
		}
	}
}

func TestParseJPEGCorrupt(t *testing.T) {
	b := encodeJPEG(t, 64, 48, 1, true)
	cases := map[string][]byte{
		"empty":         nil,
		"not jpeg":      []byte("RIFF....AVI LIST"),
		"zeros":         make([]byte, 4096),
		"only SOI":      {0xFF, 0xD8, 0xFF, 0xD9},
		"half":          b[:len(b)/2],
		"no EOI":        b[:len(b)-2],
		"headers only":  b[:200],
		"bad length":    append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF}, b[2:]...),
		"double SOI":    append([]byte{0xFF, 0xD8}, b...),
		"zero size SOF": zeroSOF(b),
	}
	for name, data := range cases {
		if _, err := ParseJPEG(data); !errors.Is(err, ErrCorruptFrame) {
			t.Errorf("ParseJPEG(%s) = %v; want ErrCorruptFrame", name, err)
		}
	}
	// Every truncation of a valid frame is rejected, none panics.
	for n := range len(b) - 1 {
		if _, err := ParseJPEG(b[:n]); err == nil {
			t.Fatalf("ParseJPEG(first %d of %d bytes) succeeded; want an error", n, len(b))
		}
	}
}

// zeroSOF returns b with the frame header's height and width set to 0.
func zeroSOF(b []byte) []byte {
	c := append([]byte(nil), b...)
	i := bytes.Index(c, []byte{0xFF, 0xC0})
	copy(c[i+5:i+9], []byte{0, 0, 0, 0})
	return c
}

func TestDecodeMJPEG(t *testing.T) {
	start := matCount()
	defer checkMats(t, start)
	p := NewPool(4)
	const w, h = 64, 48
	want := capturetest.GreyPattern(w, h, 5)
	for _, tc := range []struct {
		colour bool
		out    PixelFormat
	}{{false, FormatGrey}, {true, FormatGrey}, {false, FormatBGR}, {true, FormatBGR}} {
		b := encodeJPEG(t, w, h, 5, tc.colour)
		f, err := ConvertFrame(p, b, FourCCMJPEG, 1280, 720, tc.out)
		if err != nil {
			t.Errorf("ConvertFrame(MJPEG colour=%v -> %v) = %v", tc.colour, tc.out, err)
			continue
		}
		if f.Width != w || f.Height != h || f.Format != tc.out || len(f.Pix) != w*h*tc.out.Channels() {
			t.Errorf("ConvertFrame(MJPEG) = %dx%d %v len %d; want %dx%d (the JPEG's own size)", f.Width, f.Height, f.Format, len(f.Pix), w, h)
		}
		if !tc.colour && tc.out == FormatGrey {
			if d := meanAbsDiff(f.Pix, want); d > 3 {
				t.Errorf("decoded grey differs from the source by %.1f on average; want <= 3", d)
			}
		}
		f.Release()
	}
}

func TestDecodeMJPEGCorrupt(t *testing.T) {
	start := matCount()
	defer checkMats(t, start)
	p := NewPool(2)
	b := encodeJPEG(t, 64, 48, 1, false)
	broken := append([]byte(nil), b...)
	// Damage the frame header's component count: structure check passes the
	// markers, the decoder must refuse the frame.
	i := bytes.Index(broken, []byte{0xFF, 0xC0})
	broken[i+9] = 2
	for name, data := range map[string][]byte{
		"truncated":  b[:len(b)*2/3],
		"garbage":    bytes.Repeat([]byte{0xFF, 0xD8, 0x12}, 50),
		"components": broken,
	} {
		f, err := ConvertFrame(p, data, FourCCMJPEG, 64, 48, FormatGrey)
		if !errors.Is(err, ErrCorruptFrame) || f != nil {
			t.Errorf("ConvertFrame(MJPEG %s) = %v, %v; want nil, ErrCorruptFrame", name, f, err)
		}
	}
}

func meanAbsDiff(a, b []byte) float64 {
	s := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		s += d
	}
	return float64(s) / float64(len(a))
}

// checkMats fails the test when Mats leaked (counted with -tags matprofile).
func checkMats(t testing.TB, start int) {
	t.Helper()
	if n := matCount(); n != start {
		t.Errorf("gocv Mats leaked: %d open at the end; want %d", n, start)
	}
}

func FuzzParseJPEG(f *testing.F) {
	f.Add(encodeJPEG(f, 16, 8, 1, false))
	f.Add(encodeJPEG(f, 16, 8, 2, true))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	f.Add(craftedJPEG(f, 65000, 65000))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseJPEG(b)
		if err == nil && (info.Width <= 0 || info.Height <= 0) {
			t.Errorf("ParseJPEG accepted a frame of size %dx%d", info.Width, info.Height)
		}
	})
}

// FuzzConvertFrame feeds arbitrary bytes through every driver format: the result is
// a frame of the promised size or an error, never a panic or a leaked Mat.
func FuzzConvertFrame(f *testing.F) {
	f.Add(encodeJPEG(f, 16, 8, 1, false), uint8(0), uint8(16), uint8(8))
	f.Add(encodeJPEG(f, 16, 8, 1, true), uint8(0), uint8(16), uint8(8))
	yuyv, _ := capturetest.YUYV(6, 4, 1)
	f.Add(yuyv, uint8(1), uint8(6), uint8(4))
	f.Add(capturetest.GreyPattern(5, 5, 1), uint8(2), uint8(5), uint8(5))
	// Frame headers that claim far more than the negotiated size (the frame that
	// used to abort the daemon) and just more.
	f.Add(craftedJPEG(f, 65000, 65000), uint8(0), uint8(255), uint8(255))
	f.Add(craftedJPEG(f, 30000, 30000), uint8(0), uint8(0), uint8(0))
	f.Add(craftedJPEG(f, 65, 48), uint8(0), uint8(64), uint8(48))
	formats := []FourCC{FourCCMJPEG, FourCCYUYV, FourCCGrey}
	p := NewPool(2)
	f.Fuzz(func(t *testing.T, b []byte, format, w, h uint8) {
		start := matCount()
		defer checkMats(t, start)
		for _, out := range []PixelFormat{FormatGrey, FormatBGR} {
			fr, err := ConvertFrame(p, b, formats[int(format)%3], int(w), int(h), out)
			if err != nil {
				continue
			}
			if len(fr.Pix) != fr.Width*fr.Height*out.Channels() || fr.Width == 0 || fr.Height == 0 {
				t.Errorf("ConvertFrame gave %dx%d %v with %d bytes", fr.Width, fr.Height, fr.Format, len(fr.Pix))
			}
			fr.Release()
		}
	})
}

func BenchmarkMJPEGDecode720pGrey(b *testing.B) {
	benchmarkMJPEG(b, FormatGrey)
}

func BenchmarkMJPEGDecode720pBGR(b *testing.B) {
	benchmarkMJPEG(b, FormatBGR)
}

func benchmarkMJPEG(b *testing.B, out PixelFormat) {
	frame := encodeJPEG(b, 1280, 720, 7, true)
	p := NewPool(2)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := ConvertFrame(p, frame, FourCCMJPEG, 1280, 720, out)
		if err != nil {
			b.Fatal(err)
		}
		f.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}
