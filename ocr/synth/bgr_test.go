package synth

import (
	"bytes"
	"image"
	"image/color"
	"testing"
)

func TestBGR(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.SetRGBA(0, 0, color.RGBA{1, 2, 3, 255})
	img.SetRGBA(1, 1, color.RGBA{4, 5, 6, 7})
	want := []byte{3, 2, 1, 0, 0, 0, 0, 0, 0, 6, 5, 4}
	if got := BGR(img); !bytes.Equal(got, want) {
		t.Errorf("BGR = %v; want %v", got, want)
	}
	// A sub-image has a stride wider than its width.
	sub := img.SubImage(image.Rect(1, 1, 2, 2)).(*image.RGBA)
	if got := BGR(sub); !bytes.Equal(got, []byte{6, 5, 4}) {
		t.Errorf("BGR(sub-image) = %v; want [6 5 4]", got)
	}
}
