package mapcache

import "unsafe"

// A Prefetcher hides the memory latency of lookups in large caches from a
// caller that knows its offsets some lookups ahead, as a workload
// generator does. In a cache of a million extents a lookup's index slot
// and leaf are rarely in the processor's caches, and it waits on memory
// twice; a Prefetcher starts both loads early, in steps, so that the
// lookup finds them there.
//
// Call Ahead with each offset when it becomes known, distance calls
// before its lookup: Ahead starts loading the index slot of that offset,
// half of the leaf of the offset announced distance/2 calls before (whose
// slot has arrived by then) and the other half of the leaf of the one
// announced 3*distance/4 calls before: sixteen lines at once kept more
// loads in flight than the processor has room for, and the prefetch
// waited. Nothing is locked and nothing changes: a
// prefetch of a slot or leaf that the cache replaces meanwhile costs a
// wasted load, never a wrong answer. Small caches (no leaf index) cost
// two atomic loads per call.
//
// A Prefetcher belongs to one goroutine.
type Prefetcher struct {
	ring []pending // the last len(ring) announcements, oldest at at
	at   int
}

type pending struct {
	c   *Cache
	off uint64
}

// NewPrefetcher returns a Prefetcher for lookups made distance calls of
// Ahead after their offsets (at least 4).
func NewPrefetcher(distance int) *Prefetcher {
	return &Prefetcher{ring: make([]pending, max(distance, 4))}
}

// Ahead announces a lookup of off in c, in either fork. c may be nil.
func (p *Prefetcher) Ahead(c *Cache, off uint64) {
	n := len(p.ring)
	if c != nil && c.forks[ReadFork].index.Load() == nil && c.forks[WriteFork].index.Load() == nil {
		c = nil // too small for an index: its lines stay in the processor's caches
	}
	p.ring[p.at] = pending{c, off}
	if c != nil {
		c.forks[ReadFork].prefetchSlot(off)
		c.forks[WriteFork].prefetchSlot(off)
	}
	// The leaf's lines in two halves, so that fewer loads are in flight
	// at once: the first half for the offset announced n/2 calls ago,
	// the second for the one announced 3n/4 ago.
	if q := p.ring[back(p.at, n/2, n)]; q.c != nil {
		q.c.forks[ReadFork].prefetchLeaf(q.off, 0)
		q.c.forks[WriteFork].prefetchLeaf(q.off, 0)
	}
	if q := p.ring[back(p.at, 3*n/4, n)]; q.c != nil {
		q.c.forks[ReadFork].prefetchLeaf(q.off, 1)
		q.c.forks[WriteFork].prefetchLeaf(q.off, 1)
	}
	if p.at++; p.at == n {
		p.at = 0
	}
}

// back is the ring index k places before i in a ring of n (k <= n), with
// no division on the per-I/O path.
func back(i, k, n int) int {
	if i -= k; i < 0 {
		i += n
	}
	return i
}

// prefetchSlot starts loading the index slot of off.
func (t *tree) prefetchSlot(off uint64) {
	if ix := t.index.Load(); ix != nil {
		if b := off >> ix.shift; b < uint64(len(ix.slots)) {
			prefetchLine(unsafe.Pointer(&ix.slots[b]))
		}
	}
}

// prefetchLeaf starts loading half of the lines of the leaf in off's
// index slot: a search reads one key in each.
func (t *tree) prefetchLeaf(off uint64, half int) {
	if ix := t.index.Load(); ix != nil {
		if b := off >> ix.shift; b < uint64(len(ix.slots)) {
			if l := ix.slots[b].Load(); l != nil {
				prefetchHalf(unsafe.Add(unsafe.Pointer(l), half*512))
			}
		}
	}
}
