package workloads

import "math"

// sprandom is newer fio's SanDisk pseudo-random preconditioning
// (sprandom=1): a random write pass that leaves a flash device's blocks
// about as valid as a long random write workload leaves them, in one pass
// of the logical space plus the over-provisioning (spr_op).
//
// What it does, as fio's sprandom.c (axboe/fio f2c1d8f9) does:
//
//   - The physical size is the region's size L plus ceil(L*spr_op),
//     rounded up to the write block size. The job's I/O (io_size) becomes
//     that many bytes.
//   - The physical size is divided into spr_num_regions regions of
//     physical/spr_num_regions bytes, each W = region/bs writes.
//   - Each region r has an invalid share: Desnoyers' steady-state model
//     (write amplification 0.5/spr_op + 0.7, the block the garbage
//     collector picks holding 1 - 1/WA valid data) gives validities evenly
//     spaced from 1 down to that, resampled so the regions are of equal
//     size, then reversed (region 0 the least valid); the share is
//     round((1 - validity) * 10000) in ten-thousandths.
//   - Each write draws an integer v in [0, 10000]; if v <= the current
//     region's share its block is kept, to be written again in the next
//     region (the write that invalidates the first copy).
//   - The first write of region r+1 takes a fresh block; then the blocks
//     kept in region r are written again, in the order they were kept; then
//     fresh blocks fill the region to W writes. Fresh blocks come from a
//     walk that visits each logical block once (fio's LFSR).
//   - The job ends when the walk has no block left, when the region after
//     the last has been filled, or when the physical size has been written.
type sprPlan struct {
	physical uint64   // bytes the job writes (fio sets io_size to it)
	regionSz uint64   // bytes of a region
	writes   uint64   // writes per region (W)
	capacity uint64   // fio's buffer of kept blocks holds capacity-1
	share    []uint32 // each region's invalid share, in ten-thousandths
}

// sprScale is fio's PCT_PRECISION: shares are in ten-thousandths.
const sprScale = 10000

// sprMaxOP is where fio's model breaks: its write amplification,
// 0.5/op + 0.7, must exceed 1 (fio asserts it).
const sprMaxOP = 5.0 / 3

// sprLinspace returns n values evenly spaced from start to end, both
// included (start alone for n == 1), computed as fio's linspace computes
// them, so that the shares round the same way.
func sprLinspace(start, end float64, n int) []float64 {
	a := make([]float64, n)
	if n == 1 {
		a[0] = start
		return a
	}
	step := (end - start) / (float64(n) - 1.0)
	for i := range a {
		a[i] = start + float64(float64(i)*step)
	}
	return a
}

// sprInterp is fio's linear_interp: y at x along the polyline (xs, ys),
// the end values outside it.
func sprInterp(x float64, xs, ys []float64) float64 {
	n := len(xs)
	if n == 1 {
		return ys[0]
	}
	if x <= xs[0] {
		return ys[0]
	}
	if x >= xs[n-1] {
		return ys[n-1]
	}
	for i := 0; i < n-1; i++ {
		if x >= xs[i] && x <= xs[i+1] {
			x1, y1, x2, y2 := xs[i], ys[i], xs[i+1], ys[i+1]
			if math.Abs(x2-x1) < 1e-9 {
				return y1
			}
			return y1 + float64((y2-y1)*float64((x-x1)/(x2-x1)))
		}
	}
	return 0
}

// sprValidity returns the regions' validities, region 0 first (the least
// valid), as fio's compute_validity_dist does.
func sprValidity(n int, op float64) []float64 {
	waf := 0.5/op + 0.7
	gc := 1.0 - 1.0/waf
	v := sprLinspace(1.0, gc, n)
	xs := make([]float64, n)
	acc := 0.0
	for i := range v {
		acc += 1.0 / v[i]
		xs[i] = acc
	}
	nx := sprLinspace(xs[0], xs[n-1], n)
	out := make([]float64, n)
	for i := range nx {
		out[n-1-i] = sprInterp(nx[i], xs, v)
	}
	return out
}

// newSprPlan sizes sprandom over a region of logical bytes written in
// blocks of bs (a power of two), as fio's sprandom_init does.
func newSprPlan(logical, bs uint64, op float64, regions int) sprPlan {
	phys := uint64(float64(logical) + math.Ceil(float64(float64(logical)*op)))
	phys = (phys + bs - 1) &^ (bs - 1)
	v := sprValidity(regions, op)
	p := sprPlan{physical: phys, share: make([]uint32, regions)}
	for i := range v {
		p.share[i] = uint32(int32(math.Round(float64((1.0 - v[i]) * sprScale))))
	}
	p.regionSz = phys / uint64(regions)
	p.writes = p.regionSz / bs
	w := float64(p.writes)
	sigma := math.Sqrt(float64(float64(w*v[0]) * (1.0 - v[0])))
	p.capacity = uint64(math.Ceil(float64(w*(1.0-v[0])) + float64(6.0*sigma)))
	return p
}

// sprState walks a plan: it returns the blocks to write, in fio's order.
type sprState struct {
	plan      sprPlan
	fresh     func() (uint64, bool) // the next unwritten logical block
	draw      func() int            // an integer in [0, sprScale]
	committed []uint64              // kept in the previous region, to write again
	staged    []uint64              // kept in this region
	kept      [2]uint64             // blocks kept per phase
	region    int
	phase     int
	remaining uint64 // fresh writes left in the region
	// Overflow is set when fio's buffer of kept blocks would overflow:
	// fio aborts there (an assertion); iobench ends the job's offsets.
	Overflow bool
}

func newSprState(p sprPlan, fresh func() (uint64, bool), draw func() int) *sprState {
	return &sprState{plan: p, fresh: fresh, draw: draw, remaining: p.writes}
}

// keep draws for block b and keeps it for the next region with the
// current region's share; it reports false when fio's buffer would
// overflow.
func (s *sprState) keep(b uint64) bool {
	v := s.draw()
	share := uint32(0)
	if s.region < len(s.plan.share) {
		// In the region after the last fio reads past its array of
		// shares; what it keeps there is never written again.
		share = s.plan.share[s.region]
	}
	if v > int(share) {
		return true
	}
	if s.plan.capacity == 0 || uint64(len(s.committed)+len(s.staged)) >= s.plan.capacity-1 {
		s.Overflow = true
		return false
	}
	s.staged = append(s.staged, b)
	s.kept[s.phase^1]++
	return true
}

// next returns the next block to write, or false when sprandom is done.
func (s *sprState) next() (uint64, bool) {
	if s.Overflow {
		return 0, false
	}
	if len(s.committed) > 0 {
		b := s.committed[0]
		s.committed = s.committed[1:]
		return b, s.keep(b)
	}
	if s.remaining == 0 {
		if s.region >= len(s.plan.share) {
			return 0, false
		}
		s.kept[s.phase] = 0
		s.region++
		s.phase ^= 1
		s.remaining = s.plan.writes - s.kept[s.phase] // wraps as fio's unsigned count does
		s.committed, s.staged = s.staged, s.committed[:0]
	}
	b, ok := s.fresh()
	if !ok {
		return 0, false
	}
	if s.remaining > 0 {
		s.remaining--
	}
	return b, s.keep(b)
}
