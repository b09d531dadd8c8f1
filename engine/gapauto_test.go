package engine_test

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/iobench/iobench/engine"
)

// TestReadGapAuto: with ReadGapAuto a queue reads through gaps only
// while its measurements say merged reads finish requests faster at no
// more CPU time. The controller's clocks advance by set costs per
// request, as the queue merges or not; the queue reads a file whose
// blocks lie every other device block, eight blocks per request, and
// every request's data is checked against the device's.
func TestReadGapAuto(t *testing.T) {
	const fileBlocks, depth, perRead = 512, 8, 8
	at := make([]int64, fileBlocks)
	for i := range at {
		at[i] = 2 * int64(i)
	}
	for _, tc := range []struct {
		name                                       string
		mergedCPU, mergedWall, apartCPU, apartWall int64
		merge                                      bool
	}{
		{"merged faster and cheaper", 1000, 2000, 1500, 2600, true},
		{"merged slower", 1000, 3000, 1500, 2600, false},
		{"merged faster but costlier", 2000, 2000, 1500, 2600, false},
		{"alike", 1500, 2600, 1500, 2600, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restore := engine.SetGapCosts(tc.mergedCPU, tc.mergedWall, tc.apartCPU, tc.apartWall)
			defer restore()
			e, f, want := layoutFile(t, at, 2*fileBlocks, func(c *engine.Config) {
				c.ReadGap, c.ReadGapAuto = bs, true
			})
			q, err := e.NewQueue()
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			rng := rand.New(rand.NewPCG(uint64(len(tc.name)), 9))
			reqs := make([]engine.Request, depth)
			submit := func(r *engine.Request) {
				r.Offset = uint64(rng.IntN(fileBlocks-perRead+1)) * bs
				clear(r.Buf)
				if err := q.Submit(r); err != nil {
					t.Fatal(err)
				}
			}
			for i := range reqs {
				reqs[i] = engine.Request{File: f, Buf: e.Buffer(perRead * bs)}
				submit(&reqs[i])
			}
			// reads runs n requests and returns the merged reads among
			// them.
			reads := func(n int) uint64 {
				before := e.Stats().GapReads
				var done []*engine.Request
				for k := 0; k < n; {
					if done, err = q.Reap(done[:0], 1); err != nil {
						t.Fatal(err)
					}
					for _, r := range done {
						if r.Err != nil || !bytes.Equal(r.Buf, want[r.Offset:r.Offset+perRead*bs]) {
							t.Fatalf("read of %d at %d: %v, or wrong data", len(r.Buf), r.Offset, r.Err)
						}
						submit(r)
					}
					k += len(done)
				}
				return e.Stats().GapReads - before
			}
			// One probe: a run of 128 requests, then eight windows of
			// 512 with a warm-up of 128 at each change of way.
			for n := 0; ; n += 500 {
				if _, _, probes := engine.GapState(q); probes > 0 {
					break
				}
				if n > 20000 {
					t.Fatalf("no probe ended in %d requests", n)
				}
				reads(500)
			}
			made, merging, _ := engine.GapState(q)
			if !made || merging != tc.merge {
				t.Fatalf("after a probe: controller made %v, merging %v; want merging %v", made, merging, tc.merge)
			}
			// Until the next probe, the choice holds: every request
			// merged (its eight pieces in one read), or none.
			got := reads(2000)
			if tc.merge && got < 2000-depth || !tc.merge && got != 0 {
				t.Errorf("%d merged reads in 2000 requests, want merging %v", got, tc.merge)
			}
			for q.InFlight() > 0 {
				if _, err := q.Reap(nil, 1); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestReadGapAutoDirect: the synchronous calls, on direct queues lent to
// any thread, do not measure, and so never merge with ReadGapAuto; with
// ReadGap alone they do.
func TestReadGapAutoDirect(t *testing.T) {
	const fileBlocks = 64
	at := make([]int64, fileBlocks)
	for i := range at {
		at[i] = 2 * int64(i)
	}
	for _, auto := range []bool{false, true} {
		e, f, want := layoutFile(t, at, 2*fileBlocks, func(c *engine.Config) {
			// Direct queues even when make test runs the package with
			// the synchronous calls on the background queues.
			c.ReadGap, c.ReadGapAuto, c.DirectQueues = bs, auto, 4
		})
		b := e.Buffer(len(want))
		if _, err := f.ReadAt(b, 0); err != nil || !bytes.Equal(b, want) {
			t.Fatalf("auto %v: %v, or wrong data", auto, err)
		}
		if got := e.Stats().GapReads; (got > 0) == auto {
			t.Errorf("auto %v: %d merged reads", auto, got)
		}
		e.PutBuffer(b)
	}
	if _, err := engine.New(engine.Config{Mapper: &layoutMapper{}, ReadGapAuto: true}); err == nil || !strings.Contains(err.Error(), "ReadGapAuto") {
		t.Errorf("ReadGapAuto without ReadGap: %v, want an error naming it", err)
	}
}

// TestReadGapAutoLayouts reads files of random layouts (climbing runs with
// gaps, jumps back, holes) with ReadGapAuto through a queue eight
// requests deep, reads of 1 to 32 blocks at random offsets, for as long
// as the controller takes to end its first probe and a while after: the
// queue changes between merging and not five times while requests are in
// flight, and every read's data is checked against the device's.
func TestReadGapAutoLayouts(t *testing.T) {
	const fileBlocks, devBlocks, depth = 256, 1024, 8
	defer engine.SetGapCosts(1000, 2000, 1500, 2600)()
	for seed := uint64(1); seed <= 2; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		at := gapLayout(rng, fileBlocks, devBlocks)
		e, f, want := layoutFile(t, at, devBlocks, func(c *engine.Config) { c.ReadGap, c.ReadGapAuto = 2*bs, true })
		q, err := e.NewQueue()
		if err != nil {
			t.Fatal(err)
		}
		reqs := make([]engine.Request, depth)
		bufs := make([][]byte, depth)
		submit := func(r *engine.Request, buf []byte) {
			n := 1 + rng.IntN(32)
			r.Offset = uint64(rng.IntN(fileBlocks-n+1)) * bs
			r.Buf = buf[:n*bs]
			for j := range r.Buf {
				r.Buf[j] = 0xA5
			}
			if err := q.Submit(r); err != nil {
				t.Fatal(err)
			}
		}
		for i := range reqs {
			bufs[i] = e.Buffer(32 * bs)
			reqs[i] = engine.Request{File: f}
			submit(&reqs[i], bufs[i])
		}
		var done []*engine.Request
		for n := 0; n < 7000; {
			if done, err = q.Reap(done[:0], 1); err != nil {
				t.Fatal(err)
			}
			for _, r := range done {
				if r.Err != nil || !bytes.Equal(r.Buf, want[r.Offset:r.Offset+uint64(len(r.Buf))]) {
					t.Fatalf("seed %d: read of %d at %d: %v, or wrong data", seed, len(r.Buf), r.Offset, r.Err)
				}
				submit(r, r.Buf[:cap(r.Buf)])
			}
			n += len(done)
		}
		for q.InFlight() > 0 {
			if _, err := q.Reap(nil, 1); err != nil {
				t.Fatal(err)
			}
		}
		if _, merging, probes := engine.GapState(q); probes == 0 || !merging || e.Stats().GapReads == 0 {
			t.Errorf("seed %d: %d probes, merging %v, %d merged reads; want a probe that chose merging", seed, probes, merging, e.Stats().GapReads)
		}
		q.Close()
	}
}
