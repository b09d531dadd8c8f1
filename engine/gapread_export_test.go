package engine

// ReadvFixedAvailable reports whether the kernel's io_uring takes
// IORING_OP_READV_FIXED, as the engine found it.
func ReadvFixedAvailable() bool { return probeReadvFixed() }

// SetGapCosts makes the read-gap controllers of queues made from now on
// (Config.ReadGapAuto) measure on clocks that advance, per request the
// queue finishes, by the given ns of CPU time and wall time, as the queue
// merges or not; restore puts the real clocks back.
func SetGapCosts(mergedCPU, mergedWall, apartCPU, apartWall int64) (restore func()) {
	old := gapClocks
	gapClocks = func(q *Queue) (func() int64, func() int64) {
		var cpu, wall int64
		var seen uint64
		// The requests finished since the last reading ran the way the
		// controller runs now: it changes ways only when it reads.
		advance := func() {
			n := int64(q.finishedN - seen)
			seen = q.finishedN
			if q.gapCtl != nil && q.gapCtl.on {
				cpu, wall = cpu+n*mergedCPU, wall+n*mergedWall
			} else {
				cpu, wall = cpu+n*apartCPU, wall+n*apartWall
			}
		}
		return func() int64 { advance(); return cpu }, func() int64 { advance(); return wall }
	}
	return func() { gapClocks = old }
}

// GapState reports whether q made its read-gap controller, whether it
// merges now, and how many probes it ended.
func GapState(q *Queue) (made, merging bool, probes uint64) {
	if q.gapCtl == nil {
		return false, false, 0
	}
	return true, q.gapCtl.on, q.gapCtl.probes
}
