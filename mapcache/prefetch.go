package mapcache

import (
	"sync/atomic"
	"unsafe"
)

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
// two atomic loads per call and no prefetch.
//
// A Prefetcher belongs to one goroutine.
type Prefetcher struct {
	ring []pending // the last len(ring) announcements, oldest at at
	at   int
	// half and late are the distances back to the entries whose leaves'
	// halves a call prefetches: len(ring)/2 and 3*len(ring)/4.
	half, late int
}

// pending is an announced lookup: its offset's index slot in each fork
// (nil where the fork has no index, or the offset is past it), found once
// when announced, and the leaves in those slots, read half the distance
// later. A slot of an index that the tree has since replaced, or a leaf
// it has since dropped, is kept alive here until the entry is reused and
// costs a wasted load, never a wrong answer: nothing reads the leaf but a
// prefetch instruction.
type pending struct {
	slots  [2]*atomic.Pointer[leaf]
	leaves [2]*leaf
}

// NewPrefetcher returns a Prefetcher for lookups made distance calls of
// Ahead after their offsets (at least 4).
func NewPrefetcher(distance int) *Prefetcher {
	n := max(distance, 4)
	return &Prefetcher{ring: make([]pending, n), half: n / 2, late: 3 * n / 4}
}

// Ahead announces a lookup of off in c, in either fork. c may be nil.
func (p *Prefetcher) Ahead(c *Cache, off uint64) {
	n := len(p.ring)
	e := &p.ring[p.at]
	e.slots[0], e.slots[1] = nil, nil
	if c != nil {
		e.slots[0] = c.forks[ReadFork].slotOf(off)
		e.slots[1] = c.forks[WriteFork].slotOf(off)
	}
	// The leaf's lines in two halves, so that fewer loads are in flight
	// at once: the first half for the offset announced n/2 calls ago
	// (whose slot has arrived by now), the second for the one announced
	// 3n/4 ago (whose leaf the n/2 step read: 3n/4 > n/2 from n = 4 on).
	h := &p.ring[back(p.at, p.half, n)]
	h.leaves[0], h.leaves[1] = load(h.slots[0]), load(h.slots[1])
	q := &p.ring[back(p.at, p.late, n)]
	// One call per fork for its three: a call to assembly goes through a
	// wrapper that passes its arguments on the stack. A fork without an
	// index (every fork of a small cache) makes none. Written out: a
	// loop over the forks cost 50 instructions a call.
	if e.slots[0] != nil || h.leaves[0] != nil || q.leaves[0] != nil {
		prefetchStep(unsafe.Pointer(e.slots[0]), unsafe.Pointer(h.leaves[0]), unsafe.Pointer(q.leaves[0]))
	}
	if e.slots[1] != nil || h.leaves[1] != nil || q.leaves[1] != nil {
		prefetchStep(unsafe.Pointer(e.slots[1]), unsafe.Pointer(h.leaves[1]), unsafe.Pointer(q.leaves[1]))
	}
	if p.at++; p.at == n {
		p.at = 0
	}
}

// load returns the leaf in slot s, nil for no slot.
func load(s *atomic.Pointer[leaf]) *leaf {
	if s == nil {
		return nil
	}
	return s.Load()
}

// back is the ring index k places before i in a ring of n (k <= n), with
// no division on the per-I/O path.
func back(i, k, n int) int {
	if i -= k; i < 0 {
		i += n
	}
	return i
}

// slotOf returns the index slot of off, or nil when the tree has no index
// or off is past it.
func (t *tree) slotOf(off uint64) *atomic.Pointer[leaf] {
	if ix := t.index.Load(); ix != nil {
		if b := off >> ix.shift; b < uint64(len(ix.slots)) {
			return &ix.slots[b]
		}
	}
	return nil
}
