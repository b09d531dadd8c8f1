package device_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
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
	if _, err := device.Open(l.Path, device.Options{}); !errors.Is(err, device.ErrHasSignature) {
		t.Fatalf("ext4 device: %v, want ErrHasSignature", err)
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
