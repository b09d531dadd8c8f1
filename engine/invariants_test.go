//go:build race || invariants

package engine

import (
	"strings"
	"sync/atomic"
	"testing"
)

// The queue checker must catch each kind of inconsistency it names.
func TestQueueInvariantsCatchViolations(t *testing.T) {
	newQ := func() *Queue {
		q := &Queue{depth: 4, slots: make([]piece, 4), freeSlot: []uint32{3, 2, 1, 0}}
		q.epochs.init()
		return q
	}
	r := &Request{pending: 1}
	cases := []struct {
		name    string
		corrupt func(q *Queue)
		want    string
	}{
		{"slot free twice", func(q *Queue) { q.freeSlot = []uint32{3, 3} }, "free twice"},
		{"free slot with a piece", func(q *Queue) { q.slots[0].req = r; q.requests = 1 }, "free slot 0 holds"},
		{"busy slot without a piece", func(q *Queue) { q.freeSlot = q.freeSlot[:3] }, "holds no piece"},
		{"pending below pieces", func(q *Queue) {
			q.freeSlot = []uint32{3, 2}
			q.slots[0].req, q.slots[1].req = r, r
			q.requests = 1
		}, "pending 1"},
		{"requests below owners", func(q *Queue) {
			q.freeSlot = q.freeSlot[1:] // slot 3 is busy
			q.slots[3].req = r
		}, "the queue counts 0"},
		{"oldest epoch too high", func(q *Queue) {
			q.epochs.enter(5, true)
			atomic.StoreUint64(&q.epochs.oldest, 9)
		}, "published oldest epoch 9"},
	}
	if err := catch(newQ().checkInvariants); err != "" {
		t.Fatalf("a consistent queue fails the check: %s", err)
	}
	for _, c := range cases {
		q := newQ()
		c.corrupt(q)
		got := catch(q.checkInvariants)
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: check said %q, want it to mention %q", c.name, got, c.want)
		}
	}
}

func catch(f func()) (msg string) {
	defer func() {
		if v := recover(); v != nil {
			msg = v.(string)
		}
	}()
	f()
	return ""
}
