package workloads

import (
	"slices"
	"strings"
	"testing"
)

// TestSPRandomPlan: the sizes and shares of fio's sprandom_setup
// (axboe/fio sprandom.c at f2c1d8f9), worked by hand from its algorithm:
// write amplification 0.5/op + 0.7; validities evenly spaced from 1 down
// to 1 - 1/WA; x the running sum of 1/validity; resampled at evenly spaced
// x; reversed; share round((1 - validity) * 10000).
func TestSPRandomPlan(t *testing.T) {
	// op 0.5, 2 regions: WA 1.7, validities 1 and 7/17; the resampling
	// keeps the two end points; reversed: 7/17 (share 5882.35 -> 5882), 1.
	// 8 blocks of 4k: physical 32k + 16k = 48k, 24k a region, 6 writes;
	// the buffer: ceil(6*(10/17) + 6*sqrt(6*(7/17)*(10/17))) = 11.
	p := newSprPlan(32<<10, 4096, 0.5, 2)
	if p.physical != 48<<10 || p.regionSz != 24<<10 || p.writes != 6 || p.capacity != 11 || !slices.Equal(p.share, []uint32{5882, 0}) {
		t.Errorf("op 0.5, 2 regions: %+v", p)
	}
	// op 0.15 (fio's default), 3 regions: WA 4.0333, GC validity
	// 0.752066; validities 1, 0.876033, 0.752066 at x 1, 2.141509,
	// 3.471180; resampled at x 1, 2.235590, 3.471180: 1, 0.867262,
	// 0.752066; reversed, shares 2479, 1327, 0.
	p = newSprPlan(1<<20, 4096, 0.15, 3)
	// 1 MiB + ceil(157286.4) = 1205863, up to 4k: 1208320; /3 = 402773.
	if p.physical != 1208320 || p.regionSz != 402773 || p.writes != 98 || !slices.Equal(p.share, []uint32{2479, 1327, 0}) {
		t.Errorf("op 0.15, 3 regions: %+v", p)
	}
	// spr_op=0: write amplification without bound, every validity 1: the
	// region alone, nothing kept but on a draw of 0.
	if p = newSprPlan(1<<20, 4096, 0, 4); p.physical != 1<<20 || !slices.Equal(p.share, []uint32{0, 0, 0, 0}) {
		t.Errorf("op 0: %+v", p)
	}
	// One region: validity 1, nothing written again.
	if p = newSprPlan(1<<20, 4096, 0.15, 1); !slices.Equal(p.share, []uint32{0}) {
		t.Errorf("1 region: shares %v", p.share)
	}
}

// sprRun walks a plan with fresh blocks 0, 1, 2 ... up to n and the given
// draws (repeating), returning the blocks in order.
func sprRun(p sprPlan, n uint64, draws []int) ([]uint64, *sprState) {
	next, i := uint64(0), 0
	s := newSprState(p, func() (uint64, bool) {
		if next == n {
			return 0, false
		}
		next++
		return next - 1, true
	}, func() int { i++; return draws[(i-1)%len(draws)] })
	var out []uint64
	for {
		b, ok := s.next()
		if !ok {
			return out, s
		}
		out = append(out, b)
	}
}

// TestSPRandomOrder: the order of sprandom_get_next_offset (fio's
// sprandom.c at f2c1d8f9), worked by hand: a region's W writes take fresh
// blocks, each kept when its draw is at most the region's share; the
// first write of the next region takes a fresh block, then the kept
// blocks are written again in their order, then fresh blocks fill the
// region; the walk running out of blocks ends the job.
func TestSPRandomOrder(t *testing.T) {
	p := newSprPlan(32<<10, 4096, 0.5, 2) // 6 writes a region, shares 5882, 0
	// Region 0: blocks 0-5, draws 0 10000 0 10000 10000 0: 0, 2 and 5
	// kept. Region 1: fresh 6, then 0 2 5 again, then fresh 7 (its six
	// writes); the walk of 8 blocks is done: the job ends after 11 writes
	// (of 12 the physical size holds).
	got, _ := sprRun(p, 8, []int{0, 10000, 0, 10000, 10000, 0, 10000, 10000, 10000, 10000, 10000})
	if want := []uint64{0, 1, 2, 3, 4, 5, 6, 0, 2, 5, 7}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// With blocks to spare: draws of 0 at writes 0, 6, 12 keep blocks 0,
	// 6 and 11 (a draw of 0 keeps even at share 0: fio keeps when the draw
	// is at most the share). Region 1: fresh 6, 0 again, fresh 7-10.
	// Region 2, the one after the last (fio enters it; the byte limit
	// ends the job first where the physical size holds no more blocks):
	// fresh 11, 6 again, fresh 12-15; then sprandom ends (11 is never
	// written again).
	got, _ = sprRun(p, 100, []int{0, 10000, 10000, 10000, 10000, 10000})
	if want := []uint64{0, 1, 2, 3, 4, 5, 6, 0, 7, 8, 9, 10, 11, 6, 12, 13, 14, 15}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestSPRandomInvariants: over a larger walk with the job's own draws,
// every write is a 4k write inside the region, of a fresh block or of one
// written in the W writes before (the region before); the job ends where
// sprandom.c ends it.
func TestSPRandomInvariants(t *testing.T) {
	j := NewJob("spr")
	for k, v := range map[string]string{"rw": "randwrite", "bs": "4k", "sprandom": "1", "spr_op": "0.2", "spr_num_regions": "8"} {
		if err := j.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Validate(); err != nil {
		t.Fatal(err)
	}
	if j.RandomGenerator != "lfsr" || !j.NoRandomMap {
		t.Errorf("sprandom sets random_generator=lfsr and norandommap=1, as fio does: %s %v", j.RandomGenerator, j.NoRandomMap)
	}
	const logical = 64 << 20
	g := NewGenerator(&j, 0, logical)
	plan := g.spr.plan
	// 64 MiB + ceil(0.2 * 64 MiB) = 80530637, rounded up to 4k.
	if g.SPRandomBytes() != plan.physical || plan.physical != 80531456 {
		t.Fatalf("physical %d, want 80531456", plan.physical)
	}
	seen := map[uint64]int{}
	var region []uint64
	var prev map[uint64]bool
	fresh := 0
	var n uint64
	for {
		io := g.Next()
		if io.End {
			break
		}
		if !io.Write || io.Length != 4096 || io.Offset%4096 != 0 || io.Offset >= logical {
			t.Fatalf("I/O %+v", io)
		}
		b := io.Offset / 4096
		if seen[b] == 0 {
			fresh++
		} else if !prev[b] {
			t.Fatalf("write %d: block %d again, not kept in the region before", n, b)
		}
		seen[b]++
		region = append(region, b)
		n++
		if uint64(len(region)) == plan.writes {
			prev = map[uint64]bool{}
			for _, x := range region {
				prev[x] = true
			}
			region = region[:0]
		}
		if n > plan.physical/4096+plan.writes {
			t.Fatal("no end")
		}
	}
	// The job ends by the walk running out (every logical block written)
	// or after the region past the last.
	if fresh != logical/4096 && n != uint64(len(plan.share)+1)*plan.writes {
		t.Errorf("%d writes, %d fresh of %d blocks, %d a region", n, fresh, logical/4096, plan.writes)
	}
	if g.spr.Overflow {
		t.Error("buffer overflow")
	}
	t.Logf("%d writes (physical %d blocks), %d fresh, shares %v", n, plan.physical/4096, fresh, plan.share)
}

// TestSPRandomRefusals: what fio refuses with sprandom, and what iobench
// does not implement with it, each with its reason.
func TestSPRandomRefusals(t *testing.T) {
	for _, c := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"rw": "write"}, "needs random writes"},
		{map[string]string{"rw": "randread"}, "needs random writes"},
		{map[string]string{"rw": "randrw"}, "not implemented"},
		{map[string]string{"random_generator": "tausworthe"}, "needs random_generator=lfsr"},
		{map[string]string{"norandommap": "0"}, "needs norandommap=1"},
		{map[string]string{"bs": "12k"}, "power of two"},
		{map[string]string{"spr_op": "-0.1"}, "want 0 to below 5/3"},
		{map[string]string{"spr_op": "1.7"}, "want 0 to below 5/3"},
		{map[string]string{"spr_cs": "1m"}, "spr_cs=1048576: not implemented"},
		{map[string]string{"bssplit": "4k/50:8k/50"}, "one block size"},
		{map[string]string{"blockalign": "8k"}, "blockalign=8192"},
		{map[string]string{"random_distribution": "zipf:1.2"}, "random_distribution"},
		{map[string]string{"loops": "2"}, "loops or time_based"},
		{map[string]string{"nrfiles": "2"}, "several files"},
	} {
		j := NewJob("spr")
		for k, v := range map[string]string{"rw": "randwrite", "sprandom": "1"} {
			_ = j.Set(k, v)
		}
		for k, v := range c.opts {
			if err := j.Set(k, v); err != nil {
				t.Fatalf("%v: %v", c.opts, err)
			}
		}
		err := j.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.opts, err, c.want)
		}
	}
	j := NewJob("spr")
	if err := j.Set("spr_num_regions", "0"); err == nil {
		t.Error("spr_num_regions=0 accepted (fio fails the job: it needs a region)")
	}
	// Without sprandom the tuning options change nothing, as in fio.
	for k, v := range map[string]string{"rw": "randread", "spr_op": "3", "spr_cs": "1m"} {
		_ = j.Set(k, v)
	}
	if err := j.Validate(); err != nil {
		t.Errorf("spr_* without sprandom: %v", err)
	}
}
