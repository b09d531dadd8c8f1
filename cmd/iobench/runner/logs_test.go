package runner

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/workloads"
)

// These tests drive a jobLogger with made-up completions at made-up
// times, so that what they check is the log format and not the timing of
// a run.

// logJob returns a job logging every kind under the prefix "a" in dir,
// with lg's other settings.
func logJob(dir string, lg workloads.Logs) *workloads.Job {
	j := workloads.NewJob("a")
	j.RW = workloads.RandRW
	p := filepath.Join(dir, "a")
	lg.BW, lg.IOPS, lg.Lat = p, p, p
	j.Logs = lg
	return &j
}

// completion returns a request of bs bytes at off, with latency lat of
// which slat before submission.
func completion(off uint64, bs int, lat, slat time.Duration) *engine.Request {
	return &engine.Request{Offset: off, Buf: make([]byte, bs), N: bs, Latency: lat, SubmitLatency: slat}
}

// readLog returns the lines of a log, split into their columns.
func readLog(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l != "" {
			out = append(out, strings.Split(l, ", "))
		}
	}
	return out
}

// TestAveragedLogsWithOffset: with log_offset and log_avg_msec, a
// window's entry has fio's six columns (time, value, ddir, bs, offset,
// prio), bs and offset 0, as a per-I/O entry has six.
func TestAveragedLogsWithOffset(t *testing.T) {
	for _, avg := range []time.Duration{0, 100 * time.Millisecond} {
		dir := t.TempDir()
		j := logJob(dir, workloads.Logs{Avg: avg, Offset: true, PerJob: true})
		set := newLogSet()
		t0 := time.Unix(1000, 0)
		l, err := newJobLogger(j, 1, set, t0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 30 {
			now := t0.Add(time.Duration(i) * 10 * time.Millisecond)
			l.record(completion(uint64(i+1)*8192, 8192, 50*time.Microsecond, 5*time.Microsecond), i%2, now, time.Time{})
			l.tick(now, false)
		}
		l.tick(t0.Add(300*time.Millisecond), true)
		if err := set.close(); err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"bw", "iops", "lat", "clat", "slat"} {
			lines := readLog(t, filepath.Join(dir, "a_"+kind+".1.log"))
			if len(lines) == 0 {
				t.Fatalf("avg %v: %s log is empty", avg, kind)
			}
			for _, f := range lines {
				if len(f) != 6 {
					t.Fatalf("avg %v: %s log line %q has %d columns, fio's have 6", avg, kind, f, len(f))
				}
				if f[5] != "0" {
					t.Errorf("avg %v: %s log line %q: prio %s, want 0", avg, kind, f, f[5])
				}
				if avg > 0 && (f[3] != "0" || f[4] != "0") {
					t.Errorf("avg %v: %s log window entry %q: bs and offset must be 0", avg, kind, f)
				}
				if avg == 0 && (f[3] != "8192" || f[4] == "0") {
					t.Errorf("avg %v: %s log per-I/O entry %q: want bs 8192 and the I/O's offset", avg, kind, f)
				}
			}
		}
	}
}

// TestNoPartialRateWindow: with log_avg_msec, the bandwidth and IOPS logs
// end with the last whole window, as fio's (a rate over the few µs
// between it and the end of the run would be a spike in a plot), while
// the latency logs also have the partial window, so that they account
// for every I/O, as fio's do. A run that ends on a window's end has that
// window in every log.
func TestNoPartialRateWindow(t *testing.T) {
	const avg = 100 * time.Millisecond
	for _, c := range []struct {
		end       time.Duration // when the run ends
		rateTimes []string      // the bw and iops entries' times, per direction
		latTimes  []string
	}{
		{250*time.Millisecond + 20*time.Microsecond, []string{"100", "200"}, []string{"100", "200", "250"}},
		{300 * time.Millisecond, []string{"100", "200", "300"}, []string{"100", "200", "300"}},
	} {
		dir := t.TempDir()
		j := logJob(dir, workloads.Logs{Avg: avg, PerJob: true})
		set := newLogSet()
		t0 := time.Unix(1000, 0)
		l, err := newJobLogger(j, 1, set, t0)
		if err != nil {
			t.Fatal(err)
		}
		ios := 0
		for at := time.Duration(0); at < c.end; at += 10 * time.Millisecond {
			now := t0.Add(at)
			l.tick(now, false)
			l.record(completion(8192, 8192, 50*time.Microsecond, 5*time.Microsecond), ios%2, now, time.Time{})
			ios++
		}
		// The last I/O completes a moment before the end.
		l.record(completion(8192, 8192, 50*time.Microsecond, 5*time.Microsecond), 0, t0.Add(c.end), time.Time{})
		l.tick(t0.Add(c.end), true)
		if err := set.close(); err != nil {
			t.Fatal(err)
		}
		times := func(kind string, ddir string) []string {
			var out []string
			for _, f := range readLog(t, filepath.Join(dir, "a_"+kind+".1.log")) {
				if f[2] == ddir {
					out = append(out, f[0])
				}
			}
			return out
		}
		for _, kind := range []string{"bw", "iops"} {
			for _, ddir := range []string{"0", "1"} {
				if got := times(kind, ddir); strings.Join(got, " ") != strings.Join(c.rateTimes, " ") {
					t.Errorf("end %v: %s log, ddir %s: entries at %v ms, want %v", c.end, kind, ddir, got, c.rateTimes)
				}
			}
		}
		for _, kind := range []string{"lat", "clat", "slat"} {
			if got := times(kind, "0"); strings.Join(got, " ") != strings.Join(c.latTimes, " ") {
				t.Errorf("end %v: %s log: read entries at %v ms, want %v", c.end, kind, got, c.latTimes)
			}
		}
	}
}

// TestSharedLogInThreadOrder: with per_job_logs=0, the threads of a
// prefix share a file that holds each thread's whole series in turn, in
// thread order, as fio writes it, however their entries were interleaved
// in time; no file but the logs is left in the directory.
func TestSharedLogInThreadOrder(t *testing.T) {
	for _, avg := range []time.Duration{0, 100 * time.Millisecond} {
		dir := t.TempDir()
		j := logJob(dir, workloads.Logs{Avg: avg})
		set := newLogSet()
		t0 := time.Unix(1000, 0)
		// Threads 3, 1 and 2 (opened in that order), each I/O's latency
		// naming its thread.
		threads := []int{3, 1, 2}
		loggers := map[int]*jobLogger{}
		for _, n := range threads {
			l, err := newJobLogger(j, n, set, t0)
			if err != nil {
				t.Fatal(err)
			}
			loggers[n] = l
		}
		const ios = 25
		for i := range ios {
			now := t0.Add(time.Duration(i) * 10 * time.Millisecond)
			for _, n := range threads {
				loggers[n].tick(now, false)
				loggers[n].record(completion(8192, 8192, time.Duration(n)*100*time.Microsecond, time.Microsecond), 0, now, time.Time{})
			}
		}
		for _, n := range threads {
			loggers[n].tick(t0.Add(ios*10*time.Millisecond), true)
		}
		if err := set.close(); err != nil {
			t.Fatal(err)
		}
		lines := readLog(t, filepath.Join(dir, "a_lat.log"))
		var order []string // the threads, as the file's runs of entries have them
		last := -1
		for i, f := range lines {
			if f[1] != lastOf(order) {
				order = append(order, f[1])
				last = -1
			}
			tm, _ := strconv.Atoi(f[0])
			if tm < last {
				t.Fatalf("avg %v: line %d %q: time goes back within a thread's series", avg, i+1, f)
			}
			last = tm
		}
		if want := []string{"100000", "200000", "300000"}; strings.Join(order, " ") != strings.Join(want, " ") {
			t.Errorf("avg %v: the file has the threads' series as runs %v, want %v (threads 1, 2, 3, one run each)", avg, order, want)
		}
		if avg == 0 && len(lines) != 3*ios {
			t.Errorf("per-I/O: %d entries, want %d", len(lines), 3*ios)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".log") || strings.HasPrefix(e.Name(), ".") {
				t.Errorf("avg %v: %s left in the log directory", avg, e.Name())
			}
		}
	}
}

// lastOf is the last of order, or "" when it is empty.
func lastOf(order []string) string {
	if len(order) == 0 {
		return ""
	}
	return order[len(order)-1]
}

// TestPerIOBandwidthEntryForInlineCompletion: without log_avg_msec, every
// I/O has its entry in the bandwidth log, as in fio's, one the kernel
// completed as it was submitted (completion latency 0: a read of a hole
// or of the page cache) too, with rate 0 as fio's add_bw_sample writes
// it, so that the bw log has as many entries as the iops and lat logs.
func TestPerIOBandwidthEntryForInlineCompletion(t *testing.T) {
	dir := t.TempDir()
	j := logJob(dir, workloads.Logs{PerJob: true})
	set := newLogSet()
	t0 := time.Unix(1000, 0)
	l, err := newJobLogger(j, 1, set, t0)
	if err != nil {
		t.Fatal(err)
	}
	// 8 KiB in 50 µs of which 10 µs before submission: 8192 B / 40 µs.
	l.record(completion(0, 8192, 50*time.Microsecond, 10*time.Microsecond), 0, t0.Add(time.Millisecond), time.Time{})
	// Completed as submitted: all of its latency is submission latency.
	l.record(completion(8192, 8192, 30*time.Microsecond, 30*time.Microsecond), 0, t0.Add(2*time.Millisecond), time.Time{})
	l.tick(t0.Add(3*time.Millisecond), true)
	if err := set.close(); err != nil {
		t.Fatal(err)
	}
	bw := readLog(t, filepath.Join(dir, "a_bw.1.log"))
	iops := readLog(t, filepath.Join(dir, "a_iops.1.log"))
	if len(bw) != 2 || len(iops) != 2 {
		t.Fatalf("bw log %q, iops log %q: want an entry per I/O in each", bw, iops)
	}
	if want := strconv.Itoa(8192 * 1000000 / 40000); bw[0][1] != want {
		t.Errorf("bw entry %q: rate %s, want %s", bw[0], bw[0][1], want)
	}
	if bw[1][0] != "2" || bw[1][1] != "0" || bw[1][3] != "8192" {
		t.Errorf("bw entry %q for the I/O completed at submission: want rate 0 at 2 ms, bs 8192", bw[1])
	}
}

// TestLogWindowsEndBeforeRuntime: as fio 3.33's, the window and the
// histogram period that end at the runtime's end are not whole ones:
// with runtime=600ms and 100 ms windows the bandwidth and IOPS logs and
// the histogram log have 5 entries (100 to 500 ms) and the latency log 6,
// the last the partial window the job's end closes (fio's counts, its
// null engine, three runs); iobench logged 6, 6, 7 and 6.
func TestLogWindowsEndBeforeRuntime(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, _, errs := run(t, "--name=g", "--ioengine=null", "--rw=randread", "--size=1g", "--runtime=600ms", "--time_based",
		"--write_bw_log=x", "--write_iops_log=x", "--write_lat_log=x", "--write_hist_log=x", "--log_avg_msec=100", "--log_hist_msec=100")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for file, want := range map[string]int{"x_bw.1.log": 5, "x_iops.1.log": 5, "x_clat.1.log": 6, "x_clat_hist.1.log": 5} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if n := strings.Count(string(b), "\n"); err != nil || n != want {
			t.Errorf("%s: %d entries, %v; want %d, as fio's", file, n, err, want)
		}
	}
}

// TestLogsStartAfterRamp: as fio's, the logs start when the measurement
// does, at the end of ramp_time: their times count from there and the
// ramp writes no entry (iobench's histogram log held the ramp's periods,
// empty, and every time was the ramp's length late).
func TestLogsStartAfterRamp(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, _, errs := run(t, "--name=g", "--ioengine=null", "--rw=read", "--size=1g", "--runtime=600ms", "--time_based", "--ramp_time=300ms",
		"--write_bw_log=x", "--write_hist_log=x", "--log_avg_msec=100", "--log_hist_msec=100")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, file := range []string{"x_bw.1.log", "x_clat_hist.1.log"} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		first, _ := strconv.Atoi(strings.SplitN(lines[0], ",", 2)[0])
		if err != nil || len(lines) != 5 || first < 90 || first > 150 {
			t.Errorf("%s: %d entries, the first at %d ms (%v); want 5, the first at 100", file, len(lines), first, err)
		}
	}
}

// TestIdleWindowsKeepLogTimes: windows in which no I/O completes (a rate
// cap of 4 I/Os a second against 100 ms windows) log nothing, and the
// entries after them keep their times, as fio's: over a 2 s run the
// entries reach past 1.5 s, about 250 ms apart. Each window used to
// start where the last entry's ended, so the entries of the whole run
// were stamped 100, 200, 300 ... ms.
func TestIdleWindowsKeepLogTimes(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, _, errs := run(t, "--name=g", "--ioengine=null", "--rw=randread", "--size=1g", "--runtime=2", "--time_based",
		"--rate_iops=4", "--write_bw_log=x", "--write_lat_log=x", "--log_avg_msec=100")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, file := range []string{"x_bw.1.log", "x_clat.1.log"} {
		lines := readLog(t, filepath.Join(dir, file))
		var times []int
		for _, l := range lines {
			ms, _ := strconv.Atoi(l[0])
			times = append(times, ms)
		}
		if len(times) < 5 || times[len(times)-1] < 1500 {
			t.Errorf("%s: entries at %v ms; want them over the 2 s run", file, times)
		}
		for i := 1; i < len(times); i++ {
			if d := times[i] - times[i-1]; d < 150 {
				t.Errorf("%s: entries at %v ms: %d ms apart at %d, with an I/O every 250 ms", file, times, d, i)
				break
			}
		}
	}
}

// TestLogAvgSetsSamplePeriod: as fio, a job writing a bandwidth (IOPS) log
// with log_avg_msec and no bwavgtime (iopsavgtime) takes its bandwidth
// (IOPS) samples at log_avg_msec: over 2 s at 250 ms, 7 samples where the
// default 500 ms gives 3 (fio 3.33: 7 and 3, and 3 and 7 with an IOPS
// log).
func TestLogAvgSetsSamplePeriod(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, c := range []struct {
		log      string
		bw, iops float64
	}{{"--write_bw_log=x", 7, 3}, {"--write_iops_log=x", 3, 7}, {"--write_lat_log=x", 3, 3}} {
		jobs, _ := jsonRunOf(t, "--name=g", "--ioengine=null", "--rw=write", "--size=64m", "--runtime=2", "--time_based", "--log_avg_msec=250", c.log)
		if bw, iops := num(t, jobs[0], "write", "bw_samples"), num(t, jobs[0], "write", "iops_samples"); bw != c.bw || iops != c.iops {
			t.Errorf("%s: %v bandwidth and %v IOPS samples; want %v and %v", c.log, bw, iops, c.bw, c.iops)
		}
	}
}

// histLogOf runs a 1 s null job with a histogram log every 200 ms, and
// the options args, and returns the log's entries (at least 3).
func histLogOf(t *testing.T, args ...string) [][]string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	code, _, errs := run(t, append([]string{"--name=h", "--ioengine=null", "--rw=randread", "--size=64m", "--runtime=1", "--time_based",
		"--write_hist_log=x", "--log_hist_msec=200"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := readLog(t, filepath.Join(dir, "x_clat_hist.1.log"))
	if len(lines) < 3 {
		t.Fatalf("%d histogram entries", len(lines))
	}
	return lines
}

// TestHistLogBSColumn: a histogram entry's bs column is the size of the
// direction's last I/O, as fio writes it, not the job's bs (4096 under a
// bssplit of 64k only).
func TestHistLogBSColumn(t *testing.T) {
	for _, l := range histLogOf(t, "--bssplit=64k/100") {
		if l[2] != "65536" {
			t.Fatalf("entry %v: bs %s, want 65536", l[:3], l[2])
		}
	}
}

// TestHistLogCoarseness: log_hist_coarseness=n sums 2^n neighbouring
// buckets per column, as fio: 3 + 1856/4 = 467 columns at 2, as fio
// 3.33's log has, each entry's counts adding up to the same I/Os as at
// full resolution (iobench wrote 1859 columns whatever it was).
func TestHistLogCoarseness(t *testing.T) {
	for _, l := range histLogOf(t, "--log_hist_coarseness=2") {
		if len(l) != 3+fioPlatNR/4 {
			t.Fatalf("entry at %s: %d columns, want %d", l[0], len(l), 3+fioPlatNR/4)
		}
		var sum uint64
		for _, c := range l[3:] {
			n, _ := strconv.ParseUint(c, 10, 64)
			sum += n
		}
		if sum == 0 {
			t.Errorf("entry at %s: no I/O counted", l[0])
		}
	}
	var b strings.Builder
	lf := logFile{w: bufio.NewWriter(&b)}
	counts := make([]uint64, fioPlatNR)
	counts[0], counts[3], counts[4], counts[fioPlatNR-1] = 1, 2, 5, 7
	lf.histEntry(10, 0, 4096, counts, 2)
	lf.w.Flush()
	if got := strings.Split(strings.TrimSpace(b.String()), ", "); got[3] != "3" || got[4] != "5" || got[len(got)-1] != "7" {
		t.Errorf("coarseness 2 of buckets 0=1 3=2 4=5 last=7: %v ... %v", got[:6], got[len(got)-1])
	}
}
