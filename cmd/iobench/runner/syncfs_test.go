package runner

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"golang.org/x/sys/unix"
)

// syncfsCalls makes end_syncfs's syncfs(2) calls go on through, and
// returns the st_dev of the filesystem of each, in order.
func syncfsCalls(t *testing.T) *[]uint64 {
	var calls []uint64
	syncfs = func(fd int) error {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		calls = append(calls, st.Dev)
		return unix.Syncfs(fd)
	}
	t.Cleanup(func() { syncfs = unix.Syncfs })
	return &calls
}

// devOf returns the st_dev of the filesystem path is on.
func devOf(t *testing.T, path string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Dev
}

// TestEndSyncfs: end_syncfs=1 makes a writing job call syncfs(2) once for
// each filesystem its files are on when its writes are done, on one of
// its files there (two files on an ext4 mount and one on tmpfs: two
// calls), in place of end_fsync's flush (the iolog has no sync line), as
// newer fio does; a job on a block device calls nothing (it has no
// filesystem of its own) and runs; a reading job, or end_syncfs=0, calls
// nothing. The call makes the files' data reach the device: the ext4
// mount's loop device holds the blocks the job wrote when it ends.
func TestEndSyncfs(t *testing.T) {
	mnt, _ := looptest.MountExt4(t, "")
	shm, err := os.MkdirTemp("/dev/shm", "syncfs-test-")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	calls := syncfsCalls(t)
	a, b, c := filepath.Join(mnt, "a"), filepath.Join(mnt, "b"), filepath.Join(shm, "c")
	logPath := filepath.Join(t.TempDir(), "io.log")
	names := strings.Join([]string{a, b, c}, ":")
	if code, _, errs := run(t, "--name=s", "--filename="+names, "--rw=write", "--bs=4k", "--size=384k", "--direct=0",
		"--end_syncfs=1", "--end_fsync=1", "--write_iolog="+logPath, "--output-format=terse"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if want := []uint64{devOf(t, mnt), devOf(t, shm)}; len(*calls) != 2 || (*calls)[0] != want[0] || (*calls)[1] != want[1] {
		t.Errorf("syncfs on filesystems %v, want %v (the ext4 mount once, then tmpfs)", *calls, want)
	}
	if log, err := os.ReadFile(logPath); err != nil || strings.Contains(string(log), " sync ") {
		t.Errorf("the iolog (%v) has a flush: end_syncfs takes end_fsync's place", err)
	}

	*calls = nil
	for _, args := range [][]string{
		{"--rw=write", "--end_syncfs=0", "--filename=" + a},
		{"--rw=read", "--end_syncfs=1", "--filename=" + a},
		{"--rw=write", "--end_syncfs=1", "--filename=" + looptest.New(t, 8<<20, looptest.Options{}).Path},
	} {
		args = append([]string{"--name=n", "--bs=4k", "--size=64k", "--direct=0", "--output-format=terse"}, args...)
		if code, _, errs := run(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		if len(*calls) != 0 {
			t.Errorf("%v: syncfs called on %v, want no call", args, *calls)
		}
	}
	// A block device takes no syncfs, and end_fsync still flushes it.
	devLog := filepath.Join(t.TempDir(), "dev.log")
	if code, _, errs := run(t, "--name=d", "--bs=4k", "--size=64k", "--rw=write", "--end_syncfs=1", "--end_fsync=1",
		"--filename="+looptest.New(t, 8<<20, looptest.Options{}).Path, "--force", "--write_iolog="+devLog, "--output-format=terse"); code != 0 {
		t.Fatalf("end_syncfs with end_fsync on a device: exit %d: %s", code, errs)
	}
	if log, err := os.ReadFile(devLog); err != nil || !strings.Contains(string(log), " sync ") || len(*calls) != 0 {
		t.Errorf("end_syncfs with end_fsync on a device: syncfs on %v, iolog (%v) without a flush: %s", *calls, err, log)
	}
}

// TestEndSyncfsReachesDevice: a buffered job on a file of an ext4 mount
// leaves its data in the page cache when it ends, unless end_syncfs=1:
// then the mount's loop device holds every block the job wrote (blocks of
// a pattern that no other block of the filesystem holds). The mount
// stays, so nothing of iobench's writes the file back; something else on
// the machine that syncs everything (sync(2)) does, and then the run
// without end_syncfs is tried again.
func TestEndSyncfsReachesDevice(t *testing.T) {
	const bs, blocks = 4096, 64
	for _, end := range []string{"1", "0"} {
		for attempt := 1; ; attempt++ {
			mnt, dev := looptest.MountExt4(t, "")
			backing := device.LoopBacking()[dev]
			if backing == "" {
				t.Fatalf("no backing file for %s", dev)
			}
			file := filepath.Join(mnt, "f")
			if code, _, errs := run(t, "--name=e", "--filename="+file, "--rw=write", "--bs=4k", "--size=256k",
				"--direct=0", "--buffer_pattern=0x17fec05e", "--end_syncfs="+end, "--output-format=terse"); code != 0 {
				t.Fatalf("end_syncfs=%s: exit %d: %s", end, code, errs)
			}
			data, err := os.ReadFile(file) // through the page cache: what the job wrote
			if err != nil || len(data) != blocks*bs {
				t.Fatalf("%s: %d bytes, %v", file, len(data), err)
			}
			block := data[:bs]
			if !bytes.Equal(data, bytes.Repeat(block, blocks)) || bytes.Equal(block, make([]byte, bs)) {
				t.Fatalf("the job did not write its pattern into every block")
			}
			b, err := os.ReadFile(backing)
			if err != nil {
				t.Fatal(err)
			}
			n := 0 // the device's blocks holding the pattern
			for off := 0; off+bs <= len(b); off += bs {
				if bytes.Equal(b[off:off+bs], block) {
					n++
				}
			}
			switch {
			case end == "1" && n != blocks:
				t.Fatalf("end_syncfs=1: the device holds %d of the %d blocks the job wrote", n, blocks)
			case end == "0" && n != 0 && attempt < 4:
				t.Logf("end_syncfs=0, attempt %d: %d blocks reached the device; something else synced them, again", attempt, n)
				continue
			case end == "0" && n != 0:
				t.Skipf("end_syncfs=0: %d blocks reached the device each time: something else synced them", n)
			}
			break
		}
	}
}
