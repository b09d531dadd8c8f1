package device_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"golang.org/x/sys/unix"
)

// checkRefusal asserts err wraps want and names the device and the way to
// override, which is what a person reading the CLI's refusal needs.
func checkRefusal(t *testing.T, err, want error, path string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", path, err, want)
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "--force") {
		t.Fatalf("refusal %q does not name %s and --force", msg, path)
	}
}

func TestBusyHeldExclusively(t *testing.T) {
	l := looptest.New(t, 8<<20, looptest.Options{})
	fd, err := unix.Open(l.Path, unix.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkRefusal(t, device.CheckWritable(l.Path), device.ErrInUse, l.Path)
	_, err = device.Open(l.Path, device.Options{})
	checkRefusal(t, err, device.ErrInUse, l.Path)
	// Force skips the checks but not the kernel's exclusive claim.
	if _, err := device.Open(l.Path, device.Options{Force: true}); !errors.Is(err, device.ErrInUse) {
		t.Fatalf("forced open of an exclusively held device: %v, want ErrInUse", err)
	}
	unix.Close(fd)
	d, err := device.Open(l.Path, device.Options{})
	if err != nil {
		t.Fatalf("released device still refused: %v", err)
	}
	d.Close()
}

// TestWriteHoldShared: a second open for writing from the same process is
// refused, unless it asks to share the first one's exclusive hold
// (ShareHold: fio runs several writing jobs on one device), which it
// then does even after what the first wrote looks like a filesystem;
// the hold keeps other programs' exclusive opens out until the last
// writer closes, and then the checks run again for the next one.
func TestWriteHoldShared(t *testing.T) {
	l := looptest.New(t, 8<<20, looptest.Options{})
	foreign := func() error {
		fd, err := unix.Open(l.Path, unix.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC, 0)
		if err == nil {
			unix.Close(fd)
		}
		return err
	}
	d1, err := device.Open(l.Path, device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The first writer lays down an ext4 superblock magic (0xEF53 at
	// byte 1080): a fresh open would now be refused for the signature.
	if _, err := unix.Pwrite(d1.Fd(), alignedMagic(t), 1024); err != nil {
		t.Fatal(err)
	}
	if _, err := device.Open(l.Path, device.Options{}); !errors.Is(err, device.ErrInUse) {
		t.Fatalf("second open for writing without ShareHold: %v, want ErrInUse", err)
	}
	d2, err := device.Open(l.Path, device.Options{ShareHold: true})
	if err != nil {
		t.Fatalf("second open for writing from the same process, ShareHold: %v", err)
	}
	if err := foreign(); !errors.Is(err, unix.EBUSY) {
		t.Fatalf("another exclusive open while two writers hold the device: %v, want EBUSY", err)
	}
	d1.Close()
	if err := foreign(); !errors.Is(err, unix.EBUSY) {
		t.Fatalf("another exclusive open while one writer is left: %v, want EBUSY", err)
	}
	d2.Close()
	if err := foreign(); err != nil {
		t.Fatalf("exclusive open after the last writer closed: %v", err)
	}
	if _, err := device.Open(l.Path, device.Options{}); !errors.Is(err, device.ErrHasSignature) {
		t.Fatalf("a new first writer after the hold was given up: %v, want the signature refusal", err)
	}
}

// alignedMagic returns a 4 KiB block with an ext4 superblock's magic where
// it sits when the block is written at byte 1024 (s_magic at 56).
func alignedMagic(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 8192)
	off := int(-uintptr(unsafe.Pointer(&b[0])) & 4095)
	blk := b[off : off+4096]
	blk[56], blk[57] = 0x53, 0xef
	return blk
}

// writeMBR writes a DOS partition table with one Linux partition of
// sizeSectors from startSector.
func writeMBR(t *testing.T, backing string, startSector, sizeSectors uint32) {
	t.Helper()
	mbr := make([]byte, 512)
	e := mbr[446:]
	e[4] = 0x83
	binary.LittleEndian.PutUint32(e[8:], startSector)
	binary.LittleEndian.PutUint32(e[12:], sizeSectors)
	mbr[510], mbr[511] = 0x55, 0xaa
	f, err := os.OpenFile(backing, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(mbr, 0); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls until path exists: the kernel makes partition nodes in
// devtmpfs asynchronously.
func waitFor(t *testing.T, path string) {
	t.Helper()
	for range 100 {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not appear", path)
}

// blkpgIoctl is BLKPG, _IO(0x12, 105), which x/sys/unix does not name.
const blkpgIoctl = 0x1269

// addPartition adds partition pno to the device at path, startBytes in
// and lengthBytes long, and waits for its device node.
func addPartition(t *testing.T, path string, pno int32, startBytes, lengthBytes int64) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	part := unix.BlkpgPartition{Start: startBytes, Length: lengthBytes, Pno: pno}
	arg := unix.BlkpgIoctlArg{
		Op:      unix.BLKPG_ADD_PARTITION,
		Datalen: int32(unsafe.Sizeof(part)),
		Data:    (*byte)(unsafe.Pointer(&part)),
	}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), blkpgIoctl, uintptr(unsafe.Pointer(&arg)))
	runtime.KeepAlive(&part)
	if errno != 0 {
		t.Fatalf("BLKPG_ADD_PARTITION on %s: %v", path, errno)
	}
	waitFor(t, fmt.Sprintf("%sp%d", path, pno))
}

func TestPartitionedAndMountedPartition(t *testing.T) {
	l := looptest.New(t, 32<<20, looptest.Options{PartScan: true})
	writeMBR(t, l.Backing, 2048, 24<<11) // 1 MiB in, 24 MiB long
	// This kernel may have no partition-table parsers (no
	// CONFIG_MSDOS_PARTITION), so the partition is added the way partx does,
	// by BLKPG, which needs none.
	addPartition(t, l.Path, 1, 1<<20, 24<<20)
	part := l.Path + "p1"
	checkRefusal(t, device.CheckWritable(l.Path), device.ErrPartitioned, l.Path)
	if _, err := device.Open(l.Path, device.Options{}); !errors.Is(err, device.ErrPartitioned) {
		t.Fatalf("open of a partitioned device: %v, want ErrPartitioned", err)
	}
	// A partition's geometry: its own size, the disk's queue and driver.
	pd, err := device.Open(part, device.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	pg := pd.Geometry()
	pd.Close()
	if pg.SizeBytes != 24<<20 || pg.Kind != "loop" || pg.NrRequests == 0 || pg.MaxSectorsKB == 0 {
		t.Fatalf("partition geometry %v", pg)
	}
	// The empty partition itself may be written.
	if err := device.CheckWritable(part); err != nil {
		t.Fatalf("empty partition refused: %v", err)
	}

	// A mounted partition makes the whole disk refused as mounted, found by
	// the partition's device number.
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Skipf("mounting a partition needs mkfs.ext4: %v", err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", part).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v: %s", err, out)
	}
	mnt := t.TempDir()
	if err := unix.Mount(part, mnt, "ext4", 0, ""); err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	err = device.CheckWritable(l.Path)
	checkRefusal(t, err, device.ErrMounted, l.Path)
	if !strings.Contains(err.Error(), filepath.Base(part)) || !strings.Contains(err.Error(), mnt) {
		t.Fatalf("refusal %q does not say which partition is mounted where", err)
	}
	checkRefusal(t, device.CheckWritable(part), device.ErrMounted, part)
}

func TestSwapSignature(t *testing.T) {
	if _, err := exec.LookPath("mkswap"); err != nil {
		t.Skipf("needs mkswap: %v", err)
	}
	l := looptest.New(t, 16<<20, looptest.Options{})
	if out, err := exec.Command("mkswap", "-f", l.Path).CombinedOutput(); err != nil {
		t.Fatalf("mkswap: %v: %s", err, out)
	}
	err := device.CheckWritable(l.Path)
	checkRefusal(t, err, device.ErrHasSignature, l.Path)
	if !strings.Contains(err.Error(), "swap") {
		t.Fatalf("refusal %q does not say what was found", err)
	}
	if sig, err := device.Signature(l.Path); err != nil || sig != "swap" {
		t.Fatalf("Signature = %q, %v", sig, err)
	}
}

func TestSymlinkToDeviceWithSignature(t *testing.T) {
	l := looptest.New(t, 8<<20, looptest.Options{LogicalBlockSize: 4096})
	f, err := os.OpenFile(l.Backing, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("XFSB"), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Two levels of links, one relative: resolution follows all of them.
	dir := t.TempDir()
	if err := os.Symlink(l.Path, filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "b")
	if err := os.Symlink("a", link); err != nil {
		t.Fatal(err)
	}
	err = device.CheckWritable(link)
	checkRefusal(t, err, device.ErrHasSignature, link)
	if !strings.Contains(err.Error(), l.Path) {
		t.Fatalf("refusal %q does not name the real device %s", err, l.Path)
	}
}

func ExampleCheckWritable() {
	// A CLI refuses before any I/O; regular files are never refused.
	path := filepath.Join(os.TempDir(), fmt.Sprintf("example-%d.img", os.Getpid()))
	if err := os.WriteFile(path, make([]byte, 4096), 0o600); err != nil {
		fmt.Println(err)
		return
	}
	defer os.Remove(path)
	fmt.Println(device.CheckWritable(path))
	// Output: <nil>
}

// A device read before its backing file was written (udev probes every new
// loop device) has stale blocks in its page cache; Signature must not be
// fooled by them.
func TestSignatureBypassesPageCache(t *testing.T) {
	l := looptest.New(t, 8<<20, looptest.Options{})
	dev, err := os.Open(l.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	cached := make([]byte, 4096)
	if _, err := dev.ReadAt(cached, 0); err != nil { // fills the page cache with zeros
		t.Fatal(err)
	}
	f, err := os.OpenFile(l.Backing, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt([]byte("XFSB"), 0)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dev.ReadAt(cached, 0); err == nil && string(cached[:4]) == "XFSB" {
		t.Log("the page cache was not stale; the test proves less than it could")
	}
	if sig, err := device.Signature(l.Path); err != nil || sig != "xfs" {
		t.Fatalf("Signature = %q, %v; want xfs", sig, err)
	}
}
