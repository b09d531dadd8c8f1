package engine_test

import (
	"testing"
	"time"

	"github.com/iobench/iobench/engine"
)

// countingRing counts the ring's submissions made while the test says
// the caller is inside Queue.Submit, and the waits.
type countingRing struct {
	engine.Ring
	inSubmit     *bool
	early, waits int
}

func (c *countingRing) Submit(waitNr int, timeout time.Duration) error {
	if *c.inSubmit {
		c.early++
	}
	if waitNr > 0 {
		c.waits++
	}
	return c.Ring.Submit(waitNr, timeout)
}

// TestEagerSubmit: Queue.Submit hands I/O to the kernel at once while the
// kernel holds fewer than Config.EagerSubmit of the queue's I/Os, and
// leaves it for the next wait otherwise; a negative EagerSubmit never
// submits early.
func TestEagerSubmit(t *testing.T) {
	for _, tc := range []struct {
		eager int
		early []int // after each of 6 Submits: early submissions so far
	}{
		{eager: 3, early: []int{1, 2, 3, 3, 3, 3}},
		{eager: -1, early: []int{0, 0, 0, 0, 0, 0}},
	} {
		const blocks = 64
		var inSubmit bool
		var ring *countingRing
		m := newStripeMapper(blocks, bs, 1)
		e, _ := newEngine(t, blocks*bs, m, func(c *engine.Config) {
			c.QueueDepth = 8
			c.EagerSubmit = tc.eager
			c.NewRing = func(o engine.RingOptions) (engine.Ring, error) {
				r, err := engine.NewIOURing(o)
				ring = &countingRing{Ring: r, inSubmit: &inSubmit}
				return ring, err
			}
		})
		f, _ := e.Open("f", engine.FileOptions{})
		q, err := e.NewQueue()
		if err != nil {
			t.Fatal(err)
		}
		reqs := make([]engine.Request, len(tc.early))
		for i := range reqs {
			reqs[i] = engine.Request{File: f, Offset: uint64(i) * bs, Buf: e.Buffer(bs)}
			inSubmit = true
			err := q.Submit(&reqs[i])
			inSubmit = false
			if err != nil {
				t.Fatal(err)
			}
			if ring.early != tc.early[i] {
				t.Errorf("EagerSubmit %d: after %d requests, %d early submissions, want %d", tc.eager, i+1, ring.early, tc.early[i])
			}
		}
		done, err := q.Reap(nil, len(reqs))
		if err != nil || len(done) != len(reqs) {
			t.Fatalf("EagerSubmit %d: reaped %d, %v", tc.eager, len(done), err)
		}
		for _, r := range done {
			if r.Err != nil {
				t.Errorf("EagerSubmit %d: %v", tc.eager, r.Err)
			}
		}
		q.Close()
	}
}

// TestNullRingNeverEager: the null ring's NOPs complete inline, so its
// queues leave every submission to the wait (one io_uring_enter per batch).
func TestNullRingNeverEager(t *testing.T) {
	const blocks = 64
	m := newStripeMapper(blocks, bs, 1)
	e, _ := newEngine(t, blocks*bs, m, func(c *engine.Config) { c.QueueDepth = 8; c.NewRing = engine.NewNullRing })
	f, _ := e.Open("f", engine.FileOptions{})
	q, err := e.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	reqs := make([]engine.Request, 6)
	for i := range reqs {
		reqs[i] = engine.Request{File: f, Offset: uint64(i) * bs, Buf: e.Buffer(bs)}
		if err := q.Submit(&reqs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.Stats().RingEnters; n != 0 {
		t.Errorf("%d io_uring_enter calls before the first Reap, want 0", n)
	}
	if done, err := q.Reap(nil, len(reqs)); err != nil || len(done) != len(reqs) {
		t.Fatalf("reaped %d, %v", len(done), err)
	}
	if n := e.Stats().RingEnters; n != 1 {
		t.Errorf("%d io_uring_enter calls for one batch, want 1", n)
	}
}
