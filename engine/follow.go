package engine

import (
	"sync/atomic"
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
// A queue with at most followDepth I/Os in flight whose wait for a
// completion slept longer than followAfter takes that as the sign: its
// thread moves to the other CPU, where the worker ran. It does so only
// where there is exactly one other CPU to go to (the thread may run on
// two), and only while it pays. A long wait is also what a device with its
// own latency gives (128 KiB transfers, a real disk): moving on every long
// wait there cost 20-30% of the IOPS of 128 KiB reads and writes at depth
// 4 on the loop device, each move taking 15-40 µs on the VM at the 10th
// percentile to median (the other vCPU must be woken). A move costs about
// what a long wait does, so following pays where it at least halves the
// share of long waits. The queue counts its waits in windows of
// followWindow with following on, and after followEvery of them it
// measures followProbe waits without (few, as those are the slow ones:
// with 72% of them long against 7% and long waits of 50-70 µs against 7-8
// µs for the others, a window as long as the others would take about a
// quarter of the time at depth 1; a probe of 1 window in 16 ran 0.89x fio
// where this one runs 1.06x). Each window with following must have had
// fewer than followGain times the share of long waits of the last measure
// without it, or fewer than 1/followFloor of its waits long, and its I/O
// cycles (wait to wait, moves included) must have been shorter than
// followCycleGain times those of the measure (one of at least
// followWindow waits: after a probe, a window that fails only on its
// cycles first has a longer measure taken). When one has not, following
// stops for followWindow << fails waits, fails counting such windows in
// a row (at most followMaxFails), and those waits measure the share and
// the cycles without it afresh. Following starts again only where at
// least 1 in followFloor of those waits were long, unless a window paid
// since the last that did not (a probe after paying windows begins with
// the worker on the thread's CPU and shows fewer): rarer long waits are
// the host's hiccups, which a move cannot answer, and a move costs the
// thread the CPU it shares with the worker; it stays off as after a
// window that did not pay. A window ends as soon as its long waits
// alone make it fail, or after followChase moves in a row that each
// found the worker gone (a chase).
//
// Shares of long waits seen on the loop device, following on / off: 4 KiB
// random reads at depth 1 7% / 72% (sparse backing file), at depth 4
// 6-9% / 14-50%; 128 KiB reads at depth 4 51-52% with following on
// every long wait.
//
// Measured (alternating 3 s runs of fio 3.33 and iobench on a direct-I/O
// loop device over a 1 GiB tmpfs file, 2 vCPUs, medians of three, iobench
// over fio, without following / with it): 4 KiB random reads at depth 1
// 0.58 / 1.53, depth 2 0.75 / 1.60, depth 4 0.82 / 1.02; writes at depth
// 1 0.64 / 1.75, depth 2 0.75 / 1.50; 128 KiB reads at depth 2 1.19 /
// 1.12 and depth 4 1.05 / 1.03 (what the windows that try cost). Above
// depth 4 the loop device keeps workers busy on both CPUs: moving on
// every long wait cost 13% of the IOPS at depth 12 and 22% at 16, and at
// 8 it ran from 0.91x to 1.17x of not moving by the hour.

// followAfter is how long a wait must have slept for the queue to move:
// with the worker on the same CPU a wait that sleeps lasts 10-20 µs, with
// it on the other CPU 50-70 µs. Thresholds from 10 to 25 µs ran the same
// (4 KiB reads at depth 1, following on every long wait).
const followAfter = 15_000 // ns

// followDepth is the most I/Os in flight at which a queue follows.
const followDepth = 4

// followQueues is the most caller-owned queues (Engine.NewQueue) open in
// the process, each able to follow, at which they follow; background
// queues, which a program using Queues of its own leaves idle, are not
// counted. With more threads doing I/O than twice the
// CPUs, every CPU has threads waiting for it: a long wait shows the CPUs
// are busy, not that the completions ran elsewhere, and a move only adds
// a thread to the other CPU's line. Measured on a loop device over tmpfs
// (2 vCPUs, fio 3.33 --thread --ioengine=io_uring --direct=1 against
// iobench, 4 KiB random reads at depth 1 per job, alternating 2 s runs,
// iobench following / not following, CPU time of the process per read):
// 2 and 4 jobs ran alike either way (2 jobs 128-165k / 125-132k IOPS,
// 4 jobs 150-184k / 117-174k); at 8 jobs following cost 5% (133-146k /
// 135-155k), at 16 jobs 7.6-8.7 µs of CPU per read against 7.3-8.6, at
// 64 jobs 100-123k IOPS at 10.2-12.6 µs per read against 123-158k at
// 7.7-10.4 µs, 0.10 moves per read (fio: 158-216k at 6.1-8.0 µs).
const followQueues = 4

// followers counts the open caller-owned queues that have a follower
// (register, unregister).
var followers atomic.Int32

// crowded reports whether more caller-owned queues that follow are open
// in the process than followQueues: then none follows.
func crowded() bool { return followers.Load() > followQueues }

const (
	followWindow   = 256 // waits per window with following
	followProbe    = 64  // waits per window without, between followEvery
	followEvery    = 64  // windows with following
	followMaxFails = 6   // following is off for at most 256 << 6 waits
)

// followGain: a window with following on pays if its share of long waits
// is below followGain times the share of the last window without.
const followGain = 0.5

// followChase is the most waits in a row that move, each after a long
// wait for the one I/O in flight, before following stops as after a
// window that did not pay. A move that brought the thread to its
// completions makes the next wait short (at depth 1: deeper, the I/O
// waited for after a move was submitted before it, where the worker then
// ran, and only the share of long waits judges); where the scheduler
// wakes the worker on the CPU the thread just left (it is idle now),
// every wait after a move is long and the two chase each other. On a loop device over tmpfs (2 vCPUs, 4 KiB random
// reads at depth 1, an instrumented build, 3 s runs) runs where following
// paid nothing had runs of 10 moves and more, up to a window's 128 (the
// share of long waits without following was 100%, so a window failed on
// its share only at half of it), at 50 µs per I/O against 28 µs without
// following; runs where long waits were rare had runs of 1 to 3 moves,
// once 4.
const followChase = 4

// followCycleGain: a window with following pays only if its mean time
// from one wait to the next is below followCycleGain times that of the
// last measure without. On a VM whose cross-vCPU wake-ups cost tens of µs
// following cut it to a third at depth 1 and to 0.8 at depth 4 (IOPS
// with and without, below); on one where they are cheap (an Intel host,
// 4 KiB random reads at depth 1 on the loop device) following cut the
// long waits from 17-56% of them to 3-6%, but the cycle stayed at 14-17
// µs either way, and the moves (0.03 per read) cost 0.5-0.8 µs of CPU
// time per read.
const followCycleGain = 0.9

// followMaxCycle: a gap between two waits longer than this (the queue
// idle, or the program doing other work) is not counted as a cycle.
const followMaxCycle = 1_000_000 // ns

// followFloor: a window with following whose share of long waits is below
// 1/followFloor never stops it. Moves are that rare there, and a measure
// without following that began with the worker on this CPU can show
// fewer long waits than the window it is compared with.
const followFloor = 8

// follower decides when a queue's thread moves (see above).
type follower struct {
	// move moves the calling thread to the other CPU and reports whether
	// it did (moveToOtherCPU; tests count calls).
	move func() bool
	// waits and longs count the current window's waits and long waits;
	// off is how many more waits pass without following (counted in
	// offWaits and offLongs, the share to beat); windows counts the
	// windows with following since the last without.
	waits, longs, off  int
	offWaits, offLongs int
	windows, fails     int
	// chase counts the waits in a row, up to this one, that moved, each
	// alone in flight.
	chase int
	// paid: a window with following paid since the last that did not.
	paid bool
	// last is the clock of the last wait; onNs and offNs sum the time
	// from one wait to the next (a whole I/O cycle, moves included) with
	// following on and off, onN and offN count them.
	last        int64
	onNs, offNs int64
	onN, offN   int
}

// waited is told, for each wait for completions of a queue with at most
// followDepth I/Os in flight, whether it slept longer than followAfter (a
// wait that found its completions ready is not long) and the clock (ns)
// when it ended, and whether the I/O waited for was the only one in
// flight (alone: at depth 1 it was submitted after any move the last wait
// made, and shows where that move left the worker). It moves the thread
// when following is on and the wait was long, and reports whether it did.
func (f *follower) waited(long bool, now int64, alone bool) (moved bool) {
	cycle := now - f.last
	timed := f.last != 0 && now != 0 && cycle > 0 && cycle < followMaxCycle
	f.last = now
	if f.off == 0 && f.offWaits == 0 {
		f.stop(followProbe) // measure the share to beat first
	}
	if f.off > 0 {
		f.off--
		if now == 0 {
			return false // early in a long stretch without: not measured
		}
		f.offWaits++
		if long {
			f.offLongs++
		}
		if timed {
			f.offNs += cycle
			f.offN++
		}
		if f.off == 0 && !f.paid && f.offLongs*followFloor < f.offWaits {
			// Long waits were rare without following: a move could
			// only answer one of them, at the cost of leaving the
			// CPU the worker and the thread share.
			f.failed()
		}
		return false
	}
	f.waits++
	if timed {
		f.onNs += cycle
		f.onN++
	}
	if long && alone {
		f.chase++
	} else {
		f.chase = 0 // a long wait with others in flight proves no move wrong
	}
	if long {
		f.longs++
		if !f.move() {
			f.failed() // one CPU: try again much later
			return false
		}
		moved = true
		if f.chase >= followChase {
			f.failed() // each move found the worker gone: a chase
			return moved
		}
	}
	// Following pays if longs/waits < followGain * offLongs/offWaits,
	// and costs little if longs/waits < 1/followFloor (it moves only on
	// long waits). Both bounds are taken at the window's full length:
	// once the long waits so far exceed them the window has failed,
	// whatever its other waits bring, and it ends there. Where a move
	// never brings the thread to its completions (the scheduler puts
	// the worker back on the CPU left idle, and the two chase each
	// other), that is followWindow/followFloor moves per window instead
	// of a move on each of its followWindow waits.
	if f.longs*followFloor >= followWindow &&
		float64(f.longs)*float64(f.offWaits) >= followGain*float64(f.offLongs)*followWindow {
		f.failed()
		return moved
	}
	if f.waits < followWindow {
		return moved
	}
	// Fewer long waits are not enough: where a wake-up across the vCPUs
	// is cheap, the time the thread no longer sleeps goes to the worker
	// that now runs on its CPU, and each I/O takes as long as before,
	// moves added. The window's cycles, wait to wait, must be shorter.
	// A short measure without following (a probe) began with the worker
	// where following had put it, and may not have lasted until it left:
	// before a window counts as failed on its cycles, a measure of
	// followWindow waits confirms it.
	if f.onN > 0 && f.offN > 0 &&
		float64(f.onNs)*float64(f.offN) >= followCycleGain*float64(f.offNs)*float64(f.onN) {
		if f.offWaits < followWindow {
			f.stop(followWindow)
		} else {
			f.failed()
		}
		return moved
	}
	f.fails, f.paid = 0, true
	f.onNs, f.onN = 0, 0
	f.waits, f.longs = 0, 0
	if f.windows++; f.windows >= followEvery {
		f.stop(followProbe)
	}
	return moved
}

// timing reports whether the next wait is to be timed and measured:
// always but in a stretch without following longer than followWindow,
// whose last followWindow waits alone measure it (what following is to
// beat is the state before it starts again). The waits before those
// save the queue two clock reads each.
func (f *follower) timing() bool { return f.off <= followWindow }

// failed turns following off for followWindow << fails waits.
func (f *follower) failed() {
	f.fails, f.paid = min(f.fails+1, followMaxFails), false
	f.stop(followWindow << f.fails)
}

// stop turns following off for n waits, counting them afresh.
func (f *follower) stop(n int) {
	f.off, f.offWaits, f.offLongs = n, 0, 0
	f.waits, f.longs, f.windows, f.chase = 0, 0, 0, 0
	f.onNs, f.onN, f.offNs, f.offN = 0, 0, 0, 0
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
