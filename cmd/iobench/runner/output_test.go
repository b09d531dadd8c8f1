package runner

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iobench/iobench/workloads"
)

// jsonOf writes run as JSON (json+ with plus) and decodes it.
func jsonOf(t *testing.T, run *Run, plus bool) map[string]any {
	t.Helper()
	var b bytes.Buffer
	if err := writeJSON(&b, run, plus); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return doc
}

// clonesMeasured returns what n clones of a reading job measured, each
// over wall of its thread's time (usr of it in user mode), with 1000
// reads in runtime.
func clonesMeasured(n int, wall, usr, runtime time.Duration) []*measure {
	var ms []*measure
	for i := range n {
		m := newMeasure()
		m.clone = i
		m.ios[0], m.bytes[0], m.measured = 1000, 1000*4096, runtime
		for k := range 1000 {
			_ = m.clat[0].RecordValue(int64(10000 + k))
			_ = m.lat[0].RecordValue(int64(12000 + k))
		}
		m.usage.wall, m.usage.usr = wall, usr
		ms = append(ms, m)
	}
	return ms
}

// TestMergedJobRuntime: a merged report's job_runtime is its clones' run
// times added up, as fio's total_run_time, the time usr_cpu and sys_cpu
// are over (so usr_cpu x job_runtime is the clones' CPU time); read's
// runtime, and terse's runtime field, are the longest clone's; elapsed
// is the run's seconds rounded up, the same in every job, as fio's.
func TestMergedJobRuntime(t *testing.T) {
	for _, clones := range []int{1, 2, 4} {
		r := collect(clonesMeasured(clones, time.Second, 100*time.Millisecond, time.Second), -1)
		r.Job = workloads.NewJob("m")
		other := collect(clonesMeasured(1, 500*time.Millisecond, 0, 500*time.Millisecond), -1)
		other.Job = workloads.NewJob("o")
		run := &Run{Time: time.Now(), Elapsed: 2300 * time.Millisecond, Jobs: []JobResult{r, other}}
		doc := jsonOf(t, run, false)
		job := doc["jobs"].([]any)[0].(map[string]any)
		if got, want := num(t, job, "job_runtime"), float64(1000*clones); got != want {
			t.Errorf("%d clones: job_runtime %v, want %v (the clones' run times added up)", clones, got, want)
		}
		if got := num(t, job, "read", "runtime"); got != 1000 {
			t.Errorf("%d clones: read runtime %v, want the longest clone's 1000", clones, got)
		}
		if cpuMs := num(t, job, "usr_cpu") * num(t, job, "job_runtime") / 100; math.Abs(cpuMs-float64(100*clones)) > 0.001 {
			t.Errorf("%d clones: usr_cpu x job_runtime is %v ms of CPU, the clones used %d", clones, cpuMs, 100*clones)
		}
		for i, jv := range doc["jobs"].([]any) {
			if e := num(t, jv.(map[string]any), "elapsed"); e != 3 {
				t.Errorf("%d clones: job %d elapsed %v, want the run's 2.3 s rounded up, 3", clones, i, e)
			}
		}
		var b bytes.Buffer
		writeTerse(&b, run)
		if f := strings.Split(strings.SplitN(b.String(), "\n", 2)[0], ";"); f[8] != "1000" {
			t.Errorf("%d clones: terse read runtime %q, want the longest clone's 1000", clones, f[8])
		}
	}
	iv := &Run{Time: time.Now(), Interval: &Interval{Index: 1, Start: time.Second, End: 2001 * time.Millisecond},
		Jobs: []JobResult{collect(clonesMeasured(1, time.Second, 0, time.Second), 0)}}
	if e := num(t, jsonOf(t, iv, false)["jobs"].([]any)[0].(map[string]any), "elapsed"); e != 3 {
		t.Errorf("interval ending at 2001 ms: elapsed %v, want 3", e)
	}
}

// TestSyncBins: json+ gives the flushes of fsync=/fdatasync= their bins,
// as fio does for every latency it gives percentiles of: fio's buckets,
// adding up to the flushes; plain JSON has none, and without
// clat_percentiles or lat_percentiles there are neither percentiles nor
// bins, as in fio.
func TestSyncBins(t *testing.T) {
	r := fakeResult()
	r.Job.RW, r.Job.FsyncEvery = workloads.Write, 8
	r.Syncs = 500
	for k := range 500 {
		_ = r.SyncLat.RecordValue(int64(20000 + 37*k))
	}
	sync := func(plus bool, r JobResult) map[string]any {
		doc := jsonOf(t, &Run{Time: time.Now(), Jobs: []JobResult{r}}, plus)
		return doc["jobs"].([]any)[0].(map[string]any)["sync"].(map[string]any)["lat_ns"].(map[string]any)
	}
	lat := sync(true, r)
	bins, ok := lat["bins"].(map[string]any)
	if !ok || lat["percentile"] == nil {
		t.Fatalf("json+ sync.lat_ns: no bins or no percentiles: %v", lat)
	}
	var n float64
	for k, v := range bins {
		ns, err := strconv.ParseUint(k, 10, 64)
		if err != nil || fioPlatValue(fioPlatIdx(ns)) != ns {
			t.Errorf("bin %q is not one of fio's buckets", k)
		}
		n += v.(float64)
	}
	if n != 500 || lat["N"].(float64) != 500 {
		t.Errorf("sync bins add up to %v, N is %v, want 500", n, lat["N"])
	}
	if lat := sync(false, r); lat["bins"] != nil {
		t.Errorf("plain JSON has sync bins")
	}
	r.Job.ClatPercentiles, r.Job.LatPercentiles = false, false
	if lat := sync(true, r); lat["bins"] != nil || lat["percentile"] != nil {
		t.Errorf("without clat_percentiles or lat_percentiles: sync.lat_ns %v, want neither percentiles nor bins", lat)
	}
	r.Job.LatPercentiles = true
	if lat := sync(true, r); lat["bins"] == nil || lat["percentile"] == nil {
		t.Errorf("with lat_percentiles: sync.lat_ns %v, want percentiles and bins", lat)
	}
}
