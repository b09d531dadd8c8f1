package runner

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/workloads"
	"golang.org/x/sys/unix"
)

// Execute runs jobs group by group on their targets and collects results.
// Bad input (a target that cannot be written, a job that does not fit the
// device) is found before any I/O.
func Execute(jobs []workloads.Job, groups [][]int, st settings, out Output, stderr io.Writer) (*Run, error) {
	run := &Run{Time: time.Now(), Kernel: kernel()}
	// Targets: named ones are checked first; one automatic target is
	// shared by the jobs without a filename.
	var auto *Target
	targets := make([]string, len(jobs))
	for i := range jobs {
		j := &jobs[i]
		if j.Filename == "" {
			continue
		}
		if err := checkTarget(j); err != nil {
			return nil, &badInput{err}
		}
		targets[i] = j.Filename
		if j.Mapper == "fiemap" {
			dev, err := fiemapDevice(j.Filename)
			if err != nil {
				return nil, &badInput{err}
			}
			targets[i] = dev
		}
		run.Target = j.Filename
	}
	for i := range jobs {
		if targets[i] != "" {
			continue
		}
		if auto == nil {
			t, err := AutoTarget(int64(st.targetSize))
			if err != nil {
				return nil, err
			}
			auto = t
			defer auto.Close()
			run.Target = t.Desc
		}
		targets[i] = auto.Path
	}
	// Sizes: a job's region must fit its target.
	for i := range jobs {
		if jobs[i].Mapper == "fiemap" {
			continue // the file's size, known when it is opened
		}
		size, poll, err := targetSize(targets[i])
		if err != nil {
			return nil, &badInput{err}
		}
		if jobs[i].HiPri && !poll {
			return nil, &badInput{fmt.Errorf("job %q: hipri needs a device with poll queues; %s has none (NVMe: load nvme with poll_queues=N)", jobs[i].Name, targets[i])}
		}
		j := &jobs[i]
		j.ResolvePct(size)
		last := j.Offset + uint64(j.NumJobs-1)*j.OffsetIncrement // the last clone's start
		if last >= size || last+j.Size > size {
			return nil, &badInput{fmt.Errorf("job %q: offset %d (+ offset_increment for its clones) + size %d exceed the target's %d bytes", j.Name, last, j.Size, size)}
		}
	}
	if err := checkCPUs(jobs); err != nil {
		return nil, &badInput{err}
	}
	// Stop cleanly on Ctrl-C: finish in-flight I/O, report what was
	// measured, remove the automatic target. A second signal is left to
	// the default handler.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		if _, ok := <-sig; ok {
			fmt.Fprintln(stderr, "\niobench: interrupted: stopping the jobs (again to abort)")
			interrupted.Store(true)
			signal.Stop(sig)
		}
	}()
	lv := &live{}
	var total time.Duration
	for _, j := range jobs {
		total += j.RampTime + j.Runtime
	}
	disks := watchDisks(targets)
	logs := newLogSet()
	threadBase := make([]int, len(jobs))
	for i := 1; i < len(jobs); i++ {
		threadBase[i] = threadBase[i-1] + jobs[i-1].NumJobs
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { progress(out, lv, total, stop); close(done) }()
	var board *statusBoard
	statusDone := make(chan struct{})
	if st.statusInterval > 0 {
		board = newStatusBoard(st.statusInterval, time.Now())
		go func() { printStatus(board, run, out, stop); close(statusDone) }()
	} else {
		close(statusDone)
	}
	var abort atomic.Bool // exitall_on_error: a job failed, stop them all
	for gi, g := range groups {
		if abort.Load() {
			break
		}
		results := make([][]JobResult, len(g))
		finished := make(chan struct{}, len(g))
		// exitall: the first job of the group to finish with it set
		// stops the others.
		var stop atomic.Bool
		for k, ji := range g {
			go func() {
				results[k] = runJob(jobs[ji], gi, targets[ji], runCtx{lv: lv, stop: &stop, abort: &abort, status: board,
					jobIdx: ji, logs: logs, threadBase: threadBase[ji]})
				if jobs[ji].ExitAll {
					stop.Store(true)
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
		for _, r := range results {
			run.Jobs = append(run.Jobs, r...)
		}
	}
	run.Disks = disks.utils()
	if err := logs.close(); err != nil {
		fmt.Fprintf(stderr, "iobench: %v\n", err)
	}
	if board != nil {
		board.finish()
	}
	close(stop)
	<-done
	<-statusDone
	return run, nil
}

// checkTarget refuses, before any I/O, a block device a writing job must
// not touch.
func checkTarget(j *workloads.Job) error {
	st, err := os.Stat(j.Filename)
	if err != nil {
		return fmt.Errorf("job %q: filename: %w", j.Name, err)
	}
	if st.Mode()&os.ModeDevice == 0 {
		if !st.Mode().IsRegular() {
			return fmt.Errorf("job %q: %s is neither a block device nor a regular file", j.Name, j.Filename)
		}
		return nil
	}
	if j.RW.Writes() && !j.VerifyOnly && !j.Force {
		if err := device.CheckWritable(j.Filename); err != nil {
			return fmt.Errorf("job %q: %w", j.Name, err)
		}
	}
	return nil
}

// targetSize returns the target's size and whether it has poll queues.
func targetSize(path string) (uint64, bool, error) {
	d, err := device.Open(path, device.Options{ReadOnly: true})
	if err != nil {
		return 0, false, err
	}
	defer d.Close()
	g := d.Geometry()
	return g.SizeBytes, g.PollQueues, nil
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
	}
	return nil
}
