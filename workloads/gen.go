package workloads

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"time"
)

// IO is one I/O a job issues: a range of the target and a direction
// (a read, a write, or a trim with Trim set).
type IO struct {
	Offset, Length uint64
	IOFlags
}

// IOFlags are an IO's flags, a struct of their own so that IO has four
// fields or fewer, which the compiler keeps in registers: with six, an IO
// returned through the generators to the runner went through memory,
// each copy of it a pair of 16-byte loads of what had just been stored 8
// and 1 bytes at a time, which waits for those stores to retire (a
// store-forwarding stall).
type IOFlags struct {
	Write, Trim bool
	// End, when set, is no I/O: the workload's offsets have run out (a
	// strided sequence past the region's end), and the job issues nothing
	// more, as fio's does. With PassEnd too only the pass has ended
	// (Generator.PassEnds): the next I/O starts the next.
	End, PassEnd bool
}

// Dir returns the I/O's direction: DirRead, DirWrite or DirTrim.
func (io IO) Dir() int {
	switch {
	case io.Trim:
		return DirTrim
	case io.Write:
		return DirWrite
	}
	return DirRead
}

// Generator produces a job's I/Os. It is not safe for concurrent use: each
// job clone has its own. Next allocates nothing.
//
// Offsets lie in [Job.Offset, Job.Offset+Job.Size) (the size defaults to
// the target's), aligned to the smallest block size in use:
//   - read, write, rw: sequential, each direction from its own position,
//     wrapping at the end of the region;
//   - randread, randwrite, randrw with random_distribution=random: fio
//     3.33's offsets (fiorand.go): its random_generator, seeded as fio
//     seeds the job's thread (Job.Thread), through its random map unless
//     norandommap;
//   - zipf, pareto, normal, zoned, zoned_abs: fio 3.33's offsets
//     (fiodist.go), without a random map, as fio keeps none with them;
//     where fio's draws are not followed (zoned with lfsr, zonemode=
//     strided) iobench's own, skewed as fio skews them, each value placed
//     as fio places it (scatter), zones laid out from the start;
//     sequence (newer fio's):
//     the blocks its list names, in turn, repeating, indexed by the count
//     of I/Os the direction issued so far (fio's io_issues), each
//     repetition moved on by the list's length with random_sequence_stride
//     (then an IO with End set follows the last block inside the region).
//
// rw and randrw choose each I/O's direction by rwmixread. The trim
// patterns give trims (trimwrite and randtrimwrite too: the runner writes
// each trimmed block after its trim), sized and placed as writes are.
// bssplit chooses sizes by their percentages, bsrange from its range. The
// directions (a whole rwmixread), the sizes of reads and writes (bsrange,
// bssplit of whole percentages) and percentage_random's choices (a whole
// percentage) are fio 3.33's draws (fioDraws), seeded as fio seeds the
// job's thread; a random I/O is cut at the first block its random map has
// done, as fio's is. With randrepeat (the default) the sequence depends
// only on randseed, the thread and the clone's index.
type Generator struct {
	rw        RW
	base      uint64 // region start
	span      uint64 // region length
	unit      uint64 // offset alignment
	bs        [2]uint64
	split     [2][]BSSplit
	bsRange   [2][2]uint64
	readShare float64
	rwMod     uint64     // rw's ":N"
	rwBack    bool       // rw's ":-N"
	identical bool       // rw_sequencer=identical
	seqRand   bool       // bs_is_seq_rand
	whole     bool       // the region is the whole target, from its start
	last      [2]uint64  // the last I/O's offset in the region, per direction
	sinceRand uint64     // I/Os since the last random offset (rw=rand...:N)
	pctRandom [2]float64 // percentage_random, reads and writes

	// fio 3.33's draws (fiorand.go) where fio's options can express the
	// job's: the direction with a whole rwmixread, the sizes of a bsrange
	// or of a bssplit of whole percentages, percentage_random when whole.
	fd              *fioDraws
	fioMix          bool
	fioSize, fioPct [2]bool
	sizeLo, sizeHi  [2]uint64    // fio's min_bs and max_bs per direction
	fioSplit        [2][]BSSplit // bssplit in fio's order: by percentage, stably

	// zonemode=strided: the current zone's start (in the region) and the
	// bytes done in it.
	zoned                         bool
	zoneSize, zoneRange, zoneSkip uint64
	zoneEnd                       uint64 // where zones wrap: the target's end, from base
	zoneStart, zoneDone           uint64
	rng                           *rand.Rand
	pos                           [2]uint64
	backDone                      [2]uint64 // rw=read:-N: bytes of the pass so far

	// Steer, when set, may change the direction rwmixread drew for the
	// next I/O of rw or randrw (true: write): the runner's rate caps steer
	// it as fio's do.
	Steer func(write bool) bool

	dist   string
	nBlk   uint64
	fo     *fioOffsets // random_distribution=random: fio's offsets
	zipf   zipfGen
	pow    float64 // pareto exponent
	spread uint64  // normal: width of the deviation added, in blocks (0: none)
	off    uint64  // zipf, pareto, normal: where scatter puts value 0
	zones  []Zone

	spr *sprState // sprandom: the blocks to write, in fio's order

	seq       []uint64  // sequence: the block indexes
	seqStride bool      // random_sequence_stride
	issues    [3]uint64 // I/Os issued so far: reads, writes, trims
	thread    int       // fio's thread number of the job (Job.Thread)

	// logical is the region's length before rounding to the block (fio's
	// io_size of the file). dropUnfit: a random offset where the
	// smallest I/O does not fit before it ends the file's I/O (IO.End),
	// as fio marks the file done; NewFileGen sets it for a file without
	// a random map (mapless) and no skewed file_service_type.
	logical   uint64
	dropUnfit bool
	// mixLoops: rw=rw on one file, not time_based: a direction that
	// finds the region's end ends fio's loop (the file is done), and the
	// next starts both directions at the start, the draws from their
	// seeds (set by NewFileGen). PassEnds, when set (by the runner),
	// makes Next return IO{End: true, PassEnd: true} there first.
	mixLoops bool
	PassEnds bool
	// seqFiles: rw=rw, read or write on one of several files, not
	// time_based, no :N: a direction that finds the region's end makes
	// fio find the file done (doneFile), and FileGen starts the next
	// loop when every file is (set by NewFileGen).
	seqFiles bool
	// fileEnd: the target's bytes from base (fio's real_file_size of the
	// file, less its offset; with ioengine=null the region's). loops:
	// the job's loops; more: with io_size, a loop follows while the
	// bytes fall short (the runner stops the job at them). multi: one of
	// several files (FileGen), which a fileDone ends, the others going
	// on.
	// doneFile: the End last returned was fileDone's.
	fileEnd  uint64
	loops    int
	more     bool
	multi    bool
	doneFile bool
	// loopStart: the I/Os issued (issues' sum) when loopOrEnd last
	// started a loop; none yet: ^0.
	loopStart uint64
	// seqLoops: rw=read or rw=write on one file, not time_based, no :N:
	// the region's end ends fio's loop, and the next draws its sizes
	// from their seeds again (set by NewFileGen).
	seqLoops bool
	// seqEnds: rw=read, write, trim or trimwrite on one file, not
	// time_based, no :N: the region's end ends fio's loop, and the last
	// loop's end the job's I/O where no io_size asks for more (set by
	// NewFileGen); seqWraps counts the loops so ended.
	seqEnds  bool
	seqWraps int

	// plain: every I/O is a random one, a write with plainWrite (else a
	// read), of plainSize bytes at fio's offsets: randread or
	// randwrite, one block size, no percentage_random, rw's :N, bssplit,
	// bsrange, bs_is_seq_rand, strided zones, sprandom or sequence.
	// NewGenerator decides it once, and Next skips the tests of the
	// other cases (nextPlain).
	plain      bool
	plainWrite bool
	plainSize  uint64
}

// NewGenerator returns the generator of clone jobIndex of j over a target
// of targetBytes.
func NewGenerator(j *Job, jobIndex int, targetBytes uint64) *Generator {
	if j.TrimBS > 0 {
		// rw=trim or randtrim with bs's third value: the trims, which
		// take the write sizes here, take it, and the reads' size,
		// which no I/O takes, stands for the smallest of reads and
		// writes, fio's random map counting in the smallest of the
		// three (randtrim bs=4k,8k,16k places its trims as randwrite
		// bs=4k,16k places its writes).
		t := *j
		t.BS, t.TrimBS = [2]uint64{min(j.BS[0], j.BS[1]), j.TrimBS}, 0
		j = &t
	}
	g := &Generator{rw: j.RW, base: j.Offset + uint64(jobIndex)*j.OffsetIncrement, bs: j.BS, split: j.BSSplit,
		bsRange: j.BSRange, readShare: j.RWMixRead / 100, unit: j.MinBS(), dist: j.Dist.Kind,
		rwMod: j.RWMod, rwBack: j.RWBack, identical: j.RWIdentical && j.RW.Random() && j.RWMod > 1,
		seqRand: j.BSIsSeqRand, pctRandom: j.PercentageRandom, thread: j.Thread}
	if j.BlockAlign > 0 && j.RW.Random() {
		g.unit = j.BlockAlign
	}
	if j.ZoneMode == "strided" && j.ZoneSize > 0 {
		g.zoned, g.zoneSize, g.zoneRange, g.zoneSkip = true, j.ZoneSize, max(j.ZoneRange, j.ZoneSize), j.ZoneSkip
	}
	if g.base > targetBytes {
		g.base = targetBytes
	}
	g.span = targetBytes - g.base
	if j.Size > 0 && j.Size < g.span {
		g.span = j.Size
	}
	logical := g.span // sprandom sizes its pass from the region before rounding, as fio does
	g.logical = logical
	g.fileEnd, g.loops, g.more, g.loopStart = targetBytes-g.base, max(j.Loops, 1), j.IOSize > 0, ^uint64(0)
	if j.NullIO() {
		// fio's null engine takes each file to end with the job's
		// region (its real_file_size is the offset plus the region),
		// whatever the file holds: an I/O past the region is past the
		// file there (fileDone).
		g.fileEnd = min(g.fileEnd, logical)
	}
	g.whole = g.base == 0 && g.span == targetBytes
	g.span = g.span / g.unit * g.unit
	// Zones march on past size, which bounds only the bytes moved, to the
	// target's end (fio's strided zones move the region itself).
	g.zoneEnd = (targetBytes - g.base) / g.unit * g.unit
	seed := j.RandSeed + uint64(jobIndex)*0x9e3779b97f4a7c15
	if !j.RandRepeat {
		seed ^= uint64(time.Now().UnixNano())
	}
	g.rng = rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d))
	g.nBlk = max(g.span/g.unit, 1)
	if j.Dist.HasCenter {
		g.off = uint64(j.Dist.Center * float64(g.nBlk))
		if g.dist == "normal" {
			// normal's values gather around the middle already.
			g.off = uint64(int64((j.Dist.Center - 0.5) * float64(g.nBlk)))
		}
	}
	if j.SPRandom && j.BS[1] > 0 {
		// Fresh blocks: each logical block once (fio walks them with its
		// LFSR), then no more; the draws that keep blocks come from the
		// job's generator.
		g.unit = j.BS[1] // blocks of the write size (blockalign is the same or unset)
		n := max(logical/g.unit, 1)
		walk, left := newPermutation(n, g.rng), logical/g.unit
		fresh := func() (uint64, bool) {
			if left == 0 {
				return 0, false
			}
			left--
			return walk.next(), true
		}
		g.spr = newSprState(newSprPlan(logical, j.BS[1], j.SPROp, j.SPRRegions), fresh,
			func() int { return g.rng.IntN(sprScale + 1) })
	}
	g.fd = newFioDraws(j, j.Thread)
	g.fioMix = j.RWMixRead == math.Trunc(j.RWMixRead)
	for d := range 2 {
		g.fioPct[d] = j.PercentageRandom[d] == math.Trunc(j.PercentageRandom[d])
		if r := j.BSRange[d]; r[1] > 0 {
			g.fioSize[d], g.sizeLo[d], g.sizeHi[d] = true, r[0], r[1]
		} else if s := j.BSSplit[d]; len(s) > 0 {
			g.fioSize[d], g.sizeLo[d], g.sizeHi[d] = true, s[0].Size, s[0].Size
			for _, e := range s {
				g.fioSize[d] = g.fioSize[d] && e.Pct == math.Trunc(e.Pct)
				g.sizeLo[d], g.sizeHi[d] = min(g.sizeLo[d], e.Size), max(g.sizeHi[d], e.Size)
			}
			g.fioSplit[d] = BSSplitOrder(s)
		}
	}
	switch g.dist {
	case "", "random":
		g.dist = "random"
		if !g.zoned {
			g.fo = newFioOffsets(j, j.Thread, logical)
			g.fo.draws = g.fd
		}
	case "zipf", "pareto", "normal", "zoned", "zoned_abs":
		if !g.zoned && fioDistExact(j) {
			g.fo = newFioOffsets(j, j.Thread, logical)
			g.fo.draws = g.fd
		}
	}
	g.zones = j.Dist.Zones
	other := g.dist // iobench's own draws where fio's are not followed
	if g.fo != nil {
		other = ""
	}
	switch other {
	case "zipf":
		g.zipf = newZipf(g.nBlk, j.Dist.Param, g.rng)
		if !j.Dist.HasCenter {
			g.off = g.rng.Uint64()
		}
	case "pareto":
		g.pow = math.Log(j.Dist.Param) / math.Log(1-j.Dist.Param)
		if !j.Dist.HasCenter {
			g.off = g.rng.Uint64()
		}
	case "normal":
		if j.Dist.Param > 0 {
			// fio's width: dev percent of the blocks, at most half.
			g.spread = min(uint64(math.Ceil(float64(g.nBlk)*j.Dist.Param/100)), g.nBlk/2)
		}
	case "sequence":
		g.seq, g.seqStride = j.Dist.Seq, j.SeqStride
	}
	d := b2i(g.rw == RandWrite)
	g.plain = (g.rw == RandRead || g.rw == RandWrite) && g.fo != nil && g.spr == nil && g.seq == nil &&
		!g.zoned && !g.seqRand && g.rwMod <= 1 && g.pctRandom[d] >= 100 &&
		g.bsRange[d][1] == 0 && len(g.split[d]) == 0 && !g.fioSize[d]
	g.plainWrite, g.plainSize = d == 1, min(g.bs[d], g.span)
	return g
}

// CheckSequence reports a random_distribution=sequence index that lies
// past the region's end, or zoned_abs zones that end past it (nil for
// other distributions). fio fails the job with EINVAL when its I/O
// reaches such an index, and ends a job without I/O once it draws such a
// zone ("zoned_abs sizes exceed file size"); iobench refuses either
// before any I/O.
func (g *Generator) CheckSequence() error {
	if g.dist == "zoned_abs" {
		var end uint64
		for _, z := range g.zones {
			end += z.Size
		}
		if end > g.span {
			return fmt.Errorf("random_distribution=%s: the zones end at byte %d, past the region's %d bytes (fio: zoned_abs sizes exceed file size)",
				Dist{Kind: g.dist, Zones: g.zones}, end, g.span)
		}
	}
	for _, b := range g.seq {
		if b >= g.nBlk {
			return fmt.Errorf("random_distribution=%s: block %d lies past the region's end: its %d bytes hold blocks 0 to %d of %d bytes",
				Dist{Kind: "sequence", Seq: g.seq}, b, g.span, g.nBlk-1, g.unit)
		}
	}
	return nil
}

// Span returns the region's length in bytes; Base its start.
func (g *Generator) Span() uint64 { return g.span }

// Reach returns how far from Base the generator's I/O can go: its span,
// with strided zones the target's end (zones go past the span), and with
// a random map or an LFSR up to the largest block past the span, within
// the target (an I/O that starts in the region may end past it, as fio's
// does: see fileDone).
func (g *Generator) Reach() uint64 {
	if g.zoned {
		return g.zoneEnd
	}
	if g.mapped() {
		most := max(g.bs[0], g.bs[1], g.sizeHi[0], g.sizeHi[1])
		return max(g.span, min(g.span+most, g.fileEnd))
	}
	return g.span
}

// PassBytes returns the bytes one pass over the region transfers: its
// span, except for a sequential read, write or trim that skips (rw=read:N
// with a fixed block size), which ends its pass at the region's end, as
// fio's does, having transferred only the blocks between the skips. Where
// the region is the whole target and the skip after the last block
// reaches the target's end, fio's skip wraps to the start instead, and
// the pass goes on: it transfers the span.
func (g *Generator) PassBytes() uint64 {
	d := 0
	switch g.rw {
	case Read:
	case Write, Trim:
		d = 1
	default:
		return g.span
	}
	if g.seqRand {
		d = 0 // bs_is_seq_rand: sequential I/O takes the read sizes
	}
	size := g.bs[d]
	if g.rwMod == 0 || g.rwBack || g.zoned || g.bsRange[d][1] > 0 || len(g.split[d]) > 0 || size == 0 || size > g.span {
		return g.span
	}
	n := (g.span-size)/(size+g.rwMod) + 1 // blocks up to the region's end
	if end := (n-1)*(size+g.rwMod) + size; g.whole && end < g.span && end+g.rwMod >= g.span {
		return g.span
	}
	return n * size
}

// SPRandomBytes returns the bytes a sprandom job writes (the region plus
// spr_op of it, rounded up to the block size: fio's io_size for it), or
// 0 without sprandom.
func (g *Generator) SPRandomBytes() uint64 {
	if g.spr == nil {
		return 0
	}
	return g.spr.plan.physical
}

// Base returns the region's start in the target.
func (g *Generator) Base() uint64 { return g.base }

// Next returns the next I/O. It only chooses between nextPlain and next,
// so that a compiler that inlines it (in FileGen.Next with cmd/iobench's
// profile) leaves a plain generator's I/O one call.
func (g *Generator) Next() IO {
	if g.plain {
		return g.nextPlain()
	}
	return g.next()
}

// next is Next for a generator that is not plain.
func (g *Generator) next() IO {
	if g.spr != nil {
		b, ok := g.spr.next()
		if !ok {
			return IO{IOFlags: IOFlags{End: true}}
		}
		return IO{Offset: g.base + b*g.unit, Length: g.bs[1], IOFlags: IOFlags{Write: true}}
	}
	if g.fo != nil && !g.fo.timeBased && g.fo.passOver() {
		// A pass is over: fio starts the next (its next loop) before
		// the next I/O's direction is drawn.
		g.endDraws()
		g.fo.restart()
	}
	write, trim := false, false
	switch g.rw {
	case Write, RandWrite:
		write = true
	case ReadWrite, RandRW:
		if g.fioMix {
			write = g.fd.direction() == 1
		} else {
			write = g.rng.Float64() >= g.readShare
		}
		if g.Steer != nil {
			write = g.Steer(write)
		}
		if g.fioMix {
			g.fd.issued(b2i(write))
		}
	case Trim, RandTrim, TrimWrite, RandTrimWrite:
		trim = true
	}
	d := 0
	if write || trim {
		d = 1 // trims take the write sizes
	}
	var random bool
	var size uint64
	sd := d // the direction whose sizes the I/O takes
	if g.seqRand && !g.zoned {
		// bs_is_seq_rand: the read sizes for sequential I/O, the write
		// sizes for random, whatever the direction.
		random = g.rw.Random() && g.pickRandom(d, trim)
		sd = b2i(random)
	}
	// fio draws a size after the offset, again while it does not fit
	// before the region's end: the offset is placed for the smallest size
	// first (fioSize), the size drawn once it is known (drawSize).
	fioSize := g.fioSize[sd] && !trim && !g.zoned && g.sizeLo[sd] <= g.span
	if fioSize {
		size = g.sizeLo[sd]
	} else {
		size = g.size(sd)
	}
	if size > g.span {
		size = g.span
	}
	var off uint64
	if g.zoned {
		return g.nextZoned(size, d, write, trim)
	}
	if !g.seqRand {
		random = g.rw.Random() && g.pickRandom(d, trim)
	}
	dir := d
	if trim {
		dir = 2
	}
	n := g.issues[dir]
	g.issues[dir]++
	if random && g.seq != nil {
		// fio's sequence: the list's entry for the direction's count of
		// I/Os so far, moved on a list's length per repetition with the
		// stride; past the region's end the strided sequence has run out.
		b := g.seq[n%uint64(len(g.seq))]
		if g.seqStride {
			b += n / uint64(len(g.seq)) * uint64(len(g.seq))
		}
		if b >= g.nBlk {
			return IO{IOFlags: IOFlags{End: true}}
		}
		if off = b * g.unit; off+size > g.span {
			off = (g.span - size) / g.unit * g.unit
		}
		size = g.drawSize(fioSize, sd, off, size)
		g.pos[d] = off + size
	} else if random {
		if g.fo != nil {
			off = g.fo.block(d) * g.fo.ba[d]
			g.fileReset()
		} else {
			off = g.randomBlock() * g.unit
		}
		if off+size > g.span {
			if g.dropUnfit && off+size > g.logical {
				// fio's zipf, pareto and normal count the part block
				// at the region's end as a range: an offset there
				// does not fit, and fio marks the file done. The I/O
				// was never issued: its counts undone, as below (fio's
				// io_issues, which time rw=randrw's next direction
				// draw, count only I/Os issued).
				g.issues[dir]--
				if g.fioMix && (g.rw == ReadWrite || g.rw == RandRW) {
					g.fd.issues[d]--
				}
				return IO{IOFlags: IOFlags{End: true}}
			}
			if g.fileDone(off, size, fioSize) {
				// The I/O was never issued: its counts undone, the
				// next loop's first I/O drawn afresh, or the end.
				g.issues[dir]--
				if g.fioMix && (g.rw == ReadWrite || g.rw == RandRW) {
					g.fd.issues[d]--
				}
				return g.loopOrEnd()
			}
			if !g.mapped() {
				off = (g.span - size) / g.unit * g.unit
			} else if fioSize {
				// Kept past the region's rounded end: fio draws
				// the size to fit before the region's own end
				// (fileDone found the smallest fits).
				size = g.fd.size(sd, g.fioSplit[sd], g.sizeLo[sd], g.sizeHi[sd], g.logical-off)
				fioSize = false
			}
		}
		size = g.drawSize(fioSize, sd, off, size)
		if g.fo != nil {
			size = g.fo.mark(d, off, size)
		}
		g.pos[d] = off + size
	} else if g.identical && g.sinceRand != 1 {
		// rw_sequencer=identical: the offset of the last I/O again,
		// between the random ones (an N-th I/O that percentage_random
		// kept sequential continues sequentially, as in fio).
		off = min(g.last[d], (g.span-size)/g.unit*g.unit)
		size = g.drawSize(fioSize, sd, off, size)
		g.pos[d] = off + size
	} else if g.rw.Random() && g.fo != nil && !g.fo.timeBased && g.pos[d]+size > g.span && g.pos[d] < g.fileEnd {
		// A random pattern's sequential I/O that does not fit before
		// the region's end, at an offset inside the file: fio takes
		// the offset, and issues the I/O there, past the region, where
		// it starts in the region and fits in the file (a region
		// smaller than its file); else it finds the file done.
		off = g.pos[d]
		if off >= g.logical || fioSize && off+size > g.logical || off+size > g.fileEnd {
			g.issues[dir]--
			if g.fioMix && (g.rw == ReadWrite || g.rw == RandRW) {
				g.fd.issues[d]--
			}
			return g.loopOrEnd()
		}
		if fioSize {
			size = g.fd.size(sd, g.fioSplit[sd], g.sizeLo[sd], g.sizeHi[sd], g.logical-off)
		}
		g.pos[d] = off + size
	} else if g.rw.Random() && g.fo != nil && g.pos[d]+size > g.span {
		// A random pattern's sequential I/O past the region's end: fio
		// takes a random block instead, leaving it out of its map.
		off = g.fo.block(d) * g.fo.ba[d]
		g.fileReset()
		if off+size > g.span {
			off = (g.span - size) / g.unit * g.unit
		}
		size = g.drawSize(fioSize, sd, off, size)
		g.pos[d] = off + size
	} else {
		if room := g.span - min(g.pos[d], g.span); trim && size > room && g.sizeLo[sd] > 0 && g.sizeLo[sd] <= room {
			// fio draws a size again while it does not fit before the
			// region's end, so a pass of trims (trimwrite's too) ends
			// at the region's end.
			size = g.fitSize(sd, room)
		}
		if g.pos[d]+size > g.span {
			if g.seqFiles {
				// fio finds the file done: no I/O issued, its
				// counts undone (FileGen goes on with the others).
				g.issues[dir]--
				if g.fioMix {
					g.fd.issues[d]--
				}
				g.doneFile = true
				return IO{IOFlags: IOFlags{End: true}}
			}
			if g.mixLoops {
				g.pos = [2]uint64{}
				if g.fd != nil {
					g.fd.newLoop()
				}
				if g.PassEnds {
					return IO{IOFlags: IOFlags{End: true, PassEnd: true}}
				}
				return g.Next()
			}
			if g.seqEnds && !g.more {
				// The region's end ends fio's loop; after the last,
				// without io_size, the job: where the region is no
				// whole number of I/Os (bs=4k,12k size=256k writes
				// 21 blocks of 12k, fio's 252k), the I/O that would
				// start over at the region's start is not issued.
				if g.seqWraps++; g.seqWraps >= g.loops {
					g.issues[dir]--
					return IO{IOFlags: IOFlags{End: true}}
				}
			}
			if g.seqLoops && g.fd != nil {
				g.fd.newLoop()
			}
			g.pos[d] = 0
			if g.rwBack && !g.rw.Random() {
				g.pos[d] = (g.span - size) / g.unit * g.unit
			}
		}
		off = g.pos[d]
		size = g.drawSize(fioSize, sd, off, size)
		g.pos[d] += size
		switch {
		case g.rw.Random():
		case g.rwBack:
			// rw=read:-N: the next I/O starts N bytes before this one's
			// end; below the region's start it wraps to N bytes before
			// the region's end, as fio's does (read:-8k with 4k blocks
			// reads 0, then end-8k: fio never reads the last block), and
			// a pass (the region's span in bytes) ends with the next one
			// starting over at the start.
			if g.backDone[d] += size; g.backDone[d] >= g.span {
				g.backDone[d], g.pos[d] = 0, 0
			} else if g.pos[d] >= g.rwMod {
				g.pos[d] -= g.rwMod
			} else {
				g.pos[d] = g.span - min(g.rwMod, g.span)
			}
		default:
			g.pos[d] += g.rwMod // rw=read:N skips N bytes
		}
	}
	g.last[d] = off
	return IO{Offset: g.base + off, Length: size, IOFlags: IOFlags{Write: write, Trim: trim}}
}

// nextPlain is Next for a plain generator: Next's steps for a random I/O,
// in Next's order, with the direction, the size (bs, at most the region)
// and the choice of a random offset known beforehand.
func (g *Generator) nextPlain() IO {
	fo := g.fo
	if !fo.timeBased && fo.passOver() {
		g.endDraws()
		fo.restart()
	}
	d, size := b2i(g.plainWrite), g.plainSize
	g.issues[d]++
	off := fo.block(d) * fo.ba[d]
	g.fileReset()
	if off+size > g.span {
		if g.dropUnfit && off+size > g.logical {
			g.issues[d]-- // as Next's, which see
			return IO{IOFlags: IOFlags{End: true}}
		}
		if g.fileDone(off, size, false) {
			g.issues[d]-- // as Next's, which see
			return g.loopOrEnd()
		}
		if !g.mapped() {
			off = (g.span - size) / g.unit * g.unit
		}
	}
	size = fo.mark(d, off, size)
	g.pos[d] = off + size
	g.last[d] = off
	return IO{Offset: g.base + off, Length: size, IOFlags: IOFlags{Write: g.plainWrite}}
}

// fileDone reports whether fio 3.33 finds the file done at the random
// offset off (in the region) of an I/O of size bytes (fioSize: the
// smallest of a drawn size), which lies past the region's end. fio's map
// (and LFSR) counts in the job's smallest block size over the directions,
// while a direction's draw and its mark count in its own: with reads of
// 4k and writes of 8k over 64k, the map holds 16 blocks, the writes
// reach its first 8 only, and a write whose draw lands on a block done
// with none free after it below the 8th takes the 8th free block, at
// 64k. fio fails an offset at or past the region's end (io_size), a
// drawn size whose smallest does not fit before it, and an I/O of one
// size past the file's end: the file is done, and no I/O issued. Only a
// map's or an LFSR's offsets get there (a plain draw stays below the
// last block that fits; see mapped). Where the I/O starts inside the
// region and fits in the file but ends past the region (a region smaller
// than its file: size= below the file's size, or offset= inside it), fio
// issues it there, whole, writing past the region, and so does Next.
func (g *Generator) fileDone(off, size uint64, fioSize bool) bool {
	if !g.mapped() {
		return false
	}
	switch {
	case off >= g.logical:
		return true
	case fioSize:
		return off+size > g.logical
	}
	return off+size > g.fileEnd
}

// mapped reports whether g's random offsets come through fio's random
// map or its LFSR, whose blocks (counted in the job's smallest block
// size) may put an I/O of a larger size past the region's end: fio
// issues such an I/O where it starts in the region and fits in the file
// (fileDone is the other case), not moved back.
func (g *Generator) mapped() bool {
	return g.fo != nil && (g.fo.amap != nil || g.fo.lfsr != nil)
}

// loopOrEnd is the I/O after fio found the file done (fileDone): with one
// file, the first of the next loop where another follows (loops left,
// io_size above the bytes done: the runner stops at them, or time_based),
// the states seeded afresh and the map cleared; else IO{End: true}, the
// file's I/O over (FileGen goes on with its other files).
//
// A loop that ends before its first I/O (an LFSR whose first block lies
// past the region) ends the file's I/O too: the loops after it would
// draw alike (fio's time_based job spends its runtime so, issuing
// nothing).
//
// With PassEnds (a verifying job's passes, the runner deciding whether
// another follows), a loop that issued I/O ends with IO{End: true,
// PassEnd: true}, the next loop's states seeded for the next call.
func (g *Generator) loopOrEnd() IO {
	n := g.issues[0] + g.issues[1] + g.issues[2]
	if g.PassEnds && !g.multi && n != g.loopStart && !g.fo.timeBased {
		g.loopStart = n
		g.fo.newLoop()
		return IO{IOFlags: IOFlags{End: true, PassEnd: true}}
	}
	if g.multi || n == g.loopStart || !g.fo.timeBased && !g.more && g.fo.loopEnds+1 >= g.loops {
		g.doneFile = true
		return IO{IOFlags: IOFlags{End: true}}
	}
	g.loopStart = n
	g.fo.newLoop()
	return g.Next()
}

// tryDone makes the draws fio makes when it tries a file whose random
// map is full, in turn with its other files, and finds it done: the
// direction's (rw, randrw), and one offset's from the thread's state,
// which lands on a block done. Only a file of random offsets with a map,
// at random_generator=tausworthe or tausworthe64, and with every I/O at
// a random offset, makes them (fio's other cases are not followed).
func (g *Generator) tryDone() {
	if g.fo == nil || g.fo.amap == nil || g.fo.lfsr != nil || g.rwMod > 1 || g.pctRandom[0] < 100 || g.pctRandom[1] < 100 {
		return
	}
	if g.fioMix && (g.rw == ReadWrite || g.rw == RandRW) {
		g.fd.direction()
	}
	g.fo.rnd.next()
}

// endDraws makes the draws of the I/O fio tries when the file's pass is
// over, which fails and ends the loop: the direction's (rw, randrw) and,
// through a random map, one offset's. With randrepeat the next loop
// seeds the states afresh and they make no difference; with
// randrepeat=0 the states go on past them. One of several files makes
// them when FileGen tries it (tryDone).
func (g *Generator) endDraws() {
	if g.fo.repeat || g.multi {
		return
	}
	if g.fioMix && (g.rw == ReadWrite || g.rw == RandRW) {
		g.fd.direction()
	}
	if g.fo.amap != nil {
		g.fo.rnd.next()
	}
}

// mapless reports whether every I/O of g lands at a random offset with
// no random map to fill (norandommap, or a skewed random_distribution):
// fio never finds such a file done, so its share of the pass ends none of
// its turns (with mixed block sizes the files' shares come out uneven).
func (g *Generator) mapless() bool {
	return g.fo != nil && g.fo.amap == nil && g.fo.lfsr == nil && g.rw.Random() && g.rwMod <= 1 &&
		g.pctRandom[0] >= 100 && g.pctRandom[1] >= 100
}

// MixLoops reports whether g ends a pass where a direction of its rw=rw
// finds the region's end, as fio's loop (see PassEnds).
func (g *Generator) MixLoops() bool { return g.mixLoops }

// fileReset starts both directions' sequential positions over where the
// random offsets started a pass over within a time_based job or with a
// skewed file_service_type, as fio's fio_file_reset does.
func (g *Generator) fileReset() {
	if g.fo.reset {
		g.fo.reset = false
		g.pos = [2]uint64{}
	}
}

// seqAtEnd reports whether a sequential read or write (no skips, not
// backwards) has reached its region's end, where fio's next offset fails.
func (g *Generator) seqAtEnd() bool {
	switch {
	case g.rwMod != 0 || g.rwBack || g.zoned:
		return false
	case g.rw == Read:
		return g.pos[0] >= g.span
	case g.rw == Write:
		return g.pos[1] >= g.span
	}
	return false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// drawSize returns the size of an I/O at off: with fio's sizes (fioSize)
// fio's draw for direction sd, fitting before the region's end; else size.
func (g *Generator) drawSize(fioSize bool, sd int, off, size uint64) uint64 {
	if !fioSize {
		return size
	}
	return g.fd.size(sd, g.fioSplit[sd], g.sizeLo[sd], g.sizeHi[sd], g.span-off)
}

// nextZoned is Next for zonemode=strided: a random or the next sequential
// offset within the current zone, moving to the next zone (zonerange +
// zoneskip on, past the region's size as fio's zones go, wrapping at the
// target's end) after zonesize bytes.
func (g *Generator) nextZoned(size uint64, d int, write, trim bool) IO {
	zone := min(g.zoneRange, g.zoneEnd-min(g.zoneStart, g.zoneEnd))
	size = min(size, zone)
	var off uint64
	if g.rw.Random() {
		blocks := max((zone-size)/g.unit+1, 1)
		off = g.rng.Uint64N(blocks) * g.unit
	} else {
		if g.pos[d]+size > zone {
			g.pos[d] = 0
		}
		off = g.pos[d]
		g.pos[d] += size
	}
	io := IO{Offset: g.base + g.zoneStart + off, Length: size, IOFlags: IOFlags{Write: write, Trim: trim}}
	g.zoneDone += size
	if g.zoneDone >= g.zoneSize {
		g.zoneDone, g.pos = 0, [2]uint64{}
		g.zoneStart += g.zoneRange + g.zoneSkip
		if g.zoneStart+size > g.zoneEnd {
			g.zoneStart = 0
		}
	}
	return io
}

// pickRandom reports whether a random pattern's next I/O goes to a random
// offset: every rw=...:N-th I/O with N, and percentage_random of those.
// With a whole percentage (but for trims) the share is drawn as fio 3.33
// draws it (fioDraws.random).
func (g *Generator) pickRandom(d int, trim bool) bool {
	if g.rwMod > 1 {
		first := g.sinceRand == 0
		g.sinceRand = (g.sinceRand + 1) % g.rwMod
		if !first {
			return false
		}
	}
	switch p := g.pctRandom[d]; {
	case p >= 100:
		return true
	case g.fioPct[d] && !trim:
		return g.fd.random(d, uint64(p))
	}
	return g.rng.Float64()*100 < g.pctRandom[d]
}

func (g *Generator) size(d int) uint64 {
	if r := g.bsRange[d]; r[1] > 0 {
		return r[0] * (1 + g.rng.Uint64N(r[1]/r[0]))
	}
	s := g.split[d]
	if len(s) == 0 {
		return g.bs[d]
	}
	p := g.rng.Float64() * 100
	for _, e := range s {
		if p < e.Pct {
			return e.Size
		}
		p -= e.Pct
	}
	return s[len(s)-1].Size
}

// fitSize draws direction d's size again until it fits in room (which
// holds the smallest), as fio draws again a size that does not fit; after
// 64 draws, the most whole smallest sizes that fit.
func (g *Generator) fitSize(d int, room uint64) uint64 {
	for range 64 {
		if s := g.size(d); s <= room {
			return s
		}
	}
	return room / g.sizeLo[d] * g.sizeLo[d]
}

func (g *Generator) randomBlock() uint64 {
	n := g.nBlk
	switch g.dist {
	case "zipf":
		return g.scatter(g.zipf.next())
	case "pareto":
		return g.scatter(uint64(float64(n-1) * math.Pow(g.rng.Float64(), g.pow)))
	case "normal":
		return g.scatter(g.normal())
	case "zoned":
		p := g.rng.Float64() * 100
		start := 0.0
		for i, z := range g.zones {
			if p < z.AccessPct || i == len(g.zones)-1 {
				lo := uint64(start / 100 * float64(n))
				hi := max(uint64((start+z.SizePct)/100*float64(n)), lo+1)
				return min(lo+g.rng.Uint64N(hi-lo), n-1)
			}
			p -= z.AccessPct
			start += z.SizePct
		}
	case "zoned_abs":
		p := g.rng.Float64() * 100
		var start uint64
		for i, z := range g.zones {
			if p < z.AccessPct || i == len(g.zones)-1 {
				lo := start / g.unit
				hi := max((start+z.Size)/g.unit, lo+1)
				return min(lo+g.rng.Uint64N(hi-lo), n-1)
			}
			p -= z.AccessPct
			start += z.Size
		}
	}
	return g.rng.Uint64N(n)
}

// goldenRatio64 is 2^64 divided by the golden ratio, the multiplier of
// Fibonacci hashing (fio's __hash_u64).
const goldenRatio64 = 0x61c8864680b583eb

// scatter places value v of a skewed distribution (a zipf rank, hottest
// first; a pareto or normal draw) as fio does: v times goldenRatio64,
// plus g.off, modulo the blocks, in 64-bit arithmetic. Neighbouring values
// land far apart (rank k+1 lies goldenRatio64 mod n blocks after rank k),
// so the hot set is spread over the region rather than packed at one
// place, and a device or cache sees fio's pattern.
func (g *Generator) scatter(v uint64) uint64 { return (v*goldenRatio64 + g.off) % g.nBlk }

// normal draws fio's normal value: the mean (rounded up) of 12 uniform
// draws over [0, n], plus, with a deviation, a uniform draw over
// [-spread/2, spread/2), halved until the sum stays below n. The sum may
// wrap below zero, as fio's unsigned one does.
func (g *Generator) normal() uint64 {
	n := g.nBlk
	var sum uint64
	for range 12 {
		sum += g.rng.Uint64N(n + 1)
	}
	sum = (sum + 11) / 12
	if g.spread > 0 {
		dev := int64(g.rng.Uint64N(g.spread)) - int64(g.spread/2)
		for dev+int64(sum) >= int64(n) {
			dev /= 2
		}
		sum = uint64(int64(sum) + dev)
	}
	return sum
}

// permutation visits every value in [0, n) once per period, in a scrambled
// order: a full-period LCG modulo the next power of two (multiplier ≡ 1
// mod 4, odd increment), skipping values >= n. It needs no memory per
// block, so a 10 TB device costs nothing.
type permutation struct {
	n, mask, x, a, c uint64
}

func newPermutation(n uint64, rng *rand.Rand) permutation {
	m := uint64(1) << bits.Len64(max(n-1, 1))
	return permutation{n: n, mask: m - 1, x: rng.Uint64() & (m - 1),
		a: (rng.Uint64()&^3 | 1) + 4, c: rng.Uint64() | 1}
}

func (p *permutation) next() uint64 {
	for {
		p.x = (p.a*p.x + p.c) & p.mask
		if p.x < p.n {
			return p.x
		}
	}
}

// zipfGen draws ranks 0..n-1 with P(k) ∝ 1/(k+1)^θ: Gray et al.'s method
// for θ < 1, rejection-inversion (math/rand/v2's Zipf) for θ > 1.
type zipfGen struct {
	rng                      *rand.Rand
	z                        *rand.Zipf
	n                        uint64
	theta, alpha, zetan, eta float64
	half                     float64
}

func newZipf(n uint64, theta float64, rng *rand.Rand) zipfGen {
	g := zipfGen{rng: rng, n: n, theta: theta}
	if theta > 1 {
		g.z = rand.NewZipf(rng, theta, 1, n-1)
		return g
	}
	zeta := func(k uint64) float64 {
		s := 0.0
		for i := uint64(1); i <= k; i++ {
			s += 1 / math.Pow(float64(i), theta)
		}
		return s
	}
	g.zetan = zeta(min(n, 1<<24))
	g.alpha = 1 / (1 - theta)
	g.eta = (1 - math.Pow(2/float64(n), 1-theta)) / (1 - zeta(2)/g.zetan)
	g.half = 1 + math.Pow(0.5, theta)
	return g
}

func (g *zipfGen) next() uint64 {
	if g.z != nil {
		return g.z.Uint64()
	}
	u := g.rng.Float64()
	uz := u * g.zetan
	switch {
	case uz < 1:
		return 0
	case uz < g.half:
		return 1
	}
	return min(uint64(float64(g.n)*math.Pow(g.eta*u-g.eta+1, g.alpha)), g.n-1)
}
