package engine

import (
	"fmt"
	"runtime"
	"time"
)

// A Request reads or writes one range of a file. The caller fills File,
// Offset, Buf and Write (and optionally Tag, Callback, Done), hands it to
// Engine.Submit or Queue.Submit, and must not touch it again until it
// completes. The engine then sets N, Err and Latency.
//
// Offset, len(Buf) and the address of Buf must be aligned as
// Engine.Alignment says. Buffers from Engine.Buffer live outside the Go heap
// and can use registered (fixed) buffers; any other buffer is pinned for the
// duration of the I/O.
//
// A Request can be reused once it has completed: the engine resets its
// results when it is submitted again. Submitting it again before it has
// been handed back (its Callback called, sent on Done, returned by Reap)
// is refused with ErrInFlight.
type Request struct {
	File   *File
	Offset uint64
	Buf    []byte
	Write  bool
	// Sync, when set, makes the request a flush of the engine's devices
	// (Offset, Buf and Write are not used): it completes once every
	// device has made what it acknowledged before durable. SyncRange
	// instead writes back Length bytes of File at Offset from the page
	// cache, as SyncFlags says (Buf and Write are not used; see
	// File.SyncRange).
	Sync Sync
	// SyncFlags are a SyncRange request's sync_file_range(2) flags.
	SyncFlags SyncRangeFlags
	// Trim, when set, makes the request a discard of Length bytes of the
	// file at Offset (Buf and Write are not used; see File.Trim for what a
	// trim of a file range does). On success N is Length.
	Trim   bool
	Length int
	// Tag is the caller's; the engine does not look at it.
	Tag uint64
	// Prio is the I/O priority of the request's device reads and writes,
	// as ioprio_set(2) takes it: class<<13 | level (IOPrio builds it). 0
	// leaves them the thread's priority. The kernel refuses a value it
	// does not know (EINVAL) and the real-time class without
	// CAP_SYS_ADMIN or CAP_SYS_NICE (EPERM), in the request's Err.
	Prio uint16
	// Async makes the kernel run the request's device reads and writes in
	// its async workers (io-wq, IOSQE_ASYNC) instead of trying them
	// inline first: what fio's force_async measures.
	Async bool
	// NoWait asks the kernel to fail the request's device reads and
	// writes with EAGAIN (RWF_NOWAIT) rather than block or hand them to
	// its async workers: a buffered read of pages not in the page cache,
	// a device whose queue is full. The engine does not retry them: the
	// EAGAIN is the request's Err, what fio's nowait measures.
	NoWait bool
	// Atomic makes a write an atomic write (RWF_ATOMIC): the device
	// stores all of it or none. It must go out as one device write: a
	// request the engine would split (over extents, devices, or past the
	// largest device I/O) fails with ErrAtomicSplit before anything is
	// written, as does an Atomic read, trim or flush. The kernel checks
	// the rest (EOPNOTSUPP from a device without atomic writes or a file
	// not open O_DIRECT, EINVAL for a length or offset outside the
	// device's atomic write units), in the request's Err.
	Atomic bool

	// Callback, when set, is called on the queue's goroutine when the
	// request completes. It must not block: no File.ReadAt,
	// File.WriteAt, Engine.Sync or Engine.Close, which wait for a queue
	// and would wait for this one forever (hand such work to another
	// goroutine). It may call Engine.Submit, which does not wait for room
	// when called from a callback: the queue the callback runs on takes
	// the request after its callbacks. Nor may it panic: that ends the
	// program, as on any goroutine.
	Callback func(*Request)
	// Done, when set, receives the request when it completes. It must have
	// room (a buffered channel), or the queue stalls until it is read.
	Done chan<- *Request

	// N is the number of bytes transferred: len(Buf) for a complete write,
	// up to len(Buf) for a read (less at end of file, with Err io.EOF).
	N int
	// Err is nil, io.EOF for a read that reached the end of the file, or
	// an error wrapping one of the package's sentinels or a device errno
	// (usually as an *IOError naming the file offset, device and address).
	Err error
	// Latency is the time from submission to completion.
	Latency time.Duration
	// SubmitLatency is the part of Latency before the engine handed the
	// request's first device I/O to the kernel (resolving it, waiting for
	// a free slot, waiting for the next io_uring_enter): fio's slat. It is
	// 0 for a request that completed without device I/O.
	SubmitLatency time.Duration

	// Engine-private state.
	raw     rawKind // device I/O with no file: see sync.go
	rawDev  uint32
	q       *Queue
	startNs int64 // monotonic submission time, ns since engine start
	epoch   uint64
	pending int  // device I/Os still outstanding
	handed  bool // a device I/O of it is on the ring (SubmitLatency is due)
	// busy is set from Queue.Submit until the request is handed back
	// (callback, Done, Reap): a second Submit in between is refused with
	// ErrInFlight. Only the queue's goroutine touches it. sent is the
	// same for requests that go to a background queue (Engine.Submit,
	// ReadAt): set by whichever goroutine sends, cleared by the queue's,
	// hence atomic (its cost is small beside the channel's): 1 while
	// sent. A plain uint32, not an atomic.Bool, so that a Request can
	// still be copied.
	busy   bool
	sent   uint32
	want   int // N to report on success
	pinner runtime.Pinner
	pinned bool          // pinner holds Buf (a Go heap buffer, not the arena's)
	sync   chan *Request // for ReadAt/WriteAt
}

// Started returns when r was last submitted, on the engine's clock
// (Engine.Clock): its Latency and SubmitLatency count from there, so
// that Started()+SubmitLatency is when its first device I/O went to the
// kernel (fio's issue time) and Started()+Latency when it completed.
func (r *Request) Started() time.Duration { return time.Duration(r.startNs) }

// Issued reports whether a device I/O of r went to the kernel in its last
// submission, so that its SubmitLatency was measured (unless
// Config.NoSubmitLatency): a 0 then is a reading, on a clock of coarse
// steps (ClockGettimeofday), not an absence.
func (r *Request) Issued() bool { return r.handed }

// reset prepares r for a new submission.
func (r *Request) reset() {
	r.N, r.Err, r.Latency, r.SubmitLatency = 0, nil, 0, 0
	r.handed = false
	r.pending, r.want, r.epoch = 0, 0, 0
	r.q = nil
}

// fail records err as the request's error unless it already has one: the
// first failure is the one worth reporting.
func (r *Request) fail(err error) {
	if r.Err == nil {
		r.Err = err
	}
}

// describe names r for an error about the request itself: its operation,
// file and offset.
func (r *Request) describe() string {
	return fmt.Sprintf("%s of %s at offset %d", r.opName(), r.fileName(), r.Offset)
}

// I/O priority classes (ioprio_set(2)), for IOPrio.
const (
	PrioClassNone = 0 // the thread's priority
	PrioClassRT   = 1 // real time: served before the others
	PrioClassBE   = 2 // best effort: the default class
	PrioClassIdle = 3 // served only when the device has nothing else
)

// IOPrio returns the Request.Prio of an I/O priority class and level (0,
// the highest, to 7), as the kernel's IOPRIO_PRIO_VALUE builds it.
func IOPrio(class, level int) uint16 { return uint16(class&7)<<13 | uint16(level&7) }
