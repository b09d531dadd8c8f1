package mapcache

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestPrefetchWhileChanging announces lookups to Prefetchers, without the
// cache's lock, while another goroutine grows, trims, clears and rebuilds
// both forks of an indexed tree: under the race detector (make test) any
// read of the index that is not atomic fails it, and a prefetch of a
// slot or leaf that has gone away must not fault. The lookups that follow
// each announcement are checked against what the cache can hold at that
// moment.
func TestPrefetchWhileChanging(t *testing.T) {
	defer func(n int) { indexMinLeaves = n }(indexMinLeaves)
	indexMinLeaves = 2
	const blocks = 4000
	c := New(bs)
	fill := func(f Fork) {
		for b := uint64(0); b < blocks; b += 2 {
			if err := c.Upsert(f, mapped(b, 1, 3*b+7)); err != nil {
				t.Fatal(err)
			}
		}
	}
	fill(ReadFork)
	if c.forks[ReadFork].index.Load() == nil {
		t.Fatal("no leaf index to prefetch through")
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pf := NewPrefetcher(g * 5) // 0 is raised to the least, 4
			rng := rand.New(rand.NewPCG(uint64(g), 3))
			for {
				select {
				case <-stop:
					return
				default:
				}
				off := rng.Uint64N(2*blocks) * bs
				if g == 2 {
					off = rng.Uint64() // far past the index's range too
				}
				pf.Ahead(c, off)
				pf.Ahead(nil, off)
				b := off / bs
				m, _, r := c.Lookup(ReadFork, off, bs)
				if r == Hit && m.Type == Mapped && (b%2 != 0 || m.Offset != off || m.Addr != (3*b+7)*bs) {
					errs <- fmt.Errorf("block %d: %v %+v", b, r, m)
					return
				}
			}
		}()
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 4 {
		for range 400 {
			b := rng.Uint64N(blocks/2) * 2
			if err := c.Remove(ReadFork, b*bs, bs); err != nil {
				t.Fatal(err)
			}
			if err := c.Upsert(WriteFork, mapped(b, 1, 5*b+1)); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Check(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := c.Remove(ReadFork, 0, ToEOF); err != nil { // clears the tree
			t.Fatal(err)
		}
		if err := c.Remove(WriteFork, 0, ToEOF); err != nil {
			t.Fatal(err)
		}
		fill(ReadFork)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
}
