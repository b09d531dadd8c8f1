package device

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/dustin/go-humanize"
	"golang.org/x/sys/unix"
)

// Options say how to open a device.
type Options struct {
	ReadOnly bool // open read-only
	Force    bool // write even to a device that looks in use
	NoDirect bool // no O_DIRECT (filesystems without direct I/O)
	// Sync opens the device O_SYNC (each write durable with its metadata
	// before it completes), DSync O_DSYNC (durable data); fio's sync=.
	Sync, DSync bool
	// ShareHold lets an open for writing share the exclusive hold this
	// process already has on the block device through another Device
	// open for writing (fio runs several writing jobs on one device);
	// without it such an open is refused as in use.
	ShareHold bool
	// Extent, for a regular file shorter than it, is the size the
	// Geometry reports: the bytes the caller addresses, past the file's
	// end, which its writes extend (a file created empty at the job's
	// open, as fio's create_on_open makes it). No effect on block
	// devices.
	Extent uint64
}

// Geometry describes a device or file for direct I/O.
type Geometry struct {
	SizeBytes         uint64
	LogicalBlockSize  uint32
	PhysicalBlockSize uint32
	DIOMemAlign       uint32 // buffer address alignment for O_DIRECT
	DIOOffsetAlign    uint32 // offset and length alignment for O_DIRECT
	Rotational        bool
	Kind              string // "nvme", "loop", "virtio", "scsi", "zram", "block", "file"
	Model             string
	MaxSectorsKB      uint32 // largest I/O the block layer sends unsplit
	NrRequests        uint32
	PollQueues        bool // the driver has poll queues (IOPOLL can work)
	ReadOnly          bool // the kernel marks the block device read-only (BLKROGET)
	Major, Minor      uint32
	// DiscardGranularity is the block device's discard unit and
	// DiscardMaxBytes its largest discard (queue/discard_granularity,
	// queue/discard_max_bytes); DiscardMaxBytes 0 means the device cannot
	// discard. Both are 0 for regular files, whose ranges are deallocated
	// with fallocate's punch hole instead.
	DiscardGranularity uint32
	DiscardMaxBytes    uint64
	// AtomicWriteUnitMin and AtomicWriteUnitMax bound the length of one
	// atomic write (RWF_ATOMIC): a power of two between them, at an
	// offset that is a multiple of it. Both are 0 where the kernel
	// reports no atomic write support. They come from statx's
	// STATX_WRITE_ATOMIC (stx_atomic_write_unit_min, _max), for block
	// devices and regular files alike; AtomicWriteSegmentsMax is its
	// stx_atomic_write_segments_max, the most buffers one atomic write
	// may gather.
	AtomicWriteUnitMin, AtomicWriteUnitMax, AtomicWriteSegmentsMax uint32
	// AtomicWriteMaxBytes is a block device's queue/atomic_write_max_bytes
	// (0 for regular files): the largest atomic write the block layer
	// sends as one, merged writes included.
	AtomicWriteMaxBytes uint32
}

// String prints the geometry for people.
func (g Geometry) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s, logical %d B, physical %d B, dio align mem %d B offset %d B",
		g.Kind, humanize.IBytes(g.SizeBytes), g.LogicalBlockSize, g.PhysicalBlockSize, g.DIOMemAlign, g.DIOOffsetAlign)
	if g.Model != "" {
		fmt.Fprintf(&b, ", model %q", g.Model)
	}
	if g.Kind != "file" {
		rot := "non-rotational"
		if g.Rotational {
			rot = "rotational"
		}
		fmt.Fprintf(&b, ", %s, max I/O %d KiB, nr_requests %d", rot, g.MaxSectorsKB, g.NrRequests)
		if g.PollQueues {
			b.WriteString(", poll queues")
		}
		if g.DiscardMaxBytes > 0 {
			fmt.Fprintf(&b, ", discard %d B granularity", g.DiscardGranularity)
		}
	}
	return b.String()
}

// Device is an open block device or regular file. Its methods are safe for
// concurrent use; Close must be called once nothing uses Fd any more.
//
// Close never frees the descriptor number while the Device can still be
// reached: the number is left pointing at a file that refuses all I/O, so
// a holder that kept it (an engine, a ring) gets EBADF instead of reading
// or writing whatever file the process opens next. The number is freed
// once the Device is garbage.
type Device struct {
	mu       sync.Mutex
	fd       int // -1 once closed
	path     string
	geo      Geometry
	readOnly bool
	block    bool
	held     uint64 // the block device this Device holds for writing (writeHolds); 0: none
}

// writeHolds is the process's exclusive hold on each block device it has
// open for writing: one O_EXCL descriptor per device, taken after the
// safety checks by the first Open for writing and given up when the last
// Device writing to it closes, with the number of those Devices. While
// the hold is there, more opens for writing from this process with
// Options.ShareHold (fio runs several writing jobs on one device at once)
// share it instead of being refused as "in use" by the process itself:
// the kernel's exclusive open,
// which the checks end with, would fail on the process's own hold, and
// what the first job wrote may look like a filesystem to the signature
// check. Another program's hold is refused as before.
var writeHolds struct {
	sync.Mutex
	m map[uint64]*writeHold
}

type writeHold struct {
	fd, n int
}

// Open opens path, a block device or a regular file (symlinks followed),
// for direct I/O unless opts.NoDirect. Before opening a block device for
// writing it runs CheckWritable (unless opts.Force) and takes an exclusive
// (O_EXCL) hold on it, so that a device in use is refused with a clear
// error; more opens for writing from this process while the hold is there
// share it with opts.ShareHold and are refused without (writeHolds). A block device the
// kernel marks read-only is refused for writing with ErrReadOnly.
// Geometry is read once, here.
func Open(path string, opts Options) (*Device, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	block := st.Mode()&os.ModeDevice != 0 && st.Mode()&os.ModeCharDevice == 0
	if !block && !st.Mode().IsRegular() {
		if st.Mode()&os.ModeCharDevice != 0 {
			// fio's jobs write to /dev/null and read /dev/zero to
			// measure fio itself: ioengine=null is iobench's way.
			return nil, fmt.Errorf("device: %s: %w: a character device; to measure the engine without device I/O, as fio's jobs do on /dev/null or /dev/zero, use ioengine=null", path, ErrNotDevice)
		}
		return nil, fmt.Errorf("device: %s: %w: %s", path, ErrNotDevice, fileKind(st.Mode()))
	}
	flags := unix.O_CLOEXEC
	if opts.ReadOnly {
		flags |= unix.O_RDONLY
	} else {
		flags |= unix.O_RDWR
	}
	if !opts.NoDirect {
		flags |= unix.O_DIRECT
	}
	switch {
	case opts.Sync:
		flags |= unix.O_SYNC
	case opts.DSync:
		flags |= unix.O_DSYNC
	}
	var hold *writeHold
	var rdev uint64
	if block && !opts.ReadOnly {
		rdev = uint64(st.Sys().(*syscall.Stat_t).Rdev) // uint32 on some architectures
		writeHolds.Lock()
		defer writeHolds.Unlock()
		if hold = writeHolds.m[rdev]; hold != nil && !opts.ShareHold {
			return nil, fmt.Errorf("device: %s: %w: this program already has it open for writing (Options.ShareHold shares that)", path, ErrInUse)
		}
		if hold == nil {
			if !opts.Force {
				if err := CheckWritable(path); err != nil {
					return nil, err
				}
			}
			fd, err := unix.Open(path, unix.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, openError(path, err, opts)
			}
			hold = &writeHold{fd: fd}
			defer func() {
				if hold.n == 0 {
					unix.Close(hold.fd) // this Open failed: no hold
				}
			}()
		}
	}
	// O_NOATIME, as fio opens its files: without it every read of a
	// block device checks whether to update the device node's access
	// time (touch_atime, 0.05-0.09 µs of the job thread's kernel time per
	// 4 KiB read in a profile of a loop device over tmpfs). The kernel
	// allows it only to the file's owner or with CAP_FOWNER: EPERM opens
	// again without.
	fd, err := unix.Open(path, flags|unix.O_NOATIME, 0)
	if errors.Is(err, unix.EPERM) {
		fd, err = unix.Open(path, flags, 0)
	}
	if err != nil {
		return nil, openError(path, err, opts)
	}
	d := &Device{fd: fd, path: path, readOnly: opts.ReadOnly, block: block}
	if err := d.probe(); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if !block {
		d.geo.SizeBytes = max(d.geo.SizeBytes, opts.Extent)
	}
	if d.readOnly && !opts.ReadOnly {
		unix.Close(fd)
		return nil, fmt.Errorf("device: %s: %w: the kernel marks it read-only (blockdev --setro, losetup -r); open it read-only", path, ErrReadOnly)
	}
	if hold != nil {
		if writeHolds.m == nil {
			writeHolds.m = make(map[uint64]*writeHold)
		}
		hold.n++
		writeHolds.m[rdev] = hold
		d.held = rdev
	}
	return d, nil
}

// openError says why opening path failed.
func openError(path string, err error, opts Options) error {
	switch {
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("device: %s: %w: %w (another program holds it: mounted, in a RAID/LVM/dm stack, or opened exclusively)", path, ErrInUse, err)
	case errors.Is(err, unix.EROFS), errors.Is(err, unix.EACCES) && !opts.ReadOnly:
		return fmt.Errorf("device: %s: %w: %w", path, ErrReadOnly, err)
	case errors.Is(err, unix.EINVAL) && !opts.NoDirect:
		return fmt.Errorf("device: %s: %w: %w (the filesystem lacks O_DIRECT: use a block device, another filesystem, or NoDirect)", path, ErrNoDirectIO, err)
	}
	return fmt.Errorf("device: open %s: %w", path, err)
}

// Fd returns the file descriptor, or -1 after Close.
func (d *Device) Fd() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fd
}

// Closed reports whether Close has been called.
func (d *Device) Closed() bool { return d.Fd() < 0 }

// Path returns the path the device was opened with.
func (d *Device) Path() string { return d.path }

// Geometry returns what Open learned about the device.
func (d *Device) Geometry() Geometry { return d.geo }

// ReadOnly reports whether the device was opened read-only, or is a block
// device the kernel marks read-only.
func (d *Device) ReadOnly() bool { return d.readOnly }

// IsBlock reports whether the device is a block device (not a file).
func (d *Device) IsBlock() bool { return d.block }

// Close closes the device. I/O already submitted on Fd completes on the
// device; I/O submitted on the old descriptor afterwards fails with EBADF
// (see Device). A second Close returns ErrClosed.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fd < 0 {
		return fmt.Errorf("device: %s: %w", d.path, ErrClosed)
	}
	fd := d.fd
	d.fd = -1
	defer d.releaseHold()
	// An O_PATH descriptor refuses read and write (EBADF). dup3 swaps it
	// in atomically: the number is never free, not even for an instant.
	tomb, err := unix.Open("/", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err == nil {
		err = unix.Dup3(tomb, fd, unix.O_CLOEXEC)
		unix.Close(tomb)
	}
	if err != nil {
		// Out of descriptors: close for real, as os.File would.
		return unix.Close(fd)
	}
	runtime.AddCleanup(d, func(fd int) { unix.Close(fd) }, fd)
	return nil
}

// releaseHold counts d out of its device's write hold, giving the hold up
// with the last writer (after d's descriptor is closed).
func (d *Device) releaseHold() {
	if d.held == 0 {
		return
	}
	writeHolds.Lock()
	defer writeHolds.Unlock()
	if h := writeHolds.m[d.held]; h != nil {
		if h.n--; h.n == 0 {
			unix.Close(h.fd)
			delete(writeHolds.m, d.held)
		}
	}
	d.held = 0
}

func (d *Device) probe() error {
	fd := d.fd
	g := &d.geo
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("device: stat %s: %w", d.path, err)
	}
	if d.block {
		size, err := unix.IoctlGetUint64(fd, unix.BLKGETSIZE64)
		if err != nil {
			return fmt.Errorf("device: %s: BLKGETSIZE64: %w", d.path, err)
		}
		g.SizeBytes = size
		lbs, err := unix.IoctlGetInt(fd, unix.BLKSSZGET)
		if err != nil {
			return fmt.Errorf("device: %s: BLKSSZGET: %w", d.path, err)
		}
		g.LogicalBlockSize = uint32(lbs)
		if pbs, err := unix.IoctlGetUint32(fd, unix.BLKPBSZGET); err == nil {
			g.PhysicalBlockSize = pbs
		}
		if ro, err := unix.IoctlGetInt(fd, unix.BLKROGET); err == nil && ro != 0 {
			d.readOnly, g.ReadOnly = true, true
		}
		g.Major, g.Minor = unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))
		d.sysfs()
	} else {
		g.SizeBytes = uint64(st.Size)
		g.Kind = "file"
		g.LogicalBlockSize = 512
		g.PhysicalBlockSize = uint32(st.Blksize)
	}
	g.DIOMemAlign, g.DIOOffsetAlign = g.LogicalBlockSize, g.LogicalBlockSize
	var sx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_DIOALIGN, &sx); err == nil &&
		sx.Mask&unix.STATX_DIOALIGN != 0 && sx.Dio_offset_align != 0 {
		g.DIOMemAlign, g.DIOOffsetAlign = sx.Dio_mem_align, sx.Dio_offset_align
		if !d.block {
			g.LogicalBlockSize = sx.Dio_offset_align
		}
	}
	if g.PhysicalBlockSize == 0 {
		g.PhysicalBlockSize = g.LogicalBlockSize
	}
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_WRITE_ATOMIC, &sx); err == nil &&
		sx.Mask&unix.STATX_WRITE_ATOMIC != 0 {
		g.AtomicWriteUnitMin, g.AtomicWriteUnitMax = sx.Atomic_write_unit_min, sx.Atomic_write_unit_max
		g.AtomicWriteSegmentsMax = sx.Atomic_write_segments_max
	}
	return nil
}

// sysfs fills what /sys/dev/block/MAJ:MIN says about the device.
func (d *Device) sysfs() {
	g := &d.geo
	dir := fmt.Sprintf("/sys/dev/block/%d:%d", g.Major, g.Minor)
	// A partition has no queue or device directory of its own: those
	// belong to the disk it is part of, its parent in sysfs.
	real := resolve(dir)
	disk := real
	if _, err := os.Stat(filepath.Join(real, "partition")); err == nil {
		disk = filepath.Dir(real)
	}
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(disk, name))
		return strings.TrimSpace(string(b))
	}
	num := func(name string) uint32 {
		v, _ := strconv.ParseUint(read(name), 10, 32)
		return uint32(v)
	}
	g.Rotational = read("queue/rotational") == "1"
	g.MaxSectorsKB = num("queue/max_sectors_kb")
	g.NrRequests = num("queue/nr_requests")
	g.PollQueues = read("queue/io_poll") == "1"
	g.DiscardGranularity = num("queue/discard_granularity")
	g.DiscardMaxBytes, _ = strconv.ParseUint(read("queue/discard_max_bytes"), 10, 64)
	g.AtomicWriteMaxBytes = num("queue/atomic_write_max_bytes")
	g.Model = read("device/model")
	g.Kind = kindOf(filepath.Base(disk))
}

// kindOf names the driver of a disk from its kernel name.
func kindOf(disk string) string {
	for _, k := range []struct{ prefix, kind string }{
		{"nvme", "nvme"}, {"loop", "loop"}, {"zram", "zram"}, {"vd", "virtio"},
		{"sd", "scsi"}, {"xvd", "xen"}, {"dm-", "dm"}, {"md", "md"},
		{"nbd", "nbd"}, {"mmcblk", "mmc"}, {"ram", "ram"}, {"pmem", "pmem"},
		{"ublkb", "ublk"}, {"rbd", "rbd"},
	} {
		if strings.HasPrefix(disk, k.prefix) {
			return k.kind
		}
	}
	return "block"
}

func resolve(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// BlkDiscard discards [start, start+length) of the block device open on
// fd with the BLKDISCARD ioctl, synchronously: what the engine falls back
// to on kernels whose io_uring has no block discard command. start and
// length must be multiples of the logical block size; the device must be
// open for writing.
func BlkDiscard(fd int, start, length uint64) error {
	rng := [2]uint64{start, length}
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.BLKDISCARD, uintptr(unsafe.Pointer(&rng[0])))
		switch errno {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return errno
	}
}

// fileKind names the kind of file mode m is, for refusals.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return fmt.Sprintf("a file of mode %v", m)
}
