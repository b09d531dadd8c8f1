package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/workloads"
)

// switchScheduler sets the I/O scheduler (ioscheduler) of the block
// device that holds each of the job's files, as fio does before a job,
// and returns what puts the ones it replaced back after it (fio leaves
// its choice in place). A scheduler the kernel does not offer for a
// device is an error naming those it does.
func switchScheduler(j *workloads.Job, paths []string) (func(), error) {
	if j.IOScheduler == "" {
		return func() {}, nil
	}
	type prior struct{ file, name string }
	var restore []prior
	undo := func() {
		for i := len(restore) - 1; i >= 0; i-- {
			_ = os.WriteFile(restore[i].file, []byte(restore[i].name), 0)
		}
	}
	seen := map[string]bool{}
	for _, p := range paths {
		file, err := schedulerFile(p)
		if err != nil {
			undo()
			return nil, fmt.Errorf("ioscheduler: %w", err)
		}
		if seen[file] {
			continue
		}
		seen[file] = true
		old, avail, err := readScheduler(file)
		if err != nil {
			undo()
			return nil, fmt.Errorf("ioscheduler: %w", err)
		}
		if old == j.IOScheduler {
			continue
		}
		if err := os.WriteFile(file, []byte(j.IOScheduler), 0); err != nil {
			undo()
			return nil, fmt.Errorf("ioscheduler=%s for %s: %w (%s offers %s)", j.IOScheduler, p, err, file, strings.Join(avail, ", "))
		}
		if now, _, err := readScheduler(file); err != nil || now != j.IOScheduler {
			undo()
			return nil, fmt.Errorf("ioscheduler=%s for %s: the device runs %q (%s offers %s)", j.IOScheduler, p, now, file, strings.Join(avail, ", "))
		}
		restore = append(restore, prior{file, old})
	}
	return undo, nil
}

// schedulerFile returns the sysfs file that selects the I/O scheduler of
// the block device holding path (a device node, or a file on a block
// device's filesystem); a partition's is its disk's.
func schedulerFile(path string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	dev := st.Dev
	if st.Mode&unix.S_IFMT == unix.S_IFBLK {
		dev = st.Rdev
	}
	sys := fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(dev), unix.Minor(dev))
	dir, err := filepath.EvalSymlinks(sys)
	if err != nil {
		return "", fmt.Errorf("%s is not on a block device (device %d:%d): %w", path, unix.Major(dev), unix.Minor(dev), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "partition")); err == nil {
		dir = filepath.Dir(dir)
	}
	file := filepath.Join(dir, "queue", "scheduler")
	if _, err := os.Stat(file); err != nil {
		return "", fmt.Errorf("%s: its device has no I/O scheduler to choose: %w", path, err)
	}
	return file, nil
}

// readScheduler returns the scheduler a sysfs scheduler file says is in
// use (the one in brackets) and those it offers.
func readScheduler(file string) (string, []string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", nil, err
	}
	var cur string
	var all []string
	for _, f := range strings.Fields(string(b)) {
		if n, ok := strings.CutPrefix(f, "["); ok {
			f = strings.TrimSuffix(n, "]")
			cur = f
		}
		all = append(all, f)
	}
	if cur == "" {
		return "", all, errors.New(file + ": no scheduler in use")
	}
	return cur, all, nil
}
