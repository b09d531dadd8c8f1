package engine

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Following the completions.
//
// A device that completes its I/O in a kernel worker (a loop device: the
// read runs in a kworker, its completion in that CPU's softirq thread)
// completes it fastest when the worker runs on the submitting thread's
// CPU: the submission wakes the worker there, the worker preempts the
// submitter, and the completion is ready when the submitter looks. When
// the worker runs on the other CPU instead, the scheduler keeps it there
// (a woken task goes back to its idle previous CPU), the completion wakes
// the submitter on its own CPU, and on a VM each of the two cross-CPU
// wake-ups costs tens of µs: an idle vCPU halts and needs an interrupt
// through the hypervisor. That state lasts until the scheduler happens to
// move one of the two.
//
// A queue with few I/Os in flight whose wait for a completion slept longer
// than followAfter takes that as the sign: its thread moves to the other
// CPU, where the worker ran. It does so only where there is exactly one
// other CPU to go to (the thread may run on two), and only while moving
// pays: a move after which the next wait is long again counts as a
// failure, and failures in a row space out the next tries exponentially,
// so on a device whose waits are long for another reason (its own
// latency) moves soon become rare.
//
// Measured on the 2-vCPU VM of the README (loop device with direct I/O
// over a 1 GiB tmpfs file, 4 KiB random reads, alternating 3 s runs of
// fio 3.33 and iobench, medians over rounds): with following, iobench over
// fio at depth 1 went from 0.67 to 1.01, depth 2 from 0.59 to 0.97, depth
// 4 from 0.80 to 1.08 and depth 8 from 0.96 to 1.12, with less CPU per
// I/O (depth 1: 5.4-5.8 µs against 7.5) and the median latency of depth 1
// from 3.0 µs to 0.35 µs (fio: 0.30). At depth 12 and 16, where the loop
// device keeps workers busy on both CPUs, moving on every long wait cost
// a quarter of the IOPS: followDepth keeps it out of there.

// followAfter is how long a wait must have slept for the queue to move:
// with the worker on the same CPU a wait that sleeps lasts 10-20 µs, with
// it on the other CPU 50-70 µs. Thresholds from 10 to 25 µs ran the same.
const followAfter = 15_000 // ns

// followDepth is the most I/Os in flight at which a queue follows.
const followDepth = 8

// followMaxFails bounds the backoff: after that many failed moves in a
// row, the queue tries once per 2^followMaxFails long waits.
const followMaxFails = 10

// follower decides when a queue's thread moves (see above).
type follower struct {
	skip    int  // long waits to let pass before the next move
	fails   int  // moves that did not pay, less those that did
	judging bool // a move was made: the next wait says whether it paid
	// move moves the calling thread to the other CPU and reports whether
	// it did (moveToOtherCPU; tests count calls).
	move func() bool
}

// waited is told, for each wait for completions of a queue with at most
// followDepth I/Os in flight, whether it slept longer than followAfter
// (a wait that found its completions ready is not long). It moves the
// thread when that looks worth it.
func (f *follower) waited(long bool) {
	if f.judging {
		f.judging = false
		if !long {
			f.fails = max(f.fails-1, 0)
			return
		}
		f.failed()
		return
	}
	if !long {
		return
	}
	if f.skip > 0 {
		f.skip--
		return
	}
	if f.move() {
		f.judging = true
	} else {
		f.failed()
	}
}

// failed spaces out the next move: 2^fails - 1 long waits pass first.
func (f *follower) failed() {
	f.fails = min(f.fails+1, followMaxFails)
	f.skip = 1<<f.fails - 1
}

// moveToOtherCPU moves the calling thread to the one CPU of its affinity
// mask it is not running on, then gives the mask back: the thread stays
// where it was moved until the scheduler moves it again. It does nothing
// and reports false unless the mask holds exactly two CPUs.
func moveToOtherCPU() bool {
	var mask unix.CPUSet
	if unix.SchedGetaffinity(0, &mask) != nil || mask.Count() != 2 {
		return false
	}
	var cpu uint32
	if _, _, errno := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), 0, 0); errno != 0 {
		return false
	}
	other := mask
	other.Clear(int(cpu))
	if other.Count() != 1 || unix.SchedSetaffinity(0, &other) != nil {
		return false
	}
	// The mask was just read and a subset of it accepted: giving it back
	// cannot fail short of a cpuset change in between, which would leave
	// the thread on one of its CPUs (slower, not wrong).
	_ = unix.SchedSetaffinity(0, &mask)
	return true
}
