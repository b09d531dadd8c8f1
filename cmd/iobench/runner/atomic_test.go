package runner

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
)

// TestAtomicOption: atomic=1 on a loop device, which has no atomic write
// units (this kernel reports 0 for loop devices), is refused before any
// I/O, naming the limits the kernel reports; so are write sizes outside
// a device's units and buffered I/O; a job that only reads runs, atomic=1
// having no effect there, as in fio. With the device taken to have units
// of 4 KiB to 64 KiB, the job runs and every write reaches the kernel as
// an atomic write (RWF_ATOMIC), which the loop device refuses with
// EOPNOTSUPP (err=95), where the reads of the same job succeed.
func TestAtomicOption(t *testing.T) {
	l := looptest.New(t, 8<<20, looptest.Options{})
	queue := filepath.Join("/sys/block", filepath.Base(l.Path), "queue")
	sysfs := func(name string) string {
		b, err := os.ReadFile(filepath.Join(queue, name))
		if err != nil {
			t.Skipf("no atomic write attributes in sysfs: %v", err)
		}
		return strings.TrimSpace(string(b))
	}
	lo, hi, maxBytes := sysfs("atomic_write_unit_min_bytes"), sysfs("atomic_write_unit_max_bytes"), sysfs("atomic_write_max_bytes")
	if hi != "0" {
		t.Skipf("%s has atomic write units %s-%s: this test wants a device without", l.Path, lo, hi)
	}
	if err := os.WriteFile(l.Backing, bytes.Repeat([]byte{0x5a}, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	job := []string{"--name=aw", "--filename=" + l.Path, "--bs=4k", "--size=1m", "--force", "--atomic=1", "--output-format=normal"}
	limits := fmt.Sprintf("atomic_write_unit_min %s, atomic_write_unit_max %s bytes; queue/atomic_write_max_bytes %s", lo, hi, maxBytes)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--rw=randwrite"}, l.Path + " cannot write atomically (statx STATX_WRITE_ATOMIC: " + limits + ")"},
		{[]string{"--rw=randrw", "--verify=crc32c"}, "cannot write atomically"},
		{[]string{"--rw=randwrite", "--direct=0"}, "atomic=1 with direct=0"},
		{[]string{"--rw=randwrite", "--bs=12k"}, "12k is not a power of two"},
	} {
		code, stdout, stderr := run(t, append(append(job, c.args...), "--output="+filepath.Join(t.TempDir(), "report"))...)
		if code != 2 || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, stdout, stderr, c.want)
		}
	}
	if b, _ := os.ReadFile(l.Backing); !bytes.Equal(b, bytes.Repeat([]byte{0x5a}, 8<<20)) {
		t.Fatal("a refused atomic job changed the device")
	}
	if code, out, errs := run(t, append(job, "--rw=randread")...); code != 0 || !strings.Contains(out, "err= 0") {
		t.Errorf("atomic=1 on a job that only reads: exit %d\n%s%s", code, out, errs)
	}

	testAtomicUnits = func(g *device.Geometry) {
		g.AtomicWriteUnitMin, g.AtomicWriteUnitMax, g.AtomicWriteMaxBytes = 4096, 65536, 65536
	}
	defer func() { testAtomicUnits = nil }()
	code, _, stderr := run(t, append(job, "--rw=randwrite", "--bs=128k")...)
	if code != 2 || !strings.Contains(stderr, "writes of 128k are outside "+l.Path+"'s atomic write units, 4k to 64k (statx STATX_WRITE_ATOMIC: atomic_write_unit_min 4096, atomic_write_unit_max 65536 bytes; queue/atomic_write_max_bytes 65536)") {
		t.Errorf("128k writes, units up to 64k: exit %d, stderr %q", code, stderr)
	}
	code, out, errs := run(t, append(job, "--rw=randwrite")...)
	if code != 1 || !strings.Contains(out, "err=95 (") {
		t.Errorf("atomic writes to a loop device, taken to have atomic write units: exit %d (want 1, err=95: EOPNOTSUPP from the kernel)\n%s%s", code, out, errs)
	}
	code, out, errs = run(t, append(job, "--rw=randrw", "--continue_on_error=write", "--ignore_error=,95")...)
	if code != 0 || !strings.Contains(out, "first_error=95/") || !strings.Contains(out, "read: IOPS=") {
		t.Errorf("randrw with the writes' EOPNOTSUPP ignored: exit %d (want 0, the writes' errors counted, the reads done)\n%s%s", code, out, errs)
	}
	if b, _ := os.ReadFile(l.Backing); !bytes.Equal(b, bytes.Repeat([]byte{0x5a}, 8<<20)) {
		t.Fatal("an atomic write the kernel refused changed the device")
	}
}
