package runner

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/iobench/iobench/workloads"
)

// These tests run fio's own post-processing tools, as Debian's fio
// package installs them, on iobench's output, and check what the tools
// compute against iobench's JSON. `make deps` installs the tools and
// their Python modules and gnuplot.

// sysPython is the interpreter the Debian tools' modules are installed
// for (a python3 earlier in PATH may lack them).
const sysPython = "/usr/bin/python3"

// fioTool returns the path of one of fio's tools, unpacking the ones
// Debian ships gzipped under /usr/share/doc/fio into dir.
func fioTool(t *testing.T, name, dir string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	gz := filepath.Join("/usr/share/doc/fio", name+".gz")
	f, err := os.Open(gz)
	if err != nil {
		t.Skipf("%s not installed (make deps installs fio): %v", name, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// runTool runs a Python tool of fio's (or another program) in dir.
func runTool(t *testing.T, dir string, python bool, prog string, args ...string) string {
	t.Helper()
	if python {
		if _, err := os.Stat(sysPython); err != nil {
			t.Skip("no " + sysPython)
		}
		args = append([]string{prog}, args...)
		prog = sysPython
	}
	cmd := exec.Command(prog, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "ModuleNotFoundError") || strings.Contains(string(out), "need gnuplot") {
			t.Skipf("%s: a dependency is missing (make deps installs it): %s", filepath.Base(prog), out)
		}
		t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
	}
	return string(out)
}

// runInDir runs iobench with dir as the working directory (logs are
// written relative to it).
func runInDir(t *testing.T, dir string, args ...string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for the loop device target")
	}
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	code, out, errs := run(t, append(args, "--target-size=128m")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	return out
}

// TestFioBucketsMatchFio: the json+ bin names iobench computes are the
// ones fio uses (every bin fio itself writes maps back to itself).
func TestFioBucketsMatchFio(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 1000, 1752, 7392, 123456, 1 << 40} {
		idx := fioPlatIdx(v)
		if got := fioPlatIdx(fioPlatValue(idx)); got != idx {
			t.Errorf("%d: bucket %d's value %d is in bucket %d", v, idx, fioPlatValue(idx), got)
		}
	}
	if fioPlatValue(fioPlatIdx(1752)) != 1752 || fioPlatValue(fioPlatIdx(7392)) != 7392 || fioPlatValue(fioPlatIdx(100)) != 100 {
		t.Errorf("bucket values differ from fio's")
	}
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed")
	}
	out, err := exec.Command(fio, "--name=b", "--ioengine=null", "--size=64m", "--rw=randrw", "--output-format=json+").Output()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Jobs []struct {
			Read struct {
				Clat struct {
					Bins map[string]uint64 `json:"bins"`
				} `json:"clat_ns"`
			} `json:"read"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc.Jobs[0].Read.Clat.Bins) == 0 {
		t.Fatalf("fio json+: %v", err)
	}
	for k := range doc.Jobs[0].Read.Clat.Bins {
		v, _ := strconv.ParseUint(k, 10, 64)
		if fioPlatValue(fioPlatIdx(v)) != v {
			t.Errorf("fio's bin %d is not a bucket value of ours", v)
		}
	}
}

// TestJSONPlusClat2CSV: fio_jsonplus_clat2csv turns iobench's json+ into
// CSV whose counts add up to the I/Os, whose cumulative percentiles cross
// 50% and 99% where the JSON's percentiles say, and which its own
// --validate accepts.
func TestJSONPlusClat2CSV(t *testing.T) {
	dir := t.TempDir()
	tool := fioTool(t, "fio_jsonplus_clat2csv", dir)
	out := runInDir(t, dir, "--name=a", "--rw=randrw", "--runtime=500ms", "--time_based", "--size=32m",
		"--lat_percentiles=1", "--name=b", "--rw=read", "--bs=64k", "--output-format=json+")
	os.WriteFile(filepath.Join(dir, "out.json"), []byte(out), 0o644)
	runTool(t, dir, true, tool, "out.json", "out.csv")
	if v := runTool(t, dir, true, tool, "out.json", "out.csv", "--validate"); strings.Count(v, "validated") != 2 {
		t.Fatalf("--validate: %s", v)
	}
	var doc map[string]any
	json.Unmarshal([]byte(out), &doc)
	for ji, jv := range doc["jobs"].([]any) {
		job := jv.(map[string]any)
		csv, err := os.ReadFile(filepath.Join(dir, "out_job"+strconv.Itoa(ji)+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
		cols := strings.Split(lines[0], ", ")
		for _, dir := range []string{"read", "write"} {
			n := num(t, job, dir, "total_ios")
			if n == 0 {
				continue
			}
			col := -1
			for i, c := range cols {
				if c == dir+"_clat_ns_count" {
					col = i
				}
			}
			// The bins where the cumulative count reaches the ranks just
			// below and just above each percentile's (a sparse tail puts
			// neighbouring ranks far apart).
			ranks := map[string][2]float64{"50.000000": {0.5*n - 1, 0.5*n + 1}, "99.000000": {0.99*n - 1, 0.99*n + 1}}
			at := map[string][2]float64{}
			var sum float64
			for _, l := range lines[1:] {
				f := strings.Split(l, ",")
				c := strings.TrimSpace(f[col])
				if c == "" {
					continue
				}
				cnt, _ := strconv.ParseFloat(c, 64)
				ns, _ := strconv.ParseFloat(strings.TrimSpace(f[0]), 64)
				if fioPlatValue(fioPlatIdx(uint64(ns))) != uint64(ns) {
					t.Errorf("bin %v ns is not one of fio's", ns)
				}
				sum += cnt
				for k, r := range ranks {
					a := at[k]
					if a[0] == 0 && sum >= r[0] {
						a[0] = ns
					}
					if a[1] == 0 && sum >= r[1] {
						a[1] = ns
					}
					at[k] = a
				}
			}
			if sum != n {
				t.Errorf("job %d %s: CSV counts add up to %v, the JSON has %v I/Os", ji, dir, sum, n)
			}
			// fio's buckets are 1/64 of a power of two wide: within 2%.
			for k, a := range at {
				want := num(t, job, dir, "clat_ns", "percentile", k)
				if want < a[0]*0.98-2 || want > a[1]*1.02+2 {
					t.Errorf("job %d %s p%s: JSON %v ns, CSV bins %v", ji, dir, k, want, a)
				}
			}
		}
	}
}

// logValues reads column 2 of a fio log.
func logValues(t *testing.T, path string) (times, values []float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(l, ", ")
		if len(f) != 5 {
			t.Fatalf("%s: %q is not fio 3.33's time, value, ddir, bs, prio", path, l)
		}
		tm, _ := strconv.ParseFloat(f[0], 64)
		v, _ := strconv.ParseFloat(f[1], 64)
		times, values = append(times, tm), append(values, v)
	}
	return times, values
}

// checkFio2gnuplot runs fio2gnuplot (tool) on the bandwidth logs in dir
// and checks the minimum, maximum, mean and count it finds against vals,
// the values of the log.
func checkFio2gnuplot(t *testing.T, dir, tool string, vals []float64) {
	t.Helper()
	os.Mkdir(filepath.Join(dir, "g"), 0o755)
	runTool(t, dir, true, tool, "-b", "-k", "-d", "g/")
	g, err := os.ReadFile(filepath.Join(dir, "g", "result.global"))
	if err != nil {
		t.Fatal(err)
	}
	lo, hi, mean, _ := sampleStats(vals)
	for _, c := range []struct {
		key  string
		want float64
	}{{"min", lo}, {"max", hi}, {"avg", mean}, {"values_count", float64(len(vals))}} {
		m := regexp.MustCompile(c.key + `=([0-9.]+)`).FindStringSubmatch(string(g))
		if m == nil {
			t.Fatalf("no %s in %s", c.key, g)
		}
		if got, _ := strconv.ParseFloat(m[1], 64); math.Abs(got-c.want) > 0.01 {
			t.Errorf("fio2gnuplot %s = %v, the log's is %v", c.key, got, c.want)
		}
	}
}

// TestFio2Gnuplot: fio2gnuplot reads iobench's bandwidth log and finds the
// minimum, maximum and mean of its values; those match the log, and the
// log's mean matches the bandwidth in the JSON.
func TestFio2Gnuplot(t *testing.T) {
	dir := t.TempDir()
	tool := fioTool(t, "fio2gnuplot", dir)
	out := runInDir(t, dir, "--name=a", "--rw=randread", "--runtime=1", "--time_based", "--size=32m",
		"--write_bw_log=a", "--log_avg_msec=100", "--output-format=json")
	_, vals := logValues(t, filepath.Join(dir, "a_bw.1.log"))
	if len(vals) < 9 || len(vals) > 10 {
		t.Fatalf("%d entries for 1 s at 100 ms (fio's: 9, the window the runtime ends not logged)", len(vals))
	}
	checkFio2gnuplot(t, dir, tool, vals)
	// The windows' rates times their lengths add up to what was read.
	times, _ := logValues(t, filepath.Join(dir, "a_bw.1.log"))
	var kib, prev float64
	for i, v := range vals {
		kib += v * (times[i] - prev) / 1000
		prev = times[i]
	}
	var doc map[string]any
	json.Unmarshal([]byte(out), &doc)
	// The log covers the run up to its last window's end: that share of
	// what the JSON says was read.
	j := doc["jobs"].([]any)[0].(map[string]any)
	if want := num(t, j, "read", "io_kbytes") * prev / num(t, j, "read", "runtime"); math.Abs(kib-want) > 0.05*want {
		t.Errorf("the bandwidth log accounts for %.0f KiB to %v ms, the JSON for %.0f", kib, prev, want)
	}
}

// TestFioGeneratePlots: fio_generate_plots draws every log iobench wrote,
// and the line it draws for the bandwidth log goes through the log's
// values (the plotted points are a linear map of them).
func TestFioGeneratePlots(t *testing.T) {
	dir := t.TempDir()
	tool := fioTool(t, "fio_generate_plots", dir)
	if _, err := exec.LookPath("gnuplot"); err != nil {
		t.Skip("gnuplot not installed (make deps installs gnuplot-nox)")
	}
	runInDir(t, dir, "--name=a", "--rw=randread", "--runtime=1", "--time_based", "--size=32m",
		"--write_bw_log=a", "--write_lat_log=a", "--write_iops_log=a", "--log_avg_msec=100")
	runTool(t, dir, false, tool, "t")
	for _, kind := range []string{"lat", "clat", "slat", "iops", "bw"} {
		if _, err := os.Stat(filepath.Join(dir, "t-"+kind+".svg")); err != nil {
			t.Errorf("no plot of the %s log: %v", kind, err)
		}
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "t-bw.svg"))
	// The first plot's path: two points of legend, then the data.
	m := regexp.MustCompile(`(?s)id="gnuplot_plot_1".*?<path[^>]*d='([^']*)'`).FindSubmatch(svg)
	if m == nil {
		t.Fatalf("no data line in the bandwidth plot")
	}
	pts := regexp.MustCompile(`[ML]\s*([0-9.]+),([0-9.]+)`).FindAllStringSubmatch(string(m[1]), -1)
	times, vals := logValues(t, filepath.Join(dir, "a_bw.1.log"))
	if len(pts) != len(vals)+2 {
		t.Fatalf("%d points plotted for %d log entries", len(pts)-2, len(vals))
	}
	var xs, ys []float64
	for _, p := range pts[2:] {
		x, _ := strconv.ParseFloat(p[1], 64)
		y, _ := strconv.ParseFloat(p[2], 64)
		xs, ys = append(xs, x), append(ys, y)
	}
	if r := correlation(times, xs); r < 0.9999 {
		t.Errorf("x positions do not follow the log's times (r=%v)", r)
	}
	if r := correlation(vals, ys); r > -0.999 {
		t.Errorf("y positions do not follow the log's values (r=%v)", r)
	}
}

func correlation(a, b []float64) float64 {
	_, _, ma, sa := sampleStats(a)
	_, _, mb, sb := sampleStats(b)
	if sa == 0 || sb == 0 {
		return 0
	}
	var c float64
	for i := range a {
		c += (a[i] - ma) * (b[i] - mb)
	}
	return c / float64(len(a)-1) / sa / sb
}

// TestFioLogParser: fiologparser.py's per-second averages of iobench's
// IOPS log come to the JSON's IOPS. Debian's copy (fio 3.33) expects the four
// columns logs had before fio added the priority column, and fails the
// same way on fio 3.33's own logs, so it is given the first four.
func TestFioLogParser(t *testing.T) {
	dir := t.TempDir()
	tool := fioTool(t, "fiologparser.py", dir)
	out := runInDir(t, dir, "--name=a", "--rw=randread", "--runtime=2", "--time_based", "--size=32m",
		"--write_iops_log=a", "--log_avg_msec=250", "--output-format=json")
	b, _ := os.ReadFile(filepath.Join(dir, "a_iops.1.log"))
	var four []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(l, ", ")
		four = append(four, strings.Join(f[:4], ", "))
	}
	os.WriteFile(filepath.Join(dir, "a4_iops.log"), []byte(strings.Join(four, "\n")+"\n"), 0o644)
	res := runTool(t, dir, true, tool, "-a", "a4_iops.log")
	var doc map[string]any
	json.Unmarshal([]byte(out), &doc)
	iops := num(t, doc["jobs"].([]any)[0].(map[string]any), "read", "iops")
	// Each row is one second's IOPS; together they are the run's.
	var rows []float64
	for _, l := range strings.Split(strings.TrimSpace(res), "\n") {
		f := strings.Split(l, ", ")
		if len(f) != 2 {
			t.Fatalf("fiologparser output %q", l)
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		rows = append(rows, v)
	}
	// The last log entry is the window the run ended in, which may close
	// a few ms past the 2 s (the last reap after the deadline): a third
	// second's row then, from a sliver of a window, which the mean
	// leaves out.
	last := four[len(four)-1]
	lastMs, _ := strconv.Atoi(last[:strings.Index(last, ",")])
	if len(rows) == 3 && lastMs > 2000 && lastMs < 2100 {
		rows = rows[:2]
	}
	_, _, mean, _ := sampleStats(rows)
	if len(rows) != 2 || math.Abs(mean-iops) > 0.05*iops {
		t.Errorf("fiologparser: per-second IOPS %v (last entry at %d ms), the JSON's %v", rows, lastMs, iops)
	}
}

// TestFioLogParserHist: fiologparser_hist.py reads iobench's histogram
// log: its sample counts add up to the JSON's I/Os over the periods it
// holds (as fio's, it leaves out the period the runtime ends: 1000 of
// the run's 1500 ms), and its median and 99th percentile are those of
// the log's buckets, the median near the JSON's.
func TestFioLogParserHist(t *testing.T) {
	dir := t.TempDir()
	tool := fioTool(t, "fiologparser_hist.py", dir)
	out := runInDir(t, dir, "--name=a", "--rw=randread", "--runtime=1500ms", "--time_based", "--size=32m",
		"--write_hist_log=a", "--log_hist_msec=500", "--output-format=json")
	res := runTool(t, dir, true, tool, "--noweight", "-i", "100000", "--percentiles", "50:99", "a_clat_hist.1.log")
	lines := strings.Split(strings.TrimSpace(res), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "end-time, samples, min, avg, median, 50%, 99%") {
		t.Fatalf("fiologparser_hist output:\n%s", res)
	}
	f := strings.Split(lines[1], ", ")
	val := func(i int) float64 { v, _ := strconv.ParseFloat(f[i], 64); return v }
	var doc map[string]any
	json.Unmarshal([]byte(out), &doc)
	job := doc["jobs"].([]any)[0].(map[string]any)
	// The log's last entry closes its last period: what came before it
	// is that share of the run's I/Os, at a steady rate.
	b, _ := os.ReadFile(filepath.Join(dir, "a_clat_hist.1.log"))
	entries := strings.Split(strings.TrimSpace(string(b)), "\n")
	last, _ := strconv.ParseFloat(strings.SplitN(entries[len(entries)-1], ",", 2)[0], 64)
	n, rt := num(t, job, "read", "total_ios"), num(t, job, "read", "runtime")
	if want := n * last / rt; len(entries) != 2 || math.Abs(val(1)-want) > 0.1*want {
		t.Errorf("histogram log holds %v samples in %d periods to %v ms, the JSON %v I/Os in %v ms", val(1), len(entries), last, n, rt)
	}
	// Both percentiles against the log's own buckets; the median against
	// the JSON's too, loosely: the log holds two thirds of the run, and a
	// busy moment of a shared machine moves a third's latencies (12%
	// apart in one run), but not by the factor a unit's slip would.
	if want, got := num(t, job, "read", "clat_ns", "percentile", "50.000000"), val(5); math.Abs(got-want) > 0.35*want+2 {
		t.Errorf("p50: fiologparser_hist %v ns, JSON %v ns", got, want)
	}
	counts := make([]uint64, fioPlatNR)
	var total uint64
	for _, e := range entries {
		for i, c := range strings.Split(e, ", ")[3:] {
			n, _ := strconv.ParseUint(c, 10, 64)
			counts[i] += n
			total += n
		}
	}
	for _, pc := range []struct {
		name  string
		share float64
		col   int
	}{{"p50", 0.50, 5}, {"p99", 0.99, 6}} {
		var cum uint64
		for i, c := range counts {
			if cum += c; float64(cum) >= pc.share*float64(total) {
				lo, hi := float64(fioPlatValue(max(i-1, 0))), float64(fioPlatValue(i+1))
				if got := val(pc.col); got < 0.9*lo || got > 1.1*hi {
					t.Errorf("%s: fiologparser_hist %v ns, the log's buckets %v-%v ns", pc.name, got, lo, hi)
				}
				break
			}
		}
	}
}

// TestLogsAndTerse: per-I/O logs have an entry per I/O with fio's
// columns (and the offset with log_offset); per_job_logs=0 puts clones
// in one file; log_max_value logs the window's maximum; terse v3 has
// fio's 121 fields (plus 9 per measured disk) and the JSON's numbers.
func TestLogsAndTerse(t *testing.T) {
	dir := t.TempDir()
	out := runInDir(t, dir, "--name=a", "--rw=randread", "--size=4m", "--write_lat_log=a", "--log_offset=1",
		"--write_iops_log=a", "--output-format=json,terse")
	// As fio 3.33 writes them: the terse line first, then the JSON.
	terse, jsonPart, _ := strings.Cut(out, "\n")
	var doc map[string]any
	if err := json.Unmarshal([]byte(jsonPart), &doc); err != nil {
		t.Fatalf("json part: %v", err)
	}
	job := doc["jobs"].([]any)[0].(map[string]any)
	n := num(t, job, "read", "total_ios")
	for _, kind := range []string{"lat", "clat", "slat", "iops"} {
		b, err := os.ReadFile(filepath.Join(dir, "a_"+kind+".1.log"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if float64(len(lines)) != n || len(strings.Split(lines[0], ", ")) != 6 {
			t.Errorf("%s log: %d lines (want %v), first %q", kind, len(lines), n, lines[0])
		}
		offs := map[string]bool{}
		for _, l := range lines {
			offs[strings.Split(l, ", ")[4]] = true
		}
		if float64(len(offs)) != n {
			t.Errorf("%s log: %d distinct offsets for %v I/Os over 4 MiB read once", kind, len(offs), n)
		}
	}
	f := strings.Split(terse, ";")
	if len(f) != 121 && len(f) != 130 || f[0] != "3" || f[2] != "a" {
		t.Fatalf("terse: %d fields: %q", len(f), terse)
	}
	if kib, _ := strconv.ParseFloat(f[5], 64); kib != 4096 {
		t.Errorf("terse read total_io %v KiB, want 4096", kib)
	}
	if ios, _ := strconv.ParseFloat(f[7], 64); math.Abs(ios-num(t, job, "read", "iops")) > 1 {
		t.Errorf("terse iops %v, JSON %v", ios, num(t, job, "read", "iops"))
	}

	dir = t.TempDir()
	out = runInDir(t, dir, "--output-format=json", "--name=c", "--rw=randread", "--size=2m", "--numjobs=2", "--per_job_logs=0", "--write_lat_log=c",
		"--name=m", "--rw=randread", "--runtime=600ms", "--time_based", "--size=8m", "--write_lat_log=m", "--log_avg_msec=200", "--log_max_value=1")
	b, err := os.ReadFile(filepath.Join(dir, "c_lat.log"))
	if err != nil {
		t.Fatalf("per_job_logs=0: %v", err)
	}
	if lines := strings.Count(string(b), "\n"); lines != 1024 {
		t.Errorf("per_job_logs=0: %d entries for two clones of 512 I/Os", lines)
	}
	// The windows' maxima include the run's maximum.
	_, maxes := logValues(t, filepath.Join(dir, "m_lat.3.log"))
	json.Unmarshal([]byte(out), &doc)
	want := num(t, doc["jobs"].([]any)[2].(map[string]any), "read", "lat_ns", "max")
	if lo, hi, _, _ := sampleStats(maxes); len(maxes) < 2 || math.Abs(hi-want) > 0.002*want || lo == hi {
		t.Errorf("log_max_value: window maxima %v, the run's maximum %v", maxes, want)
	}
}

// TestEveryFioOptionKnown: every job option the installed fio lists
// (fio --cmdhelp=all, and its io_uring engine's, --enghelp=io_uring) is
// one iobench knows: honoured, refused with its reason, or accepted with a
// notice; none is "unknown".
func TestEveryFioOptionKnown(t *testing.T) {
	fio, err := fioPath()
	if err != nil {
		t.Skip(err)
	}
	out, err := exec.Command(fio, "--cmdhelp=all").Output()
	if err != nil {
		t.Fatalf("fio --cmdhelp=all: %v", err)
	}
	eng, err := exec.Command(fio, "--enghelp=io_uring").Output()
	if err != nil {
		t.Fatalf("fio --enghelp=io_uring: %v", err)
	}
	out = append(out, eng...)
	re := regexp.MustCompile(`(?m)^\s*([a-z0-9_-]+)\s+: `)
	names := re.FindAllStringSubmatch(string(out), -1)
	if len(names) < 100 {
		t.Fatalf("fio --cmdhelp=all listed %d options:\n%s", len(names), out)
	}
	known := func(name string) bool {
		_, ok := workloads.Lookup(name)
		return ok || workloads.IsRefused(name) || workloads.IsNotice(name)
	}
	aliasRe := regexp.MustCompile(`(?m)^\s*alias: ([a-z0-9_]+)`)
	aliases := 0
	for _, m := range names {
		name := m[1]
		if !known(name) {
			t.Errorf("fio's option %s is unknown to iobench", name)
		}
		// --cmdhelp=all leaves the aliases out; each option's own help
		// names them.
		help, err := exec.Command(fio, "--cmdhelp="+name).Output()
		if err != nil {
			t.Fatalf("fio --cmdhelp=%s: %v", name, err)
		}
		for _, a := range aliasRe.FindAllStringSubmatch(string(help), -1) {
			aliases++
			if !known(a[1]) {
				t.Errorf("fio's alias %s (of %s) is unknown to iobench", a[1], name)
			} else if workloads.Canonical(a[1]) != workloads.Canonical(name) && !workloads.IsRefused(a[1]) {
				t.Errorf("fio's alias %s stands for %s; iobench takes it for %s", a[1], name, workloads.Canonical(a[1]))
			}
		}
	}
	if aliases < 10 {
		t.Errorf("found %d aliases in fio's option help; its format changed?", aliases)
	}
	// --cmdhelp=all leaves some job options out (iomem_align,
	// softrandommap, the options of fio's profiles, which fio takes in any
	// job): fio's HOWTO, which its Debian package installs, lists them all.
	const howto = "/usr/share/doc/fio/HOWTO.rst.gz"
	f, err := os.Open(howto)
	if err != nil {
		t.Logf("no %s: %v", howto, err)
		return
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	listed := 0
	for _, name := range howtoJobOptions(string(text)) {
		listed++
		if !known(name) {
			t.Errorf("fio's option %s (in its HOWTO) is unknown to iobench", name)
		}
	}
	if listed < 200 {
		t.Errorf("found %d job options in %s; its format changed?", listed, howto)
	}
}

// howtoJobOptions returns the job options fio's HOWTO describes
// (".. option:: name=type"), leaving out its command-line options and the
// I/O engines' own (the section "I/O engine specific parameters", up to
// "I/O depth").
func howtoJobOptions(text string) []string {
	var out []string
	engines := false
	for _, line := range strings.Split(text, "\n") {
		switch strings.TrimSpace(line) {
		case "I/O engine specific parameters":
			engines = true
		case "I/O depth":
			engines = false
		}
		rest, ok := strings.CutPrefix(line, ".. option:: ")
		if !ok || engines || strings.HasPrefix(rest, "-") {
			continue
		}
		if i := strings.IndexAny(rest, "=, "); i >= 0 {
			rest = rest[:i]
		}
		out = append(out, rest)
	}
	return out
}
