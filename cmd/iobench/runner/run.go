package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/iobench/iobench/device"
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
	targets, auto, err := resolveTargets(jobs, st, run)
	if auto != nil {
		defer auto.Close()
	}
	if err != nil {
		return nil, err
	}
	for i := range jobs {
		if err := preflight(&jobs[i], targets[i]); err != nil {
			return nil, &badInput{err}
		}
	}
	lv := &live{}
	var total time.Duration
	for _, j := range jobs {
		total += j.RampTime + j.Runtime
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { progress(out, lv, total, stop); close(done) }()
	for gi, g := range groups {
		if interrupted.Load() {
			break // the groups left never started
		}
		results := make([]JobResult, len(g))
		finished := make(chan struct{}, len(g))
		for k, ji := range g {
			go func() {
				results[k] = runJob(jobs[ji], gi, targets[ji], lv, out)
				finished <- struct{}{}
			}()
		}
		for range g {
			<-finished
		}
		run.Jobs = append(run.Jobs, results...)
	}
	close(stop)
	<-done
	run.Interrupted = interrupted.Load()
	return run, nil
}

// resolveTargets returns each job's target: the named ones, checked first,
// and one automatic target shared by the jobs without a filename, which
// the caller closes.
func resolveTargets(jobs []workloads.Job, st settings, run *Run) ([]string, *Target, error) {
	targets := make([]string, len(jobs))
	for i := range jobs {
		j := &jobs[i]
		if j.Filename == "" {
			continue
		}
		if err := checkTarget(j); err != nil {
			return nil, nil, &badInput{err}
		}
		targets[i] = j.Filename
		if j.Mapper == "fiemap" {
			dev, err := fiemapDevice(j.Filename)
			if err != nil {
				return nil, nil, &badInput{err}
			}
			targets[i] = dev
		}
		run.Target = j.Filename
	}
	var auto *Target
	for i := range jobs {
		if targets[i] != "" {
			continue
		}
		if auto == nil {
			t, err := AutoTarget(int64(st.targetSize))
			if err != nil {
				return nil, nil, err
			}
			auto = t
			run.Target = t.Desc
		}
		targets[i] = auto.Path
	}
	return targets, auto, nil
}

// preflight checks, before any I/O, that job j can run on target: its
// region fits, its block sizes and offset suit the device's alignment,
// the device is writable if the job writes, hipri has poll queues, and
// the mapper has room.
func preflight(j *workloads.Job, target string) error {
	if j.Mapper == "fiemap" {
		return nil // the file's size and layout, known when it is opened
	}
	d, err := device.Open(target, device.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer d.Close()
	g := d.Geometry()
	if j.HiPri && !g.PollQueues {
		return fmt.Errorf("job %q: hipri needs a device with poll queues; %s has none (NVMe: load nvme with poll_queues=N)", j.Name, target)
	}
	size := g.SizeBytes
	align := uint64(max(g.LogicalBlockSize, g.DIOOffsetAlign))
	if j.SizePct > 0 {
		j.Size = uint64(float64(size)*j.SizePct/100) / align * align
		if j.Size == 0 {
			return fmt.Errorf("job %q: size=%g%% of %s's %d bytes is less than a block", j.Name, j.SizePct, target, size)
		}
		j.Size = min(j.Size, size-min(j.Offset, size))
	}
	if j.Offset >= size || j.Offset+j.Size > size {
		return fmt.Errorf("job %q: offset %d + size %d exceed the target's %d bytes", j.Name, j.Offset, j.Size, size)
	}
	for _, bs := range blockSizes(j) {
		if bs%align != 0 {
			return fmt.Errorf("job %q: bs=%s is not a multiple of %s's %d-byte logical block", j.Name, workloads.FormatSize(bs), target, align)
		}
	}
	if j.Offset%align != 0 {
		return fmt.Errorf("job %q: offset=%d is not a multiple of %s's %d-byte logical block", j.Name, j.Offset, target, align)
	}
	if writes(j) && g.ReadOnly {
		return fmt.Errorf("job %q: %s: %w: the kernel marks it read-only (blockdev --setro, losetup -r)", j.Name, target, device.ErrReadOnly)
	}
	if writes(j) && !d.IsBlock() && unix.Access(target, unix.W_OK) != nil {
		return fmt.Errorf("job %q: %s: %w: no write permission", j.Name, target, device.ErrReadOnly)
	}
	if err := mapperFits(j, size); err != nil {
		return fmt.Errorf("job %q: %w", j.Name, err)
	}
	return nil
}

// writes reports whether job j writes to its target: a writing pattern,
// unless verify_only (which only reads back), or mapper=fiemap (which
// reads a file in place).
func writes(j *workloads.Job) bool {
	return j.RW.Writes() && !j.VerifyOnly && j.Mapper != "fiemap"
}

// blockSizes lists every block size job j issues.
func blockSizes(j *workloads.Job) []uint64 {
	var out []uint64
	for d := range 2 {
		if len(j.BSSplit[d]) == 0 {
			out = append(out, j.BS[d])
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
	if writes(j) && !j.Force {
		if err := device.CheckWritable(j.Filename); err != nil {
			return fmt.Errorf("job %q: %w", j.Name, err)
		}
	}
	return nil
}

// errNothingMeasured is a job's error when its whole run fell in the ramp
// time: it issued I/O but measured none.
var errNothingMeasured = errors.New("nothing measured: ramp_time used up the job's region or runtime (raise size or runtime, or set time_based)")
