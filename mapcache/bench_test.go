package mapcache

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"
	"unsafe"
)

var sizes = []int{1_000, 100_000, 1_000_000, 10_000_000}

var (
	builtMu sync.Mutex
	built   = map[int]*Cache{}
)

// sequential returns a cache of n non-mergeable records (every other
// block), built once per size and shared by the benchmarks.
func sequential(n int) *Cache {
	builtMu.Lock()
	defer builtMu.Unlock()
	if c, ok := built[n]; ok {
		return c
	}
	c := New(bs)
	for i := range uint64(n) {
		c.Upsert(ReadFork, mapped(2*i, 1, 3*i))
	}
	built[n] = c
	return c
}

func probes(n int) []uint64 {
	rng := rand.New(rand.NewPCG(1, 2))
	p := make([]uint64, 1<<16)
	for i := range p {
		p[i] = rng.Uint64N(uint64(2*n)) * bs
	}
	return p
}

// BenchmarkLookup looks up random offsets (half of them in holes) at
// several sizes; BenchmarkFlatSearch is the reference: a binary search over
// a flat sorted []uint64 of the same starts.
func BenchmarkLookup(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := sequential(n)
			p := probes(n)
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				c.Lookup(ReadFork, p[i&(len(p)-1)], bs)
				i++
			}
		})
	}
}

// flatSearch is the reference: the index of the last start <= off.
func flatSearch(starts []uint64, off uint64) int {
	return sort.Search(len(starts), func(k int) bool { return starts[k] > off }) - 1
}

func flatStarts(n int) []uint64 {
	starts := make([]uint64, n)
	for i := range starts {
		starts[i] = uint64(2*i) * bs
	}
	return starts
}

// BenchmarkLookupVsFlat times Lookup and the flat reference in the same
// benchmark, alternating blocks of 64K probes, and reports the ratio of
// their times as x-flat (the target at 1M extents is at most 1.5).
func BenchmarkLookupVsFlat(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := sequential(n)
			starts := flatStarts(n)
			p := probes(n)
			var tree, flat time.Duration
			var sink int
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				for _, off := range p {
					if _, _, r := c.Lookup(ReadFork, off, bs); r == Hit {
						sink++
					}
				}
				t1 := time.Now()
				for _, off := range p {
					sink += flatSearch(starts, off)
				}
				tree, flat = tree+t1.Sub(t0), flat+time.Since(t1)
			}
			_ = sink
			b.ReportMetric(float64(tree)/float64(flat), "x-flat")
			b.ReportMetric(float64(tree.Nanoseconds())/float64(b.N*len(p)), "ns/lookup")
			b.ReportMetric(float64(flat.Nanoseconds())/float64(b.N*len(p)), "ns/flat")
		})
	}
}

// zero is 0, read at run time: offsets xor-ed with a result times zero
// depend on that result as far as the processor knows.
var zero uint64

// BenchmarkLookupPrefetched is what a Prefetcher saves a caller whose
// lookups do not overlap (the engine's, each one among the work of its
// I/O): random lookups chained by a false dependency, so each waits for
// the one before, without and with the offsets announced 16 lookups
// ahead. It reports ns per lookup of each and their ratio.
func BenchmarkLookupPrefetched(b *testing.B) {
	for _, n := range sizes[1:] {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := sequential(n)
			p := probes(n)
			const distance = 16
			pf := NewPrefetcher(distance)
			var serial, ahead time.Duration
			dep := uint64(0)
			for b.Loop() {
				t0 := time.Now()
				for _, off := range p {
					m, _, _ := c.Lookup(ReadFork, off^dep*zero, bs)
					dep = m.Addr
				}
				t1 := time.Now()
				for i := range p {
					pf.Ahead(c, p[(i+distance)&(len(p)-1)])
					m, _, _ := c.Lookup(ReadFork, p[i]^dep*zero, bs)
					dep = m.Addr
				}
				serial, ahead = serial+t1.Sub(t0), ahead+time.Since(t1)
			}
			lookups := float64(b.N * len(p))
			b.ReportMetric(float64(serial.Nanoseconds())/lookups, "ns/serial")
			b.ReportMetric(float64(ahead.Nanoseconds())/lookups, "ns/prefetched")
			b.ReportMetric(float64(ahead)/float64(serial), "x-serial")
		})
	}
}

func BenchmarkFlatSearch(b *testing.B) {
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			starts := flatStarts(n)
			p := probes(n)
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			var sink int
			for b.Loop() {
				off := p[i&(len(p)-1)]
				sink += flatSearch(starts, off)
				i++
			}
			_ = sink
		})
	}
}

func BenchmarkUpsertAppend(b *testing.B) {
	c := New(bs)
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		c.Upsert(ReadFork, mapped(2*i, 1, 3*i))
		i++
	}
}

func BenchmarkUpsertRandom(b *testing.B) {
	c := New(bs)
	rng := rand.New(rand.NewPCG(3, 4))
	b.ReportAllocs()
	for b.Loop() {
		x := rng.Uint64N(1 << 22)
		c.Upsert(ReadFork, mapped(2*x, 1, 3*x))
	}
}

func BenchmarkRemoveSplit(b *testing.B) {
	c := New(bs)
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		// Carve a block out of the middle of a fresh 3-block record.
		c.Upsert(ReadFork, mapped(4*i, 3, 5*i))
		c.Remove(ReadFork, (4*i+1)*bs, bs)
		i++
	}
}

func BenchmarkRemoveWhole(b *testing.B) {
	c := New(bs)
	b.ReportAllocs()
	i := uint64(0)
	for b.Loop() {
		c.Upsert(ReadFork, mapped(2*i, 1, 3*i))
		c.Remove(ReadFork, 2*i*bs, bs)
		i++
	}
}

// heapBytes returns the live heap after a collection.
func heapBytes() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkBuild1M builds 1M records sequentially and randomly and reports
// memory per record as B/extent (live heap, not the node estimate).
func BenchmarkBuild1M(b *testing.B) {
	const n = 1_000_000
	for _, order := range []string{"sequential", "random"} {
		b.Run(order, func(b *testing.B) {
			perm := rand.New(rand.NewPCG(7, 7)).Perm(n)
			var perExtent float64
			for b.Loop() {
				before := heapBytes()
				c := New(bs)
				for i := range n {
					x := uint64(i)
					if order == "random" {
						x = uint64(perm[i])
					}
					c.Upsert(ReadFork, mapped(2*x, 1, 3*x))
				}
				perExtent = float64(heapBytes()-before) / n
				runtime.KeepAlive(c)
			}
			b.ReportMetric(perExtent, "B/extent")
		})
	}
}

// BenchmarkMemory10M holds 10M records, built sequentially or in random
// order, and reports the live heap they take (the target is under 250
// MB). It builds once per -count, whatever -benchtime says.
func BenchmarkMemory10M(b *testing.B) {
	const n = 10_000_000
	for _, order := range []string{"sequential", "random"} {
		b.Run(order, func(b *testing.B) {
			var perm []int
			if order == "random" {
				perm = rand.New(rand.NewPCG(7, 7)).Perm(n)
			}
			before := heapBytes()
			c := New(bs)
			for i := range n {
				x := uint64(i)
				if perm != nil {
					x = uint64(perm[i])
				}
				c.Upsert(ReadFork, mapped(2*x, 1, 3*x))
			}
			held := heapBytes() - before
			runtime.KeepAlive(perm) // not part of what the cache holds
			for b.Loop() {
			}
			runtime.KeepAlive(c)
			b.ReportMetric(float64(held)/1e6, "MB")
			b.ReportMetric(float64(held)/n, "B/extent")
		})
	}
}

// BenchmarkMemoryLatency is the machine's side of a lookup's cost: a chase
// of dependent loads through a random cycle of 64-byte lines in 1 to 64
// MiB (on huge pages where the kernel gives them, as a large tree's nodes
// are), ns per load. A lookup in a million-extent tree needs the leaf and
// one load before it; this says what each costs once it misses the core's
// caches.
func BenchmarkMemoryLatency(b *testing.B) {
	for _, mib := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			lines := make([][8]uint64, mib<<20/64)
			for off := 0; off < len(lines)*64; off += hugePage {
				adviseHuge(uintptr(unsafe.Pointer(&lines[off/64])))
			}
			perm := rand.New(rand.NewPCG(1, 2)).Perm(len(lines))
			for i := range perm {
				lines[perm[i]][0] = uint64(perm[(i+1)%len(perm)])
			}
			j := uint64(0)
			for b.Loop() {
				j = lines[j][0]
			}
			runtime.KeepAlive(j)
		})
	}
}
