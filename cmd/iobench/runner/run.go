package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/workloads"
	"golang.org/x/sys/unix"
)

// Execute runs jobs group by group on their targets and collects results.
// Bad input (a target that cannot be written, a job that does not fit the
// device, block sizes the device cannot take) is found before any I/O and
// returned as an error; a job that fails once running has its error in its
// JobResult. After an interrupt (see watchSignals) the jobs running drain
// and report, later groups do not run, and the Run is marked Interrupted.
func Execute(jobs []workloads.Job, groups [][]int, st settings, out Output, stderr io.Writer) (*Run, error) {
	run := &Run{Time: time.Now(), Kernel: kernel()}
	resetGlobalDedupe()
	if err := findOpenDirs(jobs, stderr); err != nil {
		return nil, &badInput{err}
	}
	replays, err := prepareReplays(jobs)
	if err != nil {
		return nil, &badInput{err}
	}
	targets, auto, err := planTargets(jobs, st, run)
	if auto != nil {
		defer auto.Close()
	}
	if err != nil {
		return nil, err
	}
	if auto != nil && st.sayAutoTarget {
		sayAutoTarget(jobs, auto, stderr)
	}
	for i, l := range replays {
		targets[i].replay = l
	}
	if err := numaCPUs(jobs); err != nil {
		return nil, &badInput{err}
	}
	if err := checkMemory(jobs, groups); err != nil {
		return nil, &badInput{err}
	}
	if err := checkCPUs(jobs); err != nil {
		return nil, &badInput{err}
	}
	if err := checkRampSizes(jobs, reportGroups(jobs, groups)); err != nil {
		return nil, &badInput{err}
	}
	// A signal during the layout runs nothing: the report lists the jobs
	// with nothing done, as fio's does.
	if err := layOutFiles(jobs, targets, stderr); err != nil && !errors.Is(err, errInterrupted) {
		return nil, err
	}
	onePassAppends(jobs, targets, stderr)
	trimFileNotices(jobs, targets, stderr)
	var paths []string // the targets whose disks the report's disk_util gives
	for i, t := range targets {
		if interrupted.Load() {
			break // nothing runs: no checks to make
		}
		for k, p := range t.paths {
			if t.createsOnOpen(k) {
				continue // checked when the job creates it (openJob)
			}
			if err := t.preflight(&jobs[i], k); err != nil {
				return nil, &badInput{err}
			}
			if err := replayPreflight(&jobs[i], t.replay, k, p); err != nil {
				return nil, &badInput{err}
			}
		}
		if !jobs[i].NullIO() {
			// As fio's null engine, a null job does no device I/O and
			// adds no disk to the report's disk_util.
			paths = append(paths, t.paths...)
		}
	}
	if out.Started != nil {
		out.Started()
	}
	lv := &live{}
	total := expectedTime(jobs, groups)
	disks := watchDisks(paths)
	logs := newLogSet()
	threadBase := make([]int, len(jobs))
	for i := 1; i < len(jobs); i++ {
		threadBase[i] = threadBase[i-1] + jobs[i-1].NumJobs
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { progress(out, lv, total, stop); close(done) }()
	usr1Done := make(chan struct{})
	go func() { statusOnSignal(out.Status, lv, stop); close(usr1Done) }()
	var board *statusBoard
	statusDone := make(chan struct{})
	if st.statusInterval > 0 {
		board = newStatusBoard(st.statusInterval, time.Now())
		board.setJobs(jobs, groups)
		go func() { printStatus(board, run, out, stop); close(statusDone) }()
	} else {
		close(statusDone)
	}
	var abort atomic.Bool // exitall_on_error: a job failed, stop them all
	var runFlows flows    // flow_id's flows
	rg := reportGroups(jobs, groups)
	for gi, g := range groups {
		if interrupted.Load() || abort.Load() {
			// The groups left never start. Their jobs are reported
			// with nothing done, as fio lists them.
			for _, g := range groups[gi:] {
				results := make([][]JobResult, len(g))
				for k, ji := range g {
					results[k] = notStarted(jobs[ji], rg[ji])
				}
				run.Jobs = append(run.Jobs, groupResults(jobs, g, results)...)
			}
			break
		}
		restoreProcs := procsFor(jobs, g)
		results := make([][]JobResult, len(g))
		finished := make(chan struct{}, len(g))
		// exitall: the first job of the group to finish with it set
		// stops the others.
		// One stop flag per reporting group of the group's jobs.
		stopRG := map[int]*atomic.Bool{}
		for _, ji := range g {
			if stopRG[rg[ji]] == nil {
				stopRG[rg[ji]] = new(atomic.Bool)
			}
		}
		// Flows: the weights of every clone of the group's jobs join
		// before any starts.
		jobFlow := map[int]*flow{}
		for _, ji := range g {
			if j := &jobs[ji]; j.Flow != 0 {
				jobFlow[ji] = runFlows.join(j.FlowID, flowWeight(j.Flow)*int64(j.NumJobs))
			}
		}
		// Steady-state detection with group_reporting watches the
		// reporting group's jobs together.
		groupSS := map[int]*steady{}
		for _, ji := range g {
			if j := &jobs[ji]; j.GroupReporting && j.SS.Dur > 0 && groupSS[rg[ji]] == nil {
				groupSS[rg[ji]] = newSteady(j.SS)
			}
		}
		// ramp_size with group_reporting counts the reporting group's
		// bytes together, and its jobs' ramps end together (as fio).
		groupRamp := map[int]*rampCount{}
		for _, ji := range g {
			if j := &jobs[ji]; j.GroupReporting && j.RampSize > 0 && groupRamp[rg[ji]] == nil {
				groupRamp[rg[ji]] = &rampCount{size: j.RampSize}
			}
		}
		for k, ji := range g {
			go func() {
				defer board.jobEnded(ji)
				var ss *steady
				var ramp *rampCount
				if jobs[ji].GroupReporting {
					ss, ramp = groupSS[rg[ji]], groupRamp[rg[ji]]
				}
				if jobs[ji].CreateOnly {
					// Its files were laid out with the others'.
					results[k] = []JobResult{failedResult(jobs[ji], rg[ji], nil)}
					finished <- struct{}{}
					return
				}
				if d := jobs[ji].StartDelay; d > 0 {
					// As fio: the job starts after its delay, its
					// exec_prerun and its open (create_on_open) too.
					wait(time.Now().Add(d), 0, func() bool {
						return interrupted.Load() || stopRG[rg[ji]].Load() || abort.Load()
					})
				}
				unpin, err := pinMemory(&jobs[ji])
				var unsched func()
				if err == nil {
					unsched, err = switchScheduler(&jobs[ji], targets[ji].paths)
				}
				if err == nil {
					err = runHook(&jobs[ji], "prerun", jobs[ji].ExecPrerun, stderr)
				}
				switch {
				case err != nil && interrupted.Load():
					// A signal stopped the prerun (its shell gets the
					// terminal's too): the job was interrupted, not failed.
					r := failedResult(jobs[ji], rg[ji], nil)
					r.Interrupted = true
					results[k] = []JobResult{r}
				case err != nil:
					results[k] = []JobResult{failedResult(jobs[ji], rg[ji], err)}
				default:
					results[k] = runJob(jobs[ji], rg[ji], targets[ji], runCtx{lv: lv, stop: stopRG[rg[ji]], abort: &abort, status: board,
						jobIdx: ji, logs: logs, threadBase: threadBase[ji], ss: ss, ramp: ramp, flow: jobFlow[ji]})
					if rs := results[k]; len(rs) > 0 && rs[0].Note != "" {
						fmt.Fprintf(stderr, "iobench: notice: job %q: %s\n", jobs[ji].Name, rs[0].Note)
					}
					if err := runHook(&jobs[ji], "postrun", jobs[ji].ExecPostrun, stderr); errors.Is(err, errInterrupted) {
						// A signal ended the postrun: the job was
						// interrupted, as one whose prerun it ended.
						for i := range results[k] {
							results[k][i].Interrupted = true
						}
					} else if err != nil {
						fmt.Fprintf(stderr, "iobench: job %q: %v\n", jobs[ji].Name, err)
					}
				}
				if unsched != nil {
					unsched()
				}
				if unpin != nil {
					unpin()
				}
				if err := removeFiles(&jobs[ji], targets[ji]); err != nil {
					fmt.Fprintf(stderr, "iobench: job %q: unlink: %v\n", jobs[ji].Name, err)
				}
				if j := &jobs[ji]; j.ExitAll {
					switch j.ExitWhat {
					case "all": // every job, and no group after this one
						abort.Store(true)
					case "stonewall": // every job running, in every reporting group
						for _, f := range stopRG {
							f.Store(true)
						}
					default: // the job's reporting group
						stopRG[rg[ji]].Store(true)
					}
				}
				if jobs[ji].ExitAllOnError && slices.ContainsFunc(results[k], func(r JobResult) bool { return r.Err != nil }) {
					abort.Store(true)
				}
				finished <- struct{}{}
			}()
		}
		for range g {
			<-finished
		}
		restoreProcs()
		ssRes := map[int]SteadyResult{}
		for id, ss := range groupSS {
			ssRes[id] = ss.close()
		}
		for _, r := range groupResults(jobs, g, results) {
			if res, ok := ssRes[r.GroupID]; ok && r.Job.GroupReporting {
				r.SS = &res
			}
			run.Jobs = append(run.Jobs, r)
		}
	}
	run.Disks = disks.utils()
	run.Elapsed = time.Since(run.Time)
	run.Time = run.Time.Add(run.Elapsed) // the report's time, as fio stamps its JSON
	if err := logs.close(); err != nil {
		sayErr(stderr, err)
	}
	if board != nil {
		board.finish()
	}
	close(stop)
	<-done
	<-usr1Done
	<-statusDone
	run.Interrupted = interrupted.Load()
	return run, nil
}

// trimFileNotices says, once per job, that a trimming job's trims of a
// regular file punch holes in it, where fio 3.33's fail (err=25: its
// trims are BLKDISCARD, an ioctl of block devices, on every engine).
func trimFileNotices(jobs []workloads.Job, targets []*jobTarget, stderr io.Writer) {
	for i := range jobs {
		j := &jobs[i]
		if !j.RW.Trims() || j.NullIO() {
			continue
		}
		if k := slices.Index(targets[i].regular, true); k >= 0 {
			fmt.Fprintf(stderr, "iobench: notice: job %q: trims of the regular file %s punch holes in it (fallocate); fio 3.33 fails them with err=25 (its trims are BLKDISCARD, a block device's ioctl)\n", j.Name, targets[i].paths[k])
		}
	}
}

// onePassAppends makes a file_append job on regular files one pass, as
// fio 3.33 runs it: fio's later passes (loops, time_based) start at the
// file's new end, past the job's region, and do nothing. A notice on
// stderr says so.
func onePassAppends(jobs []workloads.Job, targets []*jobTarget, stderr io.Writer) {
	for i := range jobs {
		j := &jobs[i]
		if targets[i].appendAt == nil || j.Loops <= 1 && !j.TimeBased {
			continue
		}
		fmt.Fprintf(stderr, "iobench: notice: job %q: file_append: one pass over what it appends, as in fio, whose later passes (loops, time_based) start at the file's new end and do nothing\n", j.Name)
		j.Loops, j.TimeBased = 1, false
	}
}

// prioPreflight refuses a job whose reads or writes would go out with
// the real-time I/O priority class without the capability the kernel
// asks for it (each I/O would fail with EPERM).
func prioPreflight(j *workloads.Job) error {
	rt := false
	for d, on := range []bool{j.RW.Reads(), j.RW.Writes()} {
		for _, v := range j.Prio.Values(d, j.DirSizes(d)) {
			rt = rt || on && v>>13 == workloads.PrioClassRT
		}
	}
	if j.IsSet("nice") && j.Nice < 0 && !hasCap(unix.CAP_SYS_NICE) {
		return fmt.Errorf("job %q: nice=%d: a nice value below 0 needs CAP_SYS_NICE, which iobench does not have", j.Name, j.Nice)
	}
	if rt && !hasCap(unix.CAP_SYS_ADMIN) && !hasCap(unix.CAP_SYS_NICE) {
		return fmt.Errorf("job %q: the real-time I/O priority class (prioclass=1, or cmdprio_class=1, the default of cmdprio_percentage and cmdprio_bssplit) needs CAP_SYS_ADMIN or CAP_SYS_NICE, which iobench does not have: run it as root or choose class 2 (best effort) or 3 (idle)", j.Name)
	}
	return nil
}

// preflight checks file k of the target for job j (preflight), with a
// file_append job's region after the file's old end.
func (t *jobTarget) preflight(j *workloads.Job, k int) error {
	io := t.plans[k].IO
	if t.appends(k) {
		c := j.Clone()
		c.Offset, c.OffsetPct, c.OffsetIncrement, c.OffsetIncrementPct = t.appendAt[k], 0, 0, 0
		j, io = &c, io*uint64(t.sharers[k])
	}
	var extent uint64
	if t.createsOnOpen(k) {
		extent = t.plans[k].Need
	}
	lo, hi := t.cloneSpan(k, j.NumJobs)
	return preflight(j, t.paths[k], io, extent, lo, hi)
}

// cloneSpan returns the first and the last of the job's numjobs clones
// that work on file k: every clone when they share their files, one
// when each clone has files of its own.
func (t *jobTarget) cloneSpan(k, numjobs int) (lo, hi int) {
	lo, hi = -1, -1
	for c, list := range t.clones {
		if slices.Contains(list, k) {
			if lo < 0 {
				lo = c
			}
			hi = c
		}
	}
	if lo < 0 {
		return 0, max(numjobs-1, 0)
	}
	return lo, hi
}

// preflight checks, before any I/O, that job j can run on target, of
// which it covers io bytes per pass from its offset: that region fits,
// its block sizes and offset suit the device's alignment, the device is
// writable if the job writes, hipri has poll queues, and the mapper has
// room. A regular file shorter than extent is taken to hold extent
// bytes (create_on_open: the job's writes extend it). Clones lo to hi
// work on the target, clone n from offset + n*offset_increment; without
// size (workloads.Job.ToEnd) each covers the target from there to its
// end, io standing for none of them.
func preflight(j *workloads.Job, target string, io, extent uint64, lo, hi int) error {
	if j.Mapper == "fiemap" {
		return nil // the file's size and layout, known when it is opened
	}
	d, err := device.Open(target, device.Options{ReadOnly: true, Extent: extent})
	if err != nil {
		return err
	}
	defer d.Close()
	g := d.Geometry()
	if j.FillDevice && !d.IsBlock() && j.Size == 0 {
		return fmt.Errorf("job %q: fill_device on %s, a regular file, without a size in bytes: writing until the filesystem is full is not implemented (on a block device fill_device covers the whole device); give size= instead", j.Name, target)
	}
	if err := prioPreflight(j); err != nil {
		return err
	}
	if j.HiPri && !g.PollQueues {
		return fmt.Errorf("job %q: hipri needs a device with poll queues; %s has none (NVMe: load nvme with poll_queues=N)", j.Name, target)
	}
	size := g.SizeBytes
	align := uint64(max(g.LogicalBlockSize, g.DIOOffsetAlign))
	if j.HasPct() {
		j.ResolvePct(size)
		if j.SizePct > 0 && j.Size == 0 {
			return fmt.Errorf("job %q: size=%g%% of %s's %d bytes is less than a block", j.Name, j.SizePct, target, size)
		}
		if j.SizePct > 0 {
			j.Size = min(j.Size, size-min(j.Offset, size))
		}
	}
	last := j.Offset + uint64(hi)*j.OffsetIncrement // the last clone's start
	spread := hi > 0 && j.OffsetIncrement > 0
	end := size // where the clones' regions end (ToEnd)
	if j.FileSize[1] > 0 {
		// filesize's end: the first clone's start and what it covers.
		end = min(j.Offset+uint64(lo)*j.OffsetIncrement+io, size)
	}
	if j.ToEnd() && last < end {
		// Each clone covers the target from its own start to the end,
		// as fio's: the last clone covers the least.
		io = end - last
	}
	switch {
	case j.ToEnd() && spread && last >= end:
		return j.ClonePastEnd(hi, last, target, end)
	case last >= size || last+io > size:
		return fmt.Errorf("job %q: %s + size %d exceed the target's %d bytes", j.Name, startSaid(j, last), io, size)
	}
	if mb := j.MinBS(); io < mb && j.ToEnd() && spread {
		return fmt.Errorf("job %q: bs=%s is larger than the %d bytes %s leaves of %s's %d: %s each clone covers the target from its own start to the end, and fio 3.33 fails such a clone (\"blocksize is larger than data set range\") while the others run; give numjobs=%d or less, or a smaller offset_increment",
			j.Name, workloads.FormatSize(mb), io, startSaid(j, last), target, end, j.ToEndWhy(), j.ClonesFitting(end))
	} else if io < mb {
		return fmt.Errorf("job %q: bs=%s is larger than the %d bytes the job covers on %s (its size, or the target from its offset on)", j.Name, workloads.FormatSize(mb), io, target)
	}
	for _, bs := range blockSizes(j) {
		if bs%align != 0 {
			return fmt.Errorf("job %q: bs=%s is not a multiple of %s's %d-byte logical block", j.Name, workloads.FormatSize(bs), target, align)
		}
	}
	if j.Offset%align != 0 && j.FileAppend && !d.IsBlock() {
		return fmt.Errorf("job %q: file_append: %s's I/O would start at %d bytes, its end, which is not a multiple of its %d-byte logical block", j.Name, target, j.Offset, align)
	}
	if j.Offset%align != 0 {
		return fmt.Errorf("job %q: offset=%d is not a multiple of %s's %d-byte logical block", j.Name, j.Offset, target, align)
	}
	if j.RW.Trims() && !j.NullIO() {
		// (A null job's trims reach no device, as fio's null engine's.)
		if err := trimPreflight(j, target, d, align); err != nil {
			return err
		}
	}
	if j.Atomic && j.RW.Writes() && !j.VerifyOnly && j.Mapper != "fiemap" {
		if err := atomicPreflight(j, target, d.IsBlock(), g); err != nil {
			return err
		}
	}
	if writes(j) && g.ReadOnly {
		return fmt.Errorf("job %q: %s: %w: the kernel marks it read-only (blockdev --setro, losetup -r)", j.Name, target, device.ErrReadOnly)
	}
	if writes(j) && !d.IsBlock() {
		if err := unix.Access(target, unix.W_OK); err != nil {
			return fmt.Errorf("job %q: %s: the job writes and the file is not writable: %w", j.Name, target, err)
		}
	}
	if err := mapperFits(j, size); err != nil {
		return fmt.Errorf("job %q: %w", j.Name, err)
	}
	if j.Mapper == "cowlog" {
		if err := cowlogPreflight(j, target); err != nil {
			return fmt.Errorf("job %q: %w", j.Name, err)
		}
	}
	return nil
}

// writes reports whether job j writes to its target: a writing or
// trimming pattern (a trim destroys data as a write does, and goes through
// the same safety checks), unless verify_only (which only reads back), or
// mapper=fiemap (which reads a file in place).
func writes(j *workloads.Job) bool {
	return (j.RW.Writes() || j.RW.Trims()) && !j.VerifyOnly && j.Mapper != "fiemap"
}

// trimPreflight refuses, before any I/O, a trimming job on a block device
// that cannot discard, and trim sizes or offsets that are not in the
// device's discard units (its queue/discard_granularity).
func trimPreflight(j *workloads.Job, target string, d *device.Device, align uint64) error {
	g := d.Geometry()
	if d.IsBlock() {
		if g.DiscardMaxBytes == 0 {
			return fmt.Errorf("job %q: rw=%s: %s cannot discard (its queue/discard_max_bytes is 0)", j.Name, j.RW, target)
		}
		align = max(align, uint64(g.DiscardGranularity))
	}
	unit := j.MinBS()
	if j.BlockAlign > 0 && j.RW.Random() {
		unit = j.BlockAlign
	}
	for _, bs := range append(trimSizes(j), unit) {
		if bs%align != 0 {
			return fmt.Errorf("job %q: rw=%s: trims of %s (bs, or the alignment of random offsets) are not in %s's %d-byte discard units", j.Name, j.RW, workloads.FormatSize(bs), target, align)
		}
	}
	if j.Offset%align != 0 || j.OffsetIncrement%align != 0 {
		return fmt.Errorf("job %q: rw=%s: offset=%d (offset_increment=%d) is not in %s's %d-byte discard units", j.Name, j.RW, j.Offset, j.OffsetIncrement, target, align)
	}
	return nil
}

// testAtomicUnits, set by tests, changes the atomic write limits
// atomicPreflight reads, as a device that has them would report them.
var testAtomicUnits func(g *device.Geometry)

// atomicPreflight refuses, before any I/O, an atomic=1 job on a target
// that cannot write atomically, or whose atomic write units (statx
// STATX_WRITE_ATOMIC) do not take every write size of the job; the
// message names the limits read. What the job alone decides (direct I/O,
// powers of two, alignment) workloads.Job.Validate has checked.
func atomicPreflight(j *workloads.Job, target string, block bool, g device.Geometry) error {
	if testAtomicUnits != nil {
		testAtomicUnits(&g)
	}
	limits := fmt.Sprintf("statx STATX_WRITE_ATOMIC: atomic_write_unit_min %d, atomic_write_unit_max %d bytes", g.AtomicWriteUnitMin, g.AtomicWriteUnitMax)
	if block {
		limits += fmt.Sprintf("; queue/atomic_write_max_bytes %d", g.AtomicWriteMaxBytes)
	}
	if g.AtomicWriteUnitMax == 0 {
		return fmt.Errorf("job %q: atomic=1: %s cannot write atomically (%s)", j.Name, target, limits)
	}
	for _, bs := range j.AtomicWriteSizes() {
		if bs < uint64(g.AtomicWriteUnitMin) || bs > uint64(g.AtomicWriteUnitMax) {
			return fmt.Errorf("job %q: atomic=1: writes of %s are outside %s's atomic write units, %s to %s (%s)", j.Name, workloads.FormatSize(bs), target,
				workloads.FormatSize(uint64(g.AtomicWriteUnitMin)), workloads.FormatSize(uint64(g.AtomicWriteUnitMax)), limits)
		}
	}
	return nil
}

// trimSizes lists the block sizes a trimming job's trims use: the write
// direction's.
func trimSizes(j *workloads.Job) []uint64 {
	d := workloads.DirWrite
	if len(j.BSSplit[d]) > 0 {
		var out []uint64
		for _, s := range j.BSSplit[d] {
			out = append(out, s.Size)
		}
		return out
	}
	if r := j.BSRange[d]; r[1] > 0 {
		return []uint64{r[0]}
	}
	return []uint64{j.BS[d]}
}

// blockSizes lists every block size job j issues.
func blockSizes(j *workloads.Job) []uint64 {
	var out []uint64
	for d := range 2 {
		if len(j.BSSplit[d]) == 0 {
			out = append(out, j.BS[d])
		}
		if r := j.BSRange[d]; r[1] > 0 {
			out = append(out, r[0])
		}
		for _, s := range j.BSSplit[d] {
			out = append(out, s.Size)
		}
	}
	return out
}

// checkTarget refuses, before any I/O, a target that is neither a block
// device nor a regular file, and a block device a writing job must not
// touch.
func checkTarget(j *workloads.Job, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("job %q: filename: %w", j.Name, err)
	}
	if st.Mode()&os.ModeDevice == 0 {
		if !st.Mode().IsRegular() {
			return fmt.Errorf("job %q: %s is neither a block device nor a regular file", j.Name, path)
		}
		if fs := kernelFS(path); fs != "" {
			return fmt.Errorf("job %q: %s is a file of %s, a kernel interface, not storage: refused (laying it out would write into it)", j.Name, path, fs)
		}
		return nil
	}
	if writes(j) {
		// --force takes a device that holds data, not one that is
		// mounted or held: its exclusive open would fail later, mid-run.
		err := device.CheckWritable(path)
		if err != nil && (!j.Force || errors.Is(err, device.ErrMounted) || errors.Is(err, device.ErrInUse)) {
			return fmt.Errorf("job %q: %w", j.Name, err)
		}
	}
	return nil
}

// kernelFSNames are the filesystems whose files are kernel interfaces
// (statfs magic numbers): their files look regular, but writing one
// (laying it out) can change the kernel's settings.
var kernelFSNames = map[int64]string{
	unix.PROC_SUPER_MAGIC: "procfs", unix.SYSFS_MAGIC: "sysfs", unix.DEBUGFS_MAGIC: "debugfs",
	unix.SECURITYFS_MAGIC: "securityfs", unix.CGROUP_SUPER_MAGIC: "cgroupfs", unix.CGROUP2_SUPER_MAGIC: "cgroup2",
	unix.TRACEFS_MAGIC: "tracefs", unix.BPF_FS_MAGIC: "bpffs", unix.EFIVARFS_MAGIC: "efivarfs",
	unix.PSTOREFS_MAGIC: "pstore", unix.SELINUX_MAGIC: "selinuxfs", unix.SMACK_MAGIC: "smackfs",
	unix.DEVPTS_SUPER_MAGIC: "devpts", 0x62656570: "configfs",
}

// kernelFS names the kernel-interface filesystem path is on, or "".
func kernelFS(path string) string {
	var fs unix.Statfs_t
	if unix.Statfs(path, &fs) != nil {
		return ""
	}
	return kernelFSNames[int64(fs.Type)]
}

// errNothingMeasured is a job's error when it measured no I/O: its whole
// run fell in the ramp, or it issued none (nothingMeasured says which).
var errNothingMeasured = errors.New("nothing measured")

// nothingMeasured is errNothingMeasured for job j, saying why.
func nothingMeasured(j *workloads.Job) error {
	if j.RampTime > 0 || j.RampSize > 0 {
		return fmt.Errorf("%w: ramp_time or ramp_size used up the job's region or runtime (raise size or runtime, or set time_based)", errNothingMeasured)
	}
	// (A job whose offsets run out before its first I/O ends without an
	// error, as fio's does: noIONote.)
	return fmt.Errorf("%w: the job issued no I/O", errNothingMeasured)
}

// checkRampSizes refuses a job with a ramp (ramp_time or ramp_size) whose
// ramp_size differs from that of a job before it in its reporting group
// (rg: each job's), as fio refuses it.
func checkRampSizes(jobs []workloads.Job, rg []int) error {
	for i := range jobs {
		if jobs[i].RampTime == 0 && jobs[i].RampSize == 0 {
			continue
		}
		for k := range i {
			if rg[k] == rg[i] && jobs[k].RampSize != jobs[i].RampSize {
				return fmt.Errorf("job %q: ramp_size=%d, job %q of its reporting group ramp_size=%d: fio refuses a ramp_size that differs within a reporting group",
					jobs[i].Name, jobs[i].RampSize, jobs[k].Name, jobs[k].RampSize)
			}
		}
	}
	return nil
}

// procsFor raises GOMAXPROCS, for the group g, to one more than its
// clones, and returns what puts it back. Each clone's queue keeps its
// thread's P through short waits (engine/uring's raw waits), as each of
// fio's job threads keeps its CPU time slot to itself; with fewer Ps
// than clones, the clones beyond GOMAXPROCS-1 wait through the runtime,
// and on 2 vCPUs 16 jobs at depth 1 then ran with one or two reads in
// flight instead of 16 (0.58x fio). The P left over runs the program's
// other goroutines (progress, signals).
func procsFor(jobs []workloads.Job, g []int) func() {
	clones := 0
	for _, ji := range g {
		if !jobs[ji].CreateOnly {
			clones += jobs[ji].NumJobs
		}
	}
	base := runtime.GOMAXPROCS(0)
	if clones+1 <= base {
		return func() {}
	}
	runtime.GOMAXPROCS(min(clones+1, 1024)) // the runtime's bound
	return func() { runtime.GOMAXPROCS(base) }
}

// expectedTime is how long the run should take by its runtimes, for the
// progress line's ETA: the groups one after the other, each as long as
// its longest job (the jobs of a group run together), start delays and
// ramps included.
func expectedTime(jobs []workloads.Job, groups [][]int) time.Duration {
	var total time.Duration
	for _, g := range groups {
		var longest time.Duration
		for _, ji := range g {
			j := &jobs[ji]
			longest = max(longest, max(j.StartDelay, j.StartDelayMax)+j.RampTime+j.Runtime)
		}
		total += longest
	}
	return total
}

// checkMemory refuses, before anything is laid out, a group of jobs
// whose buffers (iodepth buffers of the largest block per clone, which
// the jobs fill as they run) come to more than the memory the machine
// has available (MemAvailable), rather than let them drive it out of
// memory.
func checkMemory(jobs []workloads.Job, groups [][]int) error {
	avail, ok := memAvailable()
	if !ok {
		return nil
	}
	for _, g := range groups {
		var total, pinned uint64
		for _, ji := range g {
			total += uint64(jobArena(&jobs[ji]))
			pinned += jobs[ji].LockMem * uint64(jobs[ji].NumJobs)
		}
		if pinned > 0 && pinned+total+lockMemMargin > avail {
			return fmt.Errorf("lockmem: the jobs of a group would pin %s and use %s of buffers, and the machine has %s of memory available (pinning it all would bring the out-of-memory killer): give at most %s",
				humanBytes(pinned), humanBytes(total), humanBytes(avail), humanBytes(avail-min(avail, total+lockMemMargin)))
		}
		if total > avail {
			names := make([]string, len(g))
			for k, ji := range g {
				names[k] = strconv.Quote(jobs[ji].Name)
			}
			who := "job " + names[0] + ": its"
			if len(names) > 1 {
				who = "jobs " + strings.Join(names, ", ") + ", which run together: their"
			}
			return fmt.Errorf("%s buffers (numjobs x iodepth x the largest block) come to %s, and the machine has %s of memory available: lower iodepth, bs or numjobs",
				who, humanBytes(total), humanBytes(avail))
		}
	}
	return nil
}

// lockMemMargin is the memory lockmem must leave available besides the
// jobs' buffers: pinning a machine's memory but 128 MiB, fio's cap, had
// the out-of-memory killer end iobench on a 24 GiB machine.
const lockMemMargin = 1 << 30

// memAvailable reads MemAvailable from /proc/meminfo.
func memAvailable() (uint64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "MemAvailable:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// numaCPUs gives each job with numa_cpu_nodes the CPUs of those nodes
// (from /sys/devices/system/node), in place of cpus_allowed's, as fio
// binds such a job after setting its affinity.
func numaCPUs(jobs []workloads.Job) error {
	for i := range jobs {
		j := &jobs[i]
		if len(j.NumaNodes) == 0 {
			continue
		}
		nodes := j.NumaNodes
		if len(nodes) == 1 && nodes[0] < 0 {
			b, err := os.ReadFile("/sys/devices/system/node/online")
			if err != nil {
				return fmt.Errorf("job %q: numa_cpu_nodes=all: %w", j.Name, err)
			}
			if nodes, err = workloads.ParseCPUList(strings.TrimSpace(string(b))); err != nil {
				return fmt.Errorf("job %q: numa_cpu_nodes=all: /sys/devices/system/node/online: %w", j.Name, err)
			}
		}
		var cpus []int
		for _, n := range nodes {
			b, err := os.ReadFile(fmt.Sprintf("/sys/devices/system/node/node%d/cpulist", n))
			if err != nil {
				return fmt.Errorf("job %q: numa_cpu_nodes: node %d: %w", j.Name, n, err)
			}
			c, err := workloads.ParseCPUList(strings.TrimSpace(string(b)))
			if err != nil {
				return fmt.Errorf("job %q: numa_cpu_nodes: node %d has no CPUs", j.Name, n)
			}
			cpus = append(cpus, c...)
		}
		slices.Sort(cpus)
		j.CPUs = slices.Compact(cpus)
	}
	return nil
}

// checkCPUs refuses, before any I/O, a job pinned to CPUs this process
// may not run on.
func checkCPUs(jobs []workloads.Job) error {
	var avail unix.CPUSet
	if err := unix.SchedGetaffinity(0, &avail); err != nil {
		return err
	}
	for i := range jobs {
		for _, c := range jobs[i].CPUs {
			if c >= 1024 || !avail.IsSet(c) {
				return fmt.Errorf("job %q: cpus_allowed: CPU %d is not available to this process (%d CPUs are)", jobs[i].Name, c, avail.Count())
			}
		}
		if c := jobs[i].SQPollCPU; jobs[i].SQPoll && c >= 0 && (c >= 1024 || !avail.IsSet(c)) {
			return fmt.Errorf("job %q: sqthread_poll_cpu: CPU %d is not available to this process (%d CPUs are)", jobs[i].Name, c, avail.Count())
		}
	}
	return nil
}

// reportGroups numbers the reporting groups as fio does (its groupid):
// each group of jobs that run together starts one, and so does each job
// with new_group within it. It returns each job's.
func reportGroups(jobs []workloads.Job, groups [][]int) []int {
	out := make([]int, len(jobs))
	n := -1
	for _, g := range groups {
		for k, ji := range g {
			if k == 0 || jobs[ji].NewGroup {
				n++
			}
			out[ji] = n
		}
	}
	return out
}

// notStarted returns the results of job j, which the run stopped before
// it started (a signal, exitall_on_error): one per clone, or one for all
// with group_reporting, each with nothing done.
func notStarted(j workloads.Job, groupID int) []JobResult {
	n := j.NumJobs
	if n < 2 || j.GroupReporting {
		n = 1
	}
	out := make([]JobResult, n)
	for k := range out {
		clone := k
		if n == 1 {
			clone = -1
		}
		m := newMeasure()
		out[k] = collect([]*measure{m}, clone)
		out[k].Job, out[k].GroupID, out[k].Mapper, out[k].ms = j, groupID, j.Mapper, []*measure{m}
	}
	return out
}

// groupResults returns the results of group g's jobs: each job's, or,
// for a reporting group (the jobs from one new_group to the next) with
// several jobs of which one has group_reporting, one result for the
// reporting group, as fio reports it: named after its first job, every
// clone of every job added up.
func groupResults(jobs []workloads.Job, g []int, results [][]JobResult) []JobResult {
	var out []JobResult
	for from := 0; from < len(g); {
		to := from + 1
		for to < len(g) && !jobs[g[to]].NewGroup {
			to++
		}
		out = append(out, mergeReporting(jobs, g[from:to], results[from:to])...)
		from = to
	}
	return out
}

// mergeReporting reports the jobs g of one reporting group (see
// groupResults).
func mergeReporting(jobs []workloads.Job, g []int, results [][]JobResult) []JobResult {
	var flat []JobResult
	for _, r := range results {
		flat = append(flat, r...)
	}
	reporting := slices.ContainsFunc(g, func(ji int) bool { return jobs[ji].GroupReporting })
	if len(g) < 2 || !reporting || slices.ContainsFunc(results, func(r []JobResult) bool { return len(r) == 0 }) ||
		slices.ContainsFunc(flat, func(r JobResult) bool { return r.ms == nil }) {
		return flat
	}
	var ms []*measure
	var errs []error
	for _, r := range flat {
		ms = append(ms, r.ms...)
		errs = append(errs, r.Err)
	}
	m := collect(ms, -1)
	first := &results[0][0]
	m.Job, m.GroupID, m.Mapper, m.Ring, m.ms = first.Job, first.GroupID, first.Mapper, first.Ring, ms
	for k, ji := range g {
		r := &results[k][0] // a job's results share its engine and files
		m.Members = append(m.Members, jobs[ji].Name)
		m.Clones += jobs[ji].NumJobs
		m.Engine = addStats(m.Engine, r.Engine)
		m.Files = append(m.Files, r.Files...)
		if m.Target == "" {
			m.Target = r.Target
		} else if !slices.Contains(strings.Split(m.Target, "; "), r.Target) {
			m.Target += "; " + r.Target
		}
		m.Elapsed = max(m.Elapsed, r.Elapsed)
		m.Interrupted = m.Interrupted || r.Interrupted
		if m.TrimMethod == "" {
			m.TrimMethod = r.TrimMethod
		}
	}
	m.lastMember = &jobs[g[len(g)-1]]
	m.Err = errors.Join(errs...)
	return []JobResult{m}
}

// addStats adds the engine statistics of two jobs (the most in flight:
// the larger; the clock's steps, which every engine on the CPU's counter
// sees alike: the larger count and step).
func addStats(a, b engine.Stats) engine.Stats {
	a.Requests += b.Requests
	a.Reads += b.Reads
	a.Writes += b.Writes
	a.Errors += b.Errors
	a.Hits += b.Hits
	a.Misses += b.Misses
	a.MapperCalls += b.MapperCalls
	a.MapperTime += b.MapperTime
	a.StaleRetries += b.StaleRetries
	a.IOs += b.IOs
	a.ReadBytes += b.ReadBytes
	a.WriteBytes += b.WriteBytes
	a.ZeroBytes += b.ZeroBytes
	a.InlineBytes += b.InlineBytes
	a.Splits += b.Splits
	a.OutOfPlace += b.OutOfPlace
	a.ShortIOs += b.ShortIOs
	a.Retries += b.Retries
	a.RingEnters += b.RingEnters
	a.ThreadMoves += b.ThreadMoves
	a.Spins += b.Spins
	a.SpinHits += b.SpinHits
	a.FreedBytes += b.FreedBytes
	a.MaxInFlight = max(a.MaxInFlight, b.MaxInFlight)
	a.CachedExtents += b.CachedExtents
	a.CacheBytes += b.CacheBytes
	a.Merges += b.Merges
	a.Evicted += b.Evicted
	a.Trims += b.Trims
	a.TrimBytes += b.TrimBytes
	a.DirectCalls += b.DirectCalls
	a.HandedOff += b.HandedOff
	a.Barriers += b.Barriers
	a.GapReads += b.GapReads
	a.GapBytes += b.GapBytes
	a.GapSplits += b.GapSplits
	a.ClockSteps = max(a.ClockSteps, b.ClockSteps)
	if b.ClockStepMax.Abs() > a.ClockStepMax.Abs() {
		a.ClockStepMax = b.ClockStepMax
	}
	return a
}

// sayAutoTarget tells the user which of jobs run on the automatic target
// auto because they name no file, where fio would lay out files of the
// job's name in the working directory (null jobs aside: fio's null
// engine opens no file either).
func sayAutoTarget(jobs []workloads.Job, auto *Target, stderr io.Writer) {
	var names []string
	for i := range jobs {
		if j := &jobs[i]; onAutoTarget(j) && !j.NullIO() && !slices.Contains(names, strconv.Quote(j.Name)) {
			names = append(names, strconv.Quote(j.Name))
		}
	}
	if len(names) == 0 {
		return
	}
	what, runs := "job "+names[0]+" names", "it runs"
	if len(names) > 1 {
		what, runs = "jobs "+strings.Join(names, ", ")+" name", "they run"
	}
	fmt.Fprintf(stderr, "iobench: %s no filename= or directory=, so %s on iobench's automatic target, %s; "+
		"fio would lay out files named JOB.N.0 in the working directory, which directory=. asks of iobench too\n", what, runs, auto.Desc)
}
