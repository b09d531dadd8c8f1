package workloads

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSteadyStateOptions: ss, ss_dur and ss_ramp as fio reads them.
func TestSteadyStateOptions(t *testing.T) {
	j := NewJob("s")
	if j.SS.Mode != "iops_slope" || j.SS.Limit != 0.01 || !j.SS.Pct || j.SS.Dur != 0 {
		t.Errorf("default %+v, want iops_slope:0.01%% and no ss_dur (off)", j.SS)
	}
	for _, c := range []struct {
		v     string
		mode  string
		limit float64
		pct   bool
		str   string
	}{
		{"iops:5%", "iops", 5, true, "iops:5.000000%"},
		{"bw_slope:0.3%", "bw_slope", 0.3, true, "bw_slope:0.300000%"},
		{"bw:10M", "bw", 10 << 20, false, "bw:10485760.000000"},
		{"iops_slope:-2", "iops_slope", -2, false, "iops_slope:-2.000000"},
	} {
		j := NewJob("s")
		if err := j.Set("ss", c.v); err != nil {
			t.Fatalf("ss=%s: %v", c.v, err)
		}
		if j.SS.Mode != c.mode || j.SS.Limit != c.limit || j.SS.Pct != c.pct || j.SS.String() != c.str {
			t.Errorf("ss=%s: %+v (%s)", c.v, j.SS, j.SS.String())
		}
	}
	for _, c := range []struct{ v, want string }{
		{"iops", "limit must be given"}, {"foo:5%", "want iops"}, {"IOPS:5%", "lower case"}, {"iops:10M", "bad limit"}, {"iops:x%", "invalid syntax"},
	} {
		j := NewJob("s")
		if err := j.Set("ss", c.v); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ss=%s: %v, want an error saying %q", c.v, err, c.want)
		}
	}
	for v, want := range map[string]time.Duration{"30": 30 * time.Second, "2500ms": 2 * time.Second, "1m": time.Minute} {
		j := NewJob("s")
		if err := j.Set("ss_dur", v); err != nil || j.SS.Dur != want {
			t.Errorf("ss_dur=%s: %v %v, want %v", v, j.SS.Dur, err, want)
		}
	}
	if err := j.Set("ss_ramp", "10"); err != nil || j.SS.Ramp != 10*time.Second {
		t.Errorf("ss_ramp=10: %v %v", j.SS.Ramp, err)
	}
}

// TestMaxLatencyAndRateIOPSMin: max_latency in µs unless a unit is given,
// one value for every direction or one each; rate_iops_min per direction.
func TestMaxLatencyAndRateIOPSMin(t *testing.T) {
	for v, want := range map[string][NumDirs]time.Duration{
		"30":         {30 * time.Microsecond, 30 * time.Microsecond, 30 * time.Microsecond},
		"2ms,,1s":    {2 * time.Millisecond, 0, time.Second},
		"1s,500":     {time.Second, 500 * time.Microsecond, 0},
		"100ns,1,2s": {100, time.Microsecond, 2 * time.Second},
	} {
		j := NewJob("l")
		if err := j.Set("max_latency", v); err != nil || j.MaxLatency != want {
			t.Errorf("max_latency=%s: %v %v, want %v", v, j.MaxLatency, err, want)
		}
	}
	j := NewJob("l")
	if err := j.Set("rate_iops_min", "100,200"); err != nil || j.RateIOPSMin != [2]int{100, 200} {
		t.Errorf("rate_iops_min=100,200: %v %v", j.RateIOPSMin, err)
	}
	_ = j.Set("rw", "randtrim")
	_ = j.Set("rate_iops_min", "1,1,1")
	if err := j.Validate(); err == nil || !strings.Contains(err.Error(), "rate_iops_min") {
		t.Errorf("a trim rate_iops_min: %v", err)
	}
}

// TestContinueOnErrorOptions: continue_on_error's kinds and ignore_error's
// lists, as fio reads them, and which failures a job goes on after.
func TestContinueOnErrorOptions(t *testing.T) {
	for v, want := range map[string]int{"none": 0, "0": 0, "read": ContinueRead, "write": ContinueWrite,
		"io": ContinueRead | ContinueWrite, "all": ContinueRead | ContinueWrite, "1": ContinueRead | ContinueWrite, "verify": 0} {
		j := NewJob("c")
		if err := j.Set("continue_on_error", v); err != nil || j.ContinueOnError != want {
			t.Errorf("continue_on_error=%s: %d %v, want %d", v, j.ContinueOnError, err, want)
		}
	}
	j := NewJob("c")
	if err := j.Set("continue_on_error", "sometimes"); err == nil {
		t.Error("continue_on_error=sometimes accepted")
	}
	_ = j.Set("continue_on_error", "io")
	for _, c := range []struct {
		write bool
		err   unix.Errno
		want  bool
	}{{false, unix.EIO, true}, {true, unix.EILSEQ, true}, {false, unix.ENOSPC, false}, {true, unix.EPERM, false}} {
		if got := j.Continues(c.write, c.err); got != c.want {
			t.Errorf("default lists, write %v, %v: %v", c.write, c.err, got)
		}
	}
	if err := j.Set("ignore_error", "ENOSPC:5,eperm,EILSEQ"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		write bool
		err   unix.Errno
		want  bool
	}{{false, unix.EIO, true}, {false, unix.ENOSPC, true}, {false, unix.EILSEQ, false}, {true, unix.EPERM, true}, {true, unix.EIO, false}} {
		if got := j.Continues(c.write, c.err); got != c.want {
			t.Errorf("ignore_error=ENOSPC:5,eperm: write %v, %v: %v, want %v", c.write, c.err, got, c.want)
		}
	}
	_ = j.Set("continue_on_error", "read")
	if j.Continues(true, unix.EPERM) {
		t.Error("continue_on_error=read went on after a write")
	}
	for _, v := range []string{"EBOGUS", "a,b,c,d", "0"} {
		k := NewJob("c")
		if err := k.Set("ignore_error", v); err == nil {
			t.Errorf("ignore_error=%s accepted", v)
		}
	}
}

// TestWriteIOLogOneClone: one log per clone: write_iolog with numjobs
// above 1 is refused.
func TestWriteIOLogOneClone(t *testing.T) {
	j := NewJob("w")
	_ = j.Set("write_iolog", "x.log")
	if err := j.Validate(); err != nil {
		t.Fatal(err)
	}
	_ = j.Set("numjobs", "2")
	if err := j.Validate(); err == nil || !strings.Contains(err.Error(), "write_iolog with numjobs=2") {
		t.Errorf("write_iolog with numjobs=2: %v", err)
	}
}

// TestReadIOLogCombinations: what read_iolog cannot go with is refused.
func TestReadIOLogCombinations(t *testing.T) {
	for _, c := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"read_iolog": "x.log", "numjobs": "2"}, "read_iolog with numjobs=2"},
		{map[string]string{"read_iolog": "x.log", "verify": "crc32c"}, "read_iolog with verify"},
		{map[string]string{"read_iolog": "x.log", "ioengine": "null"}, "read_iolog with ioengine=null"},
		{map[string]string{"replay_redirect": "/dev/x"}, "need read_iolog"},
		{map[string]string{"replay_no_stall": "1"}, "need read_iolog"},
		{map[string]string{"read_iolog": "x.log", "replay_no_stall": "1", "replay_redirect": "/dev/x"}, ""},
	} {
		j := NewJob("r")
		for k, v := range c.opts {
			if err := j.Set(k, v); err != nil {
				t.Fatalf("%v: %v", c.opts, err)
			}
		}
		err := j.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: %v, want %q", c.opts, err, c.want)
		}
	}
}

// TestFillDeviceSize: fill_device (and its alias fill_fs) drops a size
// given as a percentage, wherever it stands in the job, so that the job
// covers its device; a size in bytes stays, as fio 3.33 keeps it (its
// fill_device replaces only a size of 0, and size=N% leaves that 0).
func TestFillDeviceSize(t *testing.T) {
	for _, c := range []struct {
		opts [2][2]string
		size uint64
	}{
		{[2][2]string{{"fill_device", "1"}, {"size", "1g"}}, 1 << 30},
		{[2][2]string{{"size", "1m"}, {"fill_fs", "1"}}, 1 << 20},
		{[2][2]string{{"size", "50%"}, {"fill_fs", "1"}}, 0},
		{[2][2]string{{"fill_device", "1"}, {"size", "25%"}}, 0},
	} {
		j := NewJob("f")
		for _, kv := range c.opts {
			if err := j.Set(kv[0], kv[1]); err != nil {
				t.Fatal(err)
			}
		}
		if err := j.Validate(); err != nil || !j.FillDevice || j.Size != c.size || j.SizePct != 0 {
			t.Errorf("%v: fill %v, size %d (want %d), size%% %g, %v", c.opts, j.FillDevice, j.Size, c.size, j.SizePct, err)
		}
	}
}
