package engine

import "time"

// nullRing is a Ring that does no device I/O and makes no system calls:
// an operation completes when it is submitted, with its whole length
// transferred (a read leaves its buffer as it was), as fio's null engine
// completes its I/O in its own process. A run over it measures the
// engine's own path (lookups, splitting, request handling and the
// caller's) and nothing of the kernel's.
type nullRing struct {
	entries int
	// cq[:done] are submitted (so complete) and not yet reaped, in the
	// order queued; cq[done:] are queued and not yet submitted. One
	// slice, so that a Submit moves nothing and a Reap of all that is
	// done (the commonest) copies only what it hands out.
	cq   []Completion
	done int
}

// NewNullRing is a RingFactory for rings that do no device I/O (see
// nullRing). Set-up options that concern the kernel (SQPoll, IOPoll, ...)
// have nothing to act on and are ignored.
func NewNullRing(opts RingOptions) (Ring, error) {
	n := int(max(opts.Entries, 1))
	return &nullRing{entries: n, cq: make([]Completion, 0, 3*n)}, nil
}

// Queue takes op, up to the ring's entries, as the kernel's submission
// queue would. Its result is the length it names: bytes transferred for
// reads, writes and trims, 0 for a sync (which has no length).
func (r *nullRing) Queue(op *Op) bool {
	if len(r.cq)-r.done >= r.entries {
		return false
	}
	res := int32(op.Len)
	if op.Sync != NoSync {
		res = 0
	}
	r.cq = append(r.cq, Completion{UserData: op.UserData, Res: res})
	return true
}

// Submit completes everything queued. A wait for more completions than
// there are can never be met, as on a real ring: a timed one sleeps its
// timeout (which is what the kernel would do), an untimed one returns at
// once rather than never.
func (r *nullRing) Submit(waitNr int, timeout time.Duration) error {
	r.done = len(r.cq)
	if waitNr > r.done && timeout > 0 {
		time.Sleep(timeout)
	}
	return nil
}

// Reap copies completions one by one: a reap takes a few, for which a
// loop costs less than a call to copy's memmove (two such calls were 46
// of the null engine's 2283 instructions per I/O at depth 1).
func (r *nullRing) Reap(dst []Completion) int {
	n := min(len(dst), r.done)
	for i := range n {
		dst[i] = r.cq[i]
	}
	if n == len(r.cq) {
		r.cq, r.done = r.cq[:0], 0
		return n
	}
	r.cq = r.cq[:copy(r.cq, r.cq[n:])]
	r.done -= n
	return n
}

// Pending implements PendingRing: what was submitted is complete.
func (r *nullRing) Pending() bool { return r.done > 0 }

func (r *nullRing) RegisterBuffers([][]byte) error { return nil }
func (r *nullRing) RegisterFiles([]int32) error    { return nil }

func (r *nullRing) Info() string {
	return "null (no device I/O and no system calls: each I/O completes when submitted)"
}

func (r *nullRing) Enters() uint64 { return 0 }
func (r *nullRing) Close() error   { return nil }
