package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/device"
)

// Target is what a run reads and writes: a block device or a file.
type Target struct {
	Path    string
	Desc    string // how it was made, for reports
	Created bool   // made by iobench (and removed by Close)

	loop *device.Loop
	dir  string // the directory iobench made for the target, removed by Close
}

// targetPrefix starts the name of every directory iobench makes for a
// target; the pid of the run that made it follows, so that a later run can
// tell the targets of dead runs (see reclaimStale).
const targetPrefix = "iobench-target-"

// Close detaches and removes what AutoTarget or FileTarget created; for a
// target the user named it does nothing.
func (t *Target) Close() error {
	var errs []error
	if t.loop != nil {
		errs = append(errs, t.loop.Detach())
		t.loop = nil
	}
	if t.dir != "" {
		errs = append(errs, os.RemoveAll(t.dir))
		t.dir = ""
	}
	return errors.Join(errs...)
}

// AutoTarget creates a target of sizeBytes: a loop device (direct I/O)
// over a file on tmpfs when running as root with loop devices, so the
// numbers measure the engine and not a disk; otherwise a file in the
// temporary directory. Close removes it.
//
// The loop device is attached with autoclear and held open, and its
// backing file is unlinked once attached: if the process dies, even by
// SIGKILL, the kernel detaches the device and frees the file's memory. A
// file target (no loop device) cannot be unlinked while in use; the next
// run removes it if its run died (reclaimStale).
func AutoTarget(sizeBytes int64) (*Target, error) {
	t, err := FileTarget(sizeBytes)
	if err != nil || os.Geteuid() != 0 {
		return t, err
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		return t, nil
	}
	backing := t.Path
	l, err := device.AttachLoop(backing, device.LoopOptions{DirectIO: true, LogicalBlockSize: 512, AutoClear: true})
	if err != nil {
		return t, nil // the file target then
	}
	t.loop, t.Path = l, l.Path()
	t.Desc = fmt.Sprintf("loop device %s over %s (%s, direct I/O)", l.Path(), backing, humanBytes(uint64(sizeBytes)))
	if err := os.RemoveAll(t.dir); err == nil {
		t.dir = ""
	}
	return t, nil
}

// FileTarget creates a sparse file of sizeBytes on tmpfs (/dev/shm, else
// the temporary directory), with no loop device over it. Read with
// O_DIRECT from tmpfs, it is a device at memory speed: no block layer and
// no loop worker, only page copies (done by io_uring's worker threads, as
// tmpfs has no non-blocking reads). Close removes it. It first removes the
// targets of runs that died (reclaimStale).
func FileTarget(sizeBytes int64) (*Target, error) {
	reclaimStale()
	d, err := os.MkdirTemp(targetDir(), fmt.Sprintf("%s%d-", targetPrefix, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("create target: %w", err)
	}
	backing := filepath.Join(d, "target.img")
	f, err := os.Create(backing)
	if err == nil {
		// Sparse: tmpfs allocates pages only where the run writes.
		err = f.Truncate(sizeBytes)
		f.Close()
	}
	if err != nil {
		os.RemoveAll(d)
		return nil, fmt.Errorf("create target: %w", err)
	}
	return &Target{Path: backing, dir: d, Created: true,
		Desc: fmt.Sprintf("file %s (%s)", backing, humanBytes(uint64(sizeBytes)))}, nil
}

// targetDir is where targets are made: tmpfs if there is one.
func targetDir() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// targetPid returns the pid in a target directory's or backing file's
// path, or 0 if it has none.
func targetPid(path string) int {
	i := strings.Index(path, targetPrefix)
	if i < 0 {
		return 0
	}
	rest := path[i+len(targetPrefix):]
	num, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0
	}
	pid, err := strconv.Atoi(num)
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// alive reports whether process pid exists.
func alive(pid int) bool {
	return unix.Kill(pid, 0) != unix.ESRCH
}

// reclaimStale removes what runs that died (SIGKILL, a crash, a power
// cut of the session) left: target directories tagged with a pid that no
// longer runs, and loop devices still attached over their backing files.
// Targets of live runs, and names without a pid, are left alone.
func reclaimStale() []string {
	var removed []string
	for dev, backing := range device.LoopBacking() {
		if pid := targetPid(backing); pid != 0 && pid != os.Getpid() && !alive(pid) {
			if device.DetachLoop(dev) == nil {
				removed = append(removed, dev)
			}
		}
	}
	for _, dir := range []string{"/dev/shm", os.TempDir()} {
		paths, _ := filepath.Glob(filepath.Join(dir, targetPrefix+"*"))
		for _, p := range paths {
			if pid := targetPid(p); pid != 0 && pid != os.Getpid() && !alive(pid) {
				if os.RemoveAll(p) == nil {
					removed = append(removed, p)
				}
			}
		}
	}
	return removed
}
