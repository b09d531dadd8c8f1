package uring

import (
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestSubmitAndWaitThroughSignals: signals arriving while a call that
// submitted waits must not end the wait before the completion (the kernel
// reports the submission then, not EINTR). A pipe read completes only
// when the writer writes, 50 ms on, while the waiting thread takes a
// signal every 100 µs.
func TestSubmitAndWaitThroughSignals(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := newRing(t, 4, Params{})
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	buf := make([]byte, 8)
	var pin runtime.Pinner
	pin.Pin(&buf[0])
	defer pin.Unpin()
	r.GetSQE().PrepRead(int32(pr.Fd()), uintptr(unsafe.Pointer(&buf[0])), uint32(len(buf)), 0)

	tid, pid := unix.Gettid(), unix.Getpid()
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			_ = unix.Tgkill(pid, tid, unix.SIGURG) // the Go runtime's own preemption signal
			time.Sleep(100 * time.Microsecond)
		}
	}()
	go func() {
		time.Sleep(50 * time.Millisecond)
		pw.Write([]byte("x"))
	}()
	_, err = r.SubmitAndWait(1)
	ready := r.CQReady()
	stop.Store(true)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	if ready < 1 {
		t.Fatalf("SubmitAndWait(1) returned with %d completions", ready)
	}
}
