package runner

import (
	"encoding/binary"
	"math/rand/v2"

	"github.com/iobench/iobench/workloads"
)

// bufferFiller writes what a job's write buffers hold (fio's
// refill_buffers, zero_buffers, scramble_buffers, buffer_pattern,
// buffer_compress_percentage, dedupe_percentage). Jobs that verify fill
// their buffers with verify blocks instead.
type bufferFiller struct {
	opts    workloads.Buffers
	rng     *rand.Rand
	dedupe  []byte // the data dedupe_percentage repeats
	counter uint64 // scramble_buffers: changes per write
}

func newBufferFiller(j *workloads.Job, seed uint64) *bufferFiller {
	f := &bufferFiller{opts: j.Buffers, rng: rand.New(rand.NewPCG(seed, seed^0x6a09e667f3bcc909))}
	if f.opts.DedupePct > 0 {
		f.dedupe = make([]byte, j.MaxBS())
		f.random(f.dedupe)
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
func (f *bufferFiller) random(b []byte) {
	chunk := int(max(f.opts.CompressChunk, 1))
	zeros := int(float64(chunk) * f.opts.CompressPct / 100)
	for c := 0; c < len(b); c += chunk {
		part := b[c:min(c+chunk, len(b))]
		z := min(zeros, len(part))
		clear(part[:z])
		i := z
		for ; i+8 <= len(part); i += 8 {
			binary.LittleEndian.PutUint64(part[i:], f.rng.Uint64())
		}
		for ; i < len(part); i++ {
			part[i] = byte(f.rng.Uint32())
		}
	}
}

// beforeWrite prepares b for the next write.
func (f *bufferFiller) beforeWrite(b []byte) {
	o := &f.opts
	switch {
	case f.fixed():
		return
	case o.DedupePct > 0:
		if f.rng.Float64()*100 < o.DedupePct {
			copy(b, f.dedupe)
			return
		}
		f.random(b)
	case o.Refill:
		f.random(b)
	case o.Scramble:
		// A counter in the last 8 bytes of every 512: cheap, and no two
		// writes carry the same data.
		f.counter++
		for i := 504; i+8 <= len(b); i += 512 {
			binary.LittleEndian.PutUint64(b[i:], f.counter^uint64(i)<<48)
		}
	}
}
