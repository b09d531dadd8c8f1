package engine

import "time"

// Ring is what the engine needs from an io_uring instance: queue device
// operations, hand them to the kernel, and collect completions. The engine
// reaches the kernel only through this interface, so that tests can put a
// fault-injecting ring behind it (package engine/faultring).
//
// A Ring is used by exactly one goroutine, which the engine locks to its OS
// thread; implementations need not be safe for concurrent use. No method may
// allocate per operation.
type Ring interface {
	// Queue adds op to the submission queue without entering the kernel.
	// It reports false when the submission queue is full.
	Queue(op *Op) bool
	// Submit hands every queued operation to the kernel and then waits
	// until at least waitNr completions are available or timeout has
	// passed (timeout <= 0 waits without limit; waitNr 0 does not wait).
	// EINTR is retried inside; an expired timeout is not an error.
	Submit(waitNr int, timeout time.Duration) error
	// Reap moves up to len(dst) available completions into dst and
	// returns how many it moved. Completions are never lost: one that
	// does not fit stays for the next call.
	Reap(dst []Completion) int
	// RegisterBuffers registers bufs as fixed buffers, indexed in order.
	RegisterBuffers(bufs [][]byte) error
	// RegisterFiles registers fds as fixed files, indexed in order.
	RegisterFiles(fds []int32) error
	// Info describes the ring for reports: setup flags and features.
	Info() string
	// Enters returns how many times the ring has entered the kernel
	// (io_uring_enter calls), for the per-I/O figures in reports.
	Enters() uint64
	// Close releases the ring. Operations still in flight are the
	// caller's responsibility: the engine drains them first.
	Close() error
}

// PendingRing is a Ring that can tell, without a system call, whether
// completions are available to Reap or would come with a Submit that does
// not wait. Config.SpinWait polls it; with a ring that does not implement
// it, queues never spin.
type PendingRing interface {
	Ring
	Pending() bool
}

// PostedReaper is a Ring whose completions may wait in the kernel to be
// posted (deferred task work, an overflowed queue) until the ring is
// entered. ReapPosted is Reap without that entering: it moves only what
// is posted, and reports whether more waits to be posted. A queue about to
// wait reaps so, and lets its wait post the rest: one io_uring_enter
// where Reap and then a wait made two.
type PostedReaper interface {
	Ring
	ReapPosted(dst []Completion) (n int, unposted bool)
}

// Op is one device operation.
type Op struct {
	Write     bool
	Link      bool    // the next operation queued starts after this one completes (IOSQE_IO_LINK)
	FixedFile bool    // Fd is an index into the registered files
	Fd        int32   // file descriptor or registered file index
	BufIndex  int32   // registered buffer index, or -1 for a plain buffer
	Addr      uintptr // buffer address: outside the Go heap, or pinned
	Len       uint32
	// Iovecs, when positive, makes a read vectored: Addr points at that
	// many struct iovec (outside the Go heap, or referenced until the
	// completion), and Len is their total length, which a ring that does
	// no I/O reports transferred (Config.ReadGap). With BufIndex set,
	// every iovec lies within that registered buffer (IORING_OP_READV_FIXED,
	// Linux 6.15 and later: the engine sets it only where the kernel has
	// the opcode).
	Iovecs   uint32
	Offset   uint64 // device byte address
	UserData uint64
	Prio     uint16 // I/O priority of a read or write (Request.Prio)
	Async    bool   // IOSQE_ASYNC on a read or write (Request.Async)
	NoWait   bool   // RWF_NOWAIT on a read or write (Request.NoWait)
	Atomic   bool   // RWF_ATOMIC on a write (Request.Atomic)
	// Sync, when set, makes the op a flush of Fd (no data, no buffer);
	// SyncRange makes it sync_file_range(2) of [Offset, Offset+Len) of Fd
	// with SyncFlags (Addr is not used).
	Sync      Sync
	SyncFlags SyncRangeFlags
	// Trim, when set, makes the op a discard of [Offset, Offset+Len) of
	// Fd, in the way it names (no buffer). Its completion reports Len
	// bytes on success, like a transfer.
	Trim TrimOp
}

// TrimOp is how an Op discards a range (Op.Trim).
type TrimOp uint8

const (
	// NoTrim: the op is not a discard.
	NoTrim TrimOp = iota
	// TrimBlockCmd discards a block device range through the ring:
	// IORING_OP_URING_CMD with BLOCK_URING_CMD_DISCARD (Linux 6.12+).
	TrimBlockCmd
	// TrimIoctl discards a block device range with the BLKDISCARD ioctl,
	// which the ring runs synchronously when the op is queued (kernels
	// whose io_uring has no block discard); Fd is a plain descriptor,
	// never a registered file index.
	TrimIoctl
	// TrimPunchHole deallocates a regular file's range through the ring:
	// IORING_OP_FALLOCATE with FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE.
	TrimPunchHole
)

func (t TrimOp) String() string {
	switch t {
	case TrimBlockCmd:
		return "io_uring BLOCK_URING_CMD_DISCARD"
	case TrimIoctl:
		return "BLKDISCARD ioctl (synchronous, on the queue's thread)"
	case TrimPunchHole:
		return "io_uring fallocate(PUNCH_HOLE|KEEP_SIZE)"
	}
	return "none"
}

// Completion is the outcome of one Op: Res is the number of bytes
// transferred, or a negated errno.
type Completion struct {
	UserData uint64
	Res      int32
}

// RingOptions are what the engine asks of a ring it creates.
type RingOptions struct {
	Entries uint32 // submission queue entries; the CQ is at least twice that
	SQPoll  bool   // kernel submission polling thread
	// SQPollCPU is the CPU the polling thread is bound to, plus one (0:
	// unbound; Config.SQPollCPU).
	SQPollCPU int
	IOPoll    bool // completion polling (needs device poll queues)
	// Polled: the queue may poll the ring for completions before it
	// sleeps (Config.SpinWait, PendingRing), so Pending must see
	// completions the kernel holds back as task work. Unset, a ring may
	// leave out what makes them visible (io_uring's TASKRUN_FLAG), which
	// costs the completing CPU an atomic per batch of completions.
	Polled bool
	// Background: the ring is a background queue's, which waits only
	// while other goroutines wait on it; its waits start raw without
	// counting against the bound on raw waiters (uring.Params.Unslotted).
	Background bool
	// Shared: the ring is one of the engine's direct rings, which File.ReadAt,
	// File.WriteAt and the engine's other synchronous calls use on the
	// calling goroutine's thread (Config.DirectQueues). Each call has the
	// ring to itself, locked to its thread from its submission to its
	// last completion, but successive calls come from any thread: the ring
	// must not be bound to the thread that made it (io_uring's
	// SINGLE_ISSUER), and its waits must let the Go scheduler run other
	// goroutines (uring.Params.Shared).
	Shared bool
}

// RingFactory creates a ring. It is called on the goroutine that will own
// the ring, after that goroutine has been locked to its OS thread; a
// Shared ring (RingOptions.Shared) is used from other threads in turn.
type RingFactory func(opts RingOptions) (Ring, error)
