package engine

import (
	"errors"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine/uring"
	"golang.org/x/sys/unix"
)

// iouring adapts an engine/uring ring to the Ring interface.
type iouring struct {
	r          *uring.Ring
	cqes       []uring.CQE
	bufs, fils bool // registered, to unregister at Close

	// nop replaces every operation with an IORING_OP_NOP that reports
	// the whole length transferred (lens, by user data): NewNopRing.
	nop  bool
	lens []uint32

	// Discards complete with 0; Reap reports their length instead
	// (trimLen, by user data, while trims > 0 are in flight). done holds
	// the completions of BLKDISCARD ioctls, run when they were queued.
	trimLen []uint32
	trims   int
	done    []Completion

	// direct: the ring is a direct queue's (RingOptions.Shared). A plain
	// read or write queued alone is held (held, holding) rather than put
	// on the ring; a wait for it runs it as pread(2) or pwrite(2) on the
	// calling thread (runHeld), a second operation puts it on the ring
	// first. fds are the registered files, for held operations that name
	// one by index.
	direct  bool
	held    Op
	holding bool
	fds     []int32
}

// directSyscalls: direct rings run a lone read or write as pread(2) or
// pwrite(2) (iouring.runHeld). Tests and benchmarks turn it off to
// compare with the ring.
var directSyscalls = func() *atomic.Bool { var b atomic.Bool; b.Store(true); return &b }()

// NewIOURing is the default RingFactory: a real io_uring with the set-up
// flags the kernel supports (see uring.New).
func NewIOURing(opts RingOptions) (Ring, error) {
	r, err := uring.New(opts.Entries, uring.Params{SQPoll: opts.SQPoll, SQAff: opts.SQPollCPU > 0, SQThreadCPU: uint32(max(opts.SQPollCPU-1, 0)),
		IOPoll: opts.IOPoll, NoTaskrunFlag: !opts.Polled, Unslotted: opts.Background, Shared: opts.Shared})
	if err != nil {
		return nil, err
	}
	return &iouring{r: r, cqes: make([]uring.CQE, 2*opts.Entries), direct: opts.Shared && directSyscalls.Load()}, nil
}

// NewNopRing is a RingFactory for rings that do no device I/O but enter
// the kernel as a device's would: every operation becomes an
// IORING_OP_NOP that completes with the operation's full length. Where
// NewNullRing measures the engine alone, this measures the engine with
// its io_uring_enter calls, and tests count those calls exactly (a NOP
// completes within the call that submits it). Reads leave the buffer as
// it was.
func NewNopRing(opts RingOptions) (Ring, error) {
	r, err := NewIOURing(opts)
	if err != nil {
		return nil, err
	}
	u := r.(*iouring)
	u.nop, u.lens = true, make([]uint32, opts.Entries) // user data is a slot below Entries
	return u, nil
}

func (u *iouring) Queue(op *Op) bool {
	if u.direct && !u.nop {
		if u.holding {
			// A second operation: the one held goes to the ring first.
			if !u.queueRing(&u.held) {
				return false
			}
			u.holding = false
		} else if plainRW(op) && u.r.SQReady() == 0 {
			u.held, u.holding = *op, true
			return true
		}
	}
	return u.queueRing(op)
}

// plainRW reports whether op is a read or write that pread(2) or
// pwrite(2) can run as the ring would: no link, priority or per-I/O flag.
func plainRW(op *Op) bool {
	return op.Trim == NoTrim && op.Sync == NoSync && op.Iovecs == 0 && !op.Link && op.Prio == 0 && !op.Async && !op.NoWait && !op.Atomic
}

// runHeld runs the held read or write now, on the calling thread, as a
// blocking system call through the runtime (as the ring's waits are),
// and keeps its completion for the next Reap: the same result the ring
// gives, in one system call that does its own waiting. Four goroutines
// reading 4 KiB at a time from a loop device this way ran 1.07x and 0.90x
// pread's own rate, where submitting and waiting through the ring
// (io_uring_enter, the completion run as task work) ran 0.71x at about
// 1.45x pread's CPU time per read (BenchmarkSyncReadLoop, two runs).
func (u *iouring) runHeld() {
	op := &u.held
	u.holding = false
	fd := op.Fd
	if op.FixedFile {
		fd = u.fds[op.Fd]
	}
	call := uintptr(unix.SYS_PREAD64)
	if op.Write {
		call = unix.SYS_PWRITE64
	}
	var res int32
	for {
		n, _, errno := unix.Syscall6(call, uintptr(fd), op.Addr, uintptr(op.Len), uintptr(op.Offset), 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if res = int32(n); errno != 0 {
			res = -int32(errno)
		}
		break
	}
	u.done = append(u.done, Completion{UserData: op.UserData, Res: res})
}

// queueRing is Queue onto the ring itself.
func (u *iouring) queueRing(op *Op) bool {
	if op.Trim == TrimIoctl && !u.nop {
		return u.trimIoctl(op)
	}
	s := u.r.GetSQE()
	if s == nil {
		return false
	}
	if u.nop {
		s.PrepNop()
		s.UserData = op.UserData
		if op.UserData >= uint64(len(u.lens)) {
			u.lens = append(u.lens, make([]uint32, int(op.UserData)+1-len(u.lens))...)
		}
		u.lens[op.UserData] = op.Len
		return true
	}
	switch {
	case op.Trim != NoTrim:
		return u.queueTrim(s, op)
	case op.Sync != NoSync:
		prepSync(s, op)
	case op.Iovecs > 0 && op.BufIndex >= 0:
		s.PrepReadvFixed(op.Fd, op.Addr, op.Iovecs, op.Offset, uint16(op.BufIndex))
	case op.Iovecs > 0:
		s.PrepReadv(op.Fd, op.Addr, op.Iovecs, op.Offset)
	case op.BufIndex >= 0 && op.Write:
		s.PrepWriteFixed(op.Fd, op.Addr, op.Len, op.Offset, uint16(op.BufIndex))
	case op.BufIndex >= 0:
		s.PrepReadFixed(op.Fd, op.Addr, op.Len, op.Offset, uint16(op.BufIndex))
	case op.Write:
		s.PrepWrite(op.Fd, op.Addr, op.Len, op.Offset)
	default:
		s.PrepRead(op.Fd, op.Addr, op.Len, op.Offset)
	}
	if op.Sync == NoSync {
		s.IOPrio = op.Prio
		if op.Async {
			s.Flags |= uring.SQEAsync
		}
		if op.NoWait {
			s.OpFlags |= uring.RWFNoWait
		}
		if op.Atomic {
			s.OpFlags |= uring.RWFAtomic
		}
	}
	if op.FixedFile {
		s.SetFixedFile()
	}
	if op.Link {
		s.Flags |= uring.SQEIOLink
	}
	s.UserData = op.UserData
	return true
}

// prepSync prepares the flush or range sync op on s.
func prepSync(s *uring.SQE, op *Op) {
	switch op.Sync {
	case Fdatasync:
		s.PrepFsync(op.Fd, uring.FsyncDatasync)
	case SyncRange:
		// Only the range and the flags: the kernel refuses the op when
		// addr is set (op.Addr may point at a stale buffer).
		s.PrepSyncFileRange(op.Fd, op.Offset, op.Len, uint32(op.SyncFlags))
	default:
		s.PrepFsync(op.Fd, 0)
	}
}

// queueTrim prepares the discard op on s (a block device command or a
// punched hole).
func (u *iouring) queueTrim(s *uring.SQE, op *Op) bool {
	if op.Trim == TrimBlockCmd {
		s.PrepBlockDiscard(op.Fd, op.Offset, uint64(op.Len))
	} else {
		s.PrepFallocate(op.Fd, uring.FallocPunchHole|uring.FallocKeepSize, op.Offset, uint64(op.Len))
	}
	if op.FixedFile {
		s.SetFixedFile()
	}
	if op.Link {
		s.Flags |= uring.SQEIOLink
	}
	s.UserData = op.UserData
	if op.UserData >= uint64(len(u.trimLen)) {
		u.trimLen = append(u.trimLen, make([]uint32, int(op.UserData)+1-len(u.trimLen))...)
	}
	u.trimLen[op.UserData] = op.Len
	u.trims++
	return true
}

// trimIoctl runs a BLKDISCARD ioctl now, on the ring's thread (it takes
// no SQE), and keeps its completion for the next Reap.
func (u *iouring) trimIoctl(op *Op) bool {
	res := int32(op.Len)
	if err := device.BlkDiscard(int(op.Fd), op.Offset, uint64(op.Len)); err != nil {
		var errno syscall.Errno
		if !errors.As(err, &errno) {
			errno = syscall.EIO
		}
		res = -int32(errno)
	}
	u.done = append(u.done, Completion{UserData: op.UserData, Res: res})
	return true
}

func (u *iouring) Submit(waitNr int, timeout time.Duration) error {
	if u.holding {
		if waitNr > 0 {
			u.runHeld() // alone on the ring: its wait is the system call's
		} else if u.queueRing(&u.held) {
			u.holding = false
		}
	}
	if len(u.done) > 0 {
		waitNr = 0 // completions are waiting that the kernel knows nothing of
	}
	var err error
	if timeout > 0 && waitNr > 0 {
		_, err = u.r.SubmitAndWaitTimeout(uint32(waitNr), timeout)
	} else {
		_, err = u.r.SubmitAndWait(uint32(waitNr))
	}
	return err
}

func (u *iouring) Reap(dst []Completion) int { return u.reap(dst, true) }

// ReapPosted implements PostedReaper.
func (u *iouring) ReapPosted(dst []Completion) (int, bool) {
	if len(u.done) == 0 && u.r.CQReady() == 0 {
		// Nothing posted, the usual answer of a pump about to wait at
		// low depth: two loads instead of a reap.
		return 0, len(dst) > 0 && u.r.Unposted()
	}
	n := u.reap(dst, false)
	return n, n < len(dst) && u.r.Unposted()
}

// reap is Reap; without flush it takes only the completions posted.
func (u *iouring) reap(dst []Completion, flush bool) int {
	k := 0
	if len(u.done) > 0 { // rare: a copy costs a call even when empty
		k = copy(dst, u.done)
		u.done = u.done[:copy(u.done, u.done[k:])]
	}
	var got int
	if flush {
		got = u.r.PeekBatchCQE(u.cqes[:min(len(dst)-k, len(u.cqes))])
	} else {
		got = u.r.PeekPostedCQE(u.cqes[:min(len(dst)-k, len(u.cqes))])
	}
	n := k
	for i := range got {
		c := Completion{UserData: u.cqes[i].UserData, Res: u.cqes[i].Res}
		if u.nop && c.Res == 0 {
			c.Res = int32(u.lens[c.UserData])
		}
		if u.trims > 0 && c.UserData < uint64(len(u.trimLen)) && u.trimLen[c.UserData] != 0 {
			if c.Res == 0 {
				c.Res = int32(u.trimLen[c.UserData])
			}
			u.trimLen[c.UserData] = 0
			u.trims--
		}
		dst[n] = c
		n++
	}
	u.r.CQAdvance(got)
	return n
}

// Pending implements PendingRing.
func (u *iouring) Pending() bool { return len(u.done) > 0 || u.r.Pending() }

func (u *iouring) RegisterBuffers(bufs [][]byte) error {
	err := u.r.RegisterBuffers(bufs)
	u.bufs = err == nil
	return err
}

func (u *iouring) RegisterFiles(fds []int32) error {
	err := u.r.RegisterFiles(fds)
	u.fils = err == nil
	if u.fils {
		u.fds = append([]int32(nil), fds...)
	}
	return err
}

func (u *iouring) Info() string {
	if u.nop {
		return u.r.String() + " (NOPs in place of device I/O)"
	}
	return u.r.String()
}

func (u *iouring) Enters() uint64 { return u.r.Enters() }

// Close unregisters files and buffers first: the kernel tears a ring down
// asynchronously, and until then registered files keep their devices open
// (a loop device could not be detached yet).
func (u *iouring) Close() error {
	var errs []error
	if u.fils {
		errs = append(errs, u.r.UnregisterFiles())
	}
	if u.bufs {
		errs = append(errs, u.r.UnregisterBuffers())
	}
	errs = append(errs, u.r.Close())
	return errors.Join(errs...)
}
