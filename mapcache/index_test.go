package mapcache

import (
	"math/rand/v2"
	"testing"
)

// floorLeaf returns the leaf holding the floor record of off, or nil.
func floorLeaf(t *tree, off uint64) *leaf {
	l, _, ok := t.floor(off)
	if !ok {
		return nil
	}
	return l
}

// TestIndexedAnyHint: whatever a slot holds (nil, any leaf of the tree,
// a leaf taken out of it), indexed answers nil or the leaf that holds the
// floor record of the offset, never another; and with each slot holding
// the floor leaf of its first offset, or that leaf's neighbour, it
// answers nil only where no record is at or before the offset.
func TestIndexedAnyHint(t *testing.T) {
	defer func(n int) { indexMinLeaves = n }(indexMinLeaves)
	indexMinLeaves = 2
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 5))
	c := New(bs)
	// Records of random lengths with random gaps, in random order, so
	// that leaves are of all fills and some slots span several.
	const n = 3000
	var offs []uint64
	b := uint64(50)
	for range n {
		offs = append(offs, b)
		b += 1 + rng.Uint64N(12)
	}
	for _, k := range rng.Perm(n) {
		if err := c.Upsert(ReadFork, mapped(offs[k], 1, 3*offs[k]+1<<20)); err != nil {
			t.Fatal(err)
		}
	}
	mustCheck(t, c)
	tr := &c.forks[ReadFork]
	ix := tr.index.Load()
	if ix == nil {
		t.Fatal("no leaf index")
	}
	var leaves []*leaf
	for l := tr.first; l != nil; l = l.next {
		leaves = append(leaves, l)
	}
	gone := newLeaf() // as unlink leaves one: no records, no links
	limit := b + 100
	for range 20000 {
		off := rng.Uint64N(limit) * bs
		slot := off >> ix.shift
		if slot >= uint64(len(ix.slots)) {
			if tr.indexed(off) != nil {
				t.Fatalf("offset %d past the index's slots served", off)
			}
			continue
		}
		want := floorLeaf(tr, off)
		// A random hint, then the floor leaf's neighbours and itself.
		var hints []*leaf
		switch rng.IntN(3) {
		case 0:
			hints = append(hints, nil, gone)
		default:
			hints = append(hints, leaves[rng.IntN(len(leaves))])
		}
		if want != nil {
			hints = append(hints, want, want.prev, want.next)
		}
		for _, h := range hints {
			ix.slots[slot].Store(h)
			got := tr.indexed(off)
			if got != nil && got != want {
				t.Fatalf("offset %d, slot holding %p: served %p, the floor is in %p", off, h, got, want)
			}
			near := h != nil && h.n > 0 && want != nil && (h == want || h == want.prev || h == want.next)
			if near && got == nil {
				t.Fatalf("offset %d: the slot holds the floor leaf or its neighbour, and indexed gave up", off)
			}
		}
	}
	// A new index serves every offset from the first record on through
	// the leaf it was filled with, or its neighbour. It gives up only in
	// a slot that three or more leaves share (a leaf shorter than a
	// slot), where the floor leaf can be two links away; the random
	// fills above make such leaves, so the test counts them and checks
	// that they are few.
	tr.index.Store(nil)
	tr.leaves *= 4 // so that sizeIndex makes one now
	tr.sizeIndex()
	tr.leaves /= 4
	ix = tr.index.Load()
	served, far := 0, 0
	for off := offs[0] * bs; off>>ix.shift < uint64(len(ix.slots)); off += bs {
		got, want := tr.indexed(off), floorLeaf(tr, off)
		h := ix.slots[off>>ix.shift].Load()
		switch {
		case got == want:
			served++
		case got != nil:
			t.Fatalf("new index: offset %d served %p, the floor is in %p", off, got, want)
		case h == nil || (h != want && h.prev != want && h.next != want):
			far++ // the floor leaf is two links or more from the slot's
		default:
			t.Fatalf("new index: offset %d: the slot holds the floor leaf or its neighbour, and indexed gave up", off)
		}
	}
	if far*20 > served {
		t.Fatalf("new index: %d offsets in slots that three or more leaves share, %d served", far, served)
	}
	if got := tr.indexed(offs[0]*bs - bs); got != nil {
		t.Fatalf("an offset before every record served %p", got)
	}
	mustCheck(t, c)
}
