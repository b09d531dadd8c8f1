package engine

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/iobench/iobench/mapcache"
)

// Completion: each device completion finishes its piece. Short transfers
// and EAGAIN (but a NoWait request's) go back to the front of the backlog; errors fail the request;
// a write's ioend (endWrite, or dropReply for write space that was never
// written) tells the mapper and moves or drops the write fork. When a
// request's last piece is done it is delivered to its owner.

// complete handles one completion.
func (q *Queue) complete(c Completion) {
	if c.UserData >= uint64(len(q.slots)) {
		return // not ours (cannot happen with the engine's rings)
	}
	slot := uint32(c.UserData)
	if sp := &q.slots[slot]; c.Res >= 0 && int(c.Res) >= sp.length-sp.done && sp.parts == 0 {
		// The commonest completion, a device I/O done whole: what the
		// general path below does for it, on the slot itself rather
		// than a copy of its piece.
		r, f, n := sp.req, sp.req.File, uint64(sp.length-sp.done)
		q.count(f, cIOs, 1)
		switch { // countBytes
		case r.Trim:
			q.count(f, cTrimBytes, n)
		case r.Write:
			q.count(f, cWriteBytes, n)
		default:
			q.count(f, cReadBytes, n)
		}
		if r.Write {
			sp.done = sp.length
			q.endWrite(sp, nil)
		}
		*sp = piece{}
		q.freeSlot = append(q.freeSlot, slot)
		q.pieceDone(r)
		return
	}
	p := q.slots[slot]
	q.slots[slot] = piece{}
	q.freeSlot = append(q.freeSlot, slot)
	if p.parts > 0 {
		q.gapDone(slot, &p, c.Res)
		return
	}
	e, f := q.eng, p.req.File
	q.count(f, cIOs, 1)

	want := p.length - p.done
	switch {
	case c.Res < 0:
		errno := syscall.Errno(-c.Res)
		if errno == syscall.EAGAIN && !p.req.NoWait && p.retries < maxAgain {
			p.retries++
			q.count(f, cRetries, 1)
			q.requeue(p)
			return
		}
		q.pieceFailed(&p, errno)
		return
	case c.Res == 0 && want > 0:
		q.pieceFailed(&p, ErrShortIO)
		return
	case int(c.Res) < want && p.req.Atomic:
		// Never continued: the rest would be a second atomic write.
		q.pieceFailed(&p, fmt.Errorf("%w: an atomic write transferred %d of %d bytes", ErrShortIO, c.Res, want))
		return
	case int(c.Res) < want:
		// Continue a short transfer from the last aligned byte: the
		// device needs aligned I/O, and redoing a few bytes is harmless.
		n := int(c.Res) / int(e.align) * int(e.align)
		if n == 0 {
			q.pieceFailed(&p, ErrShortIO)
			return
		}
		q.countBytes(&p, n)
		p.done += n
		q.count(f, cShortIOs, 1)
		q.requeue(p)
		return
	}
	q.countBytes(&p, want)
	p.done = p.length
	if p.req.Write {
		q.endWrite(&p, nil)
	}
	q.pieceDone(p.req)
}

func (q *Queue) countBytes(p *piece, n int) {
	f := p.req.File
	if p.req.Trim {
		q.count(f, cTrimBytes, uint64(n))
	} else if p.req.Write {
		q.count(f, cWriteBytes, uint64(n))
	} else {
		q.count(f, cReadBytes, uint64(n))
	}
}

// requeue puts a piece back at the front of the backlog.
func (q *Queue) requeue(p piece) {
	p.raw.unlink()
	if q.bhead > 0 {
		q.bhead--
		q.backlog[q.bhead] = p
		return
	}
	q.backlog = append(q.backlog, piece{})
	copy(q.backlog[1:], q.backlog)
	q.backlog[0] = p
}

// pieceFailed records a device error for p and completes it.
func (q *Queue) pieceFailed(p *piece, cause error) {
	r := p.req
	ioErr := newIOError(r.opName(), r.fileName(), p.fileOff, uint64(p.length), &q.eng.devs[p.dev], p.addr, cause)
	if r.Write {
		q.endWrite(p, ioErr)
	}
	r.fail(ioErr)
	q.pieceDone(r)
}

// endWrite is the ioend of one device write: tell the mapper, then move the
// range from the write fork to the read fork (success) or drop it from the
// write fork (failure), and retire the space the mapper freed.
func (q *Queue) endWrite(p *piece, werr error) {
	if p.req.raw != rawNone || p.req.Sync != NoSync {
		return // a device request or a flush: no file data, no mapper
	}
	e, f, r := q.eng, p.req.File, p.req
	// q.wend is zero here (cleared after each call). Its fields are
	// stored one by one: a composite literal is built on the stack and
	// copied in 16-byte moves that stall on its narrower stores, the
	// largest cost of completing a write in a profile of depth-1 writes.
	w := &q.wend
	w.File, w.Written, w.OutOfPlace, w.Err = f, p.m, p.oop, werr
	w.Latency = time.Duration(q.now() - p.startNs)
	w.Written.Offset, w.Written.Length, w.Written.Addr = p.fileOff, uint64(p.length), p.addr
	freed, err := e.cfg.Mapper.EndWrite(w, q.frees[:0])
	*w = WriteEnd{}
	if err != nil {
		r.fail(newIOError("write", f.name, p.fileOff, uint64(p.length), &e.devs[p.dev], p.addr,
			fmt.Errorf("%w: end of write: %w", ErrMapper, err)))
	}
	if q.cached {
		switch {
		case p.oop && werr == nil:
			// Move only what still points at this write's location: a
			// newer write may have re-pointed the range meanwhile.
			if _, cerr := f.cache.CommitWriteAt(p.fileOff, uint64(p.length), p.dev, p.addr); cerr != nil {
				r.fail(fmt.Errorf("engine: commit %s @%d+%d: %w", f.name, p.fileOff, p.length, cerr))
			}
		case p.oop:
			_, _ = f.cache.DropWriteAt(p.fileOff, uint64(p.length), p.dev, p.addr)
		case p.unwrit && werr == nil:
			// Written in place over an unwritten extent: it now reads
			// as data.
			m := p.m
			m.Offset, m.Length, m.Addr, m.Type = p.fileOff, uint64(p.length), p.addr, mapcache.Mapped
			_ = f.cache.Upsert(mapcache.ReadFork, m)
		}
	}
	q.retireFreed(freed)
}

// errStaleReply is what EndWrite hears for write-reply space the engine
// dropped because the cache changed while the mapper worked.
var errStaleReply = errors.New("engine: write reply dropped: the cache changed meanwhile")

// dropReply is endWrite's twin for write space that is never written: it
// tells the mapper that the locations of a write reply will not be written
// (EndWrite with an error, as for a failed write) and retires the space it
// hands back, so that dropped replies do not leak space.
func (q *Queue) dropReply(r *Request, reply []mapcache.Mapping, cause error) {
	for _, m := range reply {
		if m.Type != mapcache.Mapped {
			continue
		}
		w := &q.wend
		*w = WriteEnd{File: r.File, Written: m, OutOfPlace: true, Err: cause}
		freed, _ := q.eng.cfg.Mapper.EndWrite(w, q.frees[:0])
		*w = WriteEnd{}
		q.retireFreed(freed)
	}
}

// retireFreed hands the space an EndWrite freed to reclaim and keeps the
// slice for the next call.
func (q *Queue) retireFreed(freed []mapcache.Mapping) {
	if len(freed) == 0 {
		return // nothing freed (every in-place write): the queue's slice stays as it is
	}
	q.eng.retire(freed)
	clear(freed)
	q.frees = freed[:0]
}

// pieceDone drops one pending unit of r and finishes r when none is left.
func (q *Queue) pieceDone(r *Request) {
	r.pending--
	switch r.pending {
	case 1:
		q.single++
		return
	case 0:
		q.single--
	default:
		return
	}
	f := r.File
	if r.pinned {
		r.pinner.Unpin()
		r.pinned = false
	}
	q.epochs.leave(r.epoch)
	q.requests--
	q.finishedN++
	r.Latency = time.Duration(q.now() - r.startNs)
	if r.Err == nil {
		r.N = r.want
		if r.N < len(r.Buf) && !r.Write && r.Sync == NoSync && !r.Trim {
			r.Err = ioEOF
		}
	}
	q.count(f, cRequests, 1)
	if f != nil && r.Sync == NoSync {
		if r.Trim {
			q.count(f, cTrims, 1)
		} else if r.Write {
			q.count(f, cWrites, 1)
		} else {
			q.count(f, cReads, 1)
		}
		if r.Err != nil && r.Err != ioEOF {
			q.count(f, cErrors, 1)
		}
	}
	q.finished = append(q.finished, r)
}

// syncDelivered, set only by tests (before the engine starts), is called
// by a background queue with the request of each synchronous call
// (File.ReadAt and the like) just before it wakes the call's goroutine.
var syncDelivered func(*Request)

// deliver hands finished requests to their owners, after adding what the
// queue counted to the shared statistics, so that whoever sees a request
// complete also sees it counted.
func (q *Queue) deliver() {
	q.flushTally()
	for i, r := range q.finished {
		q.finished[i] = nil
		if q.background {
			atomic.StoreUint32(&r.sent, 0)
		} else if r.sync != nil || r.Callback != nil || r.Done != nil {
			r.busy = false // handed back below; a Reap's are handed back there
		}
		switch {
		case r.sync != nil:
			if syncDelivered != nil {
				syncDelivered(r)
			}
			r.sync <- r
		case r.Callback != nil:
			r.Callback(r)
			if r.Done != nil {
				r.Done <- r
			}
		case r.Done != nil:
			r.Done <- r
		default:
			q.ready = append(q.ready, r)
		}
	}
	q.finished = q.finished[:0]
}
