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

// statusRun splits the output of a run with --status-interval into its
// interval reports and the run's total, which comes last.
func statusRun(t *testing.T, out string) (reports []map[string]any, total map[string]any) {
	t.Helper()
	docs := decodeAll(t, out)
	if len(docs) == 0 || docs[len(docs)-1]["interval"] != nil {
		t.Fatalf("no total report after the %d documents", len(docs))
	}
	for i, d := range docs[:len(docs)-1] {
		if d["interval"] == nil {
			t.Fatalf("document %d of %d is not an interval report", i, len(docs))
		}
	}
	return docs[:len(docs)-1], docs[len(docs)-1]
}

// jobStartMs is when the reports' first job (all its clones, with
// group_reporting) started, in ms after the run's start, where the
// status periods count from, rounded down to the ms. A report's runtime
// is the time from the job's start (its earliest clone's) to the end of
// the report's period (end_ms), rounded up to the ms (a clone's measure
// goes to the last period it covers, with that period's time:
// TestStatusPublishPeriod), so end_ms less the runtime is the start
// rounded down. A report before the job's first completion has no
// runtime and tells nothing.
func jobStartMs(t *testing.T, reports []map[string]any) float64 {
	t.Helper()
	start := math.Inf(1)
	for _, d := range reports {
		j := d["jobs"].([]any)[0].(map[string]any)
		end := num(t, d, "interval", "end_ms")
		for _, dir := range []string{"read", "write"} {
			if num(t, j, dir, "total_ios") > 0 {
				start = min(start, end-num(t, j, dir, "runtime"))
			}
		}
	}
	if math.IsInf(start, 1) {
		t.Fatalf("no report with I/O in it, of %d", len(reports))
	}
	return start
}

// logPoint is a log's running total at one of its entries: what (bytes
// or I/Os) the log accounts for in its entries up to this one, less at
// most slack (what its values rounded off). An entry holds what was
// completed before a reap of the job's: the first at or after its time
// (a window of log_avg_msec, closed at its end), or the one at its time
// (a histogram period's entry, whose time is its reap's, in ms rounded
// down).
type logPoint struct{ at, cum, slack float64 }

// windowPoints returns the running totals of a log of windows of avg ms
// (log_avg_msec) at each window's end from the job's start to its
// runtime's: each entry is one of them, at its end, and adds amount(its
// value), less at most slack; a window the log leaves out is one the
// job completed nothing in (fio's logs leave such windows out), so its
// end is a point the log's total stays at. The one the runtime ends in
// is left out, as fio's.
func windowPoints(t *testing.T, times, vals []float64, avg, runtime float64, amount func(v float64) float64, slack float64) []logPoint {
	t.Helper()
	var pts []logPoint
	var cum, lost float64
	i := 0
	for end := avg; end < runtime; end += avg {
		if i < len(times) && times[i] == end {
			cum += amount(vals[i])
			lost += slack
			i++
		}
		pts = append(pts, logPoint{at: end, cum: cum, slack: lost})
	}
	if i < len(times) {
		t.Fatalf("entry %d at %v ms (after %v): want the ends of windows of %v ms from the start, before the runtime's (%v ms)", i, times[i], times[:i], avg, runtime)
	}
	return pts
}

// checkLogAgainstReports checks a log's running totals against the
// JSON's at each --status-interval report: the reports are cumulative,
// and each, as a log entry, holds what the job completed before the reap
// that closed its period, the first at or after its end. So an entry
// whose reap came before a report's period ended accounts for no more
// than the report, and one whose reap came at or after it for no less.
// None of this depends on how fast the job ran: each report's count is
// pinned between those of the log's entries on either side of it (a
// window's worth of I/O apart), and each entry's between those of the
// reports on either side of it (a period's worth apart), whatever the
// rate was; the only tolerance is the log's rounding (slack, less than
// one I/O). The job's time is the log's, from its start (the periods
// count from the run's): a report's end, τ in the job's time, is in
// (end_ms - start - 1, end_ms - start] (jobStartMs), and a pair is
// compared only where that settles its order; histogram entries
// (hist set) are in ms rounded down, a window's end exact. field is the
// reports' read counter the log's totals are in ("io_bytes",
// "total_ios"). The total, last, holds at least what the whole log does.
func checkLogAgainstReports(t *testing.T, what string, pts []logPoint, hist bool, reports []map[string]any, total map[string]any, field string) {
	t.Helper()
	start := jobStartMs(t, reports)
	width := 0.0
	if hist {
		width = 1
	}
	below, above := make([]bool, len(pts)), make([]bool, len(pts))
	for _, d := range reports {
		end := num(t, d, "interval", "end_ms")
		got := num(t, d["jobs"].([]any)[0].(map[string]any), "read", field)
		for i, p := range pts {
			switch {
			case p.at+width <= end-start-1: // closed before τ
				below[i] = true
				if p.cum > got {
					t.Errorf("%s: the log accounts for %.0f %s to %v ms, more than the report to %v ms in the run (%v ms in the job) has: %v",
						what, p.cum, field, p.at, end, end-start, got)
				}
			case p.at >= end-start: // closed at or after τ
				above[i] = true
				if got > p.cum+p.slack {
					t.Errorf("%s: the report to %v ms in the run (%v ms in the job) has %v %s, more than the log accounts for to %v ms: %.0f (+%.1f rounded off)",
						what, end, end-start, got, field, p.at, p.cum, p.slack)
				}
			}
		}
	}
	pinned := 0
	for i := range pts {
		if below[i] && above[i] {
			pinned++
		}
	}
	// The reports come every period from the job's start to the last
	// before its end: each entry has one on either side (unless a
	// stalled worker missed a period, which leaves no report).
	if pinned*2 < len(pts) {
		t.Errorf("%s: %d of the log's %d points lie between two of the %d reports", what, pinned, len(pts), len(reports))
	}
	t.Logf("%s: %d of its %d points between two of the %d reports (the job started %v ms after the run)", what, pinned, len(pts), len(reports), start)
	if n := len(pts); n > 0 {
		if got := num(t, total["jobs"].([]any)[0].(map[string]any), "read", field); pts[n-1].cum > got {
			t.Errorf("%s: the log accounts for %.0f %s, the run's total for %v", what, pts[n-1].cum, field, got)
		}
	}
}

// TestFio2Gnuplot: fio2gnuplot reads iobench's bandwidth log and finds the
// minimum, maximum and mean of its values; those match the log, whose
// entries are the run's windows of log_avg_msec, each's bytes over its
// length, and which accounts for what the JSON says was read: at each
// --status-interval report, to within the bytes of the one window the
// report's end falls in (checkLogAgainstReports), whatever the rate.
func TestFio2Gnuplot(t *testing.T) {
	dir := t.TempDir()
	tool := fioTool(t, "fio2gnuplot", dir)
	out := runInDir(t, dir, "--name=a", "--rw=randread", "--runtime=1", "--time_based", "--size=32m",
		"--write_bw_log=a", "--log_avg_msec=100", "--status-interval=70ms", "--output-format=json")
	times, vals := logValues(t, filepath.Join(dir, "a_bw.1.log"))
	if len(vals) < 2 {
		t.Fatalf("%d entries for 1 s at 100 ms (fio's: 9, the window the runtime ends not logged)", len(vals))
	}
	checkFio2gnuplot(t, dir, tool, vals)
	// Each entry is a window of 100 ms, at its end, its value the
	// window's KiB over its 0.1 s, rounded down: the window's bytes, less
	// up to 102.4. The 9 windows that end before the runtime's 1 s are
	// all there but those the job completed nothing in (a job that
	// stalled for a window, on a loaded machine): the reports say which
	// (windowPoints, checkLogAgainstReports).
	pts := windowPoints(t, times, vals, 100, 1000, func(v float64) float64 { return v * 0.1 * 1024 }, 102.4)
	reports, total := statusRun(t, out)
	checkLogAgainstReports(t, "bandwidth log", pts, false, reports, total, "io_bytes")
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
// IOPS log are the log's, and the log accounts for the I/Os the JSON
// counts. Debian's copy (fio 3.33) expects the four columns logs had
// before fio added the priority column, and fails the same way on fio
// 3.33's own logs, so it is given the first four.
func TestFioLogParser(t *testing.T) {
	dir := t.TempDir()
	tool := fioTool(t, "fiologparser.py", dir)
	out := runInDir(t, dir, "--name=a", "--rw=randread", "--runtime=2", "--time_based", "--size=32m",
		"--write_iops_log=a", "--log_avg_msec=250", "--status-interval=70ms", "--output-format=json")
	b, _ := os.ReadFile(filepath.Join(dir, "a_iops.1.log"))
	var four []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(l, ", ")
		four = append(four, strings.Join(f[:4], ", "))
	}
	os.WriteFile(filepath.Join(dir, "a4_iops.log"), []byte(strings.Join(four, "\n")+"\n"), 0o644)
	res := runTool(t, dir, true, tool, "-a", "a4_iops.log")
	// Each entry is a window of 250 ms, at its end, its value the
	// window's I/Os over 0.25 s: four times a count.
	times, vals := logValues(t, filepath.Join(dir, "a_iops.1.log"))
	for i, v := range vals {
		if math.Mod(v, 4) != 0 {
			t.Fatalf("entry %d: %v IOPS is no count of I/Os in 0.25 s", i, v)
		}
	}
	pts := windowPoints(t, times, vals, 250, 2000, func(v float64) float64 { return v / 4 }, 0)
	reports, total := statusRun(t, out)
	checkLogAgainstReports(t, "IOPS log", pts, false, reports, total, "total_ios")
	// Each row is a second's IOPS, the last second's to the log's end
	// (fiologparser's intervals end there): the I/Os of the windows in
	// it over its length, each entry's value holding from the entry
	// before to its own (fio's tools read a log so; after a window the
	// log left out, the next entry's spans both).
	end := times[len(times)-1]
	var want []float64
	for lo := 0.0; lo < end; lo += 1000 {
		hi := min(lo+1000, end)
		var v, prev float64
		for i, tm := range times {
			if o := min(tm, hi) - max(prev, lo); o > 0 {
				v += vals[i] * o / (hi - lo)
			}
			prev = tm
		}
		want = append(want, v)
	}
	var rows []float64
	for _, l := range strings.Split(strings.TrimSpace(res), "\n") {
		f := strings.Split(l, ", ")
		if len(f) != 2 {
			t.Fatalf("fiologparser output %q", l)
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		rows = append(rows, v)
	}
	if len(rows) != len(want) || len(rows) != 2 {
		t.Fatalf("fiologparser: %d rows %v for a log to %v ms, want 2: %v", len(rows), rows, end, want)
	}
	for i := range rows {
		if math.Abs(rows[i]-want[i]) > 0.0005+1e-9*want[i] {
			t.Errorf("fiologparser: second %d: %v IOPS, the log's %v (rows %v)", i+1, rows[i], want[i], rows)
		}
	}
}

// TestFioLogParserHist: fiologparser_hist.py reads iobench's histogram
// log: its sample count is the log's, which accounts for the I/Os the
// JSON counts over the periods it holds (as fio's, it leaves out the
// period the runtime ends), and its median and 99th percentile are those
// of the log's buckets, which hold the JSON's median over the same I/Os.
func TestFioLogParserHist(t *testing.T) {
	dir := t.TempDir()
	tool := fioTool(t, "fiologparser_hist.py", dir)
	out := runInDir(t, dir, "--name=a", "--rw=randread", "--runtime=1500ms", "--time_based", "--size=32m",
		"--write_hist_log=a", "--log_hist_msec=500", "--status-interval=70ms", "--output-format=json")
	res := runTool(t, dir, true, tool, "--noweight", "-i", "100000", "--percentiles", "50:99", "a_clat_hist.1.log")
	lines := strings.Split(strings.TrimSpace(res), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "end-time, samples, min, avg, median, 50%, 99%") {
		t.Fatalf("fiologparser_hist output:\n%s", res)
	}
	f := strings.Split(lines[1], ", ")
	val := func(i int) float64 { v, _ := strconv.ParseFloat(f[i], 64); return v }
	reports, doc := statusRun(t, out)
	// Each entry is a period's counts, at the time of the reap that ended
	// it, 500 ms or more after the one before (the first's from the
	// start): two in 1.5 s, the period the runtime ends in left out. The
	// tool counts what they hold.
	b, _ := os.ReadFile(filepath.Join(dir, "a_clat_hist.1.log"))
	entries := strings.Split(strings.TrimSpace(string(b)), "\n")
	counts := make([]uint64, fioPlatNR)
	var total uint64
	var pts []logPoint
	prev := 0.0
	for _, e := range entries {
		cols := strings.Split(e, ", ")
		tm, _ := strconv.ParseFloat(cols[0], 64)
		if tm < prev+500 {
			t.Fatalf("histogram log entries at %v ms, then %v: want periods of 500 ms or more from the start", prev, tm)
		}
		prev = tm
		for i, c := range cols[3:] {
			n, _ := strconv.ParseUint(c, 10, 64)
			counts[i] += n
			total += n
		}
		pts = append(pts, logPoint{at: tm, cum: float64(total)})
	}
	if len(entries) != 2 || val(1) != float64(total) {
		t.Errorf("fiologparser_hist counts %v samples in %d periods to %v ms; the log holds %d", val(1), len(entries), prev, total)
	}
	checkLogAgainstReports(t, "histogram log", pts, true, reports, doc, "total_ios")
	// Both percentiles against the log's own buckets, and the log's
	// buckets against the JSON's median over the same I/Os, give or take
	// those of a report's period: the log holds the I/Os completed before
	// the reap of its last entry, a report those before the reap that
	// closed its period (checkLogAgainstReports), so one closed after the
	// log's last entry holds the log's I/Os and k more, one closed before
	// it the log's less k. A report's median is its I/O of rank
	// r = ⌈n/2⌉ of its n: the log's of rank r-k to r (a report of more)
	// or r to r+k (of fewer), whatever the latencies did over the run
	// (the log's median is not the run's: the latencies of a loop device
	// over /dev/shm change as the run goes, by 3 times on a busy machine).
	// The JSON's values are HdrHistogram's, the log's fio's buckets, 1/64
	// of a power of two wide: within the buckets on either side and 2%.
	bucketAt := func(rank uint64) int {
		var cum uint64
		for i, c := range counts {
			if cum += c; cum >= rank {
				return i
			}
		}
		return len(counts) - 1
	}
	start, end := jobStartMs(t, reports), pts[len(pts)-1].at
	medians := 0
	for _, d := range reports {
		tau := num(t, d, "interval", "end_ms") - start
		rj := d["jobs"].([]any)[0].(map[string]any)
		n := uint64(num(t, rj, "read", "total_ios"))
		r := (n + 1) / 2
		var lo, hi uint64
		switch {
		case n == 0:
			continue
		case end >= tau && n <= total: // closed before the log's last entry
			lo, hi = r, r+total-n
		case end+1 <= tau-1 && n >= total: // closed after it
			lo, hi = max(r, n-total+1)-(n-total), r
		default:
			continue
		}
		medians++
		want := num(t, rj, "read", "clat_ns", "percentile", "50.000000")
		blo, bhi := bucketAt(lo), bucketAt(hi)
		if want < 0.98*float64(fioPlatValue(max(blo-1, 0))) || want > 1.02*float64(fioPlatValue(bhi+1)) {
			t.Errorf("p50: the report to %v ms in the job has %v ns over %d I/Os; the log's %d, whose I/Os of rank %d to %d are in its buckets %v-%v ns",
				tau, want, n, total, lo, hi, fioPlatValue(blo), fioPlatValue(bhi))
		}
	}
	if medians < 2 {
		t.Errorf("p50: %d of the %d reports compared with the log", medians, len(reports))
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
