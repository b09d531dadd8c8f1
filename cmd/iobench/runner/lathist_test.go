package runner

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestLatHistMatchesHdr: latHist counts every value in the bucket
// HdrHistogram's RecordValue puts it in, drops what it drops, and its
// histogram answers percentiles as one recorded directly.
func TestLatHistMatchesHdr(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []int64{1, 2, 1023, 1024, 1025, 2047, 2048, 2049, 4095, 4096, 1 << 20, 1<<20 + 1,
		int64(100 * time.Second), int64(100*time.Second) + 1, 1 << 40, 1 << 50, math.MaxInt64}
	for b := range 63 {
		v := int64(1) << b
		values = append(values, v-1, v, v+1)
	}
	for range 200_000 {
		// Log-uniform over 1 ns to about 5 min: every bucket.
		values = append(values, max(int64(math.Exp(rng.Float64()*math.Log(3e11))), 1))
	}
	want := newHist()
	got := newLatHist()
	for _, v := range values {
		_ = want.RecordValue(v)
		got.record(v)
	}
	h := got.hdr()
	if !slices.Equal(h.Export().Counts, want.Export().Counts) {
		for i, c := range want.Export().Counts {
			if h.Export().Counts[i] != c {
				t.Fatalf("count %d: %d, HdrHistogram's %d", i, h.Export().Counts[i], c)
			}
		}
	}
	if h.TotalCount() != want.TotalCount() || h.TotalCount() == 0 {
		t.Fatalf("total %d, HdrHistogram's %d", h.TotalCount(), want.TotalCount())
	}
	for _, q := range []float64{1, 50, 99, 99.99, 100} {
		if a, b := h.ValueAtQuantile(q), want.ValueAtQuantile(q); a != b {
			t.Errorf("p%v: %d, HdrHistogram's %d", q, a, b)
		}
	}
	if h.Max() != want.Max() || h.Min() != want.Min() {
		t.Errorf("min/max %d/%d, HdrHistogram's %d/%d", h.Min(), h.Max(), want.Min(), want.Max())
	}
}
