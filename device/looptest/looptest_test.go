package looptest_test

import (
	"os"
	"strings"
	"testing"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { looptest.Main(m) }

func TestNewAndCleanup(t *testing.T) {
	var path, backing string
	t.Run("attach", func(t *testing.T) {
		l := looptest.New(t, 16<<20, looptest.Options{LogicalBlockSize: 4096})
		path, backing = l.Path, l.Backing
		if !strings.HasPrefix(backing, "/dev/shm/") {
			t.Errorf("backing file %s not on tmpfs", backing)
		}
		if got := device.LoopBacking()[path]; got != backing {
			t.Errorf("%s backed by %q, want %q", path, got, backing)
		}
		if att := looptest.Attached(); len(att) != 1 || !strings.HasPrefix(att[0], path+" ") {
			t.Errorf("while attached, Attached() = %q, want %s", att, path)
		}
		d, err := device.Open(path, device.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if g := d.Geometry(); g.SizeBytes != 16<<20 || g.LogicalBlockSize != 4096 {
			t.Errorf("geometry %v", g)
		}
		// Direct I/O is on by default: the loop driver opened its backing
		// file with O_DIRECT.
		if b, err := os.ReadFile("/sys/block/" + strings.TrimPrefix(path, "/dev/") + "/loop/dio"); err != nil || strings.TrimSpace(string(b)) != "1" {
			t.Errorf("loop/dio = %q, %v; want 1", b, err)
		}
	})
	if got, ok := device.LoopBacking()[path]; ok && got == backing {
		t.Fatalf("%s still attached to %s after the test's cleanup", path, backing)
	}
	if _, err := os.Stat(backing); !os.IsNotExist(err) {
		t.Fatalf("backing file %s survived cleanup: %v", backing, err)
	}
	if leaked := looptest.Leaked(); len(leaked) != 0 {
		t.Fatalf("Leaked() = %q after cleanup", leaked)
	}
}

func TestOptions(t *testing.T) {
	l := looptest.New(t, 4<<20, looptest.Options{ReadOnly: true, BufferedIO: true, OnDisk: true})
	name := "/sys/block/" + strings.TrimPrefix(l.Path, "/dev/")
	for file, want := range map[string]string{"/ro": "1", "/loop/dio": "0"} {
		b, err := os.ReadFile(name + file)
		if err != nil || strings.TrimSpace(string(b)) != want {
			t.Errorf("%s = %q, %v; want %s", file, b, err, want)
		}
	}
	if strings.HasPrefix(l.Backing, "/dev/shm/") {
		t.Errorf("OnDisk backing file %s on /dev/shm", l.Backing)
	}
	// The kernel lets a read-only device be opened for writing; the write
	// itself fails.
	fd, err := unix.Open(l.Path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.Pwrite(fd, make([]byte, 4096), 0); err == nil {
		t.Fatal("write to a read-only loop device succeeded")
	}
}

func TestMountExt4(t *testing.T) {
	mnt, dev := looptest.MountExt4(t, "")
	if err := os.WriteFile(mnt+"/f", []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := device.CheckWritable(dev); err == nil {
		t.Fatalf("mounted %s not refused", dev)
	}
}
