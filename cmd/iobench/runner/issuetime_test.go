package runner

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/iobench/iobench/workloads"
)

// TestIssueTimeColumn: with log_issue_time, every log line ends with a
// seventh column after fio's six (time, value, ddir, bs, offset, prio):
// the I/O's issue time in ns from the logs' time origin in the clat and
// slat logs, 0 in the lat, bw and iops logs and in log_avg_msec windows,
// as fio writes them.
func TestIssueTimeColumn(t *testing.T) {
	for _, avg := range []time.Duration{0, 100 * time.Millisecond} {
		dir := t.TempDir()
		j := logJob(dir, workloads.Logs{Avg: avg, Offset: true, IssueTime: true, PerJob: true})
		set := newLogSet()
		t0 := time.Unix(1000, 0)
		l, err := newJobLogger(j, 1, set, t0)
		if err != nil {
			t.Fatal(err)
		}
		issued := t0.Add(1234567 * time.Nanosecond)
		now := issued.Add(45 * time.Microsecond)
		l.record(completion(8192, 8192, 50*time.Microsecond, 5*time.Microsecond), 0, now, issued)
		l.tick(t0.Add(time.Second), true)
		if err := set.close(); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			kind  string
			issue string
		}{{"clat", "1234567"}, {"slat", "1234567"}, {"lat", "0"}, {"bw", "0"}, {"iops", "0"}} {
			want := c.issue
			if avg > 0 {
				want = "0"
			}
			path := filepath.Join(dir, "a_"+c.kind+".1.log")
			if _, err := os.Stat(path); err != nil && avg > 0 && (c.kind == "bw" || c.kind == "iops") {
				continue // a partial window's rate is left out
			}
			for _, f := range readLog(t, path) {
				if len(f) != 7 || f[6] != want || f[4] != map[bool]string{true: "0", false: "8192"}[avg > 0] {
					t.Errorf("log_avg_msec=%v, %s: %v, want 7 columns ending with issue time %s", avg, c.kind, f, want)
				}
			}
		}
	}
}

// TestIssueTimeRun: in a run's clat log the issue time plus the
// completion latency is when the I/O completed, which is the entry's
// time to the ms; the slat log gives the same issue time for the same
// offset, and issue times grow with the offsets of a sequential job at
// depth 1.
func TestIssueTimeRun(t *testing.T) {
	dir := t.TempDir()
	path := targetFile(t, 8<<20)
	pre := filepath.Join(dir, "a")
	code, out, errs := run(t, "--name=a", "--filename="+path, "--rw=read", "--bs=4k", "--size=1m",
		"--write_lat_log="+pre, "--log_offset=1", "--log_issue_time=1")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	clat, slat := readLog(t, pre+"_clat.1.log"), readLog(t, pre+"_slat.1.log")
	if len(clat) != 256 {
		t.Fatalf("%d clat entries, want 256", len(clat))
	}
	issueAt := map[string]string{}
	for _, f := range slat {
		issueAt[f[4]] = f[6]
	}
	var lastIssue uint64
	for i, f := range clat {
		if len(f) != 7 {
			t.Fatalf("clat entry %v: want 7 columns", f)
		}
		ms, _ := strconv.ParseUint(f[0], 10, 64)
		clatNs, _ := strconv.ParseUint(f[1], 10, 64)
		issue, _ := strconv.ParseUint(f[6], 10, 64)
		if done := issue + clatNs; math.Abs(float64(done)/1e6-float64(ms)) > 1 {
			t.Errorf("entry %d at %d ms: issued at %d ns, clat %d ns: completed at %.3f ms", i, ms, issue, clatNs, float64(done)/1e6)
		}
		if issue <= lastIssue && i > 0 || f[4] != strconv.Itoa(i*4096) {
			t.Errorf("entry %d: offset %s issued at %d ns, the one before at %d ns", i, f[4], issue, lastIssue)
		}
		if s, ok := issueAt[f[4]]; ok && s != f[6] {
			t.Errorf("offset %s: clat says issued at %s ns, slat at %s ns", f[4], f[6], s)
		}
		lastIssue = issue
	}
	for _, f := range readLog(t, pre+"_lat.1.log") {
		if len(f) != 7 || f[6] != "0" {
			t.Fatalf("lat entry %v: want 7 columns, the last 0", f)
		}
	}
}

// TestIssueTimeLogsReadByFioTools: fio2gnuplot reads a bandwidth log
// with the issue time column as it reads one without: its minimum,
// maximum and mean are the log's.
func TestIssueTimeLogsReadByFioTools(t *testing.T) {
	dir := t.TempDir()
	tool := fioTool(t, "fio2gnuplot", dir)
	path := targetFile(t, 64<<20)
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	code, out, errs := run(t, "--name=a", "--filename="+path, "--rw=randread", "--bs=4k", "--runtime=1", "--time_based",
		"--write_bw_log=a", "--write_lat_log=a", "--log_offset=1", "--log_issue_time=1", "--log_avg_msec=100")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	rows := readLog(t, filepath.Join(dir, "a_bw.1.log"))
	if len(rows) < 8 || len(rows[0]) != 7 {
		t.Fatalf("bandwidth log %v: want entries of 7 columns", rows)
	}
	var vals []float64
	for _, f := range rows {
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			t.Fatalf("bandwidth entry %v: %v", f, err)
		}
		vals = append(vals, v)
	}
	checkFio2gnuplot(t, dir, tool, vals)
}
