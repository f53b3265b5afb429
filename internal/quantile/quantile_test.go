package quantile

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	for _, tc := range []struct {
		v    []float64
		p    float64
		want float64
	}{
		{nil, 50, 0},
		{[]float64{7}, 99, 7},
		{[]float64{4, 1, 3, 2}, 50, 2},
		{[]float64{4, 1, 3, 2}, 75, 3},
		{[]float64{4, 1, 3, 2}, 100, 4},
		{[]float64{10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 90, 90},
	} {
		if got := Percentile(append([]float64(nil), tc.v...), tc.p); got != tc.want {
			t.Errorf("Percentile(%v, %v) = %v; want %v", tc.v, tc.p, got, tc.want)
		}
	}
}

func TestRingKeepsLatestAndReadsWithoutSideEffects(t *testing.T) {
	var r Ring
	if got := r.Percentiles(50); got[0] != 0 {
		t.Errorf("empty Ring.Percentiles(50) = %v; want 0", got)
	}
	for range size {
		r.Observe(100 * time.Millisecond) // pushed out below
	}
	for i := range size {
		r.Observe(time.Duration(i+1) * time.Millisecond)
	}
	a, b := r.Percentiles(50, 99), r.Percentiles(50, 99)
	if a[0] != 512 || a[1] != 1014 || b[0] != a[0] || b[1] != a[1] {
		t.Errorf("Percentiles(50, 99) = %v then %v; want [512 1014] twice", a, b)
	}
	if r.Count() != 2*size {
		t.Errorf("Count() = %d; want %d", r.Count(), 2*size)
	}
}
