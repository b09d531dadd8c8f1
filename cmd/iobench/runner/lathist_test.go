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

// TestPercentilesAsFioFromBins: every percentile iobench reports lies in
// the fio bucket that fio's own rule picks from the same json+ bins: the
// first bucket at which the count so far reaches p% of all samples. A
// script or fio_jsonplus_clat2csv recomputing percentiles from the bins
// finds the JSON's. HdrHistogram's nearest rank missed it at sparse tails.
func TestPercentilesAsFioFromBins(t *testing.T) {
	pcts := []float64{1, 5, 10, 20, 30, 40, 41, 50, 60, 70, 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 12.5, 33.3}
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range 300 {
		h := newHist()
		n := 1 + rng.IntN(30000)
		if trial%3 == 0 {
			n = 1 + rng.IntN(20)
		}
		for range n {
			// log-uniform over 50 ns .. 50 ms
			v := int64(50 * math.Exp(rng.Float64()*math.Log(1e6)))
			if err := h.RecordValue(v); err != nil {
				t.Fatal(err)
			}
		}
		bins := fioBuckets(h)
		for _, p := range pcts {
			want, sum := -1, uint64(0)
			for i, c := range bins {
				sum += c
				if float64(sum) >= p/100*float64(n) {
					want = i
					break
				}
			}
			if got := fioPlatIdx(uint64(pctValue(h, p))); got != want {
				t.Fatalf("trial %d, %d samples: %gth percentile %d ns is in fio bucket %d, fio's rule on the bins gives bucket %d (%d ns)",
					trial, n, p, pctValue(h, p), got, want, fioPlatValue(want))
			}
		}
	}
	// Ten samples, 100 ns apart: the 41st percentile is the fifth (rank
	// ⌈4.1⌉), the 12th the second.
	h := newHist()
	for v := int64(100); v <= 1000; v += 100 {
		_ = h.RecordValue(v)
	}
	for _, c := range []struct {
		p    float64
		want int64
	}{{41, 500}, {12, 200}, {50, 500}, {99.99, 1000}, {0.01, 100}} {
		if got := pctValue(h, c.p); got != c.want {
			t.Errorf("ten samples: %gth percentile %d, want %d", c.p, got, c.want)
		}
	}
}

// TestLatStatExact: a LatHist's min, max, mean and standard deviation are
// those of the values recorded, as fio computes them (sample deviation,
// n-1), not its buckets' bounds, also when latHists recorded apart (the
// clones, the intervals) are added together and LatHists merged (group
// reporting). Checked against the values themselves over random sets,
// around 10 µs where a bucket is 8 ns wide, and with a spread of a few ns
// where the buckets alone would give a deviation of 0.
func TestLatStatExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for round := range 200 {
		var all []int64
		parts := make([]*latHist, 1+rng.IntN(4))
		for i := range parts {
			parts[i] = newLatHist()
			for range rng.IntN(50) {
				v := 10000 + rng.Int64N(8)
				if round%2 == 1 {
					v = 1 + rng.Int64N(1e9)
				}
				parts[i].record(v)
				all = append(all, v)
			}
		}
		added := newLatHist()
		merged := newLat()
		for _, p := range parts {
			added.add(p)
			merged.Merge(p.hdr())
		}
		if len(all) == 0 {
			continue
		}
		lo, hi, sum := all[0], all[0], 0.0
		for _, v := range all {
			lo, hi, sum = min(lo, v), max(hi, v), sum+float64(v)
		}
		mean := sum / float64(len(all))
		dev := 0.0
		if len(all) > 1 {
			ss := 0.0
			for _, v := range all {
				ss += (float64(v) - mean) * (float64(v) - mean)
			}
			dev = math.Sqrt(ss / float64(len(all)-1))
		}
		for name, h := range map[string]*LatHist{"added": added.hdr(), "merged": merged} {
			if h.TotalCount() != int64(len(all)) || h.Min() != lo || h.Max() != hi ||
				math.Abs(h.Mean()-mean) > 1e-9*math.Max(1, mean) || math.Abs(h.StdDev()-dev) > 1e-6*math.Max(1, dev) {
				t.Fatalf("round %d, %s: n %d min %d max %d mean %v stddev %v; want %d %d %d %v %v",
					round, name, h.TotalCount(), h.Min(), h.Max(), h.Mean(), h.StdDev(), len(all), lo, hi, mean, dev)
			}
		}
	}
}

// TestLatMeansAddUp: every I/O's lat is its slat plus its clat, so the
// reported means add up as fio's do (fio's own tests allow 1 ns), where
// means of bucketed values missed by up to 2 ns.
func TestLatMeansAddUp(t *testing.T) {
	j := batchRun(t, "--ioengine=null", "--iodepth=8", "--size=64m")
	r := j["read"].(map[string]any)
	mean := func(k string) float64 { return r[k].(map[string]any)["mean"].(float64) }
	// The JSON's means have six decimals, each rounded on its own.
	if d := mean("slat_ns") + mean("clat_ns") - mean("lat_ns"); math.Abs(d) > 1e-3 {
		t.Errorf("mean slat + mean clat - mean lat = %v ns, want 0 to the JSON's rounding", d)
	}
}
