package runner

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/iobench/iobench/workloads"
)

// statusBoard collects what workers measured in each --status-interval
// period, and the printer adds each period to what came before, so that
// each report covers the run from its start to the period's end, as
// fio's do. Periods are aligned to the run's start: period k is
// [t0+k·period, t0+(k+1)·period). Workers publish a period once their
// reap loop sees it has ended; the printer waits until every running
// worker has published a period before it reports it. As fio's, every
// period until the run's last job ends has a report, each with every job
// of the run: one not yet started (a startdelay, a later stonewall group)
// with nothing done.
type statusBoard struct {
	period time.Duration
	t0     time.Time
	// jobs and groups are the run's (setJobs), for the reports to list
	// every job and to add up a reporting group's jobs (group_reporting)
	// as the total does (nil: each job that has run reported alone).
	jobs   []workloads.Job
	groups [][]int

	mu     sync.Mutex
	cond   *sync.Cond
	nextID int
	live   map[int]int // worker id -> highest period published (-1: none)
	snaps  map[int][]ivSnap
	gone   []int  // per job: its clones that have ended (leave)
	ended  []bool // per job: its run is over, clones started or not (jobEnded)
	done   bool   // the run is over: report what is left
}

// ivSnap is what one worker measured in one period.
type ivSnap struct {
	job     *workloads.Job
	jobIdx  int
	groupID int
	m       *measure
	end     time.Duration // since the run's start: the period's end, or the worker's when it ended first
}

func newStatusBoard(period time.Duration, t0 time.Time) *statusBoard {
	b := &statusBoard{period: period, t0: t0, live: map[int]int{}, snaps: map[int][]ivSnap{}}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// setJobs gives the board the run's jobs and stonewall groups, before any
// job starts.
func (b *statusBoard) setJobs(jobs []workloads.Job, groups [][]int) {
	b.jobs, b.groups = jobs, groups
	b.gone, b.ended = make([]int, len(jobs)), make([]bool, len(jobs))
}

// index returns the period t falls in.
func (b *statusBoard) index(t time.Time) int { return int(t.Sub(b.t0) / b.period) }

// end returns when period k ends.
func (b *statusBoard) end(k int) time.Time { return b.t0.Add(time.Duration(k+1) * b.period) }

// join registers a worker starting at now and returns its id.
func (b *statusBoard) join(now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.nextID
	b.nextID++
	b.live[id] = b.index(now) - 1
	return id
}

// publish stores what worker id measured in period k; periods up to
// upTo have nothing more from it.
func (b *statusBoard) publish(id, k, upTo int, s ivSnap) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.snaps[k] = append(b.snaps[k], s)
	if upTo > b.live[id] {
		b.live[id] = upTo
	}
	b.cond.Broadcast()
}

// leave unregisters worker id, a clone of job ji (after its last
// publish).
func (b *statusBoard) leave(id, ji int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.live, id)
	if ji < len(b.gone) {
		b.gone[ji]++
	}
	b.cond.Broadcast()
}

// jobEnded tells the board that job ji's run is over, whether its clones
// started (and left) or not (a failed prerun, create_only, a clone whose
// set-up failed). b may be nil.
func (b *statusBoard) jobEnded(ji int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ended[ji] = true
}

// over reports whether the run's jobs have all ended: every clone of each
// has left, or its run is over. The period this happens in has no report
// of its own, as fio's last has none (the run's total covers it). The
// clones' leaving, not jobEnded alone, decides for a job that ran: its
// goroutine ends after the last clone's final publish and the job's
// clean-up, and a period ending in between would get a report.
func (b *statusBoard) over() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done || b.jobs == nil {
		return true
	}
	for ji := range b.jobs {
		if !b.ended[ji] && b.gone[ji] < max(b.jobs[ji].NumJobs, 1) {
			return false
		}
	}
	return true
}

// finish tells the printer the run is over.
func (b *statusBoard) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = true
	b.cond.Broadcast()
}

// take waits until every live worker has published period k (or the
// run is over) and returns what was published for it.
func (b *statusBoard) take(k int) (snaps []ivSnap, done bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for !b.done && !b.allPast(k) {
		b.cond.Wait()
	}
	snaps = b.snaps[k]
	delete(b.snaps, k)
	return snaps, b.done
}

func (b *statusBoard) allPast(k int) bool {
	for _, last := range b.live {
		if last < k {
			return false
		}
	}
	return true
}

// left returns the periods still holding snapshots, in order.
func (b *statusBoard) left() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ks []int
	for k := range b.snaps {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}

// printStatus reports each period as it ends, until the board finishes,
// then the periods still held.
func printStatus(b *statusBoard, run *Run, out Output, stop <-chan struct{}) {
	var sums sofar
	report := func(k int, snaps []ivSnap) {
		all := sums.add(snaps)
		over := b.over()
		if over && !slices.ContainsFunc(snaps, func(s ivSnap) bool { return s.end >= b.end(k).Sub(b.t0) }) {
			// The jobs ended within the period: as fio's, no report
			// for it; the run's total, which follows, covers it.
			return
		}
		writeInterval(out, run, b, k, all, over)
	}
	for k := 0; ; k++ {
		select {
		case <-stop:
			for _, k := range b.left() {
				s, _ := b.take(k)
				report(k, s)
			}
			return
		case <-time.After(time.Until(b.end(k))):
		}
		s, done := b.take(k)
		report(k, s)
		if done {
			for _, k := range b.left() {
				s, _ := b.take(k)
				report(k, s)
			}
			return
		}
	}
}

// sofar is what each clone measured from its start to the last period
// reported: one snapshot per clone, of every clone seen so far (one that
// has finished stays in the reports, as in fio's).
type sofar struct {
	snaps []ivSnap
}

// add adds a period's snapshots to what came before and returns the
// sums, each snapshot's end the latest of its clone.
func (s *sofar) add(period []ivSnap) []ivSnap {
	for _, p := range period {
		i := slices.IndexFunc(s.snaps, func(q ivSnap) bool { return q.jobIdx == p.jobIdx && q.m.clone == p.m.clone })
		if i < 0 {
			m := newMeasure()
			m.clone = p.m.clone
			s.snaps = append(s.snaps, ivSnap{job: p.job, jobIdx: p.jobIdx, groupID: p.groupID, m: m})
			i = len(s.snaps) - 1
		}
		s.snaps[i].m.add(p.m)
		s.snaps[i].end = max(s.snaps[i].end, p.end)
	}
	return s.snaps
}

// add adds what o measured, over a period that follows m's, to m.
func (m *measure) add(o *measure) {
	for d := range workloads.NumDirs {
		m.ios[d] += o.ios[d]
		m.bytes[d] += o.bytes[d]
		m.errs[d] += o.errs[d]
		m.slat[d].add(o.slat[d])
		m.clat[d].add(o.clat[d])
		m.lat[d].add(o.lat[d])
		m.prios[d] = mergePrios(m.prios[d], o.prios[d])
		// The bandwidth and IOPS samples of o's period follow m's, as
		// fio's status reports hold those of the job so far.
		m.bwSamples[d] = append(m.bwSamples[d], o.bwSamples[d]...)
		m.iopsSamples[d] = append(m.iopsSamples[d], o.iopsSamples[d]...)
		m.bwIO[d].merge(o.bwIO[d])
		m.iopsIO[d].merge(o.iopsIO[d])
	}
	u, v := &m.usage, &o.usage
	u.usr, u.sys, u.wall = u.usr+v.usr, u.sys+v.sys, u.wall+v.wall
	u.ctx, u.volCtx, u.majf, u.minf = u.ctx+v.ctx, u.volCtx+v.volCtx, u.majf+v.majf, u.minf+v.minf
	m.measured += o.measured
	m.verified += o.verified
	m.verifyReadIOs += o.verifyReadIOs
	m.verifyReadBytes += o.verifyReadBytes
	m.verifyTime += o.verifyTime
	m.verifyInRun += o.verifyInRun
	m.ioErrs += o.ioErrs
	if m.firstErr == 0 {
		m.firstErr = o.firstErr
	}
	if m.tid == 0 {
		m.tid = o.tid
	}
	for i := range m.depthDist {
		m.depthDist[i] += o.depthDist[i]
		m.submitDist[i] += o.submitDist[i]
		m.completeDist[i] += o.completeDist[i]
	}
	if o.latencyDepth > 0 {
		m.latencyDepth = o.latencyDepth
	}
	m.syncs += o.syncs
	m.rangeSyncs += o.rangeSyncs
	m.syncLat.Merge(o.syncLat)
}

// writeInterval writes the report at the end of period k: each job's (or
// clone's) I/O, latencies and CPU from the run's start (snaps: sofar's),
// and every job of the run not yet started, with nothing done. Over: the
// run's jobs have all ended (an interrupted run's periods left).
func writeInterval(out Output, run *Run, b *statusBoard, k int, snaps []ivSnap, over bool) {
	byJob := map[int][]ivSnap{}
	var order []int
	for _, s := range snaps {
		if _, ok := byJob[s.jobIdx]; !ok {
			order = append(order, s.jobIdx)
		}
		byJob[s.jobIdx] = append(byJob[s.jobIdx], s)
	}
	sort.Ints(order)
	// With the run over, the last period ends when its last worker did,
	// not at the period's end.
	ivEnd := time.Duration(k+1) * b.period
	if over {
		var end time.Duration
		for _, s := range snaps {
			end = max(end, s.end)
		}
		ivEnd = min(end, ivEnd)
	}
	iv := &Run{Time: b.t0.Add(ivEnd), Target: run.Target, Kernel: run.Kernel, Interval: &Interval{Index: k, End: ivEnd}}
	perJob := map[int][]JobResult{}
	for _, ji := range order {
		ss := byJob[ji]
		sort.Slice(ss, func(a, c int) bool { return ss[a].m.clone < ss[c].m.clone })
		ms := make([]*measure, len(ss))
		for i, s := range ss {
			ms[i] = s.m
		}
		for _, r := range results(ss[0].job, ms) {
			r.Job, r.GroupID, r.Mapper = *ss[0].job, ss[0].groupID, ss[0].job.Mapper
			perJob[ji] = append(perJob[ji], r)
		}
	}
	if b.groups == nil {
		for _, ji := range order {
			iv.Jobs = append(iv.Jobs, perJob[ji]...)
		}
	}
	rg := reportGroups(b.jobs, b.groups)
	for _, g := range b.groups {
		// The group's jobs, added up by reporting group as the run's
		// total adds them; those not started yet with nothing done, as
		// fio lists them.
		res := make([][]JobResult, len(g))
		for i, ji := range g {
			if r, ok := perJob[ji]; ok {
				res[i] = r
			} else {
				res[i] = notStarted(b.jobs[ji], rg[ji])
			}
		}
		iv.Jobs = append(iv.Jobs, groupResults(b.jobs, g, res)...)
	}
	writeFormats(out.W, out.Formats, iv)
}

// Interval marks the report at the end of one --status-interval period,
// which covers the run from its start to End.
type Interval struct {
	Index int
	End   time.Duration // since the run's start
}

// publishInterval hands the worker's current period to the board and
// starts the next one at now. With final set, the period ends at now.
func (w *worker) publishInterval(now time.Time, final bool) {
	b := w.status
	m := w.iv
	m.usage.end()
	m.tid = w.tid
	start := b.t0.Add(time.Duration(w.ivIdx) * b.period)
	if w.measureStart.After(start) {
		start = w.measureStart
	}
	upTo := b.index(now) - 1
	if final {
		upTo = b.index(now)
	}
	// With no reap since its period ended, the measure holds I/O of the
	// periods after it too: it goes to the last of them that it covers
	// (with final, the one the worker ended in, which has no report of
	// its own, as that of fio's jobs' end), and its time runs to that
	// period's end, so that no report holds I/O done after its end and
	// no time of a period skipped is lost from the runtime.
	k, end := w.ivIdx, b.end(w.ivIdx)
	if !now.Before(end) {
		k, end = upTo, b.end(upTo)
	}
	if final || now.Before(end) {
		end = now
	}
	m.measured = end.Sub(start)
	b.publish(w.id, k, upTo, ivSnap{job: w.job, jobIdx: w.jobIdx, groupID: w.groupID, m: m, end: end.Sub(b.t0)})
	if final {
		return
	}
	w.iv = newMeasure()
	w.iv.clone = w.idx
	w.iv.usage.begin()
	w.ivIdx = b.index(now)
	w.ivNext = b.end(w.ivIdx)
}

// intervalHeader writes the line that heads a normal-format interval
// report (not one of fio's, whose reports under --status-interval are
// its final report's blocks, made at that time).
func intervalHeader(w io.Writer, iv *Interval) {
	fmt.Fprintf(w, "\n--- interval %d: 0s to %v (from the start) ---\n", iv.Index, iv.End.Truncate(time.Millisecond))
}
