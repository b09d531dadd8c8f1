package engine

// SetFastPath turns issueFast on or off for q (it is on unless a test
// turns it off), so that a test can run the same requests through the
// fast and the general path.
func (q *Queue) SetFastPath(on bool) { q.noFast = !on }

// FastIssued returns how many requests q issued by the fast path, and
// whether it counted them (only invariant builds do).
func (q *Queue) FastIssued() (int, bool) { return q.fastIssued, invariants }

// Checked reports whether this build runs the queue's invariant checks
// (race builds, -tags invariants): its data path is several times slower,
// too slow for timings between I/Os that hold in the build that ships.
const Checked = invariants
