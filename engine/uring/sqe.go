package uring

import (
	"strings"
	"syscall"
	"unsafe"
)

// Setup flags (IORING_SETUP_*).
const (
	SetupIOPoll       uint32 = 1 << 0
	SetupSQPoll       uint32 = 1 << 1
	SetupSQAff        uint32 = 1 << 2
	SetupCQSize       uint32 = 1 << 3
	SetupClamp        uint32 = 1 << 4
	SetupSubmitAll    uint32 = 1 << 7
	SetupCoopTaskrun  uint32 = 1 << 8
	SetupTaskrunFlag  uint32 = 1 << 9
	SetupSingleIssuer uint32 = 1 << 12
	SetupDeferTaskrun uint32 = 1 << 13
	SetupNoSQArray    uint32 = 1 << 16
)

var setupNames = []string{0: "iopoll", 1: "sqpoll", 2: "sq_aff", 3: "cqsize", 4: "clamp",
	7: "submit_all", 8: "coop_taskrun", 9: "taskrun_flag", 12: "single_issuer", 13: "defer_taskrun", 16: "no_sqarray"}

// Features (IORING_FEAT_*).
const (
	FeatSingleMmap    uint32 = 1 << 0
	FeatNoDrop        uint32 = 1 << 1
	FeatSubmitStable  uint32 = 1 << 2
	FeatRWCurPos      uint32 = 1 << 3
	FeatCurPersonalty uint32 = 1 << 4
	FeatFastPoll      uint32 = 1 << 5
	FeatPoll32Bits    uint32 = 1 << 6
	FeatSQPollNonfix  uint32 = 1 << 7
	FeatExtArg        uint32 = 1 << 8
	FeatNativeWorkers uint32 = 1 << 9
	FeatRsrcTags      uint32 = 1 << 10
	FeatCQESkip       uint32 = 1 << 11
	FeatLinkedFile    uint32 = 1 << 12
)

var featureNames = []string{"single_mmap", "nodrop", "submit_stable", "rw_cur_pos", "cur_personality",
	"fast_poll", "poll_32bits", "sqpoll_nonfixed", "ext_arg", "native_workers", "rsrc_tags", "cqe_skip",
	"linked_file", "reg_reg_ring", "recvsend_bundle", "min_timeout", "rw_attr", "no_iowait"}

func flagNames(v uint32, names []string) string {
	var parts []string
	for i := range 32 {
		if v&(1<<i) == 0 {
			continue
		}
		if i < len(names) && names[i] != "" {
			parts = append(parts, names[i])
		} else {
			parts = append(parts, "bit"+string(rune('0'+i/10))+string(rune('0'+i%10)))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// Enter flags (IORING_ENTER_*).
const (
	EnterGetEvents uint32 = 1 << 0
	EnterSQWakeup  uint32 = 1 << 1
	EnterSQWait    uint32 = 1 << 2
	EnterExtArg    uint32 = 1 << 3
	// EnterRegisteredRing: the fd argument is an index into the task's
	// registered ring fds (IORING_REGISTER_RING_FDS), which skips the fd
	// table look-up on every call.
	EnterRegisteredRing uint32 = 1 << 4
)

// SQ ring flags (IORING_SQ_*).
const (
	sqNeedWakeup uint32 = 1 << 0
	sqCQOverflow uint32 = 1 << 1
	sqTaskrun    uint32 = 1 << 2
)

// Opcodes (IORING_OP_*).
const (
	OpNop        uint8 = 0
	OpReadv      uint8 = 1
	OpWritev     uint8 = 2
	OpFsync      uint8 = 3
	OpReadFixed  uint8 = 4
	OpWriteFixed uint8 = 5
	// OpSyncFileRange is sync_file_range(2) of a range of the file
	// (PrepSyncFileRange).
	OpSyncFileRange uint8 = 8
	OpFallocate     uint8 = 17
	OpRead          uint8 = 22
	OpWrite         uint8 = 23
	OpURingCmd      uint8 = 46
	// OpReadvFixed is a vectored read into one registered buffer (Linux
	// 6.15 and later): every iovec lies within buffer BufIndex.
	OpReadvFixed uint8 = 60
)

// BlockURingCmdDiscard is the block layer's io_uring command that
// discards a byte range of a block device (BLOCK_URING_CMD_DISCARD,
// _IO(0x12, 0), Linux 6.12 and later): IORING_OP_URING_CMD with the
// command in the low 32 bits of sqe->off, the start in sqe->addr and the
// length in sqe->addr3. It needs no 128-byte SQEs.
const BlockURingCmdDiscard uint32 = 0x12 << 8 // _IO(0x12, 0): type 0x12, number 0

// Fallocate modes (FALLOC_FL_*) for PrepFallocate.
const (
	FallocKeepSize  uint32 = 0x01
	FallocPunchHole uint32 = 0x02
)

// SQE flags (IOSQE_*).
const (
	SQEFixedFile uint8 = 1 << 0
	SQEIODrain   uint8 = 1 << 1
	SQEIOLink    uint8 = 1 << 2
	// SQEAsync makes the kernel run the operation in its async workers
	// (io-wq) instead of trying it inline first (IOSQE_ASYNC).
	SQEAsync uint8 = 1 << 4
)

// FsyncDatasync makes PrepFsync an fdatasync.
const FsyncDatasync uint32 = 1 << 0

// sync_file_range(2) flags (SYNC_FILE_RANGE_*) for PrepSyncFileRange.
const (
	// SyncRangeWaitBefore waits for write-out already under way in the
	// range before starting any.
	SyncRangeWaitBefore uint32 = 1
	// SyncRangeWrite starts write-out of the range's dirty pages.
	SyncRangeWrite uint32 = 2
	// SyncRangeWaitAfter waits for the range's write-out to finish.
	SyncRangeWaitAfter uint32 = 4
)

// RWFNoWait in a read's or write's OpFlags (rw_flags) makes it fail with
// EAGAIN where it would block (RWF_NOWAIT, preadv2(2)).
const RWFNoWait uint32 = 0x8

// RWFAtomic in a write's OpFlags (rw_flags) makes it an atomic write
// (RWF_ATOMIC, pwritev2(2), Linux 6.11+): all of it reaches the device or
// none, never a mix of old and new data. The kernel refuses it with
// EOPNOTSUPP on a file that cannot write atomically (one not open O_DIRECT,
// a device without atomic write units) and with EINVAL when the length is
// not a power of two within the file's atomic write unit limits or the
// offset is not a multiple of the length; it refuses it on reads.
const RWFAtomic uint32 = 0x40

const (
	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	sqeSize = 64
	cqeSize = 16

	registerBuffers   = 0
	unregisterBuffers = 1
	registerFiles     = 2
	unregisterFiles   = 3
	registerProbe     = 8
	registerRingFds   = 20

	probeOpSupported = 1 << 0
)

// SQE is a submission queue entry (struct io_uring_sqe, 64 bytes).
type SQE struct {
	Opcode      uint8
	Flags       uint8
	IOPrio      uint16
	Fd          int32
	Off         uint64
	Addr        uint64
	Len         uint32
	OpFlags     uint32 // rw_flags, fsync_flags, …
	UserData    uint64
	BufIndex    uint16
	Personality uint16
	SpliceFdIn  int32
	Addr3       uint64 // the third address (uring commands: a discard's length)
	_           uint64
}

// CQE is a completion queue entry (struct io_uring_cqe).
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// Err returns the errno of a failed completion, or nil.
func (c *CQE) Err() error {
	if c.Res < 0 {
		return syscall.Errno(-c.Res)
	}
	return nil
}

type sqringOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqringOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqringOffsets
	cqOff                                                                  cqringOffsets
}

type geteventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	minWaitUs uint32
	ts        uint64
}

// Compile-time layout checks against the kernel ABI.
var (
	_ [sqeSize - unsafe.Sizeof(SQE{})]byte
	_ [unsafe.Sizeof(SQE{}) - sqeSize]byte
	_ [48 - unsafe.Offsetof(SQE{}.Addr3)]byte
	_ [unsafe.Offsetof(SQE{}.Addr3) - 48]byte
	_ [cqeSize - unsafe.Sizeof(CQE{})]byte
	_ [120 - unsafe.Sizeof(params{})]byte
	_ [unsafe.Sizeof(params{}) - 120]byte
	_ [24 - unsafe.Sizeof(geteventsArg{})]byte
)

// The prep helpers fill an SQE from GetSQE (already zeroed). Buffer and
// iovec addresses are raw: the memory must stay valid and must not move
// until the completion arrives, so it must live outside the Go heap (mmap'd
// arenas) or be pinned; never pass a Go stack address.

// PrepNop prepares a no-op.
func (s *SQE) PrepNop() { s.Opcode = OpNop; s.Fd = -1 }

func (s *SQE) prepRW(op uint8, fd int32, addr uintptr, n uint32, off uint64) {
	s.Opcode, s.Fd, s.Addr, s.Len, s.Off = op, fd, uint64(addr), n, off
}

// PrepRead prepares a read of n bytes at off into addr.
func (s *SQE) PrepRead(fd int32, addr uintptr, n uint32, off uint64) {
	s.prepRW(OpRead, fd, addr, n, off)
}

// PrepWrite prepares a write of n bytes at off from addr.
func (s *SQE) PrepWrite(fd int32, addr uintptr, n uint32, off uint64) {
	s.prepRW(OpWrite, fd, addr, n, off)
}

// PrepReadv prepares a vectored read; iovecs points to n struct iovec.
func (s *SQE) PrepReadv(fd int32, iovecs uintptr, n uint32, off uint64) {
	s.prepRW(OpReadv, fd, iovecs, n, off)
}

// PrepReadvFixed prepares a vectored read into registered buffer
// bufIndex; iovecs points to n struct iovec, each within that buffer.
func (s *SQE) PrepReadvFixed(fd int32, iovecs uintptr, n uint32, off uint64, bufIndex uint16) {
	s.prepRW(OpReadvFixed, fd, iovecs, n, off)
	s.BufIndex = bufIndex
}

// PrepWritev prepares a vectored write.
func (s *SQE) PrepWritev(fd int32, iovecs uintptr, n uint32, off uint64) {
	s.prepRW(OpWritev, fd, iovecs, n, off)
}

// PrepReadFixed prepares a read into registered buffer bufIndex.
func (s *SQE) PrepReadFixed(fd int32, addr uintptr, n uint32, off uint64, bufIndex uint16) {
	s.prepRW(OpReadFixed, fd, addr, n, off)
	s.BufIndex = bufIndex
}

// PrepWriteFixed prepares a write from registered buffer bufIndex.
func (s *SQE) PrepWriteFixed(fd int32, addr uintptr, n uint32, off uint64, bufIndex uint16) {
	s.prepRW(OpWriteFixed, fd, addr, n, off)
	s.BufIndex = bufIndex
}

// PrepFsync prepares an fsync (flags FsyncDatasync for fdatasync).
func (s *SQE) PrepFsync(fd int32, flags uint32) {
	s.Opcode, s.Fd, s.OpFlags = OpFsync, fd, flags
}

// PrepSyncFileRange prepares sync_file_range(fd, off, n, flags): the
// offset in sqe->off, the length in sqe->len (32 bits: 0 reaches to the
// end of the file) and the flags in sqe->sync_range_flags (OpFlags,
// SyncRange*). The kernel refuses the operation (EINVAL) unless sqe->addr,
// sqe->buf_index and sqe->splice_fd_in are 0, so nothing else is set: an
// SQE reused from a read or write must be zeroed first, as GetSQE's are.
// Like the system call, it writes back page-cache pages and flushes no
// device cache; on a file opened O_DIRECT whose writes bypassed the page
// cache it has nothing to write.
func (s *SQE) PrepSyncFileRange(fd int32, off uint64, n uint32, flags uint32) {
	s.Opcode, s.Fd, s.Off, s.Len, s.OpFlags = OpSyncFileRange, fd, off, n, flags
}

// SetFixedFile marks Fd as an index into the registered files.
func (s *SQE) SetFixedFile() { s.Flags |= SQEFixedFile }

// PrepFallocate prepares fallocate(fd, mode, off, length): the length
// goes in sqe->addr and the mode in sqe->len, as the kernel reads them.
// With FallocPunchHole|FallocKeepSize it deallocates the range of a
// regular file (reads return zeros) and keeps the file's size.
func (s *SQE) PrepFallocate(fd int32, mode uint32, off, length uint64) {
	s.Opcode, s.Fd, s.Off, s.Addr, s.Len = OpFallocate, fd, off, length, mode
}

// PrepBlockDiscard prepares a discard of [start, start+length) of the
// block device fd (BlockURingCmdDiscard). The command's result is 0 on
// success. Kernels without it fail the command: -EINVAL where the
// opcode is unknown (before 5.19; Probe tells), -EOPNOTSUPP where block
// devices take no uring commands (5.19 to 6.11) or the device cannot
// discard.
func (s *SQE) PrepBlockDiscard(fd int32, start, length uint64) {
	s.Opcode, s.Fd = OpURingCmd, fd
	s.Off = uint64(BlockURingCmdDiscard) // cmd_op; the __pad1 half stays 0
	s.Addr, s.Addr3 = start, length
}
