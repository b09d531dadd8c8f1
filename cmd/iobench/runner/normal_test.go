package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/iobench/iobench/workloads"
	"golang.org/x/sys/unix"
)

// Pieces of the regexps of fio's normal-report lines.
const (
	reNum  = `\d+(\.\d+)?[kMGTP]?`             // num2str without a unit: 1999, 30.7k, 1668.8k
	reSize = `\d+(\.\d+)?([kMGTP]|[KMGTP]i)?B` // 2330MiB, 15.6MiB, 8192kB
	reRate = reSize + `/s`
	reF2   = ` *\d+\.\d\d` // %5.02f
	rePct1 = `\d+\.\d%`    // %3.1f%%
	reUnit = `\((nsec|usec|msec)\)`
)

// normalLineKinds classifies the lines of fio 3.33's normal report (and
// of the header it prints before the run), each by the regexp of its
// exact format. A line no kind matches is not fio's.
var normalLineKinds = []struct {
	kind string
	re   *regexp.Regexp
}{
	{"job line", regexp.MustCompile(`^\S+: \(g=\d+\): rw=\w+, bs=\(R\) ` + reSize + `-` + reSize + `, \(W\) ` + reSize + `-` + reSize +
		`, \(T\) ` + reSize + `-` + reSize + `, ioengine=\w+, iodepth=\d+$`)},
	{"clones", regexp.MustCompile(`^\.\.\.$`)},
	{"version", regexp.MustCompile(`^(fio|iobench)-\d+\.\d+$`)},
	{"starting", regexp.MustCompile(`^Starting \d+ (process|processes|thread|threads)$`)},
	{"blank", regexp.MustCompile(`^$`)},
	{"header", regexp.MustCompile(`^\S+: \(groupid=\d+, jobs=\d+\): err= *\d+( \(.*\))?: pid=\d+: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$`)},
	{"direction", regexp.MustCompile(`^  (read|write|trim|mixed): IOPS=` + reNum + `, BW=` + reRate + ` \(` + reRate + `\)\(` + reSize +
		`/\d+msec\)(; \d+ zone resets)?$`)},
	{"slat", regexp.MustCompile(`^    slat ` + reUnit + `: min=` + reNum + `, max=` + reNum + `, avg=` + reF2 + `, stdev=` + reF2 + `$`)},
	{"clat", regexp.MustCompile(`^    clat ` + reUnit + `: min=` + reNum + `, max=` + reNum + `, avg=` + reF2 + `, stdev=` + reF2 + `$`)},
	{"lat", regexp.MustCompile(`^     lat ` + reUnit + `: min=` + reNum + `, max=` + reNum + `, avg=` + reF2 + `, stdev=` + reF2 + `$`)},
	{"percentiles", regexp.MustCompile(`^    (slat|clat|lat|sync) percentiles ` + reUnit + `:$`)},
	{"percentile row", regexp.MustCompile(`^     \|( +\d+(\.\d+)?th=\[ *\d+\],)*( +\d+(\.\d+)?th=\[ *\d+\],?)$`)},
	{"bw", regexp.MustCompile(`^   bw \( *(KiB|MiB|kB)/s\): min= *\d+, max= *\d+, per=\d+\.\d\d%, avg=` + reF2 + `, stdev=` + reF2 + `, samples=\d+$`)},
	{"iops", regexp.MustCompile(`^   iops        : min= *\d+, max= *\d+, avg=` + reF2 + `, stdev=` + reF2 + `, samples=\d+$`)},
	{"lat buckets", regexp.MustCompile(`^  lat ` + reUnit + `   : (>=)?\d+=\d+\.\d\d%(, (>=)?\d+=\d+\.\d\d%){0,4}$`)},
	{"fsync", regexp.MustCompile(`^  fsync/fdatasync/sync_file_range:$`)},
	{"sync", regexp.MustCompile(`^    sync ` + reUnit + `: min=` + reNum + `, max=` + reNum + `, avg=` + reF2 + `, stdev=` + reF2 + `$`)},
	{"cpu", regexp.MustCompile(`^  cpu          : usr=\d+\.\d\d%, sys=\d+\.\d\d%, ctx=\d+, majf=\d+, minf=\d+$`)},
	{"IO depths", regexp.MustCompile(`^  IO depths    : 1=` + rePct1 + `, 2=` + rePct1 + `, 4=` + rePct1 + `, 8=` + rePct1 + `, 16=` + rePct1 +
		`, 32=` + rePct1 + `, >=64=` + rePct1 + `$`)},
	{"submit", regexp.MustCompile(`^     submit    : 0=` + rePct1 + `, 4=` + rePct1 + `, 8=` + rePct1 + `, 16=` + rePct1 + `, 32=` + rePct1 +
		`, 64=` + rePct1 + `, >=64=` + rePct1 + `$`)},
	{"complete", regexp.MustCompile(`^     complete  : 0=` + rePct1 + `, 4=` + rePct1 + `, 8=` + rePct1 + `, 16=` + rePct1 + `, 32=` + rePct1 +
		`, 64=` + rePct1 + `, >=64=` + rePct1 + `$`)},
	{"issued", regexp.MustCompile(`^     issued rwts: total=\d+,\d+,\d+,\d+ short=\d+,\d+,\d+,\d+ dropped=\d+,\d+,\d+,\d+$`)},
	{"latency", regexp.MustCompile(`^     latency   : target=\d+, window=\d+, percentile=\d+\.\d\d%, depth=\d+$`)},
	{"run status", regexp.MustCompile(`^Run status group \d+ \(all jobs\):$`)},
	{"group line", regexp.MustCompile(`^ *(READ|WRITE|TRIM|MIXED): bw=` + reRate + ` \(` + reRate + `\), ` + reRate + `-` + reRate + ` \(` + reRate + `-` +
		reRate + `\), io=` + reSize + ` \(` + reSize + `\), run=\d+-\d+msec$`)},
}

// ownLineRe matches iobench's own lines of a job block.
var ownLineRe = regexp.MustCompile(`^  (` + strings.Join(iobenchLabels, "|") + `) *: \S`)

// lineKinds classifies the lines of a normal report up to its disk
// statistics (which depend on the target, not on the format): iobench's
// own lines are "own", a line of no kind is an error.
func lineKinds(t *testing.T, report string) (kinds, lines []string) {
	t.Helper()
	report, _, _ = strings.Cut(report, "\nDisk stats (read/write):\n")
	for _, line := range strings.Split(strings.TrimSuffix(report, "\n"), "\n") {
		kind := ""
		for _, k := range normalLineKinds {
			if k.re.MatchString(line) {
				kind = k.kind
				break
			}
		}
		if kind == "" && ownLineRe.MatchString(line) {
			kind = "own"
		}
		if kind == "" {
			t.Errorf("a line of no kind of fio's normal report:\n%q", line)
			continue
		}
		kinds, lines = append(kinds, kind), append(lines, line)
	}
	return kinds, lines
}

// collapse drops iobench's own lines and merges runs of lines of one kind
// that the data decides the number of (percentile rows, latency buckets,
// a direction's percentile blocks).
func collapse(kinds []string) []string {
	var out []string
	for _, k := range kinds {
		if k == "own" || len(out) > 0 && out[len(out)-1] == k && (k == "percentile row" || k == "lat buckets") {
			continue
		}
		out = append(out, k)
	}
	return out
}

// nullJob is a short job for the null engine (no device needed), rate
// limited to spare the CPU, with a line of every kind: two clones
// reported one by one, reads and writes, fsync, lat percentiles; then a
// second group. Its file exists, so neither tool creates one.
func nullJob(t *testing.T) []string {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 64<<20); err != nil {
		t.Fatal(err)
	}
	common := []string{"--ioengine=null", "--filename=" + path, "--size=64m", "--bs=4k", "--runtime=1s", "--time_based",
		"--rate_iops=1000", "--bwavgtime=250", "--iopsavgtime=250"}
	return append(common, "--name=a", "--rw=randrw", "--iodepth=4", "--numjobs=2", "--fsync=8", "--lat_percentiles=1",
		"--name=b", "--stonewall", "--rw=read", "--iodepth=2", "--numjobs=1")
}

// TestNormalReportLines: every line of the normal report of a short job
// is of one of fio 3.33's kinds, in fio's order, iobench's own lines
// closing each job block after fio's "latency" line.
func TestNormalReportLines(t *testing.T) {
	code, out, errs := run(t, nullJob(t)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	kinds, lines := lineKinds(t, out)
	dir := []string{"direction", "slat", "clat", "lat", "percentiles", "percentile row", "percentiles", "percentile row", "bw", "iops"}
	tail := []string{"cpu", "IO depths", "submit", "complete", "issued", "latency"}
	var want []string
	want = append(want, "job line", "clones", "job line", "version", "starting", "blank")
	for range 2 { // the clones of a, back to back
		want = append(want, "header")
		want = append(want, dir...)
		want = append(want, dir...)
		want = append(want, "lat buckets", "fsync", "sync", "percentiles", "percentile row")
		want = append(want, tail...)
	}
	want = append(want, "header", "direction", "slat", "clat", "lat", "percentiles", "percentile row", "bw", "iops", "lat buckets")
	want = append(want, tail...)
	want = append(want, "blank", "run status", "group line", "group line", "blank", "run status", "group line")
	if got := collapse(kinds); !slices.Equal(got, want) {
		t.Errorf("line kinds\n%q\nwant\n%q\n%s", got, want, out)
	}
	// iobench's own lines come right after fio's latency line.
	for i, k := range kinds {
		if k == "own" && kinds[i-1] != "latency" && kinds[i-1] != "own" {
			t.Errorf("own line %q after a %s line", lines[i], kinds[i-1])
		}
	}
	// Each clone's block is headed by the job's own name, jobs=1.
	if n := strings.Count(out, "\na: (groupid=0, jobs=1): err= 0: pid="); n != 2 {
		t.Errorf("%d blocks headed a: (groupid=0, jobs=1), want 2 (one per clone)", n)
	}
	if !strings.Contains(out, "\nb: (groupid=1, jobs=1): err= 0: pid=") || !strings.Contains(out, ", clone 1 of 2\n") {
		t.Errorf("headers:\n%s", out)
	}
	// A percentile block: one unit, rows of equal length but the last,
	// as many as fio fits.
	var rows []string
	for i, k := range kinds {
		if k == "percentile row" {
			rows = append(rows, lines[i])
		} else if len(rows) > 0 {
			checkRows(t, lines[i-len(rows)-1], rows)
			rows = nil
		}
	}
	// The 4th field of issued rwts counts the flushes of fsync=.
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "issued" {
			if tot := strings.Split(strings.TrimPrefix(f[2], "total="), ","); len(tot) != 4 || tot[1] != "0" && tot[3] == "0" {
				t.Errorf("issued line %q: fsync=8 with writes and no syncs", l)
			}
		}
	}
}

// checkRows checks the rows of a percentile block against fio's layout:
// every row but the last holds as many entries as fit in 80 columns, the
// values have one width, the entries one precision.
func checkRows(t *testing.T, header string, rows []string) {
	t.Helper()
	entry := regexp.MustCompile(` +(\d+(?:\.(\d+))?)th=\[( *\d+)\]`)
	var width, prec, perRow = -1, -1, 0
	for i, row := range rows {
		es := entry.FindAllStringSubmatch(row, -1)
		for _, e := range es {
			if width < 0 {
				width, prec = len(e[3]), len(e[2])
			}
			if len(e[3]) != width || len(e[2]) != prec {
				t.Errorf("%s: entry %q, want width %d precision %d", header, e[0], width, prec)
			}
		}
		if i == 0 {
			perRow = len(es)
			if want := (80 - 7) / (prec + 10 + width); perRow != want && len(rows) > 1 {
				t.Errorf("%s: %d entries a row, want %d", header, perRow, want)
			}
		}
		if i < len(rows)-1 && (len(es) != perRow || !strings.HasSuffix(row, ",")) || i == len(rows)-1 && (len(es) > perRow || strings.HasSuffix(row, ",")) {
			t.Errorf("%s: row %d %q", header, i, row)
		}
	}
}

// TestNormalLineKindsAsFio runs the same short null-engine job under fio
// and iobench: their normal reports have the same lines, kind for kind,
// in the same order (iobench's own lines aside, runs of percentile rows
// and latency buckets counted as one).
func TestNormalLineKindsAsFio(t *testing.T) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio is not installed (make deps installs it)")
	}
	args := nullJob(t)
	var fout, ferr bytes.Buffer
	cmd := exec.Command(fio, args...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = &fout, &ferr, t.TempDir()
	if err := cmd.Run(); err != nil {
		t.Fatalf("fio: %v\n%s", err, ferr.String())
	}
	code, out, errs := run(t, args...)
	if code != 0 {
		t.Fatalf("iobench: exit %d: %s", code, errs)
	}
	fioKinds, _ := lineKinds(t, fout.String())
	ibKinds, _ := lineKinds(t, out)
	// fio starts processes, iobench threads; both say how many.
	if f, i := collapse(fioKinds), collapse(ibKinds); !slices.Equal(f, i) {
		t.Errorf("line kinds differ\nfio:     %q\niobench: %q\nfio's report:\n%s\niobench's:\n%s", f, i, fout.String(), out)
	}
}

// TestNum2Str: numbers as fio 3.33 writes them (values from its reports).
func TestNum2Str(t *testing.T) {
	for _, c := range []struct {
		n      uint64
		digits int
		pow2   bool
		unit   string
		want   string
	}{
		{1999, 4, false, "", "1999"},
		{30712, 4, false, "", "30.7k"},
		{298126, 4, false, "", "298k"},
		{2720000, 4, false, "", "2720k"},
		{1221225472, 4, true, "B/s", "1165MiB/s"},
		{1221225472, 4, false, "B/s", "1221MB/s"},
		{8188000, 4, true, "B/s", "7996KiB/s"},
		{8188000, 4, false, "B/s", "8188kB/s"},
		{16384000, 4, true, "B", "15.6MiB"},
		{16384000, 4, false, "B", "16.4MB"},
		{8192000, 4, true, "B", "8000KiB"},
		{1668800, 6, false, "", "1668.8k"},
		{38669400, 6, false, "", "38669k"},
		{8654, 6, false, "", "8654"},
		{1 << 20, 4, true, "B", "1024KiB"},
		{10 << 20, 4, true, "B", "10.0MiB"},
	} {
		if got := num2str(c.n, c.digits, c.pow2, c.unit); got != c.want {
			t.Errorf("num2str(%d, %d, %v, %q) = %q, want %q", c.n, c.digits, c.pow2, c.unit, got, c.want)
		}
	}
}

// hist returns a histogram of vals (ns).
func hist(vals ...int64) *hdrhistogram.Histogram {
	h := newHist()
	for _, v := range vals {
		_ = h.RecordValue(v)
	}
	return h
}

// lats is a LatHist of vals, recorded as the I/O loop records them.
func lats(vals ...int64) *LatHist {
	h := newLatHist()
	for _, v := range vals {
		h.record(v)
	}
	return h.hdr()
}

// TestLatencyUnits: a latency line takes usec or msec only when its
// minimum, maximum and deviation are all large enough, as fio's does; a
// percentile block when its smallest and largest percentiles are.
func TestLatencyUnits(t *testing.T) {
	for _, c := range []struct {
		vals []int64
		line string // prefix of the line
		pcts string // the percentiles' header
	}{
		// fio's slat (nsec): min=1763, max=1668.8k: the minimum is under 2 µs.
		{[]int64{1763, 3000, 3000, 1668800}, "    clat (nsec): min=1763, max=16", "    clat percentiles (usec):"},
		{[]int64{4000, 20000, 8515000}, "    clat (usec): min=4, max=85", "    clat percentiles (usec):"},
		// The values measured, not their buckets' bounds (3000000 is
		// 2998272 at least in the histogram, 2 ms).
		{[]int64{3000000, 5000000, 150000000}, "    clat (msec): min=3, max=150, avg=52.67, stdev=84.30", "    clat percentiles (msec):"},
		// Large values with no spread stay in ns.
		{[]int64{500000, 500000}, "    clat (nsec): min=500000, max=500000, avg=500000.00, stdev= 0.00", "    clat percentiles (usec):"},
	} {
		var b bytes.Buffer
		h := lats(c.vals...)
		writeLatLine(&b, "clat", h)
		writePercentiles(&b, "clat", h.Histogram, []float64{50, 99})
		if !strings.HasPrefix(b.String(), c.line) || !strings.Contains(b.String(), "\n"+c.pcts+"\n") {
			t.Errorf("%v:\n%s\nwant %q... and %q", c.vals, b.String(), c.line, c.pcts)
		}
	}
}

// TestPercentileLayout: fio's precision (the list's decimals) and rows
// (3 a row for 7-digit ns values, 4 for µs), values rounded up into µs.
func TestPercentileLayout(t *testing.T) {
	var b bytes.Buffer
	// 99001 and 149000 are at most 99007 and 149119 in the histogram.
	writePercentiles(&b, "lat", hist(5000, 99001, 149000), []float64{50, 99.9, 99})
	want := "    lat percentiles (usec):\n     | 50.0th=[  100], 99.0th=[  150], 99.9th=[  150]\n"
	if b.String() != want {
		t.Errorf("got\n%swant\n%s", b.String(), want)
	}
	b.Reset()
	h := newHist()
	_ = h.RecordValues(740, 10)
	_ = h.RecordValues(1000, 80)
	_ = h.RecordValues(1351680, 10)
	writePercentiles(&b, "clat", h, workloads.DefaultPercentiles)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if lines[0] != "    clat percentiles (nsec):" || len(lines) != 1+6 ||
		!strings.HasPrefix(lines[1], "     |  1.00th=[    740],  5.00th=[    740], 10.00th=[    740],") || !strings.HasSuffix(lines[1], ",") {
		t.Errorf("ns block:\n%s", b.String())
	}
	checkRows(t, lines[0], lines[1:])
}

// TestLatBucketsLines: at most five buckets a line, and a bucket holding
// one I/O in a million shows as 0.01%, not dropped.
func TestLatBucketsLines(t *testing.T) {
	h := newHist()
	_ = h.RecordValues(30000, 600000)
	_ = h.RecordValues(150000, 400000)
	for _, v := range []int64{500, 1500, 3000, 5000, 15000, 70000, 200000, 400000, 600000, 800000, 1500000, 5000000} {
		_ = h.RecordValue(v)
	}
	r := &JobResult{}
	r.Dir[0].Clat, r.Dir[1].Clat, r.Dir[2].Clat = asLat(h), newLat(), newLat()
	var b bytes.Buffer
	writeLatBuckets(&b, r)
	want := "  lat (nsec)   : 750=0.01%\n" +
		"  lat (usec)   : 2=0.01%, 4=0.01%, 10=0.01%, 20=0.01%, 50=60.00%\n" +
		"  lat (usec)   : 100=0.01%, 250=40.00%, 500=0.01%, 750=0.01%, 1000=0.01%\n" +
		"  lat (msec)   : 2=0.01%, 10=0.01%\n"
	if b.String() != want {
		t.Errorf("got\n%swant\n%s", b.String(), want)
	}
}

// fakeResult is a job result with known figures, for the formats' unit
// tests.
func fakeResult() JobResult {
	j := workloads.NewJob("f")
	r := JobResult{Job: j, Clone: -1, SyncLat: newHist(), Mapper: "linear"}
	for d := range workloads.NumDirs {
		r.Dir[d].Slat, r.Dir[d].Clat, r.Dir[d].Lat = newLat(), newLat(), newLat()
	}
	r.Dir[0] = DirResult{IOs: 1000, Bytes: 4096000, Runtime: time.Second,
		Slat: lats(1000, 2000), Clat: lats(10000, 20000, 30000), Lat: lats(50000, 60000, 70000),
		BWSamples: []float64{8000, 8000}, IOPSSamples: []float64{2000, 2000}}
	r.DepthDist[0], r.SubmitDist[1], r.CompleteDist[1] = 1000, 1000, 1000
	r.DepthDist[1] = 1 // one in a thousand: 0.1%
	return r
}

// TestFormatsInFioOrder: whatever order --output-format lists them in, the
// formats come as fio 3.33 writes them: terse, JSON, normal (after its
// blank line).
func TestFormatsInFioOrder(t *testing.T) {
	run := &Run{Time: time.Now(), Target: "t", Kernel: "k", Jobs: []JobResult{fakeResult()}}
	var b bytes.Buffer
	if err := writeFormats(&b, []string{"normal", "json", "terse"}, run); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	terse, rest, _ := strings.Cut(out, "\n")
	jsonPart, normal, ok := strings.Cut(rest, "\n}\n")
	if !strings.HasPrefix(terse, "3;"+Version+";f;") || !strings.HasPrefix(jsonPart, "{") || !ok ||
		!strings.HasPrefix(normal, "\nf: (groupid=0, jobs=1): err= 0: pid=") {
		t.Fatalf("want terse, JSON, then normal:\n%s", out)
	}
	if err := json.Unmarshal([]byte(jsonPart+"\n}"), new(map[string]any)); err != nil {
		t.Errorf("JSON part: %v", err)
	}
}

// TestTerseAsFio: with lat_percentiles the terse percentiles are the total
// latency's (as fio's), and the bandwidth share is at most 100%.
func TestTerseAsFio(t *testing.T) {
	r := fakeResult()
	r.Job.LatPercentiles = true
	r.Job.PercentileList = []float64{50}
	r.Dir[0].BWSamples = []float64{9000, 9000} // above the job's 3.9 MiB/s average: over 100%
	var b bytes.Buffer
	writeTerse(&b, &Run{Jobs: []JobResult{r}})
	f := strings.Split(strings.TrimSpace(b.String()), ";")
	// Fields (1-based): 18 is the first read percentile, 44 the read bw share.
	if got, want := f[17], fmt.Sprintf("50.000000%%=%d", r.Dir[0].Lat.ValueAtQuantile(50)/1000); got != want {
		t.Errorf("read percentile field %q, want %q (the total latency's)", got, want)
	}
	if f[43] != "100.000000%" {
		t.Errorf("read bw share %q, want 100.000000%%", f[43])
	}
	r.Job.LatPercentiles, r.Job.ClatPercentiles = false, false
	b.Reset()
	writeTerse(&b, &Run{Jobs: []JobResult{r}})
	if f := strings.Split(b.String(), ";"); f[17] != "0%=0" {
		t.Errorf("no percentiles asked for: field %q", f[17])
	}
}

// TestTerseContinueOnError: a job with continue_on_error ends its terse
// line with the errors it went on after, their count and the first one's
// error number, as fio's does (after the disk utilisation); a job
// without it has neither field.
func TestTerseContinueOnError(t *testing.T) {
	r := fakeResult()
	var b bytes.Buffer
	writeTerse(&b, &Run{Jobs: []JobResult{r}})
	plain := strings.Split(strings.TrimSpace(b.String()), ";")
	r.Job.ContinueOnError = 1
	r.IOErrs, r.FirstErr = 7, unix.ENOSPC
	b.Reset()
	writeTerse(&b, &Run{Jobs: []JobResult{r}})
	f := strings.Split(strings.TrimSpace(b.String()), ";")
	if len(f) != len(plain)+2 || f[len(f)-2] != "7" || f[len(f)-1] != "28" {
		t.Errorf("continue_on_error: %d fields ending %q, want %d ending 7;28 (without it: %d)", len(f), f[len(f)-2:], len(plain)+2, len(plain))
	}
}

// TestDescription: a job's description is in its results as fio prints
// it: a Description line under the job's heading, desc in JSON, the last
// terse field; a job without one has none of them.
func TestDescription(t *testing.T) {
	r := fakeResult()
	var plain bytes.Buffer
	writeTerse(&plain, &Run{Jobs: []JobResult{r}})
	var b bytes.Buffer
	WriteNormal(&b, &Run{Jobs: []JobResult{r}})
	if strings.Contains(b.String(), "Description") {
		t.Errorf("no description given, yet:\n%s", b.String())
	}
	r.Job.Description = "Sequential fill, 1 MiB"
	run := &Run{Jobs: []JobResult{r}}
	b.Reset()
	WriteNormal(&b, run)
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		if strings.Contains(l, "(groupid=") {
			if i+1 >= len(lines) || lines[i+1] != "  Description  : [Sequential fill, 1 MiB]" {
				t.Errorf("normal: the heading is not followed by the description line:\n%s", b.String())
			}
			break
		}
	}
	b.Reset()
	if err := WriteJSON(&b, run); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Jobs []map[string]any `json:"jobs"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Jobs[0]["desc"]; got != "Sequential fill, 1 MiB" {
		t.Errorf("JSON desc %v", got)
	}
	b.Reset()
	writeTerse(&b, run)
	f := strings.Split(strings.TrimSpace(b.String()), ";")
	if n := len(strings.Split(strings.TrimSpace(plain.String()), ";")); len(f) != n+1 || f[len(f)-1] != "Sequential fill, 1 MiB" {
		t.Errorf("terse: %d fields ending %q, want %d ending with the description", len(f), f[len(f)-1], n+1)
	}
}

// TestClockStepsReported: a job whose counter clock was paired afresh
// with CLOCK_MONOTONIC (engine.Stats.ClockSteps) says so on its clock
// line and in JSON (clock_steps, clock_step_max_ns); a job without a step
// has neither field.
func TestClockStepsReported(t *testing.T) {
	jsonEngine := func(r JobResult) map[string]any {
		t.Helper()
		var b bytes.Buffer
		if err := WriteJSON(&b, &Run{Jobs: []JobResult{r}}); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Jobs []struct {
				IOBench map[string]any `json:"iobench"`
			} `json:"jobs"`
		}
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		return doc.Jobs[0].IOBench
	}
	r := fakeResult()
	r.Clock = "cpu (time-stamp counter, 2096.0 MHz against CLOCK_MONOTONIC)"
	for _, k := range []string{"clock_steps", "clock_step_max_ns"} {
		if v, ok := jsonEngine(r)[k]; ok {
			t.Errorf("no step, yet %s %v", k, v)
		}
	}
	r.Engine.ClockSteps, r.Engine.ClockStepMax = 2, -3*time.Second
	r.Clock += "; it strayed from CLOCK_MONOTONIC by more than 10ms and was paired with it afresh 2 times"
	j := jsonEngine(r)
	if j["clock_steps"] != 2.0 || j["clock_step_max_ns"] != -3e9 || j["clock"] != r.Clock {
		t.Errorf("JSON: clock_steps %v, clock_step_max_ns %v, clock %q", j["clock_steps"], j["clock_step_max_ns"], j["clock"])
	}
	var b bytes.Buffer
	WriteNormal(&b, &Run{Jobs: []JobResult{r}})
	if !strings.Contains(b.String(), "  clock        : "+r.Clock+"\n") {
		t.Errorf("normal report has no clock line with the steps:\n%s", b.String())
	}
}

// TestDistFloors: a depth bucket holding anything shows as at least 0.1%,
// as fio's do (normal, JSON and terse alike).
func TestDistFloors(t *testing.T) {
	r := fakeResult()
	r.DepthDist = [7]uint64{100000, 1}
	var b bytes.Buffer
	WriteNormal(&b, &Run{Jobs: []JobResult{r}})
	if !strings.Contains(b.String(), "  IO depths    : 1=100.0%, 2=0.1%, 4=0.0%,") {
		t.Errorf("IO depths:\n%s", b.String())
	}
}

// TestIntervalSubmitComplete: each --status-interval period reports its
// own submit and complete distributions, not zeros.
func TestIntervalSubmitComplete(t *testing.T) {
	args := nullJob(t)[:9]
	args = append(args, "--name=s", "--rw=randread", "--iodepth=4", "--runtime=600ms", "--status-interval=250ms", "--output-format=json")
	code, out, errs := run(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	docs := decodeAll(t, out)
	if len(docs) < 2 {
		t.Fatalf("%d documents", len(docs))
	}
	for i, d := range docs {
		jobs := d["jobs"].([]any)
		if len(jobs) != 1 {
			t.Fatalf("document %d: %d jobs", i, len(jobs))
		}
		j := jobs[0].(map[string]any)
		if num(t, j, "read", "total_ios") == 0 {
			continue // a period with nothing completed has no distributions
		}
		for _, k := range []string{"iodepth_level", "iodepth_submit", "iodepth_complete"} {
			sum := 0.0
			for _, v := range j[k].(map[string]any) {
				sum += v.(float64)
			}
			if sum < 99 {
				t.Errorf("document %d: %s adds up to %.1f%%", i, k, sum)
			}
		}
	}
}

// TestFailedJobHeader: a failed job's header carries its errno and the
// error, on one line, as fio's "err= 5 (...)" does.
func TestFailedJobHeader(t *testing.T) {
	r := fakeResult()
	r.Err = errors.Join(fmt.Errorf("read %s @4096: %w", "/dev/x", unix.EIO), errors.New("second clone"))
	var b bytes.Buffer
	WriteNormal(&b, &Run{Jobs: []JobResult{r}})
	kinds, lines := lineKinds(t, b.String())
	if len(kinds) < 2 || kinds[1] != "header" ||
		!strings.HasPrefix(lines[1], "f: (groupid=0, jobs=1): err= 5 (read /dev/x @4096: input/output error; second clone): pid=") {
		t.Errorf("header of a failed job:\n%s", b.String())
	}
}

// TestNoIOJobBlockAsFio: the normal report leaves out the block of a job
// that issued no I/O (randwrite with an LFSR whose first block lies past
// the region for its 12k writes), as fio 3.33's does, going from the
// job lines to "Run status group" as fio's does; another job's block
// stays.
func TestNoIOJobBlockAsFio(t *testing.T) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio not installed (make deps installs it)")
	}
	// From the line after "Starting" to "Run status group", fio's
	// laying out of its files left out; and the jobs' block headers.
	between := func(out string) (string, []string) {
		lines := strings.Split(out, "\n")
		var keep, blocks []string
		in := false
		for _, l := range lines {
			switch {
			case strings.HasPrefix(l, "Starting "):
				in = true
				continue
			case strings.HasPrefix(l, "Run status group"):
				return strings.Join(keep, "\n"), blocks
			case strings.Contains(l, "Laying out"):
				continue
			case strings.Contains(l, ": (groupid="):
				blocks = append(blocks, strings.SplitN(l, ":", 2)[0])
			}
			if in && len(blocks) == 0 {
				keep = append(keep, l)
			}
		}
		return "", nil
	}
	noIO := []string{"--size=256k", "--rw=randwrite", "--random_generator=lfsr", "--bs=4k,12k"}
	for _, c := range []struct {
		args   []string
		blocks []string
	}{
		{append([]string{"--name=x"}, noIO...), nil},
		{append(append([]string{"--name=x"}, noIO...), "--name=y", "--rw=read", "--size=64k", "--bs=4k"), []string{"y"}},
	} {
		dir := t.TempDir()
		args := append([]string{"--directory=" + dir}, c.args...)
		fout, ferr := exec.Command(fio, args...).CombinedOutput()
		if ferr != nil {
			t.Fatalf("%v: fio: %v\n%s", c.args, ferr, fout)
		}
		code, out, errOut := run(t, append([]string{"--direct=0"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: iobench: exit %d: %s", c.args, code, errOut)
		}
		fb, fblocks := between(string(fout))
		ib, iblocks := between(out)
		if !slices.Equal(fblocks, c.blocks) || !slices.Equal(iblocks, c.blocks) || fb != ib {
			t.Errorf("%v: blocks: fio %q, iobench %q, want %q; before them: fio %q, iobench %q", c.args, fblocks, iblocks, c.blocks, fb, ib)
		}
	}
}
