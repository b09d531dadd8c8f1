package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
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
			m.clat[0].record(int64(10000 + k))
			m.lat[0].record(int64(12000 + k))
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
	iv := &Run{Time: time.Now(), Interval: &Interval{Index: 1, End: 2001 * time.Millisecond},
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

// jsonKinds returns, for each path to a number in the JSON document b
// (objects' keys that are numbers or ">=N", such as percentiles, bins
// and buckets, as "#"; arrays' elements as "[]"), whether it is written
// as a "float" (with a decimal point) or an "int".
func jsonKinds(t *testing.T, b []byte) map[string]string {
	t.Helper()
	if i := bytes.IndexByte(b, '{'); i > 0 {
		b = b[i:]
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	out := map[string]string{}
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if _, err := strconv.ParseFloat(strings.TrimPrefix(k, ">="), 64); err == nil {
					k = "#"
				}
				walk(x, path+"."+k)
			}
		case []any:
			for _, x := range v {
				walk(x, path+"[]")
			}
		case json.Number:
			kind := "int"
			if strings.ContainsAny(string(v), ".eE") {
				kind = "float"
			}
			if prev, ok := out[path]; ok && prev != kind {
				kind = "both"
			}
			out[path] = kind
		}
	}
	walk(doc, "")
	return out
}

// fioFloatFields are the fields fio 3.33's JSON writes as floats ("%f",
// json_object_add_value_float in its stat.c); every other number it
// writes is an integer.
var fioFloatFields = []string{
	".disk_util[].util",
	".jobs[].usr_cpu", ".jobs[].sys_cpu", ".jobs[].latency_percentile",
	".jobs[].iodepth_level.#", ".jobs[].iodepth_submit.#", ".jobs[].iodepth_complete.#",
	".jobs[].latency_ns.#", ".jobs[].latency_us.#", ".jobs[].latency_ms.#",
	".jobs[].sync.lat_ns.mean", ".jobs[].sync.lat_ns.stddev",
}

func init() {
	for _, d := range []string{"read", "write", "trim"} {
		for _, f := range []string{"iops", "bw_agg", "bw_mean", "bw_dev", "iops_mean", "iops_stddev"} {
			fioFloatFields = append(fioFloatFields, ".jobs[]."+d+"."+f)
		}
		for _, l := range []string{"slat_ns", "clat_ns", "lat_ns"} {
			fioFloatFields = append(fioFloatFields, ".jobs[]."+d+"."+l+".mean", ".jobs[]."+d+"."+l+".stddev")
		}
	}
}

// TestJSONFloatsAsFio: the fields fio writes as floats are written with
// six decimals also when their value is whole or zero ("0.000000",
// "100.000000"), and the others as integers, so that a parser that
// checks types takes iobench's JSON as it takes fio's; checked against
// the installed fio's own JSON where it is there.
func TestJSONFloatsAsFio(t *testing.T) {
	r := fakeResult()
	r.UsrCPU, r.SysCPU = 0, 100 // whole values
	run := &Run{Time: time.Now(), Elapsed: time.Second, Jobs: []JobResult{r},
		Disks: []DiskUtil{{Name: "loop9", ReadIOs: 3, Util: 100}}}
	var b bytes.Buffer
	if err := writeJSON(&b, run, true); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"iops": 0.000000`, `"usr_cpu": 0.000000`, `"sys_cpu": 100.000000`,
		`"latency_percentile": 100.000000`, `"util": 100.000000`, `"bw_agg": 100.000000`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %s in\n%s", want, b.String())
		}
	}
	ours := jsonKinds(t, b.Bytes())
	floats := map[string]bool{}
	for _, p := range fioFloatFields {
		floats[p] = true
		if ours[p] != "float" {
			t.Errorf("%s: written as %q, fio writes a float", p, ours[p])
		}
	}
	for p, k := range ours {
		if !floats[p] && !strings.HasPrefix(p, ".jobs[].iobench.") && k != "int" {
			t.Errorf("%s: written as %q, fio writes an integer", p, k)
		}
	}
	fio, err := fioPath()
	if err != nil {
		t.Skip(err)
	}
	out, err := exec.Command(fio, "--name=f", "--ioengine=null", "--size=16m", "--rw=randrw", "--fsync=4",
		"--output-format=json+").Output()
	if err != nil {
		t.Fatalf("fio: %v", err)
	}
	theirs := jsonKinds(t, out)
	shared := 0
	for p, k := range theirs {
		if ours[p] == "" {
			continue // a field iobench does not write (eta, job_start, ...)
		}
		shared++
		if ours[p] != k {
			t.Errorf("%s: fio writes %s, iobench %s", p, k, ours[p])
		}
		if (k == "float") != floats[p] {
			t.Errorf("%s: fio writes %s; fioFloatFields says otherwise", p, k)
		}
	}
	if shared < 100 {
		t.Errorf("only %d number fields in common with fio's JSON", shared)
	}
}

// TestRuntimeRoundedUp: run times are written in milliseconds rounded up
// from microseconds, as fio writes them: a job done in less than a
// millisecond reads 1 ms in the JSON, the normal and terse reports, never
// 0 (which a tool dividing by it cannot take), and whole seconds stay
// whole.
func TestRuntimeRoundedUp(t *testing.T) {
	for d, want := range map[time.Duration]int64{
		0: 0, 300 * time.Microsecond: 1, time.Millisecond: 1, time.Millisecond + 1500: 2,
		3 * time.Second: 3000, 3*time.Second + 999: 3000, 3*time.Second + 1000: 3001,
	} {
		if got := runtimeMs(d); got != want {
			t.Errorf("runtimeMs(%v) = %d, want %d", d, got, want)
		}
	}
	// A short run (under a millisecond, but for the race detector's
	// slowing): never 0.
	code, out, errs := run(t, "--name=j", "--ioengine=null", "--size=64k", "--output-format=json,normal")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Jobs []struct {
			Read struct {
				Runtime  int64 `json:"runtime"`
				TotalIOs int64 `json:"total_ios"`
			} `json:"read"`
		} `json:"jobs"`
	}
	if err := json.NewDecoder(strings.NewReader(out[strings.Index(out, "{"):])).Decode(&doc); err != nil || len(doc.Jobs) != 1 {
		t.Fatalf("JSON: %v:\n%s", err, out)
	}
	if r := doc.Jobs[0].Read; r.TotalIOs != 16 || r.Runtime < 1 {
		t.Errorf("JSON: %d reads in %d ms, want 16 in at least 1", r.TotalIOs, r.Runtime)
	}
	if strings.Contains(out, "/0msec)") || strings.Contains(out, "run=0-0msec") {
		t.Errorf("normal report says 0 msec:\n%s", out)
	}
}

// failAfter is a writer that takes n bytes and fails every write after.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		k := f.n
		f.n = 0
		return k, syscall.ENOSPC
	}
	f.n -= len(p)
	return len(p), nil
}

// TestReportWriteFailure: a report that cannot be written in full (a full
// disk, here /dev/full and a writer that fails part way) fails the run
// with exit status 1 and says why on stderr, in every format and whether
// it goes to stdout or to --output; it is not a success.
func TestReportWriteFailure(t *testing.T) {
	job := []string{"--name=j", "--ioengine=null", "--rw=read", "--bs=4k", "--size=1m"}
	for _, format := range []string{"normal", "json", "json+", "terse"} {
		var full bytes.Buffer
		if code := Main(append(slices.Clone(job), "--output-format="+format), &full, io.Discard); code != 0 {
			t.Fatalf("%s with room: exit %d", format, code)
		}
		for _, room := range []int{0, 100, full.Len() / 2} { // the size varies a little from run to run
			var errb bytes.Buffer
			code := Main(append(slices.Clone(job), "--output-format="+format), &failAfter{n: room}, &errb)
			if code != 1 || !strings.Contains(errb.String(), "no space left on device") {
				t.Errorf("%s to stdout failing after %d bytes: exit %d, stderr %q; want 1 and the write error", format, room, code, errb.String())
			}
		}
		if _, err := os.Stat("/dev/full"); err != nil {
			continue
		}
		var errb bytes.Buffer
		code := Main(append(slices.Clone(job), "--output-format="+format, "--output=/dev/full"), io.Discard, &errb)
		if code != 1 || !strings.Contains(errb.String(), "/dev/full") || !strings.Contains(errb.String(), "no space left on device") {
			t.Errorf("%s to --output=/dev/full: exit %d, stderr %q; want 1, the file and the write error", format, code, errb.String())
		}
	}
}

// jsonOptions is the options part of a JSON report, fio's or iobench's.
type jsonOptions struct {
	Global map[string]string `json:"global options"`
	Jobs   []struct {
		Name string            `json:"jobname"`
		Opts map[string]string `json:"job options"`
	} `json:"jobs"`
}

// TestJSONGlobalOptionsAsFio: fio 3.33's JSON keeps the options of
// [global] (and the command line's) in a top-level "global options" and
// gives each job its own only, as written (bs=4k is "4k"), leaving out
// options given alone and the object itself when there is none; with
// several job files, the last file's [global] alone. iobench folded
// [global]'s options into each job's "job options" (bs as "4k,4k").
// Each case runs iobench on ioengine=null over a file in a temporary
// directory and, where fio is installed, fio 3.33 the same way.
func TestJSONGlobalOptionsAsFio(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "f.dat")
	if err := os.WriteFile(target, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	g := writeJob(t, dir, "g.fio", "[global]\nfilename="+target+"\nioengine=null\nsize=1m\nbs=8k\nnorandommap\n\n[a]\nrw=read\nthread=1\n\n[b]\nrw=randread\nbs=4k\nzero_buffers\n")
	g2 := writeJob(t, dir, "g2.fio", "[global]\nioengine=null\nsize=1m\n[a]\nfilename="+target+"\nrw=read\n[global]\nbs=16k\n[b]\nfilename="+target+"\nrw=randread\n")
	last := writeJob(t, dir, "last.fio", "[global]\niodepth=3\n[c]\nioengine=null\nsize=1m\nfilename="+target+"\n")
	none := writeJob(t, dir, "none.fio", "[c]\nioengine=null\nsize=1m\nfilename="+target+"\n")
	// fio leaves out the "job options" of a job given none, and prints an
	// empty object for one given only options alone.
	bare := writeJob(t, dir, "bare.fio", "[global]\nfilename="+target+"\nioengine=null\nsize=1m\n[a]\n[b]\nnorandommap\n")
	// Options given by another of their names are listed under fio's
	// (ba, iodepth_batch and steadystate*, where iobench's differ).
	alias := writeJob(t, dir, "alias.fio", "[global]\nfilename="+target+"\nioengine=null\nsize=1m\nblockalign=4k\n[a]\nreadwrite=randread\nss=iops:5%\nss_dur=2\nss_ramp=0\niodepth_batch_submit=2\n")
	// [global]'s name= is a global option; a group reported as one
	// lists its last job's options (fio names it after its first).
	group := writeJob(t, dir, "group.fio", "[global]\nname=gname\nfilename="+target+"\nioengine=null\nsize=1m\ngroup_reporting\n[a]\nrw=read\nbs=4k\n[b]\nrw=write\nbs=8k\n[c]\nrw=randread\niodepth=2\n[d]\nstonewall\nrw=read\n[e]\nrw=write\nbs=16k\n")
	type want struct {
		global map[string]string
		jobs   []map[string]string
	}
	cases := []struct {
		args []string
		want want
	}{
		{[]string{g}, want{map[string]string{"filename": target, "ioengine": "null", "size": "1m", "bs": "8k"},
			[]map[string]string{{"rw": "read", "thread": "1"}, {"rw": "randread", "bs": "4k"}}}},
		{[]string{"--iodepth=2", "--runtime=1m", g}, want{map[string]string{"iodepth": "2", "runtime": "1m", "filename": target, "ioengine": "null", "size": "1m", "bs": "8k"},
			[]map[string]string{{"rw": "read", "thread": "1"}, {"rw": "randread", "bs": "4k"}}}},
		{[]string{g2}, want{map[string]string{"ioengine": "null", "size": "1m", "bs": "16k"},
			[]map[string]string{{"rw": "read", "filename": target}, {"rw": "randread", "filename": target}}}},
		{[]string{"--numjobs=1", g, last}, want{map[string]string{"iodepth": "3"},
			[]map[string]string{{"rw": "read", "thread": "1"}, {"rw": "randread", "bs": "4k"}, {"ioengine": "null", "size": "1m", "filename": target}}}},
		{[]string{none}, want{nil, []map[string]string{{"ioengine": "null", "size": "1m", "filename": target}}}},
		{[]string{"--norandommap", none}, want{map[string]string{}, []map[string]string{{"ioengine": "null", "size": "1m", "filename": target}}}},
		{[]string{"--thread", none}, want{map[string]string{}, []map[string]string{{"ioengine": "null", "size": "1m", "filename": target}}}},
		{[]string{bare}, want{map[string]string{"filename": target, "ioengine": "null", "size": "1m"}, []map[string]string{nil, {}}}},
		{[]string{alias}, want{map[string]string{"filename": target, "ioengine": "null", "size": "1m", "ba": "4k"},
			[]map[string]string{{"rw": "randread", "steadystate": "iops:5%", "steadystate_duration": "2", "steadystate_ramp_time": "0", "iodepth_batch": "2"}}}},
		{[]string{group}, want{map[string]string{"name": "gname", "filename": target, "ioengine": "null", "size": "1m"},
			[]map[string]string{{"rw": "randread", "iodepth": "2"}, {"rw": "write", "bs": "16k"}}}},
		{[]string{"--filename=" + target, "--ioengine=null", "--size=1m", "--bs=8k", "--name=a", "--rw=read", "--name=b", "--rw=randread", "--bs=4k"},
			want{map[string]string{"filename": target, "ioengine": "null", "size": "1m", "bs": "8k"},
				[]map[string]string{{"name": "a", "rw": "read"}, {"name": "b", "rw": "randread", "bs": "4k"}}}},
	}
	check := func(tool string, args []string, out []byte, w want) {
		t.Helper()
		var doc jsonOptions
		// fio prints a line about a command line's job before its JSON.
		if err := json.Unmarshal(out[bytes.IndexByte(out, '{'):], &doc); err != nil {
			t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
		}
		if !maps.Equal(doc.Global, w.global) || (w.global == nil) != (doc.Global == nil) {
			t.Errorf("%s %v: global options %v, want %v", tool, args, doc.Global, w.global)
		}
		if len(doc.Jobs) != len(w.jobs) {
			t.Fatalf("%s %v: %d jobs", tool, args, len(doc.Jobs))
		}
		for i, j := range doc.Jobs {
			if !maps.Equal(j.Opts, w.jobs[i]) || (j.Opts == nil) != (w.jobs[i] == nil) {
				t.Errorf("%s %v: job %s options %v, want %v", tool, args, j.Name, j.Opts, w.jobs[i])
			}
		}
	}
	for _, c := range cases {
		args := append(slices.Clone(c.args), "--output-format=json")
		code, out, errs := run(t, args...)
		if code != 0 {
			t.Fatalf("iobench %v: exit %d: %s", args, code, errs)
		}
		if !strings.Contains(out, `"global options"`) != (c.want.global == nil) {
			t.Errorf("iobench %v: global options present when there are none, or missing", args)
		}
		check("iobench", args, []byte(out), c.want)
	}
	// iobench's own options (fio has none of them) given alone make no
	// object: --force with a job file of no [global] is fio's run of it.
	for _, args := range [][]string{{"--force", none}, {"--force", "--thread", none}} {
		args = append(args, "--output-format=json")
		code, out, errs := run(t, args...)
		if code != 0 {
			t.Fatalf("iobench %v: exit %d: %s", args, code, errs)
		}
		want := want{nil, []map[string]string{{"ioengine": "null", "size": "1m", "filename": target}}}
		if slices.Contains(args, "--thread") {
			want.global = map[string]string{}
		}
		check("iobench", args, []byte(out), want)
	}
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it): iobench checked against fio 3.33's output as recorded here")
	}
	for _, c := range cases {
		args := append(slices.Clone(c.args), "--output-format=json")
		out, err := exec.Command(fio, args...).Output()
		if err != nil {
			t.Fatalf("fio %v: %v", args, err)
		}
		check("fio", args, out, c.want)
	}
}

// objectKeys returns the keys of the JSON object b, in order.
func objectKeys(t *testing.T, b []byte) []string {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %v: %.80s", err, b)
	}
	var keys []string
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestJSONKeyOrderAsFio: the keys of a job's JSON object that fio 3.33
// writes too come in fio's order (job_runtime before usr_cpu), and the
// "job options" and "global options" in the order fio lists them: as
// given on the command line, and a job file section's in fio's order of
// parsing them (kb_base, unit_base and lockfile first, filename and
// filename_format last).
func TestJSONKeyOrderAsFio(t *testing.T) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	jf := writeJob(t, dir, "o.fio", "[global]\nfilename_format=$jobname\nsize=256k\nkb_base=1024\nbs=8k\n[a]\nrw=read\nfilename="+target+
		"\niodepth=2\nunit_base=8\nruntime=10\n")
	for _, args := range [][]string{
		{"--name=x", "--size=256k", "--rw=randrw", "--filename=" + target, "--bs=4k", "--iodepth=2"},
		{"--size=256k", "--filename=" + target, "--bs=4k", "--name=x", "--rw=write", "--iodepth=2", "--name=y", "--rw=read"},
		{jf},
		{"--iodepth=4", jf},
	} {
		args = append(args, "--output-format=json")
		fout, err := exec.Command(fio, args...).Output()
		if err != nil {
			t.Fatalf("fio %v: %v", args, err)
		}
		code, iout, errs := run(t, append([]string{"--direct=0"}, args...)...)
		if code != 0 {
			t.Fatalf("iobench %v: exit %d: %s", args, code, errs)
		}
		type doc struct {
			Global *optionList       `json:"global options"`
			Jobs   []json.RawMessage `json:"jobs"`
		}
		var f, i doc
		if err := json.Unmarshal(fout[bytes.IndexByte(fout, '{'):], &f); err != nil {
			t.Fatalf("fio %v: %v", args, err)
		}
		if err := json.Unmarshal([]byte(iout), &i); err != nil || len(i.Jobs) != len(f.Jobs) {
			t.Fatalf("iobench %v: %v, %d jobs, fio's %d", args, err, len(i.Jobs), len(f.Jobs))
		}
		// The keys of a that b has too, in a's order.
		common := func(a, b []string) []string {
			return slices.DeleteFunc(slices.Clone(a), func(k string) bool { return !slices.Contains(b, k) })
		}
		names := func(l *optionList) []string {
			if l == nil {
				return nil
			}
			var out []string
			for _, kv := range *l {
				out = append(out, kv[0]+"="+kv[1])
			}
			return out
		}
		if g, h := names(f.Global), names(i.Global); !slices.Equal(g, slices.DeleteFunc(h, func(s string) bool { return strings.HasPrefix(s, "direct=") })) {
			t.Errorf("%v: global options: fio %q, iobench %q", args, g, h)
		}
		for n := range f.Jobs {
			fk, ik := objectKeys(t, f.Jobs[n]), objectKeys(t, i.Jobs[n])
			if a, b := common(fk, ik), common(ik, fk); !slices.Equal(a, b) {
				t.Errorf("%v: job %d's keys: fio %q, iobench %q", args, n, a, b)
			}
			var fo, io struct {
				Opts *optionList `json:"job options"`
			}
			if json.Unmarshal(f.Jobs[n], &fo) != nil || json.Unmarshal(i.Jobs[n], &io) != nil {
				t.Fatalf("%v: job %d: options undecodable", args, n)
			}
			if g, h := names(fo.Opts), names(io.Opts); !slices.Equal(g, h) {
				t.Errorf("%v: job %d's options: fio %q, iobench %q", args, n, g, h)
			}
		}
	}
}

// UnmarshalJSON reads an options object back in its order (the tests'
// check of fio's order).
func (l *optionList) UnmarshalJSON(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if t, err := d.Token(); err != nil {
		return err
	} else if t != json.Delim('{') {
		return fmt.Errorf("options: want an object, not %v", t)
	}
	*l = optionList{}
	for d.More() {
		var k, v string
		t, err := d.Token()
		if err != nil {
			return err
		}
		k, _ = t.(string)
		if err := d.Decode(&v); err != nil {
			return err
		}
		*l = append(*l, [2]string{k, v})
	}
	_, err := d.Token()
	return err
}

// TestJSONDiskUtilAsFio: fio 3.33's JSON has no disk_util where no block
// device is under the jobs' files: a null job's (fio's null engine adds
// no disk, wherever its file is) or a file on tmpfs. iobench listed the
// disk of a null job's file, and an empty array where there was none.
func TestJSONDiskUtilAsFio(t *testing.T) {
	shm, err := os.MkdirTemp("/dev/shm", "iobench-diskutil-")
	if err != nil {
		t.Skipf("no /dev/shm to hold a file off any block device: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	onDisk := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(onDisk, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := [][]string{
		{"--name=n", "--ioengine=null", "--size=1m", "--filename=" + onDisk},
		{"--name=s", "--rw=read", "--size=1m", "--bs=64k", "--filename=" + filepath.Join(shm, "f")},
	}
	fio, _ := exec.LookPath("fio")
	for _, c := range cases {
		args := append(slices.Clone(c), "--output-format=json")
		code, out, errOut := run(t, args...)
		if code != 0 {
			t.Fatalf("iobench %v: exit %d: %s", c, code, errOut)
		}
		if slices.Contains(objectKeys(t, []byte(out)), "disk_util") {
			t.Errorf("iobench %v: a disk_util where no block device is under the job", c)
		}
		if fio == "" {
			continue
		}
		if c[1] != "--ioengine=null" {
			// fio's own file beside iobench's.
			args = []string{"--name=s", "--rw=read", "--size=1m", "--bs=64k", "--filename=" + filepath.Join(shm, "ff"), "--ioengine=psync", "--output-format=json"}
		}
		b, err := exec.Command(fio, args...).Output()
		if err != nil {
			t.Fatalf("fio %v: %v", args, err)
		}
		if slices.Contains(objectKeys(t, b[bytes.IndexByte(b, '{'):]), "disk_util") {
			t.Errorf("fio %v: a disk_util, which the test takes it not to write", args)
		}
	}
}
