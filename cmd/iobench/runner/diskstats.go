package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// DiskUtil is what a block device did during the run, from the kernel's
// counters in /sys/dev/block/MAJ:MIN/stat (fio's "Disk stats").
type DiskUtil struct {
	Name                    string
	ReadIOs, WriteIOs       uint64
	ReadMerges, WriteMerges uint64
	ReadTicks, WriteTicks   uint64 // ms
	InQueue                 uint64 // ms, weighted by the I/Os in flight
	Util                    float64
}

// diskCounters is one reading of a device's stat file.
type diskCounters struct {
	name   string
	path   string
	fields [11]uint64
	at     time.Time
}

// blockDevOf returns the /sys/dev/block entry of the block device that
// holds target: the device itself, or the one its filesystem is on.
// ok is false for targets on no block device (tmpfs).
func blockDevOf(target string) (sysPath string, ok bool) {
	var st unix.Stat_t
	if err := unix.Stat(target, &st); err != nil {
		return "", false
	}
	dev := st.Dev
	if st.Mode&unix.S_IFMT == unix.S_IFBLK {
		dev = st.Rdev
	}
	p := fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(dev), unix.Minor(dev))
	if _, err := os.Stat(filepath.Join(p, "stat")); err != nil {
		return "", false
	}
	return p, true
}

// readDisk reads the device's counters now.
func readDisk(sysPath string) (diskCounters, error) {
	c := diskCounters{path: sysPath, at: time.Now()}
	real, err := filepath.EvalSymlinks(sysPath)
	if err != nil {
		return c, err
	}
	c.name = filepath.Base(real)
	b, err := os.ReadFile(filepath.Join(sysPath, "stat"))
	if err != nil {
		return c, err
	}
	fs := strings.Fields(string(b))
	if len(fs) < len(c.fields) {
		return c, fmt.Errorf("%s/stat: %d fields", sysPath, len(fs))
	}
	for i := range c.fields {
		if c.fields[i], err = strconv.ParseUint(fs[i], 10, 64); err != nil {
			return c, fmt.Errorf("%s/stat: %w", sysPath, err)
		}
	}
	return c, nil
}

// diskDelta is what the device did between a and b.
func diskDelta(a, b diskCounters) DiskUtil {
	d := func(i int) uint64 { return b.fields[i] - a.fields[i] }
	u := DiskUtil{Name: a.name, ReadIOs: d(0), ReadMerges: d(1), ReadTicks: d(3),
		WriteIOs: d(4), WriteMerges: d(5), WriteTicks: d(7), InQueue: d(10)}
	if el := b.at.Sub(a.at).Milliseconds(); el > 0 {
		u.Util = min(100, 100*float64(d(9))/float64(el))
	}
	return u
}

// diskWatch reads the counters of the block devices under targets
// before the run and gives their deltas after it.
type diskWatch struct{ before []diskCounters }

func watchDisks(targets []string) *diskWatch {
	w := &diskWatch{}
	seen := map[string]bool{}
	for _, t := range targets {
		p, ok := blockDevOf(t)
		if !ok || seen[p] {
			continue
		}
		seen[p] = true
		if c, err := readDisk(p); err == nil {
			w.before = append(w.before, c)
		}
	}
	return w
}

func (w *diskWatch) utils() []DiskUtil {
	var out []DiskUtil
	for _, a := range w.before {
		if b, err := readDisk(a.path); err == nil {
			out = append(out, diskDelta(a, b))
		}
	}
	return out
}
