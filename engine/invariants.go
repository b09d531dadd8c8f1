package engine

import (
	"fmt"
	"sync/atomic"
)

// checkInvariants panics when the queue's counts disagree with each other.
// It runs only in invariant builds (race, or -tags invariants).
//
//   - Every slot is either free or holds a piece of a live request:
//     len(freeSlot) + in-flight slots == depth, no index is free twice.
//   - Every request with pieces on the backlog or in a slot has pending at
//     least that many, and the queue counts at least as many requests as
//     there are distinct such requests; single counts exactly the
//     requests with one pending piece.
//   - The published oldest epoch is the smallest live epoch run.
func (q *Queue) checkInvariants() {
	if !invariants {
		return
	}
	if len(q.freeSlot) > q.depth {
		panic(fmt.Sprintf("engine: invariant violated: %d free slots in a queue of depth %d", len(q.freeSlot), q.depth))
	}
	free := make([]bool, q.depth)
	for _, s := range q.freeSlot {
		if int(s) >= q.depth || free[s] {
			panic(fmt.Sprintf("engine: invariant violated: slot %d free twice or out of range", s))
		}
		free[s] = true
	}
	pieces := make(map[*Request]int)
	for i := range q.slots {
		p := &q.slots[i]
		switch {
		case free[i] && p.req != nil:
			panic(fmt.Sprintf("engine: invariant violated: free slot %d holds a piece", i))
		case !free[i] && p.req == nil:
			panic(fmt.Sprintf("engine: invariant violated: busy slot %d holds no piece", i))
		case !free[i]:
			pieces[p.req] += max(int(p.parts), 1)
		}
	}
	for i := q.bhead; i < len(q.backlog); i++ {
		pieces[q.backlog[i].req]++
	}
	single := 0
	for r, n := range pieces {
		if r.pending < n {
			panic(fmt.Sprintf("engine: invariant violated: request @%d has %d pieces queued but pending %d", r.Offset, n, r.pending))
		}
		if r.pending == 1 {
			single++
		}
	}
	if single != q.single {
		panic(fmt.Sprintf("engine: invariant violated: %d requests with one piece pending, the queue counts %d of %d", single, q.single, q.requests))
	}
	if len(pieces) > q.requests {
		panic(fmt.Sprintf("engine: invariant violated: %d requests have pieces, the queue counts %d", len(pieces), q.requests))
	}
	var live uint64
	var have bool
	for i := q.epochs.head; i < len(q.epochs.runs); i++ {
		if q.epochs.runs[i].n < 0 {
			panic(fmt.Sprintf("engine: invariant violated: epoch %d has %d requests", q.epochs.runs[i].epoch, q.epochs.runs[i].n))
		}
		if !have && q.epochs.runs[i].n > 0 {
			live, have = q.epochs.runs[i].epoch, true
		}
	}
	if have && atomic.LoadUint64(&q.epochs.oldest) > live {
		panic(fmt.Sprintf("engine: invariant violated: published oldest epoch %d is above live epoch %d", atomic.LoadUint64(&q.epochs.oldest), live))
	}
}
