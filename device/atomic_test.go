package device_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"golang.org/x/sys/unix"
)

// TestAtomicWriteLimits: Geometry's atomic write limits are what the
// kernel reports: statx's STATX_WRITE_ATOMIC units (0 when the mask lacks
// it) for loop devices over tmpfs and over the temporary directory's
// filesystem and for a regular file, and a block device's
// queue/atomic_write_max_bytes; statx's units agree with the device's
// queue/atomic_write_unit_min_bytes and _max_bytes.
func TestAtomicWriteLimits(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	paths := []string{file}
	for _, onDisk := range []bool{false, true} {
		paths = append(paths, looptest.New(t, 8<<20, looptest.Options{OnDisk: onDisk}).Path)
	}
	for _, p := range paths {
		d, err := device.Open(p, device.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		g := d.Geometry()
		var sx unix.Statx_t
		if err := unix.Statx(unix.AT_FDCWD, p, 0, unix.STATX_WRITE_ATOMIC, &sx); err != nil {
			t.Fatal(err)
		}
		var want [3]uint32
		if sx.Mask&unix.STATX_WRITE_ATOMIC != 0 {
			want = [3]uint32{sx.Atomic_write_unit_min, sx.Atomic_write_unit_max, sx.Atomic_write_segments_max}
		}
		if got := [3]uint32{g.AtomicWriteUnitMin, g.AtomicWriteUnitMax, g.AtomicWriteSegmentsMax}; got != want {
			t.Errorf("%s: atomic write unit min, max, segments %v; statx says %v", p, got, want)
		}
		if d.IsBlock() {
			queue := filepath.Join("/sys/block", filepath.Base(p), "queue")
			num := func(name string) uint32 {
				b, err := os.ReadFile(filepath.Join(queue, name))
				if err != nil {
					t.Fatal(err)
				}
				v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
				if err != nil {
					t.Fatal(err)
				}
				return uint32(v)
			}
			if got, want := g.AtomicWriteMaxBytes, num("atomic_write_max_bytes"); got != want {
				t.Errorf("%s: AtomicWriteMaxBytes %d, sysfs %d", p, got, want)
			}
			if lo, hi := num("atomic_write_unit_min_bytes"), num("atomic_write_unit_max_bytes"); lo != g.AtomicWriteUnitMin || hi != g.AtomicWriteUnitMax {
				t.Errorf("%s: statx units %d-%d, sysfs %d-%d", p, g.AtomicWriteUnitMin, g.AtomicWriteUnitMax, lo, hi)
			}
			t.Logf("%s: atomic write units %d-%d, max %d bytes", p, g.AtomicWriteUnitMin, g.AtomicWriteUnitMax, g.AtomicWriteMaxBytes)
		}
		d.Close()
	}
}
