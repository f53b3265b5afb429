package ocr

import (
	"image"
	"math/rand"
	"slices"
	"testing"
	"unsafe"

	"gocv.io/x/gocv"
)

// opencvComponents labels mask with OpenCV (8-connectivity) for comparison.
func opencvComponents(t testing.TB, mask []byte, w, h int) []component {
	t.Helper()
	m, err := gocv.NewMatFromBytes(h, w, gocv.MatTypeCV8U, mask)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	labels, stats, cent := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer labels.Close()
	defer stats.Close()
	defer cent.Close()
	n := gocv.ConnectedComponentsWithStats(m, &labels, &stats, &cent)
	b, _ := stats.DataPtrUint8()
	st := unsafe.Slice((*int32)(unsafe.Pointer(&b[0])), len(b)/4)
	var out []component
	for i := 1; i < n; i++ {
		x, y, bw, bh := int(st[i*5]), int(st[i*5+1]), int(st[i*5+2]), int(st[i*5+3])
		out = append(out, component{box: image.Rect(x, y, x+bw, y+bh), area: int(st[i*5+4])})
	}
	return out
}

func sortComponents(c []component) []component {
	c = slices.Clone(c)
	slices.SortFunc(c, func(a, b component) int {
		if a.box.Min.Y != b.box.Min.Y {
			return a.box.Min.Y - b.box.Min.Y
		}
		if a.box.Min.X != b.box.Min.X {
			return a.box.Min.X - b.box.Min.X
		}
		return a.area - b.area
	})
	return c
}

func checkLabeler(t testing.TB, mask []byte, w, h int) {
	var lb labeler
	got := sortComponents(lb.components(mask, w, h))
	want := sortComponents(opencvComponents(t, mask, w, h))
	if !slices.Equal(got, want) {
		t.Fatalf("%dx%d mask: labeler found %d components, OpenCV %d:\n got %v\nwant %v", w, h, len(got), len(want), got, want)
	}
}

func TestLabelerMatchesOpenCV(t *testing.T) {
	cases := []struct {
		name string
		w, h int
		rows []string
	}{
		{"empty", 4, 2, []string{"....", "...."}},
		{"full", 3, 2, []string{"###", "###"}},
		{"diagonal joins", 4, 4, []string{"#...", ".#..", "..#.", "...#"}},
		{"anti-diagonal joins", 4, 3, []string{"...#", "..#.", ".#.."}},
		{"u shape merges late", 5, 3, []string{"#...#", "#...#", "#####"}},
		{"separate", 7, 2, []string{"#.#.#.#", "......."}},
		{"gap of one", 5, 2, []string{"##.##", "....."}},
		{"edges", 3, 3, []string{"#.#", "...", "#.#"}},
	}
	for _, c := range cases {
		mask := make([]byte, 0, c.w*c.h)
		for _, r := range c.rows {
			for _, ch := range r {
				if ch == '#' {
					mask = append(mask, 255)
				} else {
					mask = append(mask, 0)
				}
			}
		}
		t.Run(c.name, func(t *testing.T) { checkLabeler(t, mask, c.w, c.h) })
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 50; i++ {
		w, h := 1+rng.Intn(70), 1+rng.Intn(40)
		density := rng.Float64()
		mask := make([]byte, w*h)
		for k := range mask {
			if rng.Float64() < density {
				mask[k] = 255
			}
		}
		checkLabeler(t, mask, w, h)
	}
}

func FuzzLabeler(f *testing.F) {
	f.Add(uint8(8), []byte{0, 255, 255, 0, 255, 0, 0, 255, 255, 255})
	f.Add(uint8(3), []byte{255, 0, 255, 0, 255, 0, 255, 0, 255})
	f.Fuzz(func(t *testing.T, width uint8, data []byte) {
		w := int(width%64) + 1
		h := len(data) / w
		if h == 0 || h > 64 {
			return
		}
		mask := make([]byte, w*h)
		for i := range mask {
			if data[i]&1 == 1 {
				mask[i] = 255
			}
		}
		checkLabeler(t, mask, w, h)
	})
}

func BenchmarkLabeler(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	const w, h = 640, 360
	mask := make([]byte, w*h)
	for i := 0; i < 300; i++ { // sparse blobs, like a closed edge mask
		x, y := rng.Intn(w-40), rng.Intn(h-12)
		for yy := y; yy < y+3+rng.Intn(9); yy++ {
			for xx := x; xx < x+5+rng.Intn(35); xx++ {
				mask[yy*w+xx] = 255
			}
		}
	}
	var lb labeler
	b.ReportAllocs()
	for b.Loop() {
		lb.components(mask, w, h)
	}
}
