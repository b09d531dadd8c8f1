package runner

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/iobench/iobench/workloads"
)

// TestMeasureAddCoversFields: --status-interval's reports add each
// period's measure to the ones before (measure.add); every field of a
// measure is either added there or named here as one a report takes from
// elsewhere, so that a field added to measure later cannot be left out of
// the reports unnoticed.
func TestMeasureAddCoversFields(t *testing.T) {
	notAdded := map[string]string{
		"ssRes": "steady state: the run's total", "pinned": "read back once per clone", "err": "the run's total",
		"clone": "the key periods are added by", "opts": "record's view of its job's options, not a measurement",
	}
	o := newMeasure()
	for d := range workloads.NumDirs {
		o.ios[d], o.bytes[d], o.errs[d] = 3, 4096, 1
		o.slat[d].record(100)
		o.clat[d].record(200)
		o.lat[d].record(300)
		o.prios[d] = mergePrios(nil, []PrioLat{{Prio: 1, Lat: newHist()}})
		_ = o.prios[d][0].Lat.RecordValue(5)
		o.bwSamples[d], o.iopsSamples[d] = []float64{1024}, []float64{256}
		o.bwIO[d].add(1024)
		o.iopsIO[d].add(1)
	}
	o.usage = threadUsage{usr: time.Millisecond, sys: time.Millisecond, wall: time.Second, ctx: 2, volCtx: 1, majf: 1, minf: 1}
	o.tid, o.measured, o.verified = 7, time.Second, 4096
	o.verifyReadIOs, o.verifyReadBytes = 1, 4096
	o.verifyTime, o.verifyInRun, o.ioErrs, o.firstErr = time.Millisecond, time.Millisecond, 1, 5
	o.depthDist[1], o.submitDist[2], o.completeDist[3] = 1, 1, 1
	o.latencyDepth, o.syncs, o.rangeSyncs = 4, 2, 1
	_ = o.syncLat.RecordValue(9)

	m := newMeasure()
	m.add(o)
	m.add(o)
	mv, ov := reflect.ValueOf(m).Elem(), reflect.ValueOf(o).Elem()
	for i := range mv.NumField() {
		name := mv.Type().Field(i).Name
		if _, ok := notAdded[name]; ok {
			continue
		}
		if ov.Field(i).IsZero() {
			t.Errorf("field %s: the test sets no value for it: add it here (or to notAdded, saying why)", name)
			continue
		}
		if reflect.DeepEqual(fmtField(readable(mv.Field(i))), fmtField(reflect.New(ov.Field(i).Type()).Elem())) {
			t.Errorf("field %s: measure.add leaves it out", name)
		}
	}
	for d := range workloads.NumDirs {
		if m.ios[d] != 6 || m.clat[d].hdr().TotalCount() != 2 || m.prios[d][0].Lat.TotalCount() != 2 {
			t.Errorf("dir %d: %d I/Os, %d clat values, %d prio values; want each twice", d, m.ios[d], m.clat[d].hdr().TotalCount(), m.prios[d][0].Lat.TotalCount())
		}
	}
	if m.usage.wall != 2*time.Second || m.measured != 2*time.Second || m.syncLat.TotalCount() != 2 || m.firstErr != 5 || m.tid != 7 {
		t.Errorf("usage %v, measured %v, syncs' latencies %d, first error %d, tid %d", m.usage.wall, m.measured, m.syncLat.TotalCount(), m.firstErr, m.tid)
	}
}

// readable returns the field f of an addressable struct, unexported or
// not, as a value whose Interface can be called.
func readable(f reflect.Value) reflect.Value {
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// fmtField is v's value for a comparison with a zero value: pointers
// compared by what they point to (a histogram by its counts).
func fmtField(v reflect.Value) any {
	switch x := v.Interface().(type) {
	case [workloads.NumDirs]*latHist:
		var n [workloads.NumDirs]int64
		for d, h := range x {
			if h != nil {
				n[d] = h.hdr().TotalCount()
			}
		}
		return n
	case threadUsage:
		return [7]int64{int64(x.usr), int64(x.sys), int64(x.wall), int64(x.ctx), int64(x.volCtx), int64(x.majf), int64(x.minf)}
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		if h, ok := v.Interface().(interface{ TotalCount() int64 }); ok {
			return h.TotalCount()
		}
	}
	return v.Interface()
}

// TestStatusPublishPeriod: a clone's measure goes to the last period it
// covers. One that ran past the end of the period its measure began in
// with no reap between (a loaded machine, a long drain) holds I/O from
// after that period's end, and a report of that period showed it (a read
// runtime of 1303 ms in a report ending at 1200 ms). A last measure goes
// to the period the clone ended in, which has no report (the run's total
// covers it); a measure that skipped whole periods goes to the last of
// them, its time running to that period's end (the skipped periods' time
// was lost from the runtime).
func TestStatusPublishPeriod(t *testing.T) {
	const period = 300 * time.Millisecond
	ms := time.Millisecond
	for _, c := range []struct {
		ivIdx     int           // the period of the clone's last reap
		at        time.Duration // this publish, from the run's start
		final     bool
		want      int           // the period its measure goes to
		end, runs time.Duration // the snapshot's end, and its measured time
		next      int           // the period of the next measure (not final)
	}{
		{ivIdx: 3, at: 1303 * ms, final: true, want: 4, end: 1303 * ms, runs: 403 * ms},
		{ivIdx: 3, at: 1100 * ms, final: true, want: 3, end: 1100 * ms, runs: 200 * ms},
		{ivIdx: 3, at: 1200 * ms, final: true, want: 4, end: 1200 * ms, runs: 300 * ms},
		{ivIdx: 1, at: 610 * ms, want: 1, end: 600 * ms, runs: 300 * ms, next: 2},
		{ivIdx: 1, at: 1000 * ms, want: 2, end: 900 * ms, runs: 600 * ms, next: 3},
	} {
		t0 := time.Now()
		b := newStatusBoard(period, t0)
		w := &worker{status: b, job: &workloads.Job{}, measureStart: t0}
		w.id = b.join(t0)
		w.iv = newMeasure()
		w.iv.usage.begin()
		w.ivIdx, w.ivNext = c.ivIdx, b.end(c.ivIdx)
		w.publishInterval(t0.Add(c.at), c.final)
		for k, snaps := range b.snaps {
			if k != c.want {
				t.Errorf("%+v: %d snapshots in period %d, want all in %d", c, len(snaps), k, c.want)
			}
		}
		if s := b.snaps[c.want]; len(s) != 1 || s[0].end != c.end || s[0].m.measured != c.runs {
			t.Errorf("%+v: period %d holds %+v, want one snapshot ending at %v, measured %v", c, c.want, s, c.end, c.runs)
		}
		if done := b.index(t0.Add(c.at)) - 1; !b.allPast(done) || c.final && !b.allPast(done+1) {
			t.Errorf("%+v: the board waits for the clone (%v)", c, b.live)
		}
		if !c.final && w.ivIdx != c.next {
			t.Errorf("%+v: the next measure is of period %d", c, w.ivIdx)
		}
	}
}

// TestStatusDuringStall: the reports go on, one per period, while a job
// waits longer than a period, for a device that takes 650 ms per read, a
// thinktime pause as long, or both, as fio's do: each report follows the one
// before (a period late at most), its runtime grows, and some repeat the
// I/O count of the one before (periods in which nothing completed).
func TestStatusDuringStall(t *testing.T) {
	think := []string{"--thinktime=650ms", "--thinktime_blocks=1"}
	for _, tc := range []struct {
		name string
		slow bool
		args []string
	}{
		{"device", true, nil},
		{"thinktime", false, think},
		{"both", true, think}, // the reap after a pause waits for the period's end, not later
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.slow {
				useDelayRing(t, 650*time.Millisecond)
			}
			args := append([]string{"--name=s", "--ioengine=null", "--rw=read", "--bs=4k", "--iodepth=1", "--size=1m",
				"--runtime=2s", "--time_based", "--status-interval=200ms", "--output-format=json"}, tc.args...)
			code, out, errs := run(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			docs := decodeAll(t, out)
			reports := docs[:len(docs)-1]
			// 2 s hold ten periods: the last, in which the job ended,
			// has no report of its own. A clone that wakes more than a
			// period late (a loaded machine: two CPU-bound loops and
			// -race did it once in five runs) hands two periods over
			// as one, so the report of one period may repeat the one
			// before it, runtime and all; a stall that stopped the
			// hand-overs would leave two or more such in a row (650 ms
			// at 200 ms).
			if len(reports) < 7 {
				t.Fatalf("%d reports in a 2 s job at 200 ms, want at least 7", len(reports))
			}
			var prev, lastIOs, lastRuntime float64
			repeats, stale := 0, 0
			for i, d := range reports {
				iv, ok := d["interval"].(map[string]any)
				if !ok {
					t.Fatalf("document %d is not a status report", i)
				}
				idx := iv["index"].(float64)
				if i > 0 && (idx <= prev || idx > prev+2) {
					t.Fatalf("report %d is of period %v, after period %v: the reports stopped", i, idx, prev)
				}
				prev = idx
				j := d["jobs"].([]any)[0].(map[string]any)
				ios, rt := num(t, j, "read", "total_ios"), num(t, j, "read", "runtime")
				if i > 0 {
					if ios < lastIOs {
						t.Errorf("report %d: %v reads after %v", i, ios, lastIOs)
					}
					if ios == lastIOs {
						repeats++
					}
					// (A direction's runtime is 0 until it has I/O, as
					// fio's.)
					if lastIOs > 0 && rt <= lastRuntime {
						if stale++; stale > 1 {
							t.Errorf("report %d: runtime %v ms, as in the two reports before: the stalled periods' time is missing", i, rt)
						}
					} else {
						stale = 0
					}
				}
				lastIOs, lastRuntime = ios, rt
			}
			if repeats == 0 {
				t.Errorf("no report repeats the count before it: every period completed a read, so none tested a stall")
			}
		})
	}
}

// TestStatusBeforeStart: as fio's, the reports come every period from the
// run's start, each listing every job of the run: a job in its startdelay,
// or of a later stonewall group, with nothing done (in the normal format,
// no block of its own, its group's line alone, as fio 3.33 prints it) and
// no runtime, until it starts; the run's last period, in which its jobs
// end, has none.
func TestStatusBeforeStart(t *testing.T) {
	const period = 200.0 // ms
	common := []string{"--ioengine=null", "--rw=read", "--bs=4k", "--size=1m", "--time_based", "--rate_iops=2000",
		fmt.Sprintf("--status-interval=%vms", period)}
	ios := func(j map[string]any) float64 { return num(t, j, "read", "total_ios") }
	check := func(t *testing.T, out string, names []string, starts []float64) {
		t.Helper()
		docs := decodeAll(t, out)
		total := docs[len(docs)-1]
		if total["interval"] != nil {
			t.Fatal("the last document is not the run's total")
		}
		reports := docs[:len(docs)-1]
		// The last job ends at 1 s, in period 4 at the earliest (later
		// on a loaded machine), which has no report.
		if len(reports) < 4 {
			t.Fatalf("%d reports before the total, want one for each of periods 0 to 3 at least", len(reports))
		}
		last := make([]float64, len(names))
		for i, d := range reports {
			if idx := num(t, d, "interval", "index"); idx != float64(i) {
				t.Fatalf("report %d is of period %v: want every period from the run's start", i, idx)
			}
			end := num(t, d, "interval", "end_ms")
			jobs, _ := d["jobs"].([]any)
			if len(jobs) != len(names) {
				t.Fatalf("report %d lists %d jobs, want the run's %d", i, len(jobs), len(names))
			}
			for k, name := range names {
				j := jobs[k].(map[string]any)
				if j["jobname"] != name {
					t.Fatalf("report %d: job %d is %v, want %s", i, k, j["jobname"], name)
				}
				n := ios(j)
				if end <= starts[k] && (n != 0 || num(t, j, "job_runtime") != 0) {
					t.Errorf("report %d (to %v ms): job %s, which starts at %v ms, did %v reads in %v ms", i, end, name, starts[k], n, num(t, j, "job_runtime"))
				}
				if end >= starts[k]+2*period && n == 0 {
					t.Errorf("report %d (to %v ms): job %s, started at %v ms, did nothing", i, end, name, starts[k])
				}
				if n < last[k] {
					t.Errorf("report %d: job %s did %v reads after %v", i, name, n, last[k])
				}
				last[k] = n
			}
		}
	}
	t.Run("startdelay", func(t *testing.T) {
		code, out, errs := run(t, append([]string{"--name=d", "--startdelay=600ms", "--runtime=400ms", "--output-format=json"}, common...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		check(t, out, []string{"d"}, []float64{600})
	})
	t.Run("stonewall", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sw.fio")
		if err := os.WriteFile(path, []byte("[a]\nruntime=500ms\n\n[b]\nstonewall\nruntime=500ms\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errs := run(t, append([]string{"--output-format=json", path}, common...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		check(t, out, []string{"a", "b"}, []float64{0, 500})
	})
	t.Run("normal", func(t *testing.T) {
		code, out, errs := run(t, append([]string{"--name=d", "--startdelay=600ms", "--runtime=400ms"}, common...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		for k := range 2 {
			head := fmt.Sprintf("--- interval %d: ", k)
			i := strings.Index(out, head)
			if i < 0 {
				t.Fatalf("no report of period %d:\n%s", k, out)
			}
			rep := out[i:]
			if e := strings.Index(rep[len(head):], "--- interval "); e >= 0 {
				rep = rep[:len(head)+e]
			}
			if strings.Contains(rep, "d: (groupid=") || !strings.Contains(rep, "Run status group 0 (all jobs):") {
				t.Errorf("report of period %d, before the job's start: want its group's line alone, as fio's:\n%s", k, rep)
			}
		}
	})
}

// TestStatusDuringReadBackAndFlush: the reports go on, one per period,
// while a job waits outside its I/O loop longer than a period: for
// verify_backlog's read-back of its writes and for end_fsync's flush at
// the job's end, over a device that takes 650 ms per operation. (Before,
// those waits were untimed, and the reports stopped until they ended.)
func TestStatusDuringReadBackAndFlush(t *testing.T) {
	const period = 200.0 // ms
	useDelayURing(t, 650*time.Millisecond)
	target := filepath.Join(t.TempDir(), "t.img")
	if err := os.WriteFile(target, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	reports := func(t *testing.T, args ...string) (reps []map[string]any, total map[string]any) {
		t.Helper()
		args = append([]string{"--name=s", "--filename=" + target, "--rw=write", "--bs=4k", "--iodepth=1", "--size=1m",
			"--time_based", fmt.Sprintf("--status-interval=%vms", period), "--output-format=json"}, args...)
		code, out, errs := run(t, args...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		docs := decodeAll(t, out)
		reps, total = docs[:len(docs)-1], docs[len(docs)-1]
		// Every period has a report; one the clone did not hand over in
		// time (it waited past the period's end without a look) repeats
		// the runtime of the one before. A clone woken more than a
		// period late (a loaded machine) hands two periods over as one,
		// so one such report in a row may come; a wait of 650 ms that
		// stopped the hand-overs leaves two or three.
		var last float64
		repeats := 0
		for i, d := range reps {
			if idx := num(t, d, "interval", "index"); idx != float64(i) {
				t.Fatalf("report %d is of period %v", i, idx)
			}
			rt := num(t, d["jobs"].([]any)[0].(map[string]any), "job_runtime")
			if last > 0 && rt <= last {
				if repeats++; repeats > 1 {
					t.Errorf("report %d: job runtime %v ms, as in the two reports before: the clone stopped handing its periods over", i, rt)
				}
			} else {
				repeats = 0
			}
			last = rt
		}
		return reps, total
	}
	t.Run("verify_backlog", func(t *testing.T) {
		// Each write is read back (and checked) after it: 650 ms of
		// write, 650 ms of read-back, in turn, for 2 s.
		reps, _ := reports(t, "--runtime=2s", "--verify=crc32c", "--verify_backlog=1")
		if len(reps) < 7 {
			t.Fatalf("%d reports in a 2 s job at 200 ms, want at least 7", len(reps))
		}
		last := reps[len(reps)-1]["jobs"].([]any)[0].(map[string]any)
		if num(t, last, "read", "total_ios") == 0 {
			t.Error("no read-back in the reports")
		}
	})
	t.Run("end_fsync", func(t *testing.T) {
		// The job's last 650 ms at least are the flush: the periods
		// that end in it have reports, the last of them no more than
		// two periods (the one the job ends in, which has none, and one
		// a late clone may merge) before the job's end.
		reps, total := reports(t, "--runtime=1s", "--end_fsync=1")
		tj := total["jobs"].([]any)[0].(map[string]any)
		if num(t, tj, "write", "total_ios") == 0 {
			t.Fatal("no writes")
		}
		start := jobStartMs(t, reps)
		end := start + num(t, tj, "job_runtime")
		if last := num(t, reps[len(reps)-1], "interval", "end_ms"); last < end-2*period {
			t.Errorf("the last report ends at %v ms; the job ran from %v to %v ms, its last 650 ms flushing: want reports while it flushed", last, start, end)
		}
	})
}

// TestStatusReportsCarrySamples: each --status-interval report holds the
// bandwidth and IOPS samples of the job so far, as fio's do (fio 3.33,
// 3 s at 100 ms samples and 1 s reports: 8, 18 and 28 samples, then 29
// in the total): a report's samples are at least those of the report
// before, and the total has them all.
func TestStatusReportsCarrySamples(t *testing.T) {
	target := filepath.Join(t.TempDir(), "t.img")
	if err := os.WriteFile(target, make([]byte, 16<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "--name=s", "--filename="+target, "--rw=randread", "--bs=4k", "--runtime=3", "--time_based",
		"--iopsavgtime=100", "--bwavgtime=100", "--status-interval=1", "--output-format=json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	docs := decodeAll(t, out)
	if len(docs) < 3 {
		t.Fatalf("%d documents, want at least two reports and the total", len(docs))
	}
	var got []float64
	for _, d := range docs {
		r := d["jobs"].([]any)[0].(map[string]any)["read"].(map[string]any)
		n := r["iops_samples"].(float64)
		if n != r["bw_samples"].(float64) {
			t.Errorf("%v IOPS samples, %v bandwidth samples: want as many", n, r["bw_samples"])
		}
		if n > 0 && (r["iops_min"].(float64) <= 0 || r["iops_max"].(float64) < r["iops_min"].(float64)) {
			t.Errorf("IOPS samples %v-%v", r["iops_min"], r["iops_max"])
		}
		got = append(got, n)
	}
	for i, n := range got {
		if n < 3 || i > 0 && n < got[i-1] {
			t.Fatalf("samples in the reports and the total: %v; want at least 3 in the first second's, none fewer than the report before", got)
		}
	}
}

// TestRateStatMerge: the statistics of two stretches of per-I/O rate
// samples merged are those of all the samples taken as one.
func TestRateStatMerge(t *testing.T) {
	vals := []float64{3, 9, 4, 12, 7, 1, 8, 8, 2}
	for cut := range len(vals) + 1 {
		var a, b, all rateStat
		for i, v := range vals {
			all.add(v)
			if i < cut {
				a.add(v)
			} else {
				b.add(v)
			}
		}
		a.merge(b)
		lo, hi, mean, dev, n := a.stats()
		wlo, whi, wmean, wdev, wn := all.stats()
		if n != wn || lo != wlo || hi != whi || math.Abs(mean-wmean) > 1e-9 || math.Abs(dev-wdev) > 1e-9 {
			t.Errorf("cut at %d: merged %v %v %v %v %v, want %v %v %v %v %v", cut, lo, hi, mean, dev, n, wlo, whi, wmean, wdev, wn)
		}
	}
}
