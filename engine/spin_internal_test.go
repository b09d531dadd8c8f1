package engine

import "testing"

// runSpinCtl feeds a spinCtl n completions, one per call, on a CPU clock
// that advances by onCost or offCost ns per completion as the controller
// polls or not, and returns the share of completions made polling.
func runSpinCtl(c *spinCtl, clock *int64, n int, onCost, offCost int64) float64 {
	on := 0
	for range n {
		if c.on {
			*clock += onCost
			on++
		} else {
			*clock += offCost
		}
		c.completed(1)
	}
	return float64(on) / float64(n)
}

// TestSpinCtlPollsWherePaying: where polling costs less CPU per completion
// than sleeping, the controller polls for all but its probes without.
func TestSpinCtlPollsWherePaying(t *testing.T) {
	var clock int64
	c := newSpinCtl(func() int64 { return clock })
	share := runSpinCtl(c, &clock, 2000*spinWindow, 2500, 3000)
	// Probes without polling come ever more rarely.
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
	var clock int64
	c := newSpinCtl(func() int64 { return clock })
	share := runSpinCtl(c, &clock, 2000*spinWindow, 3000, 2500)
	if share > 0.05 {
		t.Errorf("polled for %.2f of the completions, want at most 0.05", share)
	}
	if c.fails != spinMaxStreak {
		t.Errorf("fails %d, want the backoff at its limit %d", c.fails, spinMaxStreak)
	}
	// Once polling pays, the controller comes back to it.
	share = runSpinCtl(c, &clock, 2000*spinWindow, 2500, 3000)
	if share < 0.5 {
		t.Errorf("after polling became cheaper: polled for %.2f, want most", share)
	}
}

// TestSpinCtlMeasuresFirst: a new controller does not poll before it has
// measured both ways, polling that costs the same as not is not chosen
// (it must save spinMarginNum/spinMarginDen), and batches of completions larger than a stage move
// it through the stages all the same.
func TestSpinCtlMeasuresFirst(t *testing.T) {
	var clock int64
	c := newSpinCtl(func() int64 { return clock })
	if c.on {
		t.Fatal("polls before measuring")
	}
	for range 10 {
		clock += 1000
		c.completed(spinWindow) // costs the same both ways: polling must save more
	}
	if c.probes != 1 || c.on || c.state != spinExploit {
		t.Errorf("after measuring: probes %d, on %v, state %d; want one probe, not polling, exploiting", c.probes, c.on, c.state)
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
		var clock int64
		c := newSpinCtl(func() int64 { return clock })
		if share := runSpinCtl(c, &clock, 1000*spinWindow, tc.on, 3000); share < tc.lo || share > tc.hi {
			t.Errorf("polling saving %s: polled for %.2f of the completions, want %.2f to %.2f", tc.saving, share, tc.lo, tc.hi)
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
