package runner

import (
	"strings"
	"testing"
)

// TestClockSource: clocksource picks the clock latencies are timed with,
// the report says which, and a clock of µs steps (gettimeofday), which
// reads most of a null job's latencies as 0, still counts every I/O's
// submission latency (a 0 is a reading, not an absence) and reports a
// minimum of 0 where one was read, as fio's does.
func TestClockSource(t *testing.T) {
	lat := func(j map[string]any, k string) map[string]any {
		return j["read"].(map[string]any)[k].(map[string]any)
	}
	clock := func(j map[string]any) string {
		return j["iobench"].(map[string]any)["clock"].(string)
	}
	j := batchRun(t, "--ioengine=null", "--iodepth=4", "--size=4m", "--clocksource=gettimeofday")
	if c := clock(j); !strings.HasPrefix(c, "gettimeofday") {
		t.Errorf("clock %q, want gettimeofday", c)
	}
	if n := lat(j, "slat_ns")["N"].(float64); n != 1024 {
		t.Errorf("%v slat samples of 1024 I/Os", n)
	}
	// Readings in µs steps; a null I/O completes within the µs it went
	// out in often enough that some completion latency reads 0 (a slow
	// build, -race, can take longer than a µs to submit every one).
	zero := false
	for _, k := range []string{"slat_ns", "clat_ns", "lat_ns"} {
		m := lat(j, k)["min"].(float64)
		if m != float64(int64(m)/1000*1000) {
			t.Errorf("%s min %v ns on a clock of µs steps", k, m)
		}
		zero = zero || m == 0
	}
	if !zero {
		t.Errorf("no latency read 0 on a clock of µs steps: slat, clat, lat min %v, %v, %v",
			lat(j, "slat_ns")["min"], lat(j, "clat_ns")["min"], lat(j, "lat_ns")["min"])
	}
	j = batchRun(t, "--ioengine=null", "--iodepth=4", "--size=4m", "--clocksource=clock_gettime")
	if c := clock(j); !strings.HasPrefix(c, "clock_gettime") {
		t.Errorf("clock %q, want clock_gettime", c)
	}
	if n := lat(j, "slat_ns")["N"].(float64); n != 1024 {
		t.Errorf("clock_gettime: %v slat samples of 1024 I/Os", n)
	}
	// By default the CPU's counter where it is invariant; where it is
	// not, clocksource=cpu is refused.
	j = batchRun(t, "--ioengine=null", "--iodepth=4", "--size=4m")
	cpu := strings.HasPrefix(clock(j), "cpu")
	if !cpu && !strings.HasPrefix(clock(j), "clock_gettime") {
		t.Errorf("default clock %q", clock(j))
	}
	code, out, errOut := run(t, "--name=j", "--ioengine=null", "--size=4m", "--clocksource=cpu")
	if cpu && (code != 0 || !strings.Contains(out, "clock        : cpu")) {
		t.Errorf("clocksource=cpu: exit %d, or no clock line:\n%s%s", code, out, errOut)
	}
	if !cpu && (code == 0 || !strings.Contains(errOut, "clocksource=cpu")) {
		t.Errorf("clocksource=cpu where the default is %q: exit %d, %s", clock(j), code, errOut)
	}
	code, _, errOut = run(t, "--name=j", "--ioengine=null", "--size=4m", "--clocksource=tsc")
	if code != 2 || !strings.Contains(errOut, "want cpu, clock_gettime or gettimeofday") {
		t.Errorf("clocksource=tsc: exit %d, %s", code, errOut)
	}
}
