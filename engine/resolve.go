package engine

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"
	"unsafe"

	"github.com/iobench/iobench/mapcache"
)

// Resolution: a request's file range becomes device pieces, appended to
// q.backlog.
// Mapped ranges become device I/Os; holes, unwritten and delalloc ranges
// of a read are zero-filled and inline ranges copied right here. Nothing is
// issued: a bad mapping anywhere fails the whole request before any byte is
// written.

var ioEOF = io.EOF

// maxResolve and resolvePatience bound how often one piece is looked up
// again after stale or RetryCache replies, so that a mapper racing with
// itself cannot hang a request: past maxResolve rounds a lookup goes on,
// yielding the processor between rounds, until resolvePatience has passed
// since it first went past them. A reply is stale when the file's cache
// changed after the lookup, anywhere in the file: writers committing to
// other blocks of it make a reply stale too, and on a busy machine a
// writer whose thread the others outran lost 64 rounds in a row (a
// cow file with four writers and two readers, while other packages'
// tests ran), though nothing was wrong.
const maxResolve = 64

var resolvePatience = 2 * time.Second // a variable for tests

// settling reports whether a lookup that has taken round rounds may take
// another; since holds when it passed maxResolve (0: not yet).
func (q *Queue) settling(round int, since *int64) bool {
	if round < maxResolve {
		return true
	}
	now := q.eng.nowNs()
	if *since == 0 {
		*since = now
	} else if now-*since >= int64(resolvePatience) {
		return false
	}
	runtime.Gosched()
	return true
}

// resolve turns r into pieces appended to q.backlog.
func (q *Queue) resolve(r *Request) error {
	if r.Atomic && (!r.Write || r.Trim || r.Sync != NoSync || r.raw != rawNone) {
		return q.requestError(r, r.Offset, uint64(len(r.Buf)), fmt.Errorf("%w: an atomic %s (only writes can be atomic)", ErrAtomicSplit, r.opName()))
	}
	if r.raw != rawNone {
		return q.resolveRaw(r)
	}
	if r.Sync != NoSync {
		switch r.Sync {
		case SyncRange:
			return q.resolveSyncRange(r)
		case Fsync, Fdatasync:
			q.resolveSync(r)
			return nil
		}
		return q.requestError(r, r.Offset, 0, fmt.Errorf("%w: unknown Sync %d", ErrBadRequest, r.Sync))
	}
	if r.Trim {
		return q.resolveTrim(r)
	}
	e, f := q.eng, r.File
	if f == nil {
		return fmt.Errorf("engine: %s request has no file: %w", opName(r.Write), ErrBadRequest)
	}
	if f.eng != e {
		return fmt.Errorf("engine: file %s belongs to another engine: %w", f.name, ErrBadRequest)
	}
	if f.closed.Load() {
		return q.requestError(r, r.Offset, uint64(len(r.Buf)), ErrFileClosed)
	}
	length := uint64(len(r.Buf))
	if err := e.checkAligned(r); err != nil {
		return q.requestError(r, r.Offset, length, err)
	}
	if length == 0 {
		return nil
	}
	size := f.Size()
	end := r.Offset + length
	r.want = len(r.Buf)
	if r.Write {
		if end < r.Offset {
			return q.requestError(r, r.Offset, length, fmt.Errorf("%w: range overflows", ErrBeyondEOF))
		}
		if end > size {
			return q.requestError(r, r.Offset, length, fmt.Errorf("%w (file size %d)", ErrBeyondEOF, size))
		}
	} else {
		if r.Offset >= size {
			r.want = 0
			return nil // io.ReaderAt: nothing to read, io.EOF
		}
		if avail := size - r.Offset; avail < length {
			r.want = int(avail)
			end = r.Offset + roundUp(avail, uint64(e.align))
		}
	}
	first := len(q.backlog) // r's pieces are appended from here
	for off := r.Offset; off < end; {
		var (
			m        mapcache.Mapping
			oop, unw bool
			err      error
		)
		if r.Write {
			m, oop, err = q.writeMapping(r, off, end)
			unw = !oop && m.Type == mapcache.Unwritten
		} else {
			m, err = q.readMapping(r, off, end)
		}
		if err != nil {
			return err
		}
		pend := min(end, m.Offset+m.Length)
		if r.Write || m.Type == mapcache.Mapped {
			if err := q.addPieces(r, off, pend, m, oop, unw); err != nil {
				return err
			}
		} else {
			buf := r.Buf[off-r.Offset : pend-r.Offset]
			if m.Type == mapcache.Inline {
				if err := q.readInline(r, off, buf); err != nil {
					return err
				}
			} else {
				clear(buf)
				q.count(f, cZeroBytes, uint64(len(buf)))
			}
		}
		off = pend
	}
	if n := len(q.backlog) - first; r.Atomic && n != 1 {
		// One device write or none: the kernel makes each of several
		// atomic on its own, never the request as a whole.
		return q.requestError(r, r.Offset, length, fmt.Errorf("%w: its %d bytes map to %d device writes", ErrAtomicSplit, length, n))
	}
	return nil
}

// issueFast resolves and queues r, which begin took at now, when it is
// the commonest request: a plain read, or a write in place (no write fork:
// the cache says NoFork), of at most maxPiece bytes, aligned, within the
// file, inside one Mapped extent of the cache (the memo, or the cache's
// extent, which then becomes the memo as readMapping makes it), with
// nothing on the backlog and a slot free. It does what resolveStarted and
// fill do for such a request (the same counts, pin, pending units, slot,
// ring operation and stamps) without the piece going through the
// backlog, and reports whether it took r. When it does not, r and the
// queue are as begin left them (but for the memo), and resolveStarted
// takes over.
func (q *Queue) issueFast(r *Request, now int64) bool {
	e, f := q.eng, r.File
	n := uint64(len(r.Buf))
	if q.noFast || r.Trim || r.Atomic || r.Sync != NoSync || r.raw != rawNone || f == nil || f.eng != e ||
		!q.cached || len(q.backlog) != 0 || len(q.freeSlot) == 0 || n-1 >= maxPiece {
		return false // n-1 also refuses n == 0
	}
	off := r.Offset
	a, ma := uint64(e.align), uint64(e.memAlgn)
	addr := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(r.Buf))))
	if a&(a-1) != 0 || ma&(ma-1) != 0 || (off|n)&(a-1) != 0 || addr&(ma-1) != 0 || f.closed.Load() {
		return false
	}
	if size := f.Size(); off >= size || size-off < n {
		return false
	}
	// The cache's answers below are those resolve would get first, and
	// count as its lookups would (Cache.Stats): one that does not lead
	// here is left to resolve (stash), or is in the memo.
	mm := &q.memo
	memoed := mm.f == f && off-mm.m.Offset < mm.m.Length && off >= mm.m.Offset && f.cache.Seq() == mm.seq
	var wcookie uint64 // a write's lookup of the write fork: NoFork at wcookie
	if r.Write {
		// cachedWriteMapping: no write fork sends the write to the read
		// mapping, in place; only the memo answers it here.
		var none bool
		if wcookie, none = q.knownNoWriteFork(f); !none {
			wm, cookie, res := q.lookupWriteFork(f, off, n)
			if res != mapcache.NoFork || !memoed {
				q.stashAnswer(f, mapcache.WriteFork, off, n, &wm, cookie, res)
				return false
			}
			wcookie = cookie
		} else if !memoed {
			return false // resolve gets the same answer from the memo
		}
	} else if !memoed {
		m, cookie, res := f.cache.Extent(mapcache.ReadFork, off)
		if res != mapcache.Hit {
			q.stashAnswer(f, mapcache.ReadFork, off, 0, &m, cookie, res)
			return false
		}
		mm.f, mm.seq, mm.m = f, cookie, m // as readMapping keeps it
	}
	m := &mm.m
	if m.Type != mapcache.Mapped || n > m.Length-(off-m.Offset) || (r.Write && e.devs[m.Dev].readOnly) {
		if r.Write {
			q.stashAnswer(f, mapcache.WriteFork, off, n, &mapcache.Mapping{}, wcookie, mapcache.NoFork)
		}
		return false
	}
	if invariants {
		q.fastIssued++
	}
	q.count(f, cHits, 1)
	r.want = int(n)
	if e.arena == nil || e.arena.index(r.Buf) < 0 {
		r.pinner.Pin(&r.Buf[0]) // as resolveStarted pins
		r.pinned = true
	}
	// What fill does with the piece, put in its slot at once. A free
	// slot is all zeros (complete clears it): only the fields a
	// one-piece read or write sets are stored.
	slot := q.freeSlot[len(q.freeSlot)-1]
	p := &q.slots[slot]
	if invariants && *p != (piece{}) {
		panic(fmt.Sprintf("engine: invariant violated: free slot %d is not cleared", slot))
	}
	p.req, p.fileOff, p.length, p.dev, p.addr, p.m = r, off, int(n), m.Dev, m.Addr+(off-m.Offset), *m
	if q.queueOp(slot, p) {
		q.unsubmitted++
		q.freeSlot = q.freeSlot[:len(q.freeSlot)-1]
		r.handed = true
		q.unsent = append(q.unsent, r)
		if r.Write {
			if now == 0 {
				now = e.nowNs()
			}
			p.startNs = now
		}
	} else {
		// Submission queue full: the piece waits on the backlog.
		q.backlog = append(q.backlog, *p)
		*p = piece{}
	}
	if n := uint64(q.inflightIOs()); n > e.counters.maxInFlight.Load() {
		e.counters.maxInFlight.Store(n)
	}
	q.checkInvariants()
	return true
}

// A cacheAnswer is what the cache answered issueFast for a lookup resolve
// makes next (q.stash), when issueFast left the request to resolve: a
// lookup made once, and counted once, whichever path takes the request.
// f is nil when there is none.
type cacheAnswer struct {
	f           *File
	fork        mapcache.Fork
	off, length uint64 // length: a Lookup's; 0 for an Extent
	m           mapcache.Mapping
	cookie      uint64
	res         mapcache.Result
}

// stashAnswer keeps the cache's answer to a lookup for resolve (stashed).
func (q *Queue) stashAnswer(f *File, fork mapcache.Fork, off, length uint64, m *mapcache.Mapping, cookie uint64, res mapcache.Result) {
	q.stash = cacheAnswer{f: f, fork: fork, off: off, length: length, m: *m, cookie: cookie, res: res}
}

// stashed returns and forgets the answer issueFast stashed, if it is the
// answer to this lookup (an Extent for length 0) and the cache has not
// changed since (its sequence is the answer's cookie): the answer a new
// lookup would get. ok is false otherwise.
func (q *Queue) stashed(f *File, fork mapcache.Fork, off, length uint64) (m mapcache.Mapping, cookie uint64, res mapcache.Result, ok bool) {
	a := &q.stash
	if a.f == nil {
		return
	}
	if a.f == f && a.fork == fork && a.off == off && a.length == length && a.cookie == f.cache.Seq() {
		m, cookie, res, ok = a.m, a.cookie, a.res, true
	}
	*a = cacheAnswer{}
	return
}

// requestError is the IOError of a request range that failed before any
// device was chosen.
func (q *Queue) requestError(r *Request, off, length uint64, err error) error {
	return newIOError(r.opName(), r.fileName(), off, length, nil, 0, err)
}

// addPieces queues the device I/O for [off, end) of r through m.
func (q *Queue) addPieces(r *Request, off, end uint64, m mapcache.Mapping, oop, unw bool) error {
	d := &q.eng.devs[m.Dev]
	addr := m.Addr + (off - m.Offset)
	if r.Write && d.readOnly {
		return newIOError("write", r.File.name, off, end-off, d, addr,
			fmt.Errorf("%w: device %s is read-only", ErrReadOnly, d.path))
	}
	if oop {
		q.count(r.File, cOutOfPlace, 1)
	}
	for off < end {
		n := min(end-off, maxPiece)
		q.backlog = append(q.backlog, piece{
			req: r, fileOff: off, bufOff: int(off - r.Offset), length: int(n),
			dev: m.Dev, addr: addr, oop: oop, unwrit: unw, m: m,
		})
		off += n
		addr += n
	}
	return nil
}

func (q *Queue) readInline(r *Request, off uint64, buf []byte) error {
	f := r.File
	ir, ok := q.eng.cfg.Mapper.(InlineReader)
	if !ok {
		return q.requestError(r, off, uint64(len(buf)),
			fmt.Errorf("%w: inline mapping from a mapper without ReadInline", ErrBadMapping))
	}
	if err := ir.ReadInline(f, off, buf); err != nil {
		return q.requestError(r, off, uint64(len(buf)), fmt.Errorf("%w: inline data: %w", ErrMapper, err))
	}
	q.count(f, cInlineBytes, uint64(len(buf)))
	return nil
}

// readMapping returns the read mapping covering off: from the cache, or from
// the mapper (stored in the cache if the cache did not change meanwhile).
// A cached answer is the whole mapping (Cache.Extent), which the queue
// keeps (memo): while the cache's sequence stands, a read anywhere in it
// is answered without the cache's lock and tree. 4 KiB random reads at
// depth 1 over one extent (a loop device) took 4510 instructions per read
// in iobench's I/O loop with a lookup each time, 4229 with the memo
// (callgrind, --toggle-collect of the loop, 16384 reads).
func (q *Queue) readMapping(r *Request, off, end uint64) (mapcache.Mapping, error) {
	if !q.cached {
		reply, i, err := q.askMapper(r, false, off, end, 0)
		if err != nil {
			return mapcache.Mapping{}, err
		}
		return reply[i], nil
	}
	f := r.File
	if mm := &q.memo; mm.f == f && off-mm.m.Offset < mm.m.Length && off >= mm.m.Offset && f.cache.Seq() == mm.seq {
		q.count(f, cHits, 1)
		return mm.m, nil
	}
	var since int64
	round := 0
	for ; q.settling(round, &since); round++ {
		seq := f.cache.Seq()
		m, cookie, res, ok := q.stashed(f, mapcache.ReadFork, off, 0)
		if !ok {
			m, cookie, res = f.cache.Extent(mapcache.ReadFork, off)
		}
		if res == mapcache.Hit {
			q.count(f, cHits, 1)
			q.memo.f, q.memo.seq, q.memo.m = f, cookie, m
			return m, nil
		}
		q.count(f, cMisses, 1)
		reply, i, err := q.askMapper(r, false, off, end, seq)
		if err != nil || i < 0 {
			if err != nil {
				return mapcache.Mapping{}, err
			}
			continue // RetryCache: the mapper filled the cache itself
		}
		stored, err := f.cache.UpsertIf(seq, mapcache.ReadFork, reply...)
		if err != nil {
			return mapcache.Mapping{}, q.badMapping(r, off, err.Error())
		}
		if stored {
			return reply[i], nil
		}
		q.count(f, cStaleRetries, 1)
	}
	return mapcache.Mapping{}, q.unsettled(r, off, end, round)
}

// writeMapping returns where the write of [off, end) goes: a write-fork
// location (oop true) or the read mapping (in place).
//
// With the cache on, each round looks the write up in the cache
// (cachedWriteMapping); when that gives no answer the mapper is asked, its
// reply is stored in the write fork, and the round repeats.
func (q *Queue) writeMapping(r *Request, off, end uint64) (mapcache.Mapping, bool, error) {
	if !q.cached {
		return q.writeMappingUncached(r, off, end)
	}
	f := r.File
	noStorage := false // the read mapping has nowhere to write in place
	var since int64
	round := 0
	for ; q.settling(round, &since); round++ {
		seq := f.cache.Seq()
		m, oop, found, err := q.cachedWriteMapping(r, off, end, noStorage)
		if found || err != nil {
			return m, oop, err
		}
		if m.Type == mapcache.Hole {
			// Only the mapper can say where this write goes; looking up
			// the read mapping may have changed the cache.
			noStorage = true
			seq = f.cache.Seq()
		}
		reply, i, err := q.askMapper(r, true, off, end, seq)
		if err != nil {
			return m, false, err
		}
		if i < 0 {
			continue // RetryCache: the mapper filled the cache itself
		}
		c := reply[i]
		if err := q.checkWriteCover(r, off, c, noStorage); err != nil {
			q.dropReply(r, reply, err)
			return m, false, err
		}
		stored, err := q.storeWriteReply(r, off, seq, reply)
		if err != nil {
			return m, false, err
		}
		if stored && c.Type == mapcache.Mapped {
			return c, true, nil
		}
		// Not stored (the cache changed meanwhile), or a pure overwrite
		// whose next lookup leads to the read mapping: look up again.
	}
	return mapcache.Mapping{}, false, q.unsettled(r, off, end, round)
}

// cachedWriteMapping looks the write up in the cache. found reports an
// answer: out of place through a Mapped write-fork record, or in place
// through a read mapping with storage (skipped once noStorage is known).
// Without an answer, m.Type is Hole when the read mapping has no storage,
// and Delalloc when the write fork missed.
func (q *Queue) cachedWriteMapping(r *Request, off, end uint64, noStorage bool) (m mapcache.Mapping, oop, found bool, err error) {
	f := r.File
	wm, _, res, ok := q.stashed(f, mapcache.WriteFork, off, end-off)
	if !ok {
		wm, _, res = q.lookupWriteFork(f, off, end-off)
	}
	switch {
	case res == mapcache.Hit && wm.Type == mapcache.Mapped:
		q.count(f, cHits, 1)
		return wm, true, true, nil
	case !noStorage && (res == mapcache.NoFork || (res == mapcache.Hit && wm.Type == mapcache.PureOverwrite)):
		rm, err := q.readMapping(r, off, end)
		if err != nil {
			return rm, false, false, err
		}
		if !hasStorage(rm) {
			return mapcache.Mapping{Type: mapcache.Hole}, false, false, nil
		}
		if res == mapcache.Hit {
			rm = clip(rm, wm.Offset+wm.Length)
		}
		return rm, false, true, nil
	default:
		q.count(f, cMisses, 1)
		return mapcache.Mapping{Type: mapcache.Delalloc}, false, false, nil
	}
}

// lookupWriteFork looks up f's write fork as Cache.Lookup does, but
// answers NoFork without asking the cache while the queue's memo of that
// answer holds (the cache's sequence has not moved since): a file with no
// write fork, the common case, then costs a write one load of the
// sequence where Lookup counts the answer with an atomic add (a full
// barrier, measured at about 3% of the user time of depth-1 writes). As
// with the read memo, answers from it are not counted in Cache.Stats.
func (q *Queue) lookupWriteFork(f *File, off, n uint64) (mapcache.Mapping, uint64, mapcache.Result) {
	if seq, none := q.knownNoWriteFork(f); none {
		return mapcache.Mapping{}, seq, mapcache.NoFork
	}
	m, cookie, res := f.cache.Lookup(mapcache.WriteFork, off, n)
	if res == mapcache.NoFork {
		q.noWrite.f, q.noWrite.seq = f, cookie
	}
	return m, cookie, res
}

// knownNoWriteFork reports whether the queue's memo answers NoFork for
// f's write fork, with the cookie of that answer (lookupWriteFork).
func (q *Queue) knownNoWriteFork(f *File) (uint64, bool) {
	if q.noWrite.f != f {
		return 0, false
	}
	seq := f.cache.Seq()
	return seq, seq == q.noWrite.seq
}

// checkWriteCover checks the reply mapping c that covers a write: a
// location to write to, or a pure overwrite of a range that has storage.
func (q *Queue) checkWriteCover(r *Request, off uint64, c mapcache.Mapping, noStorage bool) error {
	switch {
	case c.Type == mapcache.Delalloc:
		return q.badMapping(r, off, "write mapping covering the offset is delalloc (no location)")
	case c.Type == mapcache.PureOverwrite && noStorage:
		return q.badMapping(r, off, "pure overwrite of a range with no storage (hole, delalloc or inline)")
	}
	return nil
}

// storeWriteReply stores a write reply in the write fork if the cache did
// not change since seq. Space of a reply that is not stored goes back to
// the mapper.
func (q *Queue) storeWriteReply(r *Request, off, seq uint64, reply []mapcache.Mapping) (bool, error) {
	stored, err := r.File.cache.UpsertIf(seq, mapcache.WriteFork, reply...)
	if err != nil {
		err = q.badMapping(r, off, err.Error())
		q.dropReply(r, reply, err)
		return false, err
	}
	if !stored {
		// The cache changed while the mapper worked: the reply is
		// dropped, so hand its fresh space back before asking again.
		q.count(r.File, cStaleRetries, 1)
		q.dropReply(r, reply, errStaleReply)
	}
	return stored, nil
}

// writeMappingUncached is writeMapping with the cache off: every write asks
// the mapper, and a pure overwrite asks it for the read mapping too.
func (q *Queue) writeMappingUncached(r *Request, off, end uint64) (mapcache.Mapping, bool, error) {
	reply, i, err := q.askMapper(r, true, off, end, 0)
	if err != nil {
		return mapcache.Mapping{}, false, err
	}
	c := reply[i]
	if err := q.checkWriteCover(r, off, c, false); err != nil {
		return c, false, err
	}
	if c.Type == mapcache.Mapped {
		return c, true, nil
	}
	rm, err := q.readMapping(r, off, min(end, c.Offset+c.Length))
	if err != nil {
		return rm, false, err
	}
	if !hasStorage(rm) {
		return rm, false, q.checkWriteCover(r, off, c, true)
	}
	return clip(rm, c.Offset+c.Length), false, nil
}

// hasStorage reports whether m has device space to write in place.
func hasStorage(m mapcache.Mapping) bool {
	return m.Type == mapcache.Mapped || m.Type == mapcache.Unwritten
}

// clip shortens m to end at end (when it reaches past it).
func clip(m mapcache.Mapping, end uint64) mapcache.Mapping {
	if m.Offset+m.Length > end {
		m.Length = end - m.Offset
	}
	return m
}

// askMapper calls the mapper for [off, end), rounded out to the file's
// blocks, and validates the reply. It returns the reply and the index of
// the mapping covering off, or -1 for a RetryCache reply (an error with
// the cache off). The space of a write reply that fails validation goes
// back to the mapper.
func (q *Queue) askMapper(r *Request, write bool, off, end, seq uint64) ([]mapcache.Mapping, int, error) {
	reply, err := q.callMapper(r, write, off, end, seq)
	if err != nil {
		return nil, 0, err
	}
	i, retry, err := validateReply(q.eng, r.File, write, off, reply, func(why string) error {
		return q.badMapping(r, off, why)
	})
	switch {
	case err != nil:
		if write {
			q.dropReply(r, reply, err)
		}
		return nil, 0, err
	case retry && !q.cached:
		return nil, 0, q.badMapping(r, off, "RetryCache reply while the cache is off")
	case retry:
		return nil, -1, nil
	}
	return reply, i, nil
}

// callMapper asks the mapper for the mappings of [off, end), rounded out to
// the file's blocks.
func (q *Queue) callMapper(r *Request, write bool, off, end, seq uint64) ([]mapcache.Mapping, error) {
	e, f := q.eng, r.File
	bs := uint64(f.bs)
	start := off &^ (bs - 1)
	mr := &q.mreq
	*mr = MapRequest{File: f, Offset: start, Length: roundUp(end-start, bs), Seq: seq}
	t0 := e.nowNs()
	var reply []mapcache.Mapping
	var err error
	if write {
		var deadline time.Time
		for {
			released := e.frees.released.Load()
			reply, err = e.cfg.Mapper.MapWrite(mr, q.replies[:0])
			if err == nil || !errors.Is(err, ErrNoSpace) {
				break
			}
			if deadline.IsZero() {
				deadline = time.Now().Add(noSpaceWait)
			}
			if !q.awaitFreed(r, off, released, deadline) {
				break
			}
		}
	} else {
		reply, err = e.cfg.Mapper.MapRead(mr, q.replies[:0])
	}
	q.mappedNs = e.nowNs()
	dt := uint64(q.mappedNs - t0)
	*mr = MapRequest{}
	q.count(f, cMapperCalls, 1)
	q.count(f, cMapperNs, dt)
	if cap(reply) > cap(q.replies) {
		q.replies = reply[:0]
	}
	if err != nil {
		return nil, q.requestError(r, off, end-off, fmt.Errorf("%w: %w", ErrMapper, err))
	}
	return reply, nil
}

func (q *Queue) badMapping(r *Request, off uint64, why string) error {
	return q.requestError(r, off, 0, fmt.Errorf("%w: %s", ErrBadMapping, why))
}

// unsettled is the error of a range whose lookups kept being invalidated.
func (q *Queue) unsettled(r *Request, off, end uint64, rounds int) error {
	return q.requestError(r, off, end-off,
		fmt.Errorf("%w: the cache kept changing under %d lookups over %v", ErrMapper, rounds, resolvePatience))
}

// validateReply checks a mapper reply: sorted, non-overlapping, non-empty,
// block-aligned, of a type that makes sense for the direction, within the
// device it names, and covering off. It returns the index of the covering
// mapping, or retry for a RetryCache reply.
func validateReply(e *Engine, f *File, write bool, off uint64, reply []mapcache.Mapping,
	bad func(string) error) (int, bool, error) {
	if len(reply) == 0 {
		return 0, false, bad("empty reply")
	}
	if len(reply) == 1 && reply[0].Type == mapcache.RetryCache {
		return 0, true, nil
	}
	bs := uint64(f.bs)
	cover := -1
	var prevEnd uint64
	for i, m := range reply {
		switch {
		case m.Length == 0:
			return 0, false, bad(fmt.Sprintf("mapping %d has zero length", i))
		case m.Offset%bs != 0 || m.Length%bs != 0:
			return 0, false, bad(fmt.Sprintf("mapping %d [%d,+%d) is not aligned to the %d-byte block", i, m.Offset, m.Length, bs))
		case m.Offset+m.Length < m.Offset || m.Length > 1<<63:
			return 0, false, bad(fmt.Sprintf("mapping %d [%d,+%d) overflows", i, m.Offset, m.Length))
		case i > 0 && m.Offset < prevEnd:
			return 0, false, bad(fmt.Sprintf("mapping %d at %d overlaps or precedes the one before (ending at %d)", i, m.Offset, prevEnd))
		}
		prevEnd = m.Offset + m.Length
		switch m.Type {
		case mapcache.Mapped, mapcache.Unwritten:
			if write && m.Type == mapcache.Unwritten {
				return 0, false, bad(fmt.Sprintf("mapping %d: unwritten is not a write location", i))
			}
			if int(m.Dev) >= len(e.devs) {
				return 0, false, bad(fmt.Sprintf("mapping %d names device %d; the engine has %d", i, m.Dev, len(e.devs)))
			}
			d := &e.devs[m.Dev]
			if m.Addr == mapcache.NullAddr || m.Addr%uint64(d.lbs) != 0 {
				return 0, false, bad(fmt.Sprintf("mapping %d: address %#x is not aligned to device %s's %d-byte blocks", i, m.Addr, d.path, d.lbs))
			}
			if m.Addr+m.Length < m.Addr || m.Addr+m.Length > d.size {
				return 0, false, bad(fmt.Sprintf("mapping %d: device range [%d,+%d) lies beyond the end of %s (%d bytes)", i, m.Addr, m.Length, d.path, d.size))
			}
		case mapcache.Hole, mapcache.Delalloc, mapcache.Inline:
			if write && m.Type != mapcache.Delalloc {
				return 0, false, bad(fmt.Sprintf("mapping %d: %v is not a write location", i, m.Type))
			}
		case mapcache.PureOverwrite:
			if !write {
				return 0, false, bad(fmt.Sprintf("mapping %d: pure overwrite in a read reply", i))
			}
		default:
			return 0, false, bad(fmt.Sprintf("mapping %d has type %v, not valid in a reply", i, m.Type))
		}
		if m.Offset <= off && off < m.Offset+m.Length {
			cover = i
		}
	}
	if cover < 0 {
		return 0, false, bad(fmt.Sprintf("no mapping covers offset %d", off))
	}
	return cover, false, nil
}

// checkAligned reports what about r is not aligned, and by how much.
func (e *Engine) checkAligned(r *Request) error {
	a := uint64(e.align)
	addr := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(r.Buf))))
	if a&(a-1) == 0 && e.memAlgn&(e.memAlgn-1) == 0 &&
		(r.Offset|uint64(len(r.Buf)))&(a-1) == 0 && (len(r.Buf) == 0 || addr&uint64(e.memAlgn-1) == 0) {
		return nil // powers of two, as block sizes are: masks, no divisions
	}
	if rem := r.Offset % a; rem != 0 {
		return fmt.Errorf("%w: offset %d is %d bytes past a %d-byte boundary", ErrUnaligned, r.Offset, rem, a)
	}
	if rem := uint64(len(r.Buf)) % a; rem != 0 {
		return fmt.Errorf("%w: length %d is %d bytes past a multiple of %d", ErrUnaligned, len(r.Buf), rem, a)
	}
	if len(r.Buf) > 0 {
		if rem := addr % uint64(e.memAlgn); rem != 0 {
			return fmt.Errorf("%w: buffer address %#x is %d bytes past a %d-byte boundary (use Engine.Buffer)", ErrUnaligned, addr, rem, e.memAlgn)
		}
	}
	return nil
}

func roundUp(n, a uint64) uint64 { return (n + a - 1) / a * a }
