package runner

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/dustin/go-humanize"
	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/workloads"
	"golang.org/x/sys/unix"
)

// Version is iobench's version, printed in reports.
const Version = "iobench-0.1"

func humanBytes(n uint64) string { return humanize.IBytes(n) }

// Output says where and how results go.
type Output struct {
	Formats    []string // normal, json, json+, terse, in order
	W          io.Writer
	Progress   io.Writer     // nil: no progress line
	TTY        bool          // Progress is a terminal: redraw one line
	ETANewline time.Duration // >0: a progress line every period, each on a new line
	Status     io.Writer     // where SIGUSR1 prints the totals so far (nil: nowhere)
	// Started, when set, is called once every check made before any I/O
	// has passed, as the first job starts: the header lines go out then,
	// so that a run refused before its I/O writes nothing on stdout.
	Started func()
}

// dirNames names the directions in fio's order (workloads.DirRead, ...).
var dirNames = [workloads.NumDirs]string{"read", "write", "trim"}

// Run is a whole invocation's results.
type Run struct {
	// Time is when the report was made: the run's end (an interval's
	// report: its period's end), as fio stamps its JSON.
	Time   time.Time
	Target string
	Kernel string
	Jobs   []JobResult // the jobs that ran: none of the groups an interrupt stopped before they started
	// Interrupted is set when a signal stopped the run (see watchSignals).
	Interrupted bool
	// Global is the options every job started from (the command line's),
	// fio's "global options".
	Global [][2]string
	// Interval, when set, says the report covers one --status-interval
	// period only.
	Interval *Interval
	// Disks is what the targets' block devices did during the run.
	Disks []DiskUtil
	// Elapsed is the time from the run's start to its report (for an
	// interval's report, Interval.End is).
	Elapsed time.Duration
}

// elapsedSec is fio's "elapsed" of every job in run's report: the
// seconds since the run started, rounded up, when the report is made.
func (run *Run) elapsedSec() int64 {
	d := run.Elapsed
	if run.Interval != nil {
		d = run.Interval.End
	}
	return (d.Milliseconds() + 999) / 1000
}

// formatRank orders the formats as fio 3.33 writes them, whatever order
// --output-format lists them in: terse, then JSON, then normal.
var formatRank = map[string]int{"terse": 0, "json": 1, "json+": 1, "normal": 2}

// writeFormats writes run in each of formats, in fio's order (formatRank).
func writeFormats(w io.Writer, formats []string, run *Run) error {
	sw := &stickyWriter{w: w}
	ordered := slices.Clone(formats)
	slices.SortStableFunc(ordered, func(a, b string) int { return formatRank[a] - formatRank[b] })
	for _, f := range ordered {
		switch f {
		case "json", "json+":
			if err := writeJSON(sw, run, f == "json+"); err != nil && sw.err == nil {
				return err
			}
		case "terse":
			writeTerse(sw, run)
		default:
			WriteNormal(sw, run)
		}
		if sw.err != nil {
			return fmt.Errorf("writing the report: %w", sw.err)
		}
	}
	return nil
}

// stickyWriter keeps the first error of its writes and fails every write
// after it, so that a report printed line by line fails as a whole on a
// full disk or a closed pipe instead of losing its end unsaid.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	s.err = err
	return n, err
}

func kernel() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return runtime.GOOS
	}
	return unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
}

// ---- fio-schema JSON ----

// fioFloat is a number fio's JSON writes as a float ("%f"): always with
// six decimals, so that a whole value reads as a float too ("100.000000",
// not "100"), as parsers that check types expect of fio's fields.
type fioFloat float64

// MarshalJSON writes f with six decimals; NaN and infinities, which JSON
// has no number for, are an error, as encoding/json has them.
func (f fioFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("json: unsupported value: %v", v)
	}
	return strconv.AppendFloat(nil, v, 'f', 6, 64), nil
}

type jsonLat struct {
	Min        int64       `json:"min"`
	Max        int64       `json:"max"`
	Mean       fioFloat    `json:"mean"`
	Stddev     fioFloat    `json:"stddev"`
	N          int64       `json:"N"`
	Percentile percentiles `json:"percentile,omitempty"`
	Bins       fioBins     `json:"bins,omitempty"` // json+: fio's buckets
}

// pcts is a JSON object of percentages under fixed keys, in order.
type pcts struct {
	keys []string
	vals []float64
}

// MarshalJSON writes {"k": v, ...} in the keys' order.
func (p pcts) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, k := range p.keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, k)
		b = append(b, ':')
		b = strconv.AppendFloat(b, p.vals[i], 'f', 6, 64)
	}
	return append(b, '}'), nil
}

// The keys of fio's depth and batch distributions.
var (
	depthKeys = []string{"1", "2", "4", "8", "16", "32", ">=64"}
	batchKeys = []string{"0", "4", "8", "16", "32", "64", ">=64"}
)

// distPcts turns counts into percentages of their sum under keys; a
// bucket that holds anything shows as at least 0.1%, as in fio.
func distPcts(keys []string, counts [7]uint64) pcts {
	var sum uint64
	for _, c := range counts {
		sum += c
	}
	p := pcts{keys: keys, vals: make([]float64, len(keys))}
	for i := range keys {
		if sum > 0 {
			p.vals[i] = 100 * float64(counts[i]) / float64(sum)
			if counts[i] > 0 {
				p.vals[i] = max(p.vals[i], 0.1)
			}
		}
	}
	return p
}

// Latency buckets as fio prints them: a value goes to the first bucket
// whose bound it is below, in ns under 1 µs, µs under 1 ms, ms above.
var (
	latBoundKeys  = []string{"2", "4", "10", "20", "50", "100", "250", "500", "750", "1000"}
	latBounds     = []uint64{2, 4, 10, 20, 50, 100, 250, 500, 750, 1000}
	latMsKeys     = []string{"2", "4", "10", "20", "50", "100", "250", "500", "750", "1000", "2000", ">=2000"}
	latMsBoundsMs = []uint64{2, 4, 10, 20, 50, 100, 250, 500, 750, 1000, 2000}
)

// latCounts counts the I/Os of hs (together) in fio's ns, µs and ms
// latency buckets.
func latCounts(hs ...*hdrhistogram.Histogram) (ns, us [10]int64, ms [12]int64, total int64) {
	for _, h := range hs {
		total += h.TotalCount()
	}
	add := func(v uint64, n int64) {
		var counts []int64
		var x uint64
		bounds := latBounds
		switch {
		case v < 1000:
			counts, x = ns[:], v
		case v < 1000000:
			counts, x = us[:], v/1000
		default:
			counts, x, bounds = ms[:], v/1000000, latMsBoundsMs
		}
		for i, b := range bounds {
			if x < b {
				counts[i] += n
				return
			}
		}
		counts[len(counts)-1] += n
	}
	for _, h := range hs {
		if h.TotalCount() == 0 {
			continue
		}
		for _, b := range h.Distribution() {
			if b.Count > 0 {
				add(uint64(max(b.From, 0)), b.Count)
			}
		}
	}
	return
}

// latPcts turns bucket counts into percentages of total under keys; a
// bucket that holds anything shows as at least 0.01%, as in fio.
func latPcts(keys []string, counts []int64, total int64) pcts {
	p := pcts{keys: keys, vals: make([]float64, len(keys))}
	if total == 0 {
		return p
	}
	for i, c := range counts {
		p.vals[i] = 100 * float64(c) / float64(total)
		if c > 0 {
			p.vals[i] = max(p.vals[i], 0.01)
		}
	}
	return p
}

// latBuckets returns the percentages of the I/Os of hs (together) in
// fio's ns, µs and ms latency buckets.
func latBuckets(hs ...*hdrhistogram.Histogram) (ns, us, ms pcts) {
	n, u, m, total := latCounts(hs...)
	return latPcts(latBoundKeys, n[:], total), latPcts(latBoundKeys, u[:], total), latPcts(latMsKeys, m[:], total)
}

// percentiles is a percentile map that encodes in numeric order (a Go
// map would encode "10.000000" before "5.000000").
type percentiles []percentile

type percentile struct {
	P float64
	V int64
}

// MarshalJSON writes {"1.000000": v, "5.000000": v, ...} in order.
func (ps percentiles) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, p := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, PercentileKey(p.P))
		b = append(b, ':')
		b = strconv.AppendInt(b, p.V, 10)
	}
	return append(b, '}'), nil
}

type jsonDir struct {
	IOBytes     uint64     `json:"io_bytes"`
	IOKBytes    uint64     `json:"io_kbytes"`
	BWBytes     uint64     `json:"bw_bytes"`
	BW          uint64     `json:"bw"`
	IOPS        fioFloat   `json:"iops"`
	Runtime     int64      `json:"runtime"`
	TotalIOs    uint64     `json:"total_ios"`
	ShortIOs    uint64     `json:"short_ios"`
	DropIOs     uint64     `json:"drop_ios"`
	Errors      uint64     `json:"errors"`
	SlatNs      jsonLat    `json:"slat_ns"`
	ClatNs      jsonLat    `json:"clat_ns"`
	LatNs       jsonLat    `json:"lat_ns"`
	Prios       []jsonPrio `json:"prios,omitempty"`
	BWMin       uint64     `json:"bw_min"`
	BWMax       uint64     `json:"bw_max"`
	BWAgg       fioFloat   `json:"bw_agg"`
	BWMean      fioFloat   `json:"bw_mean"`
	BWDev       fioFloat   `json:"bw_dev"`
	BWSamples   int        `json:"bw_samples"`
	IOPSMin     uint64     `json:"iops_min"`
	IOPSMax     uint64     `json:"iops_max"`
	IOPSMean    fioFloat   `json:"iops_mean"`
	IOPSStddev  fioFloat   `json:"iops_stddev"`
	IOPSSamples int        `json:"iops_samples"`
}

// jsonSync is fio's "sync" object: the flushes of fsync=/fdatasync=.
type jsonSync struct {
	TotalIOs uint64  `json:"total_ios"`
	LatNs    jsonLat `json:"lat_ns"`
}

// jsonFile is the engine's requests on one file of a job.
type jsonFile struct {
	Name       string `json:"name"`
	Reads      uint64 `json:"reads"`
	Writes     uint64 `json:"writes"`
	ReadBytes  uint64 `json:"read_bytes"`
	WriteBytes uint64 `json:"write_bytes"`
}

type jsonEngine struct {
	Mapper          string  `json:"mapper"`
	Cache           bool    `json:"cache"`
	Hits            uint64  `json:"cache_hits"`
	Misses          uint64  `json:"cache_misses"`
	HitRate         float64 `json:"cache_hit_rate"`
	MapperCalls     uint64  `json:"mapper_calls"`
	MapperLatencyNs int64   `json:"mapper_latency_mean_ns"`
	ExtentsCached   uint64  `json:"extents_cached"`
	CacheBytes      uint64  `json:"cache_memory_bytes"`
	Merges          uint64  `json:"cache_merges"`
	StaleRetries    uint64  `json:"stale_retries"`
	Splits          uint64  `json:"split_requests"`
	TrimMethod      string  `json:"trim_method,omitempty"` // how trims reached the device
	TrimBytes       uint64  `json:"trim_bytes,omitempty"`  // bytes discarded on the device
	DeviceIOs       uint64  `json:"device_ios"`
	ZeroFilledBytes uint64  `json:"zero_filled_bytes"`
	OutOfPlace      uint64  `json:"out_of_place_writes"`
	FreedBytes      uint64  `json:"freed_bytes"`
	ShortIOs        uint64  `json:"short_transfers"`
	VerifiedBytes   uint64  `json:"verified_bytes"`
	// UnwrittenBytes is what verify_only read back and did not check: no
	// verify header (nothing wrote it with verify).
	UnwrittenBytes uint64 `json:"verify_unwritten_bytes,omitempty"`
	RingEnters     uint64 `json:"ring_enters"`
	ThreadMoves    uint64 `json:"thread_moves"`        // moves of the job thread to its completions' CPU (follow)
	Spins          uint64 `json:"spins,omitempty"`     // waits that polled the ring first (spin_wait)
	SpinHits       uint64 `json:"spin_hits,omitempty"` // of those, the ones that ended without a sleep
	// GapReads are device reads that took several pieces of a split read
	// and the gaps between them (read_gap), GapBytes the gaps' bytes
	// they read besides, GapSplits those done again piece by piece.
	GapReads  uint64 `json:"gap_reads,omitempty"`
	GapBytes  uint64 `json:"gap_bytes,omitempty"`
	GapSplits uint64 `json:"gap_splits,omitempty"`
	Ring      string `json:"io_uring"`
	Clock     string `json:"clock,omitempty"` // what latencies were timed with (clocksource)
	// ClockSteps are the times the CPU's counter, the clock, strayed from
	// CLOCK_MONOTONIC by more than 10 ms and was paired with it afresh
	// during the job (a virtual machine restored from a snapshot);
	// ClockStepMaxNs is the largest step (positive: forward). Absent
	// when there was none.
	ClockSteps     uint64 `json:"clock_steps,omitempty"`
	ClockStepMaxNs int64  `json:"clock_step_max_ns,omitempty"`
	// Per completed I/O: CPU time of the job's threads (µs) and their
	// voluntary context switches.
	CPUPerIOUs  float64 `json:"cpu_us_per_io"`
	VolCtxPerIO float64 `json:"vol_ctx_per_io"`
	// EntersPerIO is io_uring_enter calls of the job's engine per I/O;
	// the engine's count covers all of a job's clones, so it is given
	// for a job's merged report only, and absent from a clone's (no
	// figure of the clone's own stands behind it).
	EntersPerIO *float64 `json:"enters_per_io,omitempty"`
	// Files is what the engine did on each file of a job on several
	// (all clones together; verify passes included).
	Files         []jsonFile `json:"files,omitempty"`
	CPUsAllowed   []int      `json:"cpus_allowed,omitempty"` // as the kernel holds it for the job's threads
	Clone         int        `json:"clone"`                  // -1: the clones merged (or just one)
	Clones        int        `json:"clones"`
	Members       []string   `json:"group_jobs,omitempty"` // the jobs group_reporting merged into this one
	EngineSharing string     `json:"engine_stats,omitempty"`
}

// optionList is fio's "job options" or "global options" object: each
// option's value, in the order fio lists them (Job.OwnValues), which a
// map would sort.
type optionList [][2]string

func (l optionList) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, kv := range l {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(kv[0])
		v, _ := json.Marshal(kv[1])
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

type jsonJob struct {
	JobName    string      `json:"jobname"`
	GroupID    int         `json:"groupid"`
	Error      int         `json:"error"`
	ErrorText  string      `json:"error_text,omitempty"`
	Elapsed    int64       `json:"elapsed"`
	JobOptions *optionList `json:"job options,omitempty"` // nil: the job was given none, left out as fio leaves it
	// Read, Write, Trim and Sync are left out, as fio leaves them out,
	// with unified_rw_reporting=mixed, whose Mixed sums the directions
	// in their place (with both, Mixed follows them).
	Read        *jsonDir    `json:"read,omitempty"`
	Write       *jsonDir    `json:"write,omitempty"`
	Trim        *jsonDir    `json:"trim,omitempty"`
	Interrupted bool        `json:"interrupted,omitempty"`
	Sync        *jsonSync   `json:"sync,omitempty"`
	Mixed       *jsonDir    `json:"mixed,omitempty"`
	JobRuntime  int64       `json:"job_runtime"` // before usr_cpu, as fio 3.33 writes it
	UsrCPU      fioFloat    `json:"usr_cpu"`
	SysCPU      fioFloat    `json:"sys_cpu"`
	Ctx         uint64      `json:"ctx"`
	Majf        uint64      `json:"majf"`
	Minf        uint64      `json:"minf"`
	IODepth     pcts        `json:"iodepth_level"`
	IOSubmit    pcts        `json:"iodepth_submit"`
	IOComplete  pcts        `json:"iodepth_complete"`
	LatencyNs   pcts        `json:"latency_ns"`
	LatencyUs   pcts        `json:"latency_us"`
	LatencyMs   pcts        `json:"latency_ms"`
	TotalErr    *uint64     `json:"total_err,omitempty"`
	FirstError  *int        `json:"first_error,omitempty"`
	LatDepth    int         `json:"latency_depth"`
	LatTarget   int64       `json:"latency_target"`
	LatPct      fioFloat    `json:"latency_percentile"`
	LatWindow   int64       `json:"latency_window"`
	Desc        string      `json:"desc,omitempty"` // description=, as fio: only when given
	SteadyState *jsonSteady `json:"steadystate,omitempty"`
	IOBench     *jsonEngine `json:"iobench,omitempty"`
}

// jsonSteady is fio's steadystate object: the criterion, whether it was
// met, the last check's figures and the window's samples.
type jsonSteady struct {
	SS           string   `json:"ss"`
	Duration     int64    `json:"duration"`
	Attained     int      `json:"attained"`
	Criterion    string   `json:"criterion"`
	MaxDeviation fioFloat `json:"max_deviation"`
	Slope        fioFloat `json:"slope"`
	Data         struct {
		BWMean   uint64   `json:"bw_mean"`
		IOPSMean uint64   `json:"iops_mean"`
		IOPS     []uint64 `json:"iops"`
		BW       []uint64 `json:"bw"`
	} `json:"data"`
}

// steadyJSON is r's steady-state report, nil without one.
func steadyJSON(r *JobResult) *jsonSteady {
	ss := r.SS
	if ss == nil {
		return nil
	}
	out := &jsonSteady{SS: ss.Cfg.String(), Duration: int64(ss.Cfg.Dur / time.Second),
		Criterion: steadyCriterion(ss), MaxDeviation: fioFloat(ss.Deviation), Slope: fioFloat(ss.Slope)}
	if ss.Attained {
		out.Attained = 1
	}
	out.Data.BWMean, out.Data.IOPSMean = ss.means()
	out.Data.IOPS, out.Data.BW = ss.IOPS, ss.BW
	return out
}

// steadyCriterion is the last check's value as fio writes it: six
// decimals, and a % for a percentage.
func steadyCriterion(ss *SteadyResult) string {
	pct := ""
	if ss.Cfg.Pct {
		pct = "%"
	}
	return strconv.FormatFloat(ss.Criterion, 'f', 6, 64) + pct
}

// jsonInterval says which --status-interval period a report covers (ms
// since the run's start).
type jsonInterval struct {
	Index   int   `json:"index"`
	StartMs int64 `json:"start_ms"`
	EndMs   int64 `json:"end_ms"`
}

type jsonDisk struct {
	Name        string   `json:"name"`
	ReadIOs     uint64   `json:"read_ios"`
	WriteIOs    uint64   `json:"write_ios"`
	ReadMerges  uint64   `json:"read_merges"`
	WriteMerges uint64   `json:"write_merges"`
	ReadTicks   uint64   `json:"read_ticks"`
	WriteTicks  uint64   `json:"write_ticks"`
	InQueue     uint64   `json:"in_queue"`
	Util        fioFloat `json:"util"`
}

type jsonRun struct {
	Version     string        `json:"iobench version"`
	Interval    *jsonInterval `json:"interval,omitempty"`
	Timestamp   int64         `json:"timestamp"`
	TimestampMs int64         `json:"timestamp_ms"`
	Time        string        `json:"time"`
	Target      string        `json:"target"`
	Kernel      string        `json:"kernel"`
	Interrupted bool          `json:"interrupted,omitempty"`
	Global      *optionList   `json:"global options,omitempty"` // nil: none given, left out as fio leaves it
	Jobs        []jsonJob     `json:"jobs"`
	DiskUtil    []jsonDisk    `json:"disk_util,omitempty"`
}

// PercentileKey formats p as fio keys its percentile maps ("99.990000").
func PercentileKey(p float64) string { return fmt.Sprintf("%f", p) }

// latJSON is h in fio's form: with pcts, its percentiles; with plus as
// well, json+'s bins (fio gives bins for the latencies it gives
// percentiles of).
func latJSON(h *LatHist, pcts []float64, plus bool) jsonLat {
	if h == nil || h.TotalCount() == 0 {
		return jsonLat{}
	}
	l := jsonLat{Min: h.Min(), Max: h.Max(), Mean: fioFloat(h.Mean()), Stddev: fioFloat(h.StdDev()), N: h.TotalCount()}
	for _, p := range pcts {
		l.Percentile = append(l.Percentile, percentile{p, pctValue(h.Histogram, p)})
	}
	if plus && len(pcts) > 0 {
		l.Bins = fioBuckets(h.Histogram)
	}
	return l
}

// sampleStats returns the minimum, maximum, mean and standard deviation
// (n-1) of xs, zeros when there are none.
func sampleStats(xs []float64) (lo, hi, mean, dev float64) {
	if len(xs) == 0 {
		return 0, 0, 0, 0
	}
	lo, hi = xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) > 1 {
		for _, x := range xs {
			dev += (x - mean) * (x - mean)
		}
		dev = math.Sqrt(dev / float64(len(xs)-1))
	}
	return lo, hi, mean, dev
}

// jsonPrio is the latency of the I/Os of one priority (fio's prios
// entries): clat_ns, or lat_ns with lat_percentiles.
type jsonPrio struct {
	PrioClass int      `json:"prioclass"`
	Prio      int      `json:"prio"`
	ClatNs    *jsonLat `json:"clat_ns,omitempty"`
	LatNs     *jsonLat `json:"lat_ns,omitempty"`
}

// dirJSON is dr, one direction of r (or its directions summed); groupBW
// is the bandwidth (bytes/s) of the direction over r's whole group, for
// bw_agg.
func dirJSON(r *JobResult, dr *DirResult, groupBW float64, plus bool) jsonDir {
	j := &r.Job
	bw := uint64(dr.BW())
	out := jsonDir{IOBytes: dr.Bytes, IOKBytes: dr.Bytes / 1024, BWBytes: bw, BW: bw / 1024,
		IOPS: fioFloat(dr.IOPS()), Runtime: runtimeMs(dr.Runtime), TotalIOs: dr.IOs, Errors: dr.Errors}
	pick := func(on bool) []float64 {
		if on {
			return j.PercentileList
		}
		return nil
	}
	out.SlatNs = latJSON(dr.Slat, pick(j.SlatPercentiles), plus)
	out.ClatNs = latJSON(dr.Clat, pick(j.ClatPercentiles), plus)
	out.LatNs = latJSON(dr.Lat, pick(j.LatPercentiles), plus)
	for _, p := range dr.Prios {
		lat := latJSON(asLat(p.Lat), pick(j.ClatPercentiles || j.LatPercentiles), plus)
		jp := jsonPrio{PrioClass: int(p.Prio >> 13), Prio: int(p.Prio & 0x1fff), ClatNs: &lat}
		if j.LatPercentiles {
			jp.ClatNs, jp.LatNs = nil, &lat
		}
		out.Prios = append(out.Prios, jp)
	}
	lo, hi, mean, dev, n := dr.bwStats()
	out.BWMin, out.BWMax, out.BWMean, out.BWDev, out.BWSamples = uint64(lo), uint64(hi), fioFloat(mean), fioFloat(dev), n
	if n > 0 {
		out.BWAgg = fioFloat(bwShare(mean, groupBW))
	}
	lo, hi, mean, dev, n = dr.iopsStats()
	out.IOPSMin, out.IOPSMax, out.IOPSMean, out.IOPSStddev, out.IOPSSamples = uint64(lo), uint64(hi), fioFloat(mean), fioFloat(dev), n
	return out
}

// WriteJSON writes run in fio's JSON schema (see writeJSON).
func WriteJSON(w io.Writer, run *Run) error { return writeJSON(w, run, false) }

// writeJSON writes run in fio's JSON schema; plus adds fio's json+
// latency bins. ("fio version" becomes
// "iobench version"; engine statistics go in an "iobench" object per job).
func writeJSON(w io.Writer, run *Run, plus bool) error {
	out := jsonRun{Version: Version, Timestamp: run.Time.Unix(), TimestampMs: run.Time.UnixMilli(),
		Time: run.Time.Format(time.ANSIC), Target: run.Target, Kernel: run.Kernel, Interrupted: run.Interrupted}
	// As fio, no disk_util where no block device was under the jobs'
	// files (tmpfs, null jobs).
	for _, d := range run.Disks {
		out.DiskUtil = append(out.DiskUtil, jsonDisk{Name: d.Name, ReadIOs: d.ReadIOs, WriteIOs: d.WriteIOs,
			ReadMerges: d.ReadMerges, WriteMerges: d.WriteMerges, ReadTicks: d.ReadTicks, WriteTicks: d.WriteTicks,
			InQueue: d.InQueue, Util: fioFloat(d.Util)})
	}
	if run.Global != nil {
		// As fio: an object when any global option was given, empty
		// where all were given alone (--thread).
		g := optionList(slices.Clone(run.Global))
		if g == nil {
			g = optionList{}
		}
		out.Global = &g
	}
	if iv := run.Interval; iv != nil {
		out.Interval = &jsonInterval{Index: iv.Index, EndMs: iv.End.Milliseconds()} // from the run's start: start_ms 0
	}
	mixed := mixedDirs(run)
	groupBW := groupBandwidth(run, mixed)
	for i := range run.Jobs {
		r := &run.Jobs[i]
		g := groupBW[r.GroupID]
		j := jsonJob{JobName: r.Job.Name, GroupID: r.GroupID, Elapsed: run.elapsedSec(),
			Interrupted: r.Interrupted, UsrCPU: fioFloat(r.UsrCPU), SysCPU: fioFloat(r.SysCPU), Ctx: r.Ctx, Majf: r.Majf, Minf: r.Minf,
			JobRuntime: jobRuntime(r).Milliseconds(),
			IODepth:    distPcts(depthKeys, r.DepthDist), IOSubmit: distPcts(batchKeys, r.SubmitDist),
			IOComplete: distPcts(batchKeys, r.CompleteDist)}
		j.LatencyNs, j.LatencyUs, j.LatencyMs = latBuckets(r.Dir[0].Clat.Histogram, r.Dir[1].Clat.Histogram, r.Dir[2].Clat.Histogram)
		lt := latencyTargetOf(r)
		j.LatDepth, j.LatTarget, j.LatPct, j.LatWindow = lt.depth, lt.target, fioFloat(lt.pct), lt.window
		j.SteadyState = steadyJSON(r)
		j.Desc = r.Job.Description
		// As fio: the flushes' percentiles (and json+'s bins) with
		// clat_percentiles or lat_percentiles.
		var syncPcts []float64
		if r.Job.ClatPercentiles || r.Job.LatPercentiles {
			syncPcts = r.Job.PercentileList
		}
		if perDirection(r) {
			rd, wr, tr := dirJSON(r, &r.Dir[0], g[0], plus), dirJSON(r, &r.Dir[1], g[1], plus), dirJSON(r, &r.Dir[2], g[2], plus)
			j.Read, j.Write, j.Trim = &rd, &wr, &tr
			j.Sync = &jsonSync{TotalIOs: syncIOs(r), LatNs: latJSON(asLat(r.SyncLat), syncPcts, plus)}
		}
		if reportsMixed(r) {
			m := dirJSON(r, mixed[i], g[dirMixed], plus)
			j.Mixed = &m
		}
		// As fio 3.33: the job's own options; those it has from [global]
		// or the command line are the run's "global options". A group
		// reported as one lists its last job's, as fio does.
		optsJob := r.Job
		if r.lastMember != nil {
			optsJob = *r.lastMember
		}
		if own := optsJob.OwnValues(); own != nil {
			m := optionList(own)
			j.JobOptions = &m
		}
		if r.Job.ContinueOnError != 0 {
			first := int(r.FirstErr)
			j.TotalErr, j.FirstError = &r.IOErrs, &first
			j.Error = first // as fio: the job's error is the first one it went on after
		}
		if r.Err != nil {
			j.Error = errnoOf(r.Err)
			j.ErrorText = r.Err.Error()
		}
		if run.Interval != nil {
			// Per-interval reports carry what the period measured; the
			// engine's statistics come with the run's total.
			out.Jobs = append(out.Jobs, j)
			continue
		}
		s := r.Engine
		j.IOBench = &jsonEngine{Mapper: r.Mapper, Cache: r.Job.Cache, Hits: s.Hits, Misses: s.Misses,
			HitRate: s.HitRate(), MapperCalls: s.MapperCalls, MapperLatencyNs: int64(s.MeanMapperLatency()),
			ExtentsCached: s.CachedExtents, CacheBytes: s.CacheBytes, Merges: s.Merges, StaleRetries: s.StaleRetries, Splits: s.Splits,
			DeviceIOs: s.IOs, ZeroFilledBytes: s.ZeroBytes, OutOfPlace: s.OutOfPlace,
			FreedBytes: s.FreedBytes, ShortIOs: s.ShortIOs, VerifiedBytes: r.Verified, UnwrittenBytes: r.Unwritten, RingEnters: s.RingEnters, ThreadMoves: s.ThreadMoves,
			Spins: s.Spins, SpinHits: s.SpinHits, GapReads: s.GapReads, GapBytes: s.GapBytes, GapSplits: s.GapSplits, Ring: r.Ring, Clock: r.Clock,
			ClockSteps: s.ClockSteps, ClockStepMaxNs: s.ClockStepMax.Nanoseconds(),
			Clone: r.Clone, Clones: r.clones(), Members: r.Members, CPUsAllowed: r.Pinned, TrimMethod: r.TrimMethod, TrimBytes: s.TrimBytes}
		if n := r.IOs(); n > 0 {
			j.IOBench.CPUPerIOUs = float64(r.CPUTime.Microseconds()) / float64(n)
			j.IOBench.VolCtxPerIO = float64(r.VolCtx) / float64(n)
			if r.Clone < 0 { // the engine's count covers every clone
				e := float64(s.RingEnters) / float64(n)
				j.IOBench.EntersPerIO = &e
			}
		}
		if r.Clone >= 0 {
			j.IOBench.EngineSharing = "the job's engine, shared by its clones"
		}
		if len(r.Files) > 1 {
			for _, f := range r.Files {
				j.IOBench.Files = append(j.IOBench.Files, jsonFile{Name: f.Path, Reads: f.Stats.Reads, Writes: f.Stats.Writes,
					ReadBytes: f.Stats.ReadBytes, WriteBytes: f.Stats.WriteBytes})
			}
		}
		out.Jobs = append(out.Jobs, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// jobRuntime is fio's job_runtime: the run times of r's clones added up
// (the time usr_cpu and sys_cpu are over), or, for a result that ran no
// workload (verify_only) or a longer verify pass, its longest direction.
func jobRuntime(r *JobResult) time.Duration {
	return max(r.RunTime, r.Dir[0].Runtime, r.Dir[1].Runtime, r.Dir[2].Runtime)
}

// errnoOf gives err the errno fio would report for it: the errno it
// wraps, the errno of the refusal it is, EILSEQ for a verify mismatch
// (as fio), else EIO.
// strerror is the C library's message for e ("Input/output error",
// "Success" for 0), as fio prints it.
func strerror(e unix.Errno) string {
	if e == 0 {
		return "Success"
	}
	msg := e.Error()
	return strings.ToUpper(msg[:1]) + msg[1:]
}

func errnoOf(err error) int {
	var e unix.Errno
	if errors.As(err, &e) {
		return int(e)
	}
	for _, m := range []struct {
		err   error
		errno unix.Errno
	}{
		{device.ErrReadOnly, unix.EROFS}, {device.ErrInUse, unix.EBUSY}, {device.ErrMounted, unix.EBUSY},
		{device.ErrPartitioned, unix.EBUSY}, {device.ErrHasSignature, unix.EBUSY}, {device.ErrNotDevice, unix.ENODEV},
		{device.ErrNoDirectIO, unix.EINVAL}, {workloads.ErrVerify, unix.EILSEQ}, {errNothingMeasured, unix.ENODATA}, {errHookFailed, unix.ECANCELED},
		{engine.ErrNoSpace, unix.ENOSPC},
	} {
		if errors.Is(err, m.err) {
			return int(m.errno)
		}
	}
	return int(unix.EIO)
}

// ---- normal output ----

// The normal report follows fio 3.33's, line for line: a job block per
// job (or clone) headed "NAME: (groupid=G, jobs=N): err= E: pid=P: DATE",
// then the "Run status group" lines and "Disk stats". iobench's own lines
// (the target, the job's description, the engine's statistics, the
// io_uring set-up) close each job block, after fio's "latency" line, each
// under a label fio never prints ("  engine       : ..."), so that a
// parser of fio's report can skip them.

// iobenchLabels are the labels of iobench's own lines in a job block.
var iobenchLabels = []string{"iobench", "job", "failed I/Os", "interrupted", "engine", "verify", "io_uring", "clock", "trims"}

// ownLine writes one of iobench's own lines of a job block, its label
// padded as fio pads "cpu" and "IO depths".
func ownLine(w io.Writer, label, format string, args ...any) {
	fmt.Fprintf(w, "  %-13s: %s\n", label, fmt.Sprintf(format, args...))
}

func fmtLat(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2fs", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2fms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2fus", ns/1e3)
	}
	return fmt.Sprintf("%.0fns", ns)
}

func fmtCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// fioSigFigs is fio's sig_figs default: the digits its normal report
// gives IOPS, bandwidths and sizes.
const fioSigFigs = 4

// num2str writes n as fio's normal report writes counts, rates and sizes:
// scaled by 1000 (SI prefixes k, M, G, ...) or, with pow2, 1024 (Ki, Mi,
// Gi, ...) until at most maxDigits digits are left, then with as many
// decimals as fit in maxDigits (the point counted), or with the last
// digit rounded half up when none fit; unit follows the prefix. So 1999
// stays 1999, 298123 is 298k, 30712 is 30.7k, 1221225472 B/s with pow2 is
// 1165MiB/s. The decimals are those of the remainder printed with that
// many places, as fio prints them (a remainder that rounds up to 1 shows
// as .0).
func num2str(n uint64, maxDigits int, pow2 bool, unit string) string {
	prefixes := []string{"", "k", "M", "G", "T", "P"}
	base := uint64(1000)
	if pow2 {
		prefixes = []string{"", "Ki", "Mi", "Gi", "Ti", "Pi"}
		base = 1024
	}
	p, rem, scaled := 0, uint64(0), false
	for len(strconv.FormatUint(n, 10)) > maxDigits && p < len(prefixes)-1 {
		rem, n, scaled = n%base, n/base, true
		p++
	}
	room := maxDigits - len(strconv.FormatUint(n, 10))
	switch {
	case !scaled:
	case room <= 1:
		if rem >= base/2 {
			n++
		}
	default:
		frac := strconv.FormatFloat(float64(rem)/float64(base), 'f', room-1, 64)
		return fmt.Sprintf("%d.%s%s%s", n, frac[2:], prefixes[p], unit)
	}
	return fmt.Sprintf("%d%s%s", n, prefixes[p], unit)
}

// fioBytes writes n bytes as fio's job line does: at most four digits,
// in powers of 1024 with one decimal where there is room (4096B, 12.0KiB,
// 128KiB, 10.0MiB), the last digit rounded half up when there is none.
func fioBytes(n uint64) string { return num2str(n, 4, true, "B") }

// pow2Units says whether the job's report gives sizes and rates in
// powers of 1024 first (fio's kb_base=1024, its default) or of 1000.
func pow2Units(j *workloads.Job) bool { return j.KBBase != 1000 }

// percentilePrecision is the decimals fio gives percentiles in the
// normal report: the most any value of percentile_list has (2 for the
// default list, whose 99.95 has two).
func percentilePrecision(list []float64) int {
	prec := 0
	for _, p := range list {
		if _, frac, ok := strings.Cut(strconv.FormatFloat(p, 'f', -1, 64), "."); ok {
			prec = max(prec, len(frac))
		}
	}
	return prec
}

// WriteNormal writes run as fio 3.33's normal report: per job (or clone)
// and direction IOPS, bandwidth, latencies and percentiles, bandwidth and
// IOPS samples, latency buckets, CPU and depths, then iobench's own lines;
// then the groups' bandwidth and the disks' statistics.
func WriteNormal(w io.Writer, run *Run) {
	if run.Interval != nil {
		intervalHeader(w, run.Interval)
	}
	fmt.Fprintln(w) // fio's report starts with a blank line
	mixed := mixedDirs(run)
	groupBW := groupBandwidth(run, mixed)
	date := time.Now().Format(time.ANSIC) // fio dates a report when it writes it
	for i := range run.Jobs {
		r := &run.Jobs[i]
		if noIOBlock(r) {
			continue
		}
		writeJobNormal(w, run, r, mixed[i], groupBW[r.GroupID], date)
	}
	if run.Interrupted {
		// Jobs that had not started have no block, as in fio, and are
		// listed with nothing done in the JSON and terse reports.
		fmt.Fprintf(w, "\nInterrupted by a signal: jobs that had not started did nothing.\n")
	}
	writeRunStatus(w, run, mixed)
	if len(run.Disks) > 0 && run.Interval == nil {
		fmt.Fprintf(w, "\nDisk stats (read/write):\n")
		for _, d := range run.Disks {
			fmt.Fprintf(w, "  %s: ios=%d/%d, merge=%d/%d, ticks=%d/%d, in_queue=%d, util=%.2f%%\n", d.Name,
				d.ReadIOs, d.WriteIOs, d.ReadMerges, d.WriteMerges, d.ReadTicks, d.WriteTicks, d.InQueue, d.Util)
		}
	}
}

// noIOBlock reports whether the normal report leaves out job (or clone)
// r's block, as fio 3.33 leaves out the block of a job that moved no
// bytes and issued no I/O (its show_thread_status_normal): the report
// goes from the job lines to "Run status group" (its line then alone).
// A job that ended with an error keeps its block, which says the error.
func noIOBlock(r *JobResult) bool {
	if r.Err != nil || r.FirstErr != 0 || r.IOErrs != 0 {
		return false
	}
	for d := range workloads.NumDirs {
		if r.Dir[d].IOs > 0 || r.Dir[d].Bytes > 0 {
			return false
		}
	}
	return true
}

// writeJobNormal writes the block of one job (or clone) r; mixed is its
// directions summed (nil when no report needs them); groupBW is the
// bandwidth of each direction over r's group, for the per= shares.
func writeJobNormal(w io.Writer, run *Run, r *JobResult, mixed *DirResult, groupBW groupRates, date string) {
	j := &r.Job
	members := r.clones()
	if r.Clone >= 0 {
		members = 1
	}
	pid := r.Pid
	if pid == 0 {
		pid = os.Getpid() // no clone ran (verify_only, a failed start)
	}
	switch {
	case r.Err == nil && r.FirstErr != 0:
		// continue_on_error went on after errors: fio names the first
		// one's number, with no message.
		fmt.Fprintf(w, "%s: (groupid=%d, jobs=%d): err=%2d (): pid=%d: %s\n", j.Name, r.GroupID, members, r.FirstErr, pid, date)
	case r.Err == nil:
		fmt.Fprintf(w, "%s: (groupid=%d, jobs=%d): err=%2d: pid=%d: %s\n", j.Name, r.GroupID, members, 0, pid, date)
	default:
		msg := strings.ReplaceAll(r.Err.Error(), "\n", "; ")
		fmt.Fprintf(w, "%s: (groupid=%d, jobs=%d): err=%2d (%s): pid=%d: %s\n", j.Name, r.GroupID, members,
			errnoOf(r.Err), msg, pid, date)
	}
	if j.Description != "" {
		fmt.Fprintf(w, "  Description  : [%s]\n", j.Description)
	}
	for d := range workloads.NumDirs {
		if perDirection(r) && (r.Dir[d].IOs > 0 || r.Dir[d].Bytes > 0) {
			writeDirNormal(w, r, dirNames[d], &r.Dir[d], d == workloads.DirWrite, groupBW[d])
		}
	}
	if reportsMixed(r) && (mixed.IOs > 0 || mixed.Bytes > 0) {
		writeDirNormal(w, r, "mixed", mixed, false, groupBW[dirMixed])
	}
	writeLatBuckets(w, r)
	if r.SyncLat.TotalCount() > 0 {
		fmt.Fprintf(w, "  fsync/fdatasync/sync_file_range:\n")
		writeLatLine(w, "sync", asLat(r.SyncLat))
		writePercentiles(w, "sync", r.SyncLat, j.PercentileList)
	}
	fmt.Fprintf(w, "  cpu          : usr=%3.2f%%, sys=%3.2f%%, ctx=%d, majf=%d, minf=%d\n", r.UsrCPU, r.SysCPU, r.Ctx, r.Majf, r.Minf)
	dist := func(p pcts) string {
		parts := make([]string, len(p.keys))
		for i, k := range p.keys {
			parts[i] = fmt.Sprintf("%s=%3.1f%%", k, p.vals[i])
		}
		return strings.Join(parts, ", ")
	}
	fmt.Fprintf(w, "  IO depths    : %s\n", dist(distPcts(depthKeys, r.DepthDist)))
	fmt.Fprintf(w, "     submit    : %s\n", dist(distPcts(batchKeys, r.SubmitDist)))
	fmt.Fprintf(w, "     complete  : %s\n", dist(distPcts(batchKeys, r.CompleteDist)))
	issued := [workloads.NumDirs]uint64{r.Dir[0].IOs, r.Dir[1].IOs, r.Dir[2].IOs}
	if !perDirection(r) {
		issued = [workloads.NumDirs]uint64{r.IOs()} // as fio: the sum in the first field
	}
	fmt.Fprintf(w, "     issued rwts: total=%d,%d,%d,%d short=0,0,0,0 dropped=0,0,0,0\n",
		issued[0], issued[1], issued[2], syncIOs(r))
	if j.ContinueOnError != 0 {
		fmt.Fprintf(w, "     errors    : total=%d, first_error=%d/<%s>\n", r.IOErrs, r.FirstErr, strerror(r.FirstErr))
	}
	lt := latencyTargetOf(r)
	fmt.Fprintf(w, "     latency   : target=%d, window=%d, percentile=%.2f%%, depth=%d\n", lt.target, lt.window, lt.pct, lt.depth)
	if ss := r.SS; ss != nil {
		bw, iops := ss.means()
		p2 := pow2Units(&r.Job)
		what, how := "bw", " mean dev"
		if ss.Cfg.IOPS() {
			what = "iops"
		}
		if ss.Cfg.Slope() {
			how = " slope"
		}
		pct := ""
		if ss.Cfg.Pct {
			pct = "%"
		}
		fmt.Fprintf(w, "  steadystate  : attained=%s, bw=%s (%s), iops=%s, %s%s=%.3f%s\n", map[bool]string{true: "yes", false: "no"}[ss.Attained],
			num2str(bw, fioSigFigs, p2, "B/s"), num2str(bw, fioSigFigs, !p2, "B/s"), num2str(iops, fioSigFigs, false, ""), what, how, ss.Criterion, pct)
	}
	writeOwnLines(w, run, r)
}

// writeOwnLines writes iobench's own lines of r's job block (interval
// reports leave out the engine's statistics, which come with the total).
func writeOwnLines(w io.Writer, run *Run, r *JobResult) {
	j := &r.Job
	if run.Interval == nil {
		ownLine(w, "iobench", "%s on %s (%s)", Version, cmp.Or(r.Target, run.Target), run.Kernel)
	}
	desc := fmt.Sprintf("rw=%s %s iodepth=%d numjobs=%d mapper=%s cache=%s", j.RW, bsDescription(j), j.IODepth, r.clones(), r.Mapper, onOff(j.Cache))
	switch {
	case r.Clone >= 0:
		desc += fmt.Sprintf(", clone %d of %d", r.Clone, j.NumJobs)
	case len(r.Members) > 1:
		desc += ", group_reporting over jobs " + strings.Join(r.Members, ", ")
	}
	ownLine(w, "job", "%s", desc)
	if e := r.Dir[0].Errors + r.Dir[1].Errors + r.Dir[2].Errors; e > 0 {
		ownLine(w, "failed I/Os", "%d reads, %d writes, %d trims", r.Dir[0].Errors, r.Dir[1].Errors, r.Dir[2].Errors)
	}
	if r.Interrupted {
		ownLine(w, "interrupted", "the figures cover the time before the signal")
	}
	if run.Interval != nil {
		return
	}
	s := r.Engine
	ownLine(w, "engine", "cache hit rate %.1f%% (%d hits, %d misses), %d mapper calls (mean %s), %d extents cached in %s (%d merges)",
		100*s.HitRate(), s.Hits, s.Misses, s.MapperCalls, fmtLat(float64(s.MeanMapperLatency())), s.CachedExtents,
		humanBytes(s.CacheBytes), s.Merges)
	ownLine(w, "engine", "%d device I/Os, %d split requests, %s zero-filled, %d out-of-place writes, %d stale retries, %d thread moves",
		s.IOs, s.Splits, humanBytes(s.ZeroBytes), s.OutOfPlace, s.StaleRetries, s.ThreadMoves)
	if s.Spins > 0 {
		ownLine(w, "engine", "%d waits polled first (spin_wait), %d of them (%.1f%%) without a sleep",
			s.Spins, s.SpinHits, 100*float64(s.SpinHits)/float64(s.Spins))
	}
	switch {
	case errors.Is(r.Err, workloads.ErrVerify):
		ownLine(w, "verify", "%s checked before the first mismatch", humanBytes(r.Verified))
	case r.Verified > 0:
		ownLine(w, "verify", "%s checked, no mismatch", humanBytes(r.Verified))
	}
	if r.Unwritten > 0 && r.Err == nil { // a pass a mismatch stopped read part of the region
		ownLine(w, "verify", "%s of the region not checked: no verify header (nothing wrote it with verify)", humanBytes(r.Unwritten))
	}
	if r.Ring != "" {
		ownLine(w, "io_uring", "%s", r.Ring)
	}
	if r.Clock != "" {
		ownLine(w, "clock", "%s", r.Clock)
	}
	if r.TrimMethod != "" {
		ownLine(w, "trims", "%s discarded by %s", humanBytes(s.TrimBytes), r.TrimMethod)
	}
}

// bsDescription gives the job's block sizes for its description line:
// its split, its sizes or ranges per direction when they differ, or the
// one size it uses.
func bsDescription(j *workloads.Job) string {
	for _, kv := range j.Values() {
		if kv[0] == "bssplit" {
			return "bssplit=" + kv[1]
		}
	}
	if j.BSRange != [2][2]uint64{} || j.BS[0] != j.BS[1] {
		key := "bs"
		if j.BSRange != [2][2]uint64{} {
			key = "bsrange" // bs is never a range
		}
		for _, kv := range j.Values() {
			if kv[0] == key {
				return key + "=" + kv[1]
			}
		}
	}
	return "bs=" + workloads.FormatSize(j.MinBS())
}

// syncIOs is what fio counts as the job's syncs (issued rwts' fourth
// field, JSON's sync.total_ios): the flushes of fsync=, none for those of
// fdatasync= or the calls of sync_file_range= (whose latencies it reports
// all the same).
func syncIOs(r *JobResult) uint64 {
	if r.Job.FdatasyncEvery > 0 {
		return 0
	}
	return r.Syncs - r.RangeSyncs
}

// latencyTarget is fio's latency_target report of a job: the depth it
// ran at (the one the search settled on with a target), the target (ns),
// its window (µs) and percentile.
type latencyTarget struct {
	depth          int
	target, window int64
	pct            float64
}

func latencyTargetOf(r *JobResult) latencyTarget {
	lt := latencyTarget{depth: r.Job.IODepth, pct: r.Job.LatencyPercentile}
	if r.Job.LatencyTarget > 0 {
		lt.depth, lt.target, lt.window = r.LatencyDepth, r.Job.LatencyTarget.Nanoseconds(), r.Job.LatencyWindow.Microseconds()
	}
	return lt
}

// writeDirNormal writes dr, the direction of r called name ("read",
// "write", "trim", or "mixed" for its directions summed): the IOPS and
// bandwidth line (with fio 3.33's zone resets on a write line), the
// latencies and their percentiles, the bandwidth and IOPS samples.
func writeDirNormal(w io.Writer, r *JobResult, name string, dr *DirResult, zoneResets bool, groupBW float64) {
	j := &r.Job
	p2 := pow2Units(j)
	bw := uint64(dr.BW())
	post := ""
	if zoneResets {
		post = "; 0 zone resets" // fio 3.33 counts them on every write line
	}
	fmt.Fprintf(w, "  %s: IOPS=%s, BW=%s (%s)(%s/%dmsec)%s\n", name, num2str(uint64(dr.IOPS()), fioSigFigs, false, ""),
		num2str(bw, fioSigFigs, p2, "B/s"), num2str(bw, fioSigFigs, !p2, "B/s"), num2str(dr.Bytes, fioSigFigs, p2, "B"),
		runtimeMs(dr.Runtime), post)
	writeLatLine(w, "slat", dr.Slat)
	writeLatLine(w, "clat", dr.Clat)
	writeLatLine(w, " lat", dr.Lat)
	prioName := func(p PrioLat) string {
		if j.LatPercentiles {
			return fmt.Sprintf("lat prio %d/%d", p.Prio>>13, p.Prio&0x1fff)
		}
		return fmt.Sprintf("clat prio %d/%d", p.Prio>>13, p.Prio&0x1fff)
	}
	for _, p := range dr.Prios {
		writeLatLine(w, prioName(p), asLat(p.Lat))
	}
	for _, l := range []struct {
		name string
		h    *hdrhistogram.Histogram
		on   bool
	}{{"slat", dr.Slat.Histogram, j.SlatPercentiles}, {"clat", dr.Clat.Histogram, j.ClatPercentiles}, {"lat", dr.Lat.Histogram, j.LatPercentiles}} {
		if l.on {
			writePercentiles(w, l.name, l.h, j.PercentileList)
		}
	}
	if j.ClatPercentiles || j.LatPercentiles {
		var all int64
		for _, p := range dr.Prios {
			all += p.Lat.TotalCount()
		}
		for _, p := range dr.Prios {
			share := 100 * float64(p.Lat.TotalCount()) / float64(max(all, 1))
			writePercentiles(w, fmt.Sprintf("%s (%.2f%% of IOs)", prioName(p), share), p.Lat, j.PercentileList)
		}
	}
	if lo, hi, mean, dev, n := dr.bwStats(); n > 0 {
		// Samples are KiB/s; fio labels them kB/s with kb_base=1000 all
		// the same, and gives them in MiB/s above 1 GiB/s.
		unit, kb := "KiB", 1024.0
		if !p2 {
			unit, kb = "kB", 1000
		}
		share := bwShare(mean, groupBW)
		minKB, maxKB := uint64(lo), uint64(hi)
		if mean > kb*kb {
			minKB, maxKB = uint64(float64(minKB)/kb), uint64(float64(maxKB)/kb)
			mean, dev = mean/kb, dev/kb
			unit = "MiB" // fio's label, whatever kb_base
		}
		fmt.Fprintf(w, "   bw (%5s/s): min=%5d, max=%5d, per=%3.2f%%, avg=%5.2f, stdev=%5.2f, samples=%d\n",
			unit, minKB, maxKB, share, mean, dev, n)
	}
	if lo, hi, mean, dev, n := dr.iopsStats(); n > 0 {
		fmt.Fprintf(w, "   iops        : min=%5d, max=%5d, avg=%5.2f, stdev=%5.2f, samples=%d\n",
			uint64(lo), uint64(hi), mean, dev, n)
	}
}

// bwShare is fio's per= (JSON bw_agg): the mean of a job's bandwidth
// samples (KiB/s) as a percentage of its group's bandwidth (bytes/s),
// at most 100.
func bwShare(meanKiB, groupBW float64) float64 {
	if groupBW <= 0 {
		return 0
	}
	return min(100*meanKiB*1024/groupBW, 100)
}

// latUnit is how fio writes a latency line's values: in ns, or in µs or
// ms (integer division) when the minimum, maximum and deviation are all
// large enough for that unit.
func latUnit(lo, hi int64, dev float64) (name string, div int64) {
	switch {
	case lo > 2000000 && hi > 99999999 && dev > 1e6:
		return "msec", 1000000
	case lo > 2000 && hi > 99999 && dev > 1000:
		return "usec", 1000
	}
	return "nsec", 1
}

// writeLatLine writes one latency line ("    clat (usec): min=17,
// max=8654, avg=50.46, stdev=56.82"), one unit for the whole line; name
// is "slat", "clat", " lat" or "sync". Nothing when h is empty.
func writeLatLine(w io.Writer, name string, h *LatHist) {
	if h.TotalCount() == 0 {
		return
	}
	unit, div := latUnit(h.Min(), h.Max(), h.StdDev())
	fmt.Fprintf(w, "    %s (%s): min=%s, max=%s, avg=%5.2f, stdev=%5.2f\n", name, unit,
		num2str(uint64(h.Min()/div), 6, false, ""), num2str(uint64(h.Max()/div), 6, false, ""),
		h.Mean()/float64(div), h.StdDev()/float64(div))
}

// writePercentiles writes the percentiles of h over list as fio does:
// "    clat percentiles (usec):" and rows "     |  1.00th=[   35], ...",
// in one unit chosen from the smallest and largest percentile (values
// rounded up into it), as many per row as fit in 80 columns, with the
// list's own decimals. Nothing when h is empty.
func writePercentiles(w io.Writer, name string, h *hdrhistogram.Histogram, list []float64) {
	if h.TotalCount() == 0 || len(list) == 0 {
		return
	}
	ps := slices.Sorted(slices.Values(list))
	vals := make([]int64, len(ps))
	for i, p := range ps {
		vals[i] = pctValue(h, p)
	}
	lo, hi := slices.Min(vals), slices.Max(vals)
	unit, steps := "nsec", 0
	switch {
	case lo > 2000000 && hi > 99999999:
		unit, steps = "msec", 2
	case lo > 2000 && hi > 99999:
		unit, steps = "usec", 1
	}
	div := int64(1)
	for range steps {
		div *= 1000
	}
	width := 5
	if v := hi / div; v > 0 {
		width = max(width, int(math.Log10(float64(v)))+1)
	}
	prec := percentilePrecision(ps)
	perRow := max((80-7)/(prec+10+width), 1)
	fmt.Fprintf(w, "    %s percentiles (%s):\n", name, unit)
	for i, p := range ps {
		if i%perRow == 0 {
			fmt.Fprint(w, "     |")
		}
		v := vals[i]
		for range steps {
			v = (v + 999) / 1000
		}
		sep := ","
		switch {
		case i == len(ps)-1:
			sep = "\n"
		case i%perRow == perRow-1:
			sep = ",\n"
		}
		fmt.Fprintf(w, " %*.*fth=[%*d]%s", prec+3, prec, p, width, v, sep)
	}
}

// writeLatBuckets writes the job's latency buckets as fio does: the
// non-empty ones, ns then µs then ms, at most five to a line, each shown
// as at least 0.01%.
func writeLatBuckets(w io.Writer, r *JobResult) {
	ns, us, ms := latBuckets(r.Dir[0].Clat.Histogram, r.Dir[1].Clat.Histogram, r.Dir[2].Clat.Histogram)
	for _, b := range []struct {
		unit string
		p    pcts
	}{{"nsec", ns}, {"usec", us}, {"msec", ms}} {
		n := 0
		for i, v := range b.p.vals {
			if v <= 0 {
				continue
			}
			switch {
			case n%5 == 0 && n > 0:
				fmt.Fprintf(w, "\n  lat (%s)   : ", b.unit)
			case n == 0:
				fmt.Fprintf(w, "  lat (%s)   : ", b.unit)
			default:
				fmt.Fprint(w, ", ")
			}
			fmt.Fprintf(w, "%s=%3.2f%%", b.p.keys[i], v)
			n++
		}
		if n > 0 {
			fmt.Fprintln(w)
		}
	}
}

// writeRunStatus writes fio's "Run status group" lines: per group and
// direction the bandwidth of the whole group (its bytes over its longest
// runtime), the range of its jobs' bandwidths, the bytes (each in powers
// of 1024 and, in brackets, of 1000: the other way round with
// kb_base=1000) and the range of runtimes. With unified_rw_reporting,
// a MIXED line gives the same of the group's directions summed (mixed:
// the jobs' directions summed), in place of the directions' lines
// (mixed) or after them (both). A group whose jobs differ in the option
// has the lines any of its jobs asks for, each over every job of the
// group.
func writeRunStatus(w io.Writer, run *Run, mixed []*DirResult) {
	ids, members := reportingGroups(run)
	for _, id := range ids {
		idx := members[id]
		fmt.Fprintf(w, "\nRun status group %d (all jobs):\n", id)
		p2 := pow2Units(&run.Jobs[idx[0]].Job)
		perDir, mix := false, false
		for _, i := range idx {
			perDir = perDir || perDirection(&run.Jobs[i])
			mix = mix || reportsMixed(&run.Jobs[i])
		}
		for d, name := range []string{"READ", "WRITE", "TRIM", "MIXED"} {
			if d == dirMixed && !mix || d < dirMixed && !perDir {
				continue
			}
			g := groupDir(groupDirs(run, mixed, idx, d))
			if g.bytes == 0 || g.runMax <= 0 {
				continue
			}
			agg := uint64(float64(g.bytes) / g.runMax.Seconds())
			n := func(v uint64, pow2 bool, unit string) string { return num2str(v, fioSigFigs, pow2, unit) }
			fmt.Fprintf(w, "%7s: bw=%s (%s), %s-%s (%s-%s), io=%s (%s), run=%d-%dmsec\n", name,
				n(agg, p2, "B/s"), n(agg, !p2, "B/s"), n(uint64(g.bwMin), p2, "B/s"), n(uint64(g.bwMax), p2, "B/s"),
				n(uint64(g.bwMin), !p2, "B/s"), n(uint64(g.bwMax), !p2, "B/s"), n(g.bytes, p2, "B"), n(g.bytes, !p2, "B"),
				runtimeMs(g.runMin), runtimeMs(g.runMax))
		}
	}
}

// reportingGroups returns the ids of run's reporting groups in order, and
// the jobs of each (their indices in run.Jobs).
func reportingGroups(run *Run) (ids []int, members map[int][]int) {
	members = map[int][]int{}
	for i := range run.Jobs {
		id := run.Jobs[i].GroupID
		if _, ok := members[id]; !ok {
			ids = append(ids, id)
		}
		members[id] = append(members[id], i)
	}
	sort.Ints(ids)
	return ids, members
}

// groupDirs returns direction d of the jobs idx of run, or with d
// dirMixed their directions summed (from mixed, mixedDirs' result).
func groupDirs(run *Run, mixed []*DirResult, idx []int, d int) []*DirResult {
	var out []*DirResult
	for _, i := range idx {
		switch {
		case d < dirMixed:
			out = append(out, &run.Jobs[i].Dir[d])
		case mixed[i] != nil:
			out = append(out, mixed[i])
		}
	}
	return out
}

// runtimeMs is a run time in whole milliseconds as fio writes it: its
// microseconds rounded up, so that a run shorter than a millisecond that
// did I/O reads 1, not 0 (a tool dividing by it would fail).
func runtimeMs(d time.Duration) int64 { return (d.Microseconds() + 999) / 1000 }

// groupStats is one direction over a reporting group's jobs.
type groupStats struct {
	bytes          uint64
	runMin, runMax time.Duration
	bwMin, bwMax   float64 // bytes/s
}

// groupDir adds up one direction of the jobs of a group, drs (those that
// did I/O in it).
func groupDir(drs []*DirResult) groupStats {
	g := groupStats{bwMin: math.Inf(1)}
	for _, dr := range drs {
		if dr.IOs == 0 {
			continue
		}
		g.bytes += dr.Bytes
		if g.runMin == 0 || dr.Runtime < g.runMin {
			g.runMin = dr.Runtime
		}
		g.runMax = max(g.runMax, dr.Runtime)
		g.bwMin, g.bwMax = min(g.bwMin, dr.BW()), max(g.bwMax, dr.BW())
	}
	return g
}

// writeHeaders writes the lines fio prints before the jobs run: one per
// job ("..." after it for its clones), the version, and how many threads
// start.
func writeHeaders(w io.Writer, jobs []workloads.Job, groups [][]int) {
	rg := reportGroups(jobs, groups)
	for _, g := range groups {
		for _, ji := range g {
			j := &jobs[ji]
			gi := rg[ji]
			bs := func(d int) string {
				lo, hi := j.BS[d], j.BS[d]
				if r := j.BSRange[d]; r[1] > 0 {
					lo, hi = r[0], r[1]
				}
				if len(j.BSSplit[d]) > 0 {
					lo, hi = j.BSSplit[d][0].Size, j.BSSplit[d][0].Size
					for _, s := range j.BSSplit[d] {
						lo, hi = min(lo, s.Size), max(hi, s.Size)
					}
				}
				return fioBytes(lo) + "-" + fioBytes(hi)
			}
			// Trims use the write sizes in iobench, but rw=trim's and
			// randtrim's bs third value (a trimming job that sets
			// others is refused).
			trims := bs(1)
			if t := j.TrimBS; t > 0 {
				trims = fioBytes(t) + "-" + fioBytes(t)
			}
			fmt.Fprintf(w, "%s: (g=%d): rw=%s, bs=(R) %s, (W) %s, (T) %s, ioengine=%s, iodepth=%d\n",
				j.Name, gi, j.RW, bs(0), bs(1), trims, j.IOEngine, j.IODepth)
			if j.NumJobs > 1 {
				fmt.Fprintln(w, "...")
			}
		}
	}
	n := 0
	for _, j := range jobs {
		n += j.NumJobs
	}
	fmt.Fprintln(w, Version)
	fmt.Fprintf(w, "Starting %d thread%s\n", n, map[bool]string{true: "s"}[n != 1])
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// ---- progress ----

// progress prints a live line while jobs run: on a terminal one line
// redrawn twice a second, otherwise a plain line every few seconds.
func progress(o Output, lv *live, total time.Duration, stop <-chan struct{}) {
	if o.Progress == nil {
		return
	}
	period := 500 * time.Millisecond
	switch {
	case o.ETANewline > 0:
		period = o.ETANewline
	case !o.TTY:
		period = 5 * time.Second
	}
	t := time.NewTicker(period)
	defer t.Stop()
	start := time.Now()
	var last [workloads.NumDirs]uint64
	var lastBytes uint64
	lastT := start
	for {
		select {
		case <-stop:
			if o.TTY {
				fmt.Fprint(o.Progress, "\r\033[K")
			}
			return
		case now := <-t.C:
			var ios [workloads.NumDirs]uint64
			var bytes, done uint64
			for d := range workloads.NumDirs {
				ios[d] = lv.ios[d].Load()
				bytes += lv.bytes[d].Load()
				done += ios[d] - last[d]
			}
			dt := now.Sub(lastT).Seconds()
			iops := float64(done) / dt
			bw := float64(bytes-lastBytes) / dt
			last, lastBytes, lastT = ios, bytes, now
			el := now.Sub(start).Round(time.Second)
			eta := "?"
			if total > 0 {
				eta = max(total-now.Sub(start), 0).Round(time.Second).String()
			}
			line := fmt.Sprintf("Jobs: %d, elapsed %v, eta %s: %s IOPS, %s/s", lv.jobs.Load(), el, eta,
				fmtCount(iops), humanBytes(uint64(bw)))
			if o.TTY {
				fmt.Fprintf(o.Progress, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(o.Progress, line)
			}
		}
	}
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func numCPU() int { return runtime.NumCPU() }
