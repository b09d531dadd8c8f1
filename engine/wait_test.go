package engine_test

import (
	"slices"
	"testing"
	"time"

	"github.com/iobench/iobench/engine"
)

// stingyRing completes nothing until it is waited on, and then exactly as
// many of the operations handed to it as the wait asks for, oldest first:
// the waits a queue makes are then the ones the test sees.
type stingyRing struct {
	queued, avail []engine.Completion
	waits         []int
	enters        uint64
}

func (r *stingyRing) Queue(op *engine.Op) bool {
	r.queued = append(r.queued, engine.Completion{UserData: op.UserData, Res: int32(op.Len)})
	return true
}

func (r *stingyRing) Submit(waitNr int, _ time.Duration) error {
	r.enters++
	if waitNr > 0 {
		r.waits = append(r.waits, waitNr)
		n := min(waitNr, len(r.queued))
		r.avail = append(r.avail, r.queued[:n]...)
		r.queued = r.queued[n:]
	}
	return nil
}

func (r *stingyRing) Reap(dst []engine.Completion) int {
	n := copy(dst, r.avail)
	r.avail = r.avail[n:]
	return n
}

func (r *stingyRing) RegisterBuffers([][]byte) error { return nil }
func (r *stingyRing) RegisterFiles([]int32) error    { return nil }
func (r *stingyRing) Info() string                   { return "stingy" }
func (r *stingyRing) Enters() uint64                 { return r.enters }
func (r *stingyRing) Close() error                   { return nil }

// stingyQueue returns a queue of the given depth over a stingyRing, on a
// file of the given number of blocks that a stripeMapper scatters over
// the device, with no early submission and no yield (every wait is one
// the ring sees).
func stingyQueue(t *testing.T, blocks, depth int) (*stingyRing, *stripeMapper, *engine.Engine, *engine.File, *engine.Queue) {
	t.Helper()
	ring := &stingyRing{}
	m := newStripeMapper(blocks, bs, 7)
	e, _ := newEngine(t, int64(blocks)*bs, m, func(c *engine.Config) {
		c.QueueDepth = depth
		c.EagerSubmit = -1
		c.NoYield = true
		c.NewRing = func(engine.RingOptions) (engine.Ring, error) { return ring, nil }
	})
	f, q := fileAndQueue(t, e)
	t.Cleanup(func() { q.Close() })
	return ring, m, e, f, q
}

// TestWaitForWholeRequest: a queue whose requests all have several device
// I/Os outstanding waits for as many completions as the one closest to
// finishing needs, in one wait, rather than for one completion at a time;
// while a request one completion can finish is in flight, it waits for
// one at a time, and so it does while device I/Os wait for ring slots
// (TestWaitForSlots).
func TestWaitForWholeRequest(t *testing.T) {
	const blocks = 64
	for _, tc := range []struct {
		name  string
		sizes []int // blocks of each request, submitted in order
	}{
		{"one split request", []int{5}},
		{"two split requests", []int{6, 3}},
		{"three split requests", []int{2, 7, 4}},
		{"a single-block request behind", []int{5, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ring, m, e, f, q := stingyQueue(t, blocks, 32)
			reqs := make([]engine.Request, len(tc.sizes))
			pending := make([]int, len(tc.sizes)) // device I/Os per request
			var b uint64
			for i, n := range tc.sizes {
				reqs[i] = engine.Request{File: f, Offset: b * bs, Buf: e.Buffer(n * bs)}
				pending[i] = 1
				for k := b + 1; k < b+uint64(n); k++ {
					if m.perm[k] != m.perm[k-1]+1 {
						pending[i]++
					}
				}
				b += uint64(n)
				if err := q.Submit(&reqs[i]); err != nil {
					t.Fatal(err)
				}
			}
			if len(ring.queued) != sum(pending) {
				t.Fatalf("%d device I/Os on the ring, want %d", len(ring.queued), sum(pending))
			}
			pieces := slices.Clone(pending)
			// The waits the queue should make: the fewest pieces any
			// request has left (one while any has one left); the ring
			// completes them in order, the first request's first.
			var want []int
			for !slices.Contains(pending, 0) {
				w := slices.Min(pending)
				want = append(want, w)
				for k := range pending {
					d := min(w, pending[k])
					pending[k] -= d
					if w -= d; w == 0 {
						break
					}
				}
			}
			done, err := q.Reap(nil, 1)
			if err != nil || len(done) != 1 {
				t.Fatalf("reaped %d, %v", len(done), err)
			}
			if !slices.Equal(ring.waits, want) {
				t.Errorf("device I/Os per request %v: waits %v, want %v", pieces, ring.waits, want)
			}
			if slices.Min(pieces) > 1 && len(ring.waits) >= pieces[0] {
				t.Errorf("device I/Os per request %v: %d waits, no fewer than one per device I/O", pieces, len(ring.waits))
			}
			// The rest complete.
			if rest, err := q.Reap(nil, len(reqs)-1); err != nil || len(rest) != len(reqs)-1 {
				t.Fatalf("reaped %d of the rest, %v", len(rest), err)
			}
		})
	}
}

// TestWaitForSlots: while device I/Os of a split request wait for ring
// slots, the queue waits for one completion at a time (each lets one of
// them start); once all are on the ring, for all that are left.
func TestWaitForSlots(t *testing.T) {
	const blocks = 64
	ring, m, e, f, q := stingyQueue(t, blocks, 4)
	// Find six blocks in a row that are six device I/Os.
	start := -1
	for b := 0; b+6 <= blocks && start < 0; b++ {
		start = b
		for k := b + 1; k < b+6; k++ {
			if m.perm[k] == m.perm[k-1]+1 {
				start = -1
				break
			}
		}
	}
	if start < 0 {
		t.Fatal("no six blocks in a row of the stripe mapper are six extents")
	}
	r := engine.Request{File: f, Offset: uint64(start) * bs, Buf: e.Buffer(6 * bs)}
	if err := q.Submit(&r); err != nil {
		t.Fatal(err)
	}
	if done, err := q.Reap(nil, 1); err != nil || len(done) != 1 || done[0].Err != nil {
		t.Fatalf("reaped %d, %v", len(done), err)
	}
	// Four slots: two I/Os wait for them, one completion each; then the
	// four on the ring in one wait.
	if want := []int{1, 1, 4}; !slices.Equal(ring.waits, want) {
		t.Errorf("waits %v, want %v", ring.waits, want)
	}
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}
