package engine

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"github.com/iobench/iobench/mapcache"
)

// A Queue is one io_uring and the state of the requests it carries. It is
// owned by one goroutine, locked to its OS thread for the ring's lifetime
// (the ring is set up single-issuer where the kernel allows).
//
// Engines run background queues that serve File.ReadAt, File.WriteAt and
// Engine.Submit. Engine.NewQueue gives a caller its own queue: the fastest
// path for high queue depths, with no goroutine hand-off per request. A
// caller-owned queue is not safe for concurrent use.
type Queue struct {
	eng        *Engine
	ring       Ring
	background bool
	depth      int

	// slots are the device I/Os in flight, indexed by Op.UserData.
	slots    []piece
	freeSlot []uint32
	backlog  []piece // resolved, waiting for a slot
	bhead    int
	scratch  []piece
	cqes     []Completion
	replies  []mapcache.Mapping
	frees    []mapcache.Mapping
	mreq     MapRequest
	wend     WriteEnd
	op       Op
	finished []*Request // completed, waiting for delivery
	unsent   []*Request // first device I/O queued on the ring, not yet entered
	ready    []*Request // caller-owned: delivered, waiting for Reap

	epochs   inflight
	requests int // requests submitted and not yet completed

	// What this queue counted for tallyFile and not yet added to the
	// engine's and the file's counters (flushTally).
	tally     tally
	tallyFile *File

	// Background queues only.
	in      chan *Request
	stopped chan error
}

// piece is one device I/O of a request: a file range, the buffer part it
// uses and the device range it targets.
type piece struct {
	req     *Request
	fileOff uint64
	bufOff  int
	length  int
	dev     uint32
	addr    uint64
	done    int   // bytes already transferred (short transfers)
	retries uint8 // EAGAIN retries
	oop     bool  // out-of-place write: commit the write fork at the end
	unwrit  bool  // in-place write over an Unwritten extent
	m       mapcache.Mapping
	startNs int64 // writes: when the device write was queued
	sync    Sync  // a flush of the device, not a transfer
}

// maxPiece bounds one device I/O (io_uring lengths are 32-bit).
const maxPiece = 1 << 30

// maxAgain bounds the EAGAIN retries of one device I/O.
const maxAgain = 8

func (e *Engine) newQueue(background bool) (*Queue, error) {
	q := &Queue{eng: e, background: background, depth: e.cfg.QueueDepth}
	ring, err := e.cfg.NewRing(RingOptions{
		Entries: uint32(q.depth), SQPoll: e.cfg.SQPoll, IOPoll: e.cfg.IOPoll,
	})
	if err != nil {
		return nil, err
	}
	q.ring = ring
	if err := e.registerWith(ring); err != nil {
		_ = ring.Close()
		return nil, err
	}
	info := ring.Info()
	e.ringInfo.CompareAndSwap(nil, &info)
	q.slots = make([]piece, q.depth)
	q.freeSlot = make([]uint32, q.depth)
	for i := range q.freeSlot {
		q.freeSlot[i] = uint32(q.depth - 1 - i)
	}
	q.cqes = make([]Completion, 2*q.depth)
	q.epochs.init()
	e.register(q)
	return q, nil
}

// NewQueue creates a queue owned by the calling goroutine, which it locks to
// its OS thread until Close. Requests submitted to it complete in Reap.
func (e *Engine) NewQueue() (*Queue, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	runtime.LockOSThread()
	q, err := e.newQueue(false)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	return q, nil
}

// InFlight returns the number of requests submitted and not yet returned.
func (q *Queue) InFlight() int { return q.requests + len(q.ready) }

// Depth returns the number of device I/Os the queue can keep in flight.
func (q *Queue) Depth() int { return q.depth }

// Submit resolves each request through the cache (calling the mapper on
// misses) and queues its device I/O. The kernel sees the I/O at the next
// Reap or Flush. A request that fails before any I/O completes at once
// (returned by the next Reap with its Err set); Submit itself fails only
// for a closed queue.
func (q *Queue) Submit(reqs ...*Request) error {
	if q.ring == nil {
		return ErrClosed
	}
	for _, r := range reqs {
		q.start(r)
	}
	q.fill()
	q.deliver()
	return nil
}

// Flush hands the queued I/O to the kernel without waiting.
func (q *Queue) Flush() error {
	if q.ring == nil {
		return ErrClosed
	}
	return q.pump(0, 0)
}

// Reap appends completed requests to dst, waiting until at least min are
// available (or none are in flight), and returns dst.
func (q *Queue) Reap(dst []*Request, min int) ([]*Request, error) {
	if q.ring == nil {
		return dst, ErrClosed
	}
	for {
		if len(q.ready) >= min || q.requests == 0 {
			if len(q.ready) == 0 && q.inflightIOs()+q.backlogLen() > 0 {
				// Nothing wanted yet, but give the kernel what is queued.
				if err := q.pump(0, 0); err != nil {
					return dst, err
				}
			}
			dst = append(dst, q.ready...)
			clear(q.ready)
			q.ready = q.ready[:0]
			return dst, nil
		}
		if err := q.pump(1, 0); err != nil {
			return dst, err
		}
	}
}

// Close waits for the queue's requests to complete (they are dropped from
// Reap), releases the ring and unlocks the goroutine from its thread.
func (q *Queue) Close() error {
	if q.ring == nil || q.background {
		return nil
	}
	err := q.drain()
	clear(q.ready)
	q.ready = q.ready[:0]
	err = errors.Join(err, q.ring.Close())
	q.ring = nil
	q.eng.unregister(q)
	runtime.UnlockOSThread()
	return err
}

// drain completes everything in flight.
func (q *Queue) drain() error {
	for q.requests > 0 {
		if err := q.pump(1, 100*time.Millisecond); err != nil {
			// A ring that cannot submit cannot complete what is queued:
			// fail the backlog so that nothing waits forever.
			q.failBacklog(err)
			if q.inflightIOs() > 0 {
				continue
			}
			return err
		}
	}
	return nil
}

func (q *Queue) inflightIOs() int { return q.depth - len(q.freeSlot) }
func (q *Queue) backlogLen() int  { return len(q.backlog) - q.bhead }

// start takes a new request: validates it, registers its epoch, resolves
// it into pieces and queues them. Requests that finish without device I/O
// go to q.finished.
func (q *Queue) start(r *Request) {
	e := q.eng
	r.reset()
	r.q = q
	r.startNs = e.nowNs()
	q.requests++
	r.pending = 1 // guard: released at the end of start
	r.epoch = e.epoch.Load()
	q.epochs.enter(r.epoch)

	if r.Sync != NoSync {
		q.startSync(r)
		return
	}
	if err := q.resolve(r); err != nil {
		r.fail(err)
	}
	if r.Err == nil && len(r.Buf) > 0 {
		r.pinner.Pin(&r.Buf[0]) // no-op for arena memory outside the Go heap
	}
	if r.Err != nil {
		q.scratch = q.scratch[:0]
		q.pieceDone(r)
		return
	}
	if n := len(q.scratch); n > 1 {
		q.count(r.File, cSplits, 1)
	}
	r.pending += len(q.scratch)
	q.backlog = append(q.backlog, q.scratch...)
	clear(q.scratch)
	q.scratch = q.scratch[:0]
	q.pieceDone(r)
}

// fill moves backlog pieces into free slots and queues them on the ring.
func (q *Queue) fill() {
	for q.bhead < len(q.backlog) && len(q.freeSlot) > 0 {
		p := &q.backlog[q.bhead]
		slot := q.freeSlot[len(q.freeSlot)-1]
		if !q.queueOp(slot, p) {
			break // submission queue full: wait for the kernel
		}
		q.freeSlot = q.freeSlot[:len(q.freeSlot)-1]
		q.slots[slot] = *p
		if !p.req.handed {
			p.req.handed = true
			q.unsent = append(q.unsent, p.req)
		}
		if p.req.Write {
			// For the ioend's latency; reads need no clock here.
			q.slots[slot].startNs = q.eng.nowNs()
		}
		*p = piece{}
		q.bhead++
	}
	if q.bhead == len(q.backlog) {
		q.backlog, q.bhead = q.backlog[:0], 0
	}
	if n := uint64(q.inflightIOs()); n > q.eng.counters.maxInFlight.Load() {
		q.eng.counters.maxInFlight.Store(n)
	}
}

// queueOp builds the ring operation for the untransferred part of p.
func (q *Queue) queueOp(slot uint32, p *piece) bool {
	if p.sync != NoSync {
		return q.syncOp(slot, p)
	}
	e := q.eng
	d := &e.devs[p.dev]
	buf := p.req.Buf[p.bufOff+p.done : p.bufOff+p.length]
	op := &q.op
	*op = Op{
		Write: p.req.Write, Fd: d.fd, BufIndex: -1,
		Addr: uintptr(unsafe.Pointer(unsafe.SliceData(buf))), Len: uint32(len(buf)),
		Offset: p.addr + uint64(p.done), UserData: uint64(slot),
	}
	if e.filesRegistered {
		op.FixedFile, op.Fd = true, int32(p.dev)
	}
	if e.cfg.FixedBuffers {
		op.BufIndex = e.arena.index(buf)
	}
	return q.ring.Queue(op)
}

// pump submits what is queued, waits for waitNr completions (at most
// timeout, if positive) and processes what completed.
func (q *Queue) pump(waitNr int, timeout time.Duration) error {
	q.fill()
	if waitNr > q.inflightIOs() {
		waitNr = q.inflightIOs()
	}
	q.stampSubmitted()
	err := q.ring.Submit(waitNr, timeout)
	for {
		n := q.ring.Reap(q.cqes)
		for i := range n {
			q.complete(q.cqes[i])
		}
		if n < len(q.cqes) {
			break
		}
	}
	q.fill()
	q.deliver()
	q.eng.reclaim(false)
	if err != nil && !errors.Is(err, syscall.EINTR) {
		return fmt.Errorf("engine: io_uring submit: %w", err)
	}
	return nil
}

// stampSubmitted sets SubmitLatency of the requests whose first device
// I/O the coming io_uring_enter hands to the kernel: one clock read per
// enter, none per I/O.
func (q *Queue) stampSubmitted() {
	if len(q.unsent) == 0 {
		return
	}
	now := q.eng.nowNs()
	for i, r := range q.unsent {
		r.SubmitLatency = time.Duration(now - r.startNs)
		q.unsent[i] = nil
	}
	q.unsent = q.unsent[:0]
}

// failBacklog fails every piece not yet handed to the ring.
func (q *Queue) failBacklog(err error) {
	for q.bhead < len(q.backlog) {
		p := q.backlog[q.bhead]
		q.backlog[q.bhead] = piece{}
		q.bhead++
		q.pieceFailed(&p, err)
	}
	q.backlog, q.bhead = q.backlog[:0], 0
	q.deliver()
}

// complete handles one completion.
func (q *Queue) complete(c Completion) {
	if c.UserData >= uint64(len(q.slots)) {
		return // not ours (cannot happen with the engine's rings)
	}
	slot := uint32(c.UserData)
	p := q.slots[slot]
	q.slots[slot] = piece{}
	q.freeSlot = append(q.freeSlot, slot)
	e, f := q.eng, p.req.File
	q.count(f, cIOs, 1)
	if p.sync != NoSync {
		q.completeSync(&p, c.Res)
		return
	}

	want := p.length - p.done
	switch {
	case c.Res < 0:
		errno := syscall.Errno(-c.Res)
		if errno == syscall.EAGAIN && p.retries < maxAgain {
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
	if p.req.Write {
		q.count(f, cWriteBytes, uint64(n))
	} else {
		q.count(f, cReadBytes, uint64(n))
	}
}

// requeue puts a piece back at the front of the backlog.
func (q *Queue) requeue(p piece) {
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
	d := &q.eng.devs[p.dev]
	ioErr := &IOError{Op: opName(r.Write), File: r.File.name, Offset: p.fileOff,
		Length: uint64(p.length), Dev: p.dev, DevPath: d.path, Addr: p.addr, Err: cause}
	if p.req.Write {
		q.endWrite(p, ioErr)
	}
	r.fail(ioErr)
	q.pieceDone(r)
}

// endWrite is the ioend of one device write: tell the mapper, then move the
// range from the write fork to the read fork (success) or drop it from the
// write fork (failure), and retire the space the mapper freed.
func (q *Queue) endWrite(p *piece, werr error) {
	e, f, r := q.eng, p.req.File, p.req
	w := &q.wend
	*w = WriteEnd{File: f, Written: p.m, OutOfPlace: p.oop, Err: werr,
		Latency: time.Duration(e.nowNs() - p.startNs)}
	w.Written.Offset, w.Written.Length = p.fileOff, uint64(p.length)
	w.Written.Addr = p.addr
	freed, err := e.cfg.Mapper.EndWrite(w, q.frees[:0])
	*w = WriteEnd{}
	if err != nil {
		r.fail(&IOError{Op: "write", File: f.name, Offset: p.fileOff, Length: uint64(p.length),
			Dev: p.dev, DevPath: e.devs[p.dev].path, Addr: p.addr,
			Err: fmt.Errorf("%w: end of write: %w", ErrMapper, err)})
	}
	if !e.cfg.NoCache {
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
	e.retire(freed)
	clear(freed)
	q.frees = freed[:0]
}

// pieceDone drops one pending unit of r and finishes r when none is left.
func (q *Queue) pieceDone(r *Request) {
	r.pending--
	if r.pending > 0 {
		return
	}
	e, f := q.eng, r.File
	r.pinner.Unpin()
	q.epochs.leave(r.epoch)
	q.requests--
	r.Latency = time.Duration(e.nowNs() - r.startNs)
	if r.Err == nil {
		r.N = r.want
		if r.N < len(r.Buf) && !r.Write && r.Sync == NoSync {
			r.Err = ioEOF
		}
	}
	q.count(f, cRequests, 1)
	if f != nil && r.Sync == NoSync {
		if r.Write {
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

// count tallies n for counter k of file f (nil: the engine alone).
func (q *Queue) count(f *File, k counter, n uint64) {
	if f != q.tallyFile {
		q.flushTally()
		q.tallyFile = f
	}
	q.tally[k] += n
}

// flushTally adds the queue's tally to the engine's and its file's
// counters.
func (q *Queue) flushTally() {
	q.eng.counters.add(&q.tally)
	if q.tallyFile != nil {
		q.tallyFile.counters.add(&q.tally)
	}
	q.tally = tally{}
}

// deliver hands finished requests to their owners, after adding what the
// queue counted to the shared statistics, so that whoever sees a request
// complete also sees it counted.
func (q *Queue) deliver() {
	q.flushTally()
	for i, r := range q.finished {
		q.finished[i] = nil
		switch {
		case r.sync != nil:
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
