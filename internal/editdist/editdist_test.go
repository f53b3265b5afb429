package editdist

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"ABC1234", "ABC1234", 0},
		{"ABC1234", "", 7},
		{"ABC1234", "A8C1234", 1},
		{"ABC1234", "ABC123", 1},
		{"LPRD_CAMRA", "LPRD_CAMERA", 1},
		{"kitten", "sitting", 3},
		{strings.Repeat("A", 40), strings.Repeat("A", 32) + "BBBBBBBB", 0}, // compared over MaxLen bytes
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d; want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d; want %d (symmetry)", tc.b, tc.a, got, tc.want)
		}
	}
}

func FuzzDistance(f *testing.F) {
	f.Add("ABC1234", "A8C123")
	f.Fuzz(func(t *testing.T, a, b string) {
		d := Distance(a, b)
		la, lb := min(len(a), MaxLen), min(len(b), MaxLen)
		if d < max(la, lb)-min(la, lb) || d > max(la, lb) {
			t.Fatalf("Distance(%q, %q) = %d out of bounds", a, b, d)
		}
	})
}
