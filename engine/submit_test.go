package engine_test

import (
	"errors"
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

// submitFlagged submits r with *inSubmit set while Queue.Submit runs, so
// that a countingRing counts the submissions Submit makes itself.
func submitFlagged(t *testing.T, q *engine.Queue, inSubmit *bool, r *engine.Request) {
	t.Helper()
	*inSubmit = true
	err := q.Submit(r)
	*inSubmit = false
	if err != nil {
		t.Fatal(err)
	}
}

// TestEagerSubmit: Queue.Submit hands I/O to the kernel at once while the
// kernel holds fewer than Config.EagerSubmit of the queue's I/Os, and
// leaves it for the next wait otherwise; a negative EagerSubmit never
// submits early. Left 0, the threshold is 16, half the depth for a
// queue of 16 to 31 entries, and none (no early submission) for one of 4
// to 15.
func TestEagerSubmit(t *testing.T) {
	for _, tc := range []struct {
		depth, eager int
		early        []int // after each Submit: early submissions so far
	}{
		{depth: 8, eager: 3, early: []int{1, 2, 3, 3, 3, 3}},
		{depth: 8, eager: -1, early: []int{0, 0, 0, 0, 0, 0}},
		{depth: 8, eager: 0, early: []int{0, 0, 0, 0, 0, 0, 0, 0}},
		{depth: 4, eager: 0, early: []int{0, 0, 0, 0}},
		{depth: 3, eager: 0, early: []int{1, 2, 3}},
		{depth: 16, eager: 0, early: []int{1, 2, 3, 4, 5, 6, 7, 8, 8, 8, 8, 8}},
		{depth: 24, eager: 0, early: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 12, 12}},
		{depth: 32, eager: 0, early: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 16, 16}},
		{depth: 16, eager: 16, early: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
	} {
		const blocks = 64
		var inSubmit bool
		var ring *countingRing
		m := newStripeMapper(blocks, bs, 1)
		e, _ := newEngine(t, blocks*bs, m, func(c *engine.Config) {
			c.QueueDepth = tc.depth
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
			submitFlagged(t, q, &inSubmit, &reqs[i])
			if ring.early != tc.early[i] {
				t.Errorf("depth %d, EagerSubmit %d: after %d requests, %d early submissions, want %d", tc.depth, tc.eager, i+1, ring.early, tc.early[i])
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

// pacedRing makes a device that keeps up or one that falls behind, as
// the queue sees it. Keeping up, a submission returns once the kernel
// has completed everything in flight, so the queue finds completions
// ready before it would wait; behind, completions stay hidden until the
// queue has made a call that waits.
type pacedRing struct {
	countingRing
	behind   bool
	released bool
	pending  int // queued and not yet reaped
}

func (p *pacedRing) Queue(op *engine.Op) bool {
	ok := p.countingRing.Queue(op)
	if ok {
		p.pending++
	}
	return ok
}

func (p *pacedRing) Submit(waitNr int, timeout time.Duration) error {
	if !p.behind {
		waitNr = p.pending
	}
	if waitNr > 0 {
		p.released = true
	}
	return p.countingRing.Submit(waitNr, timeout)
}

func (p *pacedRing) Reap(dst []engine.Completion) int {
	if p.behind && !p.released {
		return 0
	}
	n := p.countingRing.Reap(dst)
	p.pending -= n
	if n > 0 {
		p.released = false
	}
	return n
}

// TestEagerSubmitAdapts: the eager threshold rises while the queue's
// waits have to sleep, and stays at Config.EagerSubmit while completions
// are ready when the queue comes to wait.
func TestEagerSubmitAdapts(t *testing.T) {
	for _, tc := range []struct {
		behind bool
		early  int // early submissions of the second 12 requests
	}{
		// A wait that sleeps raises the threshold from 2 to 6: the
		// kernel takes the next requests at once while it holds < 6.
		{behind: true, early: 6},
		{behind: false, early: 2},
	} {
		const blocks = 64
		var inSubmit bool
		var ring *pacedRing
		m := newStripeMapper(blocks, bs, 1)
		e, _ := newEngine(t, blocks*bs, m, func(c *engine.Config) {
			c.QueueDepth = 16
			c.EagerSubmit = 2
			c.NewRing = func(o engine.RingOptions) (engine.Ring, error) {
				r, err := engine.NewIOURing(o)
				ring = &pacedRing{countingRing: countingRing{Ring: r, inSubmit: &inSubmit}, behind: tc.behind}
				return ring, err
			}
		})
		f, _ := e.Open("f", engine.FileOptions{})
		q, err := e.NewQueue()
		if err != nil {
			t.Fatal(err)
		}
		reqs := make([]engine.Request, 24)
		submit := func(rs []engine.Request) {
			for i := range rs {
				rs[i] = engine.Request{File: f, Offset: uint64(i) * bs, Buf: e.Buffer(bs)}
				submitFlagged(t, q, &inSubmit, &rs[i])
			}
		}
		reap := func(n int) {
			done, err := q.Reap(nil, n)
			if err != nil || len(done) != n {
				t.Fatalf("behind %v: reaped %d of %d, %v", tc.behind, len(done), n, err)
			}
			for _, r := range done {
				if r.Err != nil {
					t.Errorf("behind %v: %v", tc.behind, r.Err)
				}
			}
		}
		submit(reqs[:12])
		if ring.early != 2 {
			t.Errorf("behind %v: %d early submissions of the first 12 requests, want 2", tc.behind, ring.early)
		}
		waits := ring.waits
		reap(12) // one wait, or more where the loop device was slow to complete all 12
		want, n := tc.early, ring.waits-waits
		if tc.behind && n > 1 {
			// Each wait that slept raised the threshold by 4.
			want = min(tc.early+4*(n-1), 12)
		}
		before := ring.early
		submit(reqs[12:])
		if got := ring.early - before; got != want && (tc.behind || n == 1) {
			t.Errorf("behind %v: %d early submissions of the second 12 requests, want %d", tc.behind, got, want)
		}
		reap(12)
		q.Close()
	}
}

// TestNullRingNoSystemCalls: the null ring completes each I/O when it is
// submitted and never enters the kernel, as fio's null engine; a batch
// larger than the queue goes in the queue's depth at a time, and
// everything comes back once, with its whole length.
func TestNullRingNoSystemCalls(t *testing.T) {
	const blocks = 64
	m := newStripeMapper(blocks, bs, 1)
	e, _ := newEngine(t, blocks*bs, m, func(c *engine.Config) { c.QueueDepth = 8; c.NewRing = engine.NewNullRing })
	f, _ := e.Open("f", engine.FileOptions{})
	q, err := e.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for round := range 3 {
		reqs := make([]engine.Request, 6+round*5) // 6, 11, 16: within, above and twice the depth
		for i := range reqs {
			reqs[i] = engine.Request{File: f, Offset: uint64(i%blocks) * bs, Buf: e.Buffer(bs), Write: i%3 == 0}
		}
		seen := make(map[*engine.Request]bool)
		for i := range reqs {
			if err := q.Submit(&reqs[i]); err != nil {
				t.Fatal(err)
			}
			if i%4 == 3 { // reap some along the way, as a caller at depth does
				done, err := q.Reap(nil, 1)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range done {
					seen[r] = true
				}
			}
		}
		for len(seen) < len(reqs) {
			done, err := q.Reap(nil, 1)
			if err != nil || len(done) == 0 {
				t.Fatalf("round %d: reaped %d, %v, with %d of %d back", round, len(done), err, len(seen), len(reqs))
			}
			for _, r := range done {
				if seen[r] {
					t.Fatalf("round %d: request at %d handed back twice", round, r.Offset)
				}
				seen[r] = true
				if r.Err != nil || r.N != bs {
					t.Errorf("round %d: request at %d: %d bytes, %v", round, r.Offset, r.N, r.Err)
				}
			}
		}
		for i := range reqs {
			e.PutBuffer(reqs[i].Buf)
		}
	}
	if n := e.Stats().RingEnters; n != 0 {
		t.Errorf("%d io_uring_enter calls, want 0", n)
	}
}

// TestNopRingNeverEager: a NOP completes within the call that submits it,
// so a queue over NOPs leaves every submission to the wait: one
// io_uring_enter per batch, and every request back with its length.
func TestNopRingNeverEager(t *testing.T) {
	const blocks = 64
	m := newStripeMapper(blocks, bs, 1)
	e, _ := newEngine(t, blocks*bs, m, func(c *engine.Config) { c.QueueDepth = 8; c.NewRing = engine.NewNopRing })
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
	done, err := q.Reap(nil, len(reqs))
	if err != nil || len(done) != len(reqs) {
		t.Fatalf("reaped %d, %v", len(done), err)
	}
	for _, r := range done {
		if r.Err != nil || r.N != bs {
			t.Errorf("request at %d: %d bytes, %v", r.Offset, r.N, r.Err)
		}
	}
	if n := e.Stats().RingEnters; n != 1 {
		t.Errorf("%d io_uring_enter calls for one batch, want 1", n)
	}
}

// TestResubmitInFlight: a request submitted again before it was handed
// back is refused with ErrInFlight, on a caller's queue (also twice in one
// Submit, which then submits nothing) and through Engine.Submit; once
// handed back (Reap, Done, a queue's Close dropping it) it can go again.
func TestResubmitInFlight(t *testing.T) {
	const blocks = 64
	m := newStripeMapper(blocks, bs, 1)
	e, _ := newEngine(t, blocks*bs, m, func(c *engine.Config) { c.QueueDepth = 8 })
	f, q := fileAndQueue(t, e)
	a := &engine.Request{File: f, Offset: 0, Buf: e.Buffer(bs)}
	b := &engine.Request{File: f, Offset: bs, Buf: e.Buffer(bs)}
	if err := q.Submit(a); err != nil {
		t.Fatal(err)
	}
	if err := q.Submit(a); !errors.Is(err, engine.ErrInFlight) {
		t.Fatalf("resubmitting a request in flight: %v, want ErrInFlight", err)
	}
	if err := q.Submit(b, a); !errors.Is(err, engine.ErrInFlight) {
		t.Fatalf("a batch holding a request in flight: %v, want ErrInFlight", err)
	}
	if n := q.InFlight(); n != 1 {
		t.Fatalf("%d requests in flight after the refused batch, want 1 (b must not have gone)", n)
	}
	done, err := q.Reap(nil, 1)
	if err != nil || len(done) != 1 || done[0] != a || a.Err != nil {
		t.Fatalf("reap: %v %v, a.Err %v", done, err, a.Err)
	}
	if err := q.Submit(b, b); !errors.Is(err, engine.ErrInFlight) {
		t.Fatalf("the same request twice in one batch: %v, want ErrInFlight", err)
	}
	if err := q.Submit(a, b); err != nil {
		t.Fatalf("resubmitting after Reap: %v", err)
	}
	if done, err = q.Reap(done[:0], 2); err != nil || len(done) != 2 {
		t.Fatalf("reap: %d, %v", len(done), err)
	}
	// A queue closed with a request never reaped drops it: it is free.
	if err := q.Submit(a); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	ch := make(chan *engine.Request, 2)
	a.Done = ch
	if err := e.Submit(a); err != nil {
		t.Fatalf("submitting the request a closed queue dropped: %v", err)
	}
	if err := e.Submit(a); !errors.Is(err, engine.ErrInFlight) {
		// It may have completed already: only a refusal or its Done counts.
		if err != nil {
			t.Fatal(err)
		}
		<-ch
	}
	if r := <-ch; r != a || a.Err != nil {
		t.Fatalf("Done: %v, err %v", r, a.Err)
	}
	if err := e.Submit(a); err != nil {
		t.Fatalf("resubmitting after Done: %v", err)
	}
	<-ch
}

// TestNoSubmitLatency: with Config.NoSubmitLatency no request gets a
// SubmitLatency, and its Latency is still measured; without it, the same
// requests have one (a clock reading when their I/O went to the ring).
func TestNoSubmitLatency(t *testing.T) {
	const blocks = 64
	for _, off := range []bool{false, true} {
		m := newStripeMapper(blocks, bs, 1)
		e, _ := newEngine(t, blocks*bs, m, func(c *engine.Config) {
			c.QueueDepth, c.NewRing, c.NoSubmitLatency = 8, engine.NewNullRing, off
		})
		f, _ := e.Open("f", engine.FileOptions{})
		q, err := e.NewQueue()
		if err != nil {
			t.Fatal(err)
		}
		withSlat, withLat := 0, 0
		for i := range 200 {
			r := &engine.Request{File: f, Offset: uint64(i%blocks) * bs, Buf: e.Buffer(bs), Write: i%2 == 0}
			if err := q.Submit(r); err != nil {
				t.Fatal(err)
			}
			done, err := q.Reap(nil, 1)
			if err != nil || len(done) != 1 || done[0].Err != nil {
				t.Fatalf("NoSubmitLatency %v: reap %d, %v", off, len(done), err)
			}
			if r.SubmitLatency > 0 {
				withSlat++
			}
			if r.Latency > 0 {
				withLat++
			}
			if r.SubmitLatency > r.Latency {
				t.Fatalf("NoSubmitLatency %v: SubmitLatency %v above Latency %v", off, r.SubmitLatency, r.Latency)
			}
		}
		q.Close()
		if off && withSlat != 0 {
			t.Errorf("NoSubmitLatency: %d of 200 requests have a SubmitLatency", withSlat)
		}
		if !off && withSlat == 0 {
			t.Errorf("default: no request of 200 has a SubmitLatency")
		}
		if withLat < 190 {
			t.Errorf("NoSubmitLatency %v: only %d of 200 requests have a Latency", off, withLat)
		}
	}
}
