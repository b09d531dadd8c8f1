// Package uring is the project's io_uring binding on golang.org/x/sys/unix,
// in liburing's vocabulary: New (io_uring_setup with feature probing),
// GetSQE, Prep* helpers, Submit, SubmitAndWait, SubmitAndWaitTimeout,
// PeekBatchCQE, CQAdvance, Register{Buffers,Files}, Probe.
//
// Set-up asks for SINGLE_ISSUER|DEFER_TASKRUN|COOP_TASKRUN|NO_SQARRAY and
// drops flags one at a time while the kernel says EINVAL; IOPOLL and SQPOLL
// only when asked. Flags() and Features() (and String) say what is in force.
//
// Invariants and pitfalls handled:
//   - every SQE is zeroed by GetSQE, so no stale flags leak between uses;
//   - head and tail are read and written with sync/atomic;
//   - io_uring_enter is retried on EINTR; EAGAIN/EBUSY (CQ overflow,
//     resources) return to the caller to reap first; ETIME is a timeout;
//   - the CQ is twice the SQ by default, and overflowed completions are
//     flushed (IORING_SQ_CQ_OVERFLOW) before the CQ is reported empty;
//   - the wait timeout lives in mmap'd memory, never on the Go stack;
//   - no go:linkname; no allocation per operation.
//
// A Ring is owned by one goroutine and not safe for concurrent use; with
// SINGLE_ISSUER in force that goroutine must be locked to its OS thread.
package uring
