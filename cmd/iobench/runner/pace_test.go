package runner

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// gapSpread returns the median distance (ms) of the gaps between the
// times of a per-I/O log from their mean: small for evenly spaced I/Os,
// about 0.3 to 0.5 of the mean for exponential gaps; the median keeps a
// few late wake-ups on a busy machine from deciding.
func gapSpread(t *testing.T, path string) (spread, mean float64) {
	t.Helper()
	times, _ := logValues(t, path)
	var gaps []float64
	for i := 1; i < len(times); i++ {
		gaps = append(gaps, times[i]-times[i-1])
	}
	_, _, mean, _ = sampleStats(gaps)
	if mean == 0 {
		t.Fatalf("%s: no gaps", path)
	}
	dev := make([]float64, len(gaps))
	for i, g := range gaps {
		dev[i] = math.Abs(g - mean)
	}
	sort.Float64s(dev)
	return dev[len(dev)/2], mean
}

// TestRates: rate and rate_iops cap what a job does; rate_process=poisson
// spaces the I/Os irregularly with the same mean.
func TestRates(t *testing.T) {
	dir := t.TempDir()
	out := runInDir(t, dir, "--output-format=json", "--runtime=1", "--time_based", "--size=16m",
		"--name=bw", "--rw=randread", "--rate=1m",
		"--name=iops", "--rw=randwrite", "--rate_iops=200", "--write_iops_log=lin",
		"--name=poisson", "--rw=randread", "--rate_iops=200", "--rate_process=poisson", "--write_iops_log=poi")
	jobs := decodeAll(t, out)[0]["jobs"].([]any)
	bw := num(t, jobs[0].(map[string]any), "read", "bw")
	if math.Abs(bw-1024) > 0.2*1024 {
		t.Errorf("rate=1m: %v KiB/s", bw)
	}
	for i, dir := range []string{"write", "read"} {
		if iops := num(t, jobs[1+i].(map[string]any), dir, "iops"); math.Abs(iops-200) > 0.25*200 {
			t.Errorf("job %d: rate_iops=200: %v IOPS", 1+i, iops)
		}
	}
	lin, lmean := gapSpread(t, filepath.Join(dir, "lin_iops.2.log"))
	poi, pmean := gapSpread(t, filepath.Join(dir, "poi_iops.3.log"))
	if lin > 0.2*lmean || poi < 0.25*pmean {
		t.Errorf("median distance of the gaps from their mean: linear %.2f of %.2f ms, poisson %.2f of %.2f ms", lin, lmean, poi, pmean)
	}
}

// TestThinkTimeAndStartDelay: thinktime pauses after every
// thinktime_blocks I/Os (spinning for thinktime_spin of it, which the
// job's thread spends on the CPU); startdelay delays the start.
func TestThinkTimeAndStartDelay(t *testing.T) {
	start := time.Now()
	jobs, _ := jsonRunOf(t, "--name=t", "--rw=read", "--number_ios=20", "--thinktime=10ms", "--thinktime_blocks=2",
		"--thinktime_spin=10ms", "--startdelay=300ms")
	if el := time.Since(start); el < 300*time.Millisecond+90*time.Millisecond {
		t.Errorf("run took %v: less than startdelay plus 9 pauses of 10ms", el)
	}
	j := jobs[0]
	if rt := num(t, j, "read", "runtime"); rt < 90 {
		t.Errorf("runtime %v ms for 9 pauses of 10ms", rt)
	}
	// Spinning shows as CPU time (less than the 90 ms spun when the
	// machine is busy); sleeping does not.
	jobs, _ = jsonRunOf(t, "--name=s", "--rw=read", "--number_ios=20", "--thinktime=10ms", "--thinktime_blocks=2")
	spin, sleep := num(t, j, "iobench", "cpu_us_per_io")*20, num(t, jobs[0], "iobench", "cpu_us_per_io")*20
	if spin < 30000 || spin < 3*sleep {
		t.Errorf("CPU of the job's thread: %.0f µs spinning, %.0f µs sleeping", spin, sleep)
	}
}

// TestRateMinAndExitAllOnError: a job below rate_min fails, and with
// exitall_on_error stops the others and the groups after it.
func TestRateMinAndExitAllOnError(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the loop device target")
	}
	path := filepath.Join(t.TempDir(), "x.fio")
	os.WriteFile(path, []byte(`[slow]
rw=randread
rate_iops=50
rate_min=10g
runtime=30
time_based
size=16m
exitall_on_error

[other]
rw=randread
runtime=30
time_based
size=16m

[later]
stonewall
rw=read
size=1m
`), 0o644)
	start := time.Now()
	code, out, errs := run(t, "--output-format=json", "--target-size=128m", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errs)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("the run was not stopped")
	}
	docs := decodeAll(t, out)
	jobs := docs[0]["jobs"].([]any)
	if len(jobs) != 2 {
		t.Fatalf("%d jobs reported, want 2 (the later group never starts)", len(jobs))
	}
	slow := jobs[0].(map[string]any)
	if !strings.Contains(slow["error_text"].(string), "rate_min") {
		t.Errorf("slow job error: %v", slow["error_text"])
	}
	if rt := num(t, jobs[1].(map[string]any), "read", "runtime"); rt > 10000 {
		t.Errorf("the other job ran %s ms", strconv.FormatFloat(rt, 'f', 0, 64))
	}
}

// TestLatencyTarget: a target no depth can meet drives the queue down to
// one I/O in flight; one every depth meets keeps iodepth.
func TestLatencyTarget(t *testing.T) {
	jobs, _ := jsonRunOf(t, "--runtime=1200ms", "--time_based", "--size=16m", "--iodepth=16", "--latency_window=100ms",
		"--name=tight", "--rw=randread", "--latency_target=1ns",
		"--name=loose", "--rw=randread", "--latency_target=10s", "--stonewall")
	tight, loose := jobs[0], jobs[1]
	if d := num(t, tight, "latency_depth"); d != 1 {
		t.Errorf("unmeetable target: depth %v, want 1", d)
	}
	// The search takes a few windows at greater depths, then stays at 1.
	tl, ll := tight["iodepth_level"].(map[string]any), loose["iodepth_level"].(map[string]any)
	deep := func(m map[string]any) float64 { return m["8"].(float64) + m["16"].(float64) }
	if tl["1"].(float64) < 20 || tl["1"].(float64) < 10*ll["1"].(float64) || deep(tl) > deep(ll)/2 {
		t.Errorf("submissions by depth: unmeetable target %v, easy target %v", tl, ll)
	}
	if d := num(t, loose, "latency_depth"); d != 16 {
		t.Errorf("easy target: depth %v, want 16", d)
	}
	if num(t, loose, "latency_target") != 10e9 || num(t, loose, "latency_window") != 100000 {
		t.Errorf("latency_target %v, latency_window %v", num(t, loose, "latency_target"), num(t, loose, "latency_window"))
	}
}
