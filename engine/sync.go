package engine

import "syscall"

// Sync asks a request to flush the devices instead of moving data: the
// durability half of fio's fsync, fdatasync, end_fsync and
// fsync_on_close, issued through io_uring (IORING_OP_FSYNC) like any
// other device operation.
type Sync uint8

const (
	// NoSync is a plain read or write.
	NoSync Sync = iota
	// Fsync flushes data and metadata (fsync(2) on each device).
	Fsync
	// Fdatasync flushes data and the metadata needed to read it back
	// (IORING_FSYNC_DATASYNC).
	Fdatasync
)

func (s Sync) String() string {
	switch s {
	case Fsync:
		return "fsync"
	case Fdatasync:
		return "fdatasync"
	}
	return "none"
}

// startSync queues one flush per device of the engine for r: a flush
// request names a file only for accounting, since the engine does not
// know which devices a file's writes went to, and flushing a device that
// has nothing to write back costs little.
func (q *Queue) startSync(r *Request) {
	e := q.eng
	r.pending += len(e.devs)
	for i := range e.devs {
		q.backlog = append(q.backlog, piece{req: r, dev: uint32(i), sync: r.Sync})
	}
	q.pieceDone(r)
}

// syncOp fills op with the flush of p's device.
func (q *Queue) syncOp(slot uint32, p *piece) bool {
	e := q.eng
	op := &q.op
	*op = Op{Sync: p.sync, Fd: e.devs[p.dev].fd, BufIndex: -1, UserData: uint64(slot)}
	if e.filesRegistered {
		op.FixedFile, op.Fd = true, int32(p.dev)
	}
	return q.ring.Queue(op)
}

// completeSync handles the completion of a flush.
func (q *Queue) completeSync(p *piece, res int32) {
	if res < 0 {
		r := p.req
		d := &q.eng.devs[p.dev]
		r.fail(&IOError{Op: p.sync.String(), File: fileName(r.File), Dev: p.dev, DevPath: d.path, Err: syscall.Errno(-res)})
	}
	q.pieceDone(p.req)
}

func fileName(f *File) string {
	if f == nil {
		return ""
	}
	return f.name
}
