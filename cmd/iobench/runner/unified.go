package runner

import (
	"github.com/iobench/iobench/workloads"
)

// unified_rw_reporting: a job's report gives each direction on its own
// (none), the directions summed as one "mixed" direction in their place
// (mixed), or each on its own and then the sum (both). The sum is made
// here, from the directions' own results, whatever the output format.

// dirMixed is the index of the mixed direction in a group's rates
// (groupRates), after read, write and trim.
const dirMixed = workloads.NumDirs

// groupRates is a reporting group's bandwidth (bytes/s) per direction,
// and in dirMixed its directions summed.
type groupRates [workloads.NumDirs + 1]float64

// perDirection reports whether r's report gives each direction on its own.
func perDirection(r *JobResult) bool { return r.Job.UnifiedRW != workloads.UnifiedMixed }

// reportsMixed reports whether r's report gives the directions summed.
func reportsMixed(r *JobResult) bool { return r.Job.UnifiedRW != workloads.UnifiedNone }

// mixedDir returns r's directions summed for unified_rw_reporting: I/Os,
// bytes and errors added up; the runtime the longest direction's; the
// latencies' histograms merged (so that their minimum, maximum, mean,
// deviation and percentiles are those of every I/O together); the
// bandwidth and IOPS samples added period by period (every direction a
// job does is sampled over the same periods, so that a period's sum is
// the job's rate in it; fio 3.33 adds the directions' minimums,
// maximums, means and sample counts instead); and, where a direction
// went out with several priorities, the latencies of each priority
// merged across directions, a direction of one priority counting under
// it, as fio merges them.
func mixedDir(r *JobResult) DirResult {
	m := DirResult{Slat: newLat(), Clat: newLat(), Lat: newLat()}
	split := false
	for d := range workloads.NumDirs {
		split = split || len(r.Dir[d].Prios) > 0
	}
	for d := range workloads.NumDirs {
		dr := &r.Dir[d]
		m.IOs += dr.IOs
		m.Bytes += dr.Bytes
		m.Errors += dr.Errors
		m.Runtime = max(m.Runtime, dr.Runtime)
		mergeHist(&m, dr)
		m.BWSamples = addSamples(m.BWSamples, dr.BWSamples)
		m.IOPSSamples = addSamples(m.IOPSSamples, dr.IOPSSamples)
		m.BWPerIO.sum(dr.BWPerIO)
		m.IOPSPerIO.sum(dr.IOPSPerIO)
		if split && dr.IOs > 0 {
			m.Prios = mergePrios(m.Prios, dirPrios(r, d))
		}
	}
	// As fio: the priorities are shown where at least two of them have
	// I/Os, those without none.
	var prios []PrioLat
	for _, p := range m.Prios {
		if p.Lat.TotalCount() > 0 {
			prios = append(prios, p)
		}
	}
	m.Prios = nil
	if len(prios) > 1 {
		m.Prios = prios
	}
	return m
}

// mergeHist adds src's latency histograms to dst's.
func mergeHist(dst, src *DirResult) {
	if src.Slat != nil {
		dst.Slat.Merge(src.Slat)
	}
	if src.Clat != nil {
		dst.Clat.Merge(src.Clat)
	}
	if src.Lat != nil {
		dst.Lat.Merge(src.Lat)
	}
}

// dirPrios is the latency of direction d of r per priority: its own
// split, or, for a direction whose I/Os all went out with one priority
// (which keeps none), all of them under that priority: their total
// latency with lat_percentiles, else their completion latency, as the
// split keeps them.
func dirPrios(r *JobResult, d int) []PrioLat {
	dr := &r.Dir[d]
	if len(dr.Prios) > 0 {
		return dr.Prios
	}
	j := &r.Job
	vals := j.Prio.Values(d, j.DirSizes(d))
	if len(vals) != 1 {
		return nil
	}
	h := dr.Clat
	if j.LatPercentiles {
		h = dr.Lat
	}
	if h == nil {
		return nil
	}
	return []PrioLat{{Prio: vals[0], Lat: h.Histogram}}
}

// mixedDirs returns, for each job of run (by index), its directions
// summed where a report needs them: where the job's group has a job that
// reports them (its mixed section, and the group's MIXED line, cover
// every job of the group); nil elsewhere.
func mixedDirs(run *Run) []*DirResult {
	needs := map[int]bool{}
	for i := range run.Jobs {
		if reportsMixed(&run.Jobs[i]) {
			needs[run.Jobs[i].GroupID] = true
		}
	}
	out := make([]*DirResult, len(run.Jobs))
	for i := range run.Jobs {
		if needs[run.Jobs[i].GroupID] {
			m := mixedDir(&run.Jobs[i])
			out[i] = &m
		}
	}
	return out
}
