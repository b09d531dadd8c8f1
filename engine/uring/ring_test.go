package uring

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func newRing(t testing.TB, entries uint32, p Params) *Ring {
	t.Helper()
	r, err := New(entries, p)
	if err != nil {
		if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EPERM) {
			t.Skipf("io_uring unavailable: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// mmapBuf returns page-aligned memory outside the Go heap.
func mmapBuf(t testing.TB, n int) []byte {
	t.Helper()
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(b) })
	return b
}

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

func TestNopRoundTrip(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newRing(t, 8, Params{})
	t.Logf("ring: %v", r)
	if r.Flags()&SetupSingleIssuer == 0 || r.Flags()&SetupDeferTaskrun == 0 {
		t.Logf("kernel refused single_issuer/defer_taskrun: %v", r)
	}
	cqes := make([]CQE, 16)
	for round := range 3 {
		for i := range 8 {
			s := r.GetSQE()
			if s == nil {
				t.Fatalf("round %d: SQ full at %d", round, i)
			}
			s.PrepNop()
			s.UserData = uint64(round*100 + i)
		}
		if s := r.GetSQE(); s != nil {
			t.Fatal("GetSQE returned an entry beyond the SQ size")
		}
		if _, err := r.SubmitAndWait(8); err != nil {
			t.Fatal(err)
		}
		n := r.PeekBatchCQE(cqes)
		if n != 8 {
			t.Fatalf("round %d: %d completions, want 8", round, n)
		}
		seen := map[uint64]bool{}
		for _, c := range cqes[:n] {
			if c.Res != 0 {
				t.Fatalf("nop res %d", c.Res)
			}
			seen[c.UserData] = true
		}
		r.CQAdvance(n)
		for i := range 8 {
			if !seen[uint64(round*100+i)] {
				t.Fatalf("round %d: completion %d missing", round, i)
			}
		}
	}
}

// TestNoTaskrunFlag: NoTaskrunFlag leaves TASKRUN_FLAG out of the set-up
// flags, which New asks for otherwise wherever DEFER_TASKRUN or
// COOP_TASKRUN is in force; the ring completes operations either way.
func TestNoTaskrunFlag(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	with := newRing(t, 4, Params{})
	if with.Flags()&(SetupDeferTaskrun|SetupCoopTaskrun) != 0 && with.Flags()&SetupTaskrunFlag == 0 {
		t.Errorf("default ring %v: taskrun_flag missing beside defer/coop_taskrun", with)
	}
	without := newRing(t, 4, Params{NoTaskrunFlag: true})
	if without.Flags()&SetupTaskrunFlag != 0 {
		t.Errorf("ring %v has taskrun_flag despite NoTaskrunFlag", without)
	}
	if with.Flags()&^SetupTaskrunFlag != without.Flags() {
		t.Errorf("flags differ beyond taskrun_flag: %v against %v", with, without)
	}
	for _, r := range []*Ring{with, without} {
		for i := range 4 {
			s := r.GetSQE()
			s.PrepNop()
			s.UserData = uint64(i)
		}
		if _, err := r.SubmitAndWait(4); err != nil {
			t.Fatal(err)
		}
		cqes := make([]CQE, 8)
		if n := r.PeekBatchCQE(cqes); n != 4 {
			t.Errorf("ring %v: %d completions, want 4", r, n)
		} else {
			r.CQAdvance(n)
		}
	}
}

// TestOverflowKeepsCompletions submits far more operations than the CQ
// holds without reaping, then checks every one arrives.
func TestOverflowKeepsCompletions(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newRing(t, 8, Params{CQEntries: 8})
	const total = 200
	for i := 0; i < total; {
		s := r.GetSQE()
		if s == nil {
			if _, err := r.Submit(); err != nil {
				t.Fatal(err)
			}
			continue
		}
		s.PrepNop()
		s.UserData = uint64(i)
		i++
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	seen := make([]bool, total)
	cqes := make([]CQE, 4)
	for got := 0; got < total; {
		n := r.PeekBatchCQE(cqes)
		if n == 0 {
			if _, err := r.SubmitAndWait(1); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for _, c := range cqes[:n] {
			if seen[c.UserData] {
				t.Fatalf("completion %d twice", c.UserData)
			}
			seen[c.UserData] = true
		}
		r.CQAdvance(n)
		got += n
	}
	if r.Overflow() != 0 {
		t.Fatalf("kernel dropped %d completions", r.Overflow())
	}
}

func directFile(t testing.TB, size int) (*os.File, []byte) {
	t.Helper()
	dir := t.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "uring-test-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			dir = d
		}
	}
	path := filepath.Join(dir, "f")
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*31 + i/4096)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_DIRECT, 0)
	if err != nil {
		t.Skipf("O_DIRECT not supported here: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f, data
}

func TestDirectReadWrite(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const size = 64 << 10
	f, data := directFile(t, size)
	buf := mmapBuf(t, size)
	for _, mode := range []string{"plain", "vectored", "fixed", "fixed-file"} {
		t.Run(mode, func(t *testing.T) {
			// A subtest is a goroutine of its own: lock it too, the ring
			// is single-issuer.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			r := newRing(t, 8, Params{})
			fd := int32(f.Fd())
			if mode == "fixed" {
				if err := r.RegisterBuffers([][]byte{buf}); err != nil {
					t.Fatal(err)
				}
			}
			if mode == "fixed-file" {
				if err := r.RegisterFiles([]int32{fd}); err != nil {
					t.Fatal(err)
				}
				fd = 0
			}
			iov := (*[1]unix.Iovec)(unsafe.Pointer(&mmapBuf(t, 4096)[0]))
			clear(buf)
			s := r.GetSQE()
			switch mode {
			case "plain", "fixed-file":
				s.PrepRead(fd, addr(buf), size, 0)
				if mode == "fixed-file" {
					s.SetFixedFile()
				}
			case "vectored":
				iov[0].Base = &buf[0]
				iov[0].SetLen(size)
				s.PrepReadv(fd, uintptr(unsafe.Pointer(&iov[0])), 1, 0)
			case "fixed":
				s.PrepReadFixed(fd, addr(buf), size, 0, 0)
			}
			s.UserData = 7
			if _, err := r.SubmitAndWait(1); err != nil {
				t.Fatal(err)
			}
			c := waitOne(t, r)
			if c.Res != size || c.UserData != 7 {
				t.Fatalf("read: res %d user data %d", c.Res, c.UserData)
			}
			if !bytes.Equal(buf, data) {
				t.Fatal("read wrong data")
			}
			// Write it back changed, read through the file to check.
			for i := range buf {
				buf[i] ^= 0x5a
			}
			s = r.GetSQE()
			switch mode {
			case "plain", "fixed-file":
				s.PrepWrite(fd, addr(buf), size, 0)
				if mode == "fixed-file" {
					s.SetFixedFile()
				}
			case "vectored":
				s.PrepWritev(fd, uintptr(unsafe.Pointer(&iov[0])), 1, 0)
			case "fixed":
				s.PrepWriteFixed(fd, addr(buf), size, 0, 0)
			}
			if _, err := r.SubmitAndWait(1); err != nil {
				t.Fatal(err)
			}
			if c := waitOne(t, r); c.Res != size {
				t.Fatalf("write: res %d (%v)", c.Res, c.Err())
			}
			got := make([]byte, size)
			if _, err := unix.Pread(int(f.Fd()), got, 0); err != nil && !errors.Is(err, syscall.EINVAL) {
				t.Fatal(err)
			}
			for i := range data {
				data[i] ^= 0x5a
			}
			copy(buf, data) // for the next mode
		})
	}
}

func waitOne(t testing.TB, r *Ring) CQE {
	t.Helper()
	var c [1]CQE
	for r.PeekBatchCQE(c[:]) == 0 {
		if _, err := r.SubmitAndWait(1); err != nil {
			t.Fatal(err)
		}
	}
	r.CQAdvance(1)
	return c[0]
}

func TestKernelErrorsReachCaller(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	r := newRing(t, 4, Params{})
	buf := mmapBuf(t, 8192)
	s := r.GetSQE()
	s.PrepRead(int32(dir.Fd()), addr(buf), 4096, 0) // reading a directory
	s = r.GetSQE()
	s.PrepRead(9999, addr(buf), 4096, 0) // not a file descriptor
	s.UserData = 1
	if _, err := r.SubmitAndWait(2); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		c := waitOne(t, r)
		want := syscall.EISDIR
		if c.UserData == 1 {
			want = syscall.EBADF
		}
		if !errors.Is(c.Err(), want) {
			t.Errorf("op %d: %v, want %v", c.UserData, c.Err(), want)
		}
	}
}

func TestReusedSQEIsZeroed(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newRing(t, 1, Params{})
	s := r.GetSQE()
	s.PrepNop()
	s.Flags, s.OpFlags, s.BufIndex, s.Personality = 0xff, 0xffffffff, 0xffff, 0xffff
	s.Flags = 0
	s.OpFlags = 0
	s.Personality = 0
	if _, err := r.SubmitAndWait(1); err != nil {
		t.Fatal(err)
	}
	waitOne(t, r)
	s = r.GetSQE()
	if *s != (SQE{}) {
		t.Fatalf("reused SQE carries stale fields: %+v", *s)
	}
}

func TestProbe(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newRing(t, 1, Params{})
	p, err := r.Probe()
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []uint8{OpNop, OpRead, OpWrite, OpReadFixed} {
		if !p.Supports(op) {
			t.Errorf("probe says opcode %d unsupported", op)
		}
	}
}

func BenchmarkNop(b *testing.B) {
	for _, batch := range []int{1, 32} {
		b.Run("batch"+string(rune('0'+batch/10))+string(rune('0'+batch%10)), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			r := newRing(b, 64, Params{})
			cqes := make([]CQE, 64)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				for range batch {
					r.GetSQE().PrepNop()
				}
				if _, err := r.SubmitAndWait(uint32(batch)); err != nil {
					b.Fatal(err)
				}
				for got := 0; got < batch; {
					n := r.PeekBatchCQE(cqes)
					r.CQAdvance(n)
					got += n
				}
			}
		})
	}
}

// loopDevice attaches a loop device (direct I/O) over a tmpfs file with
// losetup, detached at cleanup. It skips without root or losetup.
func loopDevice(b *testing.B, size int64) string {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("loop devices need root")
	}
	losetup, err := exec.LookPath("losetup")
	if err != nil {
		b.Skip("losetup not installed")
	}
	dir, err := os.MkdirTemp("/dev/shm", "uring-bench-")
	if err != nil {
		b.Skipf("no tmpfs: %v", err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "dev.img")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		b.Fatal(err)
	}
	out, err := exec.Command(losetup, "--find", "--show", "--direct-io=on", path).Output()
	if err != nil {
		b.Skipf("losetup: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	b.Cleanup(func() { exec.Command(losetup, "-d", dev).Run() })
	return dev
}

// BenchmarkDirectRead reads random 4 KiB blocks with O_DIRECT from a loop
// device over a tmpfs file, keeping qd reads in flight.
func BenchmarkDirectRead(b *testing.B) {
	for _, qd := range []int{1, 32} {
		b.Run(fmt.Sprintf("qd%d", qd), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			const size = 256 << 20
			dev := loopDevice(b, size)
			f, err := os.OpenFile(dev, os.O_RDONLY|unix.O_DIRECT, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			r := newRing(b, 64, Params{})
			buf := mmapBuf(b, qd*4096)
			fd := int32(f.Fd())
			cqes := make([]CQE, 64)
			x := uint64(88172645463325252)
			next := func() uint64 {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				return x % (size / 4096) * 4096
			}
			for i := range qd {
				s := r.GetSQE()
				s.PrepRead(fd, addr(buf)+uintptr(i*4096), 4096, next())
				s.UserData = uint64(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				if _, err := r.SubmitAndWait(1); err != nil {
					b.Fatal(err)
				}
				n := r.PeekBatchCQE(cqes)
				for _, c := range cqes[:n] {
					if c.Res != 4096 {
						b.Fatalf("read: %d", c.Res)
					}
					s := r.GetSQE()
					s.PrepRead(fd, addr(buf)+uintptr(c.UserData*4096), 4096, next())
					s.UserData = c.UserData
				}
				r.CQAdvance(n)
				done += n
			}
			b.StopTimer()
			// Drain what is still in flight.
			r.Submit()
			for left := qd; left > 0; {
				if _, err := r.SubmitAndWait(1); err != nil {
					b.Fatal(err)
				}
				n := r.PeekBatchCQE(cqes)
				r.CQAdvance(n)
				left -= n
			}
		})
	}
}

// TestSetupErrorsSayWhatToDo checks the advice attached to each set-up
// failure (the kernel cannot be made to fail this way in a test).
func TestSetupErrorsSayWhatToDo(t *testing.T) {
	for errno, want := range map[syscall.Errno]string{
		syscall.EPERM:  "sysctl kernel.io_uring_disabled=0",
		syscall.ENOMEM: "ulimit -l",
		syscall.ENOSYS: "Linux 5.1+",
		syscall.EMFILE: "file descriptors",
	} {
		err := setupError(errno)
		if !errors.Is(err, errno) || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: %q, want it to wrap the errno and say %q", errno, err, want)
		}
	}
	if _, err := New(0, Params{}); err == nil {
		t.Error("0 entries accepted")
	}
	if _, err := New(65536, Params{}); err == nil {
		t.Error("65536 entries accepted")
	}
}

// TestSQPoll runs NOPs through a ring with a kernel submission thread.
func TestSQPoll(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := New(8, Params{SQPoll: true})
	if err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("SQPOLL not permitted here: %v", err)
		}
		t.Fatal(err)
	}
	defer r.Close()
	if r.Flags()&SetupSQPoll == 0 {
		t.Fatalf("SQPOLL asked for but not in force: %v", r)
	}
	for i := range 20 {
		s := r.GetSQE()
		for s == nil {
			waitOne(t, r)
			s = r.GetSQE()
		}
		s.PrepNop()
		s.UserData = uint64(i)
		if _, err := r.Submit(); err != nil {
			t.Fatal(err)
		}
		if c := waitOne(t, r); c.Res != 0 {
			t.Fatalf("nop: %d", c.Res)
		}
	}
}

// TestRawSlots: at most GOMAXPROCS-1 open rings wait raw; a ring set up
// beyond them waits through the runtime, an Unslotted ring waits raw
// without a slot, and a closed ring's slot goes to the next one.
func TestRawSlots(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	base := rawSlots.Load() // rings other tests left open
	var rs []*Ring
	for range 5 - int(base) {
		rs = append(rs, newRing(t, 2, Params{}))
	}
	if len(rs) < 4 {
		t.Skipf("%d rings of other tests open", base)
	}
	raw := 0
	for _, r := range rs {
		if r.rawWaits {
			raw++
		}
	}
	if rawSlots.Load() != 3 || raw != 3-int(base) || rs[len(rs)-1].rawWaits || rs[len(rs)-2].rawWaits {
		t.Fatalf("GOMAXPROCS 4: %d of %d rings wait raw, %d slots taken; want 3 slots", raw, len(rs), rawSlots.Load())
	}
	if r := newRing(t, 2, Params{Unslotted: true}); !r.rawWaits || rawSlots.Load() != 3 {
		t.Errorf("Unslotted: raw %v, %d slots taken; want raw waits and no slot", r.rawWaits, rawSlots.Load())
	}
	if err := rs[0].Close(); err != nil {
		t.Fatal(err)
	}
	if rawSlots.Load() != 2 {
		t.Errorf("after a close: %d slots taken, want 2", rawSlots.Load())
	}
	if r := newRing(t, 2, Params{}); !r.rawWaits {
		t.Errorf("a ring set up after a close does not wait raw")
	}
}

// TestSharedRing: a Shared ring leaves out SINGLE_ISSUER and
// DEFER_TASKRUN, takes no raw slot, waits through the runtime, and serves
// threads in turn: NOPs submitted and waited for from three threads.
func TestSharedRing(t *testing.T) {
	before := rawSlots.Load()
	r := newRing(t, 4, Params{Shared: true})
	if r.flags&(SetupSingleIssuer|SetupDeferTaskrun) != 0 {
		t.Fatalf("shared ring set up with flags %#x: SINGLE_ISSUER or DEFER_TASKRUN", r.flags)
	}
	if r.rawWaits || r.rawSlot || rawSlots.Load() != before {
		t.Fatalf("shared ring: raw waits %v, raw slot %v (%d slots taken, %d before)", r.rawWaits, r.rawSlot, rawSlots.Load(), before)
	}
	for i := range 3 {
		done := make(chan error)
		go func() {
			runtime.LockOSThread() // a thread of its own, exited with the goroutine
			s := r.GetSQE()
			s.PrepNop()
			s.UserData = uint64(i)
			if _, err := r.SubmitAndWait(1); err != nil {
				done <- err
				return
			}
			c := make([]CQE, 1)
			if r.PeekBatchCQE(c) != 1 || c[0].UserData != uint64(i) || c[0].Res != 0 {
				done <- fmt.Errorf("completion %+v", c[0])
				return
			}
			r.CQAdvance(1)
			done <- nil
		}()
		if err := <-done; err != nil {
			t.Fatalf("thread %d: %v", i, err)
		}
	}
}

// A wait longer than rawWait goes on through the runtime: a raw call that
// times out, then an ordinary call for the rest, and the whole timeout is
// honoured. With a single P the wait is an ordinary call from the start.
// (A signal may add a retried call to either path.)
func TestLongWaitLeavesRawCall(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newRing(t, 4, Params{})
	if r.Features()&FeatExtArg == 0 {
		t.Skip("kernel without IORING_FEAT_EXT_ARG: waits have no timeout")
	}
	timeout := rawWait + 20*time.Millisecond
	for _, raw := range []bool{true, false} {
		r.rawWaits = raw
		enters, slow := r.Enters(), r.slowWaits
		start := time.Now()
		if _, err := r.SubmitAndWaitTimeout(1, timeout); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < timeout {
			t.Errorf("raw %v: wait returned after %v, before its %v timeout", raw, took, timeout)
		}
		calls, slowCalls := r.Enters()-enters, r.slowWaits-slow
		minCalls := uint64(1)
		if raw {
			minCalls = 2
		}
		if slowCalls != 1 || calls < minCalls {
			t.Errorf("raw %v: %d io_uring_enter calls, %d through the runtime; want at least %d, and 1", raw, calls, slowCalls, minCalls)
		}
	}
}

// TestPrepBlockDiscardLayout checks where PrepBlockDiscard puts the
// command, start and length: the kernel reads cmd_op from the low 32 bits
// of offset 8, the start from offset 16 and the length from addr3 at
// offset 48, and refuses the command unless len, rw_flags, ioprio and
// the pad are zero.
func TestPrepBlockDiscardLayout(t *testing.T) {
	var s SQE
	s.PrepBlockDiscard(7, 1<<40, 3<<20)
	b := (*[sqeSize]byte)(unsafe.Pointer(&s))
	le64 := func(off int) uint64 {
		var v uint64
		for i := 7; i >= 0; i-- {
			v = v<<8 | uint64(b[off+i])
		}
		return v
	}
	if b[0] != OpURingCmd || le64(8) != 0x1200 || le64(16) != 1<<40 || le64(48) != 3<<20 {
		t.Fatalf("opcode %d cmd %#x addr %#x addr3 %#x", b[0], le64(8), le64(16), le64(48))
	}
	if s.Len != 0 || s.OpFlags != 0 || s.IOPrio != 0 || le64(56) != 0 {
		t.Fatalf("fields the kernel wants zero are set: %+v", s)
	}
}

// TestFallocatePunchHole punches a hole in a regular file through the
// ring: the range reads as zeros and is deallocated (SEEK_HOLE finds it),
// its neighbours keep their data, and the size is kept.
func TestFallocatePunchHole(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const size = 64 << 10
	f, data := directFile(t, size)
	r := newRing(t, 4, Params{})
	p, err := r.Probe()
	if err != nil {
		t.Fatal(err)
	}
	if !p.Supports(OpFallocate) {
		t.Skip("kernel has no IORING_OP_FALLOCATE")
	}
	r.GetSQE().PrepFallocate(int32(f.Fd()), FallocPunchHole|FallocKeepSize, 16<<10, 16<<10)
	if c := submitOne(t, r); c.Err() != nil {
		t.Fatalf("punch hole: %v", c.Err())
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(data)
	clear(want[16<<10 : 32<<10])
	if len(got) != size || !bytes.Equal(got, want) {
		t.Fatalf("after the punch: %d bytes, equal to the expected content: %v", len(got), bytes.Equal(got, want))
	}
	if hole, err := unix.Seek(int(f.Fd()), 0, unix.SEEK_HOLE); err != nil || hole != 16<<10 {
		t.Fatalf("SEEK_HOLE from 0: %d, %v; want the punched range at %d", hole, err, 16<<10)
	}
}

// TestBlockDiscardOnRegularFile: a regular file takes no uring commands,
// and the kernel's refusal comes back as an errno, not a hang.
func TestBlockDiscardOnRegularFile(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f, _ := directFile(t, 4096)
	r := newRing(t, 4, Params{})
	r.GetSQE().PrepBlockDiscard(int32(f.Fd()), 0, 4096)
	c := submitOne(t, r)
	if err := c.Err(); !errors.Is(err, syscall.EOPNOTSUPP) && !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("discard of a regular file: %v, want EOPNOTSUPP (or EINVAL before 5.19)", err)
	}
}

// submitOne submits the one SQE prepared on r and returns its completion.
func submitOne(t *testing.T, r *Ring) CQE {
	t.Helper()
	if _, err := r.SubmitAndWait(1); err != nil {
		t.Fatal(err)
	}
	cqes := make([]CQE, 1)
	if r.PeekBatchCQE(cqes) != 1 {
		t.Fatal("no completion")
	}
	r.CQAdvance(1)
	return cqes[0]
}

// TestSQPollAffinity: SQAff binds the kernel's submission thread
// (iou-sqp-PID, a thread of this process) to SQThreadCPU, as its allowed
// CPU list in /proc shows, and it still runs NOPs.
func TestSQPollAffinity(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// sqThreads maps the process's submission threads to their allowed CPUs.
	sqThreads := func() map[string]string {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, task := range tasks {
			comm, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/comm")
			if !strings.HasPrefix(string(comm), "iou-sqp-") {
				continue
			}
			status, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
			for _, l := range strings.Split(string(status), "\n") {
				if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
					out[task.Name()] = strings.TrimSpace(v)
				}
			}
		}
		return out
	}
	before := sqThreads() // other tests' rings' threads may still be exiting
	cpu := runtime.NumCPU() - 1
	r, err := New(8, Params{SQPoll: true, SQAff: true, SQThreadCPU: uint32(cpu)})
	if err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("SQPOLL not permitted here: %v", err)
		}
		t.Fatal(err)
	}
	defer r.Close()
	if r.Flags()&SetupSQAff == 0 {
		t.Fatalf("SQ_AFF asked for but not in force: %v", r)
	}
	s := r.GetSQE()
	s.PrepNop()
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	if c := waitOne(t, r); c.Res != 0 {
		t.Fatalf("nop: %d", c.Res)
	}
	var allowed []string
	for tid, cpus := range sqThreads() {
		if _, old := before[tid]; !old {
			allowed = append(allowed, cpus)
		}
	}
	if want := strconv.Itoa(cpu); len(allowed) != 1 || allowed[0] != want {
		t.Errorf("the ring's submission thread may run on CPUs %q, want %s", allowed, want)
	}
}

// TestPrepSyncFileRangeLayout: sync_file_range's SQE carries opcode 8,
// the offset at byte 8, the length at byte 24 and the flags at byte 28
// (sync_range_flags), and leaves addr, buf_index and splice_fd_in (which
// the kernel wants zero) and everything else zero.
func TestPrepSyncFileRangeLayout(t *testing.T) {
	var s SQE
	s.PrepSyncFileRange(7, 1<<40+4096, 3<<20, SyncRangeWaitBefore|SyncRangeWrite|SyncRangeWaitAfter)
	b := (*[sqeSize]byte)(unsafe.Pointer(&s))
	le := func(off, n int) uint64 {
		var v uint64
		for i := n - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[off+i])
		}
		return v
	}
	if b[0] != 8 || le(4, 4) != 7 || le(8, 8) != 1<<40+4096 || le(24, 4) != 3<<20 || le(28, 4) != 7 {
		t.Fatalf("opcode %d fd %d off %#x len %#x flags %#x", b[0], le(4, 4), le(8, 8), le(24, 4), le(28, 4))
	}
	for _, f := range [][2]int{{1, 1}, {2, 2}, {16, 8}, {32, 8}, {40, 2}, {42, 2}, {44, 4}, {48, 8}, {56, 8}} {
		if v := le(f[0], f[1]); v != 0 {
			t.Errorf("byte %d (%d bytes) is %#x; the kernel wants it 0", f[0], f[1], v)
		}
	}
}

// TestSyncFileRange runs sync_file_range through the ring on a file with
// dirty pages: a well-formed SQE completes with 0; the kernel refuses
// (EINVAL) one whose addr is set, as an SQE reused from a write without
// being cleared would have it (fio 3.33's io_uring engine sends such
// SQEs, and ignores the refusal), and one with an unknown flag.
func TestSyncFileRange(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(bytes.Repeat([]byte{0xa5}, 64<<10)); err != nil {
		t.Fatal(err)
	}
	r := newRing(t, 4, Params{})
	p, err := r.Probe()
	if err != nil {
		t.Fatal(err)
	}
	if !p.Supports(OpSyncFileRange) {
		t.Skip("kernel has no IORING_OP_SYNC_FILE_RANGE")
	}
	all := SyncRangeWaitBefore | SyncRangeWrite | SyncRangeWaitAfter
	r.GetSQE().PrepSyncFileRange(int32(f.Fd()), 4096, 32<<10, all)
	if c := submitOne(t, r); c.Res != 0 {
		t.Fatalf("sync_file_range: res %d (%v), want 0", c.Res, c.Err())
	}
	s := r.GetSQE()
	s.PrepSyncFileRange(int32(f.Fd()), 4096, 32<<10, all)
	s.Addr = 0x1000
	if c := submitOne(t, r); !errors.Is(c.Err(), syscall.EINVAL) {
		t.Errorf("sync_file_range with addr set: res %d (%v), want EINVAL", c.Res, c.Err())
	}
	r.GetSQE().PrepSyncFileRange(int32(f.Fd()), 0, 4096, 8)
	if c := submitOne(t, r); !errors.Is(c.Err(), syscall.EINVAL) {
		t.Errorf("sync_file_range with flag 8: res %d (%v), want EINVAL", c.Res, c.Err())
	}
}

// A wait without a timeout takes no timer: it starts as a raw call and,
// at the first signal (here one sent to the thread, as the runtime's
// monitor sends one to a goroutine that has run 10 ms), goes on through
// the runtime until its completion comes. Without preemption signals the
// raw call is bounded by rawWait instead.
func TestUntimedWaitLeavesRawCallAtSignal(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newRing(t, 4, Params{Unslotted: true})
	if !r.rawWaits {
		t.Skip("GOMAXPROCS 1: every wait goes through the runtime")
	}
	buf := pipeBuf(t)
	for _, signals := range []bool{true, false} {
		old := preemptSignals
		preemptSignals = signals
		p := queuePipeRead(t, r, buf, 7)
		tid := unix.Gettid()
		done := make(chan struct{})
		go func() {
			defer close(done)
			// Timed from the wait, not from here: on a loaded machine
			// (a CI run) the test's thread may reach its wait 30 ms or
			// more after this starts, and a signal sent before the wait
			// began interrupted nothing ("0 waits went on through the
			// runtime"), a write before it left nothing to wait for.
			waitAsleep(t, tid)
			if signals {
				_ = unix.Tgkill(unix.Getpid(), tid, unix.SIGURG)
			}
			time.Sleep(30 * time.Millisecond) // past rawWait without signals
			_, _ = unix.Write(p[1], []byte{1})
		}()
		slow, timed := r.slowWaits, r.timedWaits
		start := time.Now()
		_, err := r.SubmitAndWait(1)
		took := time.Since(start)
		<-done
		preemptSignals = old
		unix.Close(p[0])
		unix.Close(p[1])
		if err != nil {
			t.Fatal(err)
		}
		var c [1]CQE
		if n := r.PeekBatchCQE(c[:]); n != 1 || c[0].UserData != 7 || c[0].Res != 1 {
			t.Fatalf("signals %v: %d completions %+v, want the pipe read of 1 byte", signals, n, c)
		}
		r.CQAdvance(1)
		if took < 25*time.Millisecond {
			t.Errorf("signals %v: the wait returned after %v, before the read could complete", signals, took)
		}
		if r.slowWaits-slow != 1 {
			t.Errorf("signals %v: %d waits went on through the runtime, want 1", signals, r.slowWaits-slow)
		}
		if timers := r.timedWaits - timed; signals && timers != 0 || !signals && timers == 0 {
			t.Errorf("signals %v: %d calls with a timer", signals, timers)
		}
	}
}

// waitAsleep waits (5 s at most) until thread tid sleeps in
// io_uring_enter, as /proc shows it: the system call it is in and its
// state.
func waitAsleep(t *testing.T, tid int) {
	task := fmt.Sprintf("/proc/self/task/%d/", tid)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		sc, err1 := os.ReadFile(task + "syscall")
		st, err2 := os.ReadFile(task + "stat")
		if err1 != nil || err2 != nil {
			t.Errorf("reading %s: %v %v", task, err1, err2)
			return
		}
		// stat: "tid (comm) state ..."; comm may hold spaces.
		i := bytes.LastIndexByte(st, ')')
		inEnter := strings.HasPrefix(string(sc), strconv.Itoa(unix.SYS_IO_URING_ENTER)+" ")
		if inEnter && i >= 0 && i+2 < len(st) && st[i+2] == 'S' {
			return
		}
	}
	t.Errorf("thread %d did not sleep in io_uring_enter within 5 s", tid)
}

// TestAsyncPreemptOn reads asyncpreemptoff from GODEBUG as the runtime
// does: the last setting wins.
func TestAsyncPreemptOn(t *testing.T) {
	for env, want := range map[string]bool{"": true, "asyncpreemptoff=1": false, "gctrace=1,asyncpreemptoff=1": false,
		"asyncpreemptoff=1,asyncpreemptoff=0": true, "asyncpreemptoff=0": true, " asyncpreemptoff=1 ": false} {
		if got := asyncPreemptOn(env); got != want {
			t.Errorf("GODEBUG %q: preemption signals %v, want %v", env, got, want)
		}
	}
}

// TestTimedWaitKeepsTimeoutUnderSignals: signals that keep interrupting a
// timed wait do not lengthen it: each retry waits for the time left, not
// the whole timeout again. With signals every 2 ms, a 30 ms wait retried
// with its whole raw part (10 ms) each time never timed out while they
// came (300 ms here).
func TestTimedWaitKeepsTimeoutUnderSignals(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newRing(t, 4, Params{Unslotted: true})
	if r.features&FeatExtArg == 0 {
		t.Skip("no IORING_FEAT_EXT_ARG: waits have no timeout on this kernel")
	}
	buf := pipeBuf(t)
	for _, signals := range []bool{true, false} {
		old := preemptSignals
		preemptSignals = signals
		p := queuePipeRead(t, r, buf, 9)
		tid := unix.Gettid()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			end := time.After(300 * time.Millisecond)
			for {
				select {
				case <-stop:
					return
				case <-end:
					return
				case <-tick.C:
					_ = unix.Tgkill(unix.Getpid(), tid, unix.SIGURG)
				}
			}
		}()
		start := time.Now()
		_, err := r.SubmitAndWaitTimeout(1, 30*time.Millisecond)
		took := time.Since(start)
		close(stop)
		<-done
		preemptSignals = old
		if err != nil {
			t.Fatal(err)
		}
		if n := r.CQReady(); n != 0 {
			t.Fatalf("signals %v: %d completions, want none (nothing was written to the pipe)", signals, n)
		}
		if took < 30*time.Millisecond || took > 200*time.Millisecond {
			t.Errorf("signals %v: a 30 ms wait under a signal every 2 ms returned after %v", signals, took)
		}
		// End the read: write to the pipe and reap it.
		_, _ = unix.Write(p[1], []byte{1})
		if _, err := r.SubmitAndWait(1); err != nil {
			t.Fatal(err)
		}
		var c [1]CQE
		if n := r.PeekBatchCQE(c[:]); n != 1 || c[0].UserData != 9 {
			t.Fatalf("signals %v: %d completions %+v, want the pipe read", signals, n, c)
		}
		r.CQAdvance(1)
		unix.Close(p[0])
		unix.Close(p[1])
	}
}

// pipeBuf is a page of anonymous memory for a ring's reads, unmapped at
// the test's end.
func pipeBuf(t *testing.T) []byte {
	t.Helper()
	buf, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(buf) })
	return buf
}

// queuePipeRead queues on r a read of one byte into buf from a new pipe,
// which completes once a byte is written to the pipe's write end (p[1]).
func queuePipeRead(t *testing.T, r *Ring, buf []byte, userData uint64) [2]int {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	sqe := r.GetSQE()
	if sqe == nil {
		t.Fatal("no SQE")
	}
	sqe.PrepRead(int32(p[0]), uintptr(unsafe.Pointer(&buf[0])), 1, ^uint64(0))
	sqe.UserData = userData
	return p
}
