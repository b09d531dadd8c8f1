package engine

import (
	"fmt"

	"github.com/iobench/iobench/mapcache"
)

// Durability. The engine acknowledges a write when the device has
// completed it, which may leave it in the device's volatile cache. Sync
// makes acknowledged writes durable, as fsync does: it flushes the devices
// through io_uring (IORING_OP_FSYNC on the device) and, for a mapper that
// keeps its file-to-device mappings on the device (a Syncer), has the
// mapper write and flush the metadata that points at the data, in the
// order data, flush, metadata, flush.
//
// Mappers reach the devices for their own metadata through WriteDevice,
// ReadDevice and FlushDevice, which go through the same rings (and the
// same Ring seam, so a test ring sees every device write and flush).

// Sync asks a Request to flush the devices instead of moving data: the
// durability half of fio's fsync, fdatasync, end_fsync and fsync_on_close,
// issued through io_uring (IORING_OP_FSYNC) like any other device
// operation, on the queue the request is submitted to. It flushes the
// devices only; a mapper's metadata (a Syncer) is made durable by
// Engine.Sync, File.Sync or Queue.Sync.
type Sync uint8

const (
	// NoSync is a plain read or write.
	NoSync Sync = iota
	// Fsync flushes data and metadata (fsync(2) on each device).
	Fsync
	// Fdatasync flushes data and the metadata needed to read it back
	// (IORING_FSYNC_DATASYNC).
	Fdatasync
	// SyncRange writes back the page-cache pages of a range of one file,
	// as sync_file_range(2) does (IORING_OP_SYNC_FILE_RANGE): the
	// request's File, Offset and Length give the range and its SyncFlags
	// what to do. Unlike Fsync and Fdatasync it is about one file: the
	// engine translates the range to the device ranges under it (see
	// File.SyncRange). It flushes no device cache and makes no metadata
	// durable, as the system call does not.
	SyncRange
)

func (s Sync) String() string {
	switch s {
	case Fsync:
		return "fsync"
	case Fdatasync:
		return "fdatasync"
	case SyncRange:
		return "sync_file_range"
	}
	return "none"
}

// SyncRangeFlags says what a SyncRange request does: sync_file_range(2)'s
// flags, with their values.
type SyncRangeFlags uint8

const (
	// SyncRangeWaitBefore waits for write-out of the range already under
	// way before starting any (SYNC_FILE_RANGE_WAIT_BEFORE).
	SyncRangeWaitBefore SyncRangeFlags = 1
	// SyncRangeWrite starts write-out of the range's dirty pages
	// (SYNC_FILE_RANGE_WRITE).
	SyncRangeWrite SyncRangeFlags = 2
	// SyncRangeWaitAfter waits for the range's write-out to end
	// (SYNC_FILE_RANGE_WAIT_AFTER). With the other two, every page of the
	// range dirtied before the request has reached the device (its
	// volatile cache, perhaps) when it completes.
	SyncRangeWaitAfter SyncRangeFlags = 4

	syncRangeAll = SyncRangeWaitBefore | SyncRangeWrite | SyncRangeWaitAfter
)

// SyncRange writes back the page-cache pages of [off, off+n) of the file
// and waits: sync_file_range(2) with flags, on the device range under each
// mapped extent of the file range (through the read fork, as a read finds
// them); holes, unwritten, delalloc and inline ranges hold nothing on the
// device and are skipped, and a range past the end of the file stops
// there. With every flag set, what was written to the range through the
// page cache (a device opened without O_DIRECT) and acknowledged before
// the call has reached the device when it returns nil; the device's
// volatile cache is not flushed and a mapper's metadata is not written
// (Engine.Sync does both). Writes that went around the page cache
// (O_DIRECT) leave nothing for it to do. It may be called from any
// goroutine.
func (f *File) SyncRange(off, n int64, flags SyncRangeFlags) error {
	if off < 0 || n < 0 {
		return fmt.Errorf("engine: sync_file_range %s: offset %d, length %d: %w", f.name, off, n, ErrNegativeOffset)
	}
	e := f.eng
	r := e.getRequest()
	r.File, r.Sync, r.SyncFlags, r.Offset, r.Length = f, SyncRange, flags, uint64(off), int(n)
	_, err := e.do(r)
	e.putRequest(r)
	return err
}

// resolveSyncRange turns a SyncRange request into one sync_file_range
// piece per device range under the file range's mapped extents (one
// piece for extents that follow each other on a device, split at
// maxPiece: io_uring's length is 32 bits). The request moves no data: its
// pieces have no length to transfer (raw.n is the range).
func (q *Queue) resolveSyncRange(r *Request) error {
	f := r.File
	if err := q.checkRangeRequest(r, "sync_file_range"); err != nil {
		return err
	}
	if r.SyncFlags&^syncRangeAll != 0 {
		return q.requestError(r, r.Offset, uint64(r.Length), fmt.Errorf("unknown sync_file_range flags %#x", uint8(r.SyncFlags&^syncRangeAll)))
	}
	length := uint64(r.Length)
	if f.closed.Load() {
		return q.requestError(r, r.Offset, length, ErrFileClosed)
	}
	end := r.Offset + length
	if end < r.Offset {
		return q.requestError(r, r.Offset, length, fmt.Errorf("%w: range overflows", ErrBeyondEOF))
	}
	end = min(end, f.Size())
	for off := r.Offset; off < end; {
		m, err := q.readMapping(r, off, end)
		if err != nil {
			return err
		}
		pend := min(end, m.Offset+m.Length)
		if m.Type == mapcache.Mapped {
			q.addSyncRangePieces(r, off, pend, m)
		}
		off = pend
	}
	return nil
}

// addSyncRangePieces queues the sync_file_range of the device range under
// [off, end) of r through m, extending r's last piece where the range
// follows it on the same device.
func (q *Queue) addSyncRangePieces(r *Request, off, end uint64, m mapcache.Mapping) {
	addr := m.Addr + (off - m.Offset)
	n := end - off
	if k := len(q.backlog); k > q.bhead {
		if last := &q.backlog[k-1]; last.req == r && last.dev == m.Dev && last.addr+uint64(last.raw.n) == addr {
			add := min(n, maxPiece-uint64(last.raw.n))
			last.raw.n += uint32(add)
			off, addr, n = off+add, addr+add, n-add
		}
	}
	for n > 0 {
		k := min(n, maxPiece)
		q.backlog = append(q.backlog, piece{req: r, fileOff: off, dev: m.Dev, addr: addr, m: m,
			raw: rawPiece{sync: SyncRange, flags: r.SyncFlags, n: uint32(k)}})
		off, addr, n = off+k, addr+k, n-k
	}
}

// resolveSync turns a flush request (Request.Sync) into one flush piece
// per device of the engine: the engine does not know which devices a
// file's writes went to, and flushing a device that has nothing to write
// back costs little.
func (q *Queue) resolveSync(r *Request) {
	for i := range q.eng.devs {
		q.backlog = append(q.backlog, piece{req: r, dev: uint32(i), m: mapcache.Mapping{Addr: mapcache.NullAddr},
			raw: rawPiece{sync: r.Sync}})
	}
}

// Syncer is implemented by mappers that make their mappings durable.
type Syncer interface {
	// Sync makes durable every mapping change that EndWrite recorded
	// before the call, and the data those changes point at: it flushes
	// the data, then writes its metadata and flushes again (CommitDevice
	// does all three), through d. Concurrent calls may share one
	// metadata write and flush. It is called from the goroutine that
	// called Engine.Sync, File.Sync or Queue.Sync, never from a
	// background queue's goroutine.
	Sync(d DeviceIO) error
}

// DeviceIO is raw device I/O for a mapper's metadata, done by an Engine
// (through its background queues) or by a caller-owned Queue (on the
// caller's goroutine, with no hand-off).
type DeviceIO interface {
	FlushDevice(dev uint32) error
	WriteDevice(dev uint32, p []byte, addr uint64) error
	CommitDevice(dev uint32, p []byte, addr uint64) error
	ReadDevice(dev uint32, p []byte, addr uint64) error
	// Buffer and PutBuffer hand out aligned buffers from the engine's
	// arena.
	Buffer(n int) []byte
	PutBuffer(b []byte)
}

var (
	_ DeviceIO = (*Engine)(nil)
	_ DeviceIO = (*Queue)(nil)
)

type rawKind uint8

const (
	rawNone rawKind = iota
	rawRead
	rawWrite
	rawFlush
	rawCommit // flush, write, flush: one linked chain
)

// rawPiece is what a device request's piece needs beyond a file piece's.
type rawPiece struct {
	sync  Sync           // a flush (fsync or fdatasync) or a range sync, not a transfer
	link  bool           // IOSQE_IO_LINK to the next piece
	chain uint8          // on a chain's first piece: how many pieces it has
	flags SyncRangeFlags // a range sync's flags
	n     uint32         // a range sync's length on the device, from the piece's addr
}

// prep sets what p says on op.
func (p *rawPiece) prep(op *Op) {
	op.Sync, op.Link = p.sync, p.link
	if p.sync != NoSync {
		op.Write, op.Len, op.SyncFlags = false, p.n, p.flags
	}
}

// unlink makes p a lone operation (a piece issued again after a short
// transfer or EAGAIN: the rest of its chain was cancelled or has run).
func (p *rawPiece) unlink() { *p = rawPiece{sync: p.sync, flags: p.flags, n: p.n} }

// Sync makes every write acknowledged before the call durable: through
// the mapper when it is a Syncer, otherwise by flushing every device. It
// must not be called from a request's Callback (a queue's goroutine).
func (e *Engine) Sync() error {
	if s, ok := e.cfg.Mapper.(Syncer); ok {
		return s.Sync(e)
	}
	for dev := range e.devs {
		if err := e.FlushDevice(uint32(dev)); err != nil {
			return err
		}
	}
	return nil
}

// Sync makes the file's acknowledged writes durable. Mappers keep one
// journal for all files, so it is Engine.Sync.
func (f *File) Sync() error { return f.eng.Sync() }

// Sync is Engine.Sync done on the caller-owned queue: the flushes and
// metadata writes go through this queue's ring, on the calling goroutine,
// with no hand-off to a background queue. Requests in flight on the queue
// keep going; those that complete meanwhile wait for the next Reap.
func (q *Queue) Sync() error {
	if s, ok := q.eng.cfg.Mapper.(Syncer); ok {
		return s.Sync(q)
	}
	for dev := range q.eng.devs {
		if err := q.FlushDevice(uint32(dev)); err != nil {
			return err
		}
	}
	return nil
}

// FlushDevice is Engine.FlushDevice on the queue.
func (q *Queue) FlushDevice(dev uint32) error { return q.rawDo(rawFlush, dev, nil, 0) }

// WriteDevice is Engine.WriteDevice on the queue.
func (q *Queue) WriteDevice(dev uint32, p []byte, addr uint64) error {
	return q.rawDo(rawWrite, dev, p, addr)
}

// CommitDevice is Engine.CommitDevice on the queue.
func (q *Queue) CommitDevice(dev uint32, p []byte, addr uint64) error {
	return q.rawDo(rawCommit, dev, p, addr)
}

// ReadDevice is Engine.ReadDevice on the queue.
func (q *Queue) ReadDevice(dev uint32, p []byte, addr uint64) error {
	return q.rawDo(rawRead, dev, p, addr)
}

// Buffer is Engine.Buffer.
func (q *Queue) Buffer(n int) []byte { return q.eng.Buffer(n) }

// PutBuffer is Engine.PutBuffer.
func (q *Queue) PutBuffer(b []byte) { q.eng.PutBuffer(b) }

// rawDo runs one device request on a caller-owned queue and waits for it.
func (q *Queue) rawDo(kind rawKind, dev uint32, p []byte, addr uint64) error {
	if q.ring == nil {
		return ErrClosed
	}
	if q.background {
		return fmt.Errorf("engine: device I/O on a background queue's goroutine")
	}
	e := q.eng
	r := e.getRequest()
	r.raw, r.rawDev, r.Offset, r.Buf, r.Write = kind, dev, addr, p, kind == rawWrite || kind == rawCommit
	now := e.nowNs()
	q.start(r, now)
	q.fill(now)
	q.deliver()
	for {
		select {
		case <-r.sync:
			err := r.Err
			e.putRequest(r)
			return err
		default:
		}
		if err := q.pump(1, 0); err != nil {
			// The ring cannot submit: fail what waits; r is not reused.
			q.failBacklog(err)
			if q.inflightIOs() == 0 {
				return err
			}
		}
	}
}

// FlushDevice flushes device dev's volatile write cache through io_uring
// and waits: every write the device completed before the call is on
// stable media when it returns nil.
func (e *Engine) FlushDevice(dev uint32) error {
	return e.rawDo(rawFlush, dev, nil, 0)
}

// WriteDevice writes p at device byte address addr, bypassing files and
// mappers, and waits. p, addr and len(p) must be aligned as
// Engine.Alignment says; p should come from Buffer. For mappers' metadata.
func (e *Engine) WriteDevice(dev uint32, p []byte, addr uint64) error {
	return e.rawDo(rawWrite, dev, p, addr)
}

// CommitDevice writes p at device address addr between two flushes, as
// one linked chain of operations: everything the device completed before
// the call is durable before p is written, and p is durable when it
// returns nil (the order a journal commit needs, in one trip to the
// kernel). p must be aligned like WriteDevice's and at most 1 GiB. On an
// error p may or may not have been written.
func (e *Engine) CommitDevice(dev uint32, p []byte, addr uint64) error {
	return e.rawDo(rawCommit, dev, p, addr)
}

// ReadDevice reads len(p) bytes at device address addr (aligned like
// WriteDevice) and waits.
func (e *Engine) ReadDevice(dev uint32, p []byte, addr uint64) error {
	return e.rawDo(rawRead, dev, p, addr)
}

func (e *Engine) rawDo(kind rawKind, dev uint32, p []byte, addr uint64) error {
	r := e.getRequest()
	r.raw, r.rawDev, r.Offset, r.Buf, r.Write = kind, dev, addr, p, kind == rawWrite || kind == rawCommit
	_, err := e.do(r)
	e.putRequest(r)
	return err
}

// resolveRaw turns a device request into its single piece.
func (q *Queue) resolveRaw(r *Request) error {
	e := q.eng
	length := uint64(len(r.Buf))
	fail := func(err error) error {
		var dev *devEntry
		if int(r.rawDev) < len(e.devs) {
			dev = &e.devs[r.rawDev]
		}
		return newIOError(r.opName(), r.fileName(), r.Offset, length, dev, r.Offset, err)
	}
	if int(r.rawDev) >= len(e.devs) {
		return fail(fmt.Errorf("%w: no device %d", ErrBadMapping, r.rawDev))
	}
	d := &e.devs[r.rawDev]
	if r.raw == rawFlush {
		if length != 0 {
			return fail(fmt.Errorf("flush with a %d-byte buffer", length))
		}
		q.backlog = append(q.backlog, piece{req: r, dev: r.rawDev, m: mapcache.Mapping{Addr: mapcache.NullAddr}, raw: rawPiece{sync: Fsync}})
		return nil
	}
	if err := e.checkAligned(r); err != nil {
		return fail(err)
	}
	if length == 0 {
		return nil
	}
	if r.Offset+length < r.Offset || r.Offset+length > d.size {
		return fail(fmt.Errorf("%w: [%d,+%d) reaches past the device's %d bytes", ErrBadMapping, r.Offset, length, d.size))
	}
	if r.Write && d.readOnly {
		return fail(ErrReadOnly)
	}
	r.want = len(r.Buf)
	if r.raw == rawCommit {
		if length > maxPiece {
			return fail(fmt.Errorf("commit of %d bytes: at most %d", length, maxPiece))
		}
		if len(q.slots) < 3 {
			return fail(fmt.Errorf("commit needs a queue depth of 3, this queue has %d", len(q.slots)))
		}
		flush := piece{req: r, dev: r.rawDev, m: mapcache.Mapping{Addr: mapcache.NullAddr}}
		first, last := flush, flush
		first.raw = rawPiece{sync: Fsync, link: true, chain: 3}
		last.raw = rawPiece{sync: Fsync}
		q.backlog = append(q.backlog, first,
			piece{req: r, fileOff: r.Offset, length: int(length), dev: r.rawDev, addr: r.Offset,
				m: mapcache.Mapping{Addr: mapcache.NullAddr}, raw: rawPiece{link: true}},
			last)
		return nil
	}
	for off := uint64(0); off < length; off += maxPiece {
		n := min(length-off, maxPiece)
		q.backlog = append(q.backlog, piece{req: r, fileOff: r.Offset + off, bufOff: int(off), length: int(n),
			dev: r.rawDev, addr: r.Offset + off, m: mapcache.Mapping{Addr: mapcache.NullAddr}})
	}
	return nil
}

func (r *Request) opName() string {
	if r.Trim {
		return "trim"
	}
	if r.Sync != NoSync {
		return r.Sync.String()
	}
	switch r.raw {
	case rawFlush:
		return "flush"
	case rawRead:
		return "device read"
	case rawWrite:
		return "device write"
	case rawCommit:
		return "device commit"
	}
	return opName(r.Write)
}

func (r *Request) fileName() string {
	if r.File == nil {
		return "(device)"
	}
	return r.File.name
}
