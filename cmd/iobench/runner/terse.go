package runner

import (
	"fmt"
	"io"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// terseMaxPercentiles is how many percentile fields each direction has in
// fio's terse format; unused ones are "0%=0".
const terseMaxPercentiles = 20

// writeTerse writes run in fio's terse format, version 3: one line per
// job of semicolon-separated fields (latencies in µs), the read and write
// blocks, CPU, depth and latency distributions, when the target's
// block device was measured, its utilisation and, with continue_on_error,
// the errors the job went on after (their count and the first one's
// error number) and, with description, the job's description, as fio's. Version 3 has no trim
// block (fio added one in version 4), so trims are not in it, as in fio's.
func writeTerse(w io.Writer, run *Run) {
	mixed := mixedDirs(run)
	groupBW := groupBandwidth(run, mixed)
	for i := range run.Jobs {
		r := &run.Jobs[i]
		f := []string{"3", Version, r.Job.Name, fmt.Sprint(r.GroupID), fmt.Sprint(jobErrno(r))}
		if perDirection(r) {
			for d := range 2 {
				f = append(f, terseDir(r, &r.Dir[d], groupBW[r.GroupID][d])...)
			}
		}
		if reportsMixed(r) {
			// As fio: the directions summed, in place of the read and
			// write blocks (mixed) or after them (both).
			f = append(f, terseDir(r, mixed[i], groupBW[r.GroupID][dirMixed])...)
		}
		f = append(f, fmt.Sprintf("%f%%", r.UsrCPU), fmt.Sprintf("%f%%", r.SysCPU),
			fmt.Sprint(r.Ctx), fmt.Sprint(r.Majf), fmt.Sprint(r.Minf))
		depth := distPcts(depthKeys, r.DepthDist)
		for _, v := range depth.vals {
			f = append(f, fmt.Sprintf("%3.1f%%", v))
		}
		ns, usCounts, msCounts, total := latCounts(r.Dir[0].Clat.Histogram, r.Dir[1].Clat.Histogram, r.Dir[2].Clat.Histogram)
		us, ms := latPcts(latBoundKeys, usCounts[:], total), latPcts(latMsKeys, msCounts[:], total)
		var nsTotal int64
		for _, c := range ns {
			nsTotal += c
		}
		if total > 0 {
			// The terse format has no ns buckets: fio adds their share
			// (as it is, without the 0.01% floor) to the first µs one.
			us.vals[0] += 100 * float64(nsTotal) / float64(total)
		}
		for _, v := range append(us.vals, ms.vals...) {
			f = append(f, fmt.Sprintf("%3.2f%%", v))
		}
		for _, d := range run.Disks {
			f = append(f, d.Name, fmt.Sprint(d.ReadIOs), fmt.Sprint(d.WriteIOs), fmt.Sprint(d.ReadMerges),
				fmt.Sprint(d.WriteMerges), fmt.Sprint(d.ReadTicks), fmt.Sprint(d.WriteTicks),
				fmt.Sprint(d.InQueue), fmt.Sprintf("%3.2f%%", d.Util))
		}
		if r.Job.ContinueOnError != 0 {
			// As fio: a job with continue_on_error ends with the count of
			// errors it went on after and the first one's error number.
			f = append(f, fmt.Sprint(r.IOErrs), fmt.Sprint(int(r.FirstErr)))
		}
		if r.Job.Description != "" {
			f = append(f, r.Job.Description) // as fio: the last field, when given
		}
		fmt.Fprintln(w, strings.Join(f, ";"))
	}
}

// jobErrno is r's error number: its error's, or the first error
// continue_on_error went on after, or 0.
func jobErrno(r *JobResult) int {
	if r.Err == nil {
		return int(r.FirstErr)
	}
	return errnoOf(r.Err)
}

// terseDir is the 41 fields of dr, one direction of r (or its directions
// summed).
func terseDir(r *JobResult, dr *DirResult, groupBW float64) []string {
	j := &r.Job
	bw := dr.BW()
	f := []string{fmt.Sprint(dr.Bytes / 1024), fmt.Sprint(uint64(bw / 1024)), fmt.Sprint(uint64(dr.IOPS())),
		fmt.Sprint(runtimeMs(dr.Runtime))}
	lat := func(h *LatHist) {
		if h.TotalCount() == 0 {
			f = append(f, "0", "0", "0.000000", "0.000000")
			return
		}
		f = append(f, fmt.Sprint(h.Min()/1000), fmt.Sprint(h.Max()/1000),
			fmt.Sprintf("%f", h.Mean()/1000), fmt.Sprintf("%f", h.StdDev()/1000))
	}
	lat(dr.Slat)
	lat(dr.Clat)
	// As fio: the total latency's percentiles with lat_percentiles, else
	// the completion latency's with clat_percentiles, else none.
	var pct *hdrhistogram.Histogram
	switch {
	case j.LatPercentiles:
		pct = dr.Lat.Histogram
	case j.ClatPercentiles:
		pct = dr.Clat.Histogram
	}
	for i := range terseMaxPercentiles {
		switch {
		case i < len(j.PercentileList) && pct != nil:
			p := j.PercentileList[i]
			f = append(f, fmt.Sprintf("%f%%=%d", p, pctValue(pct, p)/1000))
		default:
			f = append(f, "0%=0")
		}
	}
	lat(dr.Lat)
	lo, hi, mean, dev, n := dr.bwStats()
	agg := 0.0
	if n > 0 {
		agg = bwShare(mean, groupBW)
	}
	f = append(f, fmt.Sprint(uint64(lo)), fmt.Sprint(uint64(hi)), fmt.Sprintf("%f%%", agg),
		fmt.Sprintf("%f", mean), fmt.Sprintf("%f", dev))
	return f
}

// groupBandwidth is each group's bandwidth per direction (bytes/s), and
// of its directions summed (from mixed, mixedDirs' result), as its "Run
// status group" lines give it (its bytes over its longest runtime): what
// fio's per-job bandwidth share is taken of.
func groupBandwidth(run *Run, mixed []*DirResult) []groupRates {
	var groupBW []groupRates
	ids, members := reportingGroups(run)
	if len(ids) > 0 {
		groupBW = make([]groupRates, ids[len(ids)-1]+1)
	}
	for _, id := range ids {
		for d := range dirMixed + 1 {
			if g := groupDir(groupDirs(run, mixed, members[id], d)); g.runMax > 0 {
				groupBW[id][d] = float64(g.bytes) / g.runMax.Seconds()
			}
		}
	}
	return groupBW
}
