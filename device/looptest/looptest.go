// Package looptest gives tests loop devices over files in a temporary
// directory (on tmpfs when the machine has /dev/shm), always detached in
// t.Cleanup, even when the test fails.
package looptest

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iobench/iobench/device"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// Options for New.
type Options struct {
	LogicalBlockSize uint32 // 0: 512
	ReadOnly         bool
	BufferedIO       bool // loop driver without direct I/O on the backing file
	OnDisk           bool // backing file in t.TempDir() instead of /dev/shm
	PartScan         bool // the kernel scans the device for partitions
	// NoDiscard puts the backing file on a ramfs mount of its own, which
	// cannot punch holes, so the loop device offers no discard
	// (queue/discard_max_bytes 0); the loop driver then uses buffered
	// I/O on it (ramfs has no direct I/O).
	NoDiscard bool
}

// Dev is a loop device made for one test.
type Dev struct {
	Path    string // /dev/loopN
	Backing string // the backing file
	Loop    *device.Loop
}

// New creates a sparse backing file of sizeBytes and attaches a loop device
// to it. It skips the test, saying why, when not root or when the machine
// has no loop devices.
func New(t testing.TB, sizeBytes int64, o Options) *Dev {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loop devices need root")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("no loop devices on this machine: %v", err)
	}
	dir := t.TempDir()
	switch {
	case o.NoDiscard:
		if err := unix.Mount("ramfs", dir, "ramfs", 0, ""); err != nil {
			t.Skipf("cannot mount ramfs: %v", err)
		}
		t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
		o.BufferedIO = true
	case !o.OnDisk:
		if d, err := os.MkdirTemp("/dev/shm", "looptest-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			dir = d
		}
	}
	f, err := os.CreateTemp(dir, "backing-*.img")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(sizeBytes); err != nil {
		t.Fatal(err)
	}
	f.Close()
	made.Store(f.Name(), true)
	l, err := device.AttachLoop(f.Name(), device.LoopOptions{
		DirectIO: !o.BufferedIO, LogicalBlockSize: o.LogicalBlockSize, ReadOnly: o.ReadOnly,
		PartScan: o.PartScan,
	})
	if err != nil {
		t.Fatalf("attach loop device: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Detach(); err != nil {
			t.Errorf("detach %s: %v", l.Path(), err)
		}
	})
	return &Dev{Path: l.Path(), Backing: f.Name(), Loop: l}
}

// Attached returns the loop devices New attached in this process that are
// attached now, as "/dev/loopN over BACKING".
func Attached() []string {
	var out []string
	for dev, backing := range device.LoopBacking() {
		if _, ok := made.Load(strings.TrimSuffix(backing, " (deleted)")); ok {
			out = append(out, fmt.Sprintf("%s over %s", dev, backing))
		}
	}
	sort.Strings(out)
	return out
}

// Leaked returns the loop devices New attached in this process that are
// still attached after a grace period of up to 3 s. Call it from TestMain
// after m.Run (Main does) to catch devices a test left behind.
func Leaked() []string {
	// The kernel may still be tearing down something that held a device
	// (an io_uring's registered files, a lazy unmount): a detach of a
	// device still open only clears it at the last close.
	var out []string
	for range 30 {
		if out = Attached(); len(out) == 0 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return out
}

// made holds the backing files this process's tests attached, so that
// test binaries running in parallel (go test runs packages concurrently)
// do not take each other's devices for leaks.
var made sync.Map

// Runner is what Main runs: a *testing.M, or a wrapper adding checks.
type Runner interface{ Run() int }

// Main runs the tests and fails the run if a loop device was left behind.
// Use it as: func TestMain(m *testing.M) { looptest.Main(m) }
func Main(m Runner) {
	code := m.Run()
	if leaked := Leaked(); len(leaked) > 0 {
		fmt.Fprintf(os.Stderr, "loop devices left behind: %s\n", strings.Join(leaked, "; "))
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// MainNoLeaks is Main that also fails the run if a goroutine survives the
// tests (a queue or background loop that did not stop).
func MainNoLeaks(m Runner) { Main(&leakCheck{m}) }

type leakCheck struct{ m Runner }

func (l *leakCheck) Run() int {
	code := l.m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines left behind: %v\n", err)
			return 1
		}
	}
	return code
}

// MountExt4 makes an ext4 filesystem (mkfs.ext4 -b 4096, with -O features
// when given) on a fresh 64 MiB loop device and mounts it on a temporary
// directory; it is unmounted in t.Cleanup before the loop device is
// detached. It skips when the tools are missing or mounting is not allowed.
func MountExt4(t testing.TB, features string) (mnt, dev string) {
	t.Helper()
	for _, tool := range []string{"mkfs.ext4", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	l := New(t, 64<<20, Options{})
	args := []string{"-q", "-F", "-b", "4096"}
	if features != "" {
		args = append(args, "-O", features)
	}
	if out, err := exec.Command("mkfs.ext4", append(args, l.Path)...).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	mnt = t.TempDir()
	if out, err := exec.Command("mount", "-t", "ext4", l.Path, mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount ext4: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if err := device.Unmount(mnt); err != nil {
			t.Error(err)
		}
	})
	return mnt, l.Path
}
