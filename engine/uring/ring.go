package uring

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Params chooses how a ring is set up.
type Params struct {
	// CQEntries sizes the completion queue; 0 means twice the submission
	// queue, so that a full SQ's worth of completions always fits twice.
	CQEntries uint32
	// SQPoll asks for a kernel thread polling the submission queue.
	SQPoll bool
	// SQThreadIdle is how long the SQPOLL thread spins before sleeping.
	SQThreadIdle time.Duration
	// SQAff binds the SQPOLL thread to CPU SQThreadCPU
	// (IORING_SETUP_SQ_AFF); unset, it runs where the kernel puts it.
	SQAff       bool
	SQThreadCPU uint32
	// IOPoll asks for polled completions (devices with poll queues only).
	IOPoll bool
	// Plain disables the optional flags (SINGLE_ISSUER, DEFER_TASKRUN,
	// COOP_TASKRUN, NO_SQARRAY), for comparison.
	Plain bool
	// Unslotted: the ring's waits start raw whenever GOMAXPROCS is above
	// 1, without taking one of rawSlots. For rings that wait only while
	// other goroutines wait on them (the engine's background queues,
	// which serve other goroutines' requests): counted, the first of them
	// would take the one slot of GOMAXPROCS 2 from the queue the program
	// runs its own I/O on, and waiting through the runtime, four of them
	// at GOMAXPROCS 2 left single reads waiting 20 ms to 1.8 s where raw
	// waits left them 5-8 ms (TestBackgroundQueuesAtGOMAXPROCS).
	Unslotted bool
	// Shared: the ring serves several threads in turn, each for a whole
	// exchange (submission to its last completion) while locked to it.
	// New leaves out SINGLE_ISSUER, and with it DEFER_TASKRUN, whose ring
	// only the thread that made it may enter, and the registered ring fd,
	// which belongs to one thread. Its waits go through the runtime and
	// take no raw slot: a shared ring's caller is any goroutine of the
	// program, and its wait must not keep a P from the others.
	Shared bool
	// NoTaskrunFlag leaves out TASKRUN_FLAG, which New otherwise asks
	// for with DEFER_TASKRUN or COOP_TASKRUN. With the flag the kernel
	// marks completions it holds back as task work in the shared SQ
	// flags, so that Pending and PeekBatchCQE see them without a system
	// call; without it they are seen only once a call has posted them
	// (every submit does, with DEFER_TASKRUN). The mark is an atomic OR
	// on the ring's cache line that also holds the CQ head and tail, made
	// by the CPU that completes the I/O each time the deferred list was
	// empty: on a loop device at depth 64, where one vCPU did all of the
	// device's work, it took that CPU 0.05 µs per I/O and 1-3% of the
	// IOPS. A ring that is never polled has no use for it.
	NoTaskrunFlag bool
}

// Ring is one io_uring instance. It is owned by one goroutine: no method is
// safe for concurrent use, and with SINGLE_ISSUER in force that goroutine
// must stay on the OS thread that created the ring (runtime.LockOSThread).
type Ring struct {
	fd       int
	flags    uint32 // setup flags in force
	features uint32

	// enterFd and enterFlags are what io_uring_enter is called with: the
	// registered ring index and EnterRegisteredRing where the kernel
	// allows it, the plain fd otherwise.
	enterFd    int
	enterFlags uint32
	enters     uint64 // io_uring_enter calls made
	slowWaits  uint64 // waits that went on through the runtime (see submit)
	timedWaits uint64 // waits with a timer (EnterExtArg)
	rawSlot    bool   // the ring holds one of rawSlots
	rawWaits   bool   // waits start as raw calls (it holds a raw slot, or is Unslotted)

	sqMem, cqMem, sqeMem []byte
	argMem               []byte // getevents arg + timespec, outside the Go heap

	sqHead, sqTail, sqFlags *uint32
	sqArray                 unsafe.Pointer // nil with NO_SQARRAY
	sqMask, sqEntries       uint32
	sqes                    unsafe.Pointer
	sqeTail                 uint32 // next SQE to hand out (local)
	// sqPublished is the tail last stored to the shared ring (submit):
	// a call that queued nothing since stores nothing, as the store is a
	// full barrier (an XCHG) and a wait follows every submission at depth 1.
	sqPublished uint32

	cqHead, cqTail    *uint32
	cqOverflow        *uint32
	cqMask, cqEntries uint32
	cqes              unsafe.Pointer
}

// New sets up a ring with at least entries submission entries.
//
// It asks for SINGLE_ISSUER|DEFER_TASKRUN|COOP_TASKRUN|NO_SQARRAY (unless
// p.Plain) and drops them one at a time, newest first, while the kernel
// answers EINVAL. Errors say what to do about io_uring being disabled,
// RLIMIT_MEMLOCK being too low, or the kernel being too old.
func New(entries uint32, p Params) (*Ring, error) {
	if entries == 0 || entries > 32768 {
		return nil, fmt.Errorf("uring: %d entries: want 1..32768", entries)
	}
	base := uint32(0)
	if p.CQEntries == 0 {
		p.CQEntries = 2 * entries
	}
	base |= SetupCQSize
	if p.IOPoll {
		base |= SetupIOPoll
	}
	if p.SQPoll {
		base |= SetupSQPoll
		if p.SQAff {
			base |= SetupSQAff
		}
	}
	optional := []uint32{SetupNoSQArray, SetupDeferTaskrun, SetupCoopTaskrun, SetupSingleIssuer}
	if p.Plain {
		optional = nil
	}
	if p.SQPoll {
		// DEFER_TASKRUN and COOP_TASKRUN do not combine with SQPOLL.
		optional = []uint32{SetupNoSQArray, SetupSingleIssuer}
	}
	if p.Shared {
		optional = slices.DeleteFunc(optional, func(f uint32) bool { return f == SetupSingleIssuer })
	}
	for {
		flags := base
		for _, f := range optional {
			flags |= f
		}
		if flags&SetupDeferTaskrun != 0 && flags&SetupSingleIssuer == 0 {
			flags &^= SetupDeferTaskrun
		}
		if flags&(SetupDeferTaskrun|SetupCoopTaskrun) != 0 && !p.NoTaskrunFlag {
			// The kernel flags completions it holds back as task work
			// in the shared SQ flags, so PeekBatchCQE sees them (and
			// has them posted) without waiting for the next submit.
			flags |= SetupTaskrunFlag
		}
		r, err := setup(entries, flags, p)
		if err == nil {
			return r, nil
		}
		if errors.Is(err, syscall.EINVAL) && len(optional) > 0 {
			optional = optional[1:]
			continue
		}
		return nil, setupError(err)
	}
}

// setupError says what to do about a set-up failure.
func setupError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSYS):
		return fmt.Errorf("uring: io_uring_setup: %w: this kernel has no io_uring (Linux 5.1+ needed; 6.1+ recommended)", err)
	case errors.Is(err, syscall.EPERM):
		v, _ := os.ReadFile("/proc/sys/kernel/io_uring_disabled")
		return fmt.Errorf("uring: io_uring_setup: %w: io_uring is disabled (kernel.io_uring_disabled=%s); run `sysctl kernel.io_uring_disabled=0` as root",
			err, strings.TrimSpace(string(v)))
	case errors.Is(err, syscall.ENOMEM):
		return fmt.Errorf("uring: io_uring_setup: %w: locked memory limit too low for the rings; raise it with `ulimit -l unlimited` or use fewer entries", err)
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return fmt.Errorf("uring: io_uring_setup: %w: out of file descriptors", err)
	}
	return fmt.Errorf("uring: io_uring_setup: %w", err)
}

func setup(entries, flags uint32, p Params) (*Ring, error) {
	var kp params
	kp.flags = flags
	kp.cqEntries = p.CQEntries
	if p.SQThreadIdle > 0 {
		kp.sqThreadIdle = uint32(p.SQThreadIdle / time.Millisecond)
	}
	if flags&SetupSQAff != 0 {
		kp.sqThreadCPU = p.SQThreadCPU
	}
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&kp)), 0)
	if errno != 0 {
		return nil, errno
	}
	r := &Ring{fd: int(fd), enterFd: int(fd), flags: flags, features: kp.features}
	switch {
	case p.Shared:
		// Waits through the runtime, with no raw slot.
	case p.Unslotted:
		r.rawWaits = runtime.GOMAXPROCS(0) > 1
	default:
		r.rawSlot = claimRawSlot()
		r.rawWaits = r.rawSlot
	}
	if err := r.mmap(&kp); err != nil {
		r.Close()
		return nil, err
	}
	r.registerRingFd()
	return r, nil
}

// registerRingFd registers the ring's fd with the kernel (Linux 5.18+), so
// that io_uring_enter finds the ring without the fd table. Registered ring
// fds belong to the calling thread; a ring whose owner is not locked to
// its thread, or an older kernel, keeps using the plain fd.
func (r *Ring) registerRingFd() {
	if r.flags&SetupSingleIssuer == 0 {
		return
	}
	// struct io_uring_rsrc_update: offset u32 (-1: any free slot), resv
	// u32, data u64 (the fd). It lives in mmap'd memory like every
	// argument the kernel reads.
	u := unsafe.Pointer(&r.argMem[128])
	*(*uint32)(u) = ^uint32(0)
	*(*uint32)(unsafe.Add(u, 4)) = 0
	*(*uint64)(unsafe.Add(u, 8)) = uint64(r.fd)
	n, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerRingFds, uintptr(u), 1, 0, 0)
	if errno != 0 || n != 1 {
		return
	}
	r.enterFd, r.enterFlags = int(*(*uint32)(u)), EnterRegisteredRing
}

func (r *Ring) mmap(kp *params) error {
	sqSize := uintptr(kp.sqOff.array) + uintptr(kp.sqEntries)*4
	if r.flags&SetupNoSQArray != 0 {
		sqSize = uintptr(kp.sqOff.ringEntries) + 64 // the array is absent; map the header
	}
	cqSize := uintptr(kp.cqOff.cqes) + uintptr(kp.cqEntries)*cqeSize
	if r.features&FeatSingleMmap != 0 {
		sqSize = max(sqSize, cqSize)
		cqSize = sqSize
	}
	var err error
	r.sqMem, err = unix.Mmap(r.fd, offSQRing, int(sqSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("uring: mmap SQ ring: %w", err)
	}
	if r.features&FeatSingleMmap != 0 {
		r.cqMem = r.sqMem
	} else {
		r.cqMem, err = unix.Mmap(r.fd, offCQRing, int(cqSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return fmt.Errorf("uring: mmap CQ ring: %w", err)
		}
	}
	r.sqeMem, err = unix.Mmap(r.fd, offSQEs, int(kp.sqEntries)*sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("uring: mmap SQEs: %w", err)
	}
	r.argMem, err = unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return fmt.Errorf("uring: mmap wait argument: %w", err)
	}
	sq := unsafe.Pointer(&r.sqMem[0])
	r.sqHead = (*uint32)(unsafe.Add(sq, kp.sqOff.head))
	r.sqTail = (*uint32)(unsafe.Add(sq, kp.sqOff.tail))
	r.sqFlags = (*uint32)(unsafe.Add(sq, kp.sqOff.flags))
	r.sqMask = *(*uint32)(unsafe.Add(sq, kp.sqOff.ringMask))
	r.sqEntries = *(*uint32)(unsafe.Add(sq, kp.sqOff.ringEntries))
	r.sqes = unsafe.Pointer(&r.sqeMem[0])
	if r.flags&SetupNoSQArray == 0 {
		r.sqArray = unsafe.Add(sq, kp.sqOff.array)
		// An identity map: SQE i sits in slot i.
		for i := range r.sqEntries {
			*(*uint32)(unsafe.Add(r.sqArray, 4*uintptr(i))) = i
		}
	}
	cq := unsafe.Pointer(&r.cqMem[0])
	r.cqHead = (*uint32)(unsafe.Add(cq, kp.cqOff.head))
	r.cqTail = (*uint32)(unsafe.Add(cq, kp.cqOff.tail))
	r.cqOverflow = (*uint32)(unsafe.Add(cq, kp.cqOff.overflow))
	r.cqMask = *(*uint32)(unsafe.Add(cq, kp.cqOff.ringMask))
	r.cqEntries = *(*uint32)(unsafe.Add(cq, kp.cqOff.ringEntries))
	r.cqes = unsafe.Add(cq, kp.cqOff.cqes)
	r.sqeTail = atomic.LoadUint32(r.sqTail)
	r.sqPublished = r.sqeTail
	return nil
}

// Close unmaps the rings and closes the ring's file descriptor. The caller
// makes sure nothing is in flight that it still cares about.
func (r *Ring) Close() error {
	var errs []error
	shared := r.cqMem != nil && sameSlice(r.cqMem, r.sqMem)
	if r.sqeMem != nil {
		errs = append(errs, unix.Munmap(r.sqeMem))
	}
	if r.argMem != nil {
		errs = append(errs, unix.Munmap(r.argMem))
	}
	if r.cqMem != nil && !shared {
		errs = append(errs, unix.Munmap(r.cqMem))
	}
	if r.sqMem != nil {
		errs = append(errs, unix.Munmap(r.sqMem))
	}
	r.sqeMem, r.argMem, r.cqMem, r.sqMem = nil, nil, nil, nil
	if r.rawSlot {
		rawSlots.Add(-1)
		r.rawSlot, r.rawWaits = false, false
	}
	if r.fd >= 0 {
		errs = append(errs, unix.Close(r.fd))
		r.fd = -1
	}
	return errors.Join(errs...)
}

func sameSlice(a, b []byte) bool { return len(a) > 0 && len(b) > 0 && &a[0] == &b[0] }

// Enters returns the number of io_uring_enter calls the ring has made.
func (r *Ring) Enters() uint64 { return r.enters }

// Fd returns the ring's file descriptor.
func (r *Ring) Fd() int { return r.fd }

// Flags returns the setup flags in force.
func (r *Ring) Flags() uint32 { return r.flags }

// Features returns the feature bits the kernel reported.
func (r *Ring) Features() uint32 { return r.features }

// SQEntries and CQEntries return the queue sizes the kernel chose.
func (r *Ring) SQEntries() uint32 { return r.sqEntries }

// CQEntries returns the completion queue size.
func (r *Ring) CQEntries() uint32 { return r.cqEntries }

// String describes the set-up flags and features in force, e.g.
// "flags=single_issuer,defer_taskrun,... features=nodrop,...".
func (r *Ring) String() string {
	return "flags=" + flagNames(r.flags, setupNames) + " features=" + flagNames(r.features, featureNames)
}

// GetSQE returns the next free submission entry, zeroed, or nil when the
// submission queue is full (submit, then try again).
func (r *Ring) GetSQE() *SQE {
	head := atomic.LoadUint32(r.sqHead)
	if r.sqeTail-head >= r.sqEntries {
		return nil
	}
	sqe := (*SQE)(unsafe.Add(r.sqes, uintptr(r.sqeTail&r.sqMask)*sqeSize))
	*sqe = SQE{}
	r.sqeTail++
	return sqe
}

// SQReady returns the number of entries filled and not yet consumed by the
// kernel.
func (r *Ring) SQReady() uint32 { return r.sqeTail - atomic.LoadUint32(r.sqHead) }

// Submit hands the filled entries to the kernel and returns how many it
// consumed.
func (r *Ring) Submit() (int, error) { return r.SubmitAndWait(0) }

// SubmitAndWait submits and waits for at least waitNr completions.
func (r *Ring) SubmitAndWait(waitNr uint32) (int, error) {
	return r.submit(waitNr, 0)
}

// SubmitAndWaitTimeout submits and waits for at least waitNr completions or
// until timeout passes (which is not an error). Without FeatExtArg it waits
// without limit.
func (r *Ring) SubmitAndWaitTimeout(waitNr uint32, timeout time.Duration) (int, error) {
	return r.submit(waitNr, timeout)
}

// rawSlots counts the open rings whose waits start as raw system calls.
// A thread in a raw wait keeps its P (the runtime's right to run Go
// code), so that at most GOMAXPROCS-1 rings may wait raw at once: a ring
// set up beyond that (Unslotted rings aside) waits through the runtime, and the program always
// has a P for its other goroutines, however many rings it opens. Without
// the bound, 16 jobs at depth 1 on 2 Ps ran with one or two reads in
// flight instead of 16 (clat p50 11 µs against fio's 100), at 0.58x fio's
// IOPS. A program that runs a ring per thread, as fio's jobs do, raises
// GOMAXPROCS above its number of rings (iobench does).
var rawSlots atomic.Int32

// claimRawSlot takes a raw slot if one is free.
func claimRawSlot() bool {
	limit := int32(runtime.GOMAXPROCS(0) - 1)
	if rawSlots.Add(1) <= limit {
		return true
	}
	rawSlots.Add(-1)
	return false
}

// rawWait is how long a wait may last as a raw system call where the
// runtime does not interrupt it (see submit): a wait with a timeout of
// its own, or any wait when asynchronous preemption is off. It is longer
// than a scheduler tick: a wait whose timer would expire before the next
// tick makes the kernel reprogram the timer hardware, which on a VM exits
// to the hypervisor (a 50 µs bound doubled the time of a 4 KiB read at
// queue depth 1 in BenchmarkQueueRandRead; 5 ms and more did not).
const rawWait = 10 * time.Millisecond

// preemptSignals reports whether the runtime sends its preemption signal
// to a goroutine that has run for 10 ms (asynchronous preemption, on
// unless GODEBUG, in the environment or built in, says asyncpreemptoff=1).
// A raw wait counts as running: the signal ends it with EINTR, as a
// timer would.
var preemptSignals = asyncPreemptOn(os.Getenv("GODEBUG"))

// asyncPreemptOn parses asyncpreemptoff from the binary's default GODEBUG
// and then from env, the later setting winning, as the runtime reads them.
func asyncPreemptOn(env string) bool {
	on := true
	parse := func(s string) {
		for _, kv := range strings.Split(s, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "asyncpreemptoff="); ok {
				on = v == "0"
			}
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "DefaultGODEBUG" {
				parse(s.Value)
			}
		}
	}
	parse(env)
	return on
}

// submit enters the kernel to submit what is queued and wait for waitNr
// completions, for at most timeout when it is positive.
//
// Submissions, and the start of a wait, are raw system calls: the Go
// runtime is not told that the thread may block, so it does not hand the
// thread's P to another thread (on a VM with few vCPUs, that hand-off,
// the monitor thread waking every 20 µs and the threads it starts cost
// more than a fast device's I/O). A wait that lasts longer goes on as an
// ordinary system call, so that a slow device never holds a P from the
// program's other goroutines. The raw part of a wait without a timeout
// ends at the first signal: the runtime's monitor preempts a goroutine
// that has run 10 ms, and a raw wait is running as far as it knows. It
// takes no timer: a timer is armed and cancelled in the kernel at each
// wait that sleeps, about once per I/O at queue depth 1. A wait with a
// timeout, or any wait when there are no preemption signals
// (preemptSignals), is raw for its first rawWait. A ring beyond GOMAXPROCS-1 raw waiters
// (rawSlots), and every ring with GOMAXPROCS 1, where a raw wait would
// stop every other goroutine, waits through the runtime. Signals
// (the runtime's preemption signal) arrive as EINTR and are retried, after
// a raw call once the goroutine has yielded to the scheduler; a signal in
// the wait of a call that also submitted ends that call without EINTR,
// and rewait waits again. A timed wait goes on for the time left of its
// timeout, however many signals interrupt it (enter).
func (r *Ring) submit(waitNr uint32, timeout time.Duration) (int, error) {
	// Publish the new tail: the store orders the SQE contents before it.
	if r.sqeTail != r.sqPublished {
		storeRelease(r.sqTail, r.sqeTail)
		r.sqPublished = r.sqeTail
	}
	toSubmit := r.sqeTail - atomic.LoadUint32(r.sqHead)
	flags := r.enterFlags
	if waitNr > 0 || r.flags&SetupDeferTaskrun != 0 || r.cqNeedsFlush() {
		flags |= EnterGetEvents
	}
	if r.flags&SetupSQPoll != 0 {
		if atomic.LoadUint32(r.sqFlags)&sqNeedWakeup != 0 {
			flags |= EnterSQWakeup
		}
		toSubmit = 0 // the kernel thread consumes them
	}
	if toSubmit == 0 && flags&(EnterGetEvents|EnterSQWakeup) == 0 {
		return 0, nil
	}
	if waitNr == 0 {
		n, _, err := r.enter(toSubmit, 0, flags, 0, true)
		return n, err
	}
	if r.features&FeatExtArg == 0 {
		// No timeouts on this kernel: the whole wait goes through the
		// runtime, without limit.
		n, timedOut, err := r.enter(toSubmit, waitNr, flags, 0, false)
		if err == nil {
			_, err = r.rewait(toSubmit, waitNr, flags, 0, time.Time{}, false, timedOut, err)
		}
		return n, err
	}
	var start time.Time
	if timeout > 0 {
		start = time.Now()
	}
	if !r.rawWaits {
		r.slowWaits++
		n, timedOut, err := r.enter(toSubmit, waitNr, flags, timeout, false)
		if err == nil {
			_, err = r.rewait(toSubmit, waitNr, flags, timeout, start, false, timedOut, err)
		}
		return n, err
	}
	if timeout <= 0 && preemptSignals {
		n, _, err := r.enter(toSubmit, waitNr, flags, 0, true)
		if err == nil && toSubmit > 0 && uint32(r.CQReady()) < waitNr {
			// A signal ended the wait after the submission: it goes on
			// through the runtime, as after EINTR (enter).
			r.slowWaits++
			_, _, err = r.enter(0, waitNr, flags, 0, false)
		}
		return n, err
	}
	first := timeout
	if timeout <= 0 || timeout > rawWait {
		first = rawWait
	}
	if start.IsZero() {
		start = time.Now()
	}
	n, timedOut, err := r.enter(toSubmit, waitNr, flags, first, true)
	if err == nil {
		timedOut, err = r.rewait(toSubmit, waitNr, flags, first, start, true, timedOut, err)
	}
	if err != nil || !timedOut || first == timeout {
		return n, err
	}
	rest := time.Duration(0) // without limit
	if timeout > 0 {
		if rest = timeout - time.Since(start); rest <= 0 {
			return n, nil // timed out
		}
	}
	r.slowWaits++
	m, _, err := r.enter(0, waitNr, flags, rest, false)
	return n + m, err
}

// rewait waits again, without submitting, after a call that submitted
// and was to wait: when a signal interrupts such a call's wait, the kernel
// reports the submission and returns before the completions are there
// (EINTR only comes from a call that submitted nothing). It does nothing
// when that call timed out, failed or brought the completions.
//
// A timed call (timeout positive, begun at start) waits again for what is
// left of its timeout, and none left is a timeout.
func (r *Ring) rewait(toSubmit, waitNr, flags uint32, timeout time.Duration, start time.Time, raw, timedOut bool, err error) (bool, error) {
	if err != nil || timedOut || toSubmit == 0 || uint32(r.CQReady()) >= waitNr {
		return timedOut, err
	}
	if timeout > 0 {
		if timeout -= time.Since(start); timeout <= 0 {
			return true, nil
		}
	}
	_, timedOut, err = r.enter(0, waitNr, flags, timeout, raw)
	return timedOut, err
}

// enter makes one io_uring_enter, retried on signals, raw or through the
// runtime, with a timeout when positive (which needs FeatExtArg). It
// reports a wait that timed out. A timed wait that a signal interrupts is
// retried with the time left of its timeout: the kernel's timeout is
// relative, and retrying with the whole of it let signals stretch a wait
// without bound (with a signal every 2 ms, a 30 ms wait returned only
// when the signals stopped: TestTimedWaitKeepsTimeoutUnderSignals).
func (r *Ring) enter(toSubmit, waitNr, flags uint32, timeout time.Duration, raw bool) (int, bool, error) {
	var argp, argsz uintptr
	var deadline time.Time
	if timeout > 0 && waitNr > 0 {
		// The argument and the timespec live in mmap'd memory, never on
		// the Go stack or heap.
		flags |= EnterExtArg
		r.timedWaits++
		deadline = time.Now().Add(timeout)
		argp, argsz = uintptr(unsafe.Pointer(r.waitArg(timeout))), unsafe.Sizeof(geteventsArg{})
	}
	for {
		r.enters++
		var n uintptr
		var errno syscall.Errno
		if raw {
			n, _, errno = unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.enterFd), uintptr(toSubmit),
				uintptr(waitNr), uintptr(flags), argp, argsz)
		} else {
			n, _, errno = unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.enterFd), uintptr(toSubmit),
				uintptr(waitNr), uintptr(flags), argp, argsz)
		}
		switch errno {
		case 0:
			return int(n), false, nil
		case syscall.EINTR:
			// A Go preemption signal or any other: nothing was consumed.
			// Let the scheduler run what the signal asked for.
			if raw {
				runtime.Gosched()
				if waitNr > 0 && timeout <= 0 {
					// An untimed raw wait ends at a signal (submit).
					r.slowWaits++
					raw = false
				}
			}
			if argp != 0 {
				left := time.Until(deadline)
				if left <= 0 {
					return 0, true, nil
				}
				r.waitArg(left)
			}
			continue
		case syscall.ETIME:
			// The wait timed out: not an error.
			return 0, true, nil
		case syscall.EEXIST:
			return 0, false, fmt.Errorf("uring: io_uring_enter: %w: the ring is single-issuer and this is not the thread that set it up (lock the goroutine with runtime.LockOSThread)", errno)
		case syscall.EAGAIN, syscall.EBUSY:
			// The kernel is short of resources or the CQ is overflowing:
			// the caller reaps completions and submits again.
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("uring: io_uring_enter: %w", errno)
	}
}

// waitArg builds the getevents argument for a wait of at most timeout, in
// the ring's mmap'd argument memory.
func (r *Ring) waitArg(timeout time.Duration) *geteventsArg {
	arg := (*geteventsArg)(unsafe.Pointer(&r.argMem[0]))
	ts := (*unix.Timespec)(unsafe.Pointer(&r.argMem[64]))
	*ts = unix.NsecToTimespec(int64(timeout))
	*arg = geteventsArg{ts: uint64(uintptr(unsafe.Pointer(ts)))}
	return arg
}

// cqNeedsFlush reports completions waiting in the kernel: overflowed ones,
// or deferred task work.
func (r *Ring) cqNeedsFlush() bool {
	return atomic.LoadUint32(r.sqFlags)&(sqCQOverflow|sqTaskrun) != 0
}

// Pending reports whether completions are available: posted in the
// completion queue, or finished in the kernel and waiting for this thread
// to post them (deferred task work, overflow). It reads shared memory
// only, no system call.
func (r *Ring) Pending() bool { return r.CQReady() > 0 || r.cqNeedsFlush() }

// PeekBatchCQE copies up to len(dst) available completions into dst without
// consuming them and returns how many it copied. Call CQAdvance after.
func (r *Ring) PeekBatchCQE(dst []CQE) int { return r.peek(dst, true) }

// PeekPostedCQE is PeekBatchCQE without entering the kernel: it copies
// only the completions already posted in the completion queue.
func (r *Ring) PeekPostedCQE(dst []CQE) int { return r.peek(dst, false) }

// Unposted reports completions the kernel holds until the ring is
// entered: deferred task work or an overflowed completion queue.
func (r *Ring) Unposted() bool { return r.cqNeedsFlush() }

func (r *Ring) peek(dst []CQE, flush bool) int {
	head := atomic.LoadUint32(r.cqHead)
	tail := atomic.LoadUint32(r.cqTail)
	if flush && head == tail && r.cqNeedsFlush() {
		// Overflowed completions or deferred task work: have the kernel
		// post them, then look again.
		_, _ = r.submit(0, 0)
		tail = atomic.LoadUint32(r.cqTail)
	}
	n := min(int(tail-head), len(dst))
	for i := range n {
		dst[i] = *(*CQE)(unsafe.Add(r.cqes, uintptr((head+uint32(i))&r.cqMask)*cqeSize))
	}
	return n
}

// CQAdvance marks n completions as consumed.
func (r *Ring) CQAdvance(n int) {
	if n > 0 {
		// The completions are read before the head moves past them:
		// the kernel may reuse their entries once it has.
		storeRelease(r.cqHead, atomic.LoadUint32(r.cqHead)+uint32(n))
	}
}

// CQReady returns the number of completions waiting in the CQ.
func (r *Ring) CQReady() int {
	return int(atomic.LoadUint32(r.cqTail) - atomic.LoadUint32(r.cqHead))
}

// Overflow returns the kernel's count of completions it had to drop (only
// without FeatNoDrop).
func (r *Ring) Overflow() uint32 { return atomic.LoadUint32(r.cqOverflow) }

// RegisterBuffers registers bufs as fixed buffers (indexes in order). The
// memory must stay mapped until UnregisterBuffers or Close.
func (r *Ring) RegisterBuffers(bufs [][]byte) error {
	if len(bufs) == 0 {
		return errors.New("uring: RegisterBuffers: no buffers")
	}
	iov := make([]unix.Iovec, len(bufs))
	for i, b := range bufs {
		if len(b) == 0 {
			return fmt.Errorf("uring: RegisterBuffers: buffer %d is empty", i)
		}
		iov[i].Base = &b[0]
		iov[i].SetLen(len(b))
	}
	return r.register(registerBuffers, unsafe.Pointer(&iov[0]), len(iov), "register buffers")
}

// UnregisterBuffers drops the registered buffers.
func (r *Ring) UnregisterBuffers() error {
	return r.register(unregisterBuffers, nil, 0, "unregister buffers")
}

// RegisterFiles registers fds (32-bit, as the kernel wants them) as fixed
// files, indexes in order.
func (r *Ring) RegisterFiles(fds []int32) error {
	if len(fds) == 0 {
		return errors.New("uring: RegisterFiles: no files")
	}
	return r.register(registerFiles, unsafe.Pointer(&fds[0]), len(fds), "register files")
}

// UnregisterFiles drops the registered files.
func (r *Ring) UnregisterFiles() error {
	return r.register(unregisterFiles, nil, 0, "unregister files")
}

func (r *Ring) register(op uint32, arg unsafe.Pointer, n int, what string) error {
	for {
		_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), uintptr(op), uintptr(arg), uintptr(n), 0, 0)
		switch errno {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		case syscall.ENOMEM:
			return fmt.Errorf("uring: %s: %w (locked memory limit: raise `ulimit -l`)", what, errno)
		}
		return fmt.Errorf("uring: %s: %w", what, errno)
	}
}

// Probe returns the opcodes the kernel supports.
func (r *Ring) Probe() (Probe, error) {
	// struct io_uring_probe: last_op u8, ops_len u8, resv u16, resv2 [3]u32,
	// then ops_len entries of {op u8, resv u8, flags u16, resv2 u32}.
	const nops = 256
	buf := make([]byte, 16+8*nops)
	if err := r.register(registerProbe, unsafe.Pointer(&buf[0]), nops, "probe"); err != nil {
		return Probe{}, err
	}
	var p Probe
	p.LastOp = buf[0]
	for i := 0; i < int(buf[1]); i++ {
		e := buf[16+8*i:]
		if flags := uint16(e[2]) | uint16(e[3])<<8; flags&probeOpSupported != 0 {
			p.ops[e[0]/64] |= 1 << (e[0] % 64)
		}
	}
	return p, nil
}

// Probe is the set of supported opcodes.
type Probe struct {
	LastOp uint8
	ops    [4]uint64
}

// Supports reports whether the kernel supports op.
func (p Probe) Supports(op uint8) bool { return p.ops[op/64]&(1<<(op%64)) != 0 }
