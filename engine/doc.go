// Package engine reads and writes files whose data lives on block devices:
// it resolves a file range to device addresses through the file's extent
// cache (package mapcache), asks a pluggable Mapper on a miss, and submits
// aligned device I/O through io_uring (package engine/uring).
//
// # Using it
//
// An Engine is built over a device table (Config.Devices; a mapping's Dev
// indexes it) and a Mapper. Engine.Open returns a File with its own cache,
// size and block size. File.ReadAt and File.WriteAt implement io.ReaderAt
// and io.WriterAt and may be called from any goroutine, each call running
// on the caller's thread as pread does (a direct queue, Config.DirectQueues);
// buffers, offsets and lengths must be aligned (Engine.Alignment), and
// Engine.Buffer hands out aligned buffers from an mmap'd arena outside the
// Go heap.
//
// For high queue depths without a goroutine per I/O there are two batch
// APIs: Engine.Submit hands a Request to a background queue and delivers it
// through its Callback or Done channel; Engine.NewQueue gives a goroutine a
// ring of its own, with Queue.Submit and Queue.Reap (the path iobench uses).
// Every Request reports its bytes, error and latency. File.Close releases
// what the mapper holds for a file (FileCloser); Engine.Close waits for
// in-flight I/O, closes the files and releases rings and buffers.
//
// # Durability
//
// A write is acknowledged when the device completed it, which may leave
// it in the device's volatile cache. Engine.Sync, File.Sync and Queue.Sync
// make acknowledged writes durable: mappers that keep their mappings on
// the device (Syncer) commit them after the data is flushed; for others
// every device is flushed (IORING_OP_FSYNC). Mappers do their metadata
// I/O through DeviceIO (FlushDevice, WriteDevice, CommitDevice, the last a
// linked flush-write-flush chain), which goes through the same rings.
// A SyncRange request (File.SyncRange) is sync_file_range(2) of one file
// range: it writes the range's page-cache pages back to the device ranges
// under it (IORING_OP_SYNC_FILE_RANGE), and flushes no device cache.
//
// # Paths
//
// Read: look up the read fork; on a miss call Mapper.MapRead with the
// cache's sequence, validate the reply and store it only if the sequence is
// unchanged (otherwise look up again); split at extent boundaries. Mapped
// ranges become device reads, submitted in one batch; Hole, Unwritten and
// Delalloc ranges are zero-filled with no I/O; Inline ranges are copied
// through the mapper's ReadInline.
//
// Write: with no write fork (or a PureOverwrite record) the write goes
// through the read mapping, in place. A Mapped write-fork record, or a fresh
// location from Mapper.MapWrite, takes the write out of place; when the
// device write completes the engine calls Mapper.EndWrite and moves the
// range from the write fork to the read fork. A failed write drops the
// write-fork range instead: the old data stays readable, and the mapper
// hands back the new space.
//
// Trim (Request.Trim, File.Trim): resolved through the read fork as a
// read is; Mapped ranges become discards on their devices (io_uring's
// block discard command, the BLKDISCARD ioctl where the kernel lacks it,
// or a punched hole in a regular file: see trim.go); holes and unwritten
// ranges are skipped, and the cache is unchanged. Only mappers that
// implement Trimmer allow trims.
//
// The whole request is resolved before any device I/O is issued, so a bad
// mapper reply (ErrBadMapping: nothing covering the offset, overlaps,
// unaligned, beyond the device) fails it with nothing written.
//
// # Invariants
//
//   - A request completes exactly once, after all its device I/Os have
//     completed; short transfers are continued, EAGAIN is retried a bounded
//     number of times, a zero-byte transfer is ErrShortIO.
//   - Space freed by an out-of-place write goes back to the mapper (Free)
//     only when no in-flight request can still target it: requests publish
//     the engine epoch before they look anything up; freed space is tagged
//     with a later epoch and released when every queue's oldest in-flight
//     request is at least that new (see reclaim.go).
//   - Each Queue is owned by one goroutine locked to its OS thread; nothing
//     in the I/O path allocates per request in steady state.
//   - Errors name the file offset, the device and the device address
//     (IOError), and wrap the sentinels of errors.go or the device errno.
//
// # Reading the code
//
// A request goes through the files in this order: queue.go (it reaches a
// queue and is started), resolve.go (its range becomes device pieces),
// ringloop.go (pieces go to the kernel; the loop waits and collects
// completions), complete.go (completions finish pieces; the ioend; delivery)
// and reclaim.go (freed space goes back to the mapper). contract.go is what
// a Mapper must do; ring.go is what the engine needs of a ring, and
// iouring.go adapts engine/uring to it. The engine reaches io_uring only
// through the Ring interface, so tests put a fault-injecting ring (package
// engine/faultring) behind it to inject EIO, EAGAIN, short transfers and late
// or trickling completions.
package engine
