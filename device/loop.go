package device

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// LoopOptions say how to attach a loop device.
type LoopOptions struct {
	DirectIO         bool   // the loop driver uses O_DIRECT on the backing file
	LogicalBlockSize uint32 // 0: 512
	ReadOnly         bool
	PartScan         bool // the kernel scans the device for partitions (loopNpM)
	// AutoClear attaches with LO_FLAGS_AUTOCLEAR: the kernel detaches the
	// device at its last close. The Loop keeps it open until Detach, so
	// the device lives exactly as long as this process holds it: a
	// process killed with SIGKILL leaves no device behind.
	AutoClear bool
}

// Loop is an attached loop device. Its methods are safe for concurrent
// use. The device stays attached until Detach, also when the Loop is no
// longer referenced: callers detach it (looptest does in t.Cleanup).
type Loop struct {
	path    string
	backing string
	hold    *os.File // AutoClear: the open that keeps the device attached
	once    sync.Once
	err     error
}

// Path returns the loop device's path (/dev/loopN).
func (l *Loop) Path() string { return l.path }

// Backing returns the backing file's path.
func (l *Loop) Backing() string { return l.backing }

const (
	loFlagsReadOnly  = 1
	loFlagsAutoClear = 4
	loFlagsPartScan  = 8
	loFlagsDirectIO  = 16
)

// AttachLoop attaches backing to a free loop device: LOOP_CTL_GET_FREE and
// LOOP_CONFIGURE (one atomic call), falling back to LOOP_SET_FD and
// LOOP_SET_STATUS64 on kernels without it, and retrying when another
// program grabs the same free device first. Detach it when done.
func AttachLoop(backing string, o LoopOptions) (*Loop, error) {
	return attachLoop(backing, o, false)
}

// attachLoop is AttachLoop; legacy skips LOOP_CONFIGURE, so tests can
// exercise the path older kernels take.
func attachLoop(backing string, o LoopOptions, legacy bool) (*Loop, error) {
	flags := os.O_RDWR
	if o.ReadOnly {
		flags = os.O_RDONLY
	}
	bf, err := os.OpenFile(backing, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("device: loop backing: %w", err)
	}
	defer bf.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("device: loop devices unavailable: %w", err)
	}
	defer ctl.Close()
	for attempt := 0; attempt < 20; attempt++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("device: LOOP_CTL_GET_FREE: %w", err)
		}
		path := fmt.Sprintf("/dev/loop%d", n)
		lf, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) { // udev has not made the node yet
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return nil, fmt.Errorf("device: open %s: %w", path, err)
		}
		err = configure(int(lf.Fd()), int(bf.Fd()), o, legacy)
		if err == nil && !o.ReadOnly {
			// A read-only policy set on this device before (blockdev
			// --setro) outlives its detach and would make this writable
			// attachment read-only: clear it. On failure the device
			// stays as it is and is reported read-only where a write
			// needs it.
			_ = unix.IoctlSetPointerInt(int(lf.Fd()), unix.BLKROSET, 0)
		}
		if err == nil && o.AutoClear {
			return &Loop{path: path, backing: backing, hold: lf}, nil
		}
		lf.Close()
		if errors.Is(err, unix.EBUSY) {
			continue // someone else took it
		}
		if err != nil {
			return nil, fmt.Errorf("device: attach %s to %s: %w", backing, path, err)
		}
		return &Loop{path: path, backing: backing}, nil
	}
	return nil, fmt.Errorf("device: attach %s: no free loop device after 20 tries", backing)
}

func configure(lfd, bfd int, o LoopOptions, legacy bool) error {
	var cfg unix.LoopConfig
	cfg.Fd = uint32(bfd)
	cfg.Size = o.LogicalBlockSize
	if o.ReadOnly {
		cfg.Info.Flags |= loFlagsReadOnly
	}
	if o.DirectIO {
		cfg.Info.Flags |= loFlagsDirectIO
	}
	if o.PartScan {
		cfg.Info.Flags |= loFlagsPartScan
	}
	if o.AutoClear {
		cfg.Info.Flags |= loFlagsAutoClear
	}
	if !legacy {
		err := unix.IoctlLoopConfigure(lfd, &cfg)
		// Kernels before 5.8 do not know LOOP_CONFIGURE.
		if err == nil || !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOTTY) {
			return err
		}
	}
	// Older kernels: set the fd, then the status, block size, direct I/O.
	// LOOP_SET_FD fails with EBUSY when another attacher won the race for
	// this device; the caller then asks for another free one.
	if err := unix.IoctlSetInt(lfd, unix.LOOP_SET_FD, bfd); err != nil {
		return err
	}
	fail := func(err error) error {
		_ = unix.IoctlSetInt(lfd, unix.LOOP_CLR_FD, 0)
		return err
	}
	info := cfg.Info
	info.Flags &^= loFlagsDirectIO
	if err := unix.IoctlLoopSetStatus64(lfd, &info); err != nil {
		return fail(err)
	}
	if o.LogicalBlockSize != 0 {
		if err := unix.IoctlSetInt(lfd, unix.LOOP_SET_BLOCK_SIZE, int(o.LogicalBlockSize)); err != nil {
			return fail(err)
		}
	}
	if o.DirectIO {
		if err := unix.IoctlSetInt(lfd, unix.LOOP_SET_DIRECT_IO, 1); err != nil {
			return fail(err)
		}
	}
	return nil
}

// Detach detaches the loop device. It is idempotent and retries while the
// device is briefly busy (udev probing it after a change). An AutoClear
// device that others still hold open is detached at their last close.
func (l *Loop) Detach() error {
	l.once.Do(func() {
		if l.hold != nil {
			err := unix.IoctlSetInt(int(l.hold.Fd()), unix.LOOP_CLR_FD, 0)
			if err != nil && !errors.Is(err, unix.ENXIO) && !errors.Is(err, unix.EBUSY) {
				l.err = fmt.Errorf("device: detach %s: %w", l.path, err)
			}
			// EBUSY: others hold it open; autoclear detaches it at the
			// last close, which this may be.
			l.hold.Close()
			return
		}
		l.err = DetachLoop(l.path)
	})
	return l.err
}

// DetachLoop detaches the loop device at path (what `losetup -d` does),
// retrying while it is briefly busy. A device already detached is not an
// error.
func DetachLoop(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("device: detach %s: %w", path, err)
	}
	defer f.Close()
	for i := 0; ; i++ {
		err = unix.IoctlSetInt(int(f.Fd()), unix.LOOP_CLR_FD, 0)
		if err == nil || errors.Is(err, unix.ENXIO) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || i == 50 {
			return fmt.Errorf("device: detach %s: %w", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Resize makes the loop device pick up its backing file's new size
// (LOOP_SET_CAPACITY, what `losetup -c` does).
func (l *Loop) Resize() error {
	f, err := os.OpenFile(l.path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("device: resize %s: %w", l.path, err)
	}
	defer f.Close()
	if err := unix.IoctlSetInt(int(f.Fd()), unix.LOOP_SET_CAPACITY, 0); err != nil {
		return fmt.Errorf("device: resize %s: %w", l.path, err)
	}
	return nil
}

// LoopBacking lists every attached loop device on the machine (not just
// this process's) as /dev/loopN -> backing file path, from
// /sys/block/loop*/loop/backing_file, for leak checks. A backing file
// deleted while attached ends in " (deleted)".
func LoopBacking() map[string]string {
	out := map[string]string{}
	dirs, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		name := filepath.Base(filepath.Dir(filepath.Dir(p)))
		out["/dev/"+name] = strings.TrimSpace(string(b))
	}
	return out
}

// Unmount unmounts the filesystem mounted on dir (what `umount dir`
// does), retrying for up to ten seconds while it is busy: right after
// the last file on it is closed it can still be, for a while (likely the
// kernel dropping the file references of finished io_uring requests
// after their completions were seen). A filesystem still busy then is an
// error naming the processes that hold files or working directories on
// it.
func Unmount(dir string) error {
	deadline := time.Now().Add(unmountWait)
	for {
		err := unix.Unmount(dir, 0)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, unix.EBUSY):
			return fmt.Errorf("device: unmount %s: %w", dir, err)
		case time.Now().Before(deadline):
			time.Sleep(20 * time.Millisecond)
		default:
			if h := holders(dir); h != "" {
				return fmt.Errorf("device: unmount %s: %w: held by %s", dir, err, h)
			}
			return fmt.Errorf("device: unmount %s: %w: no process holds a file there (the kernel does)", dir, err)
		}
	}
}

// unmountWait is how long Unmount waits for a busy filesystem.
var unmountWait = 10 * time.Second

// holders lists the processes with an open file or working directory
// under dir, from /proc, as "pid 12 (comm) fd 3: path".
func holders(dir string) string {
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	under := func(p string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
	for _, proc := range procs {
		comm, _ := os.ReadFile(proc + "/comm")
		who := fmt.Sprintf("pid %s (%s)", filepath.Base(proc), strings.TrimSpace(string(comm)))
		if cwd, err := os.Readlink(proc + "/cwd"); err == nil && under(cwd) {
			out = append(out, who+" cwd: "+cwd)
		}
		fds, _ := filepath.Glob(proc + "/fd/*")
		for _, fd := range fds {
			if p, err := os.Readlink(fd); err == nil && under(p) {
				out = append(out, fmt.Sprintf("%s fd %s: %s", who, filepath.Base(fd), p))
			}
		}
	}
	return strings.Join(out, "; ")
}
