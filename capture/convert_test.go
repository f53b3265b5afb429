package capture_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	. "github.com/lprd/lprd/capture"
	"github.com/lprd/lprd/capture/capturetest"
)

func TestGreyFromYUYV(t *testing.T) {
	for _, tc := range []struct{ w, h, pad int }{
		{2, 1, 0}, {6, 3, 0}, {16, 2, 0}, {18, 5, 0}, {640, 480, 0}, {10, 4, 12}, {1920, 2, 64},
	} {
		yuyv, want := capturetest.YUYV(tc.w, tc.h, 3)
		if tc.pad > 0 {
			yuyv = capturetest.Pad(yuyv, 2*tc.w, 2*tc.w+tc.pad)
		}
		got := make([]byte, tc.w*tc.h)
		if err := GreyFromYUYV(got, yuyv, tc.w, tc.h); err != nil {
			t.Errorf("GreyFromYUYV(%dx%d pad %d) = %v", tc.w, tc.h, tc.pad, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("GreyFromYUYV(%dx%d pad %d): luminance differs", tc.w, tc.h, tc.pad)
		}
	}
}

func TestRawFrameErrors(t *testing.T) {
	dst := make([]byte, 64)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"truncated", GreyFromYUYV(dst, make([]byte, 8*4*2-1), 8, 4)},
		{"odd width", GreyFromYUYV(dst, make([]byte, 7*4*2), 7, 4)},
		{"zero size", GreyFromYUYV(dst, make([]byte, 8), 0, 4)},
		{"grey truncated", GreyFromGrey(dst, make([]byte, 31), 8, 4)},
		{"bgr truncated", BGRFromYUYV(make([]byte, 96), make([]byte, 10), 4, 2)},
		{"driver chose 1280x720", GreyFromYUYV(make([]byte, 640*480), make([]byte, 1280*720*2), 640, 480)},
	} {
		if !errors.Is(tc.err, ErrCorruptFrame) {
			t.Errorf("%s: err = %v; want ErrCorruptFrame", tc.name, tc.err)
		}
	}
}

func TestGreyFromGreyPadded(t *testing.T) {
	want := capturetest.GreyPattern(5, 3, 1)
	got := make([]byte, 15)
	if err := GreyFromGrey(got, capturetest.Pad(want, 5, 8), 5, 3); err != nil || !bytes.Equal(got, want) {
		t.Errorf("GreyFromGrey(padded) = %v, %v; want %v", got, err, want)
	}
}

func TestBGRFromYUYV(t *testing.T) {
	for _, tc := range []struct {
		y, u, v byte
		want    [3]byte // B, G, R
	}{
		{16, 128, 128, [3]byte{0, 0, 0}},
		{235, 128, 128, [3]byte{255, 255, 255}},
		{126, 128, 128, [3]byte{128, 128, 128}},
		{82, 90, 240, [3]byte{0, 0, 255}},  // BT.601 red
		{145, 54, 34, [3]byte{0, 255, 0}},  // BT.601 green
		{41, 240, 110, [3]byte{255, 0, 0}}, // BT.601 blue
	} {
		src := []byte{tc.y, tc.u, tc.y, tc.v}
		dst := make([]byte, 6)
		if err := BGRFromYUYV(dst, src, 2, 1); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if d := int(dst[i]) - int(tc.want[i]); d < -2 || d > 2 {
				t.Errorf("BGRFromYUYV(Y=%d U=%d V=%d) = %v; want %v", tc.y, tc.u, tc.v, dst[:3], tc.want)
				break
			}
		}
		if !bytes.Equal(dst[:3], dst[3:]) {
			t.Errorf("BGRFromYUYV: the two pixels of one pair differ: %v", dst)
		}
	}
}

func TestConvertFrameFormats(t *testing.T) {
	p := NewPool(4)
	yuyv, grey := capturetest.YUYV(8, 4, 9)
	for _, tc := range []struct {
		src    []byte
		format FourCC
		out    PixelFormat
	}{
		{yuyv, FourCCYUYV, FormatGrey},
		{yuyv, FourCCYUYV, FormatBGR},
		{grey, FourCCGrey, FormatGrey},
		{grey, FourCCGrey, FormatBGR},
	} {
		name := fmt.Sprintf("ConvertFrame(%s -> %v)", tc.format, tc.out)
		f, err := ConvertFrame(p, tc.src, tc.format, 8, 4, tc.out)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if f.Width != 8 || f.Height != 4 || f.Format != tc.out || len(f.Pix) != 32*tc.out.Channels() {
			t.Errorf("%s = %dx%d %v len %d", name, f.Width, f.Height, f.Format, len(f.Pix))
		}
		if tc.out == FormatGrey && !bytes.Equal(f.Pix, grey) {
			t.Errorf("%s: pixels differ", name)
		}
		if tc.format == FourCCGrey && tc.out == FormatBGR && (f.Pix[3] != grey[1] || f.Pix[5] != grey[1]) {
			t.Errorf("%s: pixel 1 = %v; want grey %d thrice", name, f.Pix[3:6], grey[1])
		}
		f.Release()
	}
	if _, err := ConvertFrame(p, yuyv, FourCC(0x34325241), 8, 4, FormatGrey); err == nil {
		t.Errorf("ConvertFrame(AR24) succeeded; want an error")
	}
}

func BenchmarkYUYVToGrey1080p(b *testing.B) {
	const w, h = 1920, 1080
	yuyv, _ := capturetest.YUYV(w, h, 0)
	p := NewPool(2)
	f, _ := ConvertFrame(p, yuyv, FourCCYUYV, w, h, FormatGrey) // warm the pool
	f.Release()
	b.SetBytes(int64(len(yuyv)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := ConvertFrame(p, yuyv, FourCCYUYV, w, h, FormatGrey)
		if err != nil {
			b.Fatal(err)
		}
		f.Release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}

func BenchmarkYUYVToGreyOnly1080p(b *testing.B) {
	const w, h = 1920, 1080
	yuyv, _ := capturetest.YUYV(w, h, 0)
	dst := make([]byte, w*h)
	b.SetBytes(int64(len(yuyv)))
	b.ReportAllocs()
	for b.Loop() {
		if err := GreyFromYUYV(dst, yuyv, w, h); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}

func BenchmarkYUYVToBGR720p(b *testing.B) {
	const w, h = 1280, 720
	yuyv, _ := capturetest.YUYV(w, h, 0)
	dst := make([]byte, w*h*3)
	b.ReportAllocs()
	for b.Loop() {
		if err := BGRFromYUYV(dst, yuyv, w, h); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
}
