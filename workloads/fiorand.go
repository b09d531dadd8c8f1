package workloads

import (
	"math/bits"
	"time"
)

// fio's random offsets (fio 3.33): its Tausworthe generators, its LFSR and
// its random map (axmap), written afresh in Go from what fio's sources
// say (lib/rand.h, lib/rand.c, lib/lfsr.c, lib/axmap.c, io_u.c, init.c,
// filesetup.c), and checked against the offsets fio 3.33 writes to its
// write_iolog (fiorand_test.go).

// fioRandSeed is fio's FIO_RANDSEED: with randrepeat, thread n's offsets
// are seeded by n times it, whatever randseed says.
const fioRandSeed = 0xb1899bed

// fioSeedMul is the multiplier fio derives its seeds from randseed with.
const fioSeedMul = 0x9e370001

// fioBlockSeedIndex is FIO_RAND_BLOCK_OFF in fio 3.33: the index of the
// seed, among those fio derives from randseed, that seeds the offsets.
const fioBlockSeedIndex = 6

// The indexes of other seeds among those fio 3.33 derives from randseed
// (its FIO_RAND_*_OFF): the block sizes' (bsrange_state) of reads and
// writes, the direction's of rw and randrw (rwmix_state), and the
// sequential-or-random choice's of percentage_random (seq_rand_state: its
// reads' seed, which fio gives both directions).
const (
	fioBSSeedIndex      = 0 // reads; writes 1
	fioMixSeedIndex     = 4
	fioSeqRandSeedIndex = 10
)

// fioOffsetSeed returns the seed fio 3.33 gives the random offsets of its
// thread number thread (from 1): with randrepeat FIO_RANDSEED times the
// thread; else fioSeed's seed number 6.
func fioOffsetSeed(j *Job, thread int) uint64 {
	if j.RandRepeat {
		return fioRandSeed * uint64(max(thread, 1))
	}
	return fioSeed(j, thread, fioBlockSeedIndex)
}

// fioRepeatable reports whether fio 3.33's rand_repeatable holds for job
// j once its random offsets are seeded: with randrepeat and no randseed
// given. A randseed, which the first loop's random offsets ignore with
// randrepeat (fioOffsetSeed), clears it for what follows, whatever its
// value: fio's later loops go on with the thread's states as they are,
// as with randrepeat=0, and zipf, pareto and normal take their seed from
// the random offsets' (fio's write_iolog of randread size=256k loops=2,
// and of zipf:1.2, with randseed 9 or 12345: the same offsets, unlike
// those without a randseed).
func fioRepeatable(j *Job) bool { return j.RandRepeat && !j.set["randseed"] }

// fioSeed returns fio 3.33's seed number index of its thread number
// thread (from 1): derived from randseed (its default with randrepeat),
// or, with neither randrepeat nor randseed, from the clock (fio's from
// /dev/urandom).
func fioSeed(j *Job, thread, index int) uint64 {
	t := uint64(max(thread, 1))
	if !j.RandRepeat && !j.set["randseed"] {
		return uint64(time.Now().UnixNano()) + uint64(index)
	}
	s := j.RandSeed
	for range 4 + index {
		s *= fioSeedMul
	}
	return s*t + uint64(index)
}

// fioDraws are the draws of fio 3.33 a thread makes per I/O besides the
// offset: the direction of rw and randrw (rwmixread), the block size
// (bssplit, bsrange) and the sequential-or-random choice
// (percentage_random), each from its own Tausworthe state seeded as fio
// seeds it. One thread's files share them, as in fio.
type fioDraws struct {
	mix     fioRand    // rwmix_state: taus88 whatever random_generator says
	bs      [2]fioRand // bsrange_state, reads and writes
	seqRand [2]fioRand // seq_rand_state, reads and writes: taus88

	repeat    bool      // randrepeat, no randseed: each loop starts the states over (newLoop, fioRepeatable)
	readPct   uint64    // rwmixread, a whole percentage
	dir       int       // fio's rwmix_ddir: the direction in force
	mixIssues uint64    // fio's rwmix_issues: the I/Os before the next draw
	issues    [2]uint64 // fio's io_issues: reads and writes issued
}

func newFioDraws(j *Job, thread int) *fioDraws {
	d := &fioDraws{readPct: uint64(j.RWMixRead), repeat: fioRepeatable(j)}
	use64 := j.RandomGenerator == "tausworthe64"
	d.mix.seed = fioSeed(j, thread, fioMixSeedIndex)
	for i := range 2 {
		d.bs[i] = fioRand{use64: use64, seed: fioSeed(j, thread, fioBSSeedIndex+i)}
		d.seqRand[i].seed = fioSeed(j, thread, fioSeqRandSeedIndex)
	}
	if j.Verify != "" {
		d.bs[1].seed = d.bs[0].seed // fio: verify's writes take the reads' sizes
	}
	d.reseed()
	return d
}

// reseed starts the draws over, as fio does at each loop with randrepeat:
// the states seeded afresh, the next I/O drawing a direction anew.
func (d *fioDraws) reseed() {
	d.mix.reseed()
	for i := range 2 {
		d.bs[i].reseed()
		d.seqRand[i].reseed()
	}
	d.mixIssues = 0
}

// newLoop starts the draws of fio's next loop: over from their seeds
// with randrepeat, as fio seeds them afresh then; with randrepeat=0 the
// states go on, and only the next I/O draws a direction anew.
func (d *fioDraws) newLoop() {
	if d.repeat {
		d.reseed()
	}
	d.mixIssues = 0
}

// between100 returns fio's rand_between(state, 1, 100) of 32-bit state r:
// 1 plus 100 times the draw over 2^32, truncated.
func (r *fioRand) between100() uint64 {
	v := r.next()
	if !r.use64 {
		// 100 times a 32-bit draw is below 2^53: fio's double product
		// is exact, and its truncation the integer quotient (scale).
		return 1 + 100*v>>32
	}
	return 1 + uint64(100*(float64(v)*(1.0/4294967296.0)))
}

// direction returns the direction of the next I/O of rw or randrw (1:
// write), as fio's get_rw_ddir chooses it: a direction is drawn (rwmixread
// percent of the draws reads) once the direction in force has issued the
// I/Os it was given; on a change, the new direction is given the old one's
// issues times its own share, over 100.
func (d *fioDraws) direction() int {
	if d.issues[d.dir] >= d.mixIssues {
		dir := 1
		if d.mix.between100() <= d.readPct {
			dir = 0
		}
		if dir != d.dir {
			share := d.readPct
			if dir == 1 {
				share = 100 - d.readPct
			}
			d.mixIssues = d.issues[d.dir] * share / 100
		}
		d.dir = dir
	}
	return d.dir
}

// issued counts an I/O of direction dir (0 read, 1 write), as fio counts
// its io_issues; dir becomes the direction in force, as a rate cap's
// choice does in fio.
func (d *fioDraws) issued(dir int) {
	d.dir = dir
	d.issues[dir]++
}

// random reports whether an I/O of direction dir goes to a random offset
// under percentage_random pct (1 to 99), as fio's should_do_random draws
// it.
func (d *fioDraws) random(dir int, pct uint64) bool {
	return d.seqRand[dir].between100() <= pct
}

// size draws a block size of direction dir as fio's get_next_buflen does:
// from bssplit's entries split (whole percentages, in their order), or
// else from [lo, hi] (bsrange): lo plus hi times the draw over the
// generator's range, in multiples of lo (bssplit's smallest size), at most
// hi (its largest); drawn again while the size is over room, the bytes
// left before the region's end (at least lo).
func (d *fioDraws) size(dir int, split []BSSplit, lo, hi, room uint64) uint64 {
	r := &d.bs[dir]
	max100 := uint64(0xffffffff) / 100
	if r.use64 {
		max100 = ^uint64(0) / 100
	}
	for {
		v := r.next()
		var n uint64
		if len(split) == 0 {
			n = lo + r.scale(hi, v)
		} else {
			var perc uint64
			for _, e := range split {
				if e.Pct <= 0 {
					continue
				}
				n = e.Size
				perc += uint64(e.Pct)
				if v/perc <= max100 && n <= room {
					break
				}
			}
		}
		if lo&(lo-1) == 0 {
			n &^= lo - 1
		} else {
			n -= n % lo
		}
		n = min(n, hi)
		if n <= room {
			return n
		}
	}
}

// fioRand is fio's random_state of a thread: Tausworthe's taus88 (32-bit)
// or taus258 (tausworthe64). One thread's files share it, as in fio.
type fioRand struct {
	use64      bool
	s1, s2, s3 uint32 // taus88
	t          [5]uint64
	seed       uint64
	pass       int // passes started over (reseeded) so far
}

func fioSeedFloor(x, m uint64) uint64 {
	if x < m {
		return x + m
	}
	return x
}

// reseed seeds the state as fio's init_rand_seed does (the 32-bit state
// takes the seed's low 32 bits), cranking it 6 times. fio's first LCG
// value starts from (2^31)+(2^17)+(2^7) written in C, where ^ is XOR: 53.
func (r *fioRand) reseed() {
	const start = (2 ^ 31) + (2 ^ 17) + (2 ^ 7)
	if r.use64 {
		s := r.seed
		lcg := func(x uint64) uint64 { return x*6906969069 ^ s }
		r.t[0] = fioSeedFloor(lcg(start), 1)
		r.t[1] = fioSeedFloor(lcg(r.t[0]), 7)
		r.t[2] = fioSeedFloor(lcg(r.t[1]), 15)
		r.t[3] = fioSeedFloor(lcg(r.t[2]), 33)
		r.t[4] = fioSeedFloor(lcg(r.t[3]), 49)
	} else {
		s := uint32(r.seed)
		lcg := func(x uint32) uint32 { return x*69069 ^ s }
		floor := func(x, m uint32) uint32 { return uint32(fioSeedFloor(uint64(x), uint64(m))) }
		r.s1 = floor(lcg(start), 1)
		r.s2 = floor(lcg(r.s1), 7)
		r.s3 = floor(lcg(r.s2), 15)
	}
	for range 6 {
		r.next()
	}
}

// next returns the next value: 32 bits (taus88) or 64 (taus258).
func (r *fioRand) next() uint64 {
	if !r.use64 {
		r.s1 = (r.s1&0xfffffffe)<<12 ^ (r.s1<<13^r.s1)>>19
		r.s2 = (r.s2&0xfffffff8)<<4 ^ (r.s2<<2^r.s2)>>25
		r.s3 = (r.s3&0xfffffff0)<<17 ^ (r.s3<<3^r.s3)>>11
		return uint64(r.s1 ^ r.s2 ^ r.s3)
	}
	t := &r.t
	t[0] = (t[0]&0xfffffffffffffffe)<<10 ^ (t[0]<<1^t[0])>>53
	t[1] = (t[1]&0xfffffffffffffe00)<<5 ^ (t[1]<<24^t[1])>>50
	t[2] = (t[2]&0xfffffffffffff000)<<29 ^ (t[2]<<3^t[2])>>23
	t[3] = (t[3]&0xfffffffffffe0000)<<23 ^ (t[3]<<5^t[3])>>24
	t[4] = (t[4]&0xffffffffff800000)<<8 ^ (t[4]<<3^t[4])>>33
	return t[0] ^ t[1] ^ t[2] ^ t[3] ^ t[4]
}

// block draws a block in [0, lastb) as fio scales a draw: lastb times the
// draw over the generator's range plus one, in double precision,
// truncated.
func (r *fioRand) block(lastb uint64) uint64 { return r.scale(lastb, r.next()) }

// scale returns n times draw v over the generator's range plus one (2^32,
// or 2^64 with tausworthe64), truncated, as fio computes it in double
// precision.
func (r *fioRand) scale(n, v uint64) uint64 {
	if !r.use64 && n <= 1<<21 {
		// v < 2^32 and n <= 2^21: n*v < 2^53 is a double, so are
		// float64(n) and v/2^32, and fio's product n*(v/2^32) is exact:
		// its truncation is the integer quotient n*v>>32, bit for bit,
		// without the conversions to and from double (2^21 blocks of
		// 4 KiB: 8 GiB).
		return n * v >> 32
	}
	// The draw over 2^32 (2^64): a multiplication by the exact inverse
	// of a power of two gives the quotient bit for bit, without a
	// division per I/O.
	inv := 1.0 / 4294967296.0
	if r.use64 {
		inv = 1.0 / 18446744073709551616.0
	}
	return uint64(float64(n) * (float64(v) * inv))
}

// fioLFSRTaps are the taps of fio's maximal-length XNOR LFSRs of n bits,
// n from 3 to 63 (fio's table, from the LFSR taps of Roy Ward's list).
var fioLFSRTaps = [64][6]uint8{
	3: {3, 2}, 4: {4, 3}, 5: {5, 3}, 6: {6, 5}, 7: {7, 6}, 8: {8, 6, 5, 4},
	9: {9, 5}, 10: {10, 7}, 11: {11, 9}, 12: {12, 6, 4, 1}, 13: {13, 4, 3, 1},
	14: {14, 5, 3, 1}, 15: {15, 14}, 16: {16, 15, 13, 4}, 17: {17, 14},
	18: {18, 11}, 19: {19, 6, 2, 1}, 20: {20, 17}, 21: {21, 19}, 22: {22, 21},
	23: {23, 18}, 24: {24, 23, 22, 17}, 25: {25, 22}, 26: {26, 6, 2, 1},
	27: {27, 5, 2, 1}, 28: {28, 25}, 29: {29, 27}, 30: {30, 6, 4, 1},
	31: {31, 28}, 32: {32, 31, 29, 1}, 33: {33, 20}, 34: {34, 27, 2, 1},
	35: {35, 33}, 36: {36, 25}, 37: {37, 5, 4, 3, 2, 1}, 38: {38, 6, 5, 1},
	39: {39, 35}, 40: {40, 38, 21, 19}, 41: {41, 38}, 42: {42, 41, 20, 19},
	43: {43, 42, 38, 37}, 44: {44, 43, 18, 17}, 45: {45, 44, 42, 41},
	46: {46, 45, 26, 25}, 47: {47, 42}, 48: {48, 47, 21, 20}, 49: {49, 40},
	50: {50, 49, 24, 23}, 51: {51, 50, 36, 35}, 52: {52, 49},
	53: {53, 52, 38, 37}, 54: {54, 53, 18, 17}, 55: {55, 31},
	56: {56, 55, 35, 34}, 57: {57, 50}, 58: {58, 39}, 59: {59, 58, 38, 37},
	60: {60, 59}, 61: {61, 60, 46, 45}, 62: {62, 61, 6, 5}, 63: {63, 62},
}

// fioLFSR is fio's random_generator=lfsr over n values (spin 0): the
// smallest LFSR of more than n states, values past n skipped, each value
// once per pass. As in fio, the first value of a generator (not of a pass
// started over) comes after two steps, the others after one.
type fioLFSR struct {
	last, max, mask, bit, count uint64
	first                       bool
}

func newFioLFSR(n, seed uint64) fioLFSR {
	var l fioLFSR
	for i := 3; i < 64; i++ {
		if uint64(1)<<i > n {
			for _, t := range fioLFSRTaps[i] {
				if t > 0 {
					l.mask |= 1 << (t - 1)
				}
			}
			l.bit = 1 << (fioLFSRTaps[i][0] - 1)
			break
		}
	}
	l.max, l.first = n-1, true
	l.reset(seed)
	return l
}

// reset starts a pass over from seed, as fio's lfsr_reset does (the
// all-ones state, which fio refuses, is taken as it comes).
func (l *fioLFSR) reset(seed uint64) {
	l.count, l.last = 0, seed&(l.bit<<1-1)
}

func (l *fioLFSR) step() {
	l.last = (l.last>>1 | l.bit) ^ ((l.last&1 - 1) & l.mask)
}

// next returns the pass's next value, or false when the pass has given
// every value.
func (l *fioLFSR) next() (uint64, bool) {
	if l.count > l.max {
		return 0, false
	}
	l.count++
	for {
		if l.first {
			l.first = false
			l.step()
		}
		l.step()
		if l.last <= l.max {
			return l.last, true
		}
	}
}

// axmap is fio's random map: a bitmap of the blocks done, above it a
// bitmap of its full words, and so on up to one word. A draw that lands on
// a block done takes the first free block after it, wrapping to the
// region's start (fio's axmap_next_free).
type axmap struct {
	levels [][]uint64
	nbits  uint64
}

const axNone = ^uint64(0)

// newAxmap returns the map of n blocks; its bits are allocated by the
// first reset (a Generator built only for its region costs nothing).
func newAxmap(n uint64) *axmap { return &axmap{nbits: n} }

func (m *axmap) alloc() {
	for bitsLeft := m.nbits; ; {
		words := (bitsLeft + 63) >> 6
		m.levels = append(m.levels, make([]uint64, words))
		if words <= 1 {
			break
		}
		bitsLeft = words
	}
}

func (m *axmap) reset() {
	if m.levels == nil {
		m.alloc()
		return
	}
	for _, l := range m.levels {
		clear(l)
	}
}

// set marks block b done, and above it each word that fills.
func (m *axmap) set(b uint64) {
	if b >= m.nbits {
		return
	}
	for i := range m.levels {
		w := &m.levels[i][b>>6]
		*w |= 1 << (b & 63)
		if *w != ^uint64(0) {
			return
		}
		b >>= 6
	}
}

// setFree marks block b done, as set does, and reports whether it was
// free (a block done already, or past the end, is left as it is).
func (m *axmap) setFree(b uint64) bool {
	if b >= m.nbits {
		return false
	}
	w := &m.levels[0][b>>6]
	bit := uint64(1) << (b & 63)
	if *w&bit != 0 {
		return false
	}
	if *w |= bit; *w == ^uint64(0) {
		m.set(b) // the word is full: mark it above
	}
	return true
}

// firstFrom returns the first free block at b or after it, or axNone: a
// search from the top level down, each level starting at the word the
// level above found not full (or at b's own, if further on).
func (m *axmap) firstFrom(b uint64) uint64 {
	var idx uint64
	for i := len(m.levels) - 1; i >= 0; i-- {
		l := m.levels[i]
		idx = max(idx<<6, b>>(6*uint(i)))
		w := idx >> 6
		if w >= uint64(len(l)) {
			return axNone
		}
		free := ^l[w] &^ (1<<(idx&63) - 1)
		for free == 0 {
			if w++; w >= uint64(len(l)) {
				return axNone
			}
			free = ^l[w]
		}
		idx = w<<6 + uint64(bits.TrailingZeros64(free))
	}
	if idx >= m.nbits {
		return axNone
	}
	return idx
}

// free returns b when it is free (or past the end: a block the map does
// not hold is taken as it comes), else nextFree's block. Most draws that
// land on a block done find a free one further on in the same word of
// the map, which the one word read for b gives without firstFrom's
// search from the top level down.
func (m *axmap) free(b uint64) uint64 {
	if b >= m.nbits {
		return b
	}
	w := m.levels[0][b>>6]
	if w&(1<<(b&63)) == 0 {
		return b
	}
	// The word's free blocks after b (none when b is its last bit).
	if after := ^w &^ (uint64(2)<<(b&63) - 1); after != 0 {
		if r := b&^63 + uint64(bits.TrailingZeros64(after)); r < m.nbits {
			return r
		}
	}
	return m.nextFree(b)
}

// nextFree returns the first free block after busy block b, wrapping to
// the start, or axNone when every block is done.
func (m *axmap) nextFree(b uint64) uint64 {
	next := b + 1
	if next >= m.nbits {
		next = 0
	}
	r := m.firstFrom(next)
	if r == axNone && next != 0 {
		r = m.firstFrom(0)
	}
	return r
}

// fioOffsets is a Generator's state for fio's random offsets over one
// file: the thread's shared Tausworthe state, or the file's LFSR, and the
// file's random map unless norandommap.
type fioOffsets struct {
	rnd       *fioRand
	draws     *fioDraws // the thread's other draws, started over with rnd
	lfsr      *fioLFSR
	amap      *axmap
	dist      *fioDist  // zipf, pareto, normal, zoned: fio's draws (fiodist.go)
	name      string    // the file's name, as fio's hash takes it
	lastb     [2]uint64 // blocks a draw spans, per direction (fio's last_block)
	ba        [2]uint64 // the block a draw counts in (blockalign), per direction
	mapBS     [2]uint64 // the block the map counts in (the smallest size), per direction
	mapShift  [2]uint   // log2 of max(mapBS, 1), or 64 when it is no power of two
	blocks    uint64    // the map's and the LFSR's blocks
	left      uint64    // the map's blocks not done
	timeBased bool
	repeat    bool // randrepeat, no randseed: a loop seeds the state afresh (restart, fioRepeatable)
	reset     bool // a pass started over within block with timeBased (fio's fio_file_reset)
	thread    int
	pass      int
	loopEnds  int // passes ended as fio's loops end (not time_based's resets of a full map)
}

// newFioOffsets returns the state for a file region of span bytes of job
// j's thread thread (from 1).
func newFioOffsets(j *Job, thread int, span uint64) *fioOffsets {
	f := &fioOffsets{timeBased: j.TimeBased, thread: thread, repeat: fioRepeatable(j)}
	f.rnd = &fioRand{use64: j.RandomGenerator == "tausworthe64"}
	rwMin := j.MinBS()
	for d := range 2 {
		mbs := minBSDir(j, d)
		f.mapBS[d], f.ba[d] = mbs, mbs
		f.mapShift[d] = 64
		if bs := max(mbs, 1); bs&(bs-1) == 0 {
			f.mapShift[d] = uint(bits.TrailingZeros64(bs))
		}
		if j.BlockAlign > 0 {
			f.ba[d] = j.BlockAlign
		}
		size := span
		if mbs > f.ba[d] {
			size -= min(size, mbs-f.ba[d])
		}
		f.lastb[d] = size / max(f.ba[d], 1)
	}
	f.blocks = max(span/max(rwMin, 1), 1)
	if j.Dist.Kind != "" && j.Dist.Kind != "random" {
		// fio keeps no random map with a non-uniform distribution.
		f.dist, f.name = newFioDist(j, span), fioFileName(j)
		f.seed(fioOffsetSeed(j, thread), f.rnd)
		f.dist.seed(j, thread, f.name)
		return f
	}
	if j.RandomGenerator == "lfsr" {
		l := newFioLFSR(f.blocks, 0)
		f.lfsr = &l
	} else if !j.NoRandomMap {
		f.amap = newAxmap(f.blocks)
	}
	f.seed(fioOffsetSeed(j, thread), f.rnd)
	return f
}

// seed seeds the state (shared with the thread's other files when rnd is
// theirs) and starts the file's pass over.
func (f *fioOffsets) seed(seed uint64, rnd *fioRand) {
	f.rnd = rnd
	rnd.seed = seed
	rnd.reseed()
	if f.lfsr != nil {
		*f.lfsr = newFioLFSR(f.blocks, seed)
	}
	if f.amap != nil && f.amap.levels != nil {
		f.amap.reset()
	}
	f.left = f.blocks
	f.pass = rnd.pass
}

// MinBSDir returns fio's min_bs of direction d (0 read, 1 write): the
// smallest block size of bs, bsrange or bssplit.
func (j *Job) MinBSDir(d int) uint64 { return minBSDir(j, d) }

// minBSDir returns fio's min_bs of direction d (0 read, 1 write).
func minBSDir(j *Job, d int) uint64 {
	if r := j.BSRange[d]; r[1] > 0 {
		return r[0]
	}
	m := j.BS[d]
	for i, s := range j.BSSplit[d] {
		if i == 0 || s.Size < m {
			m = s.Size
		}
	}
	return m
}

// block returns the next random block of direction d (in units of
// f.ba[d]), as fio's get_next_rand_block draws it. Where the file's pass
// is over (the map full, the LFSR through), a new one starts as fio's next
// loop does: the map cleared, the LFSR reset, and the shared state seeded
// afresh once per pass of the thread; time_based, fio keeps the state
// and draws again.
func (f *fioOffsets) block(d int) uint64 {
	for {
		if b, ok := f.draw(d); ok {
			return b
		}
		f.restart()
	}
}

// restart starts the file's next pass (see block); the thread's other
// draws start over with its offsets' state.
func (f *fioOffsets) restart() {
	if !f.timeBased && f.pass == f.rnd.pass {
		if f.repeat {
			f.rnd.reseed()
		}
		f.rnd.pass++
		if f.draws != nil {
			f.draws.newLoop()
		}
	}
	if !f.timeBased {
		f.loopEnds++
	}
	f.pass++
	f.reset = f.timeBased
	if f.amap != nil {
		f.amap.reset()
		f.left = f.blocks
	}
	if f.lfsr != nil {
		f.lfsr.reset(f.rnd.seed)
	}
}

// newLoop starts the file's next loop where fio found the file done at
// an offset past the region (Generator.fileDone): as restart, the states
// seeded afresh even time_based (fio's next loop, not its reset of a
// full map), and the sequential positions started over.
func (f *fioOffsets) newLoop() {
	tb := f.timeBased
	f.timeBased = false
	f.restart()
	f.timeBased, f.reset = tb, true
}

// passOver reports whether the file's pass has given every block: its
// map full, or its LFSR through (without either, a pass does not end).
func (f *fioOffsets) passOver() bool {
	if f.lfsr != nil {
		return f.lfsr.count > f.lfsr.max
	}
	return f.left == 0 && f.amap != nil && f.amap.levels != nil // left first: the test that fails
}

// draw returns the next block of direction d, or false where the file's
// pass is over. A file draws through at most one of a random map, an
// LFSR and a skewed distribution (newFioOffsets), so the map's case, the
// common one, is tested first.
func (f *fioOffsets) draw(d int) (uint64, bool) {
	if m := f.amap; m != nil {
		if m.levels == nil {
			m.alloc()
		}
		// fioRand.block written out: with its two calls it is over
		// the inliner's budget, and a call of it per I/O costs more
		// than the draw it makes.
		if b := m.free(f.rnd.scale(f.lastb[d], f.rnd.next())); b != axNone {
			return b, true
		}
		return 0, false
	}
	if f.dist != nil {
		return f.dist.next(f.rnd, f.lastb[d], max(f.ba[d], 1)), true
	}
	if f.lfsr != nil {
		return f.lfsr.next()
	}
	return f.rnd.block(f.lastb[d]), true
}

// mark marks the blocks of an I/O at off (in the file region) of size
// bytes done, as fio's mark_random_map does: the block off lies in and
// the blocks size spans after it, up to the first done already; it
// returns the size cut to the blocks marked, as fio cuts its I/O.
func (f *fioOffsets) mark(d int, off, size uint64) uint64 {
	m := f.amap
	if m == nil {
		return size
	}
	bs := max(f.mapBS[d], 1)
	// Shifts, not 64-bit divisions, where bs is a power of two.
	sh := f.mapShift[d]
	var b uint64
	if sh < 64 {
		b = off >> sh
	} else {
		b = off / bs
	}
	if size <= bs {
		// One block (the most common I/O), which the I/O does not
		// outgrow: nothing to cut, whether the block was free or not.
		if m.setFree(b) && f.left > 0 {
			f.left--
		}
		return size
	}
	var n uint64
	if sh < 64 {
		n = (size + bs - 1) >> sh
	} else {
		n = (size + bs - 1) / bs
	}
	var done uint64
	for done < n && m.setFree(b) {
		b, done = b+1, done+1
	}
	f.left -= min(f.left, done)
	if done > 0 && done*bs < size {
		return done * bs
	}
	return size
}
