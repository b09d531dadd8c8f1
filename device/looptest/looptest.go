// Package looptest gives tests loop devices over files in a temporary
// directory (on tmpfs when the machine has /dev/shm), always detached in
// t.Cleanup, even when the test fails.
package looptest

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/iobench/iobench/device"
)

// Options for New.
type Options struct {
	LogicalBlockSize uint32 // 0: 512
	ReadOnly         bool
	BufferedIO       bool // loop driver without direct I/O on the backing file
	OnDisk           bool // backing file in t.TempDir() instead of /dev/shm
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
	if !o.OnDisk {
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
	l, err := device.AttachLoop(f.Name(), device.LoopOptions{
		DirectIO: !o.BufferedIO, LogicalBlockSize: o.LogicalBlockSize, ReadOnly: o.ReadOnly,
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

// Leaked returns the loop devices whose backing file lies under a test
// temporary directory (looptest-* on /dev/shm, or the system temp dir).
// Call it from TestMain after m.Run to catch devices a test left behind.
func Leaked() []string {
	// The kernel may still be tearing down something that held a device
	// (an io_uring's registered files): give detaches a moment.
	var out []string
	for range 30 {
		if out = leaked(); len(out) == 0 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return out
}

func leaked() []string {
	var out []string
	for dev, backing := range device.LoopBacking() {
		if strings.Contains(backing, "/looptest-") || strings.HasPrefix(backing, os.TempDir()) {
			out = append(out, fmt.Sprintf("%s over %s", dev, backing))
		}
	}
	return out
}

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
