package engine

import "testing"

// spinClocks are a spinCtl's CPU clock and wall clock in a test.
type spinClocks struct{ cpu, wall int64 }

func newTestSpinCtl(k *spinClocks) *probeCtl {
	return newSpinCtl(func() int64 { return k.cpu }, func() int64 { return k.wall })
}

// spinCosts are the ns of CPU time and of wall time a completion takes
// with polling and without.
type spinCosts struct{ onCPU, offCPU, onWall, offWall int64 }

// runSpinCtl feeds a spinCtl n completions, one per call, on clocks that
// advance by the costs of polling or not as the controller polls or not,
// and returns the share of completions made polling.
func runSpinCtl(c *probeCtl, k *spinClocks, n int, costs spinCosts) float64 {
	on := 0
	for range n {
		if c.on {
			k.cpu += costs.onCPU
			k.wall += costs.onWall
			on++
		} else {
			k.cpu += costs.offCPU
			k.wall += costs.offWall
		}
		c.completed(1)
	}
	return float64(on) / float64(n)
}

// TestSpinCtlPollsWherePaying: where polling costs less CPU per completion
// than sleeping and is faster, the controller polls for all but its
// probes' windows without.
func TestSpinCtlPollsWherePaying(t *testing.T) {
	var k spinClocks
	c := newTestSpinCtl(&k)
	share := runSpinCtl(c, &k, 2000*spinWindow, spinCosts{2500, 3000, 8000, 10000})
	// Probes come ever more rarely.
	if share < 0.95 {
		t.Errorf("polled for %.2f of the completions, want at least 0.95", share)
	}
	if c.wins != spinMaxStreak {
		t.Errorf("wins %d, want the streak at its limit %d", c.wins, spinMaxStreak)
	}
	if c.probes < 5 {
		t.Errorf("%d probes, want it to go on measuring", c.probes)
	}
}

// TestSpinCtlStopsWhereNotPaying: where polling costs more CPU per
// completion, the controller polls only in its probes, ever more rarely.
func TestSpinCtlStopsWhereNotPaying(t *testing.T) {
	var k spinClocks
	c := newTestSpinCtl(&k)
	share := runSpinCtl(c, &k, 2000*spinWindow, spinCosts{3000, 2500, 10000, 10000})
	if share > 0.05 {
		t.Errorf("polled for %.2f of the completions, want at most 0.05", share)
	}
	if c.fails != spinMaxStreak {
		t.Errorf("fails %d, want the backoff at its limit %d", c.fails, spinMaxStreak)
	}
	// Once polling pays, the controller comes back to it.
	share = runSpinCtl(c, &k, 2000*spinWindow, spinCosts{2500, 3000, 10000, 10000})
	if share < 0.5 {
		t.Errorf("after polling became cheaper: polled for %.2f, want most", share)
	}
}

// TestSpinCtlStopsWhereSlower: polling that saves CPU time per completion
// but makes the queue slower (the device's own work loses the CPU) is not
// chosen.
func TestSpinCtlStopsWhereSlower(t *testing.T) {
	var k spinClocks
	c := newTestSpinCtl(&k)
	if share := runSpinCtl(c, &k, 1000*spinWindow, spinCosts{2500, 3000, 12000, 10000}); share > 0.05 {
		t.Errorf("polled for %.2f of the completions, want at most 0.05", share)
	}
}

// TestSpinCtlMeasuresFirst: a new controller does not poll before it has
// measured both ways, polling that costs the same as not is not chosen
// (it must save spinMarginNum/spinMarginDen), and batches of completions
// larger than a stage move it through the stages all the same.
func TestSpinCtlMeasuresFirst(t *testing.T) {
	var k spinClocks
	c := newTestSpinCtl(&k)
	if c.on {
		t.Fatal("polls before measuring")
	}
	for range 10 {
		k.cpu += 1000
		k.wall += 1000
		c.completed(spinWindow) // costs the same both ways: polling must save more
	}
	if c.probes != 1 || c.on || c.step != len(spinProbeSeq) {
		t.Errorf("after measuring: probes %d, on %v, step %d; want one probe, not polling, running the choice", c.probes, c.on, c.step)
	}
}

// TestSpinCtlMargin: polling that saves less than the margin (3% here) is
// not chosen; one that saves more (10%) is.
func TestSpinCtlMargin(t *testing.T) {
	for _, tc := range []struct {
		on     int64
		lo, hi float64
		saving string
	}{{2910, 0, 0.05, "3%"}, {2700, 0.9, 1, "10%"}} {
		var k spinClocks
		c := newTestSpinCtl(&k)
		if share := runSpinCtl(c, &k, 1000*spinWindow, spinCosts{tc.on, 3000, 10000, 10000}); share < tc.lo || share > tc.hi {
			t.Errorf("polling saving %s: polled for %.2f of the completions, want %.2f to %.2f", tc.saving, share, tc.lo, tc.hi)
		}
	}
}

// TestSpinCtlDrift: a rate that drifts steadily through a probe favours
// neither way. Every completion costs the same with polling and without,
// but costs grow (or shrink) by a third over the probe: polling must
// not be chosen, where measuring one way after the other would have
// credited it with the drift; and polling that saves 10% must be chosen
// whichever way the drift runs.
func TestSpinCtlDrift(t *testing.T) {
	probe := len(spinProbeSeq)*spinWindow + 5*spinWarm // a warm-up first and at each of the 4 changes
	for _, slope := range []int64{1, -1} {
		for _, tc := range []struct {
			onCost int64 // per 1000 of the cost without polling
			want   bool
		}{{1000, false}, {900, true}} {
			var k spinClocks
			c := newTestSpinCtl(&k)
			for i := range probe {
				cost := 10000 + slope*int64(i)*3333/int64(probe)
				if c.on {
					cost = cost * tc.onCost / 1000
				}
				k.cpu += cost
				k.wall += cost
				c.completed(1)
			}
			if c.probes != 1 {
				t.Fatalf("slope %d: %d probes after %d completions, want 1", slope, c.probes, probe)
			}
			if c.on != tc.want {
				t.Errorf("slope %d, polling costing %d/1000: chose polling %v, want %v", slope, tc.onCost, c.on, tc.want)
			}
		}
	}
}

// TestYieldsOnlyAtYieldDepth: a wait yields first with exactly yieldDepth
// I/Os in flight, never with one (the queue follows its completions
// there instead) or with more, and never with Config.NoYield.
func TestYieldsOnlyAtYieldDepth(t *testing.T) {
	for _, noYield := range []bool{false, true} {
		for inflight := 0; inflight <= 8; inflight++ {
			q := &Queue{depth: 8, freeSlot: make([]uint32, 8-inflight), yield: !noYield}
			want := !noYield && inflight == 2
			if got := q.yieldsFirst(); got != want {
				t.Errorf("NoYield %v, %d in flight: yields %v, want %v", noYield, inflight, got, want)
			}
		}
	}
}

// TestBatchCtlHoldsWhereFaster: where holding new I/O for the wait takes
// less wall time and CPU time per completion (a device whose submissions
// wake a kernel worker), the batching controller holds for all but its
// probes' windows; where the two ways run alike, or holding is faster
// but costs more CPU time, it keeps submitting early.
func TestBatchCtlHoldsWhereFaster(t *testing.T) {
	for _, tc := range []struct {
		name     string
		costs    spinCosts // on: holding for the wait; off: submitting early
		min, max float64   // share of completions made holding
	}{
		{"4x faster, less CPU", spinCosts{onCPU: 1000, offCPU: 2000, onWall: 1000, offWall: 4000}, 0.95, 1},
		{"alike", spinCosts{onCPU: 2000, offCPU: 2000, onWall: 3000, offWall: 3000}, 0, 0.05},
		{"3% faster", spinCosts{onCPU: 2000, offCPU: 2000, onWall: 2910, offWall: 3000}, 0, 0.05},
		{"faster, more CPU", spinCosts{onCPU: 2500, offCPU: 2000, onWall: 2000, offWall: 3000}, 0, 0.05},
	} {
		var k spinClocks
		c := newBatchCtl(func() int64 { return k.cpu }, func() int64 { return k.wall })
		share := runSpinCtl(c, &k, 2000*spinWindow, tc.costs)
		if share < tc.min || share > tc.max {
			t.Errorf("%s: held for %.3f of the completions, want %.2f-%.2f", tc.name, share, tc.min, tc.max)
		}
	}
}

// TestProbeCtlsTakeTurns: a queue's polling, batching and read-gap
// controllers all probe, one at a time, and none waits on another for
// good (all starting with a probe, each waiting for the others' to end,
// none would ever measure). The read-gap controller counts finished
// requests, here one per completion.
func TestProbeCtlsTakeTurns(t *testing.T) {
	var k spinClocks
	cpu, wall := func() int64 { return k.cpu }, func() int64 { return k.wall }
	q := &Queue{spinCtl: newSpinCtl(cpu, wall), batchCtl: newBatchCtl(cpu, wall), gapCtl: newGapCtl(cpu, wall)}
	for range 600 * spinWindow {
		k.cpu += 1000
		k.wall += 2000
		n := 0
		for _, c := range []*probeCtl{q.spinCtl, q.batchCtl, q.gapCtl} {
			if c.probing() {
				n++
			}
		}
		if n > 1 {
			t.Fatalf("%d controllers probing at once", n)
		}
		q.finishedN++
		q.probed(1)
	}
	if q.spinCtl.probes < 2 || q.batchCtl.probes < 2 || q.gapCtl.probes < 2 {
		t.Errorf("probes: polling %d, batching %d, read gaps %d; want all measuring", q.spinCtl.probes, q.batchCtl.probes, q.gapCtl.probes)
	}
}

// TestGapCtlClearCut: a read-gap probe in which one way takes
// gapClearCut times the other's wall time per request ends after one
// window each way; a closer one runs all its windows. Either way it
// chooses the faster.
func TestGapCtlClearCut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		costs spinCosts // on: merged; off: apart
		short bool
		merge bool
	}{
		{"merged 7x faster", spinCosts{onCPU: 1000, offCPU: 3000, onWall: 1000, offWall: 7000}, true, true},
		{"merged 3x slower", spinCosts{onCPU: 1000, offCPU: 1000, onWall: 3000, offWall: 1000}, true, false},
		{"merged 1.3x faster", spinCosts{onCPU: 1000, offCPU: 1300, onWall: 1000, offWall: 1300}, false, true},
		{"merged 2x slower", spinCosts{onCPU: 1000, offCPU: 1000, onWall: 2000, offWall: 1000}, false, false},
	} {
		var k spinClocks
		c := newGapCtl(func() int64 { return k.cpu }, func() int64 { return k.wall })
		n := 0
		for c.probes == 0 {
			runSpinCtl(c, &k, 1, tc.costs)
			n++
		}
		// The run before the probe, then a warm-up and a window of each
		// way; a whole probe has eight windows and five warm-ups.
		cut := spinWarm + 2*(spinWarm+spinWindow)
		if full := spinWarm + 5*spinWarm + 8*spinWindow; tc.short && n != cut || !tc.short && n != full {
			t.Errorf("%s: the probe ended after %d requests (cut short: %d, whole: %d)", tc.name, n, cut, full)
		}
		if c.on != tc.merge {
			t.Errorf("%s: merging %v after the probe, want %v", tc.name, c.on, tc.merge)
		}
	}
}
