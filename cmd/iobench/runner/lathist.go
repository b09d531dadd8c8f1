package runner

import (
	"math"
	"math/bits"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// latHist records latencies in the I/O loop, bucketed exactly as newHist's
// HdrHistogram buckets them, and becomes one (hdr) when results are made.
// HdrHistogram's RecordValue took about 60 instructions per value, three
// values per I/O (slat, clat, lat): 4% of the I/O loop's instructions at
// depth 1 under callgrind; record takes a third of that.
type latHist struct {
	counts []int64
	stat   latStat
}

// latStat is the exact count, minimum, maximum, mean and standard
// deviation of the values a latency histogram records, as fio keeps them
// beside its bins: the histogram's own are its buckets' bounds (up to 8
// ns off at 10 µs, 0.05% at 3 significant digits), not the values
// measured. The sums are of the values less the first one, k, against
// cancellation in the sum of squares.
type latStat struct {
	n        int64
	min, max int64
	k        int64
	sum, sq  float64 // Σ(v-k), Σ(v-k)²
}

// add counts v.
func (s *latStat) add(v int64) {
	if s.n == 0 {
		s.k, s.min, s.max = v, v, v
	}
	s.n++
	s.min = min(s.min, v)
	s.max = max(s.max, v)
	d := float64(v - s.k)
	s.sum += d
	s.sq += d * d
}

// merge adds o's values to s.
func (s *latStat) merge(o latStat) {
	switch {
	case o.n == 0:
		return
	case s.n == 0:
		*s = o
		return
	}
	// o's sums, shifted from o.k to s.k: Σ(v-s.k) = Σ(v-o.k) + n·δ and
	// Σ(v-s.k)² = Σ(v-o.k)² + 2δ·Σ(v-o.k) + n·δ², δ = o.k - s.k.
	delta, n := float64(o.k-s.k), float64(o.n)
	s.sq += o.sq + 2*delta*o.sum + n*delta*delta
	s.sum += o.sum + n*delta
	s.n += o.n
	s.min = min(s.min, o.min)
	s.max = max(s.max, o.max)
}

// mean is the values' mean.
func (s latStat) mean() float64 {
	if s.n == 0 {
		return 0
	}
	return float64(s.k) + s.sum/float64(s.n)
}

// stddev is the values' sample standard deviation, fio's (n-1; 0 for
// fewer than two values).
func (s latStat) stddev() float64 {
	if s.n < 2 {
		return 0
	}
	n := float64(s.n)
	return math.Sqrt(max(s.sq-s.sum*s.sum/n, 0) / (n - 1))
}

// LatHist is a latency histogram (ns) in HdrHistogram's buckets, whose
// Min, Max, Mean and StdDev are those of the values measured (latStat),
// not of its buckets, where it has them (exact: the read, write and trim
// latencies); a LatHist made of a bare histogram (asLat: the per-priority
// and sync latencies) gives its buckets'. Merge adds another's values.
type LatHist struct {
	*hdrhistogram.Histogram
	stat latStat
}

// newLat returns an empty LatHist with newHist's range.
func newLat() *LatHist { return &LatHist{Histogram: newHist()} }

// exact reports whether h's statistics cover every value it counts: not
// for a bare histogram (asLat), nor one merged with such.
func (h *LatHist) exact() bool { return h.stat.n == h.TotalCount() }

// asLat is h as a LatHist, its statistics its buckets'.
func asLat(h *hdrhistogram.Histogram) *LatHist { return &LatHist{Histogram: h} }

// Merge adds o's values to h.
func (h *LatHist) Merge(o *LatHist) {
	if o == nil {
		return
	}
	h.Histogram.Merge(o.Histogram)
	h.stat.merge(o.stat)
}

// Min is the smallest value recorded (0 when none was).
func (h *LatHist) Min() int64 {
	if !h.exact() {
		return h.Histogram.Min()
	}
	return h.stat.min
}

// Max is the largest value recorded.
func (h *LatHist) Max() int64 {
	if !h.exact() {
		return h.Histogram.Max()
	}
	return h.stat.max
}

// Mean is the values' mean.
func (h *LatHist) Mean() float64 {
	if !h.exact() {
		return h.Histogram.Mean()
	}
	return h.stat.mean()
}

// StdDev is the values' sample standard deviation (n-1), as fio's.
func (h *LatHist) StdDev() float64 {
	if !h.exact() {
		return h.Histogram.StdDev()
	}
	return h.stat.stddev()
}

// The bucket layout of newHist (1 ns to 100 s at 3 significant digits):
// 3 digits need 2000 distinct values at unit resolution, so sub-buckets
// count 2^11; a value v with bits.Len64(v|histSubMask) = 11+b falls in
// bucket b, at index (b+1)<<10 + v>>b - 1<<10. TestLatHistMatchesHdr
// checks the layout against HdrHistogram's own RecordValue.
const (
	histSubBits = 11
	histHalfMag = histSubBits - 1
	histSubMask = 1<<histSubBits - 1
)

// histShape is newHist's snapshot without its counts, and histLen the
// number of counts it has: hdr fills in a latHist's counts.
var histShape, histLen = func() (hdrhistogram.Snapshot, int) {
	s := *newHist().Export()
	n := len(s.Counts)
	s.Counts = nil
	return s, n
}()

func newLatHist() *latHist { return &latHist{counts: make([]int64, histLen)} }

// record counts v (ns, at least 1); values beyond newHist's range are
// dropped, as HdrHistogram's RecordValue drops them.
func (h *latHist) record(v int64) {
	b := bits.Len64(uint64(v)|histSubMask) - histSubBits
	if i := (b+1)<<histHalfMag + int(v>>uint(b)) - 1<<histHalfMag; uint(i) < uint(len(h.counts)) {
		h.counts[i]++
		h.stat.add(v)
	}
}

// add adds o's values to h.
func (h *latHist) add(o *latHist) {
	for i, n := range o.counts {
		h.counts[i] += n
	}
	h.stat.merge(o.stat)
}

// hdr returns the values recorded as a LatHist.
func (h *latHist) hdr() *LatHist {
	s := histShape
	s.Counts = h.counts
	return &LatHist{Histogram: hdrhistogram.Import(&s), stat: h.stat}
}

// pctValue is the p-th percentile of h as fio takes it: the value of the
// first sample at which the count so far reaches p% of all samples (fio's
// calc_clat_percentiles), the sample of rank ⌈p·N/100⌉.
// HdrHistogram's ValueAtPercentile takes the nearest rank instead, which
// at a sparse tail can be the sample before fio's: the 99.99th of 7,000
// samples is fio's 7,000th (6,999.3 rounded up) and was HdrHistogram's
// 6,999th. Runs of 1 s at depth 8 reported a 99.99th 12% below fio's
// rule on their own json+ bins (slat: 17%).
func pctValue(h *hdrhistogram.Histogram, p float64) int64 {
	n := h.TotalCount()
	if n == 0 {
		return 0
	}
	rank := min(max(math.Ceil(p/100*float64(n)), 1), float64(n))
	// HdrHistogram takes rank ⌊q·N/100 + 0.5⌋ for q: with q = 100·rank/N,
	// rank itself.
	return h.ValueAtPercentile(100 * rank / float64(n))
}
