package runner

import (
	"os"
	"path/filepath"
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
			l.record(completion(uint64(i+1)*8192, 8192, 50*time.Microsecond, 5*time.Microsecond), i%2, now)
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
