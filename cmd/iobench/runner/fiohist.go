package runner

import (
	"math/bits"
	"strconv"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// fio keeps latencies in a log-linear histogram: values below 128 ns
// each have a bucket; above, every power of two is split into 64 buckets,
// for 29 groups (1856 buckets). Its json+ "bins" and its histogram logs
// name and order buckets that way, so iobench converts its own (finer)
// histograms into fio's buckets for them.
const (
	fioPlatBits   = 6
	fioPlatVal    = 1 << fioPlatBits
	fioPlatGroups = 29
	fioPlatNR     = fioPlatGroups * fioPlatVal
)

// fioPlatIdx returns the fio bucket of a latency of v ns.
func fioPlatIdx(v uint64) int {
	if v < 2*fioPlatVal {
		return int(v)
	}
	msb := bits.Len64(v) - 1
	lost := msb - fioPlatBits
	idx := (lost+1)<<fioPlatBits + int(v>>lost)&(fioPlatVal-1)
	return min(idx, fioPlatNR-1)
}

// fioPlatValue returns the value fio names bucket idx by: the value
// itself below 128 ns, else the middle of the bucket's range.
func fioPlatValue(idx int) uint64 {
	if idx < 2*fioPlatVal {
		return uint64(idx)
	}
	lost := idx>>fioPlatBits - 1
	base := uint64(1) << (lost + fioPlatBits)
	k := uint64(idx % fioPlatVal)
	return base + uint64((float64(k)+0.5)*float64(uint64(1)<<lost))
}

// fioBuckets returns h's counts in fio's buckets (index -> count); an
// HDR bucket goes wholly to the fio bucket of its lowest value (HDR's
// buckets at 3 significant digits are finer than fio's).
func fioBuckets(h *hdrhistogram.Histogram) []uint64 {
	out := make([]uint64, fioPlatNR)
	if h == nil || h.TotalCount() == 0 {
		return out
	}
	for _, b := range h.Distribution() {
		if b.Count > 0 {
			out[fioPlatIdx(uint64(max(b.From, 0)))] += uint64(b.Count)
		}
	}
	return out
}

// fioBins is a json+ "bins" object: fio bucket value (ns) -> count, for
// the buckets holding any, in increasing order.
type fioBins []uint64

// MarshalJSON writes {"1234": n, ...} in numeric order.
func (bs fioBins) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	first := true
	for idx, n := range bs {
		if n == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = strconv.AppendUint(b, fioPlatValue(idx), 10)
		b = append(b, '"', ':')
		b = strconv.AppendUint(b, n, 10)
	}
	return append(b, '}'), nil
}
