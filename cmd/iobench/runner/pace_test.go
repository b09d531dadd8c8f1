package runner

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/workloads"
)

// scheduleGaps returns the gaps (s) between the times the pacer of a job
// with opts gives n I/Os of 4 KiB reads.
func scheduleGaps(t *testing.T, opts []string, n int) []float64 {
	t.Helper()
	_, cl, err := parseArgs(append([]string{"--name=p", "--rw=randread"}, opts...))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(0, 0)
	p := newPacer(&cl.jobs[0], start, 1)
	r := &engine.Request{Buf: make([]byte, 4096)}
	var gaps []float64
	prev := start
	for range n {
		due, _ := p.schedule(r)
		gaps = append(gaps, due.Sub(prev).Seconds())
		prev = due
	}
	return gaps[1:]
}

// TestPacerSchedule: rate_iops spaces I/Os evenly; rate_process=poisson
// with exponential gaps of the same mean (coefficient of variation 1);
// rate caps bytes per second.
func TestPacerSchedule(t *testing.T) {
	_, _, mean, dev := sampleStats(scheduleGaps(t, []string{"--rate_iops=200"}, 2000))
	if math.Abs(mean-0.005) > 1e-9 || dev > 1e-9 {
		t.Errorf("rate_iops=200: gaps mean %v s, stdev %v", mean, dev)
	}
	_, _, mean, dev = sampleStats(scheduleGaps(t, []string{"--rate_iops=200", "--rate_process=poisson"}, 20000))
	if math.Abs(mean-0.005) > 0.0002 || math.Abs(dev/mean-1) > 0.05 {
		t.Errorf("poisson: gaps mean %v s, coefficient of variation %v", mean, dev/mean)
	}
	_, _, mean, _ = sampleStats(scheduleGaps(t, []string{"--rate=1m"}, 1000))
	if math.Abs(mean-4096.0/(1<<20)) > 1e-9 {
		t.Errorf("rate=1m: gaps mean %v s for 4 KiB", mean)
	}
}

// TestRates: rate and rate_iops cap what a job does, also with
// rate_process=poisson (the spacing itself: TestPacerSchedule).
func TestRates(t *testing.T) {
	dir := t.TempDir()
	out := runInDir(t, dir, "--output-format=json", "--runtime=1", "--time_based", "--size=16m",
		"--name=bw", "--rw=randread", "--rate=1m",
		"--name=iops", "--rw=randwrite", "--rate_iops=200",
		"--name=poisson", "--rw=randread", "--rate_iops=200", "--rate_process=poisson")
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
}

// TestRatesSteerMix: in a mixed job with rate caps each direction runs up
// to its own cap whatever rwmixread says, as fio's rate_ddir has it: fio
// 3.33 did 200 reads and 400 writes in one second of randrw
// rwmixread=95 bs=1m,64k rate=200m,25m (rwmixread alone would make 5% of
// the I/Os writes: about 11). With the writes uncapped, the reads keep
// their cap and the writes take the rest.
func TestRatesSteerMix(t *testing.T) {
	dir := t.TempDir()
	out := runInDir(t, dir, "--output-format=json", "--runtime=1", "--time_based", "--size=16m", "--iodepth=8",
		"--name=both", "--rw=randrw", "--rwmixread=95", "--bs=1m,64k", "--rate=20m,2560k",
		"--name=reads", "--rw=randrw", "--rwmixread=95", "--bs=1m,64k", "--rate=20m,", "--stonewall")
	jobs := decodeAll(t, out)[0]["jobs"].([]any)
	both := jobs[0].(map[string]any)
	reads, writes := num(t, both, "read", "total_ios"), num(t, both, "write", "total_ios")
	if reads < 15 || reads > 22 || writes < 30 || writes > 42 {
		t.Errorf("rate=20m,2560k rwmixread=95: %v reads of 1 MiB, %v writes of 64 KiB; want about 20 and 40", reads, writes)
	}
	one := jobs[1].(map[string]any)
	if reads, writes := num(t, one, "read", "total_ios"), num(t, one, "write", "total_ios"); reads < 15 || reads > 22 || writes < 200 {
		t.Errorf("rate=20m, rwmixread=95: %v reads, %v writes; want about 20 reads and the writes uncapped", reads, writes)
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

// TestStartDelayRange: startdelay=lo-hi (fio's random delay for each
// clone) gives each clone its own delay in [lo, hi], the same for the
// same seed; a run waits at least lo and about hi at most.
func TestStartDelayRange(t *testing.T) {
	nj := workloads.NewJob("d")
	j := &nj
	j.NumJobs, j.StartDelay, j.StartDelayMax = 8, 100*time.Millisecond, 300*time.Millisecond
	a, b := cloneDelays(j), cloneDelays(j)
	if !slices.Equal(a, b) {
		t.Errorf("delays %v, then %v for the same seed", a, b)
	}
	if slices.Min(a) == slices.Max(a) {
		t.Errorf("every clone waits %v", a[0])
	}
	for i, d := range a {
		if d < 0 || d > j.StartDelayMax-j.StartDelay {
			t.Errorf("clone %d waits %v after startdelay's %v: outside the range's %v", i, d, j.StartDelay, j.StartDelayMax-j.StartDelay)
		}
	}
	j.StartDelayMax = j.StartDelay
	if d := cloneDelays(j); slices.Max(d) != 0 {
		t.Errorf("one startdelay, clones wait %v more", d)
	}
	start := time.Now()
	jsonRunOf(t, "--name=t", "--rw=read", "--number_ios=4", "--numjobs=3", "--startdelay=200ms-400ms")
	if el := time.Since(start); el < 200*time.Millisecond || el > 5*time.Second {
		t.Errorf("run took %v with startdelay=200ms-400ms", el)
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

// BenchmarkPause times a 100 µs pause on a locked thread, as a job's
// thinktime and rate pauses run: wait (nanosleep) against time.Sleep.
func BenchmarkPause(b *testing.B) {
	const d = 100 * time.Microsecond
	never := func() bool { return false }
	for _, tc := range []struct {
		name  string
		pause func()
	}{
		{"wait", func() { wait(time.Now().Add(d), 0, never) }},
		{"time.Sleep", func() { time.Sleep(d) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for b.Loop() {
				tc.pause()
			}
		})
	}
}

// TestThinkTimeBursts: a thinktime pause holds back every I/O after it
// (at depth 8 the first pause comes after 16 I/Os, not after the queue's
// other requests ran on); thinktime_blocks_type=issue pauses after every
// thinktime_blocks issued I/Os, complete (the default) once that many
// more have completed (those in flight at a pause count towards the next
// one), and thinktime_iotime after each that long of I/O
// (with thinktime_blocks too, whichever comes first). The bursts are
// read from write_iolog's log, which records each I/O as it goes out.
func TestThinkTimeBursts(t *testing.T) {
	target := filepath.Join(t.TempDir(), "t.img")
	if err := os.WriteFile(target, make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	// bursts runs the job and returns the number of I/Os between pauses
	// (gaps of 40 ms or more) and the length of each burst in time.
	bursts := func(args ...string) (sizes []int, spans []time.Duration) {
		t.Helper()
		log := filepath.Join(t.TempDir(), "io.log")
		code, _, errOut := run(t, append([]string{"--name=t", "--filename=" + target, "--rw=randread", "--bs=4k", "--thinktime=50ms",
			"--write_iolog=" + log, "--output-format=terse"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		times := readLogTimes(t, log)
		n, first := 1, times[0]
		for i := 1; i < len(times); i++ {
			if times[i]-times[i-1] >= 40*time.Millisecond {
				sizes, spans = append(sizes, n), append(spans, times[i-1]-first)
				n, first = 0, times[i]
			}
			n++
		}
		return append(sizes, n), append(spans, times[len(times)-1]-first)
	}
	sizes, _ := bursts("--iodepth=8", "--thinktime_blocks=16", "--thinktime_blocks_type=issue", "--number_ios=64")
	if got := fmt.Sprint(sizes); got != "[16 16 16 16]" {
		t.Errorf("thinktime_blocks=16, issue, depth 8: bursts of %s I/Os, want [16 16 16 16]", got)
	}
	// complete: the first pause once 16 have completed (16 to 24 issued);
	// each next one once 16 more have, counting those the last pause
	// waited for (as fio counts from its count before the wait), so a
	// burst after a pause holds 9 to 24.
	sizes, _ = bursts("--iodepth=8", "--thinktime_blocks=16", "--number_ios=96")
	for i, n := range sizes[:len(sizes)-1] {
		if n < 9 || n > 24 || i == 0 && n < 16 {
			t.Errorf("thinktime_blocks=16, complete, depth 8: bursts of %v I/Os; burst %d is out of bounds", sizes, i)
			break
		}
	}
	sizes, spans := bursts("--rw=read", "--thinktime_iotime=100ms", "--runtime=700ms", "--time_based", "--rate_iops=1000")
	if len(sizes) < 3 || len(sizes) > 6 {
		t.Errorf("thinktime_iotime=100ms, thinktime=50ms over 0.7 s: %d bursts (%v), want about 5", len(sizes), spans)
	}
	for i, s := range spans[:len(spans)-1] {
		if s < 90*time.Millisecond || s > 150*time.Millisecond {
			t.Errorf("thinktime_iotime=100ms: bursts of %v; burst %d: want about 100 ms", spans, i)
			break
		}
	}
	sizes, _ = bursts("--iodepth=1", "--thinktime_iotime=10s", "--thinktime_blocks=10", "--number_ios=30")
	if got := fmt.Sprint(sizes); got != "[10 10 10]" {
		t.Errorf("thinktime_iotime=10s with thinktime_blocks=10: bursts of %s I/Os, want [10 10 10]", got)
	}
}

// TestRateIgnoreThinktime: after a thinktime pause a capped job catches
// up the I/O the pause cost (fio's default): the reads that were due
// during the pause go out back to back. With rate_ignore_thinktime it goes
// on at the cap's pace, 10 ms apart at rate_iops=100. Gaps are read from
// write_iolog's record, within the bursts after the first pause.
func TestRateIgnoreThinktime(t *testing.T) {
	target := filepath.Join(t.TempDir(), "t.img")
	if err := os.WriteFile(target, make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	// medianGap runs the job and returns the median gap between reads of
	// the same burst, leaving out the first burst (before any pause).
	medianGap := func(extra ...string) time.Duration {
		t.Helper()
		log := filepath.Join(t.TempDir(), "io.log")
		code, _, errOut := run(t, append([]string{"--name=r", "--filename=" + target, "--rw=randread", "--bs=4k", "--rate_iops=100",
			"--thinktime=200ms", "--thinktime_blocks=10", "--thinktime_blocks_type=issue", "--runtime=1500ms", "--time_based",
			"--write_iolog=" + log, "--output-format=terse"}, extra...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", extra, code, errOut)
		}
		times := readLogTimes(t, log)
		var gaps []time.Duration
		paused := false
		for i := 1; i < len(times); i++ {
			switch g := times[i] - times[i-1]; {
			case g >= 150*time.Millisecond:
				paused = true
			case paused:
				gaps = append(gaps, g)
			}
		}
		if len(gaps) < 10 {
			t.Fatalf("%v: %d reads, %d gaps after a pause", extra, len(times), len(gaps))
		}
		slices.Sort(gaps)
		return gaps[len(gaps)/2]
	}
	ignore, catchUp := medianGap("--rate_ignore_thinktime=1"), medianGap()
	if ignore < 8*time.Millisecond || ignore > 14*time.Millisecond || catchUp > 4*time.Millisecond {
		t.Errorf("median gap between reads after a pause: %v with rate_ignore_thinktime (want 10 ms), %v catching up (want back to back)", ignore, catchUp)
	}
}

// TestSubmitOffload: fio's fixed-rate-submission.fio example
// (io_submit_mode=offload, rate_iops=1000, iodepth=32) runs at its rate,
// each read going out at its time (the median gap in write_iolog's record
// about 1 ms); an unknown mode is refused.
// Queue.ReapBatchWithin, which lets the job wait for completions only
// until the next read is due, is tested in the engine (TestReapBatchWithin).
func TestSubmitOffload(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "t.img")
	if err := os.WriteFile(target, make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "io.log")
	jobs, _ := jsonRunOf(t, "--name=fixed-rate-submit", "--filename="+target, "--size=8m", "--rw=read", "--iodepth=32",
		"--io_submit_mode=offload", "--rate_iops=1000", "--runtime=1s", "--time_based", "--write_iolog="+log)
	if iops := num(t, jobs[0], "read", "iops"); iops < 900 || iops > 1100 {
		t.Errorf("rate_iops=1000 with io_submit_mode=offload: %.0f IOPS", iops)
	}
	times := readLogTimes(t, log)
	var gaps []time.Duration
	for i := 1; i < len(times); i++ {
		gaps = append(gaps, times[i]-times[i-1])
	}
	slices.Sort(gaps)
	if med := gaps[len(gaps)/2]; len(times) < 900 || med < 700*time.Microsecond || med > 1300*time.Microsecond {
		t.Errorf("%d reads, the median gap between them %v (want each at its time, 1 ms apart)", len(times), med)
	}
	if code, _, errOut := run(t, "--name=x", "--filename="+target, "--io_submit_mode=later"); code != 2 || !strings.Contains(errOut, "want inline or offload") {
		t.Errorf("io_submit_mode=later: exit %d: %s", code, errOut)
	}
}

// readLogTimes returns the times, from the job's start, of the reads a
// write_iolog log records, in its order.
func readLogTimes(t *testing.T, path string) []time.Duration {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var times []time.Duration
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 5 && f[2] == "read" {
			us, _ := strconv.Atoi(f[0])
			times = append(times, time.Duration(us)*time.Microsecond)
		}
	}
	return times
}

// TestPauseEndsAtRuntime: a thinktime pause longer than the runtime left
// ends with the runtime, as fio cuts it: thinktime=10s after 5 reads in
// a 1 s job ends the job after about a second, with its 5 reads.
func TestPauseEndsAtRuntime(t *testing.T) {
	target := filepath.Join(t.TempDir(), "t.img")
	if err := os.WriteFile(target, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	jobs, _ := jsonRunOf(t, "--name=t", "--filename="+target, "--size=1m", "--thinktime=10s", "--thinktime_blocks=5",
		"--runtime=1", "--time_based")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the run took %v: the 10 s pause outlasted the 1 s runtime", took)
	}
	if n := num(t, jobs[0], "read", "total_ios"); n != 5 {
		t.Errorf("%v reads, want the 5 before the pause", n)
	}
}
