package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/iobench/iobench/device"
)

// Target is what a run reads and writes: a block device or a file.
type Target struct {
	Path    string
	Desc    string // how it was made, for reports
	Created bool   // made by iobench (and removed by Close)

	loop    *device.Loop
	backing string
}

// Close detaches and removes what AutoTarget created; for a target the user
// named it does nothing.
func (t *Target) Close() error {
	var errs []error
	if t.loop != nil {
		errs = append(errs, t.loop.Detach())
		t.loop = nil
	}
	if t.backing != "" {
		errs = append(errs, os.RemoveAll(filepath.Dir(t.backing)))
		t.backing = ""
	}
	return errors.Join(errs...)
}

// AutoTarget creates a target of sizeBytes: a loop device (direct I/O)
// over a file on tmpfs when running as root with loop devices, so the
// numbers measure the engine and not a disk; otherwise a file in the
// temporary directory. Close removes it.
func AutoTarget(sizeBytes int64) (*Target, error) {
	t, err := FileTarget(sizeBytes)
	if err != nil || os.Geteuid() != 0 {
		return t, err
	}
	if _, err := os.Stat("/dev/loop-control"); err == nil {
		l, err := device.AttachLoop(t.backing, device.LoopOptions{DirectIO: true, LogicalBlockSize: 512})
		if err == nil {
			t.loop, t.Path = l, l.Path()
			t.Desc = fmt.Sprintf("loop device %s over %s (%s, direct I/O)", l.Path(), t.backing, humanBytes(uint64(sizeBytes)))
		}
	}
	return t, nil
}

// FileTarget creates a sparse file of sizeBytes on tmpfs (/dev/shm, else
// the temporary directory), with no loop device over it. Read with
// O_DIRECT from tmpfs, it is a device at memory speed: no block layer and
// no loop worker, only page copies (done by io_uring's worker threads, as
// tmpfs has no non-blocking reads). Close removes it.
func FileTarget(sizeBytes int64) (*Target, error) {
	dir := os.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir = "/dev/shm"
	}
	d, err := os.MkdirTemp(dir, "iobench-target-")
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
	return &Target{Path: backing, backing: backing, Created: true,
		Desc: fmt.Sprintf("file %s (%s)", backing, humanBytes(uint64(sizeBytes)))}, nil
}
