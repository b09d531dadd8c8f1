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
	queued  []Completion // queued, not yet submitted
	done    []Completion // submitted (so complete), not yet reaped
}

// NewNullRing is a RingFactory for rings that do no device I/O (see
// nullRing). Set-up options that concern the kernel (SQPoll, IOPoll, ...)
// have nothing to act on and are ignored.
func NewNullRing(opts RingOptions) (Ring, error) {
	n := int(max(opts.Entries, 1))
	return &nullRing{entries: n, queued: make([]Completion, 0, n), done: make([]Completion, 0, 2*n)}, nil
}

// Queue takes op, up to the ring's entries, as the kernel's submission
// queue would. Its result is the length it names: bytes transferred for
// reads, writes and trims, 0 for a sync (which has no length).
func (r *nullRing) Queue(op *Op) bool {
	if len(r.queued) >= r.entries {
		return false
	}
	res := int32(op.Len)
	if op.Sync != NoSync {
		res = 0
	}
	r.queued = append(r.queued, Completion{UserData: op.UserData, Res: res})
	return true
}

// Submit completes everything queued. A wait for more completions than
// there are can never be met, as on a real ring: a timed one sleeps its
// timeout (which is what the kernel would do), an untimed one returns at
// once rather than never.
func (r *nullRing) Submit(waitNr int, timeout time.Duration) error {
	r.done = append(r.done, r.queued...)
	r.queued = r.queued[:0]
	if waitNr > len(r.done) && timeout > 0 {
		time.Sleep(timeout)
	}
	return nil
}

func (r *nullRing) Reap(dst []Completion) int {
	n := copy(dst, r.done)
	r.done = r.done[:copy(r.done, r.done[n:])]
	return n
}

// Pending implements PendingRing: what was submitted is complete.
func (r *nullRing) Pending() bool { return len(r.done) > 0 }

func (r *nullRing) RegisterBuffers([][]byte) error { return nil }
func (r *nullRing) RegisterFiles([]int32) error    { return nil }

func (r *nullRing) Info() string {
	return "null (no device I/O and no system calls: each I/O completes when submitted)"
}

func (r *nullRing) Enters() uint64 { return 0 }
func (r *nullRing) Close() error   { return nil }
