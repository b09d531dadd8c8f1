// Package device is the engine's boundary with block devices and files: it
// opens a block device (NVMe, loop, zram, virtio, SCSI, ...) or a regular
// file for direct I/O and reports its geometry, refuses to write to a
// device that looks in use, attaches and detaches loop devices, and hands
// out aligned I/O buffers from mmap'd arenas. It does no I/O of its own
// beyond reading a device's first blocks for signatures; the engine does
// the I/O through the descriptor (Device.Fd) and the buffers (Arena).
//
// Safety invariants:
//   - Open for writing a block device without Options.Force first runs
//     CheckWritable, then opens the device O_EXCL, so that it holds the
//     kernel's exclusive claim for as long as it is open. Force skips the
//     checks but never the exclusive claim.
//   - CheckWritable resolves symlinks and compares device numbers, never
//     path strings, against /proc/self/mountinfo (the device and each of
//     its partitions, and each mount source, so btrfs's anonymous device
//     numbers do not hide it), refuses a device with holders or partitions,
//     reads the first 256 KiB for a filesystem, swap, LVM, RAID, LUKS or
//     partition-table signature, and tries an exclusive open. Each refusal
//     wraps ErrMounted, ErrInUse, ErrPartitioned or ErrHasSignature, names
//     the device and the reason and says how to override (--force).
//   - Regular files are never refused.
//
// Arena buffers live outside the Go heap, aligned to at least the arena's
// alignment, never straddle a region (Arena.Regions, the unit of io_uring
// buffer registration), and are poisoned (Poison) when put back.
//
// Loop devices (AttachLoop) are for tests and benchmarks over files; the
// sub-package looptest wraps them for tests, with detach in t.Cleanup and
// a leak check for TestMain.
package device
