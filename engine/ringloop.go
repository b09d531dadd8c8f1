package engine

import (
	"errors"
	"fmt"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The ring loop: resolved pieces take free slots and are queued on the
// ring (fill); pump hands them to the kernel, waits, and collects the
// completions, which complete.go finishes.

// fill moves backlog pieces into free slots and queues them on the ring.
// nowNs is a clock reading taken since the last system call or mapper
// call, or 0: then fill reads the clock once, when a write needs it.
func (q *Queue) fill(nowNs int64) {
	for q.bhead < len(q.backlog) && len(q.freeSlot) > 0 {
		p := &q.backlog[q.bhead]
		if int(p.raw.chain) > len(q.freeSlot) {
			break // a linked chain goes to the ring whole
		}
		slot := q.freeSlot[len(q.freeSlot)-1]
		// Only a request that split has a second piece behind its first:
		// most reads go on without the look at what would merge.
		if q.bhead+1 < len(q.backlog) && q.backlog[q.bhead+1].req == p.req && q.eng.gapBuf != nil {
			if k := q.gapRun(); k > 1 && q.mergeGaps() {
				r := p.req
				if !q.queueGap(slot, k) {
					break // submission queue full
				}
				q.unsubmitted++
				q.freeSlot = q.freeSlot[:len(q.freeSlot)-1]
				if !r.handed {
					r.handed = true
					q.unsent = append(q.unsent, r)
				}
				continue
			}
		}
		if !q.queueOp(slot, p) {
			break // submission queue full: wait for the kernel
		}
		q.unsubmitted++
		q.freeSlot = q.freeSlot[:len(q.freeSlot)-1]
		q.slots[slot] = *p
		if !p.req.handed {
			p.req.handed = true
			q.unsent = append(q.unsent, p.req)
		}
		if p.req.Write {
			// For the ioend's latency; reads need no clock here.
			if nowNs == 0 {
				nowNs = q.eng.nowNs()
			}
			q.slots[slot].startNs = nowNs
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
	q.checkInvariants()
}

// queueOp builds the ring operation for the untransferred part of p.
func (q *Queue) queueOp(slot uint32, p *piece) bool {
	r := p.req
	if r.Trim {
		return q.queueTrim(slot, p)
	}
	e := q.eng
	d := &e.devs[p.dev]
	buf := r.Buf[p.bufOff+p.done : p.bufOff+p.length]
	// Cleared, then set field by field: an Op literal was built on the
	// stack and copied over.
	op := &q.op
	*op = Op{}
	op.Write, op.Fd, op.BufIndex, op.Addr, op.Len = r.Write, d.fd, -1, uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uint32(len(buf))
	op.Offset, op.UserData, op.Prio, op.Async, op.NoWait, op.Atomic = p.addr+uint64(p.done), uint64(slot), r.Prio, r.Async, r.NoWait, r.Atomic
	p.raw.prep(op)
	if e.filesRegistered {
		op.FixedFile, op.Fd = true, int32(p.dev)
	}
	if e.cfg.FixedBuffers {
		op.BufIndex = e.arena.index(buf)
	}
	return q.ring.Queue(op)
}

// defaultEagerSubmit is Config.EagerSubmit's default: the least the
// eager threshold falls to in a queue of 32 entries or more (smaller ones:
// defaultEagerMin). Measured on a loop device over tmpfs (2 vCPUs,
// 4 KiB random reads, alternating 3 s runs against fio): submitting only
// when the caller waits left both CPUs about 45% idle at depth 32
// (0.69-0.78x fio), each I/O at once cost the most CPU per I/O
// (0.80-0.93x), and submitting at once below 16 in the kernel ran 0.98x
// fio at depth 32 and 1.05x at 16 with less CPU per I/O than fio.
const defaultEagerSubmit = 16

// batchDepth is the shallowest queue that by default submits only when
// its caller waits (defaultEagerMin).
const batchDepth = 4

// defaultEagerMin is Config.EagerSubmit's default for queues of depth
// entries, the least the eager threshold falls to: defaultEagerSubmit,
// half the depth for a queue of 16 to 31 entries, or none (negative: only
// when the caller waits) for one of batchDepth to 15. With the threshold at
// the depth, a queue of 16 handed each I/O to the kernel on its own as a
// completion freed its slot, one io_uring_enter per I/O; at half, new I/O
// goes in batches of about eight. Measured on a loop device over tmpfs
// (2 vCPUs, alternating runs against fio; iobench/fio medians, CPU time
// of the job thread per I/O): out-of-place 4 KiB writes (mapper=cow,
// depth 16), where the job thread is the bottleneck, ran 1.08x fio at
// 2.61 µs per write instead of 0.87x at 3.48 (four rounds; the bundled
// overwrite-out-of-place job 347k-360k IOPS instead of 259k-276k, three
// rounds); 4 KiB random reads at depth 16 ran 1.05x fio's best settings
// against 0.97x (six rounds, a sparse backing file) and 0.995x fio's
// defaults against 1.05x (five rounds, a written one), at 2.44-2.45 µs of
// CPU per read instead of 2.52-2.67; random writes 0.98x fio's best
// against 0.96x and 1.01x fio's defaults against 1.06x.
//
// A queue of batchDepth to 15 entries submits only when its caller waits
// (the default is negative): new I/O goes to the kernel in one call with
// the wait that follows, where handing each I/O over as a completion
// freed its slot cost an io_uring_enter per I/O. Measured on a loop
// device over tmpfs (2 vCPUs, an hour when a system call cost 2-3 µs;
// alternating 3 s runs of fio's best settings and iobench, 4 KiB random
// reads, four or five rounds, iobench/fio medians, CPU time of the job
// thread per I/O): at depth 4 submitting when waiting ran 1.68x, 1.41x
// and 1.43x (writes 1.48x) where submitting at once ran 0.94x, 1.05x and
// 1.02x (writes 1.03x), at 3.8-4.7 µs of CPU per I/O against 5.8-6.5
// (fio 5.1-6.2);
// at depth 8 1.87x against 1.70x, at 3.35 µs against 3.94. At depth 2 the
// two ran alike (1.28x and 1.25x), so queues below batchDepth keep the
// threshold at 16, above their depth: every I/O goes to the kernel at
// once. Out-of-place writes (mapper=cow, fio's in-place random writes
// with its best settings as the reference) ran 1.05x against 0.63x at
// depth 8 and 0.80x against 0.60x at depth 4. At depth 16 submitting
// when waiting ran faster for plain reads and writes too (1.34x and
// 1.51x against 1.11x and 1.31x; writes 1.60x against 1.36x), but
// out-of-place writes, bound by the job thread, ran 1.06x against 1.29x:
// queues of 16 to 31 keep half their depth.
func defaultEagerMin(depth int) int {
	if depth >= batchDepth && depth < defaultEagerSubmit {
		return -1
	}
	if depth >= defaultEagerSubmit && depth < 2*defaultEagerSubmit {
		return depth / 2
	}
	return defaultEagerSubmit
}

// eagerCap bounds how far the eager threshold rises (adaptEager): with
// the threshold free to reach the depth, 4 KiB random reads at depth 128
// cost 1.3-1.4 µs of CPU per I/O instead of 1.1 and ran 4% slower; capped
// at 64 they ran as with 16.
const eagerCap = 64

// eagerStep is how much one wait that has to sleep raises the eager
// threshold; one that finds completions ready lowers it by one.
const eagerStep = 4

// adaptEager moves the eager threshold after a pump's first look at the
// completion queue, before it waits. Completions already there mean the
// device keeps up: batching more saves system calls, so the threshold
// falls by one, to Config.EagerSubmit at the least. None there means the
// wait is going to sleep, the device is behind: handing it new I/O sooner
// keeps it from running dry, so the threshold rises by eagerStep, up to
// the queue's depth or eagerCap.
//
// Measured on a loop device over tmpfs (2 vCPUs, 4 KiB random reads,
// alternating 3 s runs against fio, three of each): whether the device
// keeps up depends on what it holds. Over a backing file that has been
// written, depth 64 ran 0.82-0.88x fio with the threshold fixed at 16 and
// 0.95-0.99x adapting; over a sparse one (reads of holes are cheap for
// the loop worker) a fixed 64 fell from 1.2x fio to 0.91-1.00x while
// adapting stayed at 1.11-1.26x. Depths 32 and 128 ran as with 16 on
// both.
func (q *Queue) adaptEager(ready bool) {
	if ready {
		q.eager = max(q.eagerMin, q.eager-1)
	} else {
		q.eager = min(q.eagerMax, q.eager+eagerStep)
	}
}

// submitEarly hands the queued I/O to the kernel now, without waiting,
// when the kernel holds fewer than q.eager of the queue's I/Os
// (Config.EagerSubmit, adapted by adaptEager), unless the queue measured
// that holding it for the wait runs faster (batchCtl). Completions it
// brings are reaped at the next pump. A failed call leaves the I/O queued
// for the next pump, which reports the error. It reports whether it
// entered the kernel, and the clock read when it returned (0: none read).
//
// Early submission keeps a device that works on its own, a loop device or
// NVMe, from running dry while the caller prepares more I/O. Where the
// kernel hands each submission to a worker thread instead (io_uring's
// io-wq, as for reads of a tmpfs file), each early call of one or two
// I/Os wakes that worker, and holding new I/O for the wait hands it over
// in batches. By default (Config.EagerSubmit 0) a queue that submits
// early measures both ways (batchCtl, spin.go) and holds new I/O while
// that is faster. Measured on a 1 GiB tmpfs file read with O_DIRECT
// (2 vCPUs, 4 KiB random reads, 2 s runs, iodepth_batch_submit at the
// depth standing in for holding): 363k reads a second submitting early
// against 644k holding at depth 16, 267k against 1146k at 32, 291k
// against 1369k at 64.
func (q *Queue) submitEarly() (bool, int64) {
	if q.unsubmitted == 0 || q.inflightIOs()-q.unsubmitted >= q.eager || q.batchCtl != nil && q.batchCtl.on {
		return false, 0
	}
	enters := q.ring.Enters()
	err := q.ring.Submit(0, 0)
	q.enters += q.ring.Enters() - enters
	var now int64
	if err == nil {
		q.unsubmitted = 0
		now = q.stampSubmitted()
	}
	return true, now
}

// probed counts n completions in the queue's measuring controllers
// (spinCtl, batchCtl) and the requests finished since its last call in
// gapCtl, which measures per request (a merged read is one completion
// for several pieces). One probes at a time: the others' counts stand
// still meanwhile, so that each probe's windows measure the queue with
// the others' ways fixed. Each is fed only while no other is probing, as
// checked just before: so only one can ever start a probe.
func (q *Queue) probed(n int) {
	done := int(q.finishedN - q.gapFedN)
	q.gapFedN = q.finishedN
	if q.spinCtl != nil && !q.batchCtl.probing() && !q.gapCtl.probing() {
		q.spinCtl.completed(n)
	}
	if q.batchCtl != nil && !q.spinCtl.probing() && !q.gapCtl.probing() {
		q.batchCtl.completed(n)
	}
	if q.gapCtl != nil && done > 0 && !q.spinCtl.probing() && !q.batchCtl.probing() {
		q.gapCtl.completed(done)
	}
}

// yieldDepth is the number of I/Os in flight at which a queue about to
// sleep for a completion first yields its CPU (pump); with any other
// number it does not. At depth 4 the yield cost more than it saved: 4 KiB
// random reads from a loop device over tmpfs ran 67-71k IOPS with it and
// 74-82k without (alternating 3 s runs, four each; writes the same either
// way); at depth 2 it still paid (47-55k with, 37-52k without; 2.35x fio
// with against 1.82x without, five more rounds). With one I/O in flight it
// no longer pays now that the queue follows its completions (follow.go):
// at depth 1 reads ran 0.73x and 0.76x fio with it against 0.82x and
// 0.84x without (two sets of five alternating rounds), writes 0.64x and
// 0.75x against 0.78x and 0.80x, and the clat p50 was 1.1-5.2 µs with it
// against 0.51-0.53 µs without (fio's 0.51-0.54); with two CPU-bound
// processes running, 3.3x fio with it and 3.7x without (three rounds).
const yieldDepth = 2

// yieldsFirst reports whether a wait that would sleep yields the CPU first.
func (q *Queue) yieldsFirst() bool { return q.yield && q.inflightIOs() == yieldDepth }

// pump submits what is queued, waits for waitNr completions (at most
// timeout, if positive) and processes what completed: it completes pieces
// (complete.go), refills the freed slots, delivers finished requests and
// reclaims freed space.
//
// New I/O goes to the kernel in a call of its own, and the wait is a
// second call made only if the first did not already bring enough
// completions: the device starts on the new I/O while this thread comes
// back for the wait, which then often finds the completion ready instead
// of sleeping (waking a sleeping vCPU costs tens of µs on a VM). Against
// submitting and waiting in one call, on a busy 2-vCPU VM, 4 KiB random
// reads from a loop device at depth 1 made 0.5-0.7 voluntary context
// switches per I/O instead of 1.0-1.2 (alternating 3 s runs of each).
// But an I/O that is the only one in flight goes in the call that waits
// for it (pumpJoined) while the queue is busy (joinedIdle), unless
// Config.SplitSubmit: there is nothing else whose completion the look
// between the calls could find, and on the same kind of VM with every
// wait asleep (1.00 context switches per I/O either way) the second call
// cost depth 1 5-6% of its IOPS (see the README's data path).
func (q *Queue) pump(waitNr int, timeout time.Duration) error {
	if q.tscPumps++; q.tscPumps >= tscCheckEvery {
		q.checkClock()
	}
	q.fill(0)
	waitNr = min(waitNr, q.inflightIOs())
	if q.direct && waitNr > 0 && q.unsubmitted > 0 {
		return q.pumpDirect(waitNr, timeout)
	}
	if q.joined && waitNr > 0 && q.unsubmitted > 0 && q.inflightIOs() == 1 && q.eng.nowNs()-q.doneNs < joinedIdle {
		return q.pumpJoined(waitNr, timeout)
	}
	enters := q.ring.Enters()
	var err error
	if q.unsubmitted > 0 || waitNr == 0 {
		err = q.ring.Submit(0, 0)
		q.unsubmitted = 0
		q.stampSubmitted()
	}
	// The completions take a clock read of their own, not the one that
	// ended the submitted I/Os' slat: with it, an I/O that completed
	// within the submission had a clat of 0 (fio's shortest are some
	// tens of ns, the time between its two readings).
	var got int
	unposted := false // completions the wait below posts (see PostedReaper)
	if waitNr > 0 {
		got, unposted = q.reapPosted(0)
	} else {
		got = q.reapAt(0)
	}
	if waitNr > 0 && q.eagerMin > 0 {
		q.adaptEager(got >= waitNr || unposted)
	}
	if err == nil && got < waitNr && !unposted && q.yieldsFirst() {
		// A device that completes its I/O in a kernel worker (a loop
		// device) may have had that worker woken on this CPU by the
		// submission: yielding lets it run now, and its completion is
		// then ready without a sleep. Without the yield the worker ran
		// on the other, idle vCPU, whose wake-up costs tens of µs on a
		// VM. One system call more when the completion is not ready.
		unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		got += q.reapAll()
	}
	if err == nil && got < waitNr && !unposted && q.spinner != nil && (q.spinCtl == nil || q.spinCtl.on) &&
		(q.inflightIOs() > spinAbove || q.spinAny) && q.spin(timeout) {
		got += q.reapAll()
	}
	following := q.following(waitNr)
	alone := q.inflightIOs() == 1
	timing := following && q.follow.timing()
	long := false
	var waitedNs int64
	if err == nil && got < waitNr {
		var t0 int64
		if timing {
			t0 = q.eng.nowNs()
		}
		err = q.ring.Submit(waitNr-got, timeout)
		if timing {
			waitedNs = q.eng.nowNs()
			long = waitedNs-t0 > followAfter
		}
		got += q.reapAt(waitedNs)
	}
	if following {
		if timing && waitedNs == 0 {
			waitedNs = q.eng.nowNs()
		}
		if q.follow.waited(long, waitedNs, alone) {
			q.moves++
		}
	}
	q.enters += q.ring.Enters() - enters
	q.probed(got)
	q.fill(0) // completions ran the mappers' EndWrite since any reading
	q.deliver()
	q.eng.reclaim(false)
	if err != nil && !errors.Is(err, syscall.EINTR) {
		return fmt.Errorf("engine: io_uring submit: %w", err)
	}
	return nil
}

// checkClock checks the engine's clock against CLOCK_MONOTONIC (checkTSC)
// every tscCheckEvery pumps, out of line: pump's own cost is a count
// and a compare (8 instructions per I/O of ioengine=null at depth 1,
// with a fresh make pgo).
//
//go:noinline
func (q *Queue) checkClock() {
	q.tscPumps = 0
	if q.eng.tsc {
		checkTSC()
	}
}

// pumpDirect is pump for a direct queue's call (direct.go), which waits
// for the I/O it has just queued: one system call submits and waits, as
// pread's one does, where pump makes two.
func (q *Queue) pumpDirect(waitNr int, timeout time.Duration) error {
	enters := q.ring.Enters()
	err := q.ring.Submit(waitNr, timeout)
	q.unsubmitted = 0
	q.stampSubmitted()
	q.reapAt(0) // a reading of its own, as in pump
	return q.pumped(enters, err)
}

// pumped ends pumpDirect and pumpJoined as pump ends: it counts the
// calls made since the ring had made enters, refills the freed slots,
// delivers finished requests and reclaims freed space, and returns err
// as pump does (an interrupted call is no error).
func (q *Queue) pumped(enters uint64, err error) error {
	q.enters += q.ring.Enters() - enters
	q.fill(0)
	q.deliver()
	q.eng.reclaim(false)
	if err != nil && !errors.Is(err, syscall.EINTR) {
		return fmt.Errorf("engine: io_uring submit: %w", err)
	}
	return nil
}

// followAfterJoined is followAfter for a wait made in the call that
// submitted its I/O (pumpJoined), whose time includes the submission's:
// 7-9 µs on the loop device, whose worker is woken within it. Such calls
// took 22-30 µs at depth 1 (4 KiB random reads, loop device over tmpfs,
// 2 vCPUs, the worker on the other vCPU; traced with raw_syscalls), and
// 60-80 µs where following was built (waits of 50-70 µs).
const followAfterJoined = 40_000 // ns

// joinedIdle: a lone I/O goes in the call that waits for it
// (pumpJoined) only if the queue reaped a completion less than this
// before; after an idle stretch (a rate or thinktime pause) it is
// submitted alone and waited for in a second call, as fio does. There
// the loop device's worker is woken on this thread's CPU (the other
// vCPU has gone idle) and runs the read as the submission returns, so
// the wait finds it done; a thread that sleeps in the call that submits
// instead leaves the worker to be preempted by the completion's softirq
// thread, which then wakes the sleeper on the other, halted vCPU (traced
// with sched_switch and sched_wakeup). Measured at depth 1 (4 KiB random
// reads, loop device over tmpfs, 2 vCPUs, alternating 3 s runs, three
// each): rate_iops=1000, total latency mean 31-39 µs, against 52-86 in
// the call that waits (fio 30-36); rate_iops=10000, 16-24 µs against
// 26-33 (fio 25-31). Without a pause the queue reaps its completion and
// queues the next I/O within 2-3 µs: 1.002 calls per I/O at depth 1.
const joinedIdle = 5_000 // ns

// pumpJoined is pump for a queue whose one I/O in flight is the one it
// has just queued: one io_uring_enter submits it and waits for it. There
// is nothing else in flight whose completion a look between the two
// calls could find, and the I/O just submitted is not done by the time
// the submission returns on a device that completes in a kernel worker
// (a loop device): the second call only added a system call and the time
// between the two to each I/O. The I/O's submission latency ends when the
// call starts (the call's time is in its completion latency: where
// submission ends within it is not known).
func (q *Queue) pumpJoined(waitNr int, timeout time.Duration) error {
	enters := q.ring.Enters()
	following := q.following(waitNr)
	timing := following && q.follow.timing()
	t0 := q.stampSubmitted()
	if timing && t0 == 0 {
		t0 = q.eng.nowNs()
	}
	q.unsubmitted = 0
	err := q.ring.Submit(waitNr, timeout)
	var now int64
	if timing {
		now = q.eng.nowNs()
	}
	q.reapAt(now)
	if following {
		if q.follow.waited(timing && now-t0 > followAfterJoined, now, true) {
			q.moves++
		}
	}
	return q.pumped(enters, err)
}

// following reports whether a wait for waitNr completions is one the
// queue's follower is told of (follow.go).
func (q *Queue) following(waitNr int) bool {
	return q.follow != nil && waitNr > 0 && q.inflightIOs() <= followDepth && !crowded()
}

// spinAbove: a queue spins (Config.SpinWait) only with more I/Os than this
// in flight. With one, the device's worker often runs on this thread's
// CPU (see follow.go), and polling there keeps it from running: at depth
// 1, 20 µs of polling took reads from 1.56x fio to 0.81x, at 21.6 µs of
// CPU per read instead of 6.3.
const spinAbove = 1

// sqPollSpin is how long a queue over an SQPoll ring polls for a
// completion before it sleeps: long enough that a fast device's I/O never
// waits asleep, short enough that a submission the kernel's thread has
// not seen (it sleeps after its idle time and must be woken by a system
// call) or a slow device costs little CPU time per wait. (fio's engine
// polls without limit.)
const sqPollSpin = 1_000_000 // ns

// spin polls the ring for up to q.spinNs (Config.SpinWait), or the
// wait's timeout when that is shorter (positive), before a wait that
// would sleep, and reports whether completions arrived meanwhile.
//
// Measured on a loop device over tmpfs (2 vCPUs, 4 KiB random reads,
// alternating 3 s runs of fio, iobench and iobench polling, three of
// each; iobench/fio IOPS, and CPU time of the job thread per I/O against
// fio's): with 20 µs, depth 2 ran 2.04x fio instead of 1.58x (6.9 µs of
// CPU per read against fio's 7.8), depth 4 2.3-2.6x instead of 0.96-1.09x
// (3.3-4.4 µs against 4.3-5.6), depth 8 3.1x instead of 0.94x (2.7 against
// 3.8), depth 16 1.6-1.7x instead of 0.91-0.93x but at 1.1-1.2x fio's CPU
// per read, depth 32 1.15x at 1.4x, depth 128 no faster at about fio's;
// 128 KiB reads at depth 8 1.3x at 2.2x. With 10 µs, depths 2 and 4 ran
// slower than without (0.64x and 0.95x fio, at twice the CPU): their
// waits outlast the poll, which then only adds to the sleep. What it
// avoids is the wake-up of a halted vCPU (context switches per I/O fell
// to a tenth at depth 16); where that is cheap there is less to gain.
// Hence, by default, a queue polls only while its spinCtl (spin.go)
// measures that polling costs no more CPU time per I/O than sleeping and
// is no slower.
func (q *Queue) spin(timeout time.Duration) bool {
	q.spins++
	limit := q.spinNs
	if timeout > 0 && int64(timeout) < limit {
		limit = int64(timeout) // a paced wait (ReapBatchWithin) ends on time
	}
	t0 := q.eng.nowNs()
	for i := 0; !q.spinner.Pending(); i++ {
		// The clock is read every 8 polls: a poll is a load, a clock
		// read tens of ns.
		if i&7 == 7 && q.eng.nowNs()-t0 >= limit {
			return false
		}
	}
	q.spinHits++
	return true
}

// stampSubmitted sets SubmitLatency of the requests whose first device
// I/O the io_uring_enter that just returned handed to the kernel, as fio
// takes its slat (the submission call included): one clock read per
// enter, none per I/O. It returns the reading (0: none was needed), which
// serves what else happens before the next system call.
func (q *Queue) stampSubmitted() int64 {
	if len(q.unsent) == 0 {
		return 0
	}
	if q.eng.cfg.NoSubmitLatency {
		// One request, the commonest, without clear's call (about 40
		// instructions per I/O at depth 1; the compiler makes a loop
		// of nil stores that call too).
		if len(q.unsent) == 1 {
			q.unsent[0] = nil
		} else {
			clear(q.unsent)
		}
		q.unsent = q.unsent[:0]
		return 0
	}
	now := q.eng.nowNs()
	for i, r := range q.unsent {
		r.SubmitLatency = time.Duration(now - r.startNs)
		q.unsent[i] = nil
	}
	q.unsent = q.unsent[:0]
	return now
}

// reapAll completes every completion the ring has and returns how many.
func (q *Queue) reapAll() int { return q.reapAt(0) }

// reapAt is reapAll given a clock read since the ring was last entered
// (0: none).
//
// The completions of one reap share one clock reading (q.reapNs), taken
// when they were seen: the latency of each is measured to that moment,
// which costs one clock read per batch instead of one or two per I/O. The
// first batch takes the reading given, when there is one: a reading
// taken since the last system call sees the same completions.
func (q *Queue) reapAt(now int64) int {
	n, _ := q.reapLoop(now, false)
	return n
}

// reapPosted is reapAt taking only the completions the kernel has
// posted, for a pump that waits next: it reports whether more wait in
// the kernel to be posted, which that wait then posts in the same
// io_uring_enter (with deferred task work, reaping them first was a call
// of its own: 0.03 to 0.46 per read at depth 4, where fio makes none).
func (q *Queue) reapPosted(now int64) (int, bool) {
	if q.posted == nil {
		return q.reapAt(now), false
	}
	return q.reapLoop(now, true)
}

// reapLoop reaps and completes until the ring has no more, through
// ReapPosted when posted is set (reporting what it left unposted).
func (q *Queue) reapLoop(now int64, posted bool) (int, bool) {
	total := 0
	for {
		var n int
		unposted := false
		if posted {
			n, unposted = q.posted.ReapPosted(q.cqes)
		} else {
			n = q.ring.Reap(q.cqes)
		}
		if n > 0 {
			if now != 0 {
				q.reapNs, now = now, 0
			} else {
				q.reapNs = q.eng.nowNs()
			}
			q.lastReapNs, q.doneNs = q.reapNs, q.reapNs
		}
		for i := range n {
			q.complete(q.cqes[i])
		}
		total += n
		if n < len(q.cqes) {
			q.reapNs = 0
			return total, unposted
		}
	}
}

// now returns the clock of the completions being processed, or reads it.
func (q *Queue) now() int64 {
	if q.reapNs != 0 {
		return q.reapNs
	}
	return q.eng.nowNs()
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
