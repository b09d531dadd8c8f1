package runner

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iobench/iobench/workloads"
)

// Steady-state detection (ss, ss_dur, ss_ramp), as fio 3.33 has it.
//
// A steady unit is what one detection watches: a clone, or with
// group_reporting its whole group. Its workers add the I/Os and bytes they
// complete (measured ones: after ramp_time) to its counters at each reap;
// a goroutine samples them once a second from ss_ramp on, each sample the
// IOPS and bandwidth over that second, and keeps the last ss_dur seconds
// of samples. Once it holds that many, each new sample is checked: the
// largest distance of the window's samples from their mean (iops, bw), or
// their least-squares slope per second (iops_slope, bw_slope), against
// the limit, in units or as a percentage of the mean. When a check passes,
// the unit's workers stop issuing, and the job ends as at its runtime.

// steady is one unit of steady-state detection.
type steady struct {
	cfg        workloads.SteadyState
	ios, bytes atomic.Uint64 // completed, added by the workers
	attained   atomic.Bool   // set when the criterion is met: the workers stop
	done       chan struct{} // closed when the unit's workers have all ended
	closeOnce  sync.Once
	beginOnce  sync.Once     // the sampler starts with the first worker
	finished   chan struct{} // closed when the sampler has stopped

	// What the sampler found, read once finished is closed.
	res SteadyResult
}

// SteadyResult is what a steady-state detection found, for the report
// (fio's steadystate).
type SteadyResult struct {
	Cfg      workloads.SteadyState
	Attained bool
	// Criterion is the last check's value (a percentage of the mean with
	// Cfg.Pct), Deviation the window's largest distance from its mean
	// (deviation modes), Slope its slope per second (slope modes): 0
	// where no check was made.
	Criterion, Deviation, Slope float64
	// IOPS and BW (bytes/s) are the window's samples, oldest first:
	// ss_dur of them, 0 for seconds not sampled.
	IOPS, BW []uint64
}

// newSteady returns a unit for cfg; its clock starts at the first begin.
func newSteady(cfg workloads.SteadyState) *steady {
	return &steady{cfg: cfg, done: make(chan struct{}), finished: make(chan struct{})}
}

// begin starts the unit's sampling with start as the job's start, the
// first time a worker calls it.
func (s *steady) begin(start time.Time) {
	s.beginOnce.Do(func() { go s.sample(start) })
}

// close ends the unit's sampling and returns what it found.
func (s *steady) close() SteadyResult {
	s.closeOnce.Do(func() { close(s.done) })
	s.beginOnce.Do(func() { // no worker began: nothing sampled
		s.res = (&steadyWindow{cfg: s.cfg, n: int(s.cfg.Dur / time.Second)}).result(false)
		close(s.finished)
	})
	<-s.finished
	return s.res
}

// sample takes a sample a second from start+ss_ramp until the unit's
// workers end or the criterion is met.
func (s *steady) sample(start time.Time) {
	defer close(s.finished)
	n := int(s.cfg.Dur / time.Second)
	w := &steadyWindow{cfg: s.cfg, n: n}
	s.res = w.result(false)
	next := start.Add(s.cfg.Ramp)
	var lastIOs, lastBytes uint64
	var last time.Time
	for {
		t := time.NewTimer(time.Until(next))
		select {
		case <-s.done:
			t.Stop()
			return
		case <-t.C:
		}
		now := time.Now()
		ios, bytes := s.ios.Load(), s.bytes.Load()
		if !last.IsZero() {
			secs := now.Sub(last).Seconds()
			met := w.add(uint64(float64(ios-lastIOs)/secs), uint64(float64(bytes-lastBytes)/secs))
			s.res = w.result(met)
			if met {
				s.attained.Store(true)
				return
			}
		}
		last, lastIOs, lastBytes = now, ios, bytes
		next = next.Add(time.Second)
	}
}

// steadyWindow is the last n samples and the checks on them.
type steadyWindow struct {
	cfg            workloads.SteadyState
	n              int
	iops, bw       []uint64 // oldest first
	crit, dev, slp float64
}

// add takes a sample and reports whether the window, once full, meets
// the criterion.
func (w *steadyWindow) add(iops, bw uint64) bool {
	w.iops, w.bw = append(w.iops, iops), append(w.bw, bw)
	if len(w.iops) > w.n {
		w.iops, w.bw = w.iops[1:], w.bw[1:]
	}
	if len(w.iops) < w.n || w.n == 0 {
		return false
	}
	ys := w.bw
	if w.cfg.IOPS() {
		ys = w.iops
	}
	var sum float64
	for _, y := range ys {
		sum += float64(y)
	}
	mean := sum / float64(w.n)
	if w.cfg.Slope() {
		// Least squares over x = 0..n-1 (the samples a second apart).
		var sxy float64
		for i, y := range ys {
			sxy += float64(i) * float64(y)
		}
		nf := float64(w.n)
		sx, sxx := nf*(nf-1)/2, (nf-1)*nf*(2*nf-1)/6
		w.slp = (sxy - sx*sum/nf) / (sxx - sx*sx/nf)
		if w.n == 1 {
			w.slp = 0 // one sample has no slope
		}
		w.crit = w.slp
	} else {
		w.dev = 0
		for _, y := range ys {
			w.dev = max(w.dev, math.Abs(float64(y)-mean))
		}
		w.crit = w.dev
	}
	if w.cfg.Pct {
		if mean == 0 {
			w.crit = math.Inf(1) // nothing done: no steady state
		} else {
			w.crit = 100 * w.crit / mean
		}
	}
	if w.cfg.Slope() {
		return math.Abs(w.crit) < w.cfg.Limit
	}
	return w.crit < w.cfg.Limit
}

// result is the window as a report, with met as its outcome.
func (w *steadyWindow) result(met bool) SteadyResult {
	r := SteadyResult{Cfg: w.cfg, Attained: met, Criterion: w.crit, Deviation: w.dev, Slope: w.slp,
		IOPS: make([]uint64, w.n), BW: make([]uint64, w.n)}
	if math.IsInf(r.Criterion, 0) {
		r.Criterion = 0
	}
	copy(r.IOPS[w.n-len(w.iops):], w.iops)
	copy(r.BW[w.n-len(w.bw):], w.bw)
	return r
}

// means returns the window's mean bandwidth (bytes/s) and IOPS, over all
// ss_dur seconds as fio takes them.
func (r *SteadyResult) means() (bw, iops uint64) {
	if len(r.IOPS) == 0 {
		return 0, 0
	}
	for i := range r.IOPS {
		iops += r.IOPS[i]
		bw += r.BW[i]
	}
	n := uint64(len(r.IOPS))
	return bw / n, iops / n
}
