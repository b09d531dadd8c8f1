package engine

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"syscall"

	"github.com/iobench/iobench/engine/uring"
	"github.com/iobench/iobench/mapcache"
)

// Trims. A trim request (Request.Trim) discards a file range: the engine
// resolves the range through the read fork, as a read does (the mapper's
// MapRead on a miss), and discards the device range under every Mapped
// extent; holes, unwritten, delalloc and inline ranges hold nothing on the
// device and are skipped. The cache is not changed: the file still maps
// the range, and reading it returns what the device returns for
// discarded blocks (zeros on a loop device over a file, and on devices
// that promise zeros after a discard; otherwise undefined).
//
// How a device discards is settled once, when the engine is made:
//
//   - a block device whose queue/discard_max_bytes is not 0: io_uring's
//     block discard command (IORING_OP_URING_CMD with
//     BLOCK_URING_CMD_DISCARD, Linux 6.12 and later) where the kernel has
//     it, otherwise the BLKDISCARD ioctl, which the ring runs
//     synchronously on the queue's thread;
//   - a block device that cannot discard: trims fail with ErrNoDiscard
//     before anything is issued;
//   - a regular file: fallocate(PUNCH_HOLE|KEEP_SIZE) through io_uring
//     (IORING_OP_FALLOCATE), as fio does for files.
//
// Trims must be aligned to TrimAlignment (the devices' discard
// granularity), in the file and on the device; a device range larger than
// the device's discard limit is split.

// Trimmer is implemented by mappers whose files may be trimmed. A trim
// discards what the read fork maps in place, behind the mapper's back: a
// mapper allows it only where losing the contents of a mapped block
// breaks nothing it keeps (no copy of the data elsewhere, no metadata
// that claims the data is there). InPlace implements it.
type Trimmer interface {
	// Trim is called once for each trim request, before any device I/O,
	// with the file range; an error refuses the request (ErrTrimRefused)
	// and nothing is discarded.
	Trim(f *File, off, length uint64) error
}

// Trim allows trims: an in-place mapper keeps nothing but the data.
func (InPlace) Trim(*File, uint64, uint64) error { return nil }

// blockDiscardCmd is whether this kernel's io_uring has the block discard
// command, learned from the first device that can discard.
var blockDiscardCmd struct {
	sync.Mutex
	known, ok bool
}

// setupTrim settles how each device discards, and the engine's trim
// alignment.
func (e *Engine) setupTrim() {
	e.trimAlign = e.align
	for i := range e.devs {
		d := &e.devs[i]
		g := d.dev.Geometry()
		d.trimAlign, d.trimMax = e.align, maxPiece
		if e.cfg.NoDeviceIO {
			d.trim = TrimBlockCmd // as any: the ring does no I/O
			continue
		}
		switch {
		case !d.dev.IsBlock():
			d.trim = TrimPunchHole
		case g.DiscardMaxBytes == 0:
			d.trim = NoTrim
			continue
		case e.cfg.DiscardIoctl || !probeBlockDiscard(d.fd):
			d.trim = TrimIoctl
		default:
			d.trim = TrimBlockCmd
		}
		d.trimAlign = max(d.trimAlign, g.DiscardGranularity)
		if g.DiscardMaxBytes > 0 {
			d.trimMax = min(d.trimMax, g.DiscardMaxBytes) / uint64(d.trimAlign) * uint64(d.trimAlign)
		}
		e.trimAlign = max(e.trimAlign, d.trimAlign)
	}
}

// probeBlockDiscard reports whether io_uring takes the block discard
// command, asking the kernel once per process with a zero-length discard
// of fd (a block device that can discard), which discards nothing: a
// kernel with the command refuses the length (EINVAL, or EBADF and EPERM
// for a device not open for writing), one without it refuses the
// command (EOPNOTSUPP; before 5.19 the probe lacks the opcode).
func probeBlockDiscard(fd int32) bool {
	c := &blockDiscardCmd
	c.Lock()
	defer c.Unlock()
	if !c.known {
		c.ok, c.known = askBlockDiscard(fd), true
	}
	return c.ok
}

func askBlockDiscard(fd int32) bool {
	if p, ok := ringOps(); !ok || !p.Supports(uring.OpURingCmd) {
		return false
	}
	// The ring is single-issuer: keep it on one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := uring.New(2, uring.Params{})
	if err != nil {
		return false
	}
	defer r.Close()
	s := r.GetSQE()
	s.PrepBlockDiscard(fd, 0, 0)
	if _, err := r.SubmitAndWait(1); err != nil {
		return false
	}
	cqe := make([]uring.CQE, 1)
	if r.PeekBatchCQE(cqe) != 1 {
		return false
	}
	r.CQAdvance(1)
	// The opcode exists (5.19 and later): EOPNOTSUPP says block devices
	// take no commands; anything else says the command ran.
	return !errors.Is(cqe[0].Err(), syscall.EOPNOTSUPP)
}

// TrimAlignment returns the alignment of a trim's offset and length: the
// largest discard granularity of the devices that can discard (at least
// the request alignment).
func (e *Engine) TrimAlignment() uint32 { return e.trimAlign }

// TrimMethod says how device dev discards: TrimBlockCmd, TrimIoctl,
// TrimPunchHole, or NoTrim for a device that cannot (or no such device).
func (e *Engine) TrimMethod(dev uint32) TrimOp {
	if int(dev) >= len(e.devs) {
		return NoTrim
	}
	return e.devs[dev].trim
}

// CheckTrim reports why trims of the engine's files would be refused
// before any I/O: the mapper does not allow them (ErrTrimRefused), a
// device cannot discard (ErrNoDiscard) or is read-only (ErrReadOnly). It
// checks every device of the table, since any may hold a file's extents.
func (e *Engine) CheckTrim() error {
	if _, ok := e.cfg.Mapper.(Trimmer); !ok {
		return fmt.Errorf("engine: %w: the mapper (%T) does not allow trims", ErrTrimRefused, e.cfg.Mapper)
	}
	for i := range e.devs {
		d := &e.devs[i]
		switch {
		case d.trim == NoTrim:
			return fmt.Errorf("engine: %w: %s (its queue/discard_max_bytes is 0)", ErrNoDiscard, d.path)
		case d.readOnly:
			return fmt.Errorf("engine: trim: %w: device %s is read-only", ErrReadOnly, d.path)
		}
	}
	return nil
}

// Trim discards [off, off+n) of the file and waits (see Request.Trim):
// every Mapped extent of the range is discarded on its device, holes and
// unwritten extents are skipped, and the cache is unchanged. off and n
// must be multiples of Engine.TrimAlignment, and the range inside the
// file. It may be called from any goroutine.
func (f *File) Trim(off, n int64) error {
	if off < 0 || n < 0 {
		return fmt.Errorf("engine: trim %s: offset %d, length %d: %w", f.name, off, n, ErrNegativeOffset)
	}
	e := f.eng
	r := e.getRequest()
	r.File, r.Trim, r.Offset, r.Length = f, true, uint64(off), int(n)
	_, err := e.do(r)
	e.putRequest(r)
	return err
}

// checkRangeRequest checks what a trim or sync_file_range request (what)
// needs before its range is resolved: a file of this engine and a length
// that is not negative.
func (q *Queue) checkRangeRequest(r *Request, what string) error {
	switch f := r.File; {
	case f == nil:
		return fmt.Errorf("engine: %s request has no file: %w", what, ErrBadRequest)
	case f.eng != q.eng:
		return fmt.Errorf("engine: file %s belongs to another engine: %w", f.name, ErrBadRequest)
	case r.Length < 0:
		return q.requestError(r, r.Offset, 0, fmt.Errorf("%w: negative length %d", ErrBadRequest, r.Length))
	}
	return nil
}

// resolveTrim turns a trim request into discard pieces appended to
// q.backlog.
func (q *Queue) resolveTrim(r *Request) error {
	e, f := q.eng, r.File
	if err := q.checkRangeRequest(r, "trim"); err != nil {
		return err
	}
	length := uint64(r.Length)
	if f.closed.Load() {
		return q.requestError(r, r.Offset, length, ErrFileClosed)
	}
	tr, ok := e.cfg.Mapper.(Trimmer)
	if !ok {
		return q.requestError(r, r.Offset, length, fmt.Errorf("%w: the mapper (%T) does not allow trims", ErrTrimRefused, e.cfg.Mapper))
	}
	a := uint64(e.trimAlign)
	if rem := r.Offset % a; rem != 0 {
		return q.requestError(r, r.Offset, length, fmt.Errorf("%w: trim offset %d is %d bytes past a %d-byte discard unit", ErrUnaligned, r.Offset, rem, a))
	}
	if rem := length % a; rem != 0 {
		return q.requestError(r, r.Offset, length, fmt.Errorf("%w: trim length %d is %d bytes past a multiple of the %d-byte discard unit", ErrUnaligned, length, rem, a))
	}
	if length == 0 {
		return nil
	}
	end := r.Offset + length
	if size := f.Size(); end < r.Offset || end > size {
		return q.requestError(r, r.Offset, length, fmt.Errorf("%w: trim reaches past the end of the file (size %d)", ErrBeyondEOF, size))
	}
	if err := tr.Trim(f, r.Offset, length); err != nil {
		return q.requestError(r, r.Offset, length, fmt.Errorf("%w: %w", ErrTrimRefused, err))
	}
	r.want = r.Length
	for off := r.Offset; off < end; {
		m, err := q.readMapping(r, off, end)
		if err != nil {
			return err
		}
		pend := min(end, m.Offset+m.Length)
		if m.Type == mapcache.Mapped {
			if err := q.addTrimPieces(r, off, pend, m); err != nil {
				return err
			}
		}
		off = pend
	}
	return nil
}

// addTrimPieces queues the discards of [off, end) of r through m.
func (q *Queue) addTrimPieces(r *Request, off, end uint64, m mapcache.Mapping) error {
	d := &q.eng.devs[m.Dev]
	addr := m.Addr + (off - m.Offset)
	fail := func(err error) error { return newIOError("trim", r.File.name, off, end-off, d, addr, err) }
	switch {
	case d.readOnly:
		return fail(fmt.Errorf("%w: device %s is read-only", ErrReadOnly, d.path))
	case d.trim == NoTrim:
		return fail(fmt.Errorf("%w: %s (its queue/discard_max_bytes is 0)", ErrNoDiscard, d.path))
	case addr%uint64(d.trimAlign) != 0 || (end-off)%uint64(d.trimAlign) != 0:
		return fail(fmt.Errorf("%w: the extent maps to device range [%d,+%d), not in %d-byte discard units", ErrUnaligned, addr, end-off, d.trimAlign))
	}
	for off < end {
		n := min(end-off, d.trimMax)
		q.backlog = append(q.backlog, piece{req: r, fileOff: off, length: int(n), dev: m.Dev, addr: addr, m: m})
		off += n
		addr += n
	}
	return nil
}

// queueTrim builds the ring operation for the undiscarded part of p.
func (q *Queue) queueTrim(slot uint32, p *piece) bool {
	e := q.eng
	d := &e.devs[p.dev]
	op := &q.op
	*op = Op{Trim: d.trim, Fd: d.fd, BufIndex: -1, Len: uint32(p.length - p.done),
		Offset: p.addr + uint64(p.done), UserData: uint64(slot)}
	if e.filesRegistered && d.trim != TrimIoctl {
		op.FixedFile, op.Fd = true, int32(p.dev)
	}
	return q.ring.Queue(op)
}
