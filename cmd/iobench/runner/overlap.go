package runner

import (
	"slices"
	"time"

	"github.com/iobench/iobench/engine"
)

// serialize_overlap: an I/O is never issued while another I/O of the
// job's that overlaps it is in flight. As in fio, the job stops issuing
// at such an I/O (held) until the completions that block it are reaped,
// so that the order of the job's I/O is kept.

// overlapState is a worker's serialize_overlap bookkeeping.
type overlapState struct {
	flying []*engine.Request // submitted or batched, not yet reaped
	held   *engine.Request   // drawn, waiting for an overlapping I/O to complete
}

// overlaps reports whether r's bytes meet those of a request in flight
// on the same file (flushes move none). Unlike verify's in-flight set
// (overlaps, w.inflight), which holds I/O from when it is drawn, this
// holds I/O from when it is submitted: a held or parked I/O is not in it.
func (o *overlapState) overlaps(r *engine.Request) bool {
	if r.Sync != engine.NoSync {
		return false
	}
	for _, x := range o.flying {
		if x.File == r.File && x.Sync == engine.NoSync && rangesMeet(r.Offset, uint64(r.Length), x.Offset, uint64(x.Length)) {
			return true
		}
	}
	return false
}

// landed drops reaped requests from those in flight.
func (o *overlapState) landed(done []*engine.Request) {
	for _, r := range done {
		if i := slices.Index(o.flying, r); i >= 0 {
			last := len(o.flying) - 1
			o.flying[i] = o.flying[last]
			o.flying[last] = nil
			o.flying = o.flying[:last]
		}
	}
}

// tryHeld admits the held request once nothing in flight overlaps it,
// and reports whether it was submitted now. A run that ended meanwhile
// drops it, as it drops parked requests.
func (w *worker) tryHeld(now time.Time) (bool, error) {
	o := w.ovl
	r := o.held
	if r == nil || o.overlaps(r) {
		return false, nil
	}
	o.held = nil
	if w.stopping || w.pastDeadline || interrupted.Load() || w.stopped() {
		w.idle = append(w.idle, r)
		return false, nil
	}
	return w.admit(r, now)
}
