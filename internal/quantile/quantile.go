// Package quantile is the project's one definition of a latency percentile: the
// nearest-rank percentile of a sample, and a fixed-size ring of the latest samples
// whose percentiles can be read at any time without side effects.
package quantile

import (
	"slices"
	"sync"
	"time"
)

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of v, 0 for an empty
// v. v is sorted in place.
func Percentile[T ~int64 | ~float64](v []T, p float64) T {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	i := int(float64(len(v))*p/100+0.999999) - 1
	return v[max(0, min(len(v)-1, i))]
}

// Ring keeps the latest Size durations. It is safe for concurrent use; its zero
// value is ready and keeps 1024 samples.
type Ring struct {
	mu   sync.Mutex
	ring []time.Duration
	n    int
}

// size is how many samples a Ring keeps: about a minute of frames at 15 fps, enough
// for a stable p99 and short enough to follow a change of load.
const size = 1024

// Observe adds a sample.
func (r *Ring) Observe(d time.Duration) {
	r.mu.Lock()
	if r.ring == nil {
		r.ring = make([]time.Duration, size)
	}
	r.ring[r.n%size] = d
	r.n++
	r.mu.Unlock()
}

// Percentiles returns the nearest-rank percentiles ps (each in (0, 100]) of the
// samples kept, in milliseconds; zeros before the first sample.
func (r *Ring) Percentiles(ps ...float64) []float64 {
	r.mu.Lock()
	s := slices.Clone(r.ring[:min(r.n, len(r.ring))])
	r.mu.Unlock()
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = float64(Percentile(s, p)) / 1e6
	}
	return out
}

// Count is the number of samples observed since the start.
func (r *Ring) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}
