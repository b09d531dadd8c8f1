package runner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSyncEngineNoSlat: fio records no submission latency for a
// synchronous engine, the null engine at iodepth=1 included (fio runs it
// synchronously), and leaves the null engine's submit and complete
// distributions empty there; a psync job's are counted, as fio counts
// them. The same null job at depth 4 has its slat, as fio's has.
func TestSyncEngineNoSlat(t *testing.T) {
	dir := t.TempDir()
	slatN := func(j map[string]any) float64 {
		return j["read"].(map[string]any)["slat_ns"].(map[string]any)["N"].(float64)
	}
	dist := func(j map[string]any, k string) float64 {
		sum := 0.0
		for _, v := range j[k].(map[string]any) {
			sum += v.(float64)
		}
		return sum
	}
	// A synchronous engine's I/O is one call: all of its latency is
	// completion latency (the engine takes no clock reading at
	// submission, Config.NoSubmitLatency).
	meanNs := func(j map[string]any, k string) float64 {
		return j["read"].(map[string]any)[k].(map[string]any)["mean"].(float64)
	}
	clatIsLat := func(what string, j map[string]any, want bool) {
		t.Helper()
		c, l := meanNs(j, "clat_ns"), meanNs(j, "lat_ns")
		if c <= 0 || (c == l) != want {
			t.Errorf("%s: clat mean %.1f ns, lat mean %.1f ns: want them equal %v", what, c, l, want)
		}
	}
	prefix := filepath.Join(dir, "n1")
	j := batchRun(t, "--ioengine=null", "--iodepth=1", "--size=4m", "--write_lat_log="+prefix)
	if n := slatN(j); n != 0 {
		t.Errorf("null at iodepth=1: %v slat samples, want none (fio runs it synchronously)", n)
	}
	clatIsLat("null at iodepth=1", j, true)
	for _, k := range []string{"iodepth_submit", "iodepth_complete"} {
		if s := dist(j, k); s != 0 {
			t.Errorf("null at iodepth=1: %s sums to %.1f%%, want 0 as fio's: %v", k, s, j[k])
		}
	}
	slat, err := os.ReadFile(prefix + "_slat.1.log")
	if err != nil {
		t.Fatal(err)
	}
	clat, err := os.ReadFile(prefix + "_clat.1.log")
	if err != nil {
		t.Fatal(err)
	}
	if len(slat) != 0 || strings.Count(string(clat), "\n") != 1024 {
		t.Errorf("null at iodepth=1: slat log %d bytes (want empty), clat log %d entries (want 1024)", len(slat), strings.Count(string(clat), "\n"))
	}

	j = batchRun(t, "--ioengine=null", "--iodepth=4", "--size=4m")
	if n := slatN(j); n != 1024 {
		t.Errorf("null at iodepth=4: %v slat samples, want 1024", n)
	}
	clatIsLat("null at iodepth=4", j, false)

	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, make([]byte, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	j = batchRun(t, "--ioengine=psync", "--filename="+file, "--size=4m")
	if n := slatN(j); n != 0 {
		t.Errorf("psync: %v slat samples, want none (fio's synchronous engines have none)", n)
	}
	clatIsLat("psync", j, true)
	if s := dist(j, "iodepth_submit"); s < 99.9 {
		t.Errorf("psync: iodepth_submit sums to %.1f%%, want 100 as fio's: %v", s, j["iodepth_submit"])
	}
}

// TestRatioCellNA: a ratio no round could give (fio measured no CPU time,
// say) is printed n/a, never as 0.00, which would read as free.
func TestRatioCellNA(t *testing.T) {
	if got := ratioCell(ratios(nil)); got != "n/a" {
		t.Errorf("no rounds: %q, want n/a", got)
	}
	if got := ratioCell(ratios([]float64{0.5, 2, 1})); got != "0.50 / 1.00 / 2.00" {
		t.Errorf("three rounds: %q", got)
	}
	if got := ratioCell(invert(ratios(nil))); got != "n/a" {
		t.Errorf("inverted, no rounds: %q, want n/a", got)
	}
}

// TestCompareRowLatencies: compare's latency columns are iobench's clat
// percentile over fio's, per round (p50 and p99 each their own), and a
// round where either side has none (a JSON without clat percentiles)
// gives no ratio rather than 0 or infinity.
func TestCompareRowLatencies(t *testing.T) {
	fio := []Metrics{{P50: 10e3, P99: 40e3}, {P50: 20e3, P99: 40e3}, {P50: 10e3, P99: 40e3}, {P50: 10e3, P99: 40e3}, {}}
	iob := []Metrics{{P50: 15e3, P99: 20e3}, {P50: 10e3, P99: 80e3}, {P50: 20e3, P99: 40e3}, {}, {P50: 12e3, P99: 30e3}}
	r := compareRow("j", fio, iob)
	if got := ratioCell(r.p50); got != "0.50 / 1.50 / 2.00" || r.p50.N != 3 {
		t.Errorf("p50 ratios %q over %d rounds, want 0.50 / 1.50 / 2.00 over 3", got, r.p50.N)
	}
	if got := ratioCell(r.p99); got != "0.50 / 1.00 / 2.00" || r.p99.N != 3 {
		t.Errorf("p99 ratios %q over %d rounds, want 0.50 / 1.00 / 2.00 over 3", got, r.p99.N)
	}
	r = compareRow("j", fio[3:], iob[3:])
	if ratioCell(r.p50) != "n/a" || ratioCell(r.p99) != "n/a" {
		t.Errorf("rounds without one side's percentiles: p50 %q, p99 %q, want n/a", ratioCell(r.p50), ratioCell(r.p99))
	}
}

// TestJobRuntimeFromFirstIO: a job's run time (job_runtime, which its CPU
// percentages are over) starts with its I/O, as fio's, not before the
// set-up of its buffers: with bs=16m at iodepth=32, 512 MiB of buffers
// filled with the job's data took 1.7 s that were counted as the job's,
// against 3 ms of I/O.
func TestJobRuntimeFromFirstIO(t *testing.T) {
	j := batchRun(t, "--ioengine=null", "--rw=write", "--bs=16m", "--iodepth=32", "--size=256m")
	run := j["job_runtime"].(float64)
	io := j["write"].(map[string]any)["runtime"].(float64)
	if run > io+100 {
		t.Errorf("job_runtime %v ms for %v ms of I/O: the buffers' set-up is counted", run, io)
	}
}

// TestCloneHasNoEntersPerIO: the engine's io_uring_enter count covers all
// of a job's clones, so a clone's report gives no per-I/O figure from it
// (it gave 0, a value no measurement stood behind); the merged report
// does.
func TestCloneHasNoEntersPerIO(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, make([]byte, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, grouped := range []bool{false, true} {
		args := []string{"--name=c", "--filename=" + file, "--rw=randread", "--bs=4k", "--size=4m", "--numjobs=2", "--output-format=json"}
		if grouped {
			args = append(args, "--group_reporting")
		}
		code, out, errOut := run(t, args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var doc struct {
			Jobs []struct {
				IOBench map[string]any `json:"iobench"`
			} `json:"jobs"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		for i, j := range doc.Jobs {
			e, ok := j.IOBench["enters_per_io"]
			if grouped != ok {
				t.Errorf("group_reporting %v, job %d: enters_per_io %v (present %v)", grouped, i, e, ok)
			}
			if ok && e.(float64) <= 0 {
				t.Errorf("merged report: enters_per_io %v, want the measured count", e)
			}
		}
	}
}

// TestRateSamplesPerIOWhenLogged: a job that logs bandwidth (or IOPS)
// per I/O, write_bw_log without log_avg_msec, takes that rate's
// statistics from a sample per I/O, as fio does: bw_samples is the number
// of I/Os, and each IOPS sample is 1; the other rate keeps its samples
// per period, and log_avg_msec keeps both per period (its own). With
// group_reporting the clones' statistics add up, as fio's do: each IOPS
// sample reads 2 for two clones.
func TestRateSamplesPerIOWhenLogged(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "l")
	base := []string{"--ioengine=null", "--iodepth=1", "--size=8m", "--runtime=1200ms", "--time_based"}
	get := func(j map[string]any, k string) float64 { return j["read"].(map[string]any)[k].(float64) }
	j := batchRun(t, append(base, "--write_bw_log="+log)...)
	ios := get(j, "total_ios")
	if n := get(j, "bw_samples"); n != ios {
		t.Errorf("write_bw_log: %v bandwidth samples for %v I/Os, want one per I/O", n, ios)
	}
	if n := get(j, "iops_samples"); n < 1 || n > 3 {
		t.Errorf("write_bw_log: %v IOPS samples in 1.2 s, want them per 500 ms period", n)
	}
	j = batchRun(t, append(base, "--write_iops_log="+log)...)
	ios = get(j, "total_ios")
	if n, lo, hi, mean := get(j, "iops_samples"), get(j, "iops_min"), get(j, "iops_max"), get(j, "iops_mean"); n != ios || lo != 1 || hi != 1 || mean != 1 {
		t.Errorf("write_iops_log: %v IOPS samples (min %v, max %v, mean %v) for %v I/Os, want one of 1 per I/O", n, lo, hi, mean, ios)
	}
	if n := get(j, "bw_samples"); n < 1 || n > 3 {
		t.Errorf("write_iops_log: %v bandwidth samples in 1.2 s, want them per 500 ms period", n)
	}
	j = batchRun(t, append(base, "--write_bw_log="+log, "--write_iops_log="+log, "--log_avg_msec=100")...)
	if n, m := get(j, "bw_samples"), get(j, "iops_samples"); n < 8 || n > 12 || m < 8 || m > 12 {
		t.Errorf("log_avg_msec=100: %v bandwidth and %v IOPS samples in 1.2 s, want them per 100 ms period (fio: 11 and 11)", n, m)
	}
	// Periodic samples are whole KiB/s and I/Os per second, as fio's
	// integer samples: one sample's mean is its minimum.
	j = batchRun(t, "--ioengine=null", "--iodepth=1", "--size=8m", "--runtime=700ms", "--time_based")
	if n, lo, mean := get(j, "bw_samples"), get(j, "bw_min"), get(j, "bw_mean"); n != 1 || mean != lo {
		t.Errorf("one 500 ms period: %v bandwidth samples, min %v, mean %v: want one whole sample", n, lo, mean)
	}
	if n, lo, mean := get(j, "iops_samples"), get(j, "iops_min"), get(j, "iops_mean"); n != 1 || mean != lo {
		t.Errorf("one 500 ms period: %v IOPS samples, min %v, mean %v: want one whole sample", n, lo, mean)
	}
	j = batchRun(t, append(base, "--write_iops_log="+log, "--numjobs=2", "--group_reporting")...)
	ios = get(j, "total_ios")
	if n, lo, hi := get(j, "iops_samples"), get(j, "iops_min"), get(j, "iops_max"); n != ios || lo != 2 || hi != 2 {
		t.Errorf("two clones, group_reporting: %v IOPS samples (min %v, max %v) for %v I/Os, want one per I/O, min and max 2", n, lo, hi, ios)
	}
}
