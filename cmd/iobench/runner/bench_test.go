package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/iobench/iobench/workloads"
	"golang.org/x/sys/unix"
)

// TestTargetsTableFromMeasurements: the targets table is computed from
// what the experiments measured, including whether each goal is met, and
// rows of one goal measured on several targets share a line.
func TestTargetsTableFromMeasurements(t *testing.T) {
	rows := []targetRow{
		{what: "reads vs fio", goal: 1.0, measured: Ratio{Min: 0.9, Median: 1.25, Max: 1.5}},
		{what: "cache gain", goal: 10, measured: Ratio{Min: 5.8, Median: 6.5, Max: 6.8}, where: "loop device"},
		{what: "cache gain", goal: 10, measured: Ratio{Min: 10, Median: 11, Max: 12}, where: "tmpfs file"},
	}
	got := targetsTable(rows)
	for _, want := range []string{
		"| reads vs fio | >= 1x | 1.25x (0.90-1.50) | yes |",
		"| cache gain | >= 10x | loop device: 6.50x (5.80-6.80); tmpfs file: 11.00x (10.00-12.00) | no |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("targets table lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "cache gain"); n != 1 {
		t.Errorf("cache gain on %d lines:\n%s", n, got)
	}
}

// TestSummaryHasEverySection: summary.md holds each section's text, its
// plots and the targets the sections measured, in the suite's order.
func TestSummaryHasEverySection(t *testing.T) {
	secs := []section{
		{markdown: "## first\n", plots: []plotSpec{{file: "a.svg", title: "plot A"}}},
		{markdown: "## second\n", targets: []targetRow{{what: "goal B", goal: 0.9, measured: Ratio{Min: 1, Median: 1, Max: 1, N: 1}}}},
	}
	md := summary(&Target{Desc: "test target"}, "flags=x", secs)
	i1, i2, i3 := strings.Index(md, "## first"), strings.Index(md, "## second"), strings.Index(md, "## Targets")
	if i1 < 0 || i2 < i1 || i3 < i2 {
		t.Fatalf("sections out of order:\n%s", md)
	}
	for _, want := range []string{"test target", "flags=x", "![plot A](a.svg)", "| goal B | >= 0.9x | 1.00x (1.00-1.00) | yes |"} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
}

// --experiments picks experiments by id, in the order given, and names
// the ones there are when it does not know one.
func TestSelectExperiments(t *testing.T) {
	ids := map[string]bool{}
	for _, e := range experiments() {
		if e.id == "" || ids[e.id] || e.run == nil {
			t.Fatalf("experiment %q: empty, duplicate or without a run", e.id)
		}
		ids[e.id] = true
	}
	got, err := selectExperiments([]string{"qd", "workloads"})
	if err != nil || len(got) != 2 || got[0].id != "qd" || got[1].id != "workloads" {
		t.Fatalf("select qd,workloads: %v, %v", got, err)
	}
	all, _ := selectExperiments(nil)
	if len(all) != len(experiments()) {
		t.Errorf("no selection gave %d of %d experiments", len(all), len(experiments()))
	}
	_, err = selectExperiments([]string{"nope"})
	var bad *badInput
	if !errors.As(err, &bad) || !strings.Contains(err.Error(), "qd") {
		t.Errorf("unknown experiment: %v (want bad input naming the known ones)", err)
	}
}

// The sweep's "fio best" reference is the same job with fio's fastest
// settings, written into fio's job file.
func TestFioBestJobFile(t *testing.T) {
	j, err := benchJob("r", [][2]string{{"rw", "randread"}, {"iodepth", "32"}})
	if err != nil {
		t.Fatal(err)
	}
	best, err := fioBest(j, 32)
	if err != nil {
		t.Fatal(err)
	}
	file := fioJobFile(best, "/dev/null")
	for _, want := range []string{"fixedbufs=1\n", "registerfiles=1\n", "iodepth_batch_submit=32\n", "iodepth_batch_complete_min=1\n", "iodepth=32\n"} {
		if !strings.Contains(file, want) {
			t.Errorf("fio best job file lacks %q:\n%s", want, file)
		}
	}
	if strings.Contains(fioJobFile(j, "/dev/null"), "fixedbufs") {
		t.Error("the default reference carries fio's best settings too")
	}
}

// TestNullCompareTargetIsAFile: compare's automatic target for jobs that
// all run ioengine=null is a file, with no loop device over it.
func TestNullCompareTargetIsAFile(t *testing.T) {
	null, err := benchJob("n", [][2]string{{"rw", "randread"}, {"ioengine", "null"}, {"size", "16m"}})
	if err != nil {
		t.Fatal(err)
	}
	target, cleanup, err := sharedTarget([]workloads.Job{null}, settings{targetSize: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if st, err := os.Stat(target); err != nil || !st.Mode().IsRegular() {
		t.Errorf("compare's target for a null job is %q (%v), want a regular file", target, err)
	}
}

// TestNullBenchPinsBothTools: the null engine's rows run fio and iobench
// on the same CPU, one this process may run on: the job is pinned
// (cpus_allowed), and fio's job file carries the same pin.
func TestNullBenchPinsBothTools(t *testing.T) {
	cpu, err := benchNullCPU()
	if err != nil {
		t.Fatal(err)
	}
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || !set.IsSet(cpu) {
		t.Fatalf("CPU %d is not in this process's affinity (%v)", cpu, err)
	}
	jobs, err := benchNullJobs("1s", cpu)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != len(benchNullVariants) {
		t.Fatalf("%d jobs for %d rows", len(jobs), len(benchNullVariants))
	}
	for _, j := range jobs {
		if !slices.Equal(j.CPUs, []int{cpu}) {
			t.Errorf("job %s: iobench runs on CPUs %v, want [%d]", j.Name, j.CPUs, cpu)
		}
		if f := fioJobFile(j, "/dev/null"); !strings.Contains(f, fmt.Sprintf("\ncpus_allowed=%d\n", cpu)) {
			t.Errorf("job %s: fio's job file does not pin it to CPU %d:\n%s", j.Name, cpu, f)
		}
	}
}

// TestParseFioJSONTotalLatency: compare's latencies are the total
// latency's (lat_ns) percentiles and mean when the JSON has them, and the
// completion latency's (clat_ns) when lat_ns has no percentiles (a job
// asking for clat percentiles itself).
func TestParseFioJSONTotalLatency(t *testing.T) {
	const src = `{"jobs": [
	 {"jobname": "both", "read": {"iops": 1000, "bw_bytes": 4096000,
	  "clat_ns": {"mean": 2000.0, "percentile": {"50.000000": 1800, "99.000000": 5000}},
	  "lat_ns": {"mean": 2500.0, "percentile": {"50.000000": 2300, "99.000000": 6000}}}},
	 {"jobname": "clat", "read": {"iops": 1000, "bw_bytes": 4096000,
	  "clat_ns": {"mean": 2000.0, "percentile": {"50.000000": 1800, "99.000000": 5000}},
	  "lat_ns": {"mean": 2500.0}}}]}`
	ms, order, err := ParseFioJSON([]byte(src))
	if err != nil || len(order) != 2 {
		t.Fatalf("ParseFioJSON: %v %v %v", ms, order, err)
	}
	for _, c := range []struct {
		job           string
		mean, p50, p9 float64
	}{{"both", 2500, 2300, 6000}, {"clat", 2000, 1800, 5000}} {
		if m := ms[c.job]; m.MeanLat != c.mean || m.P50 != c.p50 || m.P99 != c.p9 {
			t.Errorf("job %s: mean %v p50 %v p99 %v, want %v %v %v", c.job, m.MeanLat, m.P50, m.P99, c.mean, c.p50, c.p9)
		}
	}
}

// TestRoundJobTotalLatency: each round of compare and bench runs both
// tools with total-latency percentiles (lat_percentiles=1,
// clat_percentiles=0), unless the job sets either itself, and leaves the
// caller's job as it was; both tools' JSON then has lat_ns percentiles
// and no clat_ns ones.
func TestRoundJobTotalLatency(t *testing.T) {
	j, err := benchJob("r", [][2]string{{"rw", "randread"}, {"ioengine", "null"}, {"size", "16m"}})
	if err != nil {
		t.Fatal(err)
	}
	file := fioJobFile(roundJob(j), "/dev/null")
	for _, want := range []string{"\nlat_percentiles=1\n", "\nclat_percentiles=0\n"} {
		if !strings.Contains(file, want) {
			t.Errorf("a round's fio job file lacks %q:\n%s", strings.TrimSpace(want), file)
		}
	}
	if j.IsSet("lat_percentiles") || j.IsSet("clat_percentiles") {
		t.Error("roundJob changed the caller's job")
	}
	for _, kv := range [][2]string{{"clat_percentiles", "1"}, {"lat_percentiles", "0"}} {
		own := j.Clone()
		if err := own.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
		file := fioJobFile(roundJob(own), "/dev/null")
		if !strings.Contains(file, "\n"+kv[0]+"="+kv[1]+"\n") || strings.Count(file, "percentiles=") != 1 {
			t.Errorf("job setting %s=%s: a round's fio job file is\n%s", kv[0], kv[1], file)
		}
	}

	target := t.TempDir() + "/target"
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(target, 16<<20); err != nil {
		t.Fatal(err)
	}
	check := func(tool string, js []byte) {
		t.Helper()
		var doc struct {
			Jobs []struct {
				Read struct {
					Clat struct {
						Percentile map[string]int64 `json:"percentile"`
					} `json:"clat_ns"`
					Lat struct {
						Percentile map[string]int64 `json:"percentile"`
					} `json:"lat_ns"`
				} `json:"read"`
			} `json:"jobs"`
		}
		if i := strings.IndexByte(string(js), '{'); i > 0 {
			js = js[i:]
		}
		if err := json.Unmarshal(js, &doc); err != nil || len(doc.Jobs) != 1 {
			t.Fatalf("%s JSON: %v\n%s", tool, err, js)
		}
		if r := doc.Jobs[0].Read; len(r.Lat.Percentile) == 0 || len(r.Clat.Percentile) != 0 {
			t.Errorf("%s: lat_ns percentiles %v, clat_ns percentiles %v; want lat's only", tool, r.Lat.Percentile, r.Clat.Percentile)
		}
	}
	_, js, err := runOne(j, target)
	if err != nil {
		t.Fatal(err)
	}
	check("iobench", js)
	if _, err := fioPath(); err != nil {
		t.Skip(err)
	}
	out, err := runFio(j, target)
	if err != nil {
		t.Fatal(err)
	}
	check("fio", out)
}

// TestRoundOrder: over n rounds each of n sides runs once in each place,
// round 0 runs them as listed, and two sides swap from round to round
// (A B, B A, A B).
func TestRoundOrder(t *testing.T) {
	for n := 1; n <= 4; n++ {
		seen := make([][]int, n) // seen[side][place] counts
		for i := range seen {
			seen[i] = make([]int, n)
		}
		for r := range n {
			order := roundOrder(r, n)
			if len(order) != n {
				t.Fatalf("roundOrder(%d, %d) = %v: want %d sides", r, n, order, n)
			}
			for place, side := range order {
				seen[side][place]++
			}
			if r == 0 {
				for place, side := range order {
					if side != place {
						t.Errorf("roundOrder(0, %d) = %v: want the sides as listed", n, order)
					}
				}
			}
		}
		for side := range seen {
			for place, c := range seen[side] {
				if c != 1 {
					t.Errorf("n=%d: side %d ran %d times in place %d over %d rounds", n, side, c, place, n)
				}
			}
		}
	}
	for r, want := range [][]int{{0, 1}, {1, 0}, {0, 1}, {1, 0}} {
		if got := roundOrder(r, 2); got[0] != want[0] || got[1] != want[1] {
			t.Errorf("roundOrder(%d, 2) = %v, want %v", r, got, want)
		}
	}
}
