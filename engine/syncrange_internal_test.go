package engine

import (
	"testing"

	"github.com/iobench/iobench/engine/uring"
)

// TestPrepSyncSQE: the io_uring ring turns a SyncRange op into
// IORING_OP_SYNC_FILE_RANGE with the op's device offset, length and flags,
// and addr 0 although the op points at a buffer (a request reused from a
// write keeps its Buf); Fsync and Fdatasync stay IORING_OP_FSYNC.
func TestPrepSyncSQE(t *testing.T) {
	op := Op{Sync: SyncRange, SyncFlags: SyncRangeWaitBefore | SyncRangeWrite, Fd: 5, Offset: 1<<33 + 512, Len: 3 << 20,
		Addr: 0xdead000, Write: true, BufIndex: 3}
	var s uring.SQE
	prepSync(&s, &op)
	want := uring.SQE{Opcode: uring.OpSyncFileRange, Fd: 5, Off: 1<<33 + 512, Len: 3 << 20, OpFlags: uring.SyncRangeWaitBefore | uring.SyncRangeWrite}
	if s != want {
		t.Errorf("sync_file_range SQE %+v, want %+v", s, want)
	}
	for _, c := range []struct {
		sync  Sync
		flags uint32
	}{{Fsync, 0}, {Fdatasync, uring.FsyncDatasync}} {
		s = uring.SQE{}
		op := Op{Sync: c.sync, Fd: 9, Addr: 0xdead000, Len: 4096}
		prepSync(&s, &op)
		if want := (uring.SQE{Opcode: uring.OpFsync, Fd: 9, OpFlags: c.flags}); s != want {
			t.Errorf("%v SQE %+v, want %+v", c.sync, s, want)
		}
	}
}
