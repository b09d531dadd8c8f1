package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/workloads"
	"golang.org/x/sys/unix"
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
// rate_process=poisson (the spacing itself: TestPacerSchedule). The
// pacer's own record (paceHook) is checked, not the rate the job got: a
// busy machine leaves a job short of its cap (a loop device's worker
// starved, 116-138 IOPS of 200), which is the I/O going late, not the
// pacer. So: each read was due at its place in the cap's schedule (the
// k-th k gaps after the first; poisson's, its exponential gaps), none
// went before that time, the job dropped none of those it scheduled but
// the ones the runtime's end cut, and the report counts those that went,
// within the cap.
func TestRates(t *testing.T) {
	watch := watchPace(t)
	dir := t.TempDir()
	out := runInDir(t, dir, "--output-format=json", "--runtime=1", "--time_based", "--size=16m",
		"--name=bw", "--rw=randread", "--rate=1m",
		"--name=iops", "--rw=randwrite", "--rate_iops=200",
		"--name=poisson", "--rw=randread", "--rate_iops=200", "--rate_process=poisson")
	jobs := decodeAll(t, out)[0]["jobs"].([]any)
	bwEvs := watch.take("bw")
	n := checkSchedule(t, "rate=1m", bwEvs, evenDues(4096*time.Second/(1<<20)), 1)
	bw := num(t, jobs[0].(map[string]any), "read", "bw")
	if ios := num(t, jobs[0].(map[string]any), "read", "total_ios"); int(ios) != n || bw > 1.2*1024 {
		t.Errorf("rate=1m: %v KiB/s, %v reads reported, %d issued", bw, ios, n)
	}
	// poisson's schedule is the pacer's exponential gaps from the
	// job's seed (randrepeat: the job's random_seed plus its clone's
	// number), which TestPacerSchedule checks have the cap's mean; over
	// the job's second it holds 200 I/Os give or take 25%, whatever
	// part of it the job got through.
	poisson := func(evs []paceEvent) []time.Duration {
		j := evs[0].job
		p := newPacer(j, evs[0].due, pacerSeed(j, evs[0].clone))
		r := &engine.Request{Buf: make([]byte, 4096)}
		var dues []time.Duration
		var first time.Time
		for k := 0; k < len(evs) || dues[k-1] < time.Second; k++ {
			due, _ := p.schedule(r)
			if k == 0 {
				first = due
			}
			dues = append(dues, due.Sub(first))
		}
		if n, _ := slices.BinarySearch(dues, time.Second); n < 150 || n > 250 {
			t.Errorf("poisson: rate_iops=200 schedules %d I/Os in the first second", n)
		}
		return dues
	}
	for i, tc := range []struct {
		name, dir string
		dues      func([]paceEvent) []time.Duration
	}{{"iops", "write", evenDues(5 * time.Millisecond)}, {"poisson", "read", poisson}} {
		job := jobs[1+i].(map[string]any)
		n := checkSchedule(t, tc.name+": rate_iops=200", watch.take(tc.name), tc.dues, 1)
		if ios, iops := num(t, job, tc.dir, "total_ios"), num(t, job, tc.dir, "iops"); int(ios) != n || iops > 1.25*200 {
			t.Errorf("job %d: rate_iops=200: %v IOPS, %v I/Os reported, %d issued", 1+i, iops, ios, n)
		}
	}
}

// errorOnce returns a t.Errorf that reports its first call only: a
// schedule gone wrong fails each I/O after it.
func errorOnce(t *testing.T) func(format string, args ...any) {
	done := false
	return func(format string, args ...any) {
		t.Helper()
		if !done {
			done = true
			t.Errorf(format, args...)
		}
	}
}

// paceWatch collects what paceHook is told of the paced jobs of a test.
type paceWatch struct {
	mu  sync.Mutex
	evs []paceEvent
}

// watchPace sets paceHook for the rest of the test.
func watchPace(t *testing.T) *paceWatch {
	w := &paceWatch{}
	paceHook = func(ev paceEvent) {
		w.mu.Lock()
		w.evs = append(w.evs, ev)
		w.mu.Unlock()
	}
	t.Cleanup(func() { paceHook = nil })
	return w
}

// take returns the events of clone 0 of the job called name, in order,
// and forgets them.
func (w *paceWatch) take(name string) []paceEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	var mine, rest []paceEvent
	for _, ev := range w.evs {
		if ev.job.Name == name && ev.clone == 0 {
			mine = append(mine, ev)
		} else {
			rest = append(rest, ev)
		}
	}
	w.evs = rest
	return mine
}

// ofKind returns the events of evs of kind k.
func ofKind(evs []paceEvent, k paceKind) []paceEvent {
	var out []paceEvent
	for _, ev := range evs {
		if ev.kind == k {
			out = append(out, ev)
		}
	}
	return out
}

// evenDues is the schedule of a cap of one I/O every gap: for events
// evs, the times from the first's at which each is due.
func evenDues(gap time.Duration) func([]paceEvent) []time.Duration {
	return func(evs []paceEvent) []time.Duration {
		dues := make([]time.Duration, len(evs))
		for k := range dues {
			dues[k] = time.Duration(k) * gap
		}
		return dues
	}
}

// checkSchedule checks what the pacer of a job without thinktime did,
// from its events evs (paceHook): the reads it issued were due, in
// order, at the times of dues' schedule from the first (to a
// microsecond: the pacer rounds to nanoseconds), so that however late a
// busy machine let them go, no more went by any time than the cap
// allows; none went before its due time; and it scheduled no more than
// depth besides (those the runtime's end cut), so none was dropped to
// leave the job short. It returns how many went.
func checkSchedule(t *testing.T, what string, evs []paceEvent, dues func([]paceEvent) []time.Duration, depth int) int {
	t.Helper()
	issued := ofKind(evs, paceIssued)
	if len(issued) == 0 {
		t.Fatalf("%s: no read issued", what)
	}
	want := dues(issued)
	early := 0
	for k, ev := range issued {
		if d := ev.due.Sub(issued[0].due); (d - want[k]).Abs() > time.Microsecond {
			t.Errorf("%s: read %d was due %v after the first, want %v (the cap's schedule)", what, k, d, want[k])
			break
		}
		if ev.at.Before(ev.due) {
			early++
		}
	}
	if early > 0 {
		t.Errorf("%s: %d of %d reads went before their time", what, early, len(issued))
	}
	if s := len(ofKind(evs, paceScheduled)); s < len(issued) || s > len(issued)+depth {
		t.Errorf("%s: %d reads scheduled, %d issued: want all but up to %d that the runtime's end cut", what, s, len(issued), depth)
	}
	return len(issued)
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
	if len(jobs) != 3 {
		t.Fatalf("%d jobs reported, want 3 (the later group never starts and is listed with nothing done, as fio lists it)", len(jobs))
	}
	if later := jobs[2].(map[string]any); later["jobname"] != "later" || num(t, later, "read", "total_ios") != 0 {
		t.Errorf("the job that never started: %v, %v reads", later["jobname"], later["read"])
	}
	slow := jobs[0].(map[string]any)
	if !strings.Contains(slow["error_text"].(string), "rate_min") {
		t.Errorf("slow job error: %v", slow["error_text"])
	}
	if rt := num(t, jobs[1].(map[string]any), "read", "runtime"); rt > 10000 {
		t.Errorf("the other job ran %s ms", strconv.FormatFloat(rt, 'f', 0, 64))
	}
}

// TestRateMinSettles: rate_min counts from 2 s into the job, as fio
// 3.33's settle period: a job too slow for it that ends before runs
// through (fio: exit 0; iobench failed it at 1 s).
func TestRateMinSettles(t *testing.T) {
	code, out, errs := run(t, "--name=s", "--ioengine=null", "--rw=randread", "--size=16m", "--rate_iops=200",
		"--rate_min=1g", "--runtime=1500ms", "--time_based", "--output-format=json")
	if code != 0 || strings.Contains(out, "rate_min: ") {
		t.Errorf("a 1.5 s job below rate_min: exit %d, want 0 as fio's\n%s%s", code, out, errs)
	}
}

// latRun runs a 4 KiB random read job with opts on an 8 MiB file
// target and returns its exit status, stderr and JSON report.
func latRun(t *testing.T, opts ...string) (code int, errOut string, job map[string]any) {
	t.Helper()
	target := zeroTarget(t, t.TempDir())
	args := append([]string{"--name=lt", "--filename=" + target, "--rw=randread", "--bs=4k", "--size=8m",
		"--output-format=json"}, opts...)
	code, out, errOut := run(t, args...)
	var doc struct {
		Jobs []map[string]any `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Jobs) != 1 {
		t.Fatalf("%v: JSON: %v\n%s\n%s", opts, err, out, errOut)
	}
	return code, errOut, doc.Jobs[0]
}

// TestLatencyTarget runs the search in jobs: with latency_percentile=100
// (the default) a target no depth meets fails the job at its first I/O,
// at depth 1, as fio's does; below 100 the job runs on at depth 1; a
// target every depth meets settles at iodepth, and the job ends one
// window after that, its report that window's; latency_run=1 runs the
// job to its end.
func TestLatencyTarget(t *testing.T) {
	code, errOut, job := latRun(t, "--iodepth=16", "--runtime=10", "--time_based", "--latency_target=1ns")
	if code != 1 || num(t, job, "error") != 110 || !strings.Contains(errOut, "exceeds specified max (1 nsec)") {
		t.Errorf("latency_target=1ns: exit %d, error %v: %s", code, num(t, job, "error"), errOut)
	}
	if ios, d := num(t, job, "read", "total_ios"), num(t, job, "latency_depth"); ios != 1 || d != 1 {
		t.Errorf("latency_target=1ns: %v I/Os at depth %v, want the one at depth 1", ios, d)
	}

	code, errOut, job = latRun(t, "--iodepth=16", "--runtime=300ms", "--time_based", "--latency_target=1ns",
		"--latency_percentile=50", "--latency_window=20ms")
	if code != 0 || num(t, job, "latency_depth") != 1 || num(t, job, "iodepth_level", "1") != 100 {
		t.Errorf("latency_target=1ns, latency_percentile=50: exit %d, depth %v, depths %v: %s", code,
			num(t, job, "latency_depth"), job["iodepth_level"], errOut)
	}

	code, errOut, job = latRun(t, "--iodepth=16", "--runtime=10", "--time_based", "--latency_target=10s",
		"--latency_window=20ms")
	if code != 0 || num(t, job, "latency_depth") != 16 {
		t.Errorf("latency_target=10s: exit %d, depth %v, want 16: %s", code, num(t, job, "latency_depth"), errOut)
	}
	// Windows at depths 1, 2, 4, 8 and 16, the one that settles it at
	// 16, and the last: far short of the runtime, whose report is the
	// last window's, at depths up to 16 (the search's at depth 1 are not
	// in it).
	if rt := num(t, job, "read", "runtime"); rt > 5000 {
		t.Errorf("latency_target=10s: read runtime %v ms, want the last 20 ms window's", rt)
	}
	// The engine counts every device I/O of the job, the report only
	// those after the restart. (The share of submissions at depth 1 says
	// less: a queue that drains between reaps refills from depth 1.)
	if ios, all := num(t, job, "read", "total_ios"), num(t, job, "iobench", "device_ios"); ios <= 0 || ios >= all {
		t.Errorf("latency_target=10s: %v I/Os reported of the job's %v, want the search's left out", ios, all)
	}
	if num(t, job, "latency_target") != 10e9 || num(t, job, "latency_window") != 20000 || num(t, job, "latency_percentile") != 100 {
		t.Errorf("latency_target %v, latency_window %v, latency_percentile %v", num(t, job, "latency_target"),
			num(t, job, "latency_window"), num(t, job, "latency_percentile"))
	}

	code, errOut, job = latRun(t, "--iodepth=16", "--runtime=400ms", "--time_based", "--latency_target=10s",
		"--latency_window=20ms", "--latency_run=1")
	if code != 0 || num(t, job, "latency_depth") != 16 || num(t, job, "read", "runtime") < 399 {
		t.Errorf("latency_run=1: exit %d, depth %v, runtime %v ms, want 16 and the whole 400: %s", code,
			num(t, job, "latency_depth"), num(t, job, "read", "runtime"), errOut)
	}
}

// BenchmarkPause times a 100 µs pause on a locked thread, as a job's
// thinktime and rate pauses run: wait (nanosleep) against time.Sleep.
func BenchmarkPause(b *testing.B) {
	const d = 100 * time.Microsecond
	never := func() bool { return false }
	var sl sleeper
	for _, tc := range []struct {
		name  string
		pause func()
	}{
		{"wait", func() { wait(time.Now().Add(d), 0, never) }},
		{"sleeper", func() { sl.wait(time.Now().Add(d), 0, never) }},
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
// (with thinktime_blocks too, whichever comes first). The bursts and
// pauses are the pacer's record (paceHook), not gaps between the times
// in write_iolog's log, which a stall of a busy machine splits: the I/Os
// issued between pauses, each pause thinktime long (but the one the
// runtime's end cuts), none of the I/O going during one; and with
// thinktime_iotime, the pause comes before the first I/O scheduled once
// that long has passed since the last pause ended, and before no other.
func TestThinkTimeBursts(t *testing.T) {
	watch := watchPace(t)
	target := zeroTarget(t, t.TempDir())
	// bursts runs the job and returns its events and the number of I/Os
	// between pauses.
	bursts := func(args ...string) (evs []paceEvent, sizes []int) {
		t.Helper()
		code, _, errOut := run(t, append([]string{"--name=t", "--filename=" + target, "--rw=randread", "--bs=4k", "--thinktime=50ms",
			"--output-format=terse"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		evs = watch.take("t")
		errorf := errorOnce(t)
		n := 0
		var pause *paceEvent
		for i, ev := range evs {
			switch ev.kind {
			case paceIssued:
				if pause != nil && ev.at.Before(pause.at.Add(50*time.Millisecond)) {
					errorf("%v: an I/O went %v into a pause of 50ms", args, ev.at.Sub(pause.at))
				}
				n++
			case pacePaused:
				pause = &evs[i]
				if got := ev.due.Sub(ev.at); got != 50*time.Millisecond {
					errorf("%v: a pause to last %v, want thinktime's 50ms", args, got)
				}
				resumed := slices.ContainsFunc(evs[i+1:], func(e paceEvent) bool { return e.kind == paceIssued })
				if d := ev.end.Sub(ev.at); d < 50*time.Millisecond && resumed {
					errorf("%v: a pause of %v, want 50ms", args, d)
				}
				sizes, n = append(sizes, n), 0
			}
		}
		if n > 0 {
			sizes = append(sizes, n) // after the last pause, unless the runtime's end cut it
		}
		return evs, sizes
	}
	_, sizes := bursts("--iodepth=8", "--thinktime_blocks=16", "--thinktime_blocks_type=issue", "--number_ios=64")
	if got := fmt.Sprint(sizes); got != "[16 16 16 16]" {
		t.Errorf("thinktime_blocks=16, issue, depth 8: bursts of %s I/Os, want [16 16 16 16]", got)
	}
	// complete: the first pause once 16 have completed (16 to 24 issued);
	// each next one once 16 more have, counting those the last pause
	// waited for (as fio counts from its count before the wait), so a
	// burst after a pause holds 9 to 24.
	_, sizes = bursts("--iodepth=8", "--thinktime_blocks=16", "--number_ios=96")
	if len(sizes) < 2 {
		t.Errorf("thinktime_blocks=16, complete, depth 8: bursts of %v I/Os, want pauses", sizes)
	}
	for i, n := range sizes[:len(sizes)-1] {
		if n < 9 || n > 24 || i == 0 && n < 16 {
			t.Errorf("thinktime_blocks=16, complete, depth 8: bursts of %v I/Os; burst %d is out of bounds", sizes, i)
			break
		}
	}
	// thinktime_iotime: the pacer's clock as it scheduled each I/O says
	// whether a pause comes before it: once 100 ms have passed since
	// the last pause ended (the first: since the job's start, when its
	// first read was due), and only then. Each pause after 100 ms of
	// I/O and 50 of pause, a 0.7 s job has at most 5 bursts.
	evs, sizes := bursts("--rw=read", "--thinktime_iotime=100ms", "--runtime=700ms", "--time_based", "--rate_iops=1000")
	if len(sizes) < 2 || len(sizes) > 5 {
		t.Errorf("thinktime_iotime=100ms, thinktime=50ms over 0.7 s: bursts of %v I/Os, want 2 to 5", sizes)
	}
	var thinkEnd time.Time
	errorf := errorOnce(t)
	for _, ev := range evs {
		switch {
		case ev.kind == paceScheduled && thinkEnd.IsZero():
			thinkEnd = ev.due // the first read is due at the job's start
			fallthrough
		case ev.kind == paceScheduled:
			if since := ev.at.Sub(thinkEnd); ev.think != (since >= 100*time.Millisecond) {
				errorf("thinktime_iotime=100ms: an I/O scheduled %v after the last pause ended, pause before it %v", since, ev.think)
			}
		case ev.kind == pacePaused:
			thinkEnd = ev.end
		}
	}
	_, sizes = bursts("--iodepth=1", "--thinktime_iotime=10s", "--thinktime_blocks=10", "--number_ios=30")
	if got := fmt.Sprint(sizes); got != "[10 10 10]" {
		t.Errorf("thinktime_iotime=10s with thinktime_blocks=10: bursts of %s I/Os, want [10 10 10]", got)
	}
}

// TestRateIgnoreThinktime: after a thinktime pause a capped job catches
// up the I/O the pause cost (fio's default): its schedule runs on through
// the pause (the k-th read due k times 10 ms after the first at
// rate_iops=100), so the reads that were due during the pause go out at
// once, without waiting. With rate_ignore_thinktime the schedule moves on
// by the length of each pause (the k-th read due k times 10 ms plus the
// pauses before it after the first): the pause's time is not caught up.
// The first read after a pause is due at its end. All of it is read from
// the pacer's record (paceHook), not from the gaps between the reads'
// times, which a busy machine stretches and bunches (a job that fell
// behind before a pause stays as far behind after it either way).
func TestRateIgnoreThinktime(t *testing.T) {
	watch := watchPace(t)
	target := zeroTarget(t, t.TempDir())
	const gap = 10 * time.Millisecond
	for _, ignore := range []bool{true, false} {
		what := fmt.Sprintf("rate_ignore_thinktime=%v", ignore)
		code, _, errOut := run(t, "--name=r", "--filename="+target, "--rw=randread", "--bs=4k", "--rate_iops=100",
			"--thinktime=200ms", "--thinktime_blocks=10", "--thinktime_blocks_type=issue", "--runtime=1500ms", "--time_based",
			"--output-format=terse", "--rate_ignore_thinktime="+fmt.Sprint(map[bool]int{false: 0, true: 1}[ignore]))
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", what, code, errOut)
		}
		// k counts the reads; shift is what the pauses so far moved the
		// schedule on by (with rate_ignore_thinktime).
		var start time.Time
		var pause *paceEvent
		k, shift, caughtUp, after := 0, time.Duration(0), 0, 0
		evs := watch.take("r")
		errorf := errorOnce(t)
		for i, ev := range evs {
			switch ev.kind {
			case pacePaused:
				pause = &evs[i]
				if ignore {
					shift += ev.end.Sub(ev.at)
				}
			case paceIssued:
				if k == 0 {
					start = ev.due
				}
				if ev.at.Before(ev.due) {
					errorf("%s: read %d went %v before its time", what, k, ev.due.Sub(ev.at))
				}
				want := start.Add(time.Duration(k)*gap + shift)
				if i > 0 && evs[i-1].kind == pacePaused {
					// The first after a pause: due at the pause's end.
					if !ev.due.Equal(pause.due) {
						errorf("%s: read %d, the first after a pause, due %v after the pause began, want its end, %v", what, k, ev.due.Sub(pause.at), pause.due.Sub(pause.at))
					}
					k++
					continue
				}
				if (ev.due.Sub(want)).Abs() > time.Microsecond {
					errorf("%s: read %d due %v after the first, want %v", what, k, ev.due.Sub(start), want.Sub(start))
				}
				if pause != nil {
					after++
					if ev.due.Before(pause.end) {
						// Due during the pause (or before it, when the
						// job was behind): it goes at once.
						caughtUp++
						if ev.held {
							errorf("%s: read %d, due during the pause before it, waited to go", what, k)
						}
					}
				}
				k++
			}
		}
		if after == 0 || !ignore && caughtUp == 0 {
			t.Errorf("%s: %d of the %d reads after a pause (but the first) were due by its end; want reads after a pause, and without rate_ignore_thinktime some due during it",
				what, caughtUp, after)
		}
	}
}

// TestSubmitOffload: fio's fixed-rate-submission.fio example
// (io_submit_mode=offload, rate_iops=1000, iodepth=32) runs at its rate:
// each read is due 1 ms after the one before, none goes before its time,
// and no more go than the cap allows (the pacer's record, paceHook: the
// gaps between the reads' times, which a busy machine bunches as the job
// catches up, are not judged); write_iolog and the report count the reads
// that went. What offload adds shows over a device slower than the
// rate's gaps (delayRing: each read takes 100 ms, ten gaps of
// rate_iops=100): a read held back for its time goes at it, whatever is
// in flight, where inline waits for the queue to drain first, so that
// none of its held reads goes with another in flight. (The queue has
// room for 22 reads held ahead of their time, 220 ms: a busy machine
// would have to stall the job for longer to find none held.) An unknown
// mode is refused.
// Queue.ReapBatchWithin, which lets the job wait for completions only
// until the next read is due, is tested in the engine (TestReapBatchWithin).
func TestSubmitOffload(t *testing.T) {
	watch := watchPace(t)
	dir := t.TempDir()
	target := zeroTarget(t, dir)
	log := filepath.Join(dir, "io.log")
	jobs, _ := jsonRunOf(t, "--name=fixed-rate-submit", "--filename="+target, "--size=8m", "--rw=read", "--iodepth=32",
		"--io_submit_mode=offload", "--rate_iops=1000", "--runtime=1s", "--time_based", "--write_iolog="+log)
	n := checkSchedule(t, "rate_iops=1000 with io_submit_mode=offload", watch.take("fixed-rate-submit"), evenDues(time.Millisecond), 32)
	if ios, iops := num(t, jobs[0], "read", "total_ios"), num(t, jobs[0], "read", "iops"); int(ios) != n || iops > 1100 {
		t.Errorf("rate_iops=1000 with io_submit_mode=offload: %.0f IOPS, %v reads reported, %d issued", iops, ios, n)
	}
	if logged := len(iologTimes(t, log, "read")); logged != n {
		t.Errorf("write_iolog records %d reads, %d issued", logged, n)
	}

	useDelayRing(t, 100*time.Millisecond)
	for _, mode := range []string{"offload", "inline"} {
		name := "slow-" + mode
		jsonRunOf(t, "--name="+name, "--ioengine=null", "--size=8m", "--rw=read", "--iodepth=32",
			"--io_submit_mode="+mode, "--rate_iops=100", "--runtime=1s", "--time_based")
		evs := watch.take(name)
		checkSchedule(t, name, evs, evenDues(10*time.Millisecond), 32)
		held, busy := 0, 0
		for _, ev := range ofKind(evs, paceIssued) {
			if ev.held {
				held++
				if ev.inFlight > 0 {
					busy++
				}
			}
		}
		t.Logf("io_submit_mode=%s: %d reads, %d held for their time, %d of them sent with others in flight", mode, len(ofKind(evs, paceIssued)), held, busy)
		if mode == "offload" && (held == 0 || busy < held/2) || mode == "inline" && busy > 0 {
			t.Errorf("io_submit_mode=%s over a 100 ms device: %d of the %d reads held for their time went with others in flight; want most with offload, none inline",
				mode, busy, held)
		}
	}
	if code, _, errOut := run(t, "--name=x", "--filename="+target, "--io_submit_mode=later"); code != 2 || !strings.Contains(errOut, "want inline or offload") {
		t.Errorf("io_submit_mode=later: exit %d: %s", code, errOut)
	}
}

// delayRing holds each completion of a ring (ioengine=null's, which
// completes an operation as it is submitted, or io_uring's) for delay
// before Reap hands it out, as a device that slow would; Submit waits for
// that as a ring waits for the device, up to its timeout (over io_uring,
// an untimed wait for a completion the device has not given yet returns
// at once, and the engine asks again).
type delayRing struct {
	engine.Ring
	delay time.Duration
	held  []delayed
}

type delayed struct {
	c  engine.Completion
	at time.Time
}

// useDelayRing runs the test's ioengine=null jobs over delayRings.
func useDelayRing(t *testing.T, delay time.Duration) {
	old := nullRing
	nullRing = func(o engine.RingOptions) (engine.Ring, error) {
		r, err := engine.NewNullRing(o)
		return &delayRing{Ring: r, delay: delay}, err
	}
	t.Cleanup(func() { nullRing = old })
}

// useDelayURing runs the test's jobs that do device I/O over delayRings
// around io_uring rings: each completion, a flush's too, comes delay after
// the device's.
func useDelayURing(t *testing.T, delay time.Duration) {
	old := uringRing
	uringRing = func(o engine.RingOptions) (engine.Ring, error) {
		r, err := engine.NewIOURing(o)
		if err != nil {
			return nil, err
		}
		return &delayRing{Ring: r, delay: delay}, nil
	}
	t.Cleanup(func() { uringRing = old })
}

func (r *delayRing) pull() {
	var buf [64]engine.Completion
	for {
		n := r.Ring.Reap(buf[:])
		for _, c := range buf[:n] {
			r.held = append(r.held, delayed{c, time.Now().Add(r.delay)})
		}
		if n < len(buf) {
			return
		}
	}
}

func (r *delayRing) Submit(waitNr int, timeout time.Duration) error {
	if err := r.Ring.Submit(0, 0); err != nil || waitNr == 0 {
		return err
	}
	r.pull()
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	if len(r.held) < waitNr {
		// Never met: a timed wait sleeps its timeout, an untimed one
		// returns (as the null ring's).
		if !deadline.IsZero() {
			time.Sleep(time.Until(deadline))
		}
		return nil
	}
	until := r.held[waitNr-1].at
	if !deadline.IsZero() && deadline.Before(until) {
		until = deadline
	}
	time.Sleep(time.Until(until))
	return nil
}

func (r *delayRing) Reap(dst []engine.Completion) int {
	r.pull()
	n := 0
	for n < len(r.held) && n < len(dst) && !r.held[n].at.After(time.Now()) {
		dst[n] = r.held[n].c
		n++
	}
	r.held = r.held[:copy(r.held, r.held[n:])]
	return n
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

// latSearch drives a latency_target search (newLatTarget) with a fake
// latency source: windows of I/Os at given latencies, at times the test
// sets, and records the depth after each window.
type latSearch struct {
	t   *testing.T
	l   *latTarget
	now time.Time
}

func newLatSearch(t *testing.T, iodepth int, pct float64, run bool) *latSearch {
	t.Helper()
	j := workloads.NewJob("lt")
	j.IODepth, j.LatencyTarget, j.LatencyWindow, j.LatencyPercentile, j.LatencyRun = iodepth, 500*time.Microsecond, 10*time.Millisecond, pct, run
	now := time.Unix(1000, 0)
	return &latSearch{t: t, l: newLatTarget(&j, now), now: now}
}

// window completes good I/Os within the target and bad ones over it,
// then lets the window pass and judges it (a drain after a ramp down or
// a settled depth ends at once, as if nothing were in flight). It
// reports a fatal I/O.
func (s *latSearch) window(good, bad int) (fatal bool) {
	for range good {
		s.l.complete(100 * time.Microsecond)
	}
	for range bad {
		if s.l.complete(time.Millisecond) {
			fatal = true
		}
	}
	s.now = s.now.Add(s.l.window)
	s.l.tick(s.now)
	if s.l.draining {
		s.l.drained(s.now)
	}
	return fatal
}

// state is the search's depth, low and high.
func (s *latSearch) state() [3]int { return [3]int{s.l.depth, s.l.low, s.l.high} }

// TestLatTargetDoubles: with every window met the depth doubles from 1
// up to iodepth (capped there); met again at iodepth it has settled: the
// queue drains, the statistics start afresh (drained says so) and one
// more window runs, after which the job ends.
func TestLatTargetDoubles(t *testing.T) {
	s := newLatSearch(t, 24, 100, false)
	var depths []int
	for !s.l.done {
		if len(depths) > 20 {
			t.Fatal("the search never ended")
		}
		s.window(100, 0)
		depths = append(depths, s.l.depth)
	}
	if want := []int{2, 4, 8, 16, 24, 24, 24}; !slices.Equal(depths, want) {
		t.Errorf("depths after each window %v, want %v", depths, want)
	}
	// The same again, step by step at the settling window.
	s = newLatSearch(t, 2, 100, false)
	s.window(10, 0) // 1 met: 2
	for range 10 {
		s.l.complete(100 * time.Microsecond)
	}
	s.now = s.now.Add(s.l.window)
	s.l.tick(s.now) // 2 met, and stays: settled
	if !s.l.final || !s.l.draining || s.l.done {
		t.Fatalf("settled: final %v draining %v done %v, want true true false", s.l.final, s.l.draining, s.l.done)
	}
	s.l.tick(s.now.Add(time.Hour)) // no judging while the queue drains
	if !s.l.draining || s.l.done {
		t.Fatal("a window was judged while the queue drained")
	}
	if !s.l.drained(s.now) {
		t.Error("drained after the depth settled: the statistics should start afresh")
	}
	s.window(10, 0)
	if !s.l.done || s.l.depth != 2 {
		t.Errorf("after the last window: done %v at depth %d, want done at 2", s.l.done, s.l.depth)
	}
}

// TestLatTargetBisects: with latency_percentile=100 the first I/O over
// the target ramps the depth down at once, halfway to the deepest depth
// that met it; from there the depth goes halfway up to the one that
// missed, and settles one below it.
func TestLatTargetBisects(t *testing.T) {
	s := newLatSearch(t, 128, 100, false)
	for range 4 {
		s.window(50, 0) // 1, 2, 4, 8 met
	}
	if got := s.state(); got != [3]int{16, 8, 128} {
		t.Fatalf("after four met windows: depth, low, high %v, want [16 8 128]", got)
	}
	if s.l.complete(100*time.Microsecond) || s.l.complete(time.Millisecond) {
		t.Fatal("a miss at depth 16 failed the job")
	}
	if got := s.state(); got != [3]int{12, 8, 16} || !s.l.draining {
		t.Fatalf("a miss at 16: depth, low, high %v (draining %v), want [12 8 16], draining", got, s.l.draining)
	}
	s.now = s.now.Add(time.Millisecond)
	if s.l.drained(s.now) {
		t.Error("a ramp down restarts the statistics")
	}
	if s.l.ios != 0 || !s.l.start.Equal(s.now) {
		t.Errorf("the window after the drain: %d I/Os from %v, want none from %v", s.l.ios, s.l.start, s.now)
	}
	var depths []int
	for !s.l.done && len(depths) < 10 {
		s.window(50, 0)
		depths = append(depths, s.l.depth)
	}
	if want := []int{14, 15, 15, 15}; !slices.Equal(depths, want) || !s.l.done {
		t.Errorf("depths after each met window %v (done %v), want %v and done", depths, s.l.done, want)
	}
	if got := s.state(); got != [3]int{15, 15, 16} {
		t.Errorf("settled: depth, low, high %v, want [15 15 16]", got)
	}
	// A miss at iodepth itself leaves iodepth the bound, which fio takes
	// for no miss yet: the next met window doubles the depth, back to
	// iodepth.
	s = newLatSearch(t, 16, 100, false)
	for range 4 {
		s.window(10, 0)
	}
	s.l.complete(time.Millisecond)
	s.l.drained(s.now)
	if got := s.state(); got != [3]int{12, 8, 16} {
		t.Fatalf("a miss at iodepth 16: depth, low, high %v, want [12 8 16]", got)
	}
	s.window(10, 0)
	if got := s.state(); got != [3]int{16, 12, 16} {
		t.Errorf("met at 12 under iodepth 16: depth, low, high %v, want [16 12 16]", got)
	}
}

// TestLatTargetFailsAtDepthOne: with latency_percentile=100 an I/O over
// the target at depth 1 fails the job; I/Os over it while the queue
// drains ramp the depth down further, down to that failure (fio's
// quiesce completes them through the same check).
func TestLatTargetFailsAtDepthOne(t *testing.T) {
	s := newLatSearch(t, 16, 100, false)
	if !s.l.complete(501 * time.Microsecond) {
		t.Error("an I/O over the target at depth 1 did not fail the job")
	}
	if s.l.complete(500 * time.Microsecond) {
		t.Error("an I/O at the target failed the job")
	}
	s = newLatSearch(t, 16, 100, false)
	s.window(10, 0)
	s.window(10, 0) // depth 4, low 2
	var got [][3]int
	fatal := false
	for range 4 {
		fatal = s.l.complete(time.Millisecond)
		got = append(got, s.state())
	}
	if want := [][3]int{{3, 2, 4}, {2, 2, 3}, {1, 1, 2}, {1, 1, 2}}; !slices.Equal(got, want) || !fatal {
		t.Errorf("misses while draining: depth, low, high %v (fatal %v), want %v, the last fatal", got, fatal, want)
	}
}

// TestLatTargetPercentile: below 100 a window is judged by the share of
// its I/Os within the target (misses are counted, none ramps down on its
// own); at depth 1 a missed window changes nothing, not even the window,
// which runs on and is judged again with the I/Os that follow; an empty
// window is a miss; the I/Os completing while the queue drains count in
// no window.
func TestLatTargetPercentile(t *testing.T) {
	s := newLatSearch(t, 8, 90, false)
	if s.window(5, 5) {
		t.Fatal("a miss below latency_percentile=100 failed the job")
	}
	if s.l.depth != 1 || s.l.ios != 10 || s.l.missed != 5 {
		t.Fatalf("a missed window at depth 1: depth %d, window %d I/Os %d missed; want 1, and the window runs on (10, 5)", s.l.depth, s.l.ios, s.l.missed)
	}
	s.window(20, 0) // 25 of 30: 83%, missed
	if s.l.depth != 1 || s.l.ios != 30 {
		t.Fatalf("83%%: depth %d over %d I/Os, want 1 over 30", s.l.depth, s.l.ios)
	}
	s.window(30, 0) // 55 of 60: 91.7%, met
	if s.l.depth != 2 || s.l.ios != 0 {
		t.Fatalf("91.7%%: depth %d, window %d I/Os; want 2, a new window", s.l.depth, s.l.ios)
	}
	s.window(90, 10) // exactly 90%: met
	if s.l.depth != 4 {
		t.Fatalf("90%%: depth %d, want 4", s.l.depth)
	}
	s.window(89, 11) // 89%: missed, down halfway to low (2)
	if got := s.state(); got != [3]int{3, 2, 4} {
		t.Fatalf("89%% at 4: depth, low, high %v, want [3 2 4]", got)
	}
	s.window(0, 0) // nothing completed: missed
	if got := s.state(); got != [3]int{2, 2, 3} {
		t.Fatalf("an empty window at 3: depth, low, high %v, want [2 2 3]", got)
	}
	// An I/O completing while the queue drains counts in no window.
	s.l.complete(time.Millisecond)
	s.l.tick(s.now.Add(s.l.window))
	s.l.complete(time.Millisecond)
	if s.l.missed != 1 || s.l.ios != 1 {
		t.Fatalf("window %d I/Os %d missed, want 1 and 1", s.l.ios, s.l.missed)
	}
}

// TestLatTargetRun: latency_run=1 never settles: the search goes on at
// the deepest depth that meets the target, and three met windows in a
// row one below the shallowest miss raise that bound by one.
func TestLatTargetRun(t *testing.T) {
	s := newLatSearch(t, 128, 100, true)
	for range 4 {
		s.window(10, 0) // 1, 2, 4, 8 met
	}
	s.l.complete(time.Millisecond) // at 16: down to 12
	s.l.drained(s.now)
	var got [][3]int
	for range 8 {
		s.window(10, 0)
		got = append(got, s.state())
	}
	want := [][3]int{{14, 12, 16}, {15, 14, 16}, {15, 15, 16}, {15, 15, 16}, {16, 15, 17}, {16, 16, 17}, {16, 16, 17}, {17, 16, 18}}
	if !slices.Equal(got, want) {
		t.Errorf("met windows: depth, low, high %v, want %v", got, want)
	}
	if s.l.done || s.l.final {
		t.Error("latency_run: the search settled")
	}
	// A ramp down clears the count of met windows.
	s = newLatSearch(t, 128, 100, true)
	for range 4 {
		s.window(10, 0)
	}
	s.l.complete(time.Millisecond)
	s.l.drained(s.now)
	s.window(10, 0)
	s.window(10, 0)
	s.window(10, 0) // 15, one below 16, met once
	s.l.complete(time.Millisecond)
	s.l.drained(s.now)
	if got := s.state(); got != [3]int{14, 14, 15} || s.l.stable != 0 {
		t.Errorf("a miss at 15: depth, low, high %v (count %d), want [14 14 15] and 0", got, s.l.stable)
	}
}

// TestLatTargetWindowAndRamp: a window is judged only once it has
// passed; the end of the ramp starts the search afresh at depth 1,
// unless the depth has already settled.
func TestLatTargetWindowAndRamp(t *testing.T) {
	s := newLatSearch(t, 8, 100, false)
	s.l.complete(time.Microsecond)
	s.l.tick(s.now.Add(s.l.window - time.Nanosecond))
	if s.l.depth != 1 {
		t.Fatalf("judged before the window passed: depth %d", s.l.depth)
	}
	s.l.tick(s.now.Add(s.l.window))
	if s.l.depth != 2 {
		t.Fatalf("a met window: depth %d, want 2", s.l.depth)
	}
	s.l.rampEnded(s.now)
	if got := s.state(); got != [3]int{1, 1, 8} {
		t.Errorf("after the ramp: depth, low, high %v, want [1 1 8]", got)
	}
	s.l.final, s.l.depth = true, 8
	s.l.rampEnded(s.now)
	if s.l.depth != 8 {
		t.Errorf("a settled depth started afresh at %d", s.l.depth)
	}
}

// TestLatencyTargetReport: the report's latency fields are fio's: the
// depth the search ended at (latency_depth), the target in ns, the
// window in µs and the percentile, in JSON and in the normal output's
// latency line; without a target the depth is iodepth, target and
// window 0.
func TestLatencyTargetReport(t *testing.T) {
	r := fakeResult()
	r.Job.IODepth, r.Job.LatencyTarget, r.Job.LatencyWindow, r.Job.LatencyPercentile = 128, 500*time.Microsecond, 5*time.Millisecond, 99.9
	r.LatencyDepth = 12
	plain := fakeResult()
	plain.Job.IODepth = 32
	run := &Run{Time: time.Now(), Target: "t", Kernel: "k", Jobs: []JobResult{r, plain}}
	jobs := jsonOf(t, run, false)["jobs"].([]any)
	for i, want := range [][4]float64{{12, 500000, 99.9, 5000}, {32, 0, 100, 0}} {
		job := jobs[i].(map[string]any)
		got := [4]float64{num(t, job, "latency_depth"), num(t, job, "latency_target"), num(t, job, "latency_percentile"), num(t, job, "latency_window")}
		if got != want {
			t.Errorf("job %d: latency_depth, latency_target, latency_percentile, latency_window %v, want %v", i, got, want)
		}
	}
	// A merged report (group_reporting) gives the last clone's depth,
	// as fio's does.
	ms := clonesMeasured(3, time.Second, 0, time.Second)
	ms[0].latencyDepth, ms[1].latencyDepth, ms[2].latencyDepth = 8, 16, 4
	if d := collect(ms, -1).LatencyDepth; d != 4 {
		t.Errorf("merged clones at depths 8, 16 and 4: latency_depth %d, want the last's, 4", d)
	}
	var b bytes.Buffer
	if err := writeFormats(&b, []string{"normal"}, run); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"     latency   : target=500000, window=5000, percentile=99.90%, depth=12\n",
		"     latency   : target=0, window=0, percentile=100.00%, depth=32\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("normal output lacks %q:\n%s", want, b.String())
		}
	}
}

// TestLatencyTargetRestart: once the depth settles the job's statistics
// start afresh (fio's reset at its last window): counts, latencies,
// depths, samples and the runtime's start, and the runtime counts from
// then; the errors continue_on_error counted and the first error stay.
func TestLatencyTargetRestart(t *testing.T) {
	j := workloads.NewJob("r")
	j.Runtime = time.Second
	w := &worker{job: &j}
	w.measure = *newMeasure()
	w.ios[0], w.bytes[0], w.errs[0], w.ioErrs, w.firstErr = 10, 40960, 2, 2, unix.EIO
	w.measure.lat[0].record(1000)
	w.depthDist[3], w.syncs = 5, 1
	w.bwSamples[0] = []float64{1}
	w.err = fmt.Errorf("kept")
	start := time.Now()
	w.measureStart, w.deadline, w.bwBytes[0] = start, start.Add(j.Runtime), 40960
	now := start.Add(300 * time.Millisecond)
	w.restartMeasure(now)
	if w.ios[0] != 0 || w.bytes[0] != 0 || w.measure.lat[0].hdr().TotalCount() != 0 || w.depthDist[3] != 0 || w.syncs != 0 ||
		len(w.bwSamples[0]) != 0 || w.bwBytes[0] != 0 {
		t.Errorf("not afresh: ios %v bytes %v lat %d depths %v syncs %d bw samples %v", w.ios, w.bytes,
			w.measure.lat[0].hdr().TotalCount(), w.depthDist, w.syncs, w.bwSamples[0])
	}
	if w.errs[0] != 2 || w.ioErrs != 2 || w.firstErr != unix.EIO || w.err == nil {
		t.Errorf("errors lost: %v %d %v %v", w.errs, w.ioErrs, w.firstErr, w.err)
	}
	if !w.measureStart.Equal(now) || !w.deadline.Equal(now.Add(j.Runtime)) {
		t.Errorf("measured from %v to %v, want from %v for the runtime", w.measureStart, w.deadline, now)
	}
}

// TestLatencyTargetLoops: each of loops' loops starts the search afresh
// at depth 1, as fio's does at each loop; a depth that settled as the
// loop ended has the statistics start afresh first, and the next loop
// may settle it again.
func TestLatencyTargetLoops(t *testing.T) {
	j := workloads.NewJob("loops")
	j.Loops, j.IODepth, j.LatencyTarget, j.LatencyWindow = 3, 16, time.Millisecond, 10*time.Millisecond
	now := time.Now()
	w := &worker{job: &j, lat: newLatTarget(&j, now), passBytes: 3 << 20, loopEnd: 1 << 20}
	w.measure = *newMeasure()
	s := &latSearch{t: t, l: w.lat, now: now}
	s.window(10, 0)
	s.window(10, 0)
	w.ios[0] = 20
	if err := w.nextLoop(); err != nil {
		t.Fatal(err)
	}
	if got := s.state(); got != [3]int{1, 1, 16} || w.ios[0] != 20 || w.loopEnd != 2<<20 {
		t.Errorf("next loop: depth, low, high %v, %d reads counted, loop end %d; want [1 1 16], 20, %d", got, w.ios[0], w.loopEnd, 2<<20)
	}
	w.lat.depth, w.lat.final, w.lat.draining, w.lat.restart = 16, true, true, true
	if err := w.nextLoop(); err != nil {
		t.Fatal(err)
	}
	if got := s.state(); got != [3]int{1, 1, 16} || w.ios[0] != 0 || w.lat.final || w.lat.draining {
		t.Errorf("next loop after the depth settled: depth, low, high %v, %d reads counted, final %v, draining %v; want [1 1 16], 0, false, false",
			got, w.ios[0], w.lat.final, w.lat.draining)
	}
}

// TestRateIOPSCapsBytesOfSmallestBlock: as fio, rate_iops caps the bytes
// a direction moves at rate_iops times its smallest block size, so that
// with mixed sizes fewer I/Os go than rate_iops says (fio 3.33's randrw
// with bssplit=4k/50:16k/30:64k/20 and rate_iops=300 did 104 reads and
// 141 writes in 2 s, iobench 600 and 600).
func TestRateIOPSCapsBytesOfSmallestBlock(t *testing.T) {
	jobs, _ := jsonRunOf(t, "--name=r", "--ioengine=null", "--rw=randread", "--bssplit=4k/50:64k/50", "--rate_iops=200",
		"--size=64m", "--runtime=1", "--time_based")
	ios, bytes := num(t, jobs[0], "read", "total_ios"), num(t, jobs[0], "read", "io_bytes")
	if want := 200 * 4096.0; bytes < 0.8*want || bytes > 1.2*want || ios > 60 {
		t.Errorf("%.0f reads, %.0f bytes in 1 s; want about %.0f bytes (200 I/Os of the smallest size, 4k), about 24 I/Os", ios, bytes, want)
	}
}

// TestSleeperEndsOnTime: a worker's pause ends at its time, not when a
// nanosleep that wakes late returns. On a clock where every sleep wakes
// 40 µs late and each reading takes 1 µs, the sleeper learns the lateness
// from its first sleeps and then sleeps 40 µs short and spins to the end:
// each 100 µs pause ends within 2 µs of its time. A single sleep that
// wakes 5 ms late (a stall) does not make it spin the next pauses away:
// it still sleeps 60 µs of each.
func TestSleeperEndsOnTime(t *testing.T) {
	const late = 40 * time.Microsecond
	clock := time.Unix(1000, 0)
	extra := time.Duration(0) // added to the next sleep's lateness
	var naps []time.Duration
	s := &sleeper{
		now: func() time.Time { clock = clock.Add(time.Microsecond); return clock },
		nap: func(d time.Duration) { naps = append(naps, d); clock = clock.Add(d + late + extra); extra = 0 },
	}
	never := func() bool { return false }
	pause := func() time.Duration {
		end := clock.Add(100 * time.Microsecond)
		s.wait(end, 0, never)
		return clock.Sub(end)
	}
	for i := range 3 {
		pause() // the first sleeps teach it the lateness
		if i == 1 {
			naps = naps[:0]
		}
	}
	for i := range 20 {
		if over := pause(); over < 0 || over > 2*time.Microsecond {
			t.Fatalf("pause %d ended %v after its time, want within 2µs (naps %v)", i, over, naps)
		}
	}
	extra = 5 * time.Millisecond
	pause()
	naps = naps[:0]
	pause()
	if len(naps) != 1 || naps[0] < 55*time.Microsecond {
		t.Errorf("after one sleep woke 5ms late, the next pause slept %v, want one sleep of about 60µs", naps)
	}
	// A nil sleeper (the pauses outside a worker) sleeps the whole pause.
	var plain *sleeper
	start := time.Now()
	plain.wait(start.Add(time.Millisecond), 0, never)
	if d := time.Since(start); d < time.Millisecond {
		t.Errorf("a plain wait of 1ms returned after %v", d)
	}
}

// TestSamplesAcrossPauses: the bandwidth and IOPS samples are fio's, its
// helper thread's periods one after the other: with a pause of 200 ms
// after each read (thinktime, or rate_iops=5) and 50 ms periods, each
// read's period has a sample of it alone, 20 IOPS and 80 KiB/s, and the
// periods in the pauses, with nothing done in them, have none (fio 3.33:
// 10 samples in 2 s, at most 20 IOPS). Samples taken from one reap to
// the next would be 5 IOPS, one per read but the last.
func TestSamplesAcrossPauses(t *testing.T) {
	target := filepath.Join(t.TempDir(), "t.img")
	if err := os.WriteFile(target, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, pause := range []string{"--thinktime=200ms", "--rate_iops=5"} {
		code, out, errs := run(t, "--name=p", "--filename="+target, "--rw=randread", "--bs=4k", "--runtime=2", "--time_based",
			"--iopsavgtime=50", "--bwavgtime=50", pause, "--output-format=json")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", pause, code, errs)
		}
		r := decodeAll(t, out)[0]["jobs"].([]any)[0].(map[string]any)["read"].(map[string]any)
		ios, n := r["total_ios"].(float64), r["iops_samples"].(float64)
		if ios < 8 || n < ios-1 || n > ios || r["bw_samples"].(float64) != n {
			t.Errorf("%s: %v reads, %v IOPS and %v bandwidth samples; want a sample of each per read (the last may fall in the period the runtime ends in)", pause, ios, n, r["bw_samples"])
		}
		if r["iops_min"].(float64) != 20 || r["iops_max"].(float64) != 20 || r["bw_min"].(float64) != 80 || r["bw_max"].(float64) != 80 {
			t.Errorf("%s: IOPS samples %v-%v, bandwidth %v-%v KiB/s; want 20 and 80: one 4 KiB read in a 50 ms period", pause,
				r["iops_min"], r["iops_max"], r["bw_min"], r["bw_max"])
		}
	}
}
