// Package device opens block devices and regular files for direct I/O,
// reports their geometry, refuses to write to devices that look in use,
// attaches loop devices, and hands out aligned buffers from mmap'd arenas.
//
// Safety: Open for writing a block device first runs CheckWritable, which
// compares device numbers (never path strings, so symlinks and other names
// do not get past it) against /proc/self/mountinfo, looks for holders and
// partitions, reads the first blocks for filesystem, swap, LVM and
// partition-table signatures, and tries an exclusive open; the device is
// then opened O_EXCL. Each refusal wraps ErrMounted, ErrInUse,
// ErrPartitioned or ErrHasSignature and says how to override (Force).
// Regular files are never refused.
package device
