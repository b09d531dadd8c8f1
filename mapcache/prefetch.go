package mapcache

import "unsafe"

// A Prefetcher hides the memory latency of lookups in large caches from a
// caller that knows its offsets some lookups ahead, as a workload
// generator does. In a cache of a million extents a lookup's index slot
// and leaf are rarely in the processor's caches, and it waits on memory
// twice; a Prefetcher starts both loads early, one step each, so that
// the lookup finds them there.
//
// Call Ahead with each offset when it becomes known, distance calls
// before its lookup: Ahead starts loading the index slot of that offset
// and the leaf of the offset announced distance/2 calls before, whose
// slot has arrived by then. Nothing is locked and nothing changes: a
// prefetch of a slot or leaf that the cache replaces meanwhile costs a
// wasted load, never a wrong answer. Small caches (no leaf index) cost
// one atomic load per call.
//
// A Prefetcher belongs to one goroutine.
type Prefetcher struct {
	ring []pending
	at   int
}

type pending struct {
	c   *Cache
	off uint64
}

// NewPrefetcher returns a Prefetcher for lookups made distance calls of
// Ahead after their offsets (at least 2).
func NewPrefetcher(distance int) *Prefetcher {
	return &Prefetcher{ring: make([]pending, max(distance, 2)/2)}
}

// Ahead announces a lookup of off in c, in either fork. c may be nil.
func (p *Prefetcher) Ahead(c *Cache, off uint64) {
	old := p.ring[p.at]
	p.ring[p.at] = pending{c, off}
	if p.at++; p.at == len(p.ring) {
		p.at = 0
	}
	if c != nil {
		c.forks[ReadFork].prefetchSlot(off)
		c.forks[WriteFork].prefetchSlot(off)
	}
	if old.c != nil {
		old.c.forks[ReadFork].prefetchLeaf(old.off)
		old.c.forks[WriteFork].prefetchLeaf(old.off)
	}
}

// prefetchSlot starts loading the index slot of off.
func (t *tree) prefetchSlot(off uint64) {
	if ix := t.index.Load(); ix != nil {
		if b := off >> ix.shift; b < uint64(len(ix.slots)) {
			prefetchLine(unsafe.Pointer(&ix.slots[b]))
		}
	}
}

// prefetchLeaf starts loading every line of the leaf in off's index
// slot: a search reads one key in each.
func (t *tree) prefetchLeaf(off uint64) {
	if ix := t.index.Load(); ix != nil {
		if b := off >> ix.shift; b < uint64(len(ix.slots)) {
			if l := ix.slots[b].Load(); l != nil {
				prefetchNode(unsafe.Pointer(l))
			}
		}
	}
}
