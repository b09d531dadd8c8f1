package engine_test

import (
	"testing"
	"time"

	"github.com/iobench/iobench/engine"
)

// pollRing is a stingyRing whose oldest submitted operation completes
// while the queue polls it: after pollsToComplete calls of Pending, one
// completion becomes available (a negative count: never while polling,
// only when waited on).
type pollRing struct {
	stingyRing
	pollsToComplete int
	polls           int
	submitted       int // operations handed to the kernel (Submit)
}

func (r *pollRing) Queue(op *engine.Op) bool { return r.stingyRing.Queue(op) }

func (r *pollRing) Submit(waitNr int, timeout time.Duration) error {
	r.submitted = len(r.queued)
	return r.stingyRing.Submit(waitNr, timeout)
}

func (r *pollRing) Pending() bool {
	if len(r.avail) > 0 {
		return true
	}
	r.polls++
	if r.pollsToComplete < 0 || r.polls < r.pollsToComplete || r.submitted == 0 {
		return false
	}
	r.polls = 0
	r.avail = append(r.avail, r.queued[0])
	r.queued = r.queued[1:]
	r.submitted--
	return true
}

// fileAndQueue opens file "f" of e and a queue of e; the caller closes
// the queue.
func fileAndQueue(t *testing.T, e *engine.Engine) (*engine.File, *engine.Queue) {
	t.Helper()
	f, err := e.Open("f", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := e.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	return f, q
}

// spinQueue returns an engine and queue of the given depth over ring, with
// Config.SpinWait spin, no early submission and no yield.
func spinQueue(t *testing.T, ring engine.Ring, depth int, spin time.Duration) (*engine.Engine, *engine.File, *engine.Queue) {
	t.Helper()
	e, f, q, _ := spinQueueOpts(t, ring, depth, spin)
	return e, f, q
}

// spinQueueOpts is spinQueue that also returns the options of every ring
// the engine asked for: its own queue's, then the returned queue's.
func spinQueueOpts(t *testing.T, ring engine.Ring, depth int, spin time.Duration) (*engine.Engine, *engine.File, *engine.Queue, *[]engine.RingOptions) {
	t.Helper()
	const blocks = 64
	asked := new([]engine.RingOptions)
	e, _ := newEngine(t, blocks*bs, newStripeMapper(blocks, bs, 3), func(c *engine.Config) {
		c.QueueDepth = depth
		c.EagerSubmit = -1
		c.NoYield = true
		c.NoFollow = true
		c.SpinWait = spin
		c.NewRing = func(o engine.RingOptions) (engine.Ring, error) {
			*asked = append(*asked, o)
			return ring, nil
		}
	})
	f, q := fileAndQueue(t, e)
	t.Cleanup(func() { q.Close() })
	return e, f, q, asked
}

// submitBlocks submits n one-block reads of f.
func submitBlocks(t *testing.T, e *engine.Engine, f *engine.File, q *engine.Queue, n int) []engine.Request {
	t.Helper()
	reqs := make([]engine.Request, n)
	for i := range reqs {
		reqs[i] = engine.Request{File: f, Offset: uint64(i) * bs, Buf: e.Buffer(bs)}
		if err := q.Submit(&reqs[i]); err != nil {
			t.Fatal(err)
		}
	}
	return reqs
}

// TestSpinWaitTakesCompletionsWithoutSleeping: with SpinWait, a queue
// whose completions arrive while it polls takes them without a wait: the
// ring sees no wait for them, and Stats count each poll and each that found
// a completion.
func TestSpinWaitTakesCompletionsWithoutSleeping(t *testing.T) {
	ring := &pollRing{pollsToComplete: 5}
	e, f, q := spinQueue(t, ring, 8, time.Second)
	submitBlocks(t, e, f, q, 8)
	got := 0
	for got < 8 {
		done, err := q.Reap(nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range done {
			if r.Err != nil {
				t.Fatalf("request at %d: %v", r.Offset, r.Err)
			}
		}
		got += len(done)
	}
	// Every completion came while polling but the last: with one I/O in
	// flight the queue waits at once.
	if len(ring.waits) != 1 || ring.waits[0] != 1 {
		t.Errorf("the ring saw waits %v, want only the last one's", ring.waits)
	}
	s := e.Stats()
	if s.Spins != 7 || s.SpinHits != 7 {
		t.Errorf("Spins %d, SpinHits %d; want 7 and 7 (one per completion with 2 or more in flight)", s.Spins, s.SpinHits)
	}
}

// TestSpinWaitBounded: a poll that finds nothing ends after SpinWait, and
// the queue then waits for its completion as without polling.
func TestSpinWaitBounded(t *testing.T) {
	const spin = 2 * time.Millisecond
	ring := &pollRing{pollsToComplete: -1}
	e, f, q := spinQueue(t, ring, 4, spin)
	submitBlocks(t, e, f, q, 4)
	start := time.Now()
	done, err := q.Reap(nil, 1)
	if err != nil || len(done) != 1 {
		t.Fatalf("reaped %d, %v", len(done), err)
	}
	if d := time.Since(start); d < spin {
		t.Errorf("Reap returned after %v: the poll should last %v before the wait", d, spin)
	}
	if len(ring.waits) != 1 || ring.waits[0] != 1 {
		t.Errorf("waits %v, want one wait for one completion after the poll", ring.waits)
	}
	if s := e.Stats(); s.Spins != 1 || s.SpinHits != 0 {
		t.Errorf("Spins %d, SpinHits %d; want 1 and 0", s.Spins, s.SpinHits)
	}
}

// TestSpinWaitOff: with a negative SpinWait, at depth 1, and over a ring that
// cannot be polled, a queue never polls; it waits.
func TestSpinWaitOff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ring  engine.Ring
		depth int
		spin  time.Duration
	}{
		{"SpinWait negative", &pollRing{pollsToComplete: 1}, 4, -1},
		{"one I/O in flight", &pollRing{pollsToComplete: 1}, 1, time.Second},
		{"a ring without Pending", &stingyRing{}, 4, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, f, q := spinQueue(t, tc.ring, tc.depth, tc.spin)
			submitBlocks(t, e, f, q, tc.depth)
			if done, err := q.Reap(nil, tc.depth); err != nil || len(done) != tc.depth {
				t.Fatalf("reaped %d, %v", len(done), err)
			}
			if p, ok := tc.ring.(*pollRing); ok && p.polls != 0 {
				t.Errorf("the ring was polled %d times", p.polls)
			}
			if s := e.Stats(); s.Spins != 0 {
				t.Errorf("Spins %d, want 0", s.Spins)
			}
		})
	}
}

// TestSpinAutoDepth: left to measure (SpinWait 0), a queue deeper than 16
// never polls and asks for a ring that need not be pollable
// (RingOptions.Polled false, which leaves out io_uring's TASKRUN_FLAG); at
// 16 and below it asks for a pollable ring, and so does any queue told to
// poll (SpinWait above 0), whatever its depth.
func TestSpinAutoDepth(t *testing.T) {
	for _, tc := range []struct {
		depth      int
		spin       time.Duration
		wantPolled bool
	}{
		{16, 0, true},
		{17, 0, false},
		{64, 0, false},
		{64, time.Millisecond, true},
		{4, -1, false},
	} {
		ring := &pollRing{pollsToComplete: 1}
		e, f, q, opts := spinQueueOpts(t, ring, tc.depth, tc.spin)
		asked := *opts
		if len(asked) == 0 || asked[len(asked)-1].Polled != tc.wantPolled {
			t.Errorf("depth %d, SpinWait %v: ring options %+v, want Polled %v", tc.depth, tc.spin, asked, tc.wantPolled)
		}
		if !tc.wantPolled {
			submitBlocks(t, e, f, q, tc.depth)
			if done, err := q.Reap(nil, tc.depth); err != nil || len(done) != tc.depth {
				t.Fatalf("depth %d: reaped %d, %v", tc.depth, len(done), err)
			}
			if ring.polls != 0 || e.Stats().Spins != 0 {
				t.Errorf("depth %d, SpinWait %v: polled %d times (Spins %d), want never", tc.depth, tc.spin, ring.polls, e.Stats().Spins)
			}
		}
	}
}

// deferRing is a stingyRing whose completions, once the device has done
// them (done), wait in the kernel to be posted until the ring is entered,
// as deferred task work does: a flushing Reap enters (counted) and posts
// them, ReapPosted takes only what is posted, and any Submit posts them.
type deferRing struct {
	stingyRing
	done    []engine.Completion // completed, not posted
	flushes int                 // Reap calls that entered the kernel to post
}

func (r *deferRing) post() { r.avail, r.done = append(r.avail, r.done...), r.done[:0] }

func (r *deferRing) Submit(waitNr int, timeout time.Duration) error {
	r.post()
	if waitNr > len(r.avail) {
		return r.stingyRing.Submit(waitNr-len(r.avail), timeout)
	}
	r.enters++
	if waitNr > 0 {
		r.waits = append(r.waits, waitNr)
	}
	return nil
}

func (r *deferRing) Reap(dst []engine.Completion) int {
	if len(r.avail) == 0 && len(r.done) > 0 {
		r.enters++
		r.flushes++
		r.post()
	}
	return r.stingyRing.Reap(dst)
}

func (r *deferRing) ReapPosted(dst []engine.Completion) (int, bool) {
	n := r.stingyRing.Reap(dst)
	return n, n < len(dst) && len(r.done) > 0
}

// TestWaitPostsDeferredCompletions: a queue about to wait for a
// completion the kernel holds unposted (deferred task work) does not enter
// the kernel once to post it and again to wait: its wait posts it, one
// io_uring_enter per reap, as fio's wait does.
func TestWaitPostsDeferredCompletions(t *testing.T) {
	ring := &deferRing{}
	e, f, q := spinQueue(t, ring, 4, 0)
	submitBlocks(t, e, f, q, 4)
	for i := range 8 {
		// The device finishes the oldest I/O; the kernel holds it.
		if err := q.Flush(); err != nil {
			t.Fatal(err)
		}
		ring.done = append(ring.done, ring.queued[0])
		ring.queued = ring.queued[1:]
		enters := ring.enters
		done, err := q.Reap(nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(done) != 1 || done[0].Err != nil {
			t.Fatalf("reap %d: %d requests (%v), want 1", i, len(done), done)
		}
		if calls := ring.enters - enters; calls != 1 {
			t.Errorf("reap %d: %d ring entries, want 1 (the wait, posting the completion)", i, calls)
		}
		r := done[0]
		r.Offset = uint64(4+i) % 64 * bs
		if err := q.Submit(r); err != nil {
			t.Fatal(err)
		}
	}
	if ring.flushes != 0 {
		t.Errorf("%d reaps entered the kernel only to post completions", ring.flushes)
	}
}
