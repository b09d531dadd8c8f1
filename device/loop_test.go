package device_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { looptest.Main(m) }

func TestLoopGeometry(t *testing.T) {
	for _, lbs := range []uint32{512, 4096} {
		l := looptest.New(t, 64<<20, looptest.Options{LogicalBlockSize: lbs})
		d, err := device.Open(l.Path, device.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		g := d.Geometry()
		d.Close()
		if g.SizeBytes != 64<<20 || g.LogicalBlockSize != lbs || g.Kind != "loop" || g.DIOOffsetAlign < lbs {
			t.Fatalf("lbs %d: geometry %v", lbs, g)
		}
		// A loop device over a tmpfs file discards by punching holes in
		// it: the driver advertises discard in page-sized units.
		if g.DiscardMaxBytes == 0 || g.DiscardGranularity < lbs {
			t.Fatalf("lbs %d: discard granularity %d, max %d: want discard support", lbs, g.DiscardGranularity, g.DiscardMaxBytes)
		}
		t.Logf("%s: %v", l.Path, g)
	}
}

func TestRefusals(t *testing.T) {
	// An empty device is writable.
	l := looptest.New(t, 32<<20, looptest.Options{})
	d, err := device.Open(l.Path, device.Options{})
	if err != nil {
		t.Fatalf("empty loop device refused: %v", err)
	}
	// Held open exclusively by us: a second writer is refused.
	if _, err := device.Open(l.Path, device.Options{}); !errors.Is(err, device.ErrInUse) {
		t.Fatalf("busy device: %v, want ErrInUse", err)
	}
	d.Close()

	// ext4 signature, and then mounted (also through a symlink).
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("mkfs.ext4 not installed")
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", l.Path).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	if _, err := device.Open(l.Path, device.Options{}); !errors.Is(err, device.ErrHasSignature) || !strings.Contains(err.Error(), "pass --force") {
		t.Fatalf("ext4 device: %v, want ErrHasSignature, overridden by --force", err)
	}
	mnt := t.TempDir()
	if err := unix.Mount(l.Path, mnt, "ext4", 0, ""); err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, 0) })
	link := filepath.Join(t.TempDir(), "disk")
	if err := os.Symlink(l.Path, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{l.Path, link} {
		err := device.CheckWritable(p)
		if !errors.Is(err, device.ErrMounted) {
			t.Fatalf("mounted device via %s: %v, want ErrMounted", p, err)
		}
		// --force cannot take it (below): the error does not offer it.
		if !strings.Contains(err.Error(), "cannot take a device that is held: unmount it") || strings.Contains(err.Error(), "to write anyway") {
			t.Errorf("mounted device via %s: %v, want it to say that force does not help", p, err)
		}
		if _, err := device.Open(p, device.Options{}); !errors.Is(err, device.ErrMounted) {
			t.Fatalf("write open of a mounted device via %s: %v, want ErrMounted", p, err)
		}
	}
	if _, err := device.Open(link, device.Options{Force: true}); err == nil {
		t.Fatal("a mounted device opened O_EXCL for writing")
	}
	// Reading is always allowed.
	if d, err := device.Open(link, device.Options{ReadOnly: true}); err != nil {
		t.Fatalf("read-only open of a mounted device: %v", err)
	} else {
		d.Close()
	}
}

func TestForceOverridesSignature(t *testing.T) {
	l := looptest.New(t, 32<<20, looptest.Options{})
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skip("mkfs.ext4 not installed")
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", l.Path).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	d, err := device.Open(l.Path, device.Options{Force: true})
	if err != nil {
		t.Fatalf("forced open: %v", err)
	}
	d.Close()
}

func TestReadOnlyLoop(t *testing.T) {
	l := looptest.New(t, 8<<20, looptest.Options{ReadOnly: true})
	d, err := device.Open(l.Path, device.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.ReadOnly() {
		t.Fatal("read-only loop device not reported read-only")
	}
	if _, err := device.Open(l.Path, device.Options{}); !errors.Is(err, device.ErrReadOnly) {
		t.Fatalf("write open of a read-only device: %v, want ErrReadOnly", err)
	}
}

// TestStaleReadOnlyPolicyCleared: a read-only policy left on a loop
// device (blockdev --setro) outlives its detach; a writable attachment of
// that device clears it instead of coming up read-only.
func TestStaleReadOnlyPolicyCleared(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loop devices need root")
	}
	dir := t.TempDir()
	backing := filepath.Join(dir, "first.img")
	if err := os.WriteFile(backing, make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	first, err := device.AttachLoop(backing, device.LoopOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Detach() }) // once more, should the test stop early
	f, err := os.OpenFile(first.Path(), os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = unix.IoctlSetPointerInt(int(f.Fd()), unix.BLKROSET, 1)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	dev := first.Path()
	if err := first.Detach(); err != nil {
		t.Fatal(err)
	}
	again, err := device.AttachLoop(backing, device.LoopOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := again.Detach(); err != nil {
			t.Errorf("detach %s: %v", again.Path(), err)
		}
	})
	if again.Path() != dev {
		// Another device came free first: set its policy right too.
		t.Logf("attached %s, not %s", again.Path(), dev)
	}
	d, err := device.Open(again.Path(), device.Options{})
	if err != nil {
		t.Fatalf("write open of the new attachment: %v", err)
	}
	d.Close()
	// dev itself must not stay read-only for the next user either.
	if b, _ := os.ReadFile("/sys/block/" + filepath.Base(dev) + "/ro"); again.Path() == dev && strings.TrimSpace(string(b)) != "0" {
		t.Errorf("%s ro=%s after a writable attach", dev, b)
	}
}

func TestPartitionTable(t *testing.T) {
	l := looptest.New(t, 32<<20, looptest.Options{})
	f, err := os.OpenFile(l.Backing, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	mbr := make([]byte, 512)
	mbr[510], mbr[511], mbr[446+4] = 0x55, 0xaa, 0x83
	f.WriteAt(mbr, 0)
	f.Close()
	// The loop device uses direct I/O on the backing file: the write
	// through the file is visible to reads of the device.
	if _, err := device.Open(l.Path, device.Options{}); !errors.Is(err, device.ErrHasSignature) {
		t.Fatalf("device with an MBR: %v, want ErrHasSignature", err)
	}
}

// TestUnreadableSignatureArea: a device whose blocks past 64 KiB fail
// with EIO (its loop device's backing file was cut there) cannot be
// checked for a signature (btrfs keeps its magic at 64 KiB): a write
// open is refused with ErrUnreadable, naming the first block that fails
// and how to write anyway; Force writes without the check.
func TestUnreadableSignatureArea(t *testing.T) {
	l := looptest.New(t, 8<<20, looptest.Options{})
	if err := os.Truncate(l.Backing, 64<<10); err != nil {
		t.Fatal(err)
	}
	err := device.CheckWritable(l.Path)
	if !errors.Is(err, device.ErrUnreadable) || !errors.Is(err, unix.EIO) ||
		!strings.Contains(err.Error(), "read @65536+4096") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("CheckWritable: %v; want ErrUnreadable and EIO naming the block at 65536 and --force", err)
	}
	if _, err := device.Open(l.Path, device.Options{}); !errors.Is(err, device.ErrUnreadable) {
		t.Fatalf("write open: %v, want ErrUnreadable", err)
	}
	d, err := device.Open(l.Path, device.Options{Force: true})
	if err != nil {
		t.Fatalf("forced open: %v", err)
	}
	d.Close()
}
