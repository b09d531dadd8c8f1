package runner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/iobench/iobench/workloads"
	"golang.org/x/sys/unix"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// errInterrupted ends a bench or compare run the user stopped.
var errInterrupted = fmt.Errorf("interrupted")

// roundJob is j as every round of compare and bench runs it, under fio
// (runFio) and iobench (runOne) alike: reporting total-latency (lat)
// percentiles in place of completion-latency (clat) ones, unless the job
// sets lat_percentiles or clat_percentiles itself, or disables lat. A lone
// I/O's clat is not the same span in the two tools: iobench submits it
// and waits for it in one io_uring_enter call, so its clat starts where
// that call does, and fio's where its submit call returns. lat, from the
// I/O's queueing to its completion, is the same span in both.
func roundJob(j workloads.Job) workloads.Job {
	j = j.Clone()
	if j.IsSet("lat_percentiles") || j.IsSet("clat_percentiles") || j.DisableLat {
		return j
	}
	_ = j.Set("lat_percentiles", "1")
	_ = j.Set("clat_percentiles", "0")
	return j
}

// runOne runs a single job on target, as a round runs it (roundJob), and
// returns its result and JSON.
func runOne(j workloads.Job, target string) (JobResult, []byte, error) {
	if interrupted.Load() {
		return JobResult{}, nil, errInterrupted
	}
	j = roundJob(j)
	j.Filename = target
	run, err := Execute([]workloads.Job{j}, [][]int{{0}}, settings{}, Output{}, io.Discard)
	if err != nil {
		return JobResult{}, nil, err
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, run); err != nil {
		return JobResult{}, nil, err
	}
	r := run.Jobs[0]
	return r, b.Bytes(), r.Err
}

func metricsOf(r JobResult) Metrics {
	var m Metrics
	d := &r.Dir[0]
	for k := range r.Dir {
		m.IOPS += r.Dir[k].IOPS()
		m.BW += r.Dir[k].BW()
		if r.Dir[k].IOs > d.IOs {
			d = &r.Dir[k] // the latencies of the busiest direction
		}
	}
	// fio's lat_ns against iobench's lat: both from the I/O's queueing
	// to its completion (see roundJob).
	if d.Lat.TotalCount() > 0 {
		m.MeanLat = d.Lat.Mean()
		m.P99 = float64(pctValue(d.Lat.Histogram, 99))
	}
	return m
}

// Ratio summarises iobench/fio over rounds: N rounds gave a ratio (0:
// none could, as when fio measured no CPU time or context switch).
type Ratio struct {
	Min, Median, Max float64
	N                int
}

func ratios(xs []float64) Ratio {
	if len(xs) == 0 {
		return Ratio{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Ratio{Min: s[0], Median: med, Max: s[len(s)-1], N: len(s)}
}

// ratioCell is x as compare prints it, min / median / max, or n/a when
// no round gave a ratio.
func ratioCell(x Ratio) string {
	if x.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f / %.2f / %.2f", x.Min, x.Median, x.Max)
}

// roundOrder is the order in which round r runs n tools: the tools in
// turn, starting one further at each round (for two, A B then B A), so
// that over n rounds each runs once in each place. A tool run always in
// the same place inherits the same leftovers each round: what the run
// before it left the host and the device in (on a loop device, the CPU its
// kernel worker last ran on), and the host's drift within the round.
func roundOrder(r, n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = (r + i) % n
	}
	return order
}

// fioMetrics runs j under fio on target (runFio) and returns the first
// job's metrics and fio's JSON.
func fioMetrics(j workloads.Job, target string) (Metrics, []byte, error) {
	out, err := runFio(j, target)
	if err != nil {
		return Metrics{}, nil, err
	}
	m, err := firstJob(out, "fio")
	return m, out, err
}

// iobenchMetrics runs j under iobench on target (runOne) and returns its
// metrics, read back from its JSON as fio's are, and the JSON.
func iobenchMetrics(j workloads.Job, target string) (Metrics, []byte, error) {
	_, js, err := runOne(j, target)
	if err != nil {
		return Metrics{}, nil, err
	}
	m, err := firstJob(js, "iobench")
	return m, js, err
}

// firstJob returns the metrics of the first job of JSON in fio's schema
// that tool wrote.
func firstJob(out []byte, tool string) (Metrics, error) {
	ms, order, err := ParseFioJSON(out)
	if err != nil || len(order) == 0 {
		return Metrics{}, fmt.Errorf("%s output: %v", tool, err)
	}
	return ms[order[0]], nil
}

// sideRun returns one side of a round: a run of job on target under
// measure (fioMetrics, iobenchMetrics) whose metrics go to into and whose
// JSON goes to save as tool's, when save is not nil.
func sideRun(job workloads.Job, target, tool string, measure func(workloads.Job, string) (Metrics, []byte, error), into *[]Metrics, save func(tool string, out []byte)) func() error {
	return func() error {
		m, out, err := measure(job, target)
		if err != nil {
			return err
		}
		*into = append(*into, m)
		if save != nil {
			save(tool, out)
		}
		return nil
	}
}

// abRounds runs j under fio (A) and iobench (B) alternately, rounds times,
// the two in the order roundOrder gives (A B, B A, A B, ...), and returns
// both sides' metrics per round. Without fio it runs B only. Stopped by
// an error or an interrupt, it returns the rounds it finished (both sides
// of each) with the error.
func abRounds(j workloads.Job, target string, rounds int, save func(name string, b []byte)) (a, b []Metrics, err error) {
	_, fioErr := fioPath()
rounds:
	for r := range rounds {
		if interrupted.Load() {
			err = errInterrupted
			break
		}
		if r == 1 {
			save = nil // the first round's JSON only
		}
		runs := []func() error{sideRun(j, target, "iobench", iobenchMetrics, &b, save)}
		if fioErr == nil {
			runs = []func() error{sideRun(j, target, "fio", fioMetrics, &a, save), runs[0]}
		}
		for _, i := range roundOrder(r, len(runs)) {
			if err = runs[i](); err != nil {
				break rounds
			}
		}
	}
	// A round left unfinished counts for neither side.
	n := len(b)
	if fioErr == nil {
		n = min(len(a), len(b))
		a = a[:n]
	}
	return a, b[:n], err
}

type cmpRow struct {
	name     string
	a, b     []Metrics
	iops     Ratio
	bw       Ratio
	p50, p99 Ratio   // total latency (lat) percentiles, iobench / fio
	cpu, ctx Ratio   // CPU time and context switches per I/O, iobench / fio
	meanIO   float64 // median iobench IOPS
	meanFI   float64
	enters   float64 // median io_uring_enter calls per I/O of iobench
}

func compareRow(name string, a, b []Metrics) cmpRow {
	row := cmpRow{name: name, a: a, b: b}
	var ri, rb, rm, rp, rc, rx, bi, fi, en []float64
	for i := range b {
		bi = append(bi, b[i].IOPS)
		en = append(en, b[i].EntersPerIO)
		if i < len(a) {
			if a[i].CPUPerIO > 0 {
				rc = append(rc, b[i].CPUPerIO/a[i].CPUPerIO)
			}
			if a[i].CtxPerIO > 0 {
				rx = append(rx, b[i].CtxPerIO/a[i].CtxPerIO)
			}
			fi = append(fi, a[i].IOPS)
			if a[i].IOPS > 0 {
				ri = append(ri, b[i].IOPS/a[i].IOPS)
			}
			if a[i].BW > 0 {
				rb = append(rb, b[i].BW/a[i].BW)
			}
			if a[i].P50 > 0 && b[i].P50 > 0 {
				rm = append(rm, b[i].P50/a[i].P50)
			}
			if a[i].P99 > 0 && b[i].P99 > 0 {
				rp = append(rp, b[i].P99/a[i].P99)
			}
		}
	}
	row.iops, row.bw, row.p50, row.p99 = ratios(ri), ratios(rb), ratios(rm), ratios(rp)
	row.cpu, row.ctx = ratios(rc), ratios(rx)
	row.meanIO, row.meanFI = ratios(bi).Median, ratios(fi).Median
	row.enters = ratios(en).Median
	return row
}

// runCompare is `iobench compare`.
func runCompare(st settings, cl cmdLine, stdout, stderr io.Writer) error {
	// The jobs are checked first: bad input is said before fio is looked for.
	job := cl.global
	jobs, _, err := buildJobs(cl, st, stderr)
	if err != nil {
		return &badInput{err}
	}
	if err := ensureFio(stderr); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	if len(jobs) == 0 {
		j := job.Clone()
		j.Name = "randread-4k"
		rt := "5"
		if st.quick {
			rt = "2"
		}
		for _, kv := range [][2]string{{"rw", "randread"}, {"iodepth", "32"}, {"runtime", rt}, {"time_based", "1"}, {"size", "256m"}} {
			if !j.IsSet(kv[0]) {
				_ = j.Set(kv[0], kv[1])
			}
		}
		jobs = []workloads.Job{j}
	}
	target, cleanup, err := sharedTarget(jobs, st)
	if err != nil {
		return err
	}
	defer cleanup()
	rounds := fmt.Sprintf("%d rounds", st.rounds)
	if st.rounds == 1 {
		rounds = "1 round"
	}
	engine := "io_uring"
	if len(jobs) > 0 && jobs[0].NullIO() {
		engine = "null" // compare runs fio with the job's null engine
	}
	fmt.Fprintf(stdout, "Comparing with fio on %s, %s (A = fio %s, B = iobench, alternating A B, B A, A B, ...)\n", target, rounds, engine)
	fmt.Fprintf(stdout, "Ratios are iobench / fio per round: above 1 iobench is faster (IOPS, BW) or slower (latency)\n")
	fmt.Fprintf(stdout, "or costlier (CPU time and context switches per I/O, of each tool's job threads).\n")
	if idle := cpuIdle("/"); idle != "" {
		fmt.Fprintf(stdout, "Idle CPUs: %s.\n", idle)
	}
	fmt.Fprintln(stdout)
	tw := newTable(stdout, "job", "fio IOPS", "iobench IOPS", "IOPS ratio min/med/max", "BW ratio min/med/max",
		"p50 lat ratio min/med/max", "p99 lat ratio min/med/max", "CPU/IO ratio min/med/max", "ctx/IO ratio min/med/max", "iobench enters/IO")
	for _, j := range jobs {
		a, b, err := abRounds(j, target, st.rounds, nil)
		if len(b) > 0 {
			// Stopped early, the rounds that finished are still shown.
			name := j.Name
			if err != nil {
				name = fmt.Sprintf("%s (%d of %d rounds)", j.Name, len(b), st.rounds)
			}
			r := compareRow(j.Name, a, b)
			mmm := ratioCell
			tw.row(name, fmtCount(r.meanFI), fmtCount(r.meanIO), mmm(r.iops), mmm(r.bw), mmm(r.p50), mmm(r.p99),
				mmm(r.cpu), mmm(r.ctx), fmt.Sprintf("%.2f", r.enters))
		}
		if err != nil {
			tw.flush()
			if errors.Is(err, errInterrupted) {
				fmt.Fprintf(stdout, "\ninterrupted: the rows cover the rounds that finished; later rounds and jobs did not run\n")
			}
			return fmt.Errorf("job %s: %w", j.Name, err)
		}
	}
	tw.flush()
	return nil
}

// sharedTarget returns the jobs' target, or an automatic one. Jobs on
// files of their own (several names, directory, nrfiles, filesize) have
// no one target to share: they are refused.
func sharedTarget(jobs []workloads.Job, st settings) (string, func(), error) {
	for i := range jobs {
		if j := &jobs[i]; j.NumFiles() > 1 || j.NamesFiles() && len(j.Filenames()) != 1 {
			return "", nil, &badInput{fmt.Errorf("compare: job %q runs on files of its own (filename list, directory, nrfiles or filesize); compare runs both tools on one target: run the job file under fio and iobench instead", j.Name)}
		}
	}
	if f := jobs[0].Filename; f != "" {
		if err := checkTarget(&jobs[0], f); err != nil {
			return "", nil, &badInput{err}
		}
		return f, func() {}, nil
	}
	mk := AutoTarget
	if !slices.ContainsFunc(jobs, func(j workloads.Job) bool { return !j.NullIO() }) {
		mk = FileTarget // ioengine=null reaches no device (nullOnlyAuto)
	}
	t, err := mk(int64(st.targetSize))
	if err != nil {
		return "", nil, err
	}
	return t.Path, func() { t.Close() }, nil
}

// benchEnv is what every experiment of the bench suite shares: the
// target, the run length, the rounds and the results directory.
type benchEnv struct {
	dir     string // results directory
	target  *Target
	size    int64  // bytes of automatic targets
	runtime string // seconds per run, as a job option
	// sweepRuntime is the seconds per run of the queue-depth sweep, which
	// has many more runs than the other experiments.
	sweepRuntime string
	rounds       int
	stderr       io.Writer
}

// save returns a function that writes one tool's JSON of job name to the
// results directory.
func (b *benchEnv) save(name string) func(string, []byte) {
	return func(tool string, js []byte) {
		_ = os.WriteFile(filepath.Join(b.dir, name+"."+tool+".json"), js, 0o644)
	}
}

// section is what one experiment measured: its part of summary.md (a
// heading, text and a table), the plots it draws, and the performance
// targets it measures.
type section struct {
	markdown string
	plots    []plotSpec
	targets  []targetRow
}

// plotSpec is one SVG plot of a section.
type plotSpec struct {
	file, title, xLabel, yLabel string
	logX                        bool
	series                      []any // name, plotter.XYs pairs
}

// targetRow is one of the engine's performance targets: the measured
// ratio (iobench over a reference) against the goal it must reach.
type targetRow struct {
	what     string
	goal     float64 // the median ratio must be at least this
	measured Ratio
	where    string // which target it was measured on, when several
}

// experiment is one part of the bench suite.
type experiment struct {
	id   string // what --experiments names it by
	name string
	run  func(b *benchEnv) (section, error)
}

// experiments is the bench suite, in the order summary.md shows it.
func experiments() []experiment {
	return []experiment{
		{"workloads", "bundled workloads", benchWorkloads},
		{"qd", "queue-depth sweep", benchQueueDepth},
		{"null", "null engine", benchNull},
		{"mapper-cost", "mapper-cost sweep", benchMapperCost},
		{"1m-extents", "1M-extent file", benchBigFile},
		{"ext4", "ext4 mapper vs the kernel", benchExt4},
	}
}

// benchExt4 reads a fragmented file of an ext4 image through mapper.Ext4
// and through the kernel's ext4 (ext4bench.go).
func benchExt4(b *benchEnv) (section, error) {
	md, targets := ext4BenchSection(b.runtime, b.rounds, b.save, b.stderr)
	return section{markdown: md, targets: targets}, nil
}

// selectExperiments returns the experiments named in only (all when only
// is empty), or an error naming one that does not exist.
func selectExperiments(only []string) ([]experiment, error) {
	all := experiments()
	if len(only) == 0 {
		return all, nil
	}
	var out []experiment
	for _, id := range only {
		found := false
		for _, e := range all {
			if e.id == strings.TrimSpace(id) {
				out, found = append(out, e), true
			}
		}
		if !found {
			var ids []string
			for _, e := range all {
				ids = append(ids, e.id)
			}
			return nil, &badInput{fmt.Errorf("--experiments: no experiment %q (there are %s)", id, strings.Join(ids, ", "))}
		}
	}
	return out, nil
}

// checkResultsDir refuses a --results directory that bench must not
// empty: one that is not a directory, or that holds anything but what
// bench writes there (*.json, *.svg, *.md files), lest a mistyped DIR
// (--results=$HOME) remove what it holds.
func checkResultsDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--results=%s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("--results=%s: not a directory: name a new directory or an old results directory", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("--results=%s: %w", dir, err)
	}
	for _, e := range ents {
		ext := filepath.Ext(e.Name())
		if !e.Type().IsRegular() || ext != ".json" && ext != ".svg" && ext != ".md" {
			return fmt.Errorf("--results=%s: holds %s, which bench did not write; bench empties the directory first: name a new directory or an old results directory", dir, e.Name())
		}
	}
	return nil
}

// runBench is `iobench bench` (make bench): runs every experiment and
// writes summary.md, the plots and the JSON of each run to st.results
// afresh.
func runBench(st settings, stdout, stderr io.Writer) error {
	exps, err := selectExperiments(st.only)
	if err != nil {
		return err
	}
	dir := st.results
	if err := checkResultsDir(dir); err != nil {
		return &badInput{err}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	t, err := AutoTarget(int64(st.targetSize))
	if err != nil {
		return err
	}
	defer t.Close()
	b := &benchEnv{dir: dir, target: t, size: int64(st.targetSize), runtime: "5", sweepRuntime: "3", rounds: 3, stderr: stderr}
	if st.quick {
		b.runtime, b.sweepRuntime, b.rounds = "2", "1", 1
	}
	if err := ensureFio(stderr); err != nil {
		fmt.Fprintf(stderr, "iobench: %v: measuring iobench alone\n", err)
	}
	var sections []section
	for _, e := range exps {
		sec, err := e.run(b)
		if err != nil {
			return fmt.Errorf("bench: %s: %w", e.name, err)
		}
		for _, p := range sec.plots {
			if err := linePlot(filepath.Join(dir, p.file), p.title, p.xLabel, p.yLabel, p.logX, p.series...); err != nil {
				return err
			}
		}
		sections = append(sections, sec)
	}
	ring := ""
	probe, err := benchJob("ring-probe", [][2]string{{"rw", "randread"}, {"size", "16m"}, {"runtime", "1"}})
	if err != nil {
		return err
	}
	if res, _, err := runOne(probe, t.Path); err == nil {
		ring = res.Ring
	}
	md := summary(t, ring, sections)
	if err := os.WriteFile(filepath.Join(dir, "summary.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Fprint(stdout, md)
	return nil
}

// summary writes summary.md: the set-up, each section, the targets table
// computed from the sections' measurements, and the plots.
func summary(t *Target, ring string, sections []section) string {
	var md strings.Builder
	fmt.Fprintf(&md, "# iobench results\n\nMeasured by `make bench` (`iobench bench`) on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&md, "- Target: %s\n- Kernel: %s\n- CPUs: %d\n", t.Desc, kernel(), numCPU())
	fmt.Fprintf(&md, "- io_uring: `%s`\n", ring)
	if idle := cpuIdle("/"); idle != "" {
		fmt.Fprintf(&md, "- Idle CPUs: %s\n", idle)
	}
	var targets []targetRow
	var plots []plotSpec
	for _, s := range sections {
		md.WriteString("\n")
		md.WriteString(s.markdown)
		targets = append(targets, s.targets...)
		plots = append(plots, s.plots...)
	}
	md.WriteString(targetsTable(targets))
	md.WriteString("\n")
	for _, p := range plots {
		fmt.Fprintf(&md, "![%s](%s)\n", p.title, p.file)
	}
	md.WriteString("\nReproduce: `make bench` (or `go run ./cmd/iobench bench --results results`). Every JSON file here is the raw output of one run.\n")
	return md.String()
}

// targetsTable prints the engine's performance targets with what was
// measured and whether the median reached the goal. Rows of the same goal
// measured in several places (targets, queue depths) share a line.
func targetsTable(rows []targetRow) string {
	var md strings.Builder
	md.WriteString("\n## Targets\n\n| target | goal | measured (iobench / reference, median (min-max)) | met |\n|---|---|---|---|\n")
	var order []string
	byWhat := map[string][]targetRow{}
	for _, r := range rows {
		if _, ok := byWhat[r.what]; !ok {
			order = append(order, r.what)
		}
		byWhat[r.what] = append(byWhat[r.what], r)
	}
	for _, what := range order {
		var got []string
		met := "yes"
		for _, r := range byWhat[what] {
			s := fmt.Sprintf("%.2fx (%.2f-%.2f)", r.measured.Median, r.measured.Min, r.measured.Max)
			if r.where != "" {
				s = fmt.Sprintf("%s: %.2fx (%.2f-%.2f)", r.where, r.measured.Median, r.measured.Min, r.measured.Max)
			}
			got = append(got, s)
			if r.measured.Median < r.goal {
				met = "no"
			}
		}
		fmt.Fprintf(&md, "| %s | >= %gx | %s | %s |\n", what, byWhat[what][0].goal, strings.Join(got, "; "), met)
	}
	return md.String()
}

// benchJob returns a job named name with the given options set.
func benchJob(name string, kvs [][2]string) (workloads.Job, error) {
	j := workloads.NewJob(name)
	for _, kv := range kvs {
		if err := j.Set(kv[0], kv[1]); err != nil {
			return j, fmt.Errorf("job %s: %s=%s: %w", name, kv[0], kv[1], err)
		}
	}
	return j, nil
}

// benchWorkloads runs the bundled workloads under fio and iobench.
func benchWorkloads(b *benchEnv) (section, error) {
	scripts, _ := filepath.Glob("workloads/*.fio")
	if len(scripts) == 0 {
		return section{}, &badInput{fmt.Errorf("no workloads/*.fio: run from the repository root")}
	}
	sort.Strings(scripts)
	fmt.Fprintf(b.stderr, "bench: %d workloads, %d round(s) each, %ss per run\n", len(scripts), b.rounds, b.runtime)
	var md strings.Builder
	md.WriteString("## Bundled workloads: iobench vs fio (io_uring engine, same target)\n\n")
	md.WriteString("Ratios are iobench / fio per round (min / median / max); IOPS and p99 are medians.\n")
	md.WriteString("fio runs the same job file; iobench-only options (mapper, cache) apply to iobench alone. The two take turns, the one that went first in a round going second in the next.\n\n")
	md.WriteString("| workload | fio IOPS | iobench IOPS | IOPS ratio | BW ratio (median) | p99 ratio (median) |\n|---|---:|---:|---|---:|---:|\n")
	var sec section
	for _, s := range scripts {
		f, err := workloads.ParseFile(s)
		if err != nil {
			return section{}, err
		}
		j := f.Jobs[0]
		_ = j.Set("runtime", b.runtime)
		fmt.Fprintf(b.stderr, "bench: %s\n", j.Name)
		a, bb, err := abRounds(j, b.target.Path, b.rounds, b.save(j.Name))
		if err != nil {
			return section{}, fmt.Errorf("%s: %w", s, err)
		}
		r := compareRow(j.Name, a, bb)
		fmt.Fprintf(&md, "| %s | %s | %s | %.2f / %.2f / %.2f | %.2f | %.2f |\n", r.name, fmtCount(r.meanFI), fmtCount(r.meanIO),
			r.iops.Min, r.iops.Median, r.iops.Max, r.bw.Median, r.p99.Median)
		switch r.name {
		case "randread-4k":
			sec.targets = append(sec.targets, targetRow{what: "4 KiB random reads, QD 32, linear, vs fio", goal: 1.0, measured: r.iops})
		case "overwrite-out-of-place":
			sec.targets = append(sec.targets, targetRow{what: "4 KiB random out-of-place writes (cow), QD 16, vs fio randwrite", goal: 1.0, measured: r.iops})
		}
	}
	sec.markdown = md.String()
	return sec, nil
}

// fioBest is j with fio's fastest settings here: registered files and
// buffers, and submissions batched up to the queue depth (fio's default
// submits each I/O on its own).
func fioBest(j workloads.Job, qd int) (workloads.Job, error) {
	best := j.Clone()
	for _, kv := range [][2]string{{"fixedbufs", "1"}, {"registerfiles", "1"},
		{"iodepth_batch_submit", fmt.Sprint(qd)}, {"iodepth_batch_complete_min", "1"}} {
		if err := best.Set(kv[0], kv[1]); err != nil {
			return best, fmt.Errorf("job %s: %s=%s: %w", j.Name, kv[0], kv[1], err)
		}
	}
	return best, nil
}

// qdPoint is one queue depth of the sweep: per round, fio with its
// defaults, fio with its best settings, and iobench.
type qdPoint struct {
	qd              int
	fio, best, iob  []Metrics
	vsFio, vsBest   Ratio // iobench IOPS / reference IOPS, per round
	cpuFio, cpuBest Ratio // iobench CPU per I/O / reference's, per round
}

// benchQueueDepth sweeps the queue depth of 4 KiB random reads and writes
// on the loop device, alternating fio (defaults), fio (best settings) and
// iobench in every round, and reports IOPS, latency, CPU time, context
// switches and io_uring_enter calls per I/O.
func benchQueueDepth(b *benchEnv) (section, error) {
	qds := []int{1, 4, 16, 32, 64, 128}
	rounds := b.rounds
	fmt.Fprintf(b.stderr, "bench: queue-depth sweep %v, randread and randwrite, %d round(s)\n", qds, rounds)
	_, fioErr := fioPath()
	var md strings.Builder
	var sec section
	md.WriteString("## 4 KiB random I/O against queue depth\n\n")
	md.WriteString("Each round runs fio with its defaults, fio with its best settings (`fixedbufs`, `registerfiles`, `iodepth_batch_submit=<iodepth>`) and iobench with its defaults, one after the other, each round starting one further along that list, so that each tool runs once in each place every three rounds.\n")
	md.WriteString("Ratios are iobench over the reference per round: median (min-max). Latency is total latency (lat: from queueing to completion, slat + clat) p50 / p99, medians, as iobench submits and waits for a lone I/O in one system call, where the end of the submission is not measured; lat is the same span for both tools. ")
	md.WriteString("CPU is user + system time of each tool's job thread per I/O (µs), ctx its context switches per I/O; enters is iobench's io_uring_enter calls per I/O.\n\n")
	md.WriteString("| rw | iodepth | fio IOPS | fio best IOPS | iobench IOPS | vs fio | vs fio best | lat p50/p99 fio | lat p50/p99 iobench | CPU/IO fio / best / iobench | ctx/IO fio / iobench | enters/IO |\n")
	md.WriteString("|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|\n")
	var plots []plotSpec
	for _, rw := range []string{"randread", "randwrite"} {
		var iobXY, fioXY, bestXY plotter.XYs
		for _, qd := range qds {
			j, err := benchJob(fmt.Sprintf("%s-qd%d", rw, qd), [][2]string{{"rw", rw}, {"bs", "4k"}, {"iodepth", fmt.Sprint(qd)},
				{"runtime", b.sweepRuntime}, {"time_based", "1"}, {"size", "256m"}})
			if err != nil {
				return section{}, err
			}
			best, err := fioBest(j, qd)
			if err != nil {
				return section{}, err
			}
			pt := qdPoint{qd: qd}
			var rf, rb, cf, cb []float64
			for r := range rounds {
				if interrupted.Load() {
					return section{}, errInterrupted
				}
				var save func(string, []byte)
				if r == 0 {
					save = b.save(j.Name)
				}
				iob := sideRun(j, b.target.Path, "iobench", iobenchMetrics, &pt.iob, save)
				runs := []func() error{iob}
				if fioErr == nil {
					runs = []func() error{sideRun(j, b.target.Path, "fio", fioMetrics, &pt.fio, save),
						sideRun(best, b.target.Path, "fio-best", fioMetrics, &pt.best, save), iob}
				}
				for _, i := range roundOrder(r, len(runs)) {
					if err := runs[i](); err != nil {
						return section{}, err
					}
				}
				m := pt.iob[r]
				if fioErr == nil {
					f, bst := pt.fio[r], pt.best[r]
					rf, rb = append(rf, m.IOPS/f.IOPS), append(rb, m.IOPS/bst.IOPS)
					if f.CPUPerIO > 0 && bst.CPUPerIO > 0 {
						cf, cb = append(cf, m.CPUPerIO/f.CPUPerIO), append(cb, m.CPUPerIO/bst.CPUPerIO)
					}
				}
			}
			pt.vsFio, pt.vsBest, pt.cpuFio, pt.cpuBest = ratios(rf), ratios(rb), ratios(cf), ratios(cb)
			med := func(ms []Metrics, f func(Metrics) float64) float64 {
				var xs []float64
				for _, m := range ms {
					xs = append(xs, f(m))
				}
				return ratios(xs).Median
			}
			iops := func(m Metrics) float64 { return m.IOPS }
			p50 := func(m Metrics) float64 { return m.P50 }
			p99 := func(m Metrics) float64 { return m.P99 }
			cpu := func(m Metrics) float64 { return m.CPUPerIO }
			ctx := func(m Metrics) float64 { return m.CtxPerIO }
			enters := func(m Metrics) float64 { return m.EntersPerIO }
			iobXY = append(iobXY, plotter.XY{X: float64(qd), Y: med(pt.iob, iops)})
			if fioErr == nil {
				fioXY = append(fioXY, plotter.XY{X: float64(qd), Y: med(pt.fio, iops)})
				bestXY = append(bestXY, plotter.XY{X: float64(qd), Y: med(pt.best, iops)})
			}
			r2 := func(x Ratio) string { return fmt.Sprintf("%.2f (%.2f-%.2f)", x.Median, x.Min, x.Max) }
			fmt.Fprintf(&md, "| %s | %d | %s | %s | %s | %s | %s | %s / %s | %s / %s | %.2f / %.2f / %.2f | %.2f / %.2f | %.2f |\n",
				rw, qd, fmtCount(med(pt.fio, iops)), fmtCount(med(pt.best, iops)), fmtCount(med(pt.iob, iops)),
				r2(pt.vsFio), r2(pt.vsBest),
				fmtLat(med(pt.fio, p50)), fmtLat(med(pt.fio, p99)), fmtLat(med(pt.iob, p50)), fmtLat(med(pt.iob, p99)),
				med(pt.fio, cpu), med(pt.best, cpu), med(pt.iob, cpu), med(pt.fio, ctx), med(pt.iob, ctx), med(pt.iob, enters))
			if fioErr == nil {
				where := fmt.Sprintf("QD %d", qd)
				sec.targets = append(sec.targets,
					targetRow{what: fmt.Sprintf("4 KiB %s IOPS vs fio (defaults), every queue depth", rw), goal: 1.0, measured: pt.vsFio, where: where},
					targetRow{what: fmt.Sprintf("4 KiB %s IOPS vs fio (best settings), every queue depth", rw), goal: 1.0, measured: pt.vsBest, where: where})
				if len(cf) > 0 {
					sec.targets = append(sec.targets, targetRow{what: fmt.Sprintf("4 KiB %s CPU per I/O, fio (defaults) / iobench, every queue depth", rw),
						goal: 1.0, measured: invert(pt.cpuFio), where: where})
				}
			}
		}
		series := []any{"iobench", iobXY}
		if len(fioXY) > 0 {
			series = append(series, "fio", fioXY, "fio best", bestXY)
		}
		plots = append(plots, plotSpec{file: fmt.Sprintf("iops-vs-qd-%s.svg", rw), title: fmt.Sprintf("4 KiB %s IOPS", rw),
			xLabel: "queue depth", yLabel: "IOPS", logX: true, series: series})
	}
	sec.markdown, sec.plots = md.String(), plots
	return sec, nil
}

// benchNull measures the engine's own ceiling: ioengine=null runs the
// whole engine path (cache lookup, splitting, requests) over a ring that
// completes each I/O in the process, against fio's null engine, which
// does the same. fio's null engine takes no new I/O while one it queued
// is unreaped, so with its defaults it runs one I/O at a time whatever
// the iodepth; above depth 1 the rounds are run a second time with
// iodepth_batch_submit at the depth on both, where fio's runs at depth.
func benchNull(b *benchEnv) (section, error) {
	var md strings.Builder
	var sec section
	md.WriteString("## The engine's own ceiling: ioengine=null\n\n")
	md.WriteString("4 KiB random reads with `ioengine=null`: iobench runs its whole path (extent cache, mapper, splitting, requests) over a ring that completes each I/O when it is submitted, in the process; fio's null engine completes each I/O in memory too. Neither makes a system call per I/O. ")
	md.WriteString("With its defaults fio's null engine runs one I/O at a time whatever the iodepth (it takes no new I/O while one it queued is unreaped: IO depths 1=100%), so depth 32 runs a second time with `iodepth_batch_submit=32` on both tools, where fio's runs at depth 32. ")
	md.WriteString("ns/IO is iobench's wall time per I/O (1 s / IOPS) and its job thread's CPU time per I/O. Ratios per round: median (min-max).\n\n")
	cpu, err := benchNullCPU()
	if err != nil {
		return section{}, err
	}
	fmt.Fprintf(&md, "Both tools run each job on CPU %d (`cpus_allowed=%d`): the vCPUs of a VM can differ in speed, and unpinned, the CPU each tool's thread landed on could decide the ratio.\n\n", cpu, cpu)
	md.WriteString("| iodepth | settings | fio null IOPS | iobench null IOPS | iobench / fio | iobench ns/IO (wall) | iobench CPU ns/IO | enters/IO |\n|---:|---|---:|---:|---|---:|---:|---:|\n")
	jobs, err := benchNullJobs(b.sweepRuntime, cpu)
	if err != nil {
		return section{}, err
	}
	for i, v := range benchNullVariants {
		j := jobs[i]
		a, bb, err := abRounds(j, b.target.Path, b.rounds, b.save(j.Name))
		if err != nil {
			return section{}, err
		}
		r := compareRow(j.Name, a, bb)
		var cpuNs []float64
		for _, m := range bb {
			cpuNs = append(cpuNs, m.CPUPerIO*1e3)
		}
		wall := 0.0
		if r.meanIO > 0 {
			wall = 1e9 / r.meanIO
		}
		fmt.Fprintf(&md, "| %d | %s | %s | %s | %.2f (%.2f-%.2f) | %.0f | %.0f | %.2f |\n", v.qd, v.settings, fmtCount(r.meanFI), fmtCount(r.meanIO),
			r.iops.Median, r.iops.Min, r.iops.Max, wall, ratios(cpuNs).Median, r.enters)
		if len(a) > 0 {
			where := fmt.Sprintf("QD %d", v.qd)
			if v.qd > 1 {
				where += ", " + v.settings
			}
			sec.targets = append(sec.targets, targetRow{what: "ioengine=null IOPS vs fio's null engine", goal: 1.0,
				measured: r.iops, where: where})
		}
	}
	sec.markdown = md.String()
	return sec, nil
}

// benchNullVariants are benchNull's rows: the depth, the settings' name
// and the job options that make them.
var benchNullVariants = []struct {
	qd       int
	settings string
	extra    [][2]string
}{{1, "defaults", nil}, {32, "defaults", nil},
	{32, "iodepth_batch_submit=32 on both", [][2]string{{"iodepth_batch_submit", "32"}}}}

// benchNullJobs returns the jobs of benchNull's rows, each pinned to cpu
// (cpus_allowed, which fio's job file gets too).
func benchNullJobs(runtime string, cpu int) ([]workloads.Job, error) {
	var jobs []workloads.Job
	for _, v := range benchNullVariants {
		name := fmt.Sprintf("null-qd%d", v.qd)
		if v.extra != nil {
			name += "-batch"
		}
		kvs := append([][2]string{{"ioengine", "null"}, {"rw", "randread"}, {"bs", "4k"},
			{"iodepth", fmt.Sprint(v.qd)}, {"runtime", runtime}, {"time_based", "1"}, {"size", "256m"},
			{"cpus_allowed", fmt.Sprint(cpu)}}, v.extra...)
		j, err := benchJob(name, kvs)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// benchNullCPU is the CPU benchNull runs both tools on: the highest this
// process may run on.
func benchNullCPU() (int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0, err
	}
	for c := len(set)*64 - 1; c >= 0; c-- {
		if set.IsSet(c) {
			return c, nil
		}
	}
	return 0, errors.New("bench: no CPU in this process's affinity")
}

// invert turns a ratio a/b into b/a (its min and max swap).
func invert(r Ratio) Ratio {
	if r.Min == 0 || r.Max == 0 || r.Median == 0 {
		return Ratio{}
	}
	return Ratio{Min: 1 / r.Max, Median: 1 / r.Median, Max: 1 / r.Min, N: r.N}
}

// benchMapperCost measures the mapper's cost with the cache on and off,
// on the loop device and on a memory-speed device (a tmpfs file read with
// O_DIRECT), where the device does not cap what the cache can give.
func benchMapperCost(b *benchEnv) (section, error) {
	costs := []time.Duration{0, 5 * time.Microsecond, 20 * time.Microsecond}
	sweepTargets := []*Target{b.target}
	if b.target.loop != nil {
		ft, err := FileTarget(b.size)
		if err != nil {
			return section{}, err
		}
		defer ft.Close()
		sweepTargets = append(sweepTargets, ft)
	}
	var md strings.Builder
	md.WriteString("## Fragmented file (65536 extents), 4 KiB random reads, QD 16: what the cache buys\n\n")
	md.WriteString("Cache on: warmed first (`warm=1`, the scattered mapper's layout loaded without the cost). Cache off: every I/O calls the mapper.\n")
	md.WriteString("On the loop device the device caps IOPS with the cache on; the tmpfs file (O_DIRECT, no loop device) is a device at memory speed.\n\n")
	md.WriteString("IOPS are medians over the rounds; on/off is taken per round (median, min-max).\n\n")
	md.WriteString("| target | mapper cost | cache on IOPS | cache off IOPS | on/off | hit rate (on) |\n|---|---:|---:|---:|---:|---:|\n")
	var sec section
	var sweepSeries []any
	for ti, tgt := range sweepTargets {
		kind := "loop device"
		if tgt.loop == nil {
			kind = "tmpfs file"
		}
		fmt.Fprintf(b.stderr, "bench: mapper-cost sweep %v on the %s, cache on and off\n", costs, kind)
		var on, off plotter.XYs
		for _, c := range costs {
			p, err := cachePoint(b, tgt, c, ti > 0)
			if err != nil {
				return section{}, err
			}
			x := float64(c.Microseconds())
			on = append(on, plotter.XY{X: x, Y: p.onIOPS})
			off = append(off, plotter.XY{X: x, Y: p.offIOPS})
			fmt.Fprintf(&md, "| %s | %v | %s | %s | %.1fx (%.1f-%.1f) | %.1f%% |\n", kind, c, fmtCount(p.onIOPS), fmtCount(p.offIOPS),
				p.ratio.Median, p.ratio.Min, p.ratio.Max, 100*p.hitRate)
			if c == 20*time.Microsecond {
				sec.targets = append(sec.targets, targetRow{what: "20 µs mapper: warm cache vs cache off", goal: 10, measured: p.ratio, where: kind})
			}
		}
		sweepSeries = append(sweepSeries, "cache on, "+kind, on, "cache off, "+kind, off)
	}
	sec.markdown = md.String()
	sec.plots = []plotSpec{{file: "iops-vs-mapper-cost.svg", title: "IOPS against mapper cost (fragmented file)",
		xLabel: "mapper cost per call (µs)", yLabel: "IOPS", series: sweepSeries}}
	return sec, nil
}

// cacheResult is one point of the mapper-cost sweep.
type cacheResult struct {
	onIOPS, offIOPS float64 // medians over the rounds
	ratio           Ratio   // on/off per round
	hitRate         float64 // cache on, last round
}

// cachePoint runs the fragmented-file job at mapper cost c with the cache
// on and off, in turn (roundOrder), b.rounds times; the ratio is taken per round,
// so a noisy moment on the host moves both sides.
func cachePoint(b *benchEnv, tgt *Target, c time.Duration, tmpfs bool) (cacheResult, error) {
	var iops [2][]float64
	var perRound []float64
	var p cacheResult
	for r := range b.rounds {
		var got [2]JobResult
		for _, k := range roundOrder(r, 2) {
			cache := []string{"on", "off"}[k]
			name := fmt.Sprintf("scattered-%v-cache-%s", c, cache)
			if tmpfs {
				name += "-tmpfs"
			}
			j, err := benchJob(name, [][2]string{{"rw", "randread"}, {"bs", "4k"}, {"iodepth", "16"}, {"runtime", b.runtime}, {"time_based", "1"},
				{"size", "256m"}, {"mapper", "scattered"}, {"extents", "65536"}, {"map_latency", fmt.Sprintf("%dus", c.Microseconds())},
				{"cache", cache}, {"warm", cache}})
			if err != nil {
				return p, err
			}
			res, js, err := runOne(j, tgt.Path)
			if err != nil {
				return p, err
			}
			if r == 0 {
				b.save(j.Name)("iobench", js)
			}
			got[k] = res
			iops[k] = append(iops[k], res.Dir[0].IOPS())
		}
		perRound = append(perRound, got[0].Dir[0].IOPS()/max(got[1].Dir[0].IOPS(), 1))
		p.hitRate = got[0].Engine.HitRate()
	}
	p.onIOPS, p.offIOPS, p.ratio = ratios(iops[0]).Median, ratios(iops[1]).Median, ratios(perRound)
	return p, nil
}

// benchBigFile reads a warm cache of a 1M-extent file against fio and
// against the linear mapper, on a loop device large enough for 1M 4 KiB
// extents.
func benchBigFile(b *benchEnv) (section, error) {
	const bigExtents = 1_000_000
	bigSize := uint64(8 << 30)
	fmt.Fprintf(b.stderr, "bench: warm %d-extent file on a %s target\n", bigExtents, humanBytes(bigSize))
	bt, err := AutoTarget(int64(bigSize))
	if err != nil {
		return section{}, err
	}
	defer bt.Close()
	big, err := benchJob("scattered-1m-warm", [][2]string{{"rw", "randread"}, {"bs", "4k"}, {"iodepth", "32"}, {"runtime", b.runtime}, {"time_based", "1"},
		{"size", "4g"}, {"mapper", "scattered"}, {"extents", fmt.Sprint(bigExtents)}, {"warm", "1"}})
	if err != nil {
		return section{}, err
	}
	lin := big.Clone()
	_ = lin.Set("name", "linear-4g")
	_ = lin.Set("mapper", "linear")
	_ = lin.Set("warm", "0")
	// fio, scattered and linear take turns in every round (roundOrder), so
	// the per-round ratios compare runs made minutes, not rounds, apart.
	_, fioErr := fioPath()
	var bigA, bigB, lins []Metrics
	var vsLinear []float64
	for r := range b.rounds {
		if interrupted.Load() {
			return section{}, errInterrupted
		}
		save := func(job workloads.Job) func(string, []byte) {
			if r > 0 {
				return nil
			}
			return b.save(job.Name)
		}
		runs := []func() error{sideRun(big, bt.Path, "iobench", iobenchMetrics, &bigB, save(big)),
			sideRun(lin, bt.Path, "iobench", iobenchMetrics, &lins, save(lin))}
		if fioErr == nil {
			runs = append(runs, sideRun(big, bt.Path, "fio", fioMetrics, &bigA, save(big)))
		}
		for _, i := range roundOrder(r, len(runs)) {
			if err := runs[i](); err != nil {
				return section{}, err
			}
		}
		vsLinear = append(vsLinear, bigB[r].IOPS/max(lins[r].IOPS, 1))
	}
	var linIOPS []float64
	for _, m := range lins {
		linIOPS = append(linIOPS, m.IOPS)
	}
	bigRow := compareRow(big.Name, bigA, bigB)
	linRatio := ratios(vsLinear)
	var md strings.Builder
	md.WriteString("## A warm cache of a 1M-extent file, 4 KiB random reads, QD 32\n\n")
	fmt.Fprintf(&md, "Target: %s. The file is 4 GiB in %d extents scattered over the device (`mapper=scattered`), its cache filled first (`warm=1`); fio and the linear mapper read the same 4 GiB of the device. The three take turns, each round starting one further along the list (scattered, linear, fio).\n\n", bt.Desc, bigExtents)
	md.WriteString("| run | IOPS (median) | ratio min / median / max |\n|---|---:|---|\n")
	fmt.Fprintf(&md, "| fio randread | %s | |\n", fmtCount(bigRow.meanFI))
	fmt.Fprintf(&md, "| iobench linear | %s | |\n", fmtCount(ratios(linIOPS).Median))
	fmt.Fprintf(&md, "| iobench scattered, 1M extents, warm | %s | %.2f / %.2f / %.2f of fio; %.2f / %.2f / %.2f of linear |\n", fmtCount(bigRow.meanIO),
		bigRow.iops.Min, bigRow.iops.Median, bigRow.iops.Max, linRatio.Min, linRatio.Median, linRatio.Max)
	return section{markdown: md.String(), targets: []targetRow{
		{what: "warm cache of a 1M-extent file, QD 32, vs fio", goal: 0.95, measured: bigRow.iops},
		{what: "warm cache of a 1M-extent file, QD 32, vs the linear mapper", goal: 0.95, measured: linRatio},
	}}, nil
}

// linePlot draws series (name, plotter.XYs pairs) to an SVG file.
func linePlot(path, title, xLabel, yLabel string, logX bool, series ...any) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	if err := plotutil.AddLinePoints(p, series...); err != nil {
		return err
	}
	p.Legend.Top = true
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}

// table prints aligned columns.
type table struct {
	w    io.Writer
	rows [][]string
}

func newTable(w io.Writer, header ...string) *table { return &table{w: w, rows: [][]string{header}} }

func (t *table) row(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) flush() {
	width := make([]int, len(t.rows[0]))
	for _, r := range t.rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	for _, r := range t.rows {
		for i, c := range r {
			fmt.Fprintf(t.w, "%-*s  ", width[i], c)
		}
		fmt.Fprintln(t.w)
	}
}
