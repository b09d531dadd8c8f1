package runner

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/workloads"
	"golang.org/x/sys/unix"
)

// pacer spaces a job's I/Os as rate, rate_iops, rate_process and
// thinktime ask. As fio does, an I/O that is not due yet waits until the
// I/O in flight has completed (the queue is quiesced) and then until its
// time: the pause is the job's, not hidden behind a deep queue.
type pacer struct {
	job   *workloads.Job
	start time.Time
	rng   *rand.Rand
	// Per direction: bytes and I/Os scheduled so far, and the next time
	// rate_process=poisson allows.
	bytes, ios [2]uint64
	poisson    [2]time.Time
	// thinktime: I/Os issued since the last pause
	// (thinktime_blocks_type=issue); I/Os completed (the worker counts
	// them in completed) and their count when the last pause was due
	// (complete, fio's default); when the last pause ended
	// (thinktime_iotime).
	sinceThink           int
	completed, thinkMark uint64
	thinkEnd             time.Time
	// now is the worker's clock of the I/Os being issued (read once per
	// reap), which steer compares with as admit does.
	now time.Time
}

// pacerSeed is the seed of the pacer of clone (poisson's gaps): the
// job's random seed plus the clone's number.
func pacerSeed(j *workloads.Job, clone int) uint64 { return j.RandSeed + uint64(clone) }

// newPacer returns the pacer of j, or nil when j is not paced.
func newPacer(j *workloads.Job, start time.Time, seed uint64) *pacer {
	if j.Rate == [2]uint64{} && j.RateIOPS == [2]int{} && j.ThinkTime == 0 {
		return nil
	}
	return &pacer{job: j, start: start, rng: rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d)),
		poisson: [2]time.Time{start, start}, thinkEnd: start}
}

// paceHook, when set (by tests), is told on the worker's goroutine what
// the pacer of a paced job (rate, rate_iops, thinktime) does: each read,
// write or trim it schedules and issues, and each thinktime pause. Tests
// check the schedule with it (no I/O before its time, the caps, the
// pauses) rather than the gaps between the times the I/O went, which a
// busy machine stretches and bunches. Unset, as it is outside tests, it
// costs a nil check at each of those points.
var paceHook func(paceEvent)

// paceEvent is one of the things paceHook is told.
type paceEvent struct {
	kind  paceKind
	job   *workloads.Job
	clone int
	// paceScheduled: the pacer's clock (pacer.now) as it scheduled the
	// I/O; paceIssued: the time (time.Now) the I/O went; pacePaused:
	// when the pause began.
	at time.Time
	// paceScheduled: when the caps let the I/O go; paceIssued: when it
	// was let go (for the first after a pause, the pause's end at the
	// earliest); pacePaused: when the pause was to end.
	due time.Time
	// paceScheduled: a thinktime pause comes before the I/O.
	think bool
	// paceIssued: the I/O waited (parked) before it went; and the
	// job's I/O in flight as it was let go (for those released together
	// after a wait, as the wait ended, before any of them went).
	held     bool
	inFlight int
	// pacePaused: when the pause ended (earlier than due when the
	// runtime ended it).
	end time.Time
}

type paceKind int

const (
	paceScheduled paceKind = iota
	paceIssued
	pacePaused
)

// paceIssuedHook tells paceHook of the paced I/O p going now (paceHook
// set, which the caller checks).
func (w *worker) paceIssuedHook(p parked, held bool, inFlight int) {
	if w.pacer != nil && !p.flow && p.r.Sync == engine.NoSync {
		paceHook(paceEvent{kind: paceIssued, job: w.job, clone: w.idx, at: time.Now(), due: p.due, held: held, inFlight: inFlight})
	}
}

// parked is a request filled with its I/O, waiting for its time.
type parked struct {
	r     *engine.Request
	due   time.Time
	think bool // due counts from when the queue is quiesced
	flow  bool // held back by flow: it looks again when due
}

// schedule returns when r (just filled with its next I/O) may be issued,
// and whether a thinktime pause comes before it.
func (p *pacer) schedule(r *engine.Request) (time.Time, bool) {
	j := p.job
	due := p.start
	think := false
	if r.Sync == engine.NoSync {
		d := 0
		if r.Write {
			d = 1
		}
		n := uint64(len(r.Buf))
		// The I/O may start once the ones before it fit the caps.
		due = p.due(d)
		if j.RatePoisson {
			due = p.poissonDue(d)
		}
		p.bytes[d] += n
		p.ios[d]++
	}
	if j.ThinkTime > 0 && r.Sync == engine.NoSync {
		think = p.thinkDue()
		p.sinceThink++
	}
	return due, think
}

// thinkDue reports whether a thinktime pause comes before the I/O being
// scheduled, as fio decides it after each I/O it issues: once
// thinktime_iotime has passed since the last pause ended, or once
// thinktime_blocks I/Os were issued (issue) or completed (complete) since
// the last pause was due; thinktime_iotime alone leaves the count out.
func (p *pacer) thinkDue() bool {
	j := p.job
	if j.ThinkIOTime > 0 {
		if !p.now.Before(p.thinkEnd.Add(j.ThinkIOTime)) {
			p.sinceThink, p.thinkMark = 0, p.completed
			return true
		}
		if !j.IsSet("thinktime_blocks") {
			return false
		}
	}
	if j.ThinkIssue {
		if p.sinceThink >= j.ThinkBlocks {
			p.sinceThink = 0
			return true
		}
		return false
	}
	if p.completed >= p.thinkMark+uint64(j.ThinkBlocks) {
		p.thinkMark = p.completed
		return true
	}
	return false
}

// shift moves the rate schedule on by d (rate_ignore_thinktime: the
// pause d took is not caught up).
func (p *pacer) shift(d time.Duration) {
	p.start = p.start.Add(d)
	for i := range p.poisson {
		p.poisson[i] = p.poisson[i].Add(d)
	}
}

// steer picks the direction of a mixed job's next I/O when rate caps are
// set, as fio does (rate_ddir): the direction rwmixread drew stands while
// its cap lets it go now; when it is ahead of its cap and the other
// direction (which the mix must give a share) may go now, or is due
// sooner, the other goes instead. So each direction runs up to its own
// cap whatever the mix: rwmixread=95 with rate=200m,25m does 200 MiB/s of
// reads and 25 MiB/s of writes, as fio does, not 5% of I/Os as writes.
func (p *pacer) steer(write bool) bool {
	d := 0
	if write {
		d = 1
	}
	now := p.now
	due := p.due(d)
	if !due.After(now) {
		return write
	}
	if share := p.job.RWMixRead; d == 0 && share >= 100 || d == 1 && share <= 0 {
		return write
	}
	if other := p.due(1 - d); !other.After(now) || other.Before(due) {
		return !write
	}
	return write
}

// steered reports whether the rate caps of j steer the direction of its
// I/Os (pacer.steer): a mixed job with a cap. Such a job draws its I/Os
// one at a time, when they are issued, not ahead.
func steered(j *workloads.Job) bool {
	return (j.RW == workloads.ReadWrite || j.RW == workloads.RandRW) && (j.Rate != [2]uint64{} || j.RateIOPS != [2]int{})
}

// due returns when the next I/O of direction d may start under its caps.
func (p *pacer) due(d int) time.Time {
	j := p.job
	due := p.start
	if rate := j.Rate[d]; rate > 0 {
		due = maxTime(due, p.start.Add(time.Duration(float64(p.bytes[d])/float64(rate)*float64(time.Second))))
	}
	if iops := j.RateIOPS[d]; iops > 0 {
		// fio caps the bytes: rate_iops times the direction's smallest
		// block size, so that with mixed sizes (bssplit, bsrange) fewer
		// I/Os go than rate_iops says; with one size the two agree.
		rate := float64(iops) * float64(j.MinBSDir(d))
		due = maxTime(due, p.start.Add(time.Duration(float64(p.bytes[d])/rate*float64(time.Second))))
	}
	return due
}

// poissonDue advances direction d's clock of rate_process=poisson by an
// exponential gap with the mean its cap gives one I/O of the direction's
// smallest block size, as fio's, and returns it (the start for a
// direction without a cap).
func (p *pacer) poissonDue(d int) time.Time {
	j := p.job
	mean := 0.0
	if rate := j.Rate[d]; rate > 0 {
		// fio's mean gap is one smallest block at the rate, whatever
		// this I/O's size.
		mean = float64(j.MinBSDir(d)) / float64(rate)
	}
	if iops := j.RateIOPS[d]; iops > 0 {
		mean = 1 / float64(iops) // rate and rate_iops never come together
	}
	if mean == 0 {
		return p.start
	}
	p.poisson[d] = p.poisson[d].Add(time.Duration(p.rng.ExpFloat64() * mean * float64(time.Second)))
	return maxTime(p.start, p.poisson[d])
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// wait pauses until t, spinning on the CPU for the first spin of it (fio's
// thinktime_spin) and sleeping the rest; it returns early when stop says
// so. It sleeps in nanosleep, as fio does, not time.Sleep: on the job's
// locked thread a time.Sleep of 100 µs took 1.16-1.18 ms here (the
// runtime's timer wakes the thread), a nanosleep 0.17-0.18 ms
// (BenchmarkPause), so short thinktime and rate pauses would run long.
// A worker's pauses go through its sleeper, which also ends them on time.
func wait(t time.Time, spin time.Duration, stop func() bool) {
	(*sleeper)(nil).wait(t, spin, stop)
}

// sleeper ends a thread's pauses on time, as fio's do: a nanosleep wakes
// late (by the timer slack, 50 µs unless set, and the wake-up of an idle
// vCPU), so a thinktime=100us pause took 170 µs and a job of 4 KiB reads
// at depth 1 with it ran 5.2k IOPS where fio ran 8.0-8.5k. The sleeper
// sets its thread's timer slack to 1 ns (PR_SET_TIMERSLACK), sleeps until
// as long before the end as its recent sleeps woke late, and spins on the
// clock for the rest, as fio spins the last of a pause shorter than its
// nanosleep's measured granularity. Its zero value is ready; nil sleeps
// the whole pause.
type sleeper struct {
	// late: how late the last sleeps woke (a ring of lateSleeps, i the
	// next to replace, n how many are set).
	late  [lateSleeps]time.Duration
	i, n  int
	slack bool // the thread's timer slack is set
	// nap and now are nanosleep and time.Now (tests replace them).
	nap func(time.Duration)
	now func() time.Time
}

// lateSleeps is how many of its last sleeps a sleeper looks back on;
// it wakes early by the second latest of them (one that woke very late
// on a stall does not make it spin until it drops out), at most maxEarly.
const (
	lateSleeps = 8
	maxEarly   = 200 * time.Microsecond
)

// early returns how long before the end of a pause s stops sleeping.
func (s *sleeper) early() time.Duration {
	if s.n < 2 {
		return 0
	}
	xs := s.late
	sorted := xs[:s.n]
	slices.Sort(sorted)
	return min(sorted[s.n-2], maxEarly)
}

func (s *sleeper) wait(t time.Time, spin time.Duration, stop func() bool) {
	now, nap := time.Now, func(d time.Duration) {
		ts := unix.NsecToTimespec(d.Nanoseconds())
		_ = unix.Nanosleep(&ts, nil) // EINTR: the loop sleeps again
	}
	if s != nil {
		if s.now != nil {
			now, nap = s.now, s.nap
		} else if !s.slack {
			s.slack = true
			_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0)
		}
	}
	spinEnd := now().Add(spin)
	for n := now(); n.Before(spinEnd) && n.Before(t); n = now() {
	}
	for !stop() {
		left := t.Sub(now())
		if left <= 0 {
			return
		}
		if s == nil {
			nap(min(left, 50*time.Millisecond))
			continue
		}
		d := left - s.early()
		if d <= 0 {
			for now().Before(t) {
			}
			return
		}
		d = min(d, 50*time.Millisecond)
		before := now()
		nap(d)
		s.late[s.i] = max(now().Sub(before)-d, 0)
		s.i = (s.i + 1) % lateSleeps
		s.n = min(s.n+1, lateSleeps)
	}
}

// pause is wait for the worker: a pause that runs past the end of a
// status period (--status-interval) hands the period to the board at its
// end, so that the reports go on while the job pauses, as fio's do.
func (w *worker) pause(until time.Time, spin time.Duration, stop func() bool) {
	spinEnd := time.Now().Add(spin)
	for w.iv != nil && w.ivNext.Before(until) && !stop() {
		w.sleep.wait(w.ivNext, time.Until(spinEnd), stop)
		if now := time.Now(); !now.Before(w.ivNext) {
			w.publishInterval(now, false)
		}
	}
	w.sleep.wait(until, time.Until(spinEnd), stop)
	if w.eng != nil {
		// The reap after the pause times its wait for the status period
		// from nowSince (untilPeriodEnd).
		w.nowSince = w.eng.Clock() - w.epochClock
	}
}

// admit submits r now, parks it when the pacer says it is not due, or
// holds it (serialize_overlap) while an I/O it overlaps is in flight.
func (w *worker) admit(r *engine.Request, now time.Time) (submitted bool, err error) {
	o := w.ovl
	if o == nil {
		return w.admitNow(r, now)
	}
	if o.overlaps(r) {
		o.held = r // serialize_overlap: after what it overlaps
		return false, nil
	}
	submitted, err = w.admitNow(r, now)
	if submitted {
		o.flying = append(o.flying, r)
	}
	return submitted, err
}

// admitNow is admit but for serialize_overlap.
func (w *worker) admitNow(r *engine.Request, now time.Time) (submitted bool, err error) {
	if w.backlogDue {
		w.parked = append(w.parked, parked{r: r, due: now})
		return false, nil
	}
	if w.flow != nil && !w.flow.take() {
		// flow: ahead of its share; it looks again once its I/O in
		// flight has completed and flow_sleep has passed.
		w.parked = append(w.parked, parked{r: r, due: now.Add(flowSleep(w.job)), flow: true})
		return false, nil
	}
	// Nothing passes a parked request: a thinktime pause holds back every
	// I/O after it until it is over, and a replayed I/O that came due
	// while the one before it waited goes after it, in the log's order.
	if !w.replayDue.IsZero() && (w.replayDue.After(now) || len(w.parked) > 0) {
		// read_iolog: not before its time in the log.
		w.parked = append(w.parked, parked{r: r, due: w.replayDue})
		return false, nil
	}
	if w.pacer != nil {
		due, think := w.pacer.schedule(r)
		if paceHook != nil && r.Sync == engine.NoSync {
			paceHook(paceEvent{kind: paceScheduled, job: w.job, clone: w.idx, at: w.pacer.now, due: due, think: think})
		}
		if think || due.After(now) || len(w.parked) > 0 {
			w.parked = append(w.parked, parked{r: r, due: due, think: think})
			return false, nil
		}
		if paceHook != nil {
			w.paceIssuedHook(parked{r: r, due: due}, false, w.q.InFlight())
		}
	} else if len(w.parked) > 0 {
		w.parked = append(w.parked, parked{r: r, due: now})
		return false, nil
	}
	w.logIssued(r)
	if w.job.BatchSubmit == workloads.BatchAuto {
		// Submitted with the rest of this round (submitBatch).
		w.batch = append(w.batch, r)
		if w.job.ThinkCycles == 0 || r.Sync != engine.NoSync {
			return true, nil
		}
		// thinkcycles: the I/O goes to the queue before the spin, as
		// fio's goes out before its spin.
		err := w.submitBatch()
		thinkCycles(w.job.ThinkCycles)
		return true, err
	}
	if w.job.ThinkCycles == 0 {
		// iodepth_batch_submit: queued with the round's others, in one
		// Submit (one clock reading) up to each flush.
		w.batch = append(w.batch, r)
		if w.countQueued() {
			if err := w.submitBatch(); err != nil {
				return true, err
			}
			return true, w.flush()
		}
		return true, nil
	}
	if err := w.q.Submit(r); err != nil {
		return false, err
	}
	defer w.thinkAfter(r)
	if w.countQueued() {
		// iodepth_batch_submit: every n queued I/Os go to the kernel.
		if err := w.flush(); err != nil {
			return true, err
		}
	}
	return true, nil
}

// thinkAfter spins thinkcycles' loop after the read, write or trim r has
// gone to the queue (a flush spins none, as in fio).
func (w *worker) thinkAfter(r *engine.Request) {
	if w.job.ThinkCycles > 0 && r.Sync == engine.NoSync {
		thinkCycles(w.job.ThinkCycles)
	}
}

// thinkSink keeps thinkCycles' loop from being optimized away (atomic:
// the clones of a job spin at once).
var thinkSink atomic.Uint64

// thinkSpinHook, when set (by tests), is told how many iterations each
// thinkcycles spin ran.
var thinkSpinHook func(n int)

// thinkCycles spins a CPU loop of n iterations (thinkcycles), as fio's
// between I/Os. fio's iterations each run the CPU's pause instruction
// (nop on the architectures without one); these a multiply and an add,
// so the same count may take a different time in fio.
func thinkCycles(n int) {
	x := thinkSink.Load()
	i := 0
	for ; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	thinkSink.Store(x)
	if thinkSpinHook != nil {
		thinkSpinHook(i)
	}
}

// submitHook, when set (by tests), sees each batch submitBatch submits,
// with the clone's number and whether its loop is loopPlain.
var submitHook func(clone int, plain bool, batch []*engine.Request)

// submitBatch submits the requests admit gathered, in one Queue.Submit:
// the engine reads the clock for their start once, not once each (a
// tenth of its own time per I/O over NOPs).
func (w *worker) submitBatch() error {
	if len(w.batch) == 0 {
		return nil
	}
	if submitHook != nil {
		submitHook(w.idx, w.plain, w.batch)
	}
	depth := w.q.InFlight()
	err := w.q.Submit(w.batch...)
	// With iodepth_batch_submit the depth is counted at each flush
	// instead (countQueued). Each slot is cleared as it is counted: a
	// clear of the slice after the loop is a call to the runtime
	// (memclrHasPointers), 28 instructions per I/O at depth 1 where the
	// stores cost about 10 (callgrind).
	perIO := w.job.BatchSubmit == workloads.BatchAuto
	for i := range w.batch {
		if perIO {
			w.markDepth(depth + i + 1)
		}
		w.batch[i] = nil
	}
	w.batch = w.batch[:0]
	return err
}

// releaseParked runs once the queue is quiesced: it waits for the first
// parked request's time (a thinktime pause counts from now) and submits
// every parked request that is due, in order.
func (w *worker) releaseParked() error {
	j := w.job
	stop := func() bool { return w.stopping || interrupted.Load() || w.stopped() }
	if w.backlogDue {
		if err := w.checkBacklog(); err != nil {
			if w.err == nil {
				w.err = err
			}
			w.stopping = true
		}
	}
	now := time.Now()
	first := &w.parked[0]
	thinking, pauseStart := first.think, now
	if first.think {
		first.due = maxTime(first.due, now.Add(j.ThinkTime))
		first.think = false
	}
	if first.due.After(now) {
		spin := time.Duration(0)
		if j.ThinkTime > 0 {
			spin = j.ThinkSpin
		}
		// No pause outlasts the job's runtime (fio cuts a thinktime pause
		// to the runtime left).
		until := first.due
		if !w.deadline.IsZero() && w.deadline.Before(until) {
			until = w.deadline
		}
		w.pause(until, spin, stop)
		now = time.Now()
	}
	if thinking && w.pacer != nil {
		if paceHook != nil {
			paceHook(paceEvent{kind: pacePaused, job: w.job, clone: w.idx, at: pauseStart, due: first.due, end: now})
		}
		w.pacer.thinkEnd = now // thinktime_iotime counts from here
		if j.RateIgnoreThink {
			w.pacer.shift(now.Sub(pauseStart))
		}
	}
	if stop() || !w.deadline.IsZero() && !now.Before(w.deadline) {
		w.parked = w.parked[:0] // the run is over; these never start
		return nil
	}
	n, busy := 0, 0
	if paceHook != nil {
		busy = w.q.InFlight()
	}
	for i, p := range w.parked {
		if i > 0 && (p.think || p.due.After(now)) {
			break
		}
		if p.flow && !w.flow.take() {
			w.parked[i].due = now.Add(flowSleep(j)) // still ahead: wait again
			break
		}
		if paceHook != nil {
			w.paceIssuedHook(p, true, busy)
		}
		if err := w.submitParked(p.r); err != nil {
			return err
		}
		n++
	}
	if n > 0 {
		w.submitted(n)
	}
	w.parked = append(w.parked[:0], w.parked[n:]...)
	return nil
}

// submitParked submits a parked request whose time has come, recording
// it as admit records those it submits.
func (w *worker) submitParked(r *engine.Request) error {
	w.logIssued(r)
	if err := w.q.Submit(r); err != nil {
		return err
	}
	defer w.thinkAfter(r)
	if w.ovl != nil {
		w.ovl.flying = append(w.ovl.flying, r)
	}
	// The lot goes to the kernel together: releaseDue flushes it,
	// releaseParked leaves it to the next wait.
	w.countQueued()
	return nil
}

// rateMinSettle is how long a job runs before rate_min and rate_iops_min
// count, as fio 3.33's "2 second settle period in the beginning": the
// first rate_cycle starts there, so a job too slow fails a cycle later.
const rateMinSettle = 2 * time.Second

// checkRateMin fails the job when a direction's bandwidth over the last
// rate_cycle (a second by default) fell below rate_min, or its IOPS below
// rate_iops_min (checked once per reap, from rateMinSettle on).
func (w *worker) checkRateMin(now time.Time) {
	j := w.job
	if j.RateMin == [2]uint64{} && j.RateIOPSMin == [2]int{} || !w.measuring || now.Sub(w.measureStart) < rateMinSettle {
		return
	}
	cycle := max(j.RateCycle, time.Millisecond)
	if w.rateMinNext.IsZero() {
		w.rateMinNext, w.rateMinBytes, w.rateMinIOs = now.Add(cycle), w.bytes, w.ios
		return
	}
	if now.Before(w.rateMinNext) {
		return
	}
	secs := now.Sub(w.rateMinNext.Add(-cycle)).Seconds()
	dirs := [2]bool{j.RW.Reads(), j.RW.Writes()}
	for d := range 2 {
		if min := j.RateMin[d]; min > 0 && dirs[d] {
			bw := float64(w.bytes[d]-w.rateMinBytes[d]) / secs
			if bw < float64(min) {
				if w.err == nil {
					w.err = fmt.Errorf("rate_min: %s bandwidth %.0f B/s over the last rate_cycle is below %d B/s", [2]string{"read", "write"}[d], bw, min)
				}
				w.stopping = true
			}
		}
		if min := j.RateIOPSMin[d]; min > 0 && dirs[d] {
			iops := float64(w.ios[d]-w.rateMinIOs[d]) / secs
			if iops < float64(min) {
				if w.err == nil {
					w.err = fmt.Errorf("rate_iops_min: %s IOPS %.0f over the last rate_cycle are below %d", [2]string{"read", "write"}[d], iops, min)
				}
				w.stopping = true
			}
		}
	}
	w.rateMinNext, w.rateMinBytes, w.rateMinIOs = now.Add(cycle), w.bytes, w.ios
}

// checkBacklog reads back the writes of the backlog (verify_backlog),
// with the queue quiesced, and checks them, as fio's verify_backlog does:
// through the job's queue, up to iodepth reads in flight, each a read of
// the job (counted, timed and logged as its other reads are). A block read
// back here is not read again by the verify pass at the end unless it is
// written again, so each write is checked once, as fio checks it.
//
// Each check reads back verify_backlog_batch writes (default
// verify_backlog's n), oldest first, as fio 3.33 does: those left wait
// for the next check, due when the backlog is n long again; what a batch
// larger than the backlog has left (backlogCredit) reads back the writes
// that follow, each as it completes, before the count starts again.
// Without a random map (writeHistory not ordered) the writes are those
// the history keeps, lowest offset first, and a check is due when their
// number is a multiple of n, as fio's tree of writes.
func (w *worker) checkBacklog() error {
	w.backlogDue = false
	budget := w.backlogCredit
	if budget == 0 {
		budget = w.job.VerifyBacklogBatch
		if budget == 0 {
			budget = w.job.VerifyBacklog
		}
	}
	var todo []fileIO
	if h := w.written; h != nil && !h.ordered {
		// Without a random map fio keeps its writes by offset and reads
		// back the lowest first, file by file: those the history keeps
		// (a write dropped those it overlaps), not the oldest.
		for e := range h.writes() {
			if len(todo) == budget {
				break
			}
			todo = append(todo, fileIO{w.files[e.file], workloads.IO{Offset: e.off, Length: uint64(e.n), IOFlags: workloads.IOFlags{Write: true}}})
		}
		w.backlogCredit = budget - len(todo)
		w.backlog = w.backlog[:0]
	} else {
		n := min(budget, len(w.backlog))
		w.backlogCredit = budget - n
		todo = slices.Clone(w.backlog[:n])
		w.backlog = append(w.backlog[:0], w.backlog[n:]...)
	}
	pool := w.backlogPool()
	if len(pool) == 0 {
		return fmt.Errorf("verify_backlog: buffer arena exhausted")
	}
	idle := slices.Clone(pool)
	var done []*engine.Request
	next := 0
	for next < len(todo) && !w.stopping || w.q.InFlight() > 0 {
		for len(idle) > 0 && next < len(todo) && !w.stopping {
			r := idle[len(idle)-1]
			idle = idle[:len(idle)-1]
			e := todo[next]
			next++
			r.File, r.Offset, r.Length = e.f, e.io.Offset, int(e.io.Length)
			r.Write, r.Trim, r.Sync, r.Tag = false, false, engine.NoSync, tagVerifyRead
			r.Buf = r.Buf[:e.io.Length]
			w.logIssued(r)
			if err := w.q.Submit(r); err != nil {
				return err
			}
		}
		var err error
		if done, err = w.reapWaiting(done[:0]); err != nil {
			return err
		}
		for _, r := range done {
			w.complete(r) // records the read and checks it (w.ver)
			idle = append(idle, r)
		}
	}
	if w.err != nil {
		return w.err
	}
	if w.written != nil {
		for _, e := range todo {
			w.written.drop(w.fileIndex(e.f), e.io.Offset, e.io.Length, false)
		}
	}
	return nil
}

// reapWaiting reaps at least one completion, as ReapBatch(dst, 1, 0)
// does, for the waits outside the job's I/O loops (verify_backlog's
// read-back, the end-of-job flush). Each of its reaps does what the
// clock brings due (tick: samples, log windows, status periods), as the
// loops' reaps do, so that a read-back or a flush longer than a
// log_avg_msec window or a sample period has its windows, each with
// what completed in it, rather than one that holds them all. With
// status intervals its wait ends at each period's end to hand the
// period over, so that the reports go on while a read-back or a flush
// outlasts a period, as in the loops.
func (w *worker) reapWaiting(dst []*engine.Request) ([]*engine.Request, error) {
	for {
		var done []*engine.Request
		var err error
		if w.iv == nil {
			done, err = w.q.ReapBatch(dst, 1, 0)
		} else {
			done, err = w.q.ReapBatchWithin(dst, 1, 0, w.untilPeriodEnd())
		}
		w.nowSince = w.reapSince()
		w.now = w.epoch.Add(w.nowSince) // the time the read-back's log entries have
		w.tick(w.now)
		if w.nowSince >= w.lvNext {
			w.publishLive()
			w.lvNext = w.nowSince + liveEvery
		}
		if err != nil || len(done) > 0 || w.q.InFlight() == 0 {
			return done, err
		}
	}
}

// backlogPool returns the requests verify_backlog reads with: up to
// iodepth of them, each with a buffer of the job's largest block, made
// the first time and kept (as many as the buffer arena holds).
func (w *worker) backlogPool() []*engine.Request {
	if w.backlogReqs == nil {
		n := min(w.job.IODepth, max(w.job.VerifyBacklog, w.job.VerifyBacklogBatch, 1))
		for range n {
			b := w.eng.Buffer(int(w.job.MaxBS()))
			if b == nil {
				break
			}
			w.backlogReqs = append(w.backlogReqs, &engine.Request{Buf: b})
		}
	}
	return w.backlogReqs
}

// latTarget is latency_target's search for the deepest queue (up to
// iodepth) at which latency_percentile of the I/Os of a latency_window
// complete within latency_target, as fio 3.33 searches:
//
//   - It starts at depth 1, with iodepth as the shallowest depth known to
//     miss (high) and 1 as the deepest known to meet (low).
//   - Each I/O over the target is a miss. With latency_percentile=100 a
//     miss ramps the depth down at once; at depth 1 it fails the job
//     (ETIMEDOUT). Below 100 misses are counted.
//   - Once a window has passed, its I/Os are judged: when the share
//     within the target reaches latency_percentile, the depth met it and
//     goes up: doubled while no depth has missed (high is still iodepth),
//     else halfway to high. Otherwise it missed, and goes down (at depth
//     1 nothing changes, and the window runs on).
//   - A ramp down makes high the depth that missed and takes the depth
//     halfway down to low (low one lower when the depth was low itself);
//     the queue drains before the next window starts.
//   - When a met window leaves the depth where it was, the depth has
//     settled: the queue drains, the job's statistics start afresh and
//     one more window runs; the next time the depth settles the job
//     ends. latency_run=1 never settles: the search goes on for the
//     whole job, and with it a heuristic of fio's: three met windows in
//     a row one below high raise high by one.
//
// Each I/O goes to complete, and once per reap tick judges the window;
// while draining is set the worker issues nothing, and calls drained
// once the queue is empty.
type latTarget struct {
	target, window time.Duration
	pct            float64
	maxDepth       int
	run            bool // latency_run

	depth, low, high int
	stable           int       // met windows in a row one below high
	start            time.Time // the window's start
	ios, missed      uint64    // the window's I/Os, and those over the target
	// final: the depth settled once, and the job is in its last window
	// (fio's latency_end_run); draining: the queue drains before the
	// next window; restart: the statistics start afresh once it has
	// drained (the depth settled); done: the job ends.
	final, draining, restart, done bool
}

// newLatTarget returns the search of a job with latency_target (nil
// without it), starting at now.
func newLatTarget(j *workloads.Job, now time.Time) *latTarget {
	if j.LatencyTarget <= 0 {
		return nil
	}
	l := &latTarget{target: j.LatencyTarget, window: j.LatencyWindow, pct: j.LatencyPercentile,
		maxDepth: j.IODepth, run: j.LatencyRun}
	l.begin(now)
	return l
}

// begin starts the search afresh at depth 1 (fio's lat_target_init).
func (l *latTarget) begin(now time.Time) {
	l.final = false
	l.depth, l.low, l.high = 1, 1, l.maxDepth
	l.newWindow(now)
}

// rampEnded starts the search afresh at the end of the ramp (the
// statistics' reset there is fio's lat_target_reset), unless the depth
// already settled.
func (l *latTarget) rampEnded(now time.Time) {
	if !l.final {
		l.begin(now)
	}
}

func (l *latTarget) newWindow(now time.Time) {
	l.start, l.ios, l.missed = now, 0, 0
}

// complete counts an I/O of latency lat, and reports whether it fails
// the job: over the target at depth 1 with latency_percentile=100.
// While the queue drains, the I/O belongs to no window, but with
// latency_percentile=100 one over the target still ramps the depth down.
func (l *latTarget) complete(lat time.Duration) (fatal bool) {
	if !l.draining {
		l.ios++
	}
	if lat <= l.target {
		return false
	}
	if l.pct == 100 {
		return l.rampDown()
	}
	if !l.draining {
		l.missed++
	}
	return false
}

// tick judges the window once it has passed (at a reap, after its
// completions).
func (l *latTarget) tick(now time.Time) {
	if l.draining || l.done || now.Sub(l.start) < l.window {
		return
	}
	// No I/O in the window is a miss, as fio's 0/0 is.
	if l.ios > 0 && float64(l.ios-l.missed)/float64(l.ios)*100 >= l.pct {
		l.met(now)
	} else {
		l.rampDown()
	}
}

// rampDown lowers the depth after a miss and has the queue drain; at
// depth 1 it changes nothing and reports true.
func (l *latTarget) rampDown() bool {
	if l.depth == 1 {
		return true
	}
	l.high = l.depth
	if l.depth == l.low {
		l.low--
	}
	l.depth = (l.depth + l.low) / 2
	l.stable = 0
	l.draining = true
	return false
}

// met raises the depth after a window that met the target, or, where
// it stays, settles it.
func (l *latTarget) met(now time.Time) {
	was := l.depth
	l.low = l.depth
	if l.depth+1 == l.high {
		if l.stable++; l.stable >= 3 {
			l.high++
			l.stable = 0
		}
	}
	if l.high != l.maxDepth {
		l.depth = (l.depth + l.high) / 2
	} else {
		l.depth *= 2
	}
	l.depth = min(l.depth, l.maxDepth)
	if !l.run && l.depth == was {
		if l.final {
			l.done = true
		} else {
			l.final, l.draining, l.restart = true, true, true
		}
	}
	l.newWindow(now)
}

// drained starts the next window once the queue has drained, and
// reports whether the statistics start afresh with it.
func (l *latTarget) drained(now time.Time) (restart bool) {
	restart = l.restart
	l.draining, l.restart = false, false
	l.newWindow(now)
	return restart
}

// flowSleep is how long a clone held back by flow waits before it looks
// again: flow_sleep, or 10 µs (fio looks again at once; the floor keeps
// the thread from spinning).
func flowSleep(j *workloads.Job) time.Duration { return max(j.FlowSleep, 10*time.Microsecond) }

// offloadDue returns when the first I/O a rate holds back is due, for a
// job with io_submit_mode=offload (ok false otherwise, or when a
// thinktime pause, which waits for the queue to drain, comes first).
func (w *worker) offloadDue() (time.Time, bool) {
	if !w.job.SubmitOffload || len(w.parked) == 0 || w.parked[0].think || w.parked[0].flow {
		return time.Time{}, false
	}
	return w.parked[0].due, true
}

// releaseDue submits, with io_submit_mode=offload, the held-back I/O that
// is due by now, in order, whatever is in flight: the rate's submissions
// do not wait for the device's completions (inline, the default, waits
// for the queue to drain first: releaseParked).
func (w *worker) releaseDue() error {
	if w.stopping || w.pastDeadline || interrupted.Load() || w.stopped() {
		return nil // releaseParked drops them once the queue has drained
	}
	now := time.Now()
	n, busy := 0, 0
	if paceHook != nil {
		busy = w.q.InFlight()
	}
	for _, p := range w.parked {
		if p.think || p.flow || p.due.After(now) || w.ovl != nil && w.ovl.overlaps(p.r) {
			break
		}
		if paceHook != nil {
			w.paceIssuedHook(p, true, busy)
		}
		if err := w.submitParked(p.r); err != nil {
			return err
		}
		n++
	}
	if n > 0 {
		w.submitted(n)
		if err := w.flush(); err != nil {
			return err
		}
		w.parked = append(w.parked[:0], w.parked[n:]...)
	}
	return nil
}
