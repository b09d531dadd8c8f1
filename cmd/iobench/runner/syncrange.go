package runner

import (
	"slices"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/workloads"
)

// rangeSyncs is a clone's sync_file_range=flags:n: after every n writes
// issued, each file written since its last sync_file_range gets one over
// the range its completed writes spanned since then ([lowest offset,
// highest end), as fio tracks a file's first and last write; a flush of
// fsync= or fdatasync= starts the ranges afresh, as in fio), as an
// engine.SyncRange request, which the engine translates to the device
// ranges under it.
//
// Where fio 3.33 departs: its sync goes to the one file whose turn it
// is in the file rotation (taking that turn), so with several files the
// others' ranges wait, or are never synced; iobench syncs every file
// written, one call each, in file order, and a point at which no write
// has completed since the last one (a deep queue) syncs nothing. fio
// starts each file's first range at offset 0; iobench at its first write.
type rangeSyncs struct {
	every  uint64
	flags  engine.SyncRangeFlags
	at     uint64 // the writes issued (worker.writeGen) at the last sync point
	files  []*engine.File
	ranges []written  // by index in files: completed writes since the last sync
	due    []rangeDue // the calls of the point under way, not yet issued
}

// written is the span of a file's completed writes, [lo, hi); hi == 0 is
// none.
type written struct{ lo, hi uint64 }

// rangeDue is one file's sync_file_range at the point under way.
type rangeDue struct {
	f   *engine.File
	off uint64
	n   uint64
}

func newRangeSyncs(j *workloads.Job, files []*engine.File) *rangeSyncs {
	return &rangeSyncs{every: uint64(j.SyncFileRangeEvery), flags: engine.SyncRangeFlags(j.SyncFileRangeFlags),
		files: files, ranges: make([]written, len(files))}
}

// isDue reports whether a sync point is due with writes writes issued.
func (s *rangeSyncs) isDue(writes uint64) bool { return writes-s.at >= s.every }

// flushed says a flush (fsync=, fdatasync=) was issued with writes
// writes issued: it covers every write completed so far, so the ranges
// start afresh, and a sync point due at this count is skipped.
func (s *rangeSyncs) flushed(writes uint64) {
	if s.isDue(writes) {
		s.at = writes
	}
	clear(s.ranges)
}

// wrote adds a completed write of n bytes at off of f to its range.
func (s *rangeSyncs) wrote(f *engine.File, off, n uint64) {
	i := 0
	if len(s.files) > 1 {
		if i = slices.Index(s.files, f); i < 0 {
			return // not one of the clone's files (cannot happen)
		}
	}
	w := &s.ranges[i]
	if w.hi == 0 {
		w.lo, w.hi = off, off+n
		return
	}
	w.lo, w.hi = min(w.lo, off), max(w.hi, off+n)
}

// collect starts a sync point: each file's range becomes a call due and
// the file's range starts afresh. It reports whether any call is due.
func (s *rangeSyncs) collect() bool {
	for i := range s.ranges {
		w := &s.ranges[i]
		if w.hi == 0 {
			continue // unwritten, or a file named twice (wrote notes the first)
		}
		s.due = append(s.due, rangeDue{s.files[i], w.lo, w.hi - w.lo})
		*w = written{}
	}
	return len(s.due) > 0
}

// fill makes r the next call due.
func (s *rangeSyncs) fill(r *engine.Request) {
	d := s.due[0]
	s.due = s.due[1:]
	r.File, r.Sync, r.SyncFlags, r.Trim, r.Write = d.f, engine.SyncRange, s.flags, false, false
	r.Offset, r.Length = d.off, int(d.n)
}
