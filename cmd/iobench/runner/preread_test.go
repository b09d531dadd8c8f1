package runner

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestPreRead: pre_read leaves the job's part of its file in the page
// cache (from offset, size bytes) and nothing else of it, although the
// job itself reads with direct I/O; without it, invalidate (the default)
// drops the file's cached pages before the job.
func TestPreRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f") // a disk filesystem's page cache, not tmpfs's
	b := make([]byte, 4<<20)
	for i := range b {
		b[i] = byte(i)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, len(b), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	// resident returns how many of the file's 4 KiB pages in [lo, hi) are
	// in the page cache.
	resident := func(lo, hi int) int {
		vec := make([]byte, len(b)/4096)
		if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
			t.Fatal(e)
		}
		n := 0
		for _, v := range vec[lo/4096 : hi/4096] {
			n += int(v & 1)
		}
		return n
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	if n := resident(0, len(b)); n > 16 {
		t.Skipf("the page cache kept %d pages after FADV_DONTNEED: cannot see what pre_read adds", n)
	}
	job := []string{"--name=p", "--filename=" + path, "--rw=randread", "--bs=4k", "--offset=1m", "--size=1m", "--number_ios=4", "--direct=1", "--output-format=terse"}
	if code, _, errOut := run(t, append(job, "--pre_read=1")...); code != 0 {
		t.Fatalf("pre_read=1: exit %d: %s", code, errOut)
	}
	if in, out := resident(1<<20, 2<<20), resident(0, 1<<20)+resident(2<<20, 4<<20); in != 256 || out > 16 {
		t.Errorf("after pre_read=1: %d of the job's 256 pages cached (want all), %d of the others (want none)", in, out)
	}
	if code, _, errOut := run(t, job...); code != 0 {
		t.Fatalf("pre_read=0: exit %d: %s", code, errOut)
	}
	if n := resident(1<<20, 2<<20); n > 16 {
		t.Errorf("without pre_read, invalidate left %d of the job's pages cached", n)
	}
}

// TestWriteHint: write_hint sets the write lifetime hint of the job's
// file, which the kernel keeps with its inode (F_GET_RW_HINT reads it
// back), and an unknown hint is refused before any I/O.
func TestWriteHint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	for i, hint := range []string{"none", "short", "medium", "long", "extreme"} {
		if code, _, errOut := run(t, "--name=h", "--filename="+path, "--rw=write", "--size=64k", "--write_hint="+hint, "--output-format=terse"); code != 0 {
			t.Fatalf("write_hint=%s: exit %d: %s", hint, code, errOut)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var got uint64
		_, _, e := unix.Syscall(unix.SYS_FCNTL, f.Fd(), 1035 /* F_GET_RW_HINT */, uintptr(unsafe.Pointer(&got)))
		f.Close()
		if e != 0 || got != uint64(i+1) {
			t.Errorf("write_hint=%s: the file's hint is %d (%v), want %d", hint, got, e, i+1)
		}
	}
	if code, _, errOut := run(t, "--name=h", "--filename="+path, "--size=64k", "--write_hint=forever"); code != 2 || !strings.Contains(errOut, "want none, short, medium, long or extreme") {
		t.Errorf("write_hint=forever: exit %d: %s", code, errOut)
	}
}

// TestLayoutNeedsSpace: files to lay out that need more than their
// filesystem has free are refused before anything is written (a job file
// written for a large device, run on a file, filled the disk before), and
// no file is left behind. The filesystem is a 4 MiB tmpfs of the test's
// own, so that a regression fills that and not the machine's disk.
func TestLayoutNeedsSpace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	path := filepath.Join(dir, "big.img")
	for _, rw := range []string{"read", "write"} {
		code, _, errOut := run(t, "--name=big", "--filename="+path, "--rw="+rw, "--direct=0", "--size=64m", "--output-format=terse")
		if code != 2 || !strings.Contains(errOut, "needs 64 MiB more") || !strings.Contains(errOut, "which has 4.0 MiB free") {
			t.Errorf("rw=%s, a 64 MiB file on a 4 MiB filesystem: exit %d: %s", rw, code, errOut)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("rw=%s: the refused file was left behind", rw)
		}
	}
	// What fits is laid out.
	if code, _, errOut := run(t, "--name=fits", "--filename="+path, "--rw=read", "--direct=0", "--size=2m", "--output-format=terse"); code != 0 {
		t.Errorf("a 2 MiB file on the 4 MiB filesystem: exit %d: %s", code, errOut)
	}
}

// TestMemoryCheck: jobs running together whose buffers come to more than
// the machine's available memory are refused before anything is laid out
// or allocated, naming both sizes; two jobs that each fit but not
// together are refused as a group.
func TestMemoryCheck(t *testing.T) {
	avail, ok := memAvailable()
	if !ok {
		t.Skip("no MemAvailable in /proc/meminfo")
	}
	depth := strconv.FormatUint(avail>>30+2, 10) // 1 GiB buffers: more than is available
	code, _, errOut := run(t, "--name=big", "--ioengine=null", "--bs=1g", "--iodepth="+depth, "--size=1t", "--output-format=terse")
	if code != 2 || !strings.Contains(errOut, `job "big": its buffers`) || !strings.Contains(errOut, "of memory available") {
		t.Errorf("iodepth=%s of 1 GiB: exit %d: %s", depth, code, errOut)
	}
	half := strconv.FormatUint(avail>>30/2+1, 10)
	code, _, errOut = run(t, "--ioengine=null", "--bs=1g", "--iodepth="+half, "--size=1t", "--output-format=terse", "--name=a", "--name=b")
	if code != 2 || !strings.Contains(errOut, `jobs "a", "b", which run together`) {
		t.Errorf("two jobs of iodepth=%s of 1 GiB: exit %d: %s", half, code, errOut)
	}
}
