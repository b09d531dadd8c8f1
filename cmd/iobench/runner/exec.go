package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/mapcache"
	"github.com/iobench/iobench/workloads"
	"golang.org/x/sys/unix"
)

// DirResult is what one direction of a job did.
type DirResult struct {
	IOs     uint64
	Bytes   uint64
	Errors  uint64
	Runtime time.Duration
	// Latencies in ns (fio's slat, clat and lat): Slat from the request's
	// start to its hand-over to the kernel, Clat from there to its
	// completion, Lat the whole. A histogram is empty when the job
	// disables that measurement.
	Slat, Clat, Lat *LatHist
	// Prios, for a direction whose I/Os went out with two priorities
	// (cmdprio_percentage), holds the latency of those of each, the job's
	// priority first: their clat, or their lat with lat_percentiles
	// (fio's clat_prio).
	Prios []PrioLat
	// BWSamples (KiB/s) and IOPSSamples are the rates over each bwavgtime
	// and iopsavgtime period of the measured run, as fio samples them.
	BWSamples, IOPSSamples []float64
	// BWPerIO and IOPSPerIO are those rates sampled per I/O instead,
	// where the job logs the rate per I/O (write_bw_log or
	// write_iops_log without log_avg_msec), as fio then samples them:
	// each I/O's bytes over its completion latency, and 1.
	BWPerIO, IOPSPerIO rateStat
}

// PrioLat is the latency histogram (ns) of the I/Os of one priority.
type PrioLat struct {
	Prio uint16 // ioprio value: class<<13 | level
	Lat  *hdrhistogram.Histogram
}

// mergePrios adds src's per-priority latencies to dst's, priority by
// priority (in the order first seen), and returns dst.
func mergePrios(dst, src []PrioLat) []PrioLat {
	for _, p := range src {
		i := slices.IndexFunc(dst, func(q PrioLat) bool { return q.Prio == p.Prio })
		if i < 0 {
			dst = append(dst, PrioLat{Prio: p.Prio, Lat: newHist()})
			i = len(dst) - 1
		}
		dst[i].Lat.Merge(p.Lat)
	}
	return dst
}

// IOPS returns I/Os per second over the runtime.
func (d *DirResult) IOPS() float64 {
	if d.Runtime <= 0 {
		return 0
	}
	return float64(d.IOs) / d.Runtime.Seconds()
}

// BW returns bytes per second.
func (d *DirResult) BW() float64 {
	if d.Runtime <= 0 {
		return 0
	}
	return float64(d.Bytes) / d.Runtime.Seconds()
}

// JobResult is the outcome of one clone of a job, or of all its clones
// (Clone -1) when the job has one clone or sets group_reporting.
type JobResult struct {
	Job     workloads.Job
	GroupID int
	Clone   int                          // the clone's index; -1 for the clones merged
	Dir     [workloads.NumDirs]DirResult // read, write, trim
	// CPU of the clones' own threads (RUSAGE_THREAD: each clone's queue
	// owns an OS thread): percent of one CPU over the clone's run
	// (merged: the clones' CPU time over their summed run times, as fio
	// has it), context switches and page faults.
	UsrCPU, SysCPU float64
	CPUTime        time.Duration // user + system
	RunTime        time.Duration // the clones' run times, ramp excluded, added up: fio's total_run_time
	Ctx, VolCtx    uint64        // context switches (all; voluntary)
	Majf, Minf     uint64
	// LatencyDepth is the queue depth latency_target settled on.
	LatencyDepth int
	// SS is what steady-state detection found (nil: the job has none).
	SS *SteadyResult
	// IOErrs is the failed reads and writes continue_on_error went on
	// after, FirstErr the first one's error (fio's total_err and
	// first_error).
	IOErrs   uint64
	FirstErr unix.Errno
	// Syncs is the flushes issued after every fsync/fdatasync writes
	// and the sync_file_range calls (RangeSyncs of them); SyncLat their
	// latency (ns).
	Syncs, RangeSyncs uint64
	SyncLat           *hdrhistogram.Histogram
	// Submissions by queue depth, and requests per submit and per reap
	// (fio's iodepth_level, iodepth_submit, iodepth_complete buckets).
	DepthDist, SubmitDist, CompleteDist [7]uint64
	// Engine is the statistics of the job's engine, which all of its
	// clones share; Files those of each file of the job.
	Engine engine.Stats
	Files  []FileStats
	// Target names what the job ran on (jobTarget.desc): its files, or
	// the automatic target.
	Target string
	// Pinned is the CPU set the kernel held for the clones' threads
	// (cpus_allowed, cpumask), read back after pinning; nil: not pinned.
	Pinned []int
	Ring   string // io_uring set-up in force
	Clock  string // the clock I/O was timed with (Engine.ClockInfo)
	Mapper string
	Err    error
	// Note, when set, is said on stderr after the job: why it issued no
	// I/O, where fio too ends it without an error.
	Note     string
	Verified uint64 // bytes checked by verify
	// Pid is the id of the thread the job (its first clone) ran on, as
	// fio reports each job thread's; 0 for a job that ran none.
	Pid int
	// Unwritten is what verify_only did not check of the region it read
	// back: bytes with no verify header, which no verifying job wrote.
	Unwritten uint64
	Elapsed   time.Duration
	// Interrupted is set when a signal stopped the job before its end.
	Interrupted bool
	// TrimMethod says how the job's trims reached the device (empty for
	// a job that does not trim).
	TrimMethod string
	// Members names the jobs of a group reported as one (group_reporting
	// over several jobs, as fio reports them); nil for one job's result.
	// Clones is then their clones together.
	Members []string
	Clones  int
	// lastMember is the group's last job, whose options fio lists as the
	// merged result's "job options"; nil for one job's result.
	lastMember *workloads.Job
	ms         []*measure // what the result adds up (nil: not a workload's)
}

// FileStats is the engine's statistics of one file of a job.
type FileStats struct {
	Path  string
	Stats engine.Stats
}

// clones returns the clones r adds up: its job's, or a group's.
func (r *JobResult) clones() int {
	if r.Clones > 0 {
		return r.Clones
	}
	return r.Job.NumJobs
}

// IOs returns the I/Os completed in every direction.
func (r *JobResult) IOs() uint64 {
	var n uint64
	for d := range r.Dir {
		n += r.Dir[d].IOs
	}
	return n
}

func newHist() *hdrhistogram.Histogram {
	// 1 ns .. 100 s at 3 significant digits.
	return hdrhistogram.New(1, int64(100*time.Second), 3)
}

// live holds counters the progress line reads while jobs run.
type live struct {
	ios, bytes [workloads.NumDirs]atomic.Uint64
	jobs       atomic.Int32
}

// failedResult is the result of job j that err stopped before any I/O.
func failedResult(j workloads.Job, groupID int, err error) JobResult {
	res := JobResult{Job: j, GroupID: groupID, Clone: -1, Mapper: j.Mapper, Err: err, SyncLat: newHist()}
	for d := range workloads.NumDirs {
		res.Dir[d].Slat, res.Dir[d].Clat, res.Dir[d].Lat = newLat(), newLat(), newLat()
	}
	return res
}

// runCtx is what the jobs of a run share.
type runCtx struct {
	lv     *live
	stop   *atomic.Bool // exitall: set to stop the group's jobs
	abort  *atomic.Bool // exitall_on_error: set to stop every job of the run
	status *statusBoard // nil: no --status-interval
	jobIdx int          // the job's index in the run
	logs   *logSet      // the run's log files
	// threadBase is the number of job threads (clones) before this job's
	// in the run: its clones are threads threadBase+1, threadBase+2, ...
	// (fio's numbering of log files).
	threadBase int
	// flow is the job's flow (flow, flow_id; nil: none), its weight
	// already joined for every clone.
	flow *flow
	// ss is the steady-state detection of the job's reporting group, for
	// a job with group_reporting and ss_dur (nil otherwise: each clone
	// has its own).
	ss *steady
	// ramp is ramp_size's count of the job's reporting group, for a job
	// with group_reporting and ramp_size (nil otherwise: each clone
	// counts its own).
	ramp *rampCount
}

// stopped reports whether another job stopped this one (exitall,
// exitall_on_error).
func (rc runCtx) stopped() bool {
	return rc.stop != nil && rc.stop.Load() || rc.abort != nil && rc.abort.Load()
}

// runJob runs j on its files: numjobs clones, each on its own engine
// queue, for runtime or loops passes over the region of each file. It returns one
// result per clone, or one for all when the job has one clone or sets
// group_reporting. Whatever fails is in the results' Err. stop, when
// set, stops the job early (exitall).
func runJob(j workloads.Job, groupID int, tgt *jobTarget, rc runCtx) []JobResult {
	fail := func(err error) []JobResult { return []JobResult{failedResult(j, groupID, err)} }
	if tgt.replay != nil && tgt.replay.chunked != nil {
		defer tgt.replay.chunked.close()
	}
	s, err := openJob(&j, tgt)
	if errors.Is(err, errInterrupted) { // a signal during pre_read
		r := failedResult(j, groupID, nil)
		r.Interrupted = true
		return []JobResult{r}
	}
	if err != nil {
		return fail(err)
	}
	defer s.close()
	base := func() JobResult {
		r := fail(nil)[0]
		r.Ring, r.Clock, r.Engine = s.eng.RingInfo(), s.eng.ClockInfo(), s.eng.Stats()
		return r
	}
	switch err := s.prepare(); {
	case errors.Is(err, errInterrupted):
		r := base()
		r.Interrupted = true
		return []JobResult{r}
	case err != nil:
		return fail(err)
	case j.VerifyOnly:
		r := base()
		rc.lv.jobs.Add(1) // the progress line's running jobs
		errs := s.verifyOnly(&r, rc)
		rc.lv.jobs.Add(-1)
		r.Engine = s.eng.Stats()
		r.Err = errors.Join(errs...)
		return []JobResult{r}
	}
	workers, elapsed := s.runWorkers(rc, groupID)
	var errs []error
	intr := interrupted.Load()
	var ios uint64
	for _, w := range workers {
		ios += w.ios[0] + w.ios[1] + w.ios[2] + w.syncs
	}
	var note string
	switch {
	case firstErr(workers) != nil || intr:
	case ios == 0 && !rc.stopped() && ranOutFirst(workers):
		// fio 3.33 ends a job whose offsets run out before its first
		// I/O without an error (exit 0): so does iobench, saying why.
		note = noIONote
	case ios == 0 && !rc.stopped():
		errs = append(errs, nothingMeasured(&j))
	case j.Verify != "" && j.DoVerify && j.RW.Writes() && !runtimeEnded(workers):
		// Each clone reads back and checks what it wrote, as fio's
		// clones each verify their own writes. A job its runtime
		// stopped reads nothing back: fio's ends there.
		var parts []verifyPart
		for _, w := range workers {
			if w.written == nil {
				continue // a clone that never started wrote nothing
			}
			parts = append(parts, verifyPart{m: &w.measure, written: w.written, files: s.tgt.clones[w.idx], log: w.iolog, logs: w.verifyLog()})
		}
		// The progress line counts the clones reading back as running.
		rc.lv.jobs.Add(int32(len(parts)))
		_, _, err := s.verifyPass(parts, false)
		rc.lv.jobs.Add(-int32(len(parts)))
		switch {
		case errors.Is(err, errInterrupted):
			intr = true
		case err != nil:
			errs = append(errs, err)
		}
	}
	for _, w := range workers {
		// The logs finish kept open for the verify pass's reads.
		w.finishLogs()
		if w.iolog != nil && w.written != nil {
			if err := w.iolog.close(time.Now()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	stats := s.eng.Stats()
	ring := s.eng.RingInfo()
	files := make([]FileStats, len(s.files))
	for i, f := range s.files {
		files[i] = FileStats{Path: tgt.paths[i], Stats: f.Stats()}
	}
	ms := make([]*measure, len(workers))
	for i, w := range workers {
		ms[i] = &w.measure
	}
	out := results(&j, ms)
	for i := range out {
		r := &out[i]
		r.Job, r.GroupID, r.Mapper, r.Ring, r.Engine, r.Elapsed = j, groupID, j.Mapper, ring, stats, elapsed
		r.Clock = s.eng.ClockInfo()
		r.Files, r.Target = files, tgt.desc
		r.Interrupted = intr
		if j.RW.Trims() {
			r.TrimMethod = s.eng.TrimMethod(0).String()
		}
		r.Err = errors.Join(append([]error{r.Err}, errs...)...)
		r.Note = note
	}
	return out
}

// ioSizeBytes returns the bytes a job with io_size moves over a region
// of span bytes, and in how many passes, as fio 3.33 counts them: with
// one loop, io_size (the pass wraps over the region until it is
// reached); with loops, whole passes of the region (or of io_size, if
// less), as many as the loops, and more while io_size lies a largest
// block or more beyond them (size=256k loops=2 io_size=700k: three
// passes, 768 KiB; io_size=513k: two).
func ioSizeBytes(j *workloads.Job, span uint64) (total, passes uint64) {
	loops := uint64(max(j.Loops, 1))
	pass := min(span, j.IOSize)
	if loops == 1 || pass == 0 || j.RW == workloads.ReadWrite {
		// (rw=rw's passes end where a direction finds the region's
		// end, after more than its span: start and run follow them,
		// mixPasses.)
		return max(loops*pass, j.IOSize), loops
	}
	passes = loops
	for j.IOSize > passes*pass && j.IOSize-passes*pass >= j.MaxBS() {
		passes++
	}
	return passes * pass, passes
}

// noIONote is the notice of a job whose offsets ran out before its first
// I/O (ranOutFirst).
const noIONote = "the job issued no I/O: its offsets ran out before the first (with block sizes that differ by direction, " +
	"fio 3.33's random map and LFSR count in the smaller size, and a random offset can fall past the region and end the file); " +
	"fio 3.33 ends such a job so, with no error"

// ranOutFirst reports whether every clone's offsets ran out (IO.End)
// before it issued any I/O.
func ranOutFirst(workers []*worker) bool {
	for _, w := range workers {
		if !w.offsetsEnded || w.issuedIOs > 0 {
			return false
		}
	}
	return len(workers) > 0
}

// runtimeEnded reports whether a clone of the job ran to its runtime.
func runtimeEnded(workers []*worker) bool {
	return slices.ContainsFunc(workers, (*worker).runtimeUp)
}

// runtimeUp reports whether w's runtime is over (the reaps' clock may not
// have seen it yet: a verify_backlog check or a thinktime pause finds it
// too).
func (w *worker) runtimeUp() bool {
	return w.pastDeadline || !w.deadline.IsZero() && !time.Now().Before(w.deadline)
}

func firstErr(workers []*worker) error {
	for _, w := range workers {
		if w.err != nil {
			return w.err
		}
	}
	return nil
}

// verifyOnly is fio's verify_only: the workload does not run; what an
// earlier run of it wrote is read back and checked.
func (s *jobSetup) verifyOnly(res *JobResult, rc runCtx) []error {
	start := time.Now()
	var vl *verifyLog
	if s.job.Logs.Any() {
		// The job's logs get its reads, as a clone's get a verify's
		// (recordVerify), the job being its run's thread threadBase+1.
		l, err := newJobLogger(s.job, rc.threadBase+1, rc.logs, start)
		if err != nil {
			return []error{err}
		}
		epochClock, end := s.eng.Clock(), start
		vl = &verifyLog{l: l, end: &end, issuedAt: func(r *engine.Request) time.Time {
			return issueTime(s.job, start, epochClock, r)
		}}
		defer func() { l.tick(end, true) }()
	}
	err := res.verify(s, vl)
	res.Elapsed = time.Since(start)
	if err != nil {
		return []error{err}
	}
	return nil
}

// verify reads the job's region back and checks the blocks of it that
// carry a verify header, adding the bytes checked to res, those without
// one to res.Unwritten, and its reads to res's read statistics; an
// interrupt marks res instead of failing it. A region with no verify
// header at all is an error: nothing there was written with verify, and
// a pass that checked nothing would look like one that found nothing
// wrong.
func (res *JobResult) verify(s *jobSetup, logs *verifyLog) error {
	m := newMeasure()
	parts := make([]verifyPart, len(s.files))
	for i := range parts {
		parts[i] = verifyPart{m: m, file: i, logs: logs}
	}
	n, skipped, err := s.verifyPass(parts, !s.writesWholeRegion())
	res.Dir[workloads.DirRead] = collect([]*measure{m}, -1).Dir[workloads.DirRead]
	res.IOErrs += m.ioErrs
	if res.FirstErr == 0 {
		res.FirstErr = m.firstErr
	}
	res.Verified += n
	res.Unwritten += skipped
	switch {
	case errors.Is(err, errInterrupted):
		res.Interrupted = true
		return nil
	case err == nil && n == 0 && skipped > 0:
		return fmt.Errorf("verify_only: no block of the job's region (%s) carries a verify header: nothing has written it with verify=%s (run the job without verify_only first)",
			humanBytes(skipped), s.job.Verify)
	}
	var mm *workloads.Mismatch
	if base, _ := s.region(0); errors.As(err, &mm) && mm.What == "magic" && mm.Offset == base {
		return fmt.Errorf("%w (the first block read carries no verify header: has the job run without verify_only on this target?)", err)
	}
	return err
}

// writesWholeRegion reports whether the job, run without verify_only,
// writes every block of its region: one pass of plain sequential writes,
// or of random writes with a random map, on every file, with nothing
// (number_ios, io_size, a runtime, clones' slices or offsets, zones, a
// replayed log) to stop it short or leave gaps. Its verify_only then
// checks every block of the region, as fio's would check every block its
// writes covered: one with no verify header was lost or overwritten.
func (s *jobSetup) writesWholeRegion() bool {
	j := s.job
	switch {
	case j.RW != workloads.Write && j.RW != workloads.RandWrite,
		j.RW == workloads.RandWrite && (!historyOrdered(j) || j.PercentageRandom[1] < 100 || j.BlockAlign > j.MinBS() || j.PassMayEndShort()),
		j.FileAppend,
		j.RWMod > 0 || j.RWBack || j.NumberIOs > 0 || j.TimeBased || j.Runtime > 0 || j.NumJobs > 1,
		j.ZoneMode != "" && j.ZoneMode != "none" || j.ZoneSize > 0 || j.ZoneSkip > 0 || j.ZoneRange > 0,
		s.tgt.replay != nil:
		return false
	}
	for i := range s.files {
		_, span := s.region(i)
		if span == 0 || span%j.MaxBS() != 0 || j.IOSize > 0 && j.IOSize < span {
			return false
		}
	}
	return true
}

// ringFactory is the engine's ring for j: io_uring (uringRing), or with
// ioengine=null nullRing.
func ringFactory(j *workloads.Job) engine.RingFactory {
	if j.NullIO() {
		return nullRing
	}
	return uringRing
}

// uringRing is the ring of the jobs that do device I/O: nil, the
// engine's io_uring. Tests put a slower device's in its place.
var uringRing engine.RingFactory

// nullRing is the ring of ioengine=null jobs: engine.NewNullRing (no
// device I/O, no system call). Tests that count io_uring_enter calls
// exactly put engine.NewNopRing in its place.
var nullRing engine.RingFactory = engine.NewNullRing

// jobSetup is what a job runs on: its devices (one per file of the
// target, in the target's order), the engine over them, and its files.
type jobSetup struct {
	job    *workloads.Job
	tgt    *jobTarget
	devs   []*device.Device
	mapper engine.Mapper
	eng    *engine.Engine
	files  []*engine.File // the engine's file over each device
	sizes  []uint64       // bytes of each file
}

// pathOf returns the path of the target file f is over.
// clonePaths returns the paths of a clone's files, in its file order.
func (s *jobSetup) clonePaths(files []*engine.File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = s.pathOf(f)
	}
	return out
}

func (s *jobSetup) pathOf(f *engine.File) string {
	for i, g := range s.files {
		if g == f {
			return s.tgt.paths[i]
		}
	}
	return "?"
}

// openJob opens the devices (read-only unless the job writes), the engine
// over them with the job's ring options, and the job's files, and checks
// that the job's block sizes suit the devices. A job on one file gets the
// mapper it asks for; a job on several gets each file mapped linearly
// onto its own device (linearFiles).
func openJob(j *workloads.Job, tgt *jobTarget) (*jobSetup, error) {
	s := &jobSetup{job: j, tgt: tgt}
	for k, p := range tgt.paths {
		var extent uint64
		if tgt.createsOnOpen(k) {
			// create_on_open: the job's open makes the file, empty (or
			// leaves it short), as fio's does; its writes extend it.
			// Its checks wait for it (Execute skips them).
			if err := createOnOpen(p); err != nil {
				s.close()
				return nil, fmt.Errorf("create_on_open: %w", err)
			}
			if err := tgt.preflight(j, k); err != nil {
				s.close()
				return nil, err
			}
			extent = tgt.plans[k].Need
		}
		switch {
		case j.PreRead:
			if err := preRead(p, tgt.plans[k]); err != nil {
				s.close()
				return nil, fmt.Errorf("pre_read: %w", err)
			}
		case j.Invalidate:
			if err := dropCache(p); err != nil {
				s.close()
				return nil, fmt.Errorf("invalidate: %w", err)
			}
		}
		// direct=0 goes through the page cache, still through io_uring,
		// as fio's buffered I/O does. Jobs that write one device at once
		// share the run's hold on it (the first one's checks stand for
		// all of them), as fio runs them.
		dev, err := device.Open(p, device.Options{ReadOnly: !writes(j), Force: j.Force, NoDirect: !j.Direct,
			Sync: j.SyncMode == "sync", DSync: j.SyncMode == "dsync", ShareHold: true, Extent: extent})
		if err != nil {
			s.close()
			return nil, err
		}
		if j.WriteHint != "" {
			if err := setWriteHint(dev.Fd(), j.WriteHint); err != nil {
				dev.Close()
				s.close()
				return nil, fmt.Errorf("write_hint=%s on %s: %w", j.WriteHint, p, err)
			}
		}
		s.devs = append(s.devs, dev)
	}
	var names []string
	var err error
	if len(s.devs) == 1 {
		var file string
		var size uint64
		s.mapper, file, size, err = newMapper(j, s.devs[0])
		if err != nil {
			s.close()
			return nil, err
		}
		names, s.sizes = []string{file}, []uint64{size}
	} else {
		s.mapper = newLinearFiles(len(s.devs))
		for i := range s.devs {
			names = append(names, fileName(i))
			s.sizes = append(s.sizes, 0) // the device's, set by OpenFile
		}
	}
	arena := jobArena(j)
	fixed, files := registered(j, arena)
	if unlinksEachLoop(j) {
		files = false // the rings would keep the files it removes (nextLoop)
	}
	clock := engine.ClockAuto
	if j.ClockSource != "" {
		if clock, err = engine.ParseClockSource(j.ClockSource); err != nil {
			s.close()
			return nil, err
		}
	}
	s.eng, err = engine.New(engine.Config{
		Devices: s.devs, Mapper: s.mapper, Queues: 1,
		QueueDepth: max(j.IODepth, 8) * ringSplitFactor(j), NoCache: !j.Cache, FixedBuffers: fixed,
		NewRing: ringFactory(j), NoDeviceIO: j.NullIO(),
		RegisterFiles: files, SQPoll: j.SQPoll, SQPollCPU: j.SQPollCPU + 1, IOPoll: j.HiPri, ArenaBytes: arena,
		EagerSubmit: eagerSubmit(j), NoFollow: !j.Follow, SplitSubmit: j.SplitSubmit,
		SpinWait: j.SpinWait, NoSubmitLatency: j.SyncEngine(), Clock: clock, ReadGap: j.ReadGap, ReadGapAuto: j.ReadGapAuto && j.ReadGap > 0,
	})
	if err != nil {
		s.close()
		return nil, err
	}
	for i, name := range names {
		f, err := s.eng.Open(name, engine.FileOptions{Size: s.sizes[i], BlockSize: fileBlockSize(s.mapper)})
		if err != nil {
			s.close()
			return nil, err
		}
		s.files = append(s.files, f)
		if s.sizes[i] == 0 && len(names) > 1 {
			// The device's bytes, as one file's are (newMapper), not
			// the mapper's whole blocks: the generator rounds its
			// region to the job's block, and zipf, pareto and normal
			// count their ranges over the region before rounding
			// (nrfiles=3 over size=1m: 86 ranges of 4k a file, as
			// fio's).
			s.sizes[i] = max(f.Size(), s.devs[i].Geometry().SizeBytes)
		}
	}
	if off, _ := s.eng.Alignment(); uint64(off) > j.MinBS() {
		s.close()
		return nil, fmt.Errorf("bs=%d is smaller than the device's %d-byte logical block", j.MinBS(), off)
	}
	if j.RW.Trims() && !j.VerifyOnly {
		if err := s.eng.CheckTrim(); err != nil {
			s.close()
			return nil, fmt.Errorf("rw=%s: %w", j.RW, err)
		}
	}
	if j.Dist.Kind == "sequence" && j.RW.Random() {
		// fio counts the sequence over all of a job's I/O, whatever file
		// each goes to; iobench's files each keep their own count.
		if len(names) > 1 {
			s.close()
			return nil, fmt.Errorf("random_distribution=%s over %d files: %w: a sequence over several files (fio counts it over the job's I/O to them all)",
				j.Dist, len(names), workloads.ErrRefused)
		}
		for i := range names {
			if err := workloads.NewGenerator(s.fileJob(i), 0, s.sizes[i]).CheckSequence(); err != nil {
				s.close()
				return nil, err
			}
		}
	}
	if j.Dist.Kind == "zoned_abs" && j.RW.Random() {
		// zones past a file's region: fio ends the job without I/O
		// once it draws one; iobench refuses the job.
		for i := range names {
			if err := workloads.NewGenerator(s.fileJob(i), 0, s.sizes[i]).CheckSequence(); err != nil {
				s.close()
				return nil, err
			}
		}
	}
	return s, nil
}

// createOnOpen creates the regular file at path (and its directory)
// unless it exists, leaving what it holds.
func createOnOpen(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// dropCache drops the page cache of path (a file or a block device),
// as fio's invalidate does before a job.
func dropCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// close closes the engine, then the devices.
func (s *jobSetup) close() {
	if s.eng != nil {
		s.eng.Close()
	}
	if sd, ok := s.mapper.(shutdowner); ok {
		_ = sd.Shutdown()
	}
	if s.mapper != nil {
		closeMapper(s.mapper)
	}
	for _, d := range s.devs {
		d.Close()
	}
}

// region returns the job's region of file i: where it starts and its
// length.
func (s *jobSetup) region(i int) (base, span uint64) {
	gen := workloads.NewGenerator(s.fileJob(i), 0, s.sizes[i])
	return gen.Base(), gen.Span()
}

// fileJob returns the job as it runs on file i of the target: its size
// is what the job covers of that file per pass, and files after the
// first draw their random offsets from sequences of their own.
func (s *jobSetup) fileJob(i int) *workloads.Job {
	c := s.job.Clone()
	c.Size = s.tgt.plans[i].IO
	c.RandSeed += uint64(i) * 0x9e3779b97f4a7c15
	if s.tgt.appends(i) {
		// file_append: the region is what the clones append, together.
		c.Offset, c.OffsetPct, c.OffsetIncrement, c.OffsetIncrementPct = s.tgt.appendAt[i], 0, 0, 0
		c.Size *= uint64(s.tgt.sharers[i])
	}
	return &c
}

// cloneJob returns the job as clone c runs on file i: fileJob, with a
// file_append clone's own part of what the clones append.
func (s *jobSetup) cloneJob(i, c int) *workloads.Job {
	j := s.fileJob(i)
	j.FilePath = s.tgt.paths[i] // fio seeds zipf, pareto and normal from the file's name
	if s.tgt.appends(i) {
		j.Size = s.tgt.plans[i].IO
		j.Offset += uint64(s.tgt.appendRank(c, i)) * j.Size
	} else if j.FileSize[1] > 0 {
		// filesize: the clone covers the file from its start to the
		// end filesize gives it (fileJob's size is the first clone's).
		end := s.tgt.plans[i].Need
		j.Size = end - min(j.Offset+uint64(c)*j.OffsetIncrement, end)
	}
	return j
}

// prepare does what comes before the measured run: warming the cache
// (warm=1). A job with verify lays nothing down first, as fio's: its
// verify pass reads back what it wrote.
func (s *jobSetup) prepare() error {
	j := s.job
	if j.Warm && j.Cache {
		w, ok := s.mapper.(interface{ Warm(*engine.File) error })
		if !ok {
			return fmt.Errorf("warm: mapper=%s cannot fill the cache ahead (only scattered can)", j.Mapper)
		}
		if err := w.Warm(s.files[0]); err != nil {
			return fmt.Errorf("warm: %w", err)
		}
	}
	return nil
}

// runWorkers runs the job's clones to the end and returns them with the
// time they took.
func (s *jobSetup) runWorkers(rc runCtx, groupID int) ([]*worker, time.Duration) {
	j := s.job
	stopped := func() bool {
		return interrupted.Load() || rc.stop != nil && rc.stop.Load() || rc.abort != nil && rc.abort.Load()
	}
	delays := cloneDelays(j)
	start := time.Now()
	workers := make([]*worker, j.NumJobs)
	var wg sync.WaitGroup
	// The clones start their I/O together, once each has set up its
	// queue and buffers, as fio's threads wait for each other; clones
	// with start delays of their own start when those end.
	var ready *sync.WaitGroup
	if j.NumJobs > 1 && !slices.ContainsFunc(delays, func(d time.Duration) bool { return d > 0 }) {
		ready = new(sync.WaitGroup)
		ready.Add(j.NumJobs)
	}
	lv := rc.lv
	lv.jobs.Add(int32(j.NumJobs))
	for i := range workers {
		w := &worker{eng: s.eng, setup: s, job: j, idx: i, lv: lv, stop: rc.stop,
			status: rc.status, jobIdx: rc.jobIdx, groupID: groupID, logs: rc.logs, thread: rc.threadBase + i + 1,
			abort: rc.abort, ss: rc.ss, ramp: rc.ramp, ready: ready}
		w.setEpoch()
		if j.RampSize > 0 && w.ramp == nil {
			w.ramp = &rampCount{size: j.RampSize}
		}
		if j.SS.Dur > 0 && w.ss == nil {
			w.ss, w.ownSS = newSteady(j.SS), true
		}
		if rc.flow != nil {
			w.flow = &flowMember{f: rc.flow, weight: flowWeight(j.Flow)}
		}
		workers[i] = w
		delay := delays[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer lv.jobs.Add(-1)
			if delay > 0 {
				wait(time.Now().Add(delay), 0, stopped)
				w.setEpoch()
			}
			w.run()
			if w.flow != nil {
				w.flow.leave()
			}
		}()
	}
	wg.Wait()
	for _, w := range workers {
		if w.ownSS {
			res := w.ss.close()
			w.ssRes = &res
		}
	}
	return workers, time.Since(start)
}

// cloneDelays returns how long each clone of j waits after the job's
// startdelay: with a range (startdelay=lo-hi) a random time up to hi-lo
// for each, drawn from the job's seed as its offsets are; otherwise none.
func cloneDelays(j *workloads.Job) []time.Duration {
	delays := make([]time.Duration, j.NumJobs)
	if j.StartDelayMax > j.StartDelay {
		rng := rand.New(rand.NewPCG(j.RandSeed, 0x5eed_de1a7))
		for i := range delays {
			delays[i] = time.Duration(rng.Int64N(int64(j.StartDelayMax-j.StartDelay) + 1))
		}
	}
	return delays
}

// results makes the reports of a job's clones from what they measured:
// one per clone, or one for all with group_reporting or a single clone.
func results(j *workloads.Job, ms []*measure) []JobResult {
	if j.GroupReporting || len(ms) == 1 {
		r := collect(ms, -1)
		r.ms = ms
		return []JobResult{r}
	}
	var out []JobResult
	for i := range ms {
		r := collect(ms[i:i+1], i)
		r.ms = ms[i : i+1]
		out = append(out, r)
	}
	return out
}

// collect adds up what workers measured into one result (clone is its
// Clone field) with the first of their errors.
func collect(workers []*measure, clone int) JobResult {
	res := JobResult{Clone: clone, SyncLat: newHist()}
	for d := range workloads.NumDirs {
		res.Dir[d].Slat, res.Dir[d].Clat, res.Dir[d].Lat = newLat(), newLat(), newLat()
	}
	var errs []error
	var usr, sys, run time.Duration
	for _, w := range workers {
		for d := range workloads.NumDirs {
			r := &res.Dir[d]
			r.IOs += w.ios[d]
			r.Bytes += w.bytes[d]
			r.Errors += w.errs[d]
			r.Slat.Merge(w.slat[d].hdr())
			r.Clat.Merge(w.clat[d].hdr())
			r.Lat.Merge(w.lat[d].hdr())
			r.Prios = mergePrios(r.Prios, w.prios[d])
			run := w.measured - min(w.verifyInRun, w.measured)
			if w.ios[d] == 0 {
				run = 0 // as fio: no runtime for a direction without I/O
			}
			if only := w.ios[d] > 0 && w.ios[d] == w.verifyReadIOs; d == workloads.DirRead && (w.verifyTime > 0 || only) {
				// The verify passes' reads (and the read-back of what
				// verify_backlog held at their start): their time, after
				// the workload's if that read too. Reads that are all a
				// verify's have that time alone, as fio's: the
				// read-backs among a job's writes count in the writes'
				// time (fio's read runtime is its verify phase's).
				if only {
					run = 0
				}
				run += w.verifyTime
			}
			r.Runtime = max(r.Runtime, run)
			r.BWSamples = addSamples(r.BWSamples, w.bwSamples[d])
			r.IOPSSamples = addSamples(r.IOPSSamples, w.iopsSamples[d])
			r.BWPerIO.sum(w.bwIO[d])
			r.IOPSPerIO.sum(w.iopsIO[d])
		}
		if w.latencyDepth > 0 {
			res.LatencyDepth = w.latencyDepth // as fio: the last clone's
		}
		res.Syncs += w.syncs
		res.RangeSyncs += w.rangeSyncs
		res.SyncLat.Merge(w.syncLat)
		for i := range 7 {
			res.DepthDist[i] += w.depthDist[i]
			res.SubmitDist[i] += w.submitDist[i]
			res.CompleteDist[i] += w.completeDist[i]
		}
		res.Verified += w.verified
		if res.Pid == 0 {
			res.Pid = w.tid // a group's: its first clone's, as fio's
		}
		if res.SS == nil {
			res.SS = w.ssRes
		}
		res.IOErrs += w.ioErrs
		if res.FirstErr == 0 {
			res.FirstErr = w.firstErr
		}
		res.Pinned = unionCPUs(res.Pinned, w.pinned)
		u := &w.usage
		usr += u.usr
		sys += u.sys
		run += u.wall
		res.Ctx += u.ctx
		res.VolCtx += u.volCtx
		res.Majf += u.majf
		res.Minf += u.minf
		if w.err != nil {
			errs = append(errs, w.err)
		}
	}
	res.CPUTime, res.RunTime = usr+sys, run
	if run > 0 {
		res.UsrCPU = 100 * usr.Seconds() / run.Seconds()
		res.SysCPU = 100 * sys.Seconds() / run.Seconds()
	}
	res.Err = errors.Join(errs...)
	return res
}

func unionCPUs(a, b []int) []int {
	for _, c := range b {
		if !slices.Contains(a, c) {
			a = append(a, c)
		}
	}
	slices.Sort(a)
	return a
}

// perIOBW reports whether j's bandwidth statistics take a sample per
// I/O: it logs bandwidth per I/O (write_bw_log without log_avg_msec), as
// fio then samples it (its periodic samples are left out).
func perIOBW(j *workloads.Job) bool { return j.Logs.BW != "" && j.Logs.Avg == 0 && !j.DisableBW }

// perIOIOPS is perIOBW for IOPS (write_iops_log).
func perIOIOPS(j *workloads.Job) bool { return j.Logs.IOPS != "" && j.Logs.Avg == 0 }

// rateStat is a rate's samples taken per I/O, kept as fio keeps them:
// count, least, greatest, mean and sum of squared deviations (Welford),
// so that a long run keeps no sample.
type rateStat struct {
	n             uint64
	lo, hi, mean  float64
	sumSquaredDev float64
}

func (s *rateStat) add(v float64) {
	s.n++
	if s.n == 1 {
		s.lo, s.hi = v, v
	}
	s.lo, s.hi = min(s.lo, v), max(s.hi, v)
	delta := v - s.mean
	s.mean += delta / float64(s.n)
	s.sumSquaredDev += delta * (v - s.mean)
}

// sum adds o to s as fio adds up the rates of a group's jobs
// (group_reporting) and of directions (unified_rw_reporting): least,
// greatest, mean, squared deviations and count each summed.
func (s *rateStat) sum(o rateStat) {
	s.n += o.n
	s.lo += o.lo
	s.hi += o.hi
	s.mean += o.mean
	s.sumSquaredDev += o.sumSquaredDev
}

// merge adds o, the samples of a later stretch of the same rate, to s:
// the statistics of the samples of both (the status reports' sums of
// their periods).
func (s *rateStat) merge(o rateStat) {
	switch {
	case o.n == 0:
		return
	case s.n == 0:
		*s = o
		return
	}
	n := s.n + o.n
	delta := o.mean - s.mean
	s.mean += delta * float64(o.n) / float64(n)
	s.sumSquaredDev += o.sumSquaredDev + delta*delta*float64(s.n)*float64(o.n)/float64(n)
	s.lo, s.hi, s.n = min(s.lo, o.lo), max(s.hi, o.hi), n
}

// stats returns what sampleStats returns of the samples, and their count.
func (s rateStat) stats() (lo, hi, mean, dev float64, n int) {
	if s.n > 1 {
		dev = math.Sqrt(s.sumSquaredDev / float64(s.n-1))
	}
	return s.lo, s.hi, s.mean, dev, int(s.n)
}

// bwStats is sampleStats of the direction's bandwidth samples, per I/O or
// per period, and their count.
func (dr *DirResult) bwStats() (lo, hi, mean, dev float64, n int) {
	if dr.BWPerIO.n > 0 {
		return dr.BWPerIO.stats()
	}
	lo, hi, mean, dev = sampleStats(dr.BWSamples)
	return lo, hi, mean, dev, len(dr.BWSamples)
}

// iopsStats is bwStats for IOPS.
func (dr *DirResult) iopsStats() (lo, hi, mean, dev float64, n int) {
	if dr.IOPSPerIO.n > 0 {
		return dr.IOPSPerIO.stats()
	}
	lo, hi, mean, dev = sampleStats(dr.IOPSSamples)
	return lo, hi, mean, dev, len(dr.IOPSSamples)
}

// addSamples adds the samples b to a, period by period: the clones'
// rates in the same period add up to the job's.
func addSamples(a, b []float64) []float64 {
	for i, v := range b {
		if i < len(a) {
			a[i] += v
		} else {
			a = append(a, v)
		}
	}
	return a
}

// threadUsage is what one OS thread used, from getrusage(RUSAGE_THREAD).
type threadUsage struct {
	usr, sys, wall time.Duration
	ctx, volCtx    uint64
	majf, minf     uint64
	start          unix.Rusage
	startTime      time.Time
}

// begin records the calling thread's usage so far.
func (u *threadUsage) begin() {
	_ = unix.Getrusage(unix.RUSAGE_THREAD, &u.start)
	u.startTime = time.Now()
}

// end sets u to the calling thread's usage since begin.
func (u *threadUsage) end() {
	var r unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_THREAD, &r)
	u.wall = time.Since(u.startTime)
	u.usr = time.Duration(r.Utime.Nano() - u.start.Utime.Nano())
	u.sys = time.Duration(r.Stime.Nano() - u.start.Stime.Nano())
	vol := uint64(r.Nvcsw - u.start.Nvcsw)
	u.volCtx, u.ctx = vol, vol+uint64(r.Nivcsw-u.start.Nivcsw)
	u.majf, u.minf = uint64(r.Majflt-u.start.Majflt), uint64(r.Minflt-u.start.Minflt)
}

func pow2(n int) int {
	p := 4096
	for p < n {
		p <<= 1
	}
	return p
}

// measure is what a worker measured over its run, or over one status
// interval.
type measure struct {
	ios, bytes, errs       [workloads.NumDirs]uint64 // read, write, trim
	slat, clat, lat        [workloads.NumDirs]*latHist
	prios                  [workloads.NumDirs][]PrioLat // DirResult.Prios
	bwSamples, iopsSamples [workloads.NumDirs][]float64
	// bwIO and iopsIO take a sample per I/O in place of bwSamples and
	// iopsSamples where the job logs that rate per I/O (perIOBW,
	// perIOIOPS).
	bwIO, iopsIO [workloads.NumDirs]rateStat
	usage        threadUsage
	// tid is the thread the clone ran on (its queue locks it there):
	// the job's pid in the report, as fio gives each job thread's.
	tid      int
	measured time.Duration
	verified uint64
	// verifyTime is the time of the verify passes (and of the read-back
	// of what verify_backlog held at their start), which fio counts as
	// the reads' runtime.
	verifyTime time.Duration
	// verifyReadIOs and verifyReadBytes are the reads of a verify among
	// ios and bytes (verify_backlog's read-back, the verify passes), which
	// the bandwidth and IOPS samples leave out, as fio's rates count its
	// workload's I/O, not its verify list's.
	verifyReadIOs, verifyReadBytes uint64
	// verifyInRun is the part of verifyTime within measured: the verify
	// passes a clone ran between its passes (loops, io_size), which fio
	// counts in the reads' runtime, not in the writes'.
	verifyInRun time.Duration
	// ioErrs counts the failed I/Os continue_on_error went on after;
	// firstErr is the first one's error.
	ioErrs   uint64
	firstErr unix.Errno
	// ssRes is what the clone's own steady-state detection found (nil:
	// none, or its reporting group's, set on the group's result).
	ssRes  *SteadyResult
	pinned []int // the CPUs the thread was pinned to, read back
	err    error // the first error
	clone  int   // the clone's index
	// Submissions by queue depth (fio's iodepth_level), and requests
	// handed to the kernel and reaped per call (iodepth_submit,
	// iodepth_complete).
	depthDist, submitDist, completeDist [7]uint64
	// opts is record's view of the job it records for.
	opts recordOpts
	// latencyDepth is the depth latency_target settled on (0: no target).
	latencyDepth int
	// Flushes after every fsync/fdatasync writes and sync_file_range
	// calls (rangeSyncs of them), and their latency.
	syncs, rangeSyncs uint64
	syncLat           *hdrhistogram.Histogram
}

func newMeasure() *measure {
	m := &measure{syncLat: newHist()}
	for d := range workloads.NumDirs {
		m.slat[d], m.clat[d], m.lat[d] = newLatHist(), newLatHist(), newLatHist()
	}
	return m
}

// slatMeasured reports whether r's submission latency was read: its I/O
// went to the kernel (on a clock of µs steps its slat may read 0).
func slatMeasured(r *engine.Request) bool { return r.Issued() || r.SubmitLatency != 0 }

// recordOpts is what measure.record asks of its job at each I/O, worked
// out once per job: the job's methods behind it compare strings and look
// up a map (SyncEngine, the log options, Prio.Drawn), about 45 of the
// null engine's instructions per I/O at depth 1 when asked each time.
type recordOpts struct {
	j               *workloads.Job // the job they are of (nil: none yet)
	slat, clat, lat bool           // the latencies recorded
	bwIO, iopsIO    bool           // perIOBW, perIOIOPS
	prio            [workloads.NumDirs]bool
}

func newRecordOpts(j *workloads.Job) recordOpts {
	o := recordOpts{
		j:    j,
		slat: !j.DisableSlat && !j.SyncEngine(), clat: !j.DisableClat, lat: !j.DisableLat,
		bwIO: perIOBW(j), iopsIO: perIOIOPS(j),
	}
	for d := range o.prio {
		o.prio[d] = j.Prio.Drawn(d)
	}
	return o
}

// record accounts for one completed request in direction d of job j,
// whose options do not change while it runs.
func (m *measure) record(j *workloads.Job, r *engine.Request, d int) {
	if m.opts.j != j {
		m.opts = newRecordOpts(j)
	}
	o := &m.opts
	m.ios[d]++
	m.bytes[d] += uint64(r.N)
	// (A clock of µs steps reads 0 often, and a CPU's counter may read a
	// little behind another's: a negative time counts as 0.)
	if o.slat && slatMeasured(r) {
		m.slat[d].record(max(int64(r.SubmitLatency), 0))
	}
	if o.clat {
		m.clat[d].record(max(int64(r.Latency-r.SubmitLatency), 0))
	}
	if o.lat {
		m.lat[d].record(max(int64(r.Latency), 0))
	}
	if o.bwIO {
		// As the bandwidth log's entry (jobLogger.record).
		var rate uint64
		if clat := uint64(r.Latency - r.SubmitLatency); clat > 0 {
			rate = uint64(r.N) * 1000000 / clat
		}
		m.bwIO[d].add(float64(rate))
	}
	if o.iopsIO {
		m.iopsIO[d].add(1)
	}
	if o.prio[d] {
		m.recordPrio(j, r, d)
	}
}

// recordPrio accounts for r's latency by its priority (DirResult.Prios).
func (m *measure) recordPrio(j *workloads.Job, r *engine.Request, d int) {
	lat := r.Latency - r.SubmitLatency
	if j.LatPercentiles {
		lat = r.Latency
	} else if j.DisableClat {
		return
	}
	if m.prios[d] == nil {
		vals := j.Prio.Values(d, j.DirSizes(d))
		m.prios[d] = []PrioLat{}
		if len(vals) > 1 {
			for _, v := range vals {
				m.prios[d] = append(m.prios[d], PrioLat{v, newHist()})
			}
		}
	}
	for i := range m.prios[d] {
		if m.prios[d][i].Prio == r.Prio {
			_ = m.prios[d][i].Lat.RecordValue(max(int64(lat), 1))
			return
		}
	}
}

// worker is one clone of a job: it keeps up to iodepth requests in flight
// on its own engine queue until the job's runtime or region is used up,
// an error stops it, or the user interrupts the run.
type worker struct {
	// epoch is when the worker was made: clock reads in the I/O loop are
	// epoch plus the monotonic time since, or since epochClock on the
	// engine's clock (reapSince). With one clock read instead of the two
	// of time.Now, the wall clock they carry is the epoch's advanced by
	// the monotonic time since, which is all the loop compares or logs.
	epoch      time.Time
	epochClock time.Duration
	eng        *engine.Engine
	setup      *jobSetup
	files      []*engine.File // the clone's files, in file order
	job        *workloads.Job
	idx        int
	// ready is the job's start line (runWorkers), nil when its clones
	// start on their own; arrived is set once this clone has reached it.
	ready   *sync.WaitGroup
	arrived bool
	// written is the clone's writes the verify pass reads back (fio's
	// verify reads what was written, not the whole region), as fio keeps
	// them (writeHistory). nil without a verify pass.
	written *writeHistory
	lv      *live
	// lvIOs and lvBytes are what complete counted since the last
	// publishLive: the live counters take them before a reap at most
	// every liveEvery (lvNext, since epoch), not with two atomic adds
	// per I/O.
	lvIOs, lvBytes [workloads.NumDirs]uint64
	lvNext         time.Duration
	// batch holds the requests admitted since the last submitBatch.
	batch []*engine.Request
	// prioRand draws which I/Os go out with cmdprio (nil until needed).
	prioRand *rand.Rand
	// iolog records the issued I/O (write_iolog; nil: not asked for).
	iolog *ioLog
	// replayPos is the next entry of the log the job replays
	// (read_iolog), replayDue when the last one drawn is due.
	replayPos int
	replayDue time.Time
	// asyncCount counts the reads and writes issued, for force_async.
	asyncCount int
	// flow is the clone's part in its job's flow (nil: none).
	flow *flowMember
	// restoreNice puts the thread's nice value back (nil: nice not set).
	restoreNice func()
	// ss is the steady-state detection the worker counts for (nil:
	// none); ownSS: the worker's alone, not its reporting group's.
	ss    *steady
	ownSS bool
	stop  *atomic.Bool // set: stop issuing (exitall); may be nil

	// What the worker measured, read by collect once it has finished.
	measure

	// status, when set, receives what the worker measured in each
	// --status-interval period (iv, reset after each).
	status  *statusBoard
	iv      *measure
	ivIdx   int
	ivNext  time.Time
	id      int // the worker's index on the status board
	jobIdx  int
	groupID int

	// Logs (write_*_log), nil when the job writes none.
	logs   *logSet
	thread int // the thread's number in the run, from 1
	logger *jobLogger
	// logEnd is when the logs' last window ends: the clone's end, or the
	// last reap of the verify pass after it (finishLogs).
	logEnd time.Time
	now    time.Time // the clock at the last reap
	// nowSince is now as the time since epoch, which the loop compares
	// as an integer (a time.Time comparison is a call).
	nowSince time.Duration
	// countedSince is the time, since epoch, of the last reap whose
	// completions the clone has counted: the I/O the next sample counts
	// completed by then (sample).
	countedSince time.Duration

	// Sampling: the counts at the last bandwidth and IOPS samples.
	bwNext, iopsNext   time.Time
	bwLast, iopsLast   time.Time
	bwBytes, iopsCount [workloads.NumDirs]uint64
	// affinity is the thread's CPU set before pinning (cpus_allowed),
	// restored before the thread goes back to Go's scheduler.
	affinity *unix.CPUSet

	// loopEnd, for unlink_each_loop, is where the current loop's bytes
	// end while a loop follows it (0: none follows); atLoopEnd says the
	// worker stopped issuing there, to lay the next loop's files.
	loopEnd   uint64
	atLoopEnd bool
	// verifyEach, for a verifying job of several passes (loops, or an
	// io_size above the region), has the clone read back and check what
	// each pass wrote before the next, as fio does: passes of passLen
	// bytes each, passes done so far (see morePasses).
	verifyEach bool
	passLen    uint64
	passes     int
	passReads  int  // the verify reads of the passes read back so far (number_ios counts them)
	mixPasses  bool // rw=rw: the generator ends each pass (IO.PassEnd), not passLen
	passEnded  bool // verifyEach: the generator ended the pass (IO.PassEnd) short of passLen

	// The loop's state, set up by start.
	q            *engine.Queue
	gen          *workloads.FileGen
	ver          *workloads.Verifier // nil: no verify
	reqs         []engine.Request
	rampEnd      time.Time
	deadline     time.Time             // zero: no runtime limit
	passBytes    uint64                // one pass over the region
	offsetsEnded bool                  // the generator's offsets ran out (IO.End)
	issued       uint64                // bytes issued so far
	issuedIOs    int                   // I/Os issued so far (number_ios)
	writeGen     uint64                // writes issued: the verify generation, the scramble sequence
	inflight     map[fileOffset]uint64 // verify: the writes in flight, their lengths
	stopping     bool                  // an error limit or a mismatch stops issuing
	pastDeadline bool
	measuring    bool // past the ramp (ramp_time, ramp_size)
	measureStart time.Time
	// ramp counts the bytes done in ramp_size's ramp (nil without it).
	ramp *rampCount
	// writesSinceSync counts writes issued since the last flush
	// (fsync=, fdatasync=).
	writesSinceSync int
	// sfr is sync_file_range's state; nil without it.
	sfr *rangeSyncs
	// Pacing (rate, rate_iops, thinktime): requests filled and waiting
	// for their time; rate_min's last check.
	pacer        *pacer
	sleep        sleeper // the pauses' sleeps on the job's thread
	parked       []parked
	rateMinNext  time.Time
	rateMinBytes [workloads.NumDirs]uint64
	rateMinIOs   [workloads.NumDirs]uint64
	abort        *atomic.Bool // set: stop (exitall_on_error of any job)
	// verify_backlog: writes completed since the last check, and whether
	// a check is due (new I/O waits for the queue to quiesce).
	backlog     []fileIO
	backlogDue  bool
	backlogReqs []*engine.Request // the requests it reads with (backlogPool)
	// backlogCredit: what is left of the last check's batch
	// (verify_backlog_batch larger than the backlog), read back from
	// the writes that follow, each as it completes.
	backlogCredit int
	fill          *bufferFiller // write buffer contents; nil when verifying
	// latency_target: the depth search, and the requests held back
	// while the queue is at the depth it allows.
	lat  *latTarget
	idle []*engine.Request
	// ovl is serialize_overlap's bookkeeping (nil without it).
	ovl *overlapState
	// draining is set while a queue that was full drains to iodepth_low;
	// with iodepth_batch_submit, queued counts I/O queued since the last
	// batch (fio's io_u_queued; countQueued) and unflushed I/O queued
	// since the kernel last saw the queue.
	draining          bool
	queued, unflushed int
	// ahead holds the generator's next I/Os, drawn aheadIOs early so
	// that the prefetcher can bring their cache lookups' memory in
	// (nil while verifying: a verifying job draws again on overlaps).
	ahead   []lookahead
	aheadAt int
	pf      *mapcache.Prefetcher
	// prioDefault is the job's priority; prioDrawn is set when cmdprio
	// options draw some I/Os' priorities (pickPrio).
	prioDefault uint16
	prioDrawn   bool
	// nullSync is the job's NullSync (a string compare, asked twice per
	// I/O).
	nullSync bool
	// plain is set while the I/O loop is loopPlain (plainJob).
	plain bool
}

// aheadIOs is how many I/Os ahead of their issue a job draws them and
// announces their offsets to a mapcache.Prefetcher. With a warm cache of
// a million extents (4 KiB random reads at depth 32 from a loop device
// over tmpfs) it took the lookups' share of the job thread from about a
// tenth to a twentieth.
const aheadIOs = 16

type lookahead struct {
	fi int
	io workloads.IO
}

// next returns the next I/O of the workload, drawn aheadIOs calls ago.
func (w *worker) next() (int, workloads.IO) {
	if w.ahead == nil {
		return w.gen.Next()
	}
	a := &w.ahead[w.aheadAt]
	fi, io := a.fi, a.io
	w.draw(a)
	if w.aheadAt++; w.aheadAt == len(w.ahead) {
		w.aheadAt = 0
	}
	return fi, io
}

// draw takes the generator's next I/O into a, in place (returning the
// struct and copying it into the ring cost about 40 instructions per
// I/O), and announces it to the prefetcher.
func (w *worker) draw(a *lookahead) {
	a.fi, a.io = w.gen.Next()
	w.pf.Ahead(w.files[a.fi].Cache(), a.io.Offset)
}

// stopped reports whether another job asked this one to stop (exitall,
// exitall_on_error).
func (w *worker) stopped() bool {
	return w.stop != nil && w.stop.Load() || w.abort != nil && w.abort.Load() || w.ss != nil && w.ss.attained.Load()
}

// run runs the worker to the end; what it measured and the first error
// are in its fields afterwards.
func (w *worker) run() {
	w.measure = *newMeasure()
	w.clone = w.idx
	err := w.start()
	w.arrive() // a clone that failed to start lets the others go
	if err != nil {
		w.err = err
		return
	}
	defer w.finish()
	if w.ss != nil {
		w.ss.begin(time.Now())
	}
	for {
		if err := w.submitFirst(); err != nil {
			w.err = err
			return
		}
		if err := w.loop(); err != nil {
			w.err = err
			return
		}
		if !w.atLoopEnd || interrupted.Load() || w.stopped() || w.pastDeadline || w.stopping {
			break
		}
		if w.verifyEach || w.mixPasses {
			if !w.morePasses() {
				// The last pass: Execute's verify pass reads it back.
				w.passBytes, w.atLoopEnd = w.issued, false
				break
			}
		}
		if w.verifyEach {
			if err := w.verifyLoop(); errors.Is(err, errInterrupted) {
				break
			} else if err != nil {
				w.err = err
				return
			}
			if w.runtimeUp() {
				break // the runtime ended the pass's reads: no pass follows
			}
		}
		// unlink_each_loop: the next loop on files laid afresh.
		if err := w.nextLoop(); err != nil {
			w.err = err
			return
		}
	}
	if len(w.backlog) > 0 && w.err == nil && !w.runtimeUp() {
		// The rest, whatever the batch; none once the runtime is up, as
		// fio's job ends there. fio reads it back in its verify phase:
		// its time is the reads', not the writes' (collect).
		w.backlogCredit = len(w.backlog)
		start := time.Now()
		err := w.checkBacklog()
		d := time.Since(start)
		w.verifyTime += d
		w.verifyInRun += d
		if err != nil {
			w.err = err
			return
		}
	}
	if err := w.closeSyncs(); err != nil && w.err == nil {
		w.err = err
	}
}

// setUpHook, when set (by tests), runs as each clone finishes setting
// up, before it reaches the start line.
var setUpHook func(clone int)

// arrive waits, the first time it is called, until every clone of the
// job has set up (runWorkers' ready), so that they start their I/O
// together.
func (w *worker) arrive() {
	if w.ready != nil && !w.arrived {
		w.arrived = true
		w.ready.Done()
		w.ready.Wait()
	}
}

// mixPassesOf reports whether w's passes end where a direction of job j's
// rw=rw finds the region's end (one file: Generator.MixLoops; several:
// FileGen.SeqLoops), and if so has the generator end each pass with
// IO.PassEnd (mixPasses): run decides at each whether another follows.
func (w *worker) mixPassesOf(j *workloads.Job) bool {
	g := w.gen.Gen(0)
	if !(w.gen.Files() == 1 && g.MixLoops() || w.gen.SeqLoops() && j.RW == workloads.ReadWrite) {
		return false
	}
	g.PassEnds, w.gen.PassEnds, w.mixPasses = true, true, true
	return true
}

// mixLimit is where fio 3.33 stops the reads and writes of job j's rw=rw
// passes (mixPasses), whatever pass it is in: size (the region), or
// io_size, times loops (fio's io_bytes_exceeded), the verify reads apart.
func (w *worker) mixLimit(j *workloads.Job) uint64 {
	limit := w.gen.Span()
	if j.IOSize > 0 {
		limit = j.IOSize
	}
	return uint64(max(j.Loops, 1)) * limit
}

// unlinksEachLoop reports whether job j removes its regular files
// between loops (unlink_each_loop): as fio, only between the loops of a
// job that is not time_based (fio's time_based job runs one loop).
func unlinksEachLoop(j *workloads.Job) bool {
	return j.UnlinkEachLoop && j.Loops > 1 && !j.TimeBased
}

// nextLoop starts the next loop of an unlink_each_loop job, once the
// worker has nothing in flight: as fio does between loops, each of the
// clone's regular files is removed and created again, empty, with the
// flags it was open with (fio reopens it with O_CREAT; the loop's writes
// extend it). The new file takes the old one's descriptor (dup3), which
// the engine's rings use (the job's files are not registered with them,
// so no ring keeps the old file). Block devices stay as they are. The
// blocks the clone wrote, for the verify pass, start afresh with the
// files; write_iolog records each file's close and open. With
// latency_target, every loop (or pass) starts the search afresh at
// depth 1, as fio's does.
func (w *worker) nextLoop() error {
	s, j := w.setup, w.job
	w.atLoopEnd = false
	w.idle = w.idle[:0]
	if l := w.lat; l != nil {
		now := time.Now()
		if l.draining && l.drained(now) {
			w.restartMeasure(now) // the depth settled as the loop ended
		}
		l.begin(now)
	}
	switch {
	case w.mixPasses:
	case w.verifyEach && w.passEnded:
		// The pass ended short, at the generator's PassEnd.
		w.loopEnd, w.passEnded = w.issued+w.passLen, false
	case w.verifyEach:
		w.loopEnd += w.passLen // run decides at each pass's end whether one follows
	default:
		if w.loopEnd += w.passBytes / uint64(j.Loops); w.loopEnd >= w.passBytes {
			w.loopEnd = 0 // the last loop runs to the job's end
		}
	}
	if !unlinksEachLoop(j) {
		return nil
	}
	now := time.Now()
	for k, fi := range s.tgt.clones[w.idx] {
		if !s.tgt.regular[fi] {
			continue
		}
		if err := recreate(s.devs[fi].Fd(), s.tgt.paths[fi]); err != nil {
			return fmt.Errorf("unlink_each_loop: %w", err)
		}
		if w.iolog != nil {
			w.iolog.line(now, s.tgt.paths[fi], "close", false, 0, 0)
			w.iolog.line(now, s.tgt.paths[fi], "open", false, 0, 0)
		}
		if w.written != nil {
			w.written.reset(k)
		}
	}
	return nil
}

// recreate removes the regular file at path, open as fd, creates it
// again, empty, with fd's flags, and makes fd the new file's.
func recreate(fd int, path string) error {
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	nfd, err := unix.Open(path, flags|unix.O_CREAT|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer unix.Close(nfd)
	if err := unix.Dup3(nfd, fd, unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("%s: dup3: %w", path, err)
	}
	return nil
}

// start makes the worker's queue, generator, verifier and requests.
func (w *worker) start() error {
	j := w.job
	q, err := w.eng.NewQueue()
	if err != nil {
		return err
	}
	w.q = q
	w.tid = unix.Gettid()
	if j.IsSet("nice") {
		// nice: the queue's thread (locked to this goroutine) runs at the
		// job's nice value; finish puts the thread's back.
		tid := w.tid
		old, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
		if err != nil {
			return fmt.Errorf("nice: %w", err)
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, j.Nice); err != nil {
			return fmt.Errorf("nice=%d: %w", j.Nice, err)
		}
		w.restoreNice = func() { _ = unix.Setpriority(unix.PRIO_PROCESS, tid, 20-old) } // getpriority gives 20-nice
	}
	// The queue has locked this goroutine to its OS thread: pin that
	// thread and measure its usage.
	if len(j.CPUs) > 0 {
		var old, set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &old); err != nil {
			return fmt.Errorf("cpus_allowed: %w", err)
		}
		if j.CPUSplit {
			// fio's split: the run's thread n takes the set's CPU
			// (n-1) mod its size.
			set.Set(j.CPUs[(w.thread-1)%len(j.CPUs)])
		} else {
			for _, c := range j.CPUs {
				set.Set(c)
			}
		}
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("cpus_allowed: pin the job's thread: %w", err)
		}
		w.affinity = &old
		// Report the set the kernel holds for the thread, not the option.
		if err := unix.SchedGetaffinity(0, &set); err == nil {
			for c := range 1024 {
				if set.IsSet(c) {
					w.pinned = append(w.pinned, c)
				}
			}
		}
	}
	s := w.setup
	gens := make([]*workloads.Generator, len(s.tgt.clones[w.idx]))
	var bases, reaches []uint64
	for k, fi := range s.tgt.clones[w.idx] {
		w.files = append(w.files, s.files[fi])
		cj := s.cloneJob(fi, w.idx)
		cj.Thread = w.thread // fio seeds a thread's random offsets by its number
		gens[k] = workloads.NewGenerator(cj, w.idx, s.sizes[fi])
		if sliceForVerify(j, s.tgt.shared) {
			// Clones write disjoint slices, so a read never races a write
			// of another clone; each draws its own offsets and
			// directions there, seeded by its thread as above.
			sj := s.fileJob(fi)
			sj.Thread, sj.FilePath = cj.Thread, cj.FilePath
			gens[k] = sliceGenerator(sj, w.idx, s.sizes[fi])
		}
		bases, reaches = append(bases, gens[k].Base()), append(reaches, gens[k].Reach())
	}
	if j.Verify != "" && j.DoVerify && j.RW.Writes() {
		w.written = newWriteHistory(j, bases, reaches)
	}
	w.gen = workloads.NewFileGen(j, w.idx, gens)
	if j.SyncFileRangeEvery > 0 && j.RW.Writes() && w.setup.tgt.replay == nil {
		w.sfr = newRangeSyncs(j, w.files)
	}
	if j.Verify != "" {
		w.ver = newVerifier(j)
		w.inflight = map[fileOffset]uint64{}
	}
	w.prioDefault, w.prioDrawn = j.Prio.Default(), j.Prio.Drawn(workloads.DirRead) || j.Prio.Drawn(workloads.DirWrite)
	w.nullSync = j.NullSync()
	if w.ver == nil && !steered(j) && j.Mapper != "linear" {
		// The linear mapper's cache holds one extent per file, which the
		// queue keeps (engine's read memo): nothing to prefetch, and
		// drawing ahead cost 150-250 instructions per I/O.
		w.pf = mapcache.NewPrefetcher(aheadIOs)
		w.ahead = make([]lookahead, aheadIOs)
		for i := range w.ahead {
			w.draw(&w.ahead[i])
		}
	}
	if j.Verify == "" && j.RW.Writes() {
		// Seeded by the run's thread number, so that two jobs' writes
		// differ, as fio seeds each job's buffers by its thread number.
		w.fill = newBufferFiller(j, j.RandSeed^uint64(w.thread)<<32, w.gen.Span())
	}
	w.reqs = make([]engine.Request, j.IODepth)
	for i := range w.reqs {
		b := w.eng.Buffer(int(j.MaxBS()))
		if b == nil {
			return fmt.Errorf("buffer arena exhausted")
		}
		if w.fill != nil {
			w.fill.initial(b)
		}
		w.reqs[i].Buf = b
	}
	if setUpHook != nil {
		setUpHook(w.idx)
	}
	w.arrive()
	// CPU and run time count from here, as fio's from the start of its
	// I/O loop: the buffers' set-up above (filled with the job's data,
	// 512 MiB for bs=16m at iodepth=32) is not the job's I/O.
	w.usage.begin()
	now := time.Now()
	w.rampEnd = now.Add(j.RampTime)
	if j.Runtime > 0 && j.RampSize == 0 {
		// After ramp_size's ramp, the runtime counts from its end (endRamp).
		w.deadline = w.rampEnd.Add(j.Runtime)
	}
	w.pacer = newPacer(j, now, pacerSeed(j, w.idx))
	if steered(j) {
		for i := range w.gen.Files() {
			w.gen.Gen(i).Steer = w.pacer.steer
		}
	}
	w.lat = newLatTarget(j, now)
	if j.SerializeOverlap && j.IODepth > 1 {
		w.ovl = &overlapState{flying: make([]*engine.Request, 0, j.IODepth)}
	}
	// The bytes of the whole job: a pass over the region per loop; with
	// io_size, ioSizeBytes's.
	loops := uint64(max(j.Loops, 1))
	w.passBytes = loops * w.gen.Span()
	if j.IOSize > 0 {
		w.passBytes, _ = ioSizeBytes(j, w.gen.Span())
	}
	if b := w.gen.Gen(0).SPRandomBytes(); b > 0 {
		// sprandom: the region plus spr_op of it (fio sets io_size so).
		w.passBytes = b
	}
	if unlinksEachLoop(j) || w.lat != nil && j.Loops > 1 && !j.TimeBased {
		// Each loop's I/O drains before the next: its files go
		// (unlink_each_loop), or latency_target's search starts afresh,
		// as fio's does at each of its loops.
		w.loopEnd = w.passBytes / loops
	}
	if w.verifyEach = verifiesEachPass(j, w.gen.Span()) && s.tgt.replay == nil; w.verifyEach {
		// Passes of the region (or io_size), as many as run decides.
		w.passLen = w.gen.Span()
		if j.IOSize > 0 {
			w.passLen = min(w.passLen, j.IOSize)
		}
		w.passBytes, w.loopEnd = math.MaxUint64, w.passLen
		if j.PassMayEndShort() {
			// A pass may end short of passLen, where the generator
			// finds its file done (IO.PassEnd).
			for i := range w.gen.Files() {
				w.gen.Gen(i).PassEnds = true
			}
			w.gen.PassEnds = true
		}
		if w.mixPassesOf(j) {
			// rw=rw: a pass ends where a direction finds the region's
			// end (the generator says so), and the job's reads and
			// writes stop at size (or io_size) times loops, the
			// verify reads apart, as fio's.
			w.passBytes, w.loopEnd = w.mixLimit(j), math.MaxUint64
		}
	} else if j.IOSize > 0 && j.Loops > 1 && s.tgt.replay == nil && w.mixPassesOf(j) {
		// rw=rw with loops and io_size: fio's loops end where a
		// direction finds the region's end, each longer than the
		// region, and passes follow the loops while io_size is not
		// reached (morePasses), within io_size times loops.
		w.passBytes = w.mixLimit(j)
	}
	w.measuring, w.measureStart = j.RampTime == 0 && j.RampSize == 0, now
	if w.measuring {
		w.startSampling(now)
	}
	if j.Logs.Any() {
		if w.logger, err = newJobLogger(j, w.thread, w.logs, now); err != nil {
			return err
		}
	}
	if j.WriteIOLog != "" {
		if w.iolog, err = newIOLog(j.WriteIOLog, w.setup.clonePaths(w.files), now); err != nil {
			return err
		}
	}
	if b := w.status; b != nil {
		w.id = b.join(now)
		w.iv = newMeasure()
		w.iv.clone = w.idx
		w.iv.usage.begin()
		w.ivIdx = b.index(now)
		w.ivNext = b.end(w.ivIdx)
	}
	return nil
}

// endRamp ends the ramp (ramp_time, ramp_size) at now: the worker
// measures from now on, and with ramp_size its runtime starts, as fio's
// does (fio's reset at the ramp's end restarts the job's clock).
func (w *worker) endRamp(now time.Time) {
	w.measuring, w.measureStart = true, now
	w.startSampling(now)
	w.usage.begin() // as fio, CPU and run time count from the ramp's end
	if w.ramp != nil && w.job.Runtime > 0 {
		w.deadline = now.Add(w.job.Runtime)
	}
	if w.lat != nil {
		w.lat.rampEnded(now) // the search starts with the measurement
	}
	if w.logger != nil {
		w.logger.restart(now) // as fio's, the logs start with the measurement
	}
}

// latOf is the latency latency_target judges r by: its total latency,
// or none with disable_lat (fio judges only the latencies it takes).
func latOf(j *workloads.Job, r *engine.Request) time.Duration {
	if j.DisableLat {
		return 0
	}
	return r.Latency
}

// latReaped does latency_target's part of a reap at now, after its
// completions: the window is judged, the job ends once the depth has
// settled twice, and once the queue has drained the next window starts,
// after the depth settled with the job's statistics afresh.
func (w *worker) latReaped(now time.Time) {
	l := w.lat
	if !w.measuring {
		return
	}
	l.tick(now)
	if l.done {
		w.stopping = true
		return
	}
	if l.draining && w.inFlight() == 0 && l.drained(now) {
		w.restartMeasure(now)
	}
}

// restartMeasure starts the job's statistics afresh at now, as fio's
// do once latency_target's depth has settled: the report covers what
// follows (counts, latencies, depths, bandwidth and IOPS samples, CPU
// usage, the runtime), and the job's runtime counts from now. Errors
// continue_on_error counted, and the first error, stay.
func (w *worker) restartMeasure(now time.Time) {
	m := newMeasure()
	m.errs, m.ioErrs, m.firstErr, m.err = w.errs, w.ioErrs, w.firstErr, w.err
	m.clone, m.pinned, m.ssRes, m.verified = w.clone, w.pinned, w.ssRes, w.verified
	w.measure = *m
	w.measureStart = now
	w.bwBytes, w.iopsCount = [workloads.NumDirs]uint64{}, [workloads.NumDirs]uint64{}
	w.startSampling(now)
	w.rateMinNext = time.Time{}
	w.usage.begin()
	if j := w.job; j.Runtime > 0 {
		w.deadline = now.Add(j.Runtime)
	}
}

// rampCount is ramp_size's count of the bytes done (read, written and
// trimmed) in the ramp: a clone's own, or, with group_reporting, the
// reporting group's clones' together, whose ramps end together, as fio
// counts them.
type rampCount struct {
	size uint64
	done atomic.Uint64
	over atomic.Bool
}

// add counts n bytes done in the ramp and reports whether the ramp is
// over.
func (c *rampCount) add(n uint64) bool {
	if c.done.Add(n) >= c.size {
		c.over.Store(true)
	}
	return c.over.Load()
}

// startSampling starts the bandwidth and IOPS sample periods at now.
func (w *worker) startSampling(now time.Time) {
	w.bwLast, w.iopsLast = now, now
	w.bwNext, w.iopsNext = now.Add(w.job.BWAvgTime), now.Add(w.job.IOPSAvgTime)
}

// sample closes the bandwidth and IOPS periods that have ended by now
// (checked once per reap, before the reap's completions are counted, and
// at the clone's end), the I/O counted so far having completed by
// counted. The periods follow one another from the measurement's start,
// as the ticks of fio's helper thread, which takes fio's samples: a
// period's sample is what completed in it over its length, or over the
// time to counted where a period's I/O was counted late; a period in
// which nothing of a direction completed has no sample of it (a rate
// pause, thinktime or a stalled device longer than a period), as fio's
// has none, and the next period is the one the clock is in. As fio
// 3.33's, a last partial period is no sample, nor one that ends at or
// past the runtime's end (fio's job stops there first: a 2 s time_based
// job has 3 samples of 500 ms), and disable_bw_measurement (gtod_reduce)
// leaves them (fio 3.33 still reports them).
func (w *worker) sample(now, counted time.Time) {
	j := w.job
	if now.Before(w.bwNext) && now.Before(w.iopsNext) {
		return // the commonest call: neither sample is due
	}
	dirs := [workloads.NumDirs]bool{j.RW.Reads() || j.VerifyOnly, j.RW.Writes() && !j.VerifyOnly, j.RW.Trims()}
	inRuntime := func(next time.Time) bool { return w.deadline.IsZero() || next.Before(w.deadline) }
	// The rates count the workload's I/O, not a verify's reads.
	ios, bytes := w.ios, w.bytes
	ios[workloads.DirRead] -= w.verifyReadIOs
	bytes[workloads.DirRead] -= w.verifyReadBytes
	if !now.Before(w.bwNext) && inRuntime(w.bwNext) {
		secs := later(w.bwNext, counted).Sub(w.bwLast).Seconds()
		for d := range workloads.NumDirs {
			if dirs[d] && !perIOBW(j) && bytes[d] > w.bwBytes[d] {
				// Whole KiB/s, as fio's integer samples.
				v := math.Floor(float64(bytes[d]-w.bwBytes[d]) / 1024 / secs)
				w.bwSamples[d] = append(w.bwSamples[d], v)
				if w.iv != nil {
					w.iv.bwSamples[d] = append(w.iv.bwSamples[d], v) // the status period's
				}
			}
			w.bwBytes[d] = bytes[d]
		}
		w.bwLast, w.bwNext = periodAt(w.bwNext, now, j.BWAvgTime)
	}
	if !now.Before(w.iopsNext) && inRuntime(w.iopsNext) {
		secs := later(w.iopsNext, counted).Sub(w.iopsLast).Seconds()
		for d := range workloads.NumDirs {
			if dirs[d] && !perIOIOPS(j) && ios[d] > w.iopsCount[d] {
				v := math.Floor(float64(ios[d]-w.iopsCount[d]) / secs)
				w.iopsSamples[d] = append(w.iopsSamples[d], v)
				if w.iv != nil {
					w.iv.iopsSamples[d] = append(w.iv.iopsSamples[d], v)
				}
			}
			w.iopsCount[d] = ios[d]
		}
		w.iopsLast, w.iopsNext = periodAt(w.iopsNext, now, j.IOPSAvgTime)
	}
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// periodAt returns the start and end of the sample period of length p
// the clock is in at now, of those that follow one another from end.
func periodAt(end, now time.Time, p time.Duration) (time.Time, time.Time) {
	if p > 0 && now.After(end) {
		end = end.Add(now.Sub(end) / p * p)
	}
	return end, end.Add(p)
}

// finish records the measured time and gives back the queue and buffers.
func (w *worker) finish() {
	if w.measuring {
		now := time.Now()
		w.measured = now.Sub(w.measureStart)
		w.sample(now, w.epoch.Add(w.countedSince))
	}
	if w.iv != nil {
		w.publishInterval(time.Now(), true)
		w.status.leave(w.id, w.jobIdx)
	}
	if w.logger != nil && w.measuring {
		w.logger.end = w.deadline
		w.logEnd = time.Now()
		if w.written == nil {
			w.logger.tick(w.logEnd, true)
		}
		// (With a verify pass, its reads are logged too: Execute ends
		// the logs after them, finishLogs.)
	}
	if w.iolog != nil && w.written == nil {
		// (With a verify pass, its reads are logged too: Execute closes
		// the log after them.)
		if err := w.iolog.close(time.Now()); err != nil && w.err == nil {
			w.err = err
		}
	}
	if w.lat != nil {
		w.latencyDepth = w.lat.depth
	}
	w.usage.end()
	if w.affinity != nil {
		_ = unix.SchedSetaffinity(0, w.affinity)
	}
	if w.restoreNice != nil {
		w.restoreNice()
	}
	for i := range w.reqs {
		if b := w.reqs[i].Buf; b != nil {
			w.eng.PutBuffer(b[:cap(b)])
		}
	}
	for _, r := range w.backlogReqs {
		w.eng.PutBuffer(r.Buf[:cap(r.Buf)])
	}
	w.q.Close()
}

// finishLogs ends the bandwidth, IOPS and latency logs of a clone that
// kept them open for the verify pass after its writes (finish): the last
// window, partial, ends at the later of the clone's end and the pass's
// last reap.
func (w *worker) finishLogs() {
	if w.logger != nil && w.written != nil && w.measuring {
		w.logger.tick(w.logEnd, true)
	}
}

// jobArena is the size of job j's buffer arena: a buffer of the largest
// block (rounded up to a power of two) for each request of each clone,
// and 4 MiB for the engine's own.
func jobArena(j *workloads.Job) int {
	return j.NumJobs*j.IODepth*pow2(int(j.MaxBS())) + 4<<20
}

// registered says whether job j's rings register the buffer arena of
// arenaBytes (fixedbufs) and the devices (registerfiles). Set, the
// options are fio's; unset, both are on, as they cost less CPU per I/O:
// 4 KiB random reads from a loop device over a sparse tmpfs file (2
// vCPUs, alternating 3 s runs, three each) took 3.3-3.7 instead of
// 3.8-4.1 µs at depth 8 and 1.7-1.8 instead of 1.9-2.0 at 32, with 3-8%
// more IOPS; over a written file 7-11% less CPU per I/O at the same IOPS
// (README, "The data path"). The arena is registered only where the
// kernel will pin it (with CAP_IPC_LOCK, or within RLIMIT_MEMLOCK) and
// only up to maxDefaultFixed.
func registered(j *workloads.Job, arenaBytes int) (fixed, files bool) {
	fixed, files = j.FixedBufs, j.RegisterFiles
	if !j.IsSet("registerfiles") {
		files = true
	}
	if !j.IsSet("fixedbufs") && arenaBytes <= maxDefaultFixed {
		var lim unix.Rlimit
		fixed = canLockMemory() ||
			unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim) == nil && (lim.Cur == unix.RLIM_INFINITY || lim.Cur >= uint64(arenaBytes)+1<<20)
	}
	return fixed, files
}

// maxDefaultFixed is the largest arena registered without fixedbufs=1:
// registering pins (and so allocates) every page, where an unregistered
// arena takes memory only where buffers are used.
const maxDefaultFixed = 256 << 20

// canLockMemory reports CAP_IPC_LOCK in the effective set (root has it,
// unless a container took it away), from /proc/self/status.
func canLockMemory() bool { return hasCap(unix.CAP_IPC_LOCK) }

// hasCap reports whether the process holds capability c (CapEff of
// /proc/self/status).
func hasCap(c int) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && caps&(1<<c) != 0
		}
	}
	return false
}

// eagerSubmit is the engine's EagerSubmit for j: its default when
// iodepth_batch_submit is not given, off when it is (the job's batches
// are then exactly fio's).
func eagerSubmit(j *workloads.Job) int {
	if j.BatchSubmit == workloads.BatchAuto {
		return 0
	}
	return -1
}

// setEpoch starts the worker's clock.
func (w *worker) setEpoch() {
	w.epoch = time.Now()
	if w.eng != nil {
		w.epochClock = w.eng.Clock()
	}
}

// issuedAt is when r's first device I/O went to the kernel (fio's issue
// time), on the worker's clock; the zero time unless the job logs it
// (log_issue_time).
func (w *worker) issuedAt(r *engine.Request) time.Time {
	if w.eng == nil {
		return time.Time{}
	}
	return issueTime(w.job, w.epoch, w.epochClock, r)
}

// issueTime is r's issue time for job j's logs (log_issue_time; the
// zero time without it), on a clock read as epoch when the engine's
// read epochClock.
func issueTime(j *workloads.Job, epoch time.Time, epochClock time.Duration, r *engine.Request) time.Time {
	if !j.Logs.IssueTime {
		return time.Time{}
	}
	return epoch.Add(r.Started() + r.SubmitLatency - epochClock)
}

// reapSince is the time of the reap just made, since epoch: the engine's
// reading of the completions it found (Queue.LastReap), which saves the
// loop a clock read per reap, or a reading of its own when it found none
// (on the engine's clock too, so that the two kinds agree whatever the
// clocksource).
func (w *worker) reapSince() time.Duration {
	if at, ok := w.q.LastReap(); ok {
		return at - w.epochClock
	}
	return w.eng.Clock() - w.epochClock
}

// submitFirst fills the queue to iodepth.
func (w *worker) submitFirst() error {
	now, submitted := time.Now(), 0
	if w.pacer != nil {
		w.pacer.now = now
	}
	// Each I/O is scheduled before the next is drawn: a rate cap
	// steers the next one's direction by what is scheduled (steer).
	for i := range w.reqs {
		if w.ovl != nil && w.ovl.held != nil || w.lat != nil && w.inFlight() >= w.lat.depth || w.pollingOne() && w.inFlight() >= 1 {
			// For when the held I/O has gone, or latency_target's
			// depth allows more, or (fio's polling) the one in flight
			// has completed.
			w.idle = append(w.idle, &w.reqs[i])
			continue
		}
		if !w.issue(&w.reqs[i]) {
			break
		}
		ok, err := w.admit(&w.reqs[i], now)
		if err != nil {
			return err
		}
		if ok {
			submitted++
		}
	}
	if err := w.submitBatch(); err != nil {
		return err
	}
	if submitted > 0 {
		w.submitted(submitted)
	}
	w.noteFull()
	return nil
}

// markDepth counts a submission at depth n (fio's iodepth_level),
// markSubmit n requests handed to the kernel together and markComplete n
// reaped together (fio's iodepth_submit and iodepth_complete), each in
// the run's measure and the period's; the null engine at iodepth=1 counts
// neither, as fio's (Job.NullSync).
func (w *worker) markDepth(n int) { w.mark(depthDistOf, depthBucket(n), 1) }

func (w *worker) markSubmit(n int) {
	if !w.nullSync {
		w.mark(submitDistOf, batchBucket(n), 1)
	}
}

func (w *worker) markComplete(n int) {
	if !w.nullSync {
		w.mark(completeDistOf, batchBucket(n), 1)
	}
}

// countQueued counts an I/O just queued, as fio's io_u_queued counts it
// with iodepth_batch_submit=n (0, or more than the iodepth: the iodepth,
// as fio takes it), and reports whether the queued I/O is due to go to
// the kernel now. Once n have been queued since the last count, all n are
// counted in the depth distribution at the depth then, and they are due:
// fio commits a batch when io_u_queued reaches n and marks it then, at its
// cur_depth. A wait in between hands the queued I/O to the kernel without
// resetting the count (fio's getevents commits through the engine, not
// through td_io_commit), so the count carries over it: with n=8 and one
// completion per wait, every eighth I/O is handed over on its own as well
// as by the waits. Without iodepth_batch_submit each I/O counts at the
// depth it brings the queue to, and the engine decides when it goes.
func (w *worker) countQueued() bool {
	n := w.job.BatchSubmit
	if n == workloads.BatchAuto {
		w.markDepth(w.q.InFlight())
		return false
	}
	if n == 0 || n > w.job.IODepth {
		n = w.job.IODepth
	}
	w.unflushed++
	if w.queued++; w.queued < n {
		return false
	}
	w.mark(depthDistOf, depthBucket(w.inFlight()), uint64(w.queued))
	w.queued = 0
	return true
}

// flush hands the queued I/O to the kernel. With iodepth_batch_submit it
// counts them in the submit distribution as one submission, as fio counts
// each commit.
func (w *worker) flush() error {
	n := w.unflushed
	w.unflushed = 0
	err := w.q.Flush()
	if n > 0 {
		w.markSubmit(n)
	}
	return err
}

// submitted counts n requests handed over together in the submit
// distribution, where the job's own flushes do not count them: without
// iodepth_batch_submit the engine hands a round's I/O to the kernel
// together; with it, flush counts each handover.
func (w *worker) submitted(n int) {
	if w.job.BatchSubmit == workloads.BatchAuto {
		w.markSubmit(n)
	}
}

func depthDistOf(m *measure) *[7]uint64    { return &m.depthDist }
func submitDistOf(m *measure) *[7]uint64   { return &m.submitDist }
func completeDistOf(m *measure) *[7]uint64 { return &m.completeDist }

// mark counts n in bucket b of the distribution dist picks.
func (w *worker) mark(dist func(*measure) *[7]uint64, b int, n uint64) {
	if !w.measuring {
		return
	}
	dist(&w.measure)[b] += n
	if w.iv != nil {
		dist(w.iv)[b] += n
	}
}

// depthBucket maps a queue depth to fio's levels 1, 2, 4, 8, 16, 32, >=64.
func depthBucket(n int) int {
	if n >= 64 {
		return 6
	}
	return min(bits.Len(uint(max(n, 1)))-1, 5)
}

// batchBucket maps a batch size to fio's 0, 1-4, 5-8, 9-16, 17-32,
// 33-64, >64 (iodepth_submit, iodepth_complete).
func batchBucket(n int) int {
	switch {
	case n <= 0:
		return 0
	case n <= 4:
		return 1 // depth 1 to 4's batches, without the bit count
	case n > 64:
		return 6
	}
	return 1 + max(bits.Len(uint(n-1))-2, 0)
}

// loop reaps completions and issues the next I/O in each completed
// request's place, until nothing is in flight.
func (w *worker) loop() error {
	if w.plain = w.plainJob(); w.plain {
		return w.loopPlain()
	}
	done := make([]*engine.Request, 0, len(w.reqs))
	quiet := everyReap // the first reap sets it (quietUntil)
	for w.q.InFlight() > 0 || len(w.parked) > 0 || w.ovl != nil && w.ovl.held != nil {
		if w.q.InFlight() == 0 {
			if w.ovl != nil && w.ovl.held != nil {
				// Nothing in flight: nothing overlaps it.
				if _, err := w.tryHeld(time.Now()); err != nil {
					return err
				}
				if err := w.submitBatch(); err != nil {
					return err
				}
				continue
			}
			if err := w.releaseParked(); err != nil {
				return err
			}
			continue
		}
		if w.nowSince >= w.lvNext {
			w.publishLive()
			w.lvNext = w.nowSince + liveEvery
		}
		var err error
		want := w.completeMin()
		if w.unflushed > 0 && want > 0 {
			// iodepth_batch_submit: a wait hands what is queued to the
			// kernel first, as fio's getevents commits before it reaps,
			// also when completions reaped before serve it
			// (iodepth_batch_complete_max), where the engine would keep
			// the new I/O back until it has to wait.
			if err := w.flush(); err != nil {
				return err
			}
		}
		take := w.reapMax(want)
		timed := false // a wait that may end at the status period's end, with nothing
		if w.pollingOne() {
			done, err = w.pollReap(done[:0])
		} else if due, ok := w.offloadDue(); ok {
			// io_submit_mode=offload: wait for completions only until the
			// first held-back I/O is due.
			timed = w.iv != nil && w.ivNext.Before(due)
			if timed {
				due = w.ivNext
			}
			done, err = w.q.ReapBatchWithin(done[:0], want, take, time.Until(due))
		} else if w.iv != nil {
			timed = true
			done, err = w.q.ReapBatchWithin(done[:0], want, take, w.untilPeriodEnd())
		} else {
			done, err = w.q.ReapBatch(done[:0], want, take)
		}
		if err != nil {
			return err
		}
		// The clock is read once per reap, not per I/O, and by the engine:
		// reading it costs more than anything else the loop does per I/O.
		since := w.reapSince()
		w.nowSince = since
		if since >= quiet {
			quiet = w.reaped(done, since)
		}
		if len(done) > 0 || !timed {
			w.markComplete(len(done))
		}
		if len(done) > 0 {
			w.countedSince = since
		}
		// A quiet reap leaves w.now as it was: what reads it below (admit,
		// for a pacer, flow, read_iolog or a verify backlog; tryHeld) is
		// never there in a job with quiet reaps.
		now := w.now
		issued := 0
		if w.ovl != nil {
			w.ovl.landed(done)
			ok, err := w.tryHeld(now)
			if err != nil {
				return err
			}
			if ok {
				issued++
			}
		}
		for _, r := range done {
			w.complete(r)
			if w.holdBack() {
				w.idle = append(w.idle, r)
				continue
			}
			if w.issue(r) {
				ok, err := w.admit(r, now)
				if err != nil {
					return err
				}
				if ok {
					issued++
				}
			}
		}
		if w.lat != nil {
			w.latReaped(now)
		}
		for len(w.idle) > 0 && !w.holdBack() {
			r := w.idle[len(w.idle)-1]
			w.idle = w.idle[:len(w.idle)-1]
			if !w.issue(r) {
				break
			}
			ok, err := w.admit(r, now)
			if err != nil {
				return err
			}
			if ok {
				issued++
			}
		}
		if err := w.submitBatch(); err != nil {
			return err
		}
		if issued > 0 {
			// Handed to the kernel together at the next reap.
			w.submitted(issued)
		}
		if w.job.SubmitOffload {
			if err := w.releaseDue(); err != nil {
				return err
			}
		}
		w.noteFull()
	}
	w.publishLive()
	return nil
}

// reaped does what is due at a reap of done at since (time since epoch)
// that may have something due (quietUntil): the clock for the pacer,
// the runtime's end, the ramp's end, the bw/iops samples, the status
// interval, the logs, rate_min and latency_target. It sets w.now and
// returns the time before which the next reap has nothing due.
func (w *worker) reaped(done []*engine.Request, since time.Duration) time.Duration {
	now := w.epoch.Add(since)
	if w.pacer != nil {
		w.pacer.now = now
		for _, r := range done {
			if r.Sync == engine.NoSync {
				w.pacer.completed++ // thinktime_blocks_type=complete
			}
		}
	}
	w.pastDeadline = !w.deadline.IsZero() && !now.Before(w.deadline)
	w.tick(now)
	w.now = now
	w.checkRateMin(now)
	return w.quietUntil()
}

// tick does what the clock brings due at a reap at now, whichever
// loop reaped: the ramp's end, the bw/iops samples, the status
// interval and the logs' windows. The I/O loops call it through
// reaped; the waits outside them (reapWaiting: verify_backlog's
// read-back, the end-of-job flush) call it alone, so that their
// samples and log windows close on time as the loops' do, while the
// pacer, thinktime and rate_min count only the job's own I/O.
func (w *worker) tick(now time.Time) {
	if !w.measuring && (w.ramp == nil && !now.Before(w.rampEnd) || w.ramp != nil && w.ramp.over.Load()) {
		w.endRamp(now)
	}
	if w.measuring {
		w.sample(now, w.epoch.Add(w.countedSince))
	}
	if w.iv != nil && !now.Before(w.ivNext) {
		w.publishInterval(now, false)
	}
	if w.logger != nil && w.measuring {
		w.logger.end = w.deadline
		w.logger.tick(now, false)
	}
}

// untilPeriodEnd is how long a reap may wait before the status period
// ends (--status-interval): from the last reap's time, not the clock's
// (reading the clock here, as well as twice in the engine, cost
// ioengine=null reads at depth 1 nearly a third of their IOPS), so the
// wait ends late by the time since that reap, the work of one loop.
func (w *worker) untilPeriodEnd() time.Duration {
	return w.ivNext.Sub(w.epoch) - w.nowSince
}

// plainJob reports whether the job's I/O loop can be loopPlain: reads
// and writes that go to the queue as they are drawn, one direction and
// block each, with none of the options that hold a request back, change
// it after it is drawn or add work at its completion (rate, thinktime,
// flow, read_iolog, write_iolog, serialize_overlap, latency_target,
// io_submit_mode=offload, iodepth_batch_submit, iodepth_low, verify,
// fsync, fdatasync, sync_file_range, cmdprio, force_async, nowait,
// atomic, thinkcycles, max_latency, logs, trims, unlink_each_loop, fio's
// polling: pollingOne).
func (w *worker) plainJob() bool {
	j := w.job
	return !plainLoopOff && w.ovl == nil && w.pacer == nil && w.flow == nil && w.lat == nil && w.setup.tgt.replay == nil &&
		w.sfr == nil && w.ver == nil && w.written == nil && w.iolog == nil && w.logger == nil &&
		len(w.parked) == 0 && len(w.idle) == 0 && !w.backlogDue && w.loopEnd == 0 &&
		!j.SubmitOffload && j.BatchSubmit == workloads.BatchAuto && j.ThinkCycles == 0 &&
		!(j.IODepthLow > 0 && j.IODepthLow < j.IODepth) &&
		j.FsyncEvery == 0 && j.FdatasyncEvery == 0 && !w.pollingOne() && !w.prioDrawn && j.ForceAsync == 0 &&
		!j.NoWait && !j.Atomic && j.MaxLatency == [workloads.NumDirs]time.Duration{} && !j.RW.Trims()
}

// plainLoopOff, when set (by tests), keeps every job on loop's general
// path.
var plainLoopOff bool

// loopPlain is loop for a plainJob: the same reaps, clock and
// accounting, without the checks for what such a job never does (each
// was a few instructions per I/O; together about a fifth of the
// runner's own).
func (w *worker) loopPlain() error {
	done := make([]*engine.Request, 0, len(w.reqs))
	quiet := everyReap
	for w.q.InFlight() > 0 {
		if w.nowSince >= w.lvNext {
			w.publishLive()
			w.lvNext = w.nowSince + liveEvery
		}
		var err error
		if w.iv == nil {
			done, err = w.q.ReapBatch(done[:0], w.completeMin(), w.job.BatchCompleteMax)
		} else {
			done, err = w.q.ReapBatchWithin(done[:0], w.completeMin(), w.job.BatchCompleteMax, w.untilPeriodEnd())
		}
		if err != nil {
			return err
		}
		since := w.reapSince()
		w.nowSince = since
		if since >= quiet {
			quiet = w.reaped(done, since)
		}
		if len(done) > 0 || w.iv == nil {
			w.markComplete(len(done))
		}
		if len(done) > 0 {
			w.countedSince = since
		}
		for _, r := range done {
			w.completePlain(r)
			if w.nextPlain(r) {
				w.batch = append(w.batch, r)
			}
		}
		issued := len(w.batch)
		if err := w.submitBatch(); err != nil {
			return err
		}
		if issued > 0 {
			w.markSubmit(issued)
		}
	}
	w.publishLive()
	return nil
}

// completePlain is complete for a plainJob's request: a measured read or
// write that succeeded is counted here, anything else by complete.
func (w *worker) completePlain(r *engine.Request) {
	if r.Err != nil || r.Sync != engine.NoSync || !w.measuring {
		w.complete(r)
		return
	}
	d := workloads.DirRead
	if r.Write {
		d = workloads.DirWrite
	}
	w.measure.record(w.job, r, d)
	if w.iv != nil {
		w.iv.record(w.job, r, d)
	}
	w.lvIOs[d]++
	w.lvBytes[d] += uint64(r.N)
}

// nextPlain is issue for a plainJob: it fills r with the next I/O and
// reports whether there is one.
func (w *worker) nextPlain(r *engine.Request) bool {
	if w.stopping || w.pastDeadline || interrupted.Load() || w.stopped() || w.ioDone() {
		return false
	}
	fi, io := w.next()
	if io.End {
		if io.PassEnd {
			w.atLoopEnd, w.passEnded = true, true // rw=rw's pass is over (mixPasses), or one ended short
		} else {
			w.offsetsEnded = true
		}
		return false
	}
	r.Sync = engine.NoSync
	r.File, r.Offset, r.Write, r.Trim, r.Length = w.files[fi], io.Offset, io.Write, false, int(io.Length)
	r.Prio = w.prioDefault
	r.Buf = r.Buf[:io.Length]
	if io.Write {
		w.writeGen++
		w.writesSinceSync++
		if w.fill != nil {
			w.fill.beforeWrite(r.Buf, io.Offset)
		}
	}
	w.issued += io.Length
	w.issuedIOs++
	return true
}

// quietUntil returns the time since epoch before which a reap has
// nothing to do by the clock, for a job whose reaps have nothing else to
// do by it: the earliest of the runtime's end, the ramp's end and the
// next bandwidth or IOPS sample. A reap before it (quiet) skips making
// its time a time.Time and the loop's checks against these times, each
// of which it would find not due (the same comparison, on the monotonic
// clock): at depth 1, about 170 of the loop's instructions per I/O
// (callgrind, 4 KiB random reads). It is everyReap (no reap is quiet)
// for a job that reads the clock at each reap or admits I/O by it: a
// pacer (rate, thinktime), flow, read_iolog, serialize_overlap,
// latency_target, rate_min, ramp_size, a verify backlog,
// io_submit_mode=offload, logs or status intervals.
func (w *worker) quietUntil() time.Duration {
	j := w.job
	if w.pacer != nil || w.flow != nil || w.setup.tgt.replay != nil || w.ovl != nil || w.lat != nil ||
		j.RateMin != [2]uint64{} || j.RateIOPSMin != [2]int{} || w.ramp != nil || w.ver != nil ||
		j.SubmitOffload || w.logger != nil || w.iv != nil {
		return everyReap
	}
	until := time.Duration(math.MaxInt64)
	if !w.deadline.IsZero() {
		until = w.deadline.Sub(w.epoch)
	}
	switch {
	case !w.measuring:
		until = min(until, w.rampEnd.Sub(w.epoch))
	default:
		until = min(until, w.bwNext.Sub(w.epoch), w.iopsNext.Sub(w.epoch))
	}
	return until
}

// everyReap is a quietUntil before any reap's time.
const everyReap = time.Duration(math.MinInt64)

// liveEvery is how often the I/O loop publishes its counts to the live
// counters. Their readers (the progress line, every 500 ms by default;
// steady-state detection, every second; SIGUSR1's status) see the counts
// a millisecond late at most, plus the wait under way; at depth 1
// publishing before every reap was two to four of the dozen atomic
// operations per I/O.
const liveEvery = time.Millisecond

// publishLive adds what complete counted to the live counters (the
// progress line, SIGUSR1's status, steady-state detection).
func (w *worker) publishLive() {
	if w.ss != nil {
		var ios, bytes uint64
		for d := range w.lvIOs {
			ios += w.lvIOs[d]
			bytes += w.lvBytes[d]
		}
		if ios != 0 {
			w.ss.ios.Add(ios)
			w.ss.bytes.Add(bytes)
		}
	}
	for d := range w.lvIOs {
		if w.lvIOs[d] != 0 {
			w.lv.ios[d].Add(w.lvIOs[d])
			w.lv.bytes[d].Add(w.lvBytes[d])
			w.lvIOs[d], w.lvBytes[d] = 0, 0
		}
	}
}

// completeMin is how many completions a wait asks for: fio's
// iodepth_batch_complete_min, never more than are in flight, and 1 for
// 0, as fio 3.33's wait_for_completions takes it (with
// iodepth_batch_complete_max 0 too, fio's polling, the wait comes after
// every I/O queued: pollingOne).
func (w *worker) completeMin() int {
	return min(max(w.job.BatchCompleteMin, 1), w.q.InFlight())
}

// reapMax is how many completions a reap that asks for want takes at
// most: iodepth_batch_complete_max (0: all that are ready), and while a
// queue that was full drains to iodepth_low, no more than bring it to
// the low-water mark (at least want), as fio reaps until its depth is at
// iodepth_low and no further; the rest stay ready for the next reap.
func (w *worker) reapMax(want int) int {
	take := w.job.BatchCompleteMax
	if w.draining {
		if left := max(w.q.InFlight()-w.job.IODepthLow, want); take == 0 || left < take {
			take = left
		}
	}
	return take
}

// pollReap is the wait of fio's polling mode (pollingOne): it looks for
// a completion without sleeping, entering the kernel each time, until one
// is there, as fio's io_uring engine asks io_uring_enter for none when
// iodepth_batch_complete_min is 0. The job thread stays busy while its
// I/O is in flight, as fio's does.
func (w *worker) pollReap(dst []*engine.Request) ([]*engine.Request, error) {
	for {
		done, err := w.q.ReapBatchWithin(dst, 1, 0, 0)
		if err != nil || len(done) > 0 || w.q.InFlight() == 0 {
			return done, err
		}
	}
}

// pollingOne reports whether the job is in fio's polling mode
// (iodepth_batch_complete_min and iodepth_batch_complete_max both 0), in
// which fio waits for a completion after each I/O it queues, so that it
// never has more than one in flight whatever the iodepth.
func (w *worker) pollingOne() bool {
	return w.job.BatchCompleteMin == 0 && w.job.BatchCompleteMax == 0
}

// holdBack reports whether a completed request waits instead of being
// issued again: serialize_overlap holds an I/O back, latency_target holds
// the depth down, and iodepth_low lets a queue that was full drain to its
// low-water mark before it is filled again.
func (w *worker) holdBack() bool {
	if w.ovl != nil && w.ovl.held != nil {
		return true // serialize_overlap: nothing passes the held I/O
	}
	if w.lat != nil && (w.lat.draining || w.inFlight() >= w.lat.depth) {
		return true
	}
	if w.pollingOne() && w.inFlight() >= 1 {
		return true
	}
	if w.draining && w.inFlight() > w.job.IODepthLow {
		return true
	}
	w.draining = false
	return false
}

// inFlight is the queue's requests and those admitted to the next
// submitBatch.
func (w *worker) inFlight() int { return w.q.InFlight() + len(w.batch) }

// noteFull starts draining (iodepth_low) once the queue is full.
func (w *worker) noteFull() {
	if j := w.job; j.IODepthLow > 0 && j.IODepthLow < j.IODepth && w.q.InFlight() >= j.IODepth {
		w.draining = true
	}
}

// issue fills r with the next I/O and reports whether there is one.
func (w *worker) issue(r *engine.Request) bool {
	if !w.nextIO(r) {
		return false
	}
	r.NoWait = w.job.NoWait
	r.Atomic = w.job.Atomic && r.Write && r.Sync == engine.NoSync && !r.Trim
	if n := w.job.ForceAsync; n > 0 {
		// force_async: every nth read or write, as fio counts them.
		r.Async = false
		if r.Sync == engine.NoSync && !r.Trim {
			w.asyncCount++
			r.Async = w.asyncCount%n == 0
		}
	}
	return true
}

// logIssued records r as it goes to the queue: a write in the history
// the verify pass reads back (as fio logs its writes for verify when
// it issues them), and every I/O in write_iolog's log (a
// request that waits for its time, parked, is recorded when it goes).
func (w *worker) logIssued(r *engine.Request) {
	if w.written != nil && r.Write && !r.Trim && r.Sync == engine.NoSync {
		if k := w.fileIndex(r.File); k >= 0 {
			w.written.add(k, r.Offset, uint64(len(r.Buf)))
		}
	}
	if w.iolog != nil {
		fi := max(slices.Index(w.files, r.File), 0)
		w.iolog.issued(time.Now(), fi, r)
	}
}

// nextIO fills r with the next I/O and reports whether there is one
// (issue, without write_iolog's record).
func (w *worker) nextIO(r *engine.Request) bool {
	if w.stopping || w.pastDeadline || interrupted.Load() || w.stopped() {
		return false
	}
	if l := w.setup.tgt.replay; l != nil {
		return w.nextReplay(r, l)
	}
	if r.Tag == tagWriteTrimmed {
		// trimwrite: write the block whose trim has just completed
		// (counted with its trim against size and number_ios).
		r.Tag = 0
		r.Sync, r.Trim, r.Write = engine.NoSync, false, true
		r.Buf = r.Buf[:r.Length]
		w.writeGen++
		if w.fill != nil {
			w.fill.beforeWrite(r.Buf, r.Offset)
		}
		w.writesSinceSync++
		return true
	}
	if s := w.sfr; s != nil && w.nextRangeSync(s, r) {
		return true
	}
	if w.ioDone() {
		return false
	}
	if w.loopEnd > 0 && w.issued >= w.loopEnd {
		// unlink_each_loop: the loop's I/O drains before its files go.
		w.atLoopEnd = true
		return false
	}
	if n, kind := w.syncEvery(); n > 0 && w.writesSinceSync >= n {
		w.writesSinceSync = 0
		if s := w.sfr; s != nil {
			// The flush covers every write completed so far: the
			// ranges start afresh, as fio's do. fio syncs once at a
			// count of writes, the flush first: a sync_file_range due
			// at this one is skipped.
			s.flushed(w.writeGen)
		}
		if !w.mapperSyncs() {
			r.File, r.Sync = w.files[0], kind // a flush is of every device
			return true
		}
		// The mapper keeps its mappings on the device (cowlog): its
		// Sync commits them, on this worker's queue, before the next
		// I/O is issued.
		t0 := time.Now()
		err := w.q.Sync()
		w.synced(kind, time.Since(t0), err)
		if w.stopping {
			return false
		}
	}
	r.Sync = engine.NoSync
	var io workloads.IO
	var fi int
	for tries := 0; ; tries++ {
		fi, io = w.next()
		if io.End {
			if io.PassEnd {
				w.atLoopEnd, w.passEnded = true, true // rw=rw's pass is over (mixPasses), or one ended short
				return false
			}
			// The offsets have run out (random_sequence_stride past the
			// region's end): the job's I/O ends here, as fio's does.
			w.offsetsEnded = true
			return false
		}
		// A verifying job draws again a write that would meet one in
		// flight, whose order on the device is not known. Reads are
		// left as drawn, as fio issues them: a read checked against
		// what was written is of a job that does not write, or
		// verify_backlog's, which waits for the writes first (rw=rw's
		// draws, redrawn around its reads, came out in other
		// directions than fio's at depth).
		if w.ver == nil || !io.Write || tries > 64 || !overlaps(w.inflight, w.files[fi], io) {
			break
		}
	}
	// The last I/O of a pass goes whole, past the pass's size with mixed
	// block sizes, as fio's: fio cuts an I/O only at the region's end
	// and (random map) at the first block already done, both of which
	// the generator does.
	r.File, r.Offset, r.Write, r.Trim, r.Length = w.files[fi], io.Offset, io.Write, io.Trim, int(io.Length)
	r.Prio = w.prioDefault
	if w.prioDrawn {
		r.Prio = w.pickPrio(io) // a call, io copied, only when there is a draw
	}
	r.Buf = r.Buf[:io.Length]
	if io.Write {
		w.writeGen++
	}
	switch {
	case w.ver != nil:
		if io.Write {
			w.inflight[fileOffset{r.File, io.Offset}] = io.Length
			w.ver.Fill(r.Buf, io.Offset, w.writeGen)
		}
	case io.Write && w.fill != nil:
		w.fill.beforeWrite(r.Buf, io.Offset)
	}
	w.issued += io.Length
	w.issuedIOs++
	if io.Write {
		w.writesSinceSync++
	}
	return true
}

// ioDone reports whether the job has issued all its I/O (size, or
// number_ios, which counts per loop, as fio's).
func (w *worker) ioDone() bool {
	j := w.job
	return w.offsetsEnded || !j.TimeBased && w.issued >= w.passBytes || j.NumberIOs > 0 && w.issuedIOs+w.passReads >= j.NumberIOs*max(j.Loops, 1)
}

// nextRangeSync fills r with the next sync_file_range call of s and
// reports whether there is one: the rest of a point under way (one call
// per file), or the first of a point due before the next I/O. None comes
// after the job's last I/O, and a flush due at the same count of writes
// goes instead (nextIO issues it, and it skips the point), as in fio.
func (w *worker) nextRangeSync(s *rangeSyncs, r *engine.Request) bool {
	if len(s.due) == 0 {
		if !s.isDue(w.writeGen) || w.ioDone() {
			return false
		}
		if n, _ := w.syncEvery(); n > 0 && w.writesSinceSync >= n {
			return false
		}
		s.at = w.writeGen
		if !s.collect() {
			return false
		}
	}
	s.fill(r)
	return true
}

// continues reports whether job j goes on after r's failure
// (continue_on_error, ignore_error), and counts it in m as fio does: the
// errors gone on after, and the first one's number. The workload's I/O
// (worker.complete) and a verify pass's reads (verifyRun) count so.
func (m *measure) continues(j *workloads.Job, r *engine.Request) bool {
	var e unix.Errno
	if j.ContinueOnError == 0 || !errors.As(r.Err, &e) || !j.Continues(r.Write || r.Trim, e) {
		return false
	}
	m.ioErrs++
	if m.firstErr == 0 {
		m.firstErr = e
	}
	return true
}

// pickPrio returns the I/O priority of io: the job's, or for
// cmdprio_percentage's share of its direction (cmdprio_bssplit's of its
// size) cmdprio's or the entry's, by a draw of the worker's own
// generator, seeded from the job's seed and the clone.
func (w *worker) pickPrio(io workloads.IO) uint16 {
	if !w.prioDrawn {
		return w.prioDefault // no cmdprio option: every I/O the job's priority
	}
	p := &w.job.Prio
	d := workloads.DirRead
	if io.Write {
		d = workloads.DirWrite
	}
	if io.Trim || !p.Drawn(d) {
		return p.Default()
	}
	if w.prioRand == nil {
		w.prioRand = rand.New(rand.NewPCG(w.job.RandSeed, 0x10_9410+uint64(w.idx)))
	}
	return p.Pick(d, io.Length, w.prioRand.IntN(100))
}

// nextReplay fills r with the log's next I/O (read_iolog) and reports
// whether there is one; w.replayDue is when it is due (zero: at once).
func (w *worker) nextReplay(r *engine.Request, l *replayLog) bool {
	var e replayEntry
	switch {
	case w.replayPos < len(l.entries):
		e = l.entries[w.replayPos]
		w.replayPos++
	case l.chunked == nil:
		return false
	default:
		var ok bool
		var err error
		e, ok, err = l.chunked.take(func() bool {
			return w.stopping || interrupted.Load() || w.stopped() || !w.deadline.IsZero() && !time.Now().Before(w.deadline)
		})
		if err != nil {
			if w.err == nil {
				w.err = fmt.Errorf("job %q: %w", w.job.Name, err)
			}
			w.stopping = true
		}
		if !ok {
			return false
		}
	}
	fi := e.file
	if w.job.ReplayRedirect != "" {
		fi = 0
	}
	r.File, r.Sync, r.Trim, r.Write = w.files[fi], e.sync, false, e.write
	r.Offset, r.Length = e.off, int(e.length)
	if e.sync == engine.NoSync {
		r.Buf = r.Buf[:e.length]
		w.issued += e.length
		w.issuedIOs++
	}
	if e.write {
		w.writeGen++
		if w.fill != nil {
			w.fill.beforeWrite(r.Buf, r.Offset)
		}
	}
	w.replayDue = time.Time{}
	if !w.job.ReplayNoStall && e.at > 0 {
		w.replayDue = w.epoch.Add(e.at)
	}
	return true
}

// fileIndex returns the index of f among the clone's files (-1: none).
func (w *worker) fileIndex(f *engine.File) int {
	return slices.Index(w.files, f)
}

// synced accounts for one flush (fsync=n, fdatasync=n) or
// sync_file_range call of the given kind that took lat and ended with
// err.
func (w *worker) synced(kind engine.Sync, lat time.Duration, err error) {
	switch {
	case err != nil:
		if w.err == nil {
			name := "fsync"
			if kind == engine.SyncRange {
				name = "sync_file_range"
			}
			w.err = fmt.Errorf("%s: %w", name, err)
		}
		w.stopping = true
	case w.measuring:
		w.syncs++
		if kind == engine.SyncRange {
			w.rangeSyncs++
		}
		_ = w.syncLat.RecordValue(max(int64(lat), 1))
		if w.iv != nil {
			w.iv.syncs++
			_ = w.iv.syncLat.RecordValue(max(int64(lat), 1))
		}
	}
}

// mapperSyncs reports a mapper that keeps its mappings on the device
// (engine.Syncer, cowlog): flushing the device is not enough to make its
// writes durable, Queue.Sync is.
func (w *worker) mapperSyncs() bool {
	_, ok := w.eng.Mapper().(engine.Syncer)
	return ok
}

// syncEvery returns after how many writes the job flushes, and how.
func (w *worker) syncEvery() (int, engine.Sync) {
	switch j := w.job; {
	case j.FdatasyncEvery > 0:
		return j.FdatasyncEvery, engine.Fdatasync
	case j.FsyncEvery > 0:
		return j.FsyncEvery, engine.Fsync
	}
	return 0, engine.NoSync
}

// closeSyncs flushes the clone's files once, after the job's I/O, for
// end_fsync or fsync_on_close (both: still once, as in fio 3.33). One
// flush request flushes every device of the engine, so every file; the
// iolog has a sync for each file, as fio's has. end_syncfs syncs their
// filesystems instead (endSyncfs), as newer fio does.
func (w *worker) closeSyncs() error {
	j := w.job
	if !j.RW.Writes() || j.VerifyOnly {
		return nil
	}
	if w.mapperSyncs() {
		// A durable mapper's run that ends leaves its writes durable,
		// as unmounting a filesystem does (end_fsync or not).
		if err := w.q.Sync(); err != nil {
			return err
		}
		return w.endSyncfs()
	}
	if j.EndSyncfs {
		// Newer fio: syncfs takes the place of the files' flush. A block
		// device, which syncfs leaves out, still takes end_fsync's or
		// fsync_on_close's flush here (newer fio's would take none).
		if err := w.endSyncfs(); err != nil {
			return err
		}
		if !slices.ContainsFunc(w.setup.tgt.clones[w.idx], func(fi int) bool { return w.setup.devs[fi].IsBlock() }) {
			return nil
		}
	}
	if !j.EndFsync && !j.FsyncOnClose {
		return nil
	}
	r := &w.reqs[0]
	r.File, r.Sync = w.files[0], engine.Fsync
	if w.iolog != nil {
		now := time.Now()
		for fi, f := range w.files {
			if slices.Index(w.files, f) == fi { // a file named twice once
				w.iolog.issued(now, fi, r)
			}
		}
	}
	if err := w.q.Submit(r); err != nil {
		return err
	}
	if _, err := w.reapWaiting(nil); err != nil {
		return err
	}
	return r.Err
}

// syncfs is syncfs(2); tests see the calls through it.
var syncfs = unix.Syncfs

// endSyncfs syncs, for end_syncfs, the filesystem of each of the clone's
// regular files, once per filesystem (files with the same st_dev), with
// syncfs(2) on the file's descriptor, when the clone's I/O is done, as
// newer fio does. A block device has no filesystem of its own (syncfs on
// it would sync the one holding its device node, not the device), so it
// takes nothing, as newer fio leaves devices out. It is not timed with the
// syncs nor logged by write_iolog (fio 3.33's iolog has no action for it).
func (w *worker) endSyncfs() error {
	if !w.job.EndSyncfs {
		return nil
	}
	s := w.setup
	var done []uint64
	for _, fi := range s.tgt.clones[w.idx] {
		d := s.devs[fi]
		if d.IsBlock() {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstat(d.Fd(), &st); err != nil {
			return fmt.Errorf("end_syncfs: %s: %w", d.Path(), err)
		}
		if slices.Contains(done, st.Dev) {
			continue
		}
		done = append(done, st.Dev)
		if err := syncfs(d.Fd()); err != nil {
			return fmt.Errorf("end_syncfs: syncfs of the filesystem of %s: %w", d.Path(), err)
		}
	}
	return nil
}

// complete accounts for the completed request r and checks what it read
// when the job verifies.
func (w *worker) complete(r *engine.Request) {
	if r.Sync != engine.NoSync {
		// (fio 3.33 judges no flush by latency_target: with fsync=1 and
		// flushes over the target, it fails a job only at a write over it.)
		w.synced(r.Sync, r.Latency, r.Err)
		return
	}
	d := dirOf(r)
	if w.ver != nil && r.Write {
		delete(w.inflight, fileOffset{r.File, r.Offset})
	}
	measured := w.measuring // (the I/O that ends ramp_size's ramp is the ramp's)
	switch {
	case r.Err != nil && w.measure.continues(w.job, r):
		// continue_on_error: counted, as fio counts it (an I/O of no
		// bytes), and the job goes on.
		w.errs[d]++
		if w.measuring {
			w.measure.record(w.job, r, d)
			w.lvIOs[d]++
		}
		if w.written != nil && d == workloads.DirWrite {
			// Not read back: fio drops a failed write from its log.
			w.written.drop(w.fileIndex(r.File), r.Offset, uint64(len(r.Buf)), true)
		}
		return
	case r.Err != nil:
		w.errs[d]++
		if w.err == nil {
			w.err = r.Err
		}
		// The job stops at its first failed I/O, as fio's does
		// (continue_on_error=none): it issues nothing more, and what is
		// in flight completes.
		w.stopping = true
		return
	case w.job.MaxLatency[d] > 0 && r.Latency > w.job.MaxLatency[d]:
		// max_latency: the job fails at the first I/O over the limit,
		// counted as done (as fio counts it).
		if w.measuring {
			w.measure.record(w.job, r, d)
		}
		if w.err == nil {
			w.err = fmt.Errorf("latency of %d nsec exceeds specified max (%d nsec): %s %s %d %d: %w", r.Latency.Nanoseconds(),
				w.job.MaxLatency[d].Nanoseconds(), w.setup.pathOf(r.File), dirNames[d], r.Offset, r.N, unix.ETIMEDOUT)
		}
		w.stopping = true
	case w.measuring:
		w.measure.record(w.job, r, d)
		if w.iv != nil {
			w.iv.record(w.job, r, d)
		}
		if r.Tag == tagVerifyRead {
			w.verifyReadIOs++
			w.verifyReadBytes += uint64(r.N)
			if w.logger != nil {
				w.logger.recordVerify(r, w.now, w.issuedAt(r))
			}
		} else if w.logger != nil {
			w.logger.record(r, d, w.now, w.issuedAt(r))
		}
		w.lvIOs[d]++
		w.lvBytes[d] += uint64(r.N)
	case w.ramp != nil:
		// ramp_size: the I/O that completes the ramp is the ramp's, the
		// next is measured.
		if w.ramp.add(uint64(r.N)) {
			w.endRamp(w.now)
		}
	}
	if w.lat != nil && measured && w.lat.complete(latOf(w.job, r)) && w.err == nil {
		// latency_target with latency_percentile=100: an I/O over the
		// target at depth 1 fails the job, as max_latency's does.
		w.err = fmt.Errorf("latency of %d nsec exceeds specified max (%d nsec): %s %s %d %d: %w", r.Latency.Nanoseconds(),
			w.job.LatencyTarget.Nanoseconds(), w.setup.pathOf(r.File), dirNames[d], r.Offset, r.N, unix.ETIMEDOUT)
		w.stopping = true
	}
	if r.Trim && w.job.RW.Writes() {
		r.Tag = tagWriteTrimmed // trimwrite: the block is written next
	}
	if r.Write {
		if w.sfr != nil {
			// The range the next sync_file_range of the file covers
			// grows with each write completed, as fio's does.
			w.sfr.wrote(r.File, r.Offset, uint64(r.N))
		}
	}
	if w.ver != nil && r.Write && w.job.VerifyBacklog > 0 {
		w.backlog = append(w.backlog, fileIO{r.File, workloads.IO{Offset: r.Offset, Length: uint64(r.N), IOFlags: workloads.IOFlags{Write: true}}})
		w.backlogDue = len(w.backlog) >= w.job.VerifyBacklog || w.backlogCredit > 0
		if h := w.written; h != nil && !h.ordered {
			// fio's writes kept by offset: a check is due when their
			// number (a write drops those it overlaps) is a multiple
			// of verify_backlog.
			w.backlogDue = h.kept()%w.job.VerifyBacklog == 0 || w.backlogCredit > 0
		}
	}
	if w.ver != nil && !r.Write && (r.Tag == tagVerifyRead || !w.job.RW.Writes()) {
		// As fio's: a read of a job that also writes is not checked
		// (what it reads may be what no write of the job put there);
		// the job's writes are, by the verify reads.
		if _, err := w.ver.Check(r.Buf[:r.N], r.Offset); err != nil {
			if w.err == nil {
				w.err = fmt.Errorf("%s: %w", w.setup.pathOf(r.File), err)
			}
			w.stopping = true
		} else {
			w.verified += uint64(r.N)
		}
	}
}

// dirOf is the direction of the completed request r.
func dirOf(r *engine.Request) int {
	switch {
	case r.Trim:
		return workloads.DirTrim
	case r.Write:
		return workloads.DirWrite
	}
	return workloads.DirRead
}

// tagWriteTrimmed marks a request (Request.Tag) whose trim of a trimwrite
// job has completed: its next I/O writes the block it trimmed, as fio's
// trimwrite does. The write is issued only once the trim completed, so
// the discard can never land after it.
const tagWriteTrimmed = 1

// tagVerifyRead marks a read of verify_backlog (Request.Tag), which reads
// back one of the job's writes: it is checked whatever the job's other
// reads are.
const tagVerifyRead = 2

// fileOffset is an offset in one of a job's files.
type fileOffset struct {
	f   *engine.File
	off uint64
}

// fileIO is an I/O on one of a job's files.
type fileIO struct {
	f  *engine.File
	io workloads.IO
}

// overlaps reports whether io on f overlaps an I/O in flight.
func overlaps(inflight map[fileOffset]uint64, f *engine.File, io workloads.IO) bool {
	for k, n := range inflight {
		if k.f == f && rangesMeet(io.Offset, io.Length, k.off, n) {
			return true
		}
	}
	return false
}

// rangesMeet reports whether [a, a+an) and [b, b+bn) share a byte.
func rangesMeet(a, an, b, bn uint64) bool { return a < b+bn && b < a+an }

// sliceForVerify reports whether a verifying job's clones each write a
// slice of their shared files rather than the whole region, as they do
// when numjobs is over 1 and offset_increment does not already set them
// apart (fio's clones each write the whole file, and fio warns that their
// verify may then fail).
func sliceForVerify(j *workloads.Job, shared bool) bool {
	return j.Verify != "" && j.NumJobs > 1 && shared && j.OffsetIncrement == 0
}

// sliceGenerator gives clone idx its own 1/numjobs of the region.
func sliceGenerator(j *workloads.Job, idx int, size uint64) *workloads.Generator {
	c := j.Clone()
	base := c.Offset
	span := size - min(base, size)
	if c.Size > 0 && c.Size < span {
		span = c.Size
	}
	unit := c.MaxBS()
	part := span / uint64(c.NumJobs) / unit * unit
	c.Offset = base + uint64(idx)*part
	c.Size = part
	return workloads.NewGenerator(&c, idx, size)
}

// newVerifier returns the verifier of j's verify options.
func newVerifier(j *workloads.Job) *workloads.Verifier {
	v := &workloads.Verifier{Interval: j.VerifyBlock(), Hash: j.Verify, Seed: j.RandSeed, Pattern: j.VerifyPattern}
	if j.Verify != "pattern" {
		v.HeaderAt = int(j.VerifyOffset)
	}
	return v
}

// verifyPass reads back what each part names (the writes a clone kept,
// or all of the job's region when that is not known: verify_only) and
// checks them, as fio's verify phase does: iodepth reads in flight, each
// recorded as a read (fio counts its verify reads in the read
// statistics), with the bytes checked and the time of the part's pass
// (the reads' runtime), in the part's measure. A mismatch stops the pass;
// of the reads then in flight, the bad block with the lowest offset is
// the one reported, so the first bad block is named whatever order the
// reads complete in. With skipUnwritten (verify_only over a region the
// job may have written in part) blocks with no verify header are not
// checked but counted, in skipped.
func (s *jobSetup) verifyPass(parts []verifyPart, skipUnwritten bool) (checked, skipped uint64, err error) {
	j := s.job
	v := verifyRun{s: s, ver: newVerifier(j), skipUnwritten: skipUnwritten}
	for range max(j.IODepth, 1) {
		buf := s.eng.Buffer(int(j.MaxBS()))
		if buf == nil {
			return 0, 0, fmt.Errorf("buffer arena exhausted")
		}
		defer s.eng.PutBuffer(buf)
		v.idle = append(v.idle, &engine.Request{Buf: buf})
	}
	q, err := s.eng.NewQueue()
	if err != nil {
		return 0, 0, err
	}
	defer q.Close() // first: nothing is in flight when the buffers go back
	v.q, v.done = q, make([]*engine.Request, 0, len(v.idle))
	if j.VerifyAsync > 0 {
		v.checkers = newAsyncChecks(j, j.VerifyAsync, len(v.idle), v.skipUnwritten)
		defer close(v.checkers.in) // v.run waits for every check it hands out
	}
	for _, p := range parts {
		v.m = p.m
		start := time.Now()
		err := v.run(p)
		v.m.verifyTime += time.Since(start)
		if err != nil {
			return v.n, v.skipped, err
		}
	}
	return v.n, v.skipped, nil
}

// verifyPart is what one step of a verify pass reads back, recorded in
// m: the writes a clone kept (written), on its files (files: the job's
// index of each of the clone's files), each listed in log (the clone's
// write_iolog, nil for none); or, with written nil, the whole region of
// the job's file file, in reads of the job's smallest block size.
type verifyPart struct {
	m       *measure
	written *writeHistory
	files   []int
	log     *ioLog
	file    int
	// logs, if not nil, get the reads (recordVerify).
	logs *verifyLog
}

// verifyLog is where a verify pass logs its reads: the bandwidth, IOPS
// and latency logs of the clone whose writes it reads back, or of a
// verify_only job, with the clock of their issue times (log_issue_time).
// end is set to each reap's time: the logs' last window ends at the
// pass's last reap (finishLogs).
type verifyLog struct {
	l        *jobLogger
	issuedAt func(*engine.Request) time.Time
	end      *time.Time
}

// verifyLog returns where a verify pass logs the reads of w's writes:
// nil if w keeps no logs, or has not started measuring (a ramp that
// outlasted the writes).
func (w *worker) verifyLog() *verifyLog {
	if w.logger == nil || !w.measuring {
		return nil
	}
	return &verifyLog{l: w.logger, issuedAt: w.issuedAt, end: &w.logEnd}
}

// verifyRead is one read of a verify pass: n bytes at off of the job's
// file file, the clone's file k.
type verifyRead struct {
	file, k int
	off, n  uint64
}

// reads yields the reads of p, in order.
func (p verifyPart) reads(s *jobSetup) iter.Seq[verifyRead] {
	if p.written != nil {
		return func(yield func(verifyRead) bool) {
			for e := range p.written.writes() {
				if !yield(verifyRead{file: p.files[e.file], k: int(e.file), off: e.off, n: uint64(e.n)}) {
					return
				}
			}
		}
	}
	base, span := s.region(p.file)
	unit := s.job.MinBS()
	return func(yield func(verifyRead) bool) {
		for off := uint64(0); off < span; off += unit {
			if !yield(verifyRead{file: p.file, off: base + off, n: min(unit, span-off)}) {
				return
			}
		}
	}
}

// verifyRun is one verify pass: its queue, its idle requests (each with a
// buffer of the job's largest block), the measure the part being read
// back records into, and what it has checked.
type verifyRun struct {
	s          *jobSetup
	m          *measure
	q          *engine.Queue
	ver        *workloads.Verifier
	idle, done []*engine.Request
	n          uint64 // bytes checked
	// skipUnwritten: blocks with no verify header are not checked but
	// counted, in skipped (see verifyPass).
	skipUnwritten bool
	skipped       uint64
	// stopAt, when set, is the runtime's end: no read starts after it
	// (a time_based job's pass, whose reads the runtime cuts short as
	// fio's).
	stopAt time.Time
	// checkers, with verify_async, check the reads in goroutines of
	// their own; pending counts the reads they hold.
	checkers *asyncChecks
	pending  int
}

// asyncChecks are verify_async's checking goroutines: each takes reads
// from in, checks them with a verifier of its own, and hands each back
// on out with what its check found.
type asyncChecks struct {
	in  chan *engine.Request
	out chan checked
}

type checked struct {
	r       *engine.Request
	skipped int // bytes with no verify header (checkRead)
	err     error
}

// newAsyncChecks starts n checking goroutines for job j, for up to depth
// reads at once, each read checked as checkRead checks it; close(in)
// stops them.
func newAsyncChecks(j *workloads.Job, n, depth int, skipUnwritten bool) *asyncChecks {
	c := &asyncChecks{in: make(chan *engine.Request, depth), out: make(chan checked, depth)}
	for range n {
		go func() {
			ver := newVerifier(j)
			for r := range c.in {
				skipped, err := checkRead(ver, r, skipUnwritten)
				c.out <- checked{r, skipped, err}
			}
		}()
	}
	return c
}

// checkRead checks the verify read r: all of it, or with skipUnwritten
// the blocks that carry a verify header, returning the bytes of those
// that do not.
func checkRead(ver *workloads.Verifier, r *engine.Request, skipUnwritten bool) (skipped int, err error) {
	if skipUnwritten {
		return ver.CheckWritten(r.Buf[:r.N], r.Offset)
	}
	_, err = ver.Check(r.Buf[:r.N], r.Offset)
	return 0, err
}

// run reads back and checks the reads of p (see verifyPass). As fio's
// write_iolog does, p's log has each of the clone's files closed and
// opened again before the reads, and each read as it is issued.
func (v *verifyRun) run(p verifyPart) error {
	s := v.s
	if p.log != nil {
		p.log.reopen(time.Now())
	}
	next, stop := iter.Pull(p.reads(s))
	defer stop()
	rd, more := next()
	var bad error
	badFile, badOff := len(s.files), ^uint64(0)
	// done takes back a read whose check is over: err is what it found,
	// skipped the bytes it did not check (no verify header).
	done := func(r *engine.Request, skipped int, err error) {
		v.idle = append(v.idle, r)
		if skipped > 0 {
			v.m.verified -= uint64(skipped)
			v.n -= uint64(skipped)
			v.skipped += uint64(skipped)
		}
		if err == nil {
			return
		}
		fi := slices.Index(s.files, r.File)
		if fi < badFile || fi == badFile && r.Offset < badOff {
			bad, badFile, badOff = fmt.Errorf("%s: %w", s.tgt.paths[fi], err), fi, r.Offset
		}
	}
	for more && bad == nil || v.q.InFlight() > 0 || v.pending > 0 {
		for v.checkers != nil && v.pending > 0 {
			select {
			case c := <-v.checkers.out:
				v.pending--
				done(c.r, c.skipped, c.err)
				continue
			default:
			}
			if v.q.InFlight() == 0 && (len(v.idle) == 0 || !more || bad != nil) {
				c := <-v.checkers.out // nothing else to do: wait for a check
				v.pending--
				done(c.r, c.skipped, c.err)
				continue
			}
			break
		}
		for len(v.idle) > 0 && more && bad == nil {
			if interrupted.Load() {
				bad, badFile, badOff = errInterrupted, -1, 0
				break
			}
			if !v.stopAt.IsZero() && !time.Now().Before(v.stopAt) {
				more = false
				break
			}
			r := v.idle[len(v.idle)-1]
			v.idle = v.idle[:len(v.idle)-1]
			r.File, r.Offset, r.Write, r.Buf = s.files[rd.file], rd.off, false, r.Buf[:rd.n]
			if p.log != nil {
				p.log.issued(time.Now(), rd.k, r)
			}
			rd, more = next()
			if err := v.q.Submit(r); err != nil {
				return fmt.Errorf("%s: %w", s.pathOf(r.File), err)
			}
		}
		if v.q.InFlight() == 0 {
			if v.pending > 0 {
				continue // the checks still out come back at the top
			}
			break
		}
		var err error
		if v.done, err = v.q.ReapBatch(v.done[:0], 1, 0); err != nil {
			return err
		}
		var now time.Time
		if p.logs != nil {
			// The log windows go on through the pass, as the I/O
			// loop's: each reap closes those that have ended.
			now = time.Now()
			p.logs.l.tick(now, false)
			*p.logs.end = now
		}
		for _, r := range v.done {
			if r.Err != nil {
				if v.m.continues(s.job, r) {
					// As fio's verify phase, where continue_on_error
					// covers reads: counted as a read of no bytes, as
					// worker.complete counts the workload's, and its
					// block goes unchecked.
					v.m.errs[workloads.DirRead]++
					v.m.record(s.job, r, workloads.DirRead)
					v.idle = append(v.idle, r)
					continue
				}
				done(r, 0, r.Err)
				continue
			}
			v.m.record(s.job, r, workloads.DirRead)
			v.m.verifyReadIOs++
			v.m.verifyReadBytes += uint64(r.N)
			if p.logs != nil {
				p.logs.l.recordVerify(r, now, p.logs.issuedAt(r))
			}
			v.m.verified += uint64(r.N)
			v.n += uint64(r.N)
			if v.checkers != nil {
				v.pending++
				v.checkers.in <- r // never blocks: it holds a ring's worth
				continue
			}
			skipped, err := checkRead(v.ver, r, v.skipUnwritten)
			done(r, skipped, err)
		}
	}
	return bad
}
