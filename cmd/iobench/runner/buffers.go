package runner

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"

	"github.com/iobench/iobench/workloads"
)

// bufferFiller writes what a job's write buffers hold (fio's
// refill_buffers, zero_buffers, scramble_buffers, buffer_pattern,
// buffer_compress_percentage, dedupe_percentage). Jobs that verify fill
// their buffers with verify blocks instead.
type bufferFiller struct {
	opts    workloads.Buffers
	rng     *rand.Rand
	counter uint64 // scramble_buffers: changes per write
	// dedupe_percentage: each fresh write's data comes from a seed of
	// its own (seeded, over pcg), so that a duplicate regenerates it:
	// the last fresh write's (dedupe_mode=repeat, as fio repeats its
	// previous unique write) or one of the first wsCap (working_set:
	// dedupe_working_set_percentage of the job's blocks).
	pcg    *rand.PCG
	seeded *rand.Rand
	set    *dedupeSet
}

// dedupeSet is where a job's duplicates come from: the seed of its last
// fresh write and its working set. With dedupe_global the jobs of a run
// that set it share one (each adds its working set's size to the cap),
// so that one job's writes repeat another's, as fio spreads the buffers
// among them.
type dedupeSet struct {
	mu       sync.Mutex
	lastSeed uint64
	haveLast bool
	ws       []uint64
	wsCap    int
}

// globalDedupe is the run's shared dedupeSet (dedupe_global), made
// afresh by each run (Execute).
var globalDedupe struct {
	mu  sync.Mutex
	set *dedupeSet
}

// resetGlobalDedupe starts a run's shared dedupe set.
func resetGlobalDedupe() {
	globalDedupe.mu.Lock()
	globalDedupe.set = &dedupeSet{}
	globalDedupe.mu.Unlock()
}

// newBufferFiller returns the filler of j's write buffers; span is the
// bytes of the job's region, which dedupe_working_set_percentage is a
// share of (0 where there is no working set).
func newBufferFiller(j *workloads.Job, seed, span uint64) *bufferFiller {
	f := &bufferFiller{opts: j.Buffers, rng: rand.New(rand.NewPCG(seed, seed^0x6a09e667f3bcc909))}
	if f.opts.DedupePct > 0 {
		f.pcg = rand.NewPCG(0, 0)
		f.seeded = rand.New(f.pcg)
		f.set = &dedupeSet{}
		if f.opts.DedupeGlobal && span > 0 {
			globalDedupe.mu.Lock()
			if globalDedupe.set == nil {
				globalDedupe.set = &dedupeSet{}
			}
			f.set = globalDedupe.set
			globalDedupe.mu.Unlock()
		}
		if f.opts.DedupeWorkingSet {
			f.set.mu.Lock()
			f.set.wsCap += max(int(float64(span/max(j.MinBS(), 1))*f.opts.DedupeWorkingSetPct/100), 1)
			f.set.mu.Unlock()
		}
	}
	return f
}

// fixed reports whether buffers hold the same data every write (zeros or
// a pattern), so that they are filled once.
func (f *bufferFiller) fixed() bool { return f.opts.Zero || len(f.opts.Pattern) > 0 }

// initial fills a buffer before its first use.
func (f *bufferFiller) initial(b []byte) {
	switch {
	case f.opts.Zero:
		clear(b)
	case len(f.opts.Pattern) > 0:
		for i := 0; i < len(b); i += copy(b[i:], f.opts.Pattern) {
		}
	default:
		f.random(b)
	}
}

// random fills b with random data, compressible by buffer_compress_percentage
// (the start of each chunk zero, the rest random).
func (f *bufferFiller) random(b []byte) { f.randomFrom(b, f.rng) }

// fillSeed fills b as random does, from seed: the same seed gives the
// same data.
func (f *bufferFiller) fillSeed(b []byte, seed uint64) {
	f.pcg.Seed(seed, 0x510e527fade682d1)
	f.randomFrom(b, f.seeded)
}

func (f *bufferFiller) randomFrom(b []byte, rng *rand.Rand) {
	chunk := int(max(f.opts.CompressChunk, 1))
	zeros := int(float64(chunk) * f.opts.CompressPct / 100)
	for c := 0; c < len(b); c += chunk {
		part := b[c:min(c+chunk, len(b))]
		z := min(zeros, len(part))
		clear(part[:z])
		i := z
		for ; i+8 <= len(part); i += 8 {
			binary.LittleEndian.PutUint64(part[i:], rng.Uint64())
		}
		for ; i < len(part); i++ {
			part[i] = byte(rng.Uint32())
		}
	}
}

// beforeWrite prepares b for the next write, at offset.
func (f *bufferFiller) beforeWrite(b []byte, offset uint64) {
	o := &f.opts
	switch {
	case f.fixed():
		return
	case o.DedupePct > 0:
		if f.rng.Float64()*100 < o.DedupePct {
			if seed, ok := f.set.duplicate(o.DedupeWorkingSet, f.rng); ok {
				f.fillSeed(b, seed)
				return
			}
		}
		seed := f.rng.Uint64()
		f.fillSeed(b, seed)
		f.set.fresh(seed)
	case o.Refill:
		f.random(b)
	case o.Scramble:
		f.counter++
		scramble(b, offset, f.counter)
	}
}

// Write buffers hold random data by default, as fio's do: devices that
// compress, deduplicate or thin-provision give other numbers on zeros, so
// a comparison with fio must write what fio writes. Each request's buffer
// is filled once, when the job starts, and each write then stamps its
// offset and a sequence number into every 4 KiB block (as fio's
// scramble_buffers does per 512-byte sector: 4 KiB, the block size of
// deduplicating devices, costs an eighth of the stores), so no two writes
// carry the same 4 KiB block.

// fillRandom fills buf with pseudo-random bytes from seed (xorshift64:
// about a byte per cycle; run once per buffer per job).
func fillRandom(buf []byte, seed uint64) {
	x := seed*0x9e3779b97f4a7c15 | 1
	i := 0
	for ; i+8 <= len(buf); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(buf[i:], x)
	}
	for ; i < len(buf); i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		buf[i] = byte(x)
	}
}

// scrambleBytes is the stride of scramble's stamps.
const scrambleBytes = 4096

// scramble makes the random buffer buf, about to be written at offset as
// write number seq, unlike any other write: the first 8 bytes of each
// 4 KiB block become the block's offset mixed with seq. It costs one store
// per block and allocates nothing.
func scramble(buf []byte, offset, seq uint64) {
	stamp := seq * 0x9e3779b97f4a7c15
	for i := 0; i+8 <= len(buf); i += scrambleBytes {
		binary.LittleEndian.PutUint64(buf[i:], (offset+uint64(i))^stamp)
	}
}

// duplicate returns the seed of a duplicate's data: one of the working
// set's (workingSet) or the last fresh write's; ok is false before there
// is one.
func (d *dedupeSet) duplicate(workingSet bool, rng *rand.Rand) (seed uint64, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case workingSet && len(d.ws) > 0:
		return d.ws[rng.IntN(len(d.ws))], true
	case !workingSet && d.haveLast:
		return d.lastSeed, true
	}
	return 0, false
}

// fresh records the seed of a fresh write's data.
func (d *dedupeSet) fresh(seed uint64) {
	d.mu.Lock()
	d.lastSeed, d.haveLast = seed, true
	if len(d.ws) < d.wsCap {
		d.ws = append(d.ws, seed)
	}
	d.mu.Unlock()
}
