package engine_test

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/mapcache"
)

var stressFor = flag.Duration("stress", 2*time.Second, "how long TestStress runs (make test uses the default; try -stress=5m)")

// multiMapper sends each file to its own mapper: "ip-N" files to a striped
// in-place mapper, "oop-N" files to their own out-of-place allocator over
// a separate part of the device.
type multiMapper struct {
	byName map[string]engine.Mapper
}

func (m *multiMapper) of(f *engine.File) engine.Mapper { return m.byName[f.Name()] }

func (m *multiMapper) OpenFile(f *engine.File) (uint64, error) {
	return m.of(f).(engine.Opener).OpenFile(f)
}
func (m *multiMapper) MapRead(r *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	return m.of(r.File).MapRead(r, dst)
}
func (m *multiMapper) MapWrite(r *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	return m.of(r.File).MapWrite(r, dst)
}
func (m *multiMapper) EndWrite(w *engine.WriteEnd, freed []mapcache.Mapping) ([]mapcache.Mapping, error) {
	return m.of(w.File).EndWrite(w, freed)
}

// Free hands space back to the allocator that owns it.
func (m *multiMapper) Free(freed []mapcache.Mapping) {
	for _, mp := range m.byName {
		if c, ok := mp.(*cowMapper); ok {
			var mine []mapcache.Mapping
			for _, f := range freed {
				if c.owns(f.Addr / bs) {
					mine = append(mine, f)
				}
			}
			if len(mine) > 0 {
				c.Free(mine)
			}
		}
	}
}

// TestStress runs readers, in-place and out-of-place writers, and cache
// invalidations on several files over one device, checking every block
// read: never another block's data, never torn, never older than a
// generation already seen. It runs for -stress (2s by default), once
// reading each piece alone and once reading through gaps
// (Config.ReadGap), whose merged reads take blocks being written in place
// and out of place as gaps and pieces.
func TestStress(t *testing.T) {
	for _, gap := range []int{0, 2 * bs} {
		t.Run(fmt.Sprintf("ReadGap=%d", gap), func(t *testing.T) { stress(t, gap) })
	}
}

func stress(t *testing.T, readGap int) {
	const ipFiles, oopFiles, fileBlocks = 2, 2, 128
	// Device layout: in-place files at [0, 256) blocks; each out-of-place
	// file gets 1024 blocks of its own after that.
	devBlocks := ipFiles*fileBlocks + oopFiles*1024
	mm := &multiMapper{byName: map[string]engine.Mapper{}}
	var names []string
	for i := range ipFiles {
		n := fmt.Sprintf("ip-%d", i)
		mm.byName[n] = &offsetMapper{inner: newStripeMapper(fileBlocks, bs, uint64(i)), base: uint64(i * fileBlocks * bs)}
		names = append(names, n)
	}
	for i := range oopFiles {
		n := fmt.Sprintf("oop-%d", i)
		c := newCOWMapperRange(uint64(ipFiles*fileBlocks+i*1024), 1024, fileBlocks, bs)
		mm.byName[n] = c
		names = append(names, n)
	}
	e, _ := newEngine(t, int64(devBlocks)*bs, mm, func(c *engine.Config) { c.Queues = 2; c.QueueDepth = 32; c.ReadGap = readGap })
	files := make([]*engine.File, len(names))
	for i, n := range names {
		f, err := e.Open(n, engine.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		files[i] = f
		b := e.Buffer(fileBlocks * bs)
		for blk := range uint64(fileBlocks) {
			stamp(b[blk*bs:(blk+1)*bs], uint64(i)<<32|blk, 0)
		}
		if _, err := f.WriteAt(b, 0); err != nil {
			t.Fatal(err)
		}
		e.PutBuffer(b)
	}
	const writers, readers, invalidators = 4, 4, 1
	deadline := time.Now().Add(*stressFor)
	var ops, mismatches, tornInPlace atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	report := func(err error) {
		mismatches.Add(1)
		select {
		case errc <- err:
		default:
		}
	}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 11))
			buf := e.Buffer(bs)
			defer e.PutBuffer(buf)
			gens := make([][]uint64, len(files))
			for i := range gens {
				gens[i] = make([]uint64, fileBlocks)
			}
			for time.Now().Before(deadline) {
				fi := rng.IntN(len(files))
				blk := uint64(rng.IntN(fileBlocks/writers)*writers + w) // blocks owned by this writer
				gens[fi][blk]++
				stamp(buf, uint64(fi)<<32|blk, gens[fi][blk])
				if _, err := files[fi].WriteAt(buf, int64(blk*bs)); err != nil {
					report(fmt.Errorf("write %s block %d: %w", names[fi], blk, err))
					return
				}
				ops.Add(1)
			}
		}()
	}
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 12))
			buf := e.Buffer(16 * bs)
			defer e.PutBuffer(buf)
			seen := make([][]uint64, len(files))
			for i := range seen {
				seen[i] = make([]uint64, fileBlocks)
			}
			for time.Now().Before(deadline) {
				fi := rng.IntN(len(files))
				n := 1 + rng.IntN(16)
				first := rng.IntN(fileBlocks - n + 1)
				if _, err := files[fi].ReadAt(buf[:n*bs], int64(first*bs)); err != nil {
					report(fmt.Errorf("read %s: %w", names[fi], err))
					return
				}
				for i := range n {
					blk := uint64(first + i)
					b := buf[i*bs : (i+1)*bs]
					gen, err := checkStamp(b, uint64(fi)<<32|blk)
					if err != nil && fi < ipFiles && tornBetweenGenerations(b, uint64(fi)<<32|blk) {
						// An in-place write overlapping a read of the same
						// block: the device gives no atomicity there (the
						// engine promises none), and the block mixes two
						// consecutive generations of itself. Out-of-place
						// files never tear: their reads target the old
						// location until the write commits.
						tornInPlace.Add(1)
						continue
					}
					if err != nil {
						report(fmt.Errorf("%s: %w", names[fi], err))
						return
					}
					if gen < seen[fi][blk] {
						report(fmt.Errorf("%s block %d went back from generation %d to %d", names[fi], blk, seen[fi][blk], gen))
						return
					}
					seen[fi][blk] = gen
				}
				ops.Add(1)
			}
		}()
	}
	for range invalidators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(99, 13))
			for time.Now().Before(deadline) {
				f := files[rng.IntN(len(files))]
				off := uint64(rng.IntN(fileBlocks)) * bs
				if err := f.Invalidate(off, uint64(1+rng.IntN(8))*bs); err != nil {
					report(err)
					return
				}
				ops.Add(1)
				time.Sleep(100 * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	close(errc)
	var msgs []string
	for err := range errc {
		msgs = append(msgs, err.Error())
	}
	s := e.Stats()
	t.Logf("stress: %d operations in %v (%d device I/Os, %d of them merged reads, %d out-of-place writes, %d mapper calls, %d stale retries), %d mismatches, %d torn in-place reads (a write of the block overlapped them)",
		ops.Load(), *stressFor, s.IOs, s.GapReads, s.OutOfPlace, s.MapperCalls, s.StaleRetries, mismatches.Load(), tornInPlace.Load())
	if len(msgs) > 0 {
		t.Fatalf("%d failures, first: %s", mismatches.Load(), strings.Join(msgs, "\n"))
	}
	if s.OutOfPlace == 0 || s.Reads == 0 {
		t.Fatal("stress did not exercise both paths")
	}
	if (s.GapReads > 0) != (readGap > 0) {
		t.Fatalf("ReadGap %d: %d merged reads", readGap, s.GapReads)
	}
	// Space is conserved: once the engine is closed (everything retired
	// has been freed), each allocator's free blocks and the file's data
	// blocks add up to its whole range. Dropped write replies and failed
	// writes must not leak space.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		c, ok := mm.byName[n].(*cowMapper)
		if !ok {
			continue
		}
		c.mu.Lock()
		free, data := len(c.free), len(c.data)
		c.mu.Unlock()
		if uint64(free+data) != c.count {
			t.Errorf("%s: %d free + %d data blocks, want %d: space leaked", n, free, data, c.count)
		}
	}
}

// offsetMapper shifts an inner mapper's device addresses by base.
type offsetMapper struct {
	engine.InPlace
	inner *stripeMapper
	base  uint64
}

func (m *offsetMapper) OpenFile(f *engine.File) (uint64, error) { return m.inner.OpenFile(f) }

func (m *offsetMapper) MapRead(r *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	n := len(dst)
	dst, err := m.inner.MapRead(r, dst)
	for i := n; i < len(dst); i++ {
		if dst[i].Type == mapcache.Mapped {
			dst[i].Addr += m.base
		}
	}
	return dst, err
}

// tornBetweenGenerations reports whether b, which failed checkStamp, is
// block blk's data mixed from two consecutive generations
// around the one its header names: what a read racing an in-place write of
// the same block may return. Any other content is corruption.
func tornBetweenGenerations(b []byte, blk uint64) bool {
	if binary.LittleEndian.Uint64(b[0:]) != blk {
		return false
	}
	gen := binary.LittleEndian.Uint64(b[8:])
	var cands [][]byte
	for _, g := range []uint64{gen - 1, gen, gen + 1} {
		if g > gen+1 { // gen 0 has no predecessor
			continue
		}
		c := make([]byte, len(b))
		stamp(c, blk, g)
		cands = append(cands, c)
	}
	// Byte by byte: a copy racing another is not atomic at any size.
	for i := 16; i < len(b); i++ {
		ok := false
		for _, c := range cands {
			if b[i] == c[i] {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// TestTornBetweenGenerations checks the stress test's allowance for
// in-place tears: two consecutive generations mixed pass, anything else
// does not.
func TestTornBetweenGenerations(t *testing.T) {
	const blk = 7<<32 | 3
	a, b := make([]byte, bs), make([]byte, bs)
	stamp(a, blk, 5)
	stamp(b, blk, 6)
	mixed := append(append([]byte(nil), a[:1000]...), b[1000:]...)
	if !tornBetweenGenerations(mixed, blk) {
		t.Fatal("a mix of generations 5 and 6 was not recognised")
	}
	c := make([]byte, bs)
	stamp(c, blk, 8)
	far := append(append([]byte(nil), a[:1000]...), c[1000:]...)
	if tornBetweenGenerations(far, blk) {
		t.Fatal("a mix of generations 5 and 8 passed")
	}
	bad := append([]byte(nil), mixed...)
	for i := 2000; i < 2008; i++ {
		bad[i] ^= 0x5a
	}
	if tornBetweenGenerations(bad, blk) {
		t.Fatal("corrupted bytes passed")
	}
	other := make([]byte, bs)
	stamp(other, blk+1, 5)
	if tornBetweenGenerations(other, blk) {
		t.Fatal("another block's data passed")
	}
}
