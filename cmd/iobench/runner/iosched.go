package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/workloads"
)

// switchScheduler sets the I/O scheduler (ioscheduler) of the block
// device that holds each of the job's files, as fio does before a job,
// and returns what puts the one the device ran before back once the last
// job of the run that switched it is done (fio leaves its choice in
// place). A scheduler the kernel does not offer for a device is an error
// naming those it does.
func switchScheduler(j *workloads.Job, paths []string) (func(), error) {
	if j.IOScheduler == "" {
		return func() {}, nil
	}
	var taken []string
	undo := func() {
		for i := len(taken) - 1; i >= 0; i-- {
			schedulers.release(taken[i])
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
		if err := schedulers.take(file, j.IOScheduler); err != nil {
			undo()
			return nil, fmt.Errorf("ioscheduler=%s for %s: %w", j.IOScheduler, p, err)
		}
		taken = append(taken, file)
	}
	return undo, nil
}

// schedulers remembers, for each device whose scheduler jobs of this run
// switched, the one it ran before and how many jobs still hold it, so
// that jobs running together on one device leave it as they found it
// whatever order they end in.
var schedulers = schedulerTable{held: map[string]*heldScheduler{}}

type schedulerTable struct {
	mu   sync.Mutex
	held map[string]*heldScheduler
}

type heldScheduler struct {
	orig  string
	users int
}

// take switches the device of the sysfs scheduler file to name.
func (t *schedulerTable) take(file, name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur, avail, err := readScheduler(file)
	if err != nil {
		return err
	}
	if cur != name {
		if err := os.WriteFile(file, []byte(name), 0); err != nil {
			return fmt.Errorf("%w (%s offers %s)", err, file, strings.Join(avail, ", "))
		}
		if now, _, err := readScheduler(file); err != nil || now != name {
			return fmt.Errorf("the device runs %q (%s offers %s)", now, file, strings.Join(avail, ", "))
		}
	}
	h := t.held[file]
	if h == nil {
		h = &heldScheduler{orig: cur}
		t.held[file] = h
	}
	h.users++
	return nil
}

// release puts the device's scheduler back once its last user is done.
func (t *schedulerTable) release(file string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.held[file]
	if h == nil {
		return
	}
	if h.users--; h.users == 0 {
		_ = os.WriteFile(file, []byte(h.orig), 0)
		delete(t.held, file)
	}
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
