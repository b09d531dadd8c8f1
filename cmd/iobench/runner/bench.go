package runner

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/iobench/iobench/workloads"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// runOne runs a single job on target and returns its result and JSON.
// errInterrupted ends a bench or compare run the user stopped.
var errInterrupted = fmt.Errorf("interrupted")

func runOne(j workloads.Job, target string) (JobResult, []byte, error) {
	if interrupted.Load() {
		return JobResult{}, nil, errInterrupted
	}
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
	m := Metrics{IOPS: r.Dir[0].IOPS() + r.Dir[1].IOPS(), BW: r.Dir[0].BW() + r.Dir[1].BW()}
	d := &r.Dir[0]
	if r.Dir[1].IOs > r.Dir[0].IOs {
		d = &r.Dir[1]
	}
	if d.Lat.TotalCount() > 0 {
		m.MeanLat = d.Lat.Mean()
		m.P99 = float64(d.Lat.ValueAtQuantile(99))
	}
	return m
}

// Ratio summarises iobench/fio over rounds.
type Ratio struct{ Min, Median, Max float64 }

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
	return Ratio{s[0], med, s[len(s)-1]}
}

// abRounds runs j under fio (A) and iobench (B) alternately, rounds times,
// and returns both sides' metrics per round. Without fio it runs B only.
func abRounds(j workloads.Job, target string, rounds int, save func(name string, b []byte)) (a, b []Metrics, err error) {
	_, fioErr := fioPath()
	for r := range rounds {
		if interrupted.Load() {
			return nil, nil, errInterrupted
		}
		if fioErr == nil {
			out, err := runFio(j, target)
			if err != nil {
				return nil, nil, err
			}
			ms, order, err := ParseFioJSON(out)
			if err != nil || len(order) == 0 {
				return nil, nil, fmt.Errorf("fio output: %v", err)
			}
			a = append(a, ms[order[0]])
			if save != nil && r == 0 {
				save("fio", out)
			}
		}
		res, js, err := runOne(j, target)
		if err != nil {
			return nil, nil, err
		}
		b = append(b, metricsOf(res))
		if save != nil && r == 0 {
			save("iobench", js)
		}
	}
	return a, b, nil
}

type cmpRow struct {
	name   string
	a, b   []Metrics
	iops   Ratio
	bw     Ratio
	p99    Ratio
	meanIO float64 // median iobench IOPS
	meanFI float64
}

func compareRow(name string, a, b []Metrics) cmpRow {
	row := cmpRow{name: name, a: a, b: b}
	var ri, rb, rp, bi, fi []float64
	for i := range b {
		bi = append(bi, b[i].IOPS)
		if i < len(a) {
			fi = append(fi, a[i].IOPS)
			if a[i].IOPS > 0 {
				ri = append(ri, b[i].IOPS/a[i].IOPS)
			}
			if a[i].BW > 0 {
				rb = append(rb, b[i].BW/a[i].BW)
			}
			if a[i].P99 > 0 {
				rp = append(rp, b[i].P99/a[i].P99)
			}
		}
	}
	row.iops, row.bw, row.p99 = ratios(ri), ratios(rb), ratios(rp)
	row.meanIO, row.meanFI = ratios(bi).Median, ratios(fi).Median
	return row
}

// runCompare is `iobench compare`.
func runCompare(st settings, job workloads.Job, files []string, stdout, stderr io.Writer) error {
	if err := ensureFio(stderr); err != nil {
		return err
	}
	jobs, _, err := buildJobs(job, files, stderr)
	if err != nil {
		return &badInput{err}
	}
	if len(jobs) == 0 {
		j := job.Clone()
		j.Name = "randread-4k"
		for _, kv := range [][2]string{{"rw", "randread"}, {"iodepth", "32"}, {"runtime", "5"}, {"time_based", "1"}, {"size", "256m"}} {
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
	fmt.Fprintf(stdout, "Comparing with fio on %s, %d rounds (A = fio io_uring, B = iobench, alternating A B A B)\n", target, st.rounds)
	fmt.Fprintf(stdout, "Ratios are iobench / fio per round: above 1 iobench is faster (IOPS, BW) or slower (latency).\n\n")
	tw := newTable(stdout, "job", "fio IOPS", "iobench IOPS", "IOPS ratio min/med/max", "BW ratio min/med/max", "p99 latency ratio min/med/max")
	for _, j := range jobs {
		a, b, err := abRounds(j, target, st.rounds, nil)
		if err != nil {
			return fmt.Errorf("job %s: %w", j.Name, err)
		}
		r := compareRow(j.Name, a, b)
		mmm := func(x Ratio) string { return fmt.Sprintf("%.2f / %.2f / %.2f", x.Min, x.Median, x.Max) }
		tw.row(j.Name, fmtCount(r.meanFI), fmtCount(r.meanIO), mmm(r.iops), mmm(r.bw), mmm(r.p99))
	}
	tw.flush()
	return nil
}

// sharedTarget returns the jobs' target, or an automatic one.
func sharedTarget(jobs []workloads.Job, st settings) (string, func(), error) {
	if f := jobs[0].Filename; f != "" {
		if err := checkTarget(&jobs[0]); err != nil {
			return "", nil, &badInput{err}
		}
		return f, func() {}, nil
	}
	t, err := AutoTarget(int64(st.targetSize))
	if err != nil {
		return "", nil, err
	}
	return t.Path, func() { t.Close() }, nil
}

// runBench is `iobench bench` (make bench): every bundled workload under
// iobench and fio, a queue-depth sweep, and a mapper-cost sweep with the
// cache on and off, written to st.results afresh.
func runBench(st settings, stdout, stderr io.Writer) error {
	dir := st.results
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	scripts, _ := filepath.Glob("workloads/*.fio")
	if len(scripts) == 0 {
		return &badInput{fmt.Errorf("no workloads/*.fio: run from the repository root")}
	}
	sort.Strings(scripts)
	t, err := AutoTarget(int64(st.targetSize))
	if err != nil {
		return err
	}
	defer t.Close()
	runtime := "5"
	rounds := 3 // a median needs three: the host is noisy
	if st.quick {
		runtime, rounds = "2", 1
	}
	fioErr := ensureFio(stderr)
	if fioErr != nil {
		fmt.Fprintf(stderr, "iobench: %v: measuring iobench alone\n", fioErr)
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# iobench results\n\nMeasured by `make bench` (`iobench bench`) on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&md, "- Target: %s\n- Kernel: %s\n- CPUs: %d\n", t.Desc, kernel(), numCPU())
	ring := ""
	save := func(name string) func(string, []byte) {
		return func(tool string, b []byte) {
			_ = os.WriteFile(filepath.Join(dir, name+"."+tool+".json"), b, 0o644)
		}
	}

	// 1. The bundled workloads, fio vs iobench.
	fmt.Fprintf(stderr, "bench: %d workloads, %d round(s) each, %ss per run\n", len(scripts), rounds, runtime)
	var rows []cmpRow
	for _, s := range scripts {
		f, err := workloads.ParseFile(s)
		if err != nil {
			return err
		}
		j := f.Jobs[0]
		_ = j.Set("runtime", runtime)
		fmt.Fprintf(stderr, "bench: %s\n", j.Name)
		a, b, err := abRounds(j, t.Path, rounds, save(j.Name))
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		rows = append(rows, compareRow(j.Name, a, b))
		if ring == "" {
			if res, _, err := runOne(withRuntime(j, "1"), t.Path); err == nil {
				ring = res.Ring
			}
		}
	}
	fmt.Fprintf(&md, "- io_uring: `%s`\n\n", ring)
	md.WriteString("## Bundled workloads: iobench vs fio (io_uring engine, same target)\n\n")
	md.WriteString("Ratios are iobench / fio per round (min / median / max); IOPS and p99 are medians.\n")
	md.WriteString("fio runs the same job file; iobench-only options (mapper, cache) apply to iobench alone.\n\n")
	md.WriteString("| workload | fio IOPS | iobench IOPS | IOPS ratio | BW ratio (median) | p99 ratio (median) |\n|---|---:|---:|---|---:|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&md, "| %s | %s | %s | %.2f / %.2f / %.2f | %.2f | %.2f |\n", r.name, fmtCount(r.meanFI), fmtCount(r.meanIO),
			r.iops.Min, r.iops.Median, r.iops.Max, r.bw.Median, r.p99.Median)
	}

	// 2. Queue-depth sweep, 4k random reads.
	qds := []int{1, 4, 16, 32, 64}
	fmt.Fprintf(stderr, "bench: queue-depth sweep %v\n", qds)
	var iobIOPS, fioIOPS, iobP99, fioP99 plotter.XYs
	md.WriteString("\n## 4 KiB random reads against queue depth\n\n| iodepth | fio IOPS | iobench IOPS | ratio | fio p99 | iobench p99 |\n|---:|---:|---:|---:|---:|---:|\n")
	for _, qd := range qds {
		j := workloads.NewJob(fmt.Sprintf("randread-qd%d", qd))
		for _, kv := range [][2]string{{"rw", "randread"}, {"bs", "4k"}, {"iodepth", fmt.Sprint(qd)}, {"runtime", runtime}, {"time_based", "1"}, {"size", "256m"}} {
			_ = j.Set(kv[0], kv[1])
		}
		a, b, err := abRounds(j, t.Path, 1, save(j.Name))
		if err != nil {
			return err
		}
		iobIOPS = append(iobIOPS, plotter.XY{X: float64(qd), Y: b[0].IOPS})
		iobP99 = append(iobP99, plotter.XY{X: float64(qd), Y: b[0].P99 / 1e3})
		fa := Metrics{}
		if len(a) > 0 {
			fa = a[0]
			fioIOPS = append(fioIOPS, plotter.XY{X: float64(qd), Y: fa.IOPS})
			fioP99 = append(fioP99, plotter.XY{X: float64(qd), Y: fa.P99 / 1e3})
		}
		ratio := 0.0
		if fa.IOPS > 0 {
			ratio = b[0].IOPS / fa.IOPS
		}
		fmt.Fprintf(&md, "| %d | %s | %s | %.2f | %s | %s |\n", qd, fmtCount(fa.IOPS), fmtCount(b[0].IOPS), ratio,
			fmtLat(fa.P99), fmtLat(b[0].P99))
	}
	series := []any{"iobench", iobIOPS}
	p99s := []any{"iobench", iobP99}
	if len(fioIOPS) > 0 {
		series = append(series, "fio", fioIOPS)
		p99s = append(p99s, "fio", fioP99)
	}
	if err := linePlot(filepath.Join(dir, "iops-vs-qd.svg"), "4 KiB random read IOPS", "queue depth", "IOPS", true, series...); err != nil {
		return err
	}
	if err := linePlot(filepath.Join(dir, "p99-vs-qd.svg"), "4 KiB random read p99 latency", "queue depth", "p99 (µs)", true, p99s...); err != nil {
		return err
	}

	// 3. Mapper cost with the cache on and off, on the loop device and on
	// a memory-speed device (a tmpfs file read with O_DIRECT), where the
	// device does not cap what the cache can give.
	costs := []time.Duration{0, 5 * time.Microsecond, 20 * time.Microsecond}
	sweepTargets := []*Target{t}
	if t.loop != nil {
		ft, err := FileTarget(int64(st.targetSize))
		if err != nil {
			return err
		}
		defer ft.Close()
		sweepTargets = append(sweepTargets, ft)
	}
	md.WriteString("\n## Fragmented file (65536 extents), 4 KiB random reads, QD 16: what the cache buys\n\n")
	md.WriteString("Cache on: warmed first (`warm=1`, the scattered mapper's layout loaded without the cost). Cache off: every I/O calls the mapper.\n")
	md.WriteString("On the loop device the device caps IOPS with the cache on; the tmpfs file (O_DIRECT, no loop device) is a device at memory speed.\n\n")
	md.WriteString("IOPS are medians over the rounds; on/off is taken per round (median, min-max).\n\n")
	md.WriteString("| target | mapper cost | cache on IOPS | cache off IOPS | on/off | hit rate (on) |\n|---|---:|---:|---:|---:|---:|\n")
	var sweepSeries []any
	var gain20 []string
	for ti, tgt := range sweepTargets {
		kind := "loop device"
		if tgt.loop == nil {
			kind = "tmpfs file"
		}
		fmt.Fprintf(stderr, "bench: mapper-cost sweep %v on the %s, cache on and off\n", costs, kind)
		var on, off plotter.XYs
		for _, c := range costs {
			// Cache on and off alternate, rounds times; the ratio is taken
			// per round, so a noisy moment on the host moves both sides.
			var iops [2][]float64
			var perRound []float64
			hitRate := 0.0
			for r := range rounds {
				var got [2]JobResult
				for k, cache := range []string{"on", "off"} {
					name := fmt.Sprintf("scattered-%v-cache-%s", c, cache)
					if ti > 0 {
						name += "-tmpfs"
					}
					j := workloads.NewJob(name)
					for _, kv := range [][2]string{{"rw", "randread"}, {"bs", "4k"}, {"iodepth", "16"}, {"runtime", runtime}, {"time_based", "1"},
						{"size", "256m"}, {"mapper", "scattered"}, {"extents", "65536"}, {"map_latency", fmt.Sprintf("%dus", c.Microseconds())},
						{"cache", cache}, {"warm", cache}} {
						if err := j.Set(kv[0], kv[1]); err != nil {
							return err
						}
					}
					res, js, err := runOne(j, tgt.Path)
					if err != nil {
						return err
					}
					if r == 0 {
						_ = os.WriteFile(filepath.Join(dir, j.Name+".iobench.json"), js, 0o644)
					}
					got[k] = res
					iops[k] = append(iops[k], res.Dir[0].IOPS())
				}
				perRound = append(perRound, got[0].Dir[0].IOPS()/max(got[1].Dir[0].IOPS(), 1))
				hitRate = got[0].Engine.HitRate()
			}
			onIOPS, offIOPS, ratio := ratios(iops[0]).Median, ratios(iops[1]).Median, ratios(perRound)
			x := float64(c.Microseconds())
			on = append(on, plotter.XY{X: x, Y: onIOPS})
			off = append(off, plotter.XY{X: x, Y: offIOPS})
			fmt.Fprintf(&md, "| %s | %v | %s | %s | %.1fx (%.1f-%.1f) | %.1f%% |\n", kind, c, fmtCount(onIOPS), fmtCount(offIOPS),
				ratio.Median, ratio.Min, ratio.Max, 100*hitRate)
			if c == 20*time.Microsecond {
				gain20 = append(gain20, fmt.Sprintf("%.1fx (%.1f-%.1f, %s)", ratio.Median, ratio.Min, ratio.Max, kind))
			}
		}
		sweepSeries = append(sweepSeries, "cache on, "+kind, on, "cache off, "+kind, off)
	}
	if err := linePlot(filepath.Join(dir, "iops-vs-mapper-cost.svg"), "IOPS against mapper cost (fragmented file)", "mapper cost per call (µs)", "IOPS", false,
		sweepSeries...); err != nil {
		return err
	}

	// 4. A warm cache of a 1M-extent file against fio and against the
	// linear mapper, on a loop device large enough for 1M 4 KiB extents.
	const bigExtents = 1_000_000
	bigSize := uint64(8 << 30)
	fmt.Fprintf(stderr, "bench: warm %d-extent file on a %s target\n", bigExtents, humanBytes(bigSize))
	bt, err := AutoTarget(int64(bigSize))
	if err != nil {
		return err
	}
	defer bt.Close()
	md.WriteString("\n## A warm cache of a 1M-extent file, 4 KiB random reads, QD 32\n\n")
	fmt.Fprintf(&md, "Target: %s. The file is 4 GiB in %d extents scattered over the device (`mapper=scattered`), its cache filled first (`warm=1`); fio and the linear mapper read the same 4 GiB of the device.\n\n", bt.Desc, bigExtents)
	big := workloads.NewJob("scattered-1m-warm")
	for _, kv := range [][2]string{{"rw", "randread"}, {"bs", "4k"}, {"iodepth", "32"}, {"runtime", runtime}, {"time_based", "1"},
		{"size", "4g"}, {"mapper", "scattered"}, {"extents", fmt.Sprint(bigExtents)}, {"warm", "1"}} {
		if err := big.Set(kv[0], kv[1]); err != nil {
			return err
		}
	}
	lin := big.Clone()
	_ = lin.Set("name", "linear-4g")
	_ = lin.Set("mapper", "linear")
	_ = lin.Set("warm", "0")
	// fio, scattered and linear take turns in every round, so the
	// per-round ratios compare runs made minutes, not rounds, apart.
	var bigA, bigB []Metrics
	var linIOPS, vsLinear []float64
	for r := range rounds {
		sv := save(big.Name)
		if r > 0 {
			sv = nil
		}
		a, b, err := abRounds(big, bt.Path, 1, sv)
		if err != nil {
			return err
		}
		res, js, err := runOne(lin, bt.Path)
		if err != nil {
			return err
		}
		if r == 0 {
			save(lin.Name)("iobench", js)
		}
		bigA, bigB = append(bigA, a...), append(bigB, b...)
		linIOPS = append(linIOPS, metricsOf(res).IOPS)
		vsLinear = append(vsLinear, b[0].IOPS/max(linIOPS[r], 1))
	}
	bigRow := compareRow(big.Name, bigA, bigB)
	linRatio := ratios(vsLinear)
	md.WriteString("| run | IOPS (median) | ratio min / median / max |\n|---|---:|---|\n")
	fmt.Fprintf(&md, "| fio randread | %s | |\n", fmtCount(bigRow.meanFI))
	fmt.Fprintf(&md, "| iobench linear | %s | |\n", fmtCount(ratios(linIOPS).Median))
	fmt.Fprintf(&md, "| iobench scattered, 1M extents, warm | %s | %.2f / %.2f / %.2f of fio; %.2f / %.2f / %.2f of linear |\n", fmtCount(bigRow.meanIO),
		bigRow.iops.Min, bigRow.iops.Median, bigRow.iops.Max, linRatio.Min, linRatio.Median, linRatio.Max)

	md.WriteString(ext4BenchSection(runtime, rounds, save, stderr)) // 5. ext4: mapper.Ext4 vs the kernel (ext4bench.go)

	// The engine's performance targets, gathered from the runs above.
	md.WriteString("\n## Targets\n\n| target | goal | measured (iobench / reference, median) |\n|---|---|---|\n")
	for _, r := range rows {
		switch r.name {
		case "randread-4k":
			fmt.Fprintf(&md, "| 4 KiB random reads, QD 32, linear, vs fio | >= 1.0x | %.2fx (%.2f-%.2f) |\n", r.iops.Median, r.iops.Min, r.iops.Max)
		case "overwrite-out-of-place":
			fmt.Fprintf(&md, "| 4 KiB random out-of-place writes (cow), QD 16, vs fio randwrite | >= 0.9x | %.2fx (%.2f-%.2f) |\n", r.iops.Median, r.iops.Min, r.iops.Max)
		}
	}
	fmt.Fprintf(&md, "| warm cache of a 1M-extent file, QD 32, vs fio | >= 0.95x | %.2fx (%.2f-%.2f) |\n", bigRow.iops.Median, bigRow.iops.Min, bigRow.iops.Max)
	fmt.Fprintf(&md, "| 20 µs mapper: warm cache vs cache off | >= 10x | %s |\n", strings.Join(gain20, "; "))

	md.WriteString("\n![IOPS vs queue depth](iops-vs-qd.svg)\n![p99 vs queue depth](p99-vs-qd.svg)\n![IOPS vs mapper cost](iops-vs-mapper-cost.svg)\n")
	md.WriteString("\nReproduce: `make bench` (or `go run ./cmd/iobench bench --results results`). Every JSON file here is the raw output of one run.\n")
	if err := os.WriteFile(filepath.Join(dir, "summary.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprint(stdout, md.String())
	return nil
}

func withRuntime(j workloads.Job, rt string) workloads.Job {
	c := j.Clone()
	_ = c.Set("runtime", rt)
	return c
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
