package runner

import (
	"fmt"
	"os"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/workloads"
)

// preRead reads the part of the file at path that the job covers (plan:
// from the job's offset, plan.IO bytes) through the page cache, as fio's
// pre_read does before a job starts, so that a buffered job then reads
// from memory. It stops early, with errInterrupted, on a signal.
func preRead(path string, plan workloads.FilePlan) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	start := plan.Need - plan.IO
	for off := start; off < plan.Need; {
		if interrupted.Load() {
			return errInterrupted
		}
		n, err := f.ReadAt(buf[:min(uint64(len(buf)), plan.Need-off)], int64(off))
		if n == 0 {
			if err == nil {
				err = fmt.Errorf("read nothing at %d", off)
			}
			return fmt.Errorf("%s: %w", path, err)
		}
		off += uint64(n)
	}
	return nil
}

// setWriteHint sets the write lifetime hint (write_hint) of the file open
// at fd: fcntl F_SET_RW_HINT with RWH_WRITE_LIFE_NONE (1) to _EXTREME (5).
func setWriteHint(fd int, hint string) error {
	v := uint64(slices.Index(workloads.WriteHints, hint) + 1)
	if v == 0 {
		return fmt.Errorf("unknown hint %q", hint)
	}
	if _, _, e := unix.Syscall(unix.SYS_FCNTL, uintptr(fd), unix.F_SET_RW_HINT, uintptr(unsafe.Pointer(&v))); e != 0 {
		return e
	}
	return nil
}
