package engine

// HoldForWait fixes whether q holds new I/O for its next wait (true) or
// submits it early, as its batchCtl would choose after a probe, with no
// probe for a long while; it reports false when q has no batchCtl.
func (q *Queue) HoldForWait(hold bool) bool {
	if q.batchCtl == nil {
		return false
	}
	q.batchCtl.on, q.batchCtl.step, q.batchCtl.left = hold, len(spinProbeSeq), 1<<40
	return true
}

// RingEnters returns how many times q's ring has entered the kernel.
func (q *Queue) RingEnters() uint64 { return q.ring.Enters() }
