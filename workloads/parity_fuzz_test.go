package workloads

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// Cases found by comparing iobench's reading of generated job files with
// fio 3.33's (fio --parse-only --debug=parse prints each value it reads).

// parseOne parses a job file of one job with body as its options.
func parseOne(t *testing.T, body string) (*Job, error) {
	t.Helper()
	f, err := Parse(strings.NewReader("[j]\nioengine=null\nsize=1m\n"+body+"\n"), "parity.fio")
	if err != nil {
		return nil, err
	}
	return &f.Jobs[0], nil
}

// TestParityIntSyntax: fio reads an integer option as it reads a size:
// decimal or 0x hexadecimal with an optional unit suffix (iodepth=0x10 is
// 16, rate_iops=1k 1024, in kb_base's units), and rwmixread too. iobench
// called these "not an integer".
func TestParityIntSyntax(t *testing.T) {
	for _, c := range []struct {
		body string
		get  func(*Job) float64
		want float64
	}{
		{"iodepth=0x10", func(j *Job) float64 { return float64(j.IODepth) }, 16},
		{"iodepth=+3", func(j *Job) float64 { return float64(j.IODepth) }, 3},
		{"numjobs=0x2", func(j *Job) float64 { return float64(j.NumJobs) }, 2},
		{"loops=1k", func(j *Job) float64 { return float64(j.Loops) }, 1024},
		{"kb_base=1000\nloops=1k", func(j *Job) float64 { return float64(j.Loops) }, 1000},
		{"nrfiles=0x3", func(j *Job) float64 { return float64(j.NrFiles) }, 3},
		{"rate_iops=1k", func(j *Job) float64 { return float64(j.RateIOPS[0]) }, 1024},
		{"rwmixread=0x20", func(j *Job) float64 { return j.RWMixRead }, 32},
		{"rwmixwrite=0x20", func(j *Job) float64 { return j.RWMixRead }, 68},
	} {
		j, err := parseOne(t, c.body)
		if err != nil {
			t.Errorf("%q: %v", c.body, err)
			continue
		}
		if got := c.get(j); got != c.want {
			t.Errorf("%q: read %g, fio reads %g", c.body, got, c.want)
		}
	}
	// What fio truncates without a word (iodepth=1.5 is 1 there,
	// rwmixread=33.3 is 33) or reads as garbage is refused, saying so.
	for _, body := range []string{"iodepth=1.5", "iodepth=4x", "iodepth=0x", "iodepth=1e2", "rwmixread=33.3", "rwmixread=0x65", "numjobs=-1"} {
		if _, err := parseOne(t, body); err == nil {
			t.Errorf("%q accepted", body)
		}
	}
	if _, err := parseOne(t, "rwmixread=33.3"); err == nil || !strings.Contains(err.Error(), "give 33") {
		t.Errorf("rwmixread=33.3: %v, want a message naming fio's 33", err)
	}
}

// TestParitySizeUnits: fio 3.33 swaps a unit's base only for a suffix
// ending in "ib" (4kib is 4000 at the default kb_base=1024, 4096 at
// 1000); "4ki" and "1Mi" are read as "4k" and "1m". iobench read 4ki as
// 4000 and size=1mi as 1000000. Values are fio --debug=parse's.
func TestParitySizeUnits(t *testing.T) {
	fio := map[uint64]map[string]uint64{
		1024: {"4k": 4096, "4ki": 4096, "4kib": 4000, "4KiB": 4000, "4kb": 4096, "4KB": 4096, "1mi": 1 << 20, "1Mi": 1 << 20,
			"1mib": 1000000, "2MB": 2 << 20, "1gi": 1 << 30, "1Gib": 1000000000, "512b": 512, "3Ki": 3072},
		1000: {"4k": 4000, "4ki": 4000, "4kib": 4096, "4KiB": 4096, "4kb": 4000, "4KB": 4000, "1mi": 1000000, "1Mi": 1000000,
			"1mib": 1 << 20, "2MB": 2000000, "1gi": 1000000000, "1Gib": 1 << 30, "512b": 512, "3Ki": 3000},
	}
	for kb, m := range fio {
		for v, want := range m {
			got, err := parseSizeBase(v, kb)
			if err != nil || got != want {
				t.Errorf("kb_base=%d %s: %d, %v; fio reads %d", kb, v, got, err, want)
			}
		}
	}
}

// roundTrip sets each of j's Values on a fresh job, as a command line
// built from them (--showcmd, fio --showcmd, compare's fio command) is
// read back, and returns where the two jobs' values differ.
func roundTrip(j *Job) (string, bool) {
	k := NewJob(j.Name)
	for _, kv := range j.Values() {
		if err := k.Set(kv[0], kv[1]); err != nil {
			var n *Notice
			if !errors.As(err, &n) {
				return fmt.Sprintf("%s=%s: %v", kv[0], kv[1], err), false
			}
		}
	}
	a, b := j.Values(), k.Values()
	if !slices.Equal(a, b) {
		return fmt.Sprintf("%v\nread back as\n%v", a, b), false
	}
	return "", true
}

// TestParityKBBaseValues: a job with kb_base=1000 listed its sizes in
// units of 1024 (size=1mib as 1m), which that job's kb_base reads as
// 1000000: --showcmd and the fio command line of compare changed the
// job. They are written 1mib there.
func TestParityKBBaseValues(t *testing.T) {
	for _, body := range []string{
		"kb_base=1000\nsize=1mib\nbs=4kib\nrw=read:8kib",
		"kb_base=1000\nsize=2m\nbssplit=4kib/50:64kib/50\noffset=1mib",
		"size=1mib\nkb_base=1000\nbsrange=4kib-16kib\nrate=1m,2mib",
	} {
		j, err := parseOne(t, body)
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if d, ok := roundTrip(j); !ok {
			t.Errorf("%q: %s", body, d)
		}
	}
}

// FuzzParseJobFile: a job file that parses gives jobs whose Values, read
// back as a command line built from them is, give the same jobs (the
// property --showcmd and compare's fio command line rely on).
func FuzzParseJobFile(f *testing.F) {
	f.Add("[j]\nkb_base=1000\nsize=1mib\nbs=4kib\nrw=read:8kib\n")
	f.Add("[global]\nsize=2m\n[a]\niodepth=0x10\nrwmixread=0x20\nrw=randrw:8\n[b]\nstonewall\nbs=4ki,8k\n")
	f.Add("[j]\nbsrange=4k-16k,8k:32k\nbssplit=4k/50:8k/50\nrate_iops=1k\nloops=0x2\n")
	f.Add("[j]\nrw=randread\nrandom_distribution=sequence: 2, 0 ,1\nrandom_sequence_stride=1\n")
	f.Fuzz(func(t *testing.T, src string) {
		file, err := Parse(strings.NewReader(src), "fuzz.fio")
		if err != nil {
			return
		}
		for i := range file.Jobs {
			if d, ok := roundTrip(&file.Jobs[i]); !ok {
				t.Fatalf("job %d: %s", i, d)
			}
		}
	})
}

// TestParityRanges: fio separates bsrange's two ranges with , or / (its
// irange); iobench called 4k-16k/8k-32k a bad size. startdelay=lo-hi or
// lo:hi is fio's random delay for each clone (iobench called "-3" a bad
// time unit); offset_increment=N% is a share of the target (iobench
// called "%" a bad size unit).
func TestParityRanges(t *testing.T) {
	j, err := parseOne(t, "bsrange=4k-16k/8k-32k")
	if err != nil {
		t.Fatal(err)
	}
	if want := [2][2]uint64{{4 << 10, 16 << 10}, {8 << 10, 32 << 10}}; j.BSRange != want {
		t.Errorf("bsrange=4k-16k/8k-32k: %v, fio reads %v", j.BSRange, want)
	}
	for body, want := range map[string][2]time.Duration{
		"startdelay=1-3": {time.Second, 3 * time.Second}, "startdelay=500ms:2s": {500 * time.Millisecond, 2 * time.Second},
		"startdelay=2": {2 * time.Second, 2 * time.Second},
	} {
		j, err := parseOne(t, body)
		if err != nil || j.StartDelay != want[0] || j.StartDelayMax != want[1] {
			t.Errorf("%q: %v-%v (%v), want %v-%v", body, j.StartDelay, j.StartDelayMax, err, want[0], want[1])
			continue
		}
		// What --showcmd writes reads back the same.
		written := ""
		for _, kv := range j.Values() {
			if kv[0] == "startdelay" {
				written = kv[1]
			}
		}
		k, err := parseOne(t, "startdelay="+written)
		if err != nil || k.StartDelay != j.StartDelay || k.StartDelayMax != j.StartDelayMax {
			t.Errorf("%q: written %q, read back %v-%v (%v)", body, written, k.StartDelay, k.StartDelayMax, err)
		}
	}
	if _, err := parseOne(t, "startdelay=3-1"); err == nil || !strings.Contains(err.Error(), "before its start") {
		t.Errorf("startdelay=3-1: %v, want the range's end before its start", err)
	}
	j, err = parseOne(t, "numjobs=2\nbs=16k\noffset_increment=25%")
	if err != nil || !j.HasPct() {
		t.Fatalf("offset_increment=25%%: %v", err)
	}
	for _, kv := range j.Values() {
		if kv[0] == "offset_increment" && kv[1] != "25%" {
			t.Errorf("offset_increment=25%% written as %q", kv[1])
		}
	}
	// Rounded up to the block size, as fio aligns it: fio 3.33's clone 1
	// of this job on a device of 8 MiB + 4 KiB reads first at 2113536
	// (write_iolog), 25% being 2098176.
	const want = 2<<20 + 16<<10
	j.ResolvePct(8<<20 + 4096)
	if j.OffsetIncrement != want {
		t.Errorf("offset_increment=25%% of 8 MiB + 4 KiB: %d, want %d", j.OffsetIncrement, want)
	}
	if g := NewGenerator(j, 1, 8<<20+4096); g.Base() != want {
		t.Errorf("offset_increment=25%%: clone 1 starts at %d, want %d", g.Base(), want)
	}
	// offset_align rounds them up to itself instead.
	k, err := parseOne(t, "bs=16k\noffset=33%\noffset_align=1m")
	if err != nil {
		t.Fatal(err)
	}
	if k.ResolvePct(64 << 20); k.Offset != 22<<20 {
		t.Errorf("offset=33%% of 64 MiB with offset_align=1m: %d, want %d (fio 3.33's)", k.Offset, 22<<20)
	}
	if j, err := parseOne(t, "startdelay=2s\noffset_increment=64k"); err != nil || j.StartDelay != 2e9 || j.OffsetIncrement != 64<<10 {
		t.Errorf("startdelay=2s offset_increment=64k: %v", err)
	}
}

// TestParityTimeBasedWithoutRuntime: fio runs a time_based job without a
// runtime once over its size (time_based has nothing to run for);
// iobench refused it.
func TestParityTimeBasedWithoutRuntime(t *testing.T) {
	j, err := parseOne(t, "time_based")
	if err != nil {
		t.Fatal(err)
	}
	if j.TimeBased {
		t.Error("time_based without runtime kept: the job would never end")
	}
	if !slices.ContainsFunc(j.Adjustments(), func(m string) bool { return strings.Contains(m, "time_based without runtime") }) {
		t.Errorf("no notice: %q", j.Adjustments())
	}
	if j, err := parseOne(t, "time_based\nruntime=2"); err != nil || !j.TimeBased {
		t.Errorf("time_based runtime=2: %v, time_based %v", err, j.TimeBased)
	}
}

// TestParityHexTimes: fio 3.33 reads a time given in hex as a bare count
// of µs, its unit ignored (fio --parse-only --debug=parse: runtime=2 is
// 2000000, runtime=0x2 2, runtime=0x10ms 16); iobench called "x2" an
// unknown time unit. It refuses hex times, saying why.
func TestParityHexTimes(t *testing.T) {
	for _, body := range []string{"runtime=0x2", "runtime=0x10ms", "startdelay=0x1", "ramp_time=0X5"} {
		_, err := parseOne(t, body)
		if err == nil || !strings.Contains(err.Error(), "in hex is not taken") {
			t.Errorf("%s: %v, want hex refused with the reason", body, err)
		}
	}
	if j, err := parseOne(t, "runtime=10"); err != nil || j.Runtime != 10*time.Second {
		t.Errorf("runtime=10: %v (%v)", j.Runtime, err)
	}
}

// TestParityHexPercentages: fio reads a percentage given as a hex integer
// (percentage_random=0x20 is 32, as fio --parse-only --debug=parse
// shows); iobench called it "not a percentage".
func TestParityHexPercentages(t *testing.T) {
	j, err := parseOne(t, "rw=randread\npercentage_random=0x20")
	if err != nil || j.PercentageRandom != [2]float64{32, 32} {
		t.Errorf("percentage_random=0x20: %v (%v), want 32", j.PercentageRandom, err)
	}
	for _, body := range []string{"rw=randread\npercentage_random=0x65", "rw=randread\npercentage_random=0x", "rw=randread\npercentage_random=0xzz"} {
		if _, err := parseOne(t, body); err == nil {
			t.Errorf("%q: no error", body)
		}
	}
}

// TestParityFlags: fio's "empty or boolean" options (group_reporting,
// time_based, exitall, ...) are set by any integer but 0, in hex too, and
// its other booleans take 0 or 1, in hex too (fio --parse-only:
// group_reporting=2 and time_based=0x1 set, direct=0x1 set, direct=2 and
// randrepeat=5 refused). iobench refused the first three.
func TestParityFlags(t *testing.T) {
	for body, want := range map[string]func(*Job) bool{
		"group_reporting=2":            func(j *Job) bool { return j.GroupReporting },
		"time_based=0x1\nruntime=1":    func(j *Job) bool { return j.TimeBased },
		"direct=0x1":                   func(j *Job) bool { return j.Direct },
		"group_reporting=-3":           func(j *Job) bool { return j.GroupReporting },
		"group_reporting=0\nexitall=0": func(j *Job) bool { return !j.GroupReporting && !j.ExitAll },
	} {
		j, err := parseOne(t, body)
		if err != nil || !want(j) {
			t.Errorf("%q: %v, not read as fio reads it", body, err)
		}
	}
	for _, body := range []string{"direct=2", "randrepeat=5", "group_reporting=maybe"} {
		if _, err := parseOne(t, body); err == nil {
			t.Errorf("%q: no error (fio refuses it)", body)
		}
	}
}
