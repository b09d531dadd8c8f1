package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/dustin/go-humanize"
	"github.com/iobench/iobench/device"
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
}

// dirNames names the directions in fio's order (workloads.DirRead, ...).
var dirNames = [workloads.NumDirs]string{"read", "write", "trim"}

// Run is a whole invocation's results.
type Run struct {
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
}

// writeFormats writes run in each of formats, in order.
func writeFormats(w io.Writer, formats []string, run *Run) error {
	for _, f := range formats {
		switch f {
		case "json", "json+":
			if err := writeJSON(w, run, f == "json+"); err != nil {
				return err
			}
		case "terse":
			writeTerse(w, run)
		default:
			WriteNormal(w, run)
		}
	}
	return nil
}

func kernel() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return runtime.GOOS
	}
	return unix.ByteSliceToString(u.Sysname[:]) + " " + unix.ByteSliceToString(u.Release[:])
}

// ---- fio-schema JSON ----

type jsonLat struct {
	Min        int64       `json:"min"`
	Max        int64       `json:"max"`
	Mean       float64     `json:"mean"`
	Stddev     float64     `json:"stddev"`
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

// distPcts turns counts into percentages of their sum under keys.
func distPcts(keys []string, counts [7]uint64) pcts {
	var sum uint64
	for _, c := range counts {
		sum += c
	}
	p := pcts{keys: keys, vals: make([]float64, len(keys))}
	for i := range keys {
		if sum > 0 {
			p.vals[i] = 100 * float64(counts[i]) / float64(sum)
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

// latBuckets returns the percentages of the I/Os of hs (together) in
// fio's ns, µs and ms latency buckets.
func latBuckets(hs ...*hdrhistogram.Histogram) (ns, us, ms pcts) {
	ns = pcts{keys: latBoundKeys, vals: make([]float64, 10)}
	us = pcts{keys: latBoundKeys, vals: make([]float64, 10)}
	ms = pcts{keys: latMsKeys, vals: make([]float64, 12)}
	var total int64
	for _, h := range hs {
		total += h.TotalCount()
	}
	if total == 0 {
		return
	}
	add := func(v uint64, n int64) {
		p := 100 * float64(n) / float64(total)
		var vals []float64
		var x uint64
		bounds := latBounds
		switch {
		case v < 1000:
			vals, x = ns.vals, v
		case v < 1000000:
			vals, x = us.vals, v/1000
		default:
			vals, x, bounds = ms.vals, v/1000000, latMsBoundsMs
		}
		for i, b := range bounds {
			if x < b {
				vals[i] += p
				return
			}
		}
		vals[len(vals)-1] += p
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
	IOBytes     uint64  `json:"io_bytes"`
	IOKBytes    uint64  `json:"io_kbytes"`
	BWBytes     uint64  `json:"bw_bytes"`
	BW          uint64  `json:"bw"`
	IOPS        float64 `json:"iops"`
	Runtime     int64   `json:"runtime"`
	TotalIOs    uint64  `json:"total_ios"`
	ShortIOs    uint64  `json:"short_ios"`
	DropIOs     uint64  `json:"drop_ios"`
	Errors      uint64  `json:"errors"`
	SlatNs      jsonLat `json:"slat_ns"`
	ClatNs      jsonLat `json:"clat_ns"`
	LatNs       jsonLat `json:"lat_ns"`
	BWMin       uint64  `json:"bw_min"`
	BWMax       uint64  `json:"bw_max"`
	BWAgg       float64 `json:"bw_agg"`
	BWMean      float64 `json:"bw_mean"`
	BWDev       float64 `json:"bw_dev"`
	BWSamples   int     `json:"bw_samples"`
	IOPSMin     uint64  `json:"iops_min"`
	IOPSMax     uint64  `json:"iops_max"`
	IOPSMean    float64 `json:"iops_mean"`
	IOPSStddev  float64 `json:"iops_stddev"`
	IOPSSamples int     `json:"iops_samples"`
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
	RingEnters      uint64  `json:"ring_enters"`
	ThreadMoves     uint64  `json:"thread_moves"`        // moves of the job thread to its completions' CPU (follow)
	Spins           uint64  `json:"spins,omitempty"`     // waits that polled the ring first (spin_wait)
	SpinHits        uint64  `json:"spin_hits,omitempty"` // of those, the ones that ended without a sleep
	Ring            string  `json:"io_uring"`
	// Per completed I/O: CPU time of the job's threads (µs) and their
	// voluntary context switches.
	CPUPerIOUs  float64 `json:"cpu_us_per_io"`
	VolCtxPerIO float64 `json:"vol_ctx_per_io"`
	// EntersPerIO is io_uring_enter calls of the job's engine per I/O;
	// the engine's count covers all of a job's clones, so it is given
	// for a job's merged report only.
	EntersPerIO float64 `json:"enters_per_io"`
	// Files is what the engine did on each file of a job on several
	// (all clones together; verify passes included).
	Files         []jsonFile `json:"files,omitempty"`
	CPUsAllowed   []int      `json:"cpus_allowed,omitempty"` // as the kernel holds it for the job's threads
	Clone         int        `json:"clone"`                  // -1: the clones merged (or just one)
	Clones        int        `json:"clones"`
	Members       []string   `json:"group_jobs,omitempty"` // the jobs group_reporting merged into this one
	EngineSharing string     `json:"engine_stats,omitempty"`
}

type jsonJob struct {
	JobName     string            `json:"jobname"`
	GroupID     int               `json:"groupid"`
	Error       int               `json:"error"`
	ErrorText   string            `json:"error_text,omitempty"`
	Elapsed     int64             `json:"elapsed"`
	JobOptions  map[string]string `json:"job options"`
	Read        jsonDir           `json:"read"`
	Write       jsonDir           `json:"write"`
	Trim        jsonDir           `json:"trim"`
	Interrupted bool              `json:"interrupted,omitempty"`
	Sync        jsonSync          `json:"sync"`
	UsrCPU      float64           `json:"usr_cpu"`
	SysCPU      float64           `json:"sys_cpu"`
	JobRuntime  int64             `json:"job_runtime"`
	Ctx         uint64            `json:"ctx"`
	Majf        uint64            `json:"majf"`
	Minf        uint64            `json:"minf"`
	IODepth     pcts              `json:"iodepth_level"`
	IOSubmit    pcts              `json:"iodepth_submit"`
	IOComplete  pcts              `json:"iodepth_complete"`
	LatencyNs   pcts              `json:"latency_ns"`
	LatencyUs   pcts              `json:"latency_us"`
	LatencyMs   pcts              `json:"latency_ms"`
	LatDepth    int               `json:"latency_depth"`
	LatTarget   int64             `json:"latency_target"`
	LatPct      float64           `json:"latency_percentile"`
	LatWindow   int64             `json:"latency_window"`
	IOBench     *jsonEngine       `json:"iobench,omitempty"`
}

// jsonInterval says which --status-interval period a report covers (ms
// since the run's start).
type jsonInterval struct {
	Index   int   `json:"index"`
	StartMs int64 `json:"start_ms"`
	EndMs   int64 `json:"end_ms"`
}

type jsonDisk struct {
	Name        string  `json:"name"`
	ReadIOs     uint64  `json:"read_ios"`
	WriteIOs    uint64  `json:"write_ios"`
	ReadMerges  uint64  `json:"read_merges"`
	WriteMerges uint64  `json:"write_merges"`
	ReadTicks   uint64  `json:"read_ticks"`
	WriteTicks  uint64  `json:"write_ticks"`
	InQueue     uint64  `json:"in_queue"`
	Util        float64 `json:"util"`
}

type jsonRun struct {
	Version     string            `json:"iobench version"`
	Interval    *jsonInterval     `json:"interval,omitempty"`
	Timestamp   int64             `json:"timestamp"`
	TimestampMs int64             `json:"timestamp_ms"`
	Time        string            `json:"time"`
	Target      string            `json:"target"`
	Kernel      string            `json:"kernel"`
	Interrupted bool              `json:"interrupted,omitempty"`
	Global      map[string]string `json:"global options"`
	Jobs        []jsonJob         `json:"jobs"`
	DiskUtil    []jsonDisk        `json:"disk_util"`
}

// PercentileKey formats p as fio keys its percentile maps ("99.990000").
func PercentileKey(p float64) string { return fmt.Sprintf("%f", p) }

func latJSON(h *hdrhistogram.Histogram, pcts []float64) jsonLat {
	if h == nil || h.TotalCount() == 0 {
		return jsonLat{}
	}
	l := jsonLat{Min: h.Min(), Max: h.Max(), Mean: h.Mean(), Stddev: h.StdDev(), N: h.TotalCount()}
	for _, p := range pcts {
		l.Percentile = append(l.Percentile, percentile{p, h.ValueAtQuantile(p)})
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

// dirJSON is one direction of r; groupBW is the bandwidth (bytes/s) of
// the direction over r's whole group, for bw_agg.
func dirJSON(r *JobResult, d int, groupBW float64, plus bool) jsonDir {
	dr := &r.Dir[d]
	j := &r.Job
	bw := uint64(dr.BW())
	out := jsonDir{IOBytes: dr.Bytes, IOKBytes: dr.Bytes / 1024, BWBytes: bw, BW: bw / 1024,
		IOPS: dr.IOPS(), Runtime: dr.Runtime.Milliseconds(), TotalIOs: dr.IOs, Errors: dr.Errors}
	pick := func(on bool) []float64 {
		if on {
			return j.PercentileList
		}
		return nil
	}
	out.SlatNs = latJSON(dr.Slat, pick(j.SlatPercentiles))
	out.ClatNs = latJSON(dr.Clat, pick(j.ClatPercentiles))
	out.LatNs = latJSON(dr.Lat, pick(j.LatPercentiles))
	if plus {
		// fio's json+ gives bins for the latencies it gives percentiles of.
		for _, l := range []struct {
			dst *jsonLat
			h   *hdrhistogram.Histogram
			on  bool
		}{{&out.SlatNs, dr.Slat, j.SlatPercentiles}, {&out.ClatNs, dr.Clat, j.ClatPercentiles}, {&out.LatNs, dr.Lat, j.LatPercentiles}} {
			if l.on && l.h.TotalCount() > 0 {
				l.dst.Bins = fioBuckets(l.h)
			}
		}
	}
	lo, hi, mean, dev := sampleStats(dr.BWSamples)
	out.BWMin, out.BWMax, out.BWMean, out.BWDev, out.BWSamples = uint64(lo), uint64(hi), mean, dev, len(dr.BWSamples)
	if groupBW > 0 {
		out.BWAgg = 100 * mean * 1024 / groupBW
	}
	lo, hi, mean, dev = sampleStats(dr.IOPSSamples)
	out.IOPSMin, out.IOPSMax, out.IOPSMean, out.IOPSStddev, out.IOPSSamples = uint64(lo), uint64(hi), mean, dev, len(dr.IOPSSamples)
	return out
}

// WriteJSON writes run in fio's JSON schema (see writeJSON).
func WriteJSON(w io.Writer, run *Run) error { return writeJSON(w, run, false) }

// writeJSON writes run in fio's JSON schema; plus adds fio's json+
// latency bins. ("fio version" becomes
// "iobench version"; engine statistics go in an "iobench" object per job).
func writeJSON(w io.Writer, run *Run, plus bool) error {
	out := jsonRun{Version: Version, Timestamp: run.Time.Unix(), TimestampMs: run.Time.UnixMilli(),
		Time: run.Time.Format(time.ANSIC), Target: run.Target, Kernel: run.Kernel, Interrupted: run.Interrupted,
		Global: map[string]string{}, DiskUtil: []jsonDisk{}}
	for _, d := range run.Disks {
		out.DiskUtil = append(out.DiskUtil, jsonDisk(d))
	}
	for _, kv := range run.Global {
		if kv[0] != "name" {
			out.Global[kv[0]] = kv[1]
		}
	}
	if iv := run.Interval; iv != nil {
		out.Interval = &jsonInterval{Index: iv.Index, StartMs: iv.Start.Milliseconds(), EndMs: iv.End.Milliseconds()}
	}
	groupBW := groupBandwidth(run)
	for i := range run.Jobs {
		r := &run.Jobs[i]
		g := groupBW[r.GroupID]
		j := jsonJob{JobName: r.Job.Name, GroupID: r.GroupID, Elapsed: int64(r.Elapsed.Seconds()),
			JobOptions: map[string]string{}, Read: dirJSON(r, 0, g[0], plus), Write: dirJSON(r, 1, g[1], plus),
			Trim:        dirJSON(r, 2, g[2], plus),
			Interrupted: r.Interrupted, UsrCPU: r.UsrCPU, SysCPU: r.SysCPU, Ctx: r.Ctx, Majf: r.Majf, Minf: r.Minf,
			JobRuntime: max(r.Dir[0].Runtime, r.Dir[1].Runtime, r.Dir[2].Runtime).Milliseconds(),
			IODepth:    distPcts(depthKeys, r.DepthDist), IOSubmit: distPcts(batchKeys, r.SubmitDist),
			IOComplete: distPcts(batchKeys, r.CompleteDist)}
		j.LatencyNs, j.LatencyUs, j.LatencyMs = latBuckets(r.Dir[0].Clat, r.Dir[1].Clat, r.Dir[2].Clat)
		j.LatDepth, j.LatTarget, j.LatPct, j.LatWindow = r.Job.IODepth, r.Job.LatencyTarget.Nanoseconds(), r.Job.LatencyPercentile, 0
		if r.Job.LatencyTarget > 0 {
			j.LatDepth, j.LatWindow = r.LatencyDepth, r.Job.LatencyWindow.Microseconds()
		}
		j.Sync = jsonSync{TotalIOs: r.Syncs, LatNs: latJSON(r.SyncLat, r.Job.PercentileList)}
		if r.Job.FdatasyncEvery > 0 {
			// fio counts fsyncs in total_ios, not fdatasyncs (whose
			// latencies are in lat_ns all the same).
			j.Sync.TotalIOs = 0
		}
		for _, kv := range r.Job.Values() {
			j.JobOptions[kv[0]] = kv[1]
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
			FreedBytes: s.FreedBytes, ShortIOs: s.ShortIOs, VerifiedBytes: r.Verified, RingEnters: s.RingEnters, ThreadMoves: s.ThreadMoves,
			Spins: s.Spins, SpinHits: s.SpinHits, Ring: r.Ring,
			Clone: r.Clone, Clones: r.clones(), Members: r.Members, CPUsAllowed: r.Pinned, TrimMethod: r.TrimMethod, TrimBytes: s.TrimBytes}
		if n := r.IOs(); n > 0 {
			j.IOBench.CPUPerIOUs = float64(r.CPUTime.Microseconds()) / float64(n)
			j.IOBench.VolCtxPerIO = float64(r.VolCtx) / float64(n)
			if r.Clone < 0 { // the engine's count covers every clone
				j.IOBench.EntersPerIO = float64(s.RingEnters) / float64(n)
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

// errnoOf gives err the errno fio would report for it: the errno it
// wraps, the errno of the refusal it is, EILSEQ for a verify mismatch
// (as fio), else EIO.
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
		{device.ErrNoDirectIO, unix.EINVAL}, {workloads.ErrVerify, unix.EILSEQ}, {errNothingMeasured, unix.ENODATA},
	} {
		if errors.Is(err, m.err) {
			return int(m.errno)
		}
	}
	return int(unix.EIO)
}

// ---- normal output ----

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

// WriteNormal writes run for people: per job and direction IOPS,
// bandwidth, latency and percentiles, CPU, and the engine's statistics.
func WriteNormal(w io.Writer, run *Run) {
	if run.Interval != nil {
		intervalHeader(w, run.Interval)
	} else {
		fmt.Fprintf(w, "%s on %s (%s)\n", Version, run.Target, run.Kernel)
	}
	for _, r := range run.Jobs {
		j := r.Job
		clone := ""
		switch {
		case r.Clone >= 0:
			clone = fmt.Sprintf(" (clone %d of %d)", r.Clone, j.NumJobs)
		case len(r.Members) > 1:
			clone = fmt.Sprintf(" (group_reporting: jobs %s)", strings.Join(r.Members, ", "))
		}
		fmt.Fprintf(w, "\n%s%s: rw=%s bs=%s iodepth=%d numjobs=%d mapper=%s cache=%s\n",
			j.Name, clone, j.RW, workloads.FormatSize(j.MinBS()), j.IODepth, r.clones(), r.Mapper, onOff(j.Cache))
		if r.Err != nil {
			fmt.Fprintf(w, "  error: %v\n", r.Err)
		}
		if r.Interrupted {
			fmt.Fprintf(w, "  interrupted: the figures cover the time before the signal\n")
		}
		for d, name := range dirNames {
			dr := &r.Dir[d]
			if dr.IOs == 0 && dr.Errors == 0 {
				continue
			}
			fmt.Fprintf(w, "  %-5s: IOPS=%s, BW=%s/s (%s in %v)", name, fmtCount(dr.IOPS()),
				humanBytes(uint64(dr.BW())), humanBytes(dr.Bytes), dr.Runtime.Round(time.Millisecond))
			if dr.Errors > 0 {
				fmt.Fprintf(w, ", %d errors", dr.Errors)
			}
			fmt.Fprintln(w)
			for _, l := range []struct {
				name string
				h    *hdrhistogram.Histogram
				pct  bool
			}{{"slat", dr.Slat, j.SlatPercentiles}, {"clat", dr.Clat, j.ClatPercentiles}, {"lat", dr.Lat, j.LatPercentiles}} {
				writeLat(w, l.name, l.h, l.pct, j.PercentileList)
			}
			if len(dr.BWSamples) > 0 {
				lo, hi, mean, dev := sampleStats(dr.BWSamples)
				fmt.Fprintf(w, "    bw (KiB/s): min=%.0f, max=%.0f, avg=%.2f, stdev=%.2f, samples=%d\n", lo, hi, mean, dev, len(dr.BWSamples))
			}
			if len(dr.IOPSSamples) > 0 {
				lo, hi, mean, dev := sampleStats(dr.IOPSSamples)
				fmt.Fprintf(w, "    iops      : min=%.0f, max=%.0f, avg=%.2f, stdev=%.2f, samples=%d\n", lo, hi, mean, dev, len(dr.IOPSSamples))
			}
		}
		if r.Syncs > 0 {
			fmt.Fprintf(w, "  fsync/fdatasync/sync_file_range: %d flushes\n", r.Syncs)
			writeLat(w, "sync", r.SyncLat, true, j.PercentileList)
		}
		fmt.Fprintf(w, "  cpu: usr=%.2f%%, sys=%.2f%%, ctx=%d, majf=%d, minf=%d\n", r.UsrCPU, r.SysCPU, r.Ctx, r.Majf, r.Minf)
		writeDists(w, &r)
		if run.Interval != nil {
			continue // the engine's statistics come with the run's total
		}
		s := r.Engine
		fmt.Fprintf(w, "  engine: cache hit rate %.1f%% (%d hits, %d misses), %d mapper calls (mean %s), %d extents cached in %s (%d merges)\n",
			100*s.HitRate(), s.Hits, s.Misses, s.MapperCalls, fmtLat(float64(s.MeanMapperLatency())), s.CachedExtents,
			humanBytes(s.CacheBytes), s.Merges)
		fmt.Fprintf(w, "          %d device I/Os, %d split requests, %s zero-filled, %d out-of-place writes, %d stale retries, %d thread moves\n",
			s.IOs, s.Splits, humanBytes(s.ZeroBytes), s.OutOfPlace, s.StaleRetries, s.ThreadMoves)
		if s.Spins > 0 {
			fmt.Fprintf(w, "          %d waits polled first (spin_wait), %d of them (%.1f%%) without a sleep\n",
				s.Spins, s.SpinHits, 100*float64(s.SpinHits)/float64(s.Spins))
		}
		switch {
		case errors.Is(r.Err, workloads.ErrVerify):
			fmt.Fprintf(w, "  verify: %s checked before the first mismatch\n", humanBytes(r.Verified))
		case r.Verified > 0:
			fmt.Fprintf(w, "  verify: %s checked, no mismatch\n", humanBytes(r.Verified))
		}
		if r.Ring != "" {
			fmt.Fprintf(w, "  io_uring: %s\n", r.Ring)
		}
		if r.TrimMethod != "" {
			fmt.Fprintf(w, "  trims: %s discarded by %s\n", humanBytes(s.TrimBytes), r.TrimMethod)
		}
	}
	writeRunStatus(w, run)
	if len(run.Disks) > 0 && run.Interval == nil {
		fmt.Fprintf(w, "\nDisk stats (read/write):\n")
		for _, d := range run.Disks {
			fmt.Fprintf(w, "  %s: ios=%d/%d, merge=%d/%d, ticks=%d/%d, in_queue=%d, util=%.2f%%\n", d.Name,
				d.ReadIOs, d.WriteIOs, d.ReadMerges, d.WriteMerges, d.ReadTicks, d.WriteTicks, d.InQueue, d.Util)
		}
	}
}

// writeRunStatus writes fio's "Run status group" lines: per group and
// direction the bandwidth of the whole group (its bytes over its longest
// runtime), the range of its jobs' bandwidths, the bytes and the range
// of runtimes.
func writeRunStatus(w io.Writer, run *Run) {
	var ids []int
	byGroup := map[int][]*JobResult{}
	for i := range run.Jobs {
		r := &run.Jobs[i]
		if _, ok := byGroup[r.GroupID]; !ok {
			ids = append(ids, r.GroupID)
		}
		byGroup[r.GroupID] = append(byGroup[r.GroupID], r)
	}
	sort.Ints(ids)
	fmt.Fprintln(w)
	if run.Interrupted {
		fmt.Fprintf(w, "Interrupted by a signal: jobs not started are not listed.\n")
	}
	for _, id := range ids {
		fmt.Fprintf(w, "Run status group %d (all jobs):\n", id)
		for d, name := range []string{"READ", "WRITE", "TRIM"} {
			var bytes uint64
			var runMin, runMax time.Duration
			bwMin, bwMax := math.Inf(1), 0.0
			for _, r := range byGroup[id] {
				dr := &r.Dir[d]
				if dr.IOs == 0 {
					continue
				}
				bytes += dr.Bytes
				if runMin == 0 || dr.Runtime < runMin {
					runMin = dr.Runtime
				}
				runMax = max(runMax, dr.Runtime)
				bwMin, bwMax = min(bwMin, dr.BW()), max(bwMax, dr.BW())
			}
			if bytes == 0 || runMax <= 0 {
				continue
			}
			agg := float64(bytes) / runMax.Seconds()
			fmt.Fprintf(w, "  %5s: bw=%s/s (%s/s), %s/s-%s/s, io=%s, run=%d-%dmsec\n", name,
				humanBytes(uint64(agg)), humanize.Bytes(uint64(agg)), humanBytes(uint64(bwMin)), humanBytes(uint64(bwMax)),
				humanBytes(bytes), runMin.Milliseconds(), runMax.Milliseconds())
		}
	}
}

// writeDists writes the latency buckets and the depth distributions of r,
// as fio's normal report does.
func writeDists(w io.Writer, r *JobResult) {
	ns, us, ms := latBuckets(r.Dir[0].Clat, r.Dir[1].Clat, r.Dir[2].Clat)
	for _, b := range []struct {
		unit string
		p    pcts
	}{{"nsec", ns}, {"usec", us}, {"msec", ms}} {
		var parts []string
		for i, v := range b.p.vals {
			if v >= 0.01 {
				parts = append(parts, fmt.Sprintf("%s=%.2f%%", b.p.keys[i], v))
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "  lat (%s)   : %s\n", b.unit, strings.Join(parts, ", "))
		}
	}
	dist := func(p pcts) string {
		parts := make([]string, len(p.keys))
		for i, k := range p.keys {
			parts[i] = fmt.Sprintf("%s=%.1f%%", k, p.vals[i])
		}
		return strings.Join(parts, ", ")
	}
	fmt.Fprintf(w, "  IO depths    : %s\n", dist(distPcts(depthKeys, r.DepthDist)))
	fmt.Fprintf(w, "     submit    : %s\n", dist(distPcts(batchKeys, r.SubmitDist)))
	fmt.Fprintf(w, "     complete  : %s\n", dist(distPcts(batchKeys, r.CompleteDist)))
	fmt.Fprintf(w, "     issued rwts: total=%d,%d,%d,0 short=0,0,0,0 dropped=0,0,0,0\n", r.Dir[0].IOs, r.Dir[1].IOs, r.Dir[2].IOs)
}

// fioBytes writes n bytes as fio's job line does: at most four digits,
// in powers of 1024 with one decimal where there is room (4096B, 12.0KiB,
// 128KiB, 10.0MiB), the last digit rounded half up when there is none.
func fioBytes(n uint64) string {
	const maxDigits = 4
	prefixes := []string{"", "Ki", "Mi", "Gi", "Ti", "Pi"}
	p, rem, scaled := 0, uint64(0), false
	for p < len(prefixes)-1 && len(strconv.FormatUint(n, 10)) > maxDigits {
		rem, n, scaled = n%1024, n/1024, true
		p++
	}
	digits := len(strconv.FormatUint(n, 10))
	switch {
	case !scaled:
	case maxDigits-digits <= 1:
		if rem >= 512 {
			n++
		}
	default:
		frac := strconv.FormatFloat(float64(rem)/1024, 'f', maxDigits-digits-1, 64)
		return fmt.Sprintf("%d.%s%sB", n, frac[2:], prefixes[p])
	}
	return fmt.Sprintf("%d%sB", n, prefixes[p])
}

// writeHeaders writes the line fio prints for each job before it runs.
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
			fmt.Fprintf(w, "%s: (g=%d): rw=%s, bs=(R) %s, (W) %s, (T) %s, ioengine=%s, iodepth=%d\n",
				j.Name, gi, j.RW, bs(0), bs(1), bs(1), j.IOEngine, j.IODepth)
		}
	}
	n := 0
	for _, j := range jobs {
		n += j.NumJobs
	}
	fmt.Fprintf(w, "Starting %d thread%s\n", n, map[bool]string{true: "s"}[n != 1])
}

// writeLat writes one latency line (fio's "clat (usec): min=..., ...")
// and, with pct, its percentiles.
func writeLat(w io.Writer, name string, h *hdrhistogram.Histogram, pct bool, list []float64) {
	if h.TotalCount() == 0 {
		return
	}
	fmt.Fprintf(w, "    %s: min=%s, max=%s, avg=%s, stdev=%s\n", name, fmtLat(float64(h.Min())),
		fmtLat(float64(h.Max())), fmtLat(h.Mean()), fmtLat(h.StdDev()))
	if !pct {
		return
	}
	fmt.Fprintf(w, "    %s percentiles:\n", name)
	for i, p := range list {
		if i%4 == 0 {
			fmt.Fprintf(w, "     |")
		}
		fmt.Fprintf(w, " %6.2fth=[%8s]", p, fmtLat(float64(h.ValueAtQuantile(p))))
		if i%4 == 3 || i == len(list)-1 {
			fmt.Fprintln(w)
		}
	}
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
