package runner

import (
	"iter"
	"time"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/workloads"
)

// writeHistory is what a clone's verify pass reads back: the writes it
// issued, kept as fio 3.33 keeps them for its verify phase, each read
// back whole (its offset and length), one read per write kept.
//
// With a random map (a random job without norandommap, and not
// random_generator=lfsr or a skewed random_distribution, which have no
// map in fio either) every write is
// kept in the order issued, across the clone's files, and read back in
// that order: a block written twice is read twice. Otherwise each file's
// writes are kept by offset, a write dropping every write kept before
// it that it overlaps (all of that write, also the part it does not
// overlap), and read back file by file, in offset order.
//
// A write enters the history when it is issued, as fio logs it; one that
// fails (continue_on_error) leaves it, and so does one read back by
// verify_backlog.
type writeHistory struct {
	ordered bool
	list    []histWrite // ordered: in the order issued; n == 0: dropped
	head    int         // ordered: list[:head] are all dropped
	maps    []*offsetMap
}

// histWrite is one write kept: on the clone's file file, n bytes at off.
type histWrite struct {
	off  uint64
	n    uint32
	file int32
}

// historyOrdered reports whether job j's writes are read back in the order
// issued (fio's list of writes, kept when the job has a random map)
// rather than by offset (fio's tree).
func historyOrdered(j *workloads.Job) bool {
	return j.RW.Random() && !j.NoRandomMap && j.RandomGenerator != "lfsr" && (j.Dist.Kind == "" || j.Dist.Kind == "random")
}

// newWriteHistory returns an empty history for job j's clone, whose files
// have the given regions (base and reach).
func newWriteHistory(j *workloads.Job, bases, reaches []uint64) *writeHistory {
	h := &writeHistory{ordered: historyOrdered(j)}
	if !h.ordered {
		unit := j.MinBS()
		if j.BlockAlign > 0 {
			unit = gcd(unit, j.BlockAlign)
		}
		for k := range bases {
			h.maps = append(h.maps, newOffsetMap(bases[k], reaches[k], unit))
		}
	}
	return h
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return max(a, 1)
}

// add keeps a write of n bytes at off on the clone's file k, issued now.
func (h *writeHistory) add(k int, off, n uint64) {
	if n == 0 {
		return
	}
	if h.ordered {
		h.list = append(h.list, histWrite{off: off, n: uint32(n), file: int32(k)})
		return
	}
	h.maps[k].add(off, n)
}

// drop forgets the write of n bytes at off on file k: the oldest one kept
// (verify_backlog read it back), or with latest the one issued last (it
// failed).
func (h *writeHistory) drop(k int, off, n uint64, latest bool) {
	if k < 0 {
		return
	}
	if !h.ordered {
		h.maps[k].drop(off, n)
		return
	}
	match := func(i int) bool {
		e := &h.list[i]
		if e.n != 0 && e.off == off && uint64(e.n) == n && int(e.file) == k {
			e.n = 0
			return true
		}
		return false
	}
	if latest {
		for i := len(h.list) - 1; i >= h.head && !match(i); i-- {
		}
	} else {
		for i := h.head; i < len(h.list) && !match(i); i++ {
		}
	}
	h.advance()
}

// advance moves head past the writes dropped at the list's start.
func (h *writeHistory) advance() {
	for h.head < len(h.list) && h.list[h.head].n == 0 {
		h.head++
	}
	if h.head == len(h.list) {
		h.list, h.head = h.list[:0], 0
	}
}

// reset forgets the writes kept for file k (unlink_each_loop made it
// afresh).
func (h *writeHistory) reset(k int) {
	if !h.ordered {
		h.maps[k].reset()
		return
	}
	for i := h.head; i < len(h.list); i++ {
		if int(h.list[i].file) == k {
			h.list[i].n = 0
		}
	}
	h.advance()
}

// writes yields the writes kept, in the order the verify pass reads them
// back.
func (h *writeHistory) writes() iter.Seq[histWrite] {
	return func(yield func(histWrite) bool) {
		if h.ordered {
			for _, e := range h.list[h.head:] {
				if e.n != 0 && !yield(e) {
					return
				}
			}
			return
		}
		for k, m := range h.maps {
			for off, n := range m.all() {
				if !yield(histWrite{off: off, n: uint32(n), file: int32(k)}) {
					return
				}
			}
		}
	}
}

// offsetMap keeps a file's writes by offset, none overlapping another: the
// length of the write that starts at each unit of the file's region,
// 0 for none, in pages made as they are first written.
type offsetMap struct {
	base, span, unit uint64
	longest          uint64 // the longest write kept, in units
	pages            [][]uint32
	kept             int // writes kept
}

const offsetPage = 4096 // units per page

func newOffsetMap(base, span, unit uint64) *offsetMap {
	n := (span + unit - 1) / unit
	return &offsetMap{base: base, span: span, unit: unit, pages: make([][]uint32, (n+offsetPage-1)/offsetPage)}
}

func (m *offsetMap) get(u uint64) uint32 {
	if p := u / offsetPage; p < uint64(len(m.pages)) && m.pages[p] != nil {
		return m.pages[p][u%offsetPage]
	}
	return 0
}

func (m *offsetMap) set(u uint64, n uint32) {
	p := u / offsetPage
	if p >= uint64(len(m.pages)) {
		return
	}
	if m.pages[p] == nil {
		if n == 0 {
			return
		}
		m.pages[p] = make([]uint32, offsetPage)
	}
	switch old := &m.pages[p][u%offsetPage]; {
	case *old == 0 && n != 0:
		m.kept++
	case *old != 0 && n == 0:
		m.kept--
	}
	m.pages[p][u%offsetPage] = n
}

// add keeps a write of n bytes at off, dropping the writes kept that it
// overlaps.
func (m *offsetMap) add(off, n uint64) {
	if off < m.base || off-m.base >= m.span {
		return
	}
	u := (off - m.base) / m.unit
	end := (off - m.base + n + m.unit - 1) / m.unit
	// The writes kept do not overlap, so of those that start before
	// off only the nearest can reach into it.
	for k := u; k > 0 && u-k < m.longest; k-- {
		if l := m.get(k - 1); l != 0 {
			if m.base+(k-1)*m.unit+uint64(l) > off {
				m.set(k-1, 0)
			}
			break
		}
	}
	for k := u; k < end; k++ {
		m.set(k, 0)
	}
	m.set(u, uint32(n))
	m.longest = max(m.longest, (n+m.unit-1)/m.unit)
}

// drop forgets the write of n bytes at off, if it is kept.
func (m *offsetMap) drop(off, n uint64) {
	if off < m.base || off-m.base >= m.span {
		return
	}
	if u := (off - m.base) / m.unit; uint64(m.get(u)) == n {
		m.set(u, 0)
	}
}

func (m *offsetMap) reset() {
	clear(m.pages)
	m.longest, m.kept = 0, 0
}

// kept returns the number of writes kept by offset (fio's io_hist_len
// of its tree); 0 for a history kept in the order issued.
func (h *writeHistory) kept() int {
	n := 0
	for _, m := range h.maps {
		n += m.kept
	}
	return n
}

// all yields the writes kept, by offset: each one's offset and length.
func (m *offsetMap) all() iter.Seq2[uint64, uint64] {
	return func(yield func(uint64, uint64) bool) {
		for p, page := range m.pages {
			for i, n := range page {
				if n != 0 && !yield(m.base+(uint64(p)*offsetPage+uint64(i))*m.unit, uint64(n)) {
					return
				}
			}
		}
	}
}

// bytes is what a verify pass of the history reads back.
func (h *writeHistory) bytes() uint64 {
	var n uint64
	for e := range h.writes() {
		n += uint64(e.n)
	}
	return n
}

// clear forgets every write kept.
func (h *writeHistory) clear() {
	h.list, h.head = h.list[:0], 0
	for _, m := range h.maps {
		m.reset()
	}
}

// verifiesEachPass reports whether job j, over a region of span bytes,
// reads back what it wrote after each pass rather than once at its end,
// as fio 3.33 does: after each of its loops, and with an io_size above
// the region after each pass of the region, passes following one another
// until the job's reads and writes together reach io_size, and a
// time_based job's passes until its runtime is up. A random writing job
// with norandommap that is not time_based is left out: fio writes all
// of its bytes (io_size, or the region once per loop) in one pass and
// reads them back once, as iobench does.
func verifiesEachPass(j *workloads.Job, span uint64) bool {
	if j.Verify == "" || !j.DoVerify || !j.RW.Writes() || j.VerifyOnly {
		return false
	}
	if j.TimeBased {
		// fio 3.33's io_uring engine reads back each pass of the region
		// within the runtime, a pass without a random map ending at the
		// region's size in bytes.
		return true
	}
	if j.RW.Random() && j.NoRandomMap {
		return false
	}
	return j.Loops > 1 || j.IOSize > span || j.PassMayEndShort()
}

// morePasses counts the pass that has just ended (verifyEach, or
// mixPasses without verify) and reports whether another follows, as
// fio's keep_running decides after the pass's verify: one per loop, then,
// with io_size, another while the job's reads and writes (its verify
// reads too, this pass's included) fall short of io_size by at least its
// largest block.
func (w *worker) morePasses() bool {
	w.passes++
	if w.job.TimeBased {
		return true // until the runtime is up
	}
	if w.written == nil {
		// No verify: the pass's I/O has drained, all of it done.
		if w.passes < max(w.job.Loops, 1) {
			return true
		}
		limit := w.job.IOSize
		return w.issued < limit && limit-w.issued >= w.job.MaxBS()
	}
	if n := w.job.NumberIOs; n > 0 {
		// number_ios caps the job's I/O, loops times over, the verify
		// reads of each pass counted too, as fio's: no pass follows
		// one whose reads reach it.
		reads := 0
		for range w.written.writes() {
			reads++
		}
		if w.issuedIOs+w.passReads+reads >= n*max(w.job.Loops, 1) {
			return false
		}
	}
	if w.passes < max(w.job.Loops, 1) {
		return true
	}
	limit := w.job.IOSize
	if limit == 0 {
		// fio's size: a pass that ended short (PassMayEndShort) is
		// followed by more, its files found done cleared for the
		// verify (randwrite bs=4k,8k lfsr size=256k: six passes of 3
		// writes and 3 reads).
		limit = w.gen.Span()
	}
	done := w.written.bytes()
	for d := range workloads.NumDirs {
		done += w.bytes[d]
	}
	return done < limit && limit-done >= w.job.MaxBS()
}

// verifyLoop reads back and checks what the pass that has just ended
// wrote, and forgets it, before the next pass: on the clone's own queue,
// with nothing in flight, in its requests' buffers, as the verify pass at
// the job's end does (verifyRun: the reads are the job's, in its
// write_iolog, their time the reads' runtime and not the writes'). What
// verify_backlog holds is read back first, as at the job's end.
func (w *worker) verifyLoop() error {
	start := time.Now()
	if len(w.backlog) > 0 {
		w.backlogCredit = len(w.backlog) // the rest, whatever the batch
		if err := w.checkBacklog(); err != nil {
			return err
		}
	}
	s, j := w.setup, w.job
	for range w.written.writes() {
		w.passReads++ // number_ios counts them (ioDone, morePasses)
	}
	v := verifyRun{s: s, ver: w.ver, q: w.q, m: &w.measure, stopAt: w.deadline}
	for i := range w.reqs {
		b := w.reqs[i].Buf
		v.idle = append(v.idle, &engine.Request{Buf: b[:cap(b)]})
	}
	v.done = make([]*engine.Request, 0, len(v.idle))
	if j.VerifyAsync > 0 {
		v.checkers = newAsyncChecks(j, j.VerifyAsync, len(v.idle), false)
		defer close(v.checkers.in)
	}
	err := v.run(verifyPart{m: &w.measure, written: w.written, files: s.tgt.clones[w.idx], log: w.iolog, logs: w.verifyLog()})
	d := time.Since(start)
	w.verifyTime += d
	w.verifyInRun += d
	if w.iolog != nil {
		w.iolog.reopen(time.Now()) // fio's next pass opens its files again
	}
	w.written.clear()
	return err
}
