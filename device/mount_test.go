package device

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// attachForTest attaches a loop device over a sparse file in a temporary
// directory and detaches it in Cleanup. (The internal tests cannot use
// looptest, which imports this package.)
func attachForTest(t *testing.T, sizeBytes int64, o LoopOptions) *Loop {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loop devices need root")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("no loop devices on this machine: %v", err)
	}
	backing := filepath.Join(t.TempDir(), "backing.img")
	if err := os.WriteFile(backing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(backing, sizeBytes); err != nil {
		t.Fatal(err)
	}
	l, err := AttachLoop(backing, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Detach(); err != nil {
			t.Errorf("detach: %v", err)
		}
	})
	return l
}

// A btrfs mount shows an anonymous device number in mountinfo; the
// device is still found through the mount source.
func TestMountSourceByDeviceNumber(t *testing.T) {
	l := attachForTest(t, 4<<20, LoopOptions{})
	d, err := Open(l.Path(), Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	g := d.Geometry()
	d.Close()
	devs := map[[2]uint32]string{{g.Major, g.Minor}: "me"}
	line := fmt.Sprintf("40 25 0:52 / /mnt/b rw,relatime - btrfs %s rw,space_cache=v2", l.Path())
	if name, mnt, ok := mountLineMatches(line, devs); !ok || name != "me" || mnt != "/mnt/b" {
		t.Errorf("source %s: %q %q %v", l.Path(), name, mnt, ok)
	}
	line = "40 25 0:52 / /mnt/b rw - btrfs /dev/does-not-exist rw"
	if _, _, ok := mountLineMatches(line, devs); ok {
		t.Error("a missing source matched")
	}
}

func TestLoopDetachIdempotentAndResize(t *testing.T) {
	l := attachForTest(t, 4<<20, LoopOptions{LogicalBlockSize: 4096})
	if got := LoopBacking()[l.Path()]; got != l.Backing() {
		t.Fatalf("LoopBacking()[%s] = %q, want %q", l.Path(), got, l.Backing())
	}
	if err := os.Truncate(l.Backing(), 8<<20); err != nil {
		t.Fatal(err)
	}
	if err := l.Resize(); err != nil {
		t.Fatal(err)
	}
	d, err := Open(l.Path(), Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if g := d.Geometry(); g.SizeBytes != 8<<20 {
		t.Errorf("size after Resize %d, want %d", g.SizeBytes, 8<<20)
	}
	d.Close()
	for range 2 {
		if err := l.Detach(); err != nil {
			t.Fatalf("detach: %v", err)
		}
	}
	// A detach while someone (udev) still has the device open completes
	// at their close: allow a moment, but it must not stay attached.
	for i := 0; LoopBacking()[l.Path()] == l.Backing(); i++ {
		if i == 50 {
			t.Fatalf("%s still attached after Detach", l.Path())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The LOOP_SET_FD + LOOP_SET_STATUS64 path of kernels before 5.8 gives the
// same device as LOOP_CONFIGURE.
func TestLoopLegacyAttach(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loop devices need root")
	}
	backing := filepath.Join(t.TempDir(), "backing.img")
	if err := os.WriteFile(backing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(backing, 4<<20); err != nil {
		t.Fatal(err)
	}
	l, err := attachLoop(backing, LoopOptions{DirectIO: true, LogicalBlockSize: 4096, ReadOnly: true}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Detach(); err != nil {
			t.Errorf("detach: %v", err)
		}
	})
	sys := "/sys/block/" + filepath.Base(l.Path())
	for file, want := range map[string]string{"/ro": "1", "/loop/dio": "1", "/queue/logical_block_size": "4096"} {
		b, err := os.ReadFile(sys + file)
		if err != nil || strings.TrimSpace(string(b)) != want {
			t.Errorf("%s = %q, %v; want %s", file, b, err, want)
		}
	}
}

// Unmount waits out a filesystem that is busy for a moment, and reports
// one that stays busy.
func TestUnmountWaitsWhileBusy(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	f, err := os.Create(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer func(w time.Duration) { unmountWait = w }(unmountWait)
	unmountWait = time.Second
	start := time.Now()
	err = Unmount(dir)
	holder := fmt.Sprintf("pid %d (", os.Getpid())
	if !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), holder) ||
		!strings.Contains(err.Error(), "fd ") {
		t.Fatalf("unmount with a file open: %v, want EBUSY naming %s and its fd", err, holder)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("gave up after %v", d)
	}
	time.AfterFunc(100*time.Millisecond, func() { f.Close() })
	if err := Unmount(dir); err != nil {
		t.Fatalf("unmount once the file is closed: %v", err)
	}
	if err := unix.Unmount(dir, 0); !errors.Is(err, unix.EINVAL) {
		t.Errorf("%s still mounted: %v", dir, err)
	}
}
