package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/workloads"
)

// errHookFailed marks the error of a job whose exec_prerun failed, which
// the report gives as ECANCELED: the job was called off before any I/O.
var errHookFailed = errors.New("the command failed")

// runHook runs a job's exec_prerun or exec_postrun command (which is
// "prerun" or "postrun"; an empty command runs nothing) as fio does, with
// the shell, its output and errors in JOBNAME.WHICH.txt in the working
// directory. fio redirects only the command's last part there (it appends
// "> file 2>&1" to the command line); here the whole command's output
// goes to the file.
func runHook(j *workloads.Job, which, command string, stderr io.Writer) error {
	if command == "" {
		return nil
	}
	path := j.Name + "." + which + ".txt"
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("exec_%s: %w", which, err)
	}
	defer f.Close()
	fmt.Fprintf(stderr, "iobench: job %q: exec_%s: saving its output in %s\n", j.Name, which, path)
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Stdout, cmd.Stderr = f, f
	// A group of its own, so that an interrupt stops the command and
	// whatever it started, not just the shell.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("exec_%s %q: %w: %w", which, command, errHookFailed, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("exec_%s %q: %w: %w (its output is in %s)", which, command, errHookFailed, err, path)
			}
			return nil
		case <-tick.C:
			if interrupted.Load() {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				<-done
				return fmt.Errorf("exec_%s %q: %w", which, command, errInterrupted)
			}
		}
	}
}

// pinMemory pins lockmem's memory for each of the job's clones (mlock),
// as fio does before a job, and returns what releases it. Where fio pins
// up to the machine's memory less 128 MiB, iobench refuses to leave less
// than lockMemMargin available.
func pinMemory(j *workloads.Job) (func(), error) {
	if j.LockMem == 0 {
		return func() {}, nil
	}
	n := j.LockMem * uint64(j.NumJobs)
	// checkMemory refused what the machine cannot spare before the run;
	// memory other programs took since is checked again here.
	if avail, ok := memAvailable(); ok && n+lockMemMargin > avail {
		return nil, fmt.Errorf("lockmem: pinning %s would leave less than %s of the %s available", humanBytes(n), humanBytes(lockMemMargin), humanBytes(avail))
	}
	b, err := unix.Mmap(-1, 0, int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("lockmem: %w", err)
	}
	if err := unix.Mlock(b); err != nil {
		_ = unix.Munmap(b)
		return nil, fmt.Errorf("lockmem: mlock of %s: %w (RLIMIT_MEMLOCK or CAP_IPC_LOCK)", humanBytes(n), err)
	}
	return func() { _ = unix.Munmap(b) }, nil
}
