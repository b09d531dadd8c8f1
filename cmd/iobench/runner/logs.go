package runner

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/workloads"
	"golang.org/x/sys/unix"
)

// logFile is one thread's series of a fio-format log. Only that thread
// writes to it (no lock), until the set is closed: straight to its file,
// or, for a file the threads of per_job_logs=0 share, to an unnamed file
// of its own that the set appends to the shared one at its close.
type logFile struct {
	f   *os.File
	w   *bufio.Writer
	buf []byte
}

func newLogFile(f *os.File) *logFile { return &logFile{f: f, w: bufio.NewWriterSize(f, 64<<10)} }

// sharedLog is a log file of per_job_logs=0 and the series of the
// threads that write to it, by thread number.
type sharedLog struct {
	f      *os.File
	series map[int]*logFile
}

// logSet opens each log file once per run and closes them all at its
// end. A file the threads of per_job_logs=0 share gets each thread's
// whole series in turn, in the threads' order (the jobs', then their
// clones'), as fio writes it, not their entries interleaved as they
// come: fio's tools read a series until its time goes back.
type logSet struct {
	mu     sync.Mutex
	own    map[string]*logFile
	shared map[string]*sharedLog
}

func newLogSet() *logSet {
	return &logSet{own: map[string]*logFile{}, shared: map[string]*sharedLog{}}
}

// open returns thread's log at path, creating (truncating) the file on
// first use; shared says the file is per_job_logs=0's, for every thread
// of the prefix.
func (s *logSet) open(path string, thread int, shared bool) (*logFile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !shared {
		if l, ok := s.own[path]; ok {
			return l, nil
		}
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("log: %w", err)
		}
		l := newLogFile(f)
		s.own[path] = l
		return l, nil
	}
	sl, ok := s.shared[path]
	if !ok {
		f, err := os.Create(path)
		if err != nil {
			return nil, fmt.Errorf("log: %w", err)
		}
		sl = &sharedLog{f: f, series: map[int]*logFile{}}
		s.shared[path] = sl
	}
	if l, ok := sl.series[thread]; ok {
		return l, nil
	}
	// The thread's series waits in a file beside the log, unlinked at
	// once so that nothing is left behind whatever happens to the run.
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("log: %w", err)
	}
	l := newLogFile(f)
	sl.series[thread] = l
	return l, nil
}

// close flushes and closes every log, after writing each shared one's
// series in thread order. The threads must have stopped writing.
func (s *logSet) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, l := range s.own {
		errs = append(errs, l.w.Flush(), l.f.Close())
	}
	for path, sl := range s.shared {
		w := bufio.NewWriterSize(sl.f, 64<<10)
		for _, th := range slices.Sorted(maps.Keys(sl.series)) {
			l := sl.series[th]
			err := l.w.Flush()
			if err == nil {
				_, err = l.f.Seek(0, io.SeekStart)
			}
			if err == nil {
				_, err = io.Copy(w, l.f)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("log %s: thread %d's entries: %w", path, th, err))
			}
			errs = append(errs, l.f.Close())
		}
		errs = append(errs, w.Flush(), sl.f.Close())
	}
	s.own, s.shared = map[string]*logFile{}, map[string]*sharedLog{}
	return errors.Join(errs...)
}

// logCols is how a log's lines end: with the offset column or not, the
// priority column as a flag or as the I/O's priority (log_prio), and
// with the issue time column or not (log_issue_time).
type logCols struct{ offset, prio, issue bool }

// entry writes "time, value, ddir, bs[, offset], prio[, issue]", fio's
// log line. The priority column is, as fio's, 1 for an I/O of the
// real-time class and 0 for any other, or with log_prio its priority in
// hex (0x0000: none); the issue column (log_issue_time) the I/O's issue
// time in ns.
func (l *logFile) entry(tMs, value uint64, ddir int, bs uint64, offset uint64, cols logCols, prio uint16, issueNs uint64) {
	b := l.buf[:0]
	b = strconv.AppendUint(b, tMs, 10)
	b = append(b, ", "...)
	b = strconv.AppendUint(b, value, 10)
	b = append(b, ", "...)
	b = strconv.AppendInt(b, int64(ddir), 10)
	b = append(b, ", "...)
	b = strconv.AppendUint(b, bs, 10)
	if cols.offset {
		b = append(b, ", "...)
		b = strconv.AppendUint(b, offset, 10)
	}
	switch {
	case cols.prio:
		const hex = "0123456789abcdef"
		b = append(b, ", 0x"...)
		b = append(b, hex[prio>>12], hex[prio>>8&15], hex[prio>>4&15], hex[prio&15])
	case prio>>13 == workloads.PrioClassRT:
		b = append(b, ", 1"...)
	default:
		b = append(b, ", 0"...)
	}
	if cols.issue {
		b = append(b, ", "...)
		b = strconv.AppendUint(b, issueNs, 10)
	}
	b = append(b, '\n')
	_, _ = l.w.Write(b)
	l.buf = b
}

// histEntry writes "time, ddir, bs, count0, ..., count1855", a line of
// fio's histogram log.
func (l *logFile) histEntry(tMs uint64, ddir int, bs uint64, counts []uint64, coarseness int) {
	b := l.buf[:0]
	b = strconv.AppendUint(b, tMs, 10)
	b = append(b, ", "...)
	b = strconv.AppendInt(b, int64(ddir), 10)
	b = append(b, ", "...)
	b = strconv.AppendUint(b, bs, 10)
	// log_hist_coarseness: each column the sum of 2^n neighbouring
	// buckets, as fio writes them.
	stride := 1 << coarseness
	for i := 0; i < len(counts); i += stride {
		var c uint64
		for _, v := range counts[i:min(i+stride, len(counts))] {
			c += v
		}
		b = append(b, ", "...)
		b = strconv.AppendUint(b, c, 10)
	}
	b = append(b, '\n')
	_, _ = l.w.Write(b)
	l.buf = b
}

// Which latency a log holds.
const (
	logLat = iota
	logClat
	logSlat
)

// logWindow is what a direction did in the current log_avg_msec window:
// its I/Os and their latencies, and the I/Os and bytes its rates count
// (those of the workload, without a verify's reads).
type logWindow struct {
	ios            uint64
	rateIOs, bytes uint64
	latSum, latMax [3]uint64
}

// jobLogger writes one thread's logs.
type jobLogger struct {
	job       *workloads.Job
	t0        time.Time
	base      uint64 // the log epoch's ms at t0 (0: times from the job's start)
	bw, iops  *logFile
	lat       [3]*logFile // lat, clat, slat
	hist      *logFile
	win       [workloads.NumDirs]logWindow
	winStart  time.Time
	winNext   time.Time
	histCount [workloads.NumDirs][]uint64
	// histBS is the size of each direction's last I/O, the bs column of
	// its next histogram entry, as fio writes it (0: none yet).
	histBS   [workloads.NumDirs]uint64
	histNext time.Time
	// end is the runtime's end (zero: none), which the worker sets: a
	// window or histogram period ending there or later is not closed
	// whole, as fio's job ends first.
	end time.Time
}

// newJobLogger opens the logs j asks for, for thread number n (1-based,
// across the run, as fio numbers them).
func newJobLogger(j *workloads.Job, n int, set *logSet, t0 time.Time) (*jobLogger, error) {
	l := &jobLogger{job: j, t0: t0, winStart: t0, winNext: t0.Add(j.Logs.Avg), histNext: t0.Add(j.Logs.HistPeriod)}
	switch j.Logs.Epoch {
	case "unix":
		l.base = uint64(t0.UnixMilli())
	case "alternate":
		var ts unix.Timespec
		if err := unix.ClockGettime(int32(j.Logs.EpochClock), &ts); err != nil {
			return nil, fmt.Errorf("log_alternate_epoch_clock_id=%d: %w", j.Logs.EpochClock, err)
		}
		// The clock's reading at t0: now on that clock, less the time since.
		l.base = uint64(max(ts.Nano()-time.Since(t0).Nanoseconds(), 0) / 1e6)
	}
	name := func(prefix, kind string) string {
		if j.Logs.PerJob {
			return fmt.Sprintf("%s_%s.%d.log", prefix, kind, n)
		}
		return fmt.Sprintf("%s_%s.log", prefix, kind)
	}
	var err error
	open := func(prefix, kind string) *logFile {
		if prefix == "" || err != nil {
			return nil
		}
		var f *logFile
		f, err = set.open(name(prefix, kind), n, !j.Logs.PerJob)
		return f
	}
	lg := j.Logs
	l.bw = open(lg.BW, "bw")
	l.iops = open(lg.IOPS, "iops")
	l.lat[logLat] = open(lg.Lat, "lat")
	l.lat[logClat] = open(lg.Lat, "clat")
	l.lat[logSlat] = open(lg.Lat, "slat")
	if j.SyncEngine() {
		l.lat[logSlat] = nil // a synchronous engine's slat log stays empty, as fio's
	}
	l.hist = open(lg.Hist, "clat_hist")
	if l.hist != nil {
		for d := range l.histCount {
			l.histCount[d] = make([]uint64, fioPlatNR)
		}
	}
	return l, err
}

func (l *jobLogger) cols() logCols {
	return logCols{l.job.Logs.Offset, l.job.Logs.Prio, l.job.Logs.IssueTime}
}

// ms is the log time of t: ms since the job's start, plus the epoch's
// time at the start with log_unix_epoch or log_alternate_epoch.
func (l *jobLogger) ms(t time.Time) uint64 {
	return l.base + uint64(max(t.Sub(l.t0).Milliseconds(), 0))
}

// restart starts the logs' time and their first window and histogram
// period at now: the end of ramp_time, from which fio's logs count.
func (l *jobLogger) restart(now time.Time) {
	if l.base != 0 {
		l.base += uint64(max(now.Sub(l.t0).Milliseconds(), 0)) // the epoch's ms at now
	}
	lg := &l.job.Logs
	l.t0, l.winStart, l.winNext, l.histNext = now, now, now.Add(lg.Avg), now.Add(lg.HistPeriod)
	l.win = [workloads.NumDirs]logWindow{}
	for d := range l.histCount {
		clear(l.histCount[d])
	}
}

// record logs the completed request r (direction d) at now, issued (its
// first device I/O handed to the kernel) at issued: an entry per log
// without log_avg_msec, else into the window. With log_issue_time, the
// clat and slat entries end with the issue time in ns from where the
// time column counts from, without the epoch log_unix_epoch or
// log_alternate_epoch adds to that column (fio adds none to it either),
// and those of the other logs with 0, as fio's.
func (l *jobLogger) record(r *engine.Request, d int, now, issued time.Time) {
	l.add(r, d, now, issued, true)
}

// recordVerify logs the completed read r of a verify (verify_backlog's
// read-back, the verify pass after the writes) as fio logs the reads of
// its verify list: each has its entries without log_avg_msec, and its
// latencies go into the windows of the latency logs, but not into the
// bandwidth and IOPS windows (fio's rates count the workload's I/O:
// a window with nothing else has no bw or iops entry).
func (l *jobLogger) recordVerify(r *engine.Request, now, issued time.Time) {
	l.add(r, workloads.DirRead, now, issued, false)
}

// add is record and recordVerify: rate says whether r counts toward the
// windows' bandwidth and IOPS.
func (l *jobLogger) add(r *engine.Request, d int, now, issued time.Time, rate bool) {
	lat := [3]uint64{uint64(r.Latency), uint64(r.Latency - r.SubmitLatency), uint64(r.SubmitLatency)}
	if l.hist != nil {
		l.histCount[d][fioPlatIdx(lat[logClat])]++
		l.histBS[d] = uint64(len(r.Buf))
	}
	if l.job.Logs.Avg > 0 {
		w := &l.win[d]
		w.ios++
		if rate {
			w.rateIOs++
			w.bytes += uint64(r.N)
		}
		for k, v := range lat {
			w.latSum[k] += v
			w.latMax[k] = max(w.latMax[k], v)
		}
		return
	}
	t := l.ms(now)
	bs, off, cols := uint64(len(r.Buf)), r.Offset, l.cols()
	var issueNs uint64
	if cols.issue {
		issueNs = uint64(max(issued.Sub(l.t0).Nanoseconds(), 0))
	}
	for k, f := range l.lat {
		if f != nil && (k != logSlat || slatMeasured(r)) {
			var at uint64
			if k != logLat {
				at = issueNs
			}
			f.entry(t, lat[k], d, bs, off, cols, r.Prio, at)
		}
	}
	if l.bw != nil {
		// fio's per-I/O bandwidth: the I/O's bytes over its completion
		// latency, in bytes per ms; 0 for an I/O whose completion latency
		// is 0 (one the kernel completed as it was submitted), as fio's
		// add_bw_sample writes it: every I/O has its entry.
		var rate uint64
		if lat[logClat] > 0 {
			rate = uint64(r.N) * 1000000 / lat[logClat]
		}
		l.bw.entry(t, rate, d, bs, off, cols, r.Prio, 0)
	}
	if l.iops != nil {
		l.iops.entry(t, 1, d, bs, off, cols, r.Prio, 0)
	}
}

// tick writes the windows that have ended by now (checked once per
// reap); with final set, also the last partial window's latencies, so
// that the latency logs account for every I/O. As fio, the bandwidth and
// IOPS logs leave a partial window out: its rate, over what may be a few
// µs, is no rate of the run's.
func (l *jobLogger) tick(now time.Time, final bool) {
	lg := &l.job.Logs
	// due: a period ending at next is over by now, and ends before the
	// runtime does. fio's job stops at its runtime before it closes the
	// period ending there: that period's latencies go out as the job's
	// last partial window, its bandwidth, IOPS and histogram not at all.
	due := func(next time.Time) bool { return !now.Before(next) && (l.end.IsZero() || next.Before(l.end)) }
	if lg.Avg > 0 && (due(l.winNext) || final && now.After(l.winStart)) {
		end, partial := l.winNext, !due(l.winNext)
		if partial {
			end = now
		}
		secs := end.Sub(l.winStart).Seconds()
		t := l.ms(end)
		for d := range workloads.NumDirs {
			w := &l.win[d]
			if w.ios == 0 {
				continue
			}
			// A window's entry has bs 0, with log_offset offset 0,
			// priority 0 and with log_issue_time issue time 0: fio's
			// columns, so the line has as many as a per-I/O one.
			if l.bw != nil && !partial && w.rateIOs > 0 {
				l.bw.entry(t, uint64(float64(w.bytes)/1024/secs), d, 0, 0, l.cols(), 0, 0)
			}
			if l.iops != nil && !partial && w.rateIOs > 0 {
				l.iops.entry(t, uint64(float64(w.rateIOs)/secs), d, 0, 0, l.cols(), 0, 0)
			}
			for k, f := range l.lat {
				if f == nil {
					continue
				}
				v := w.latSum[k] / w.ios
				if lg.MaxValue {
					v = w.latMax[k]
				}
				f.entry(t, v, d, 0, 0, l.cols(), 0, 0)
			}
			*w = logWindow{}
		}
		l.winStart, l.winNext = end, end.Add(lg.Avg)
		if skip := now.Sub(l.winStart) / lg.Avg; skip > 0 && !partial {
			// Windows that went by with no I/O (a rate cap, thinktime,
			// I/O slower than the window) log nothing, as fio's: the
			// next window is the one the clock is in, so that later
			// entries keep their times.
			l.winStart = l.winStart.Add(skip * lg.Avg)
			l.winNext = l.winStart.Add(lg.Avg)
		}
	}
	if l.hist != nil && lg.HistPeriod > 0 && due(l.histNext) {
		t := l.ms(now)
		dirs := [workloads.NumDirs]bool{l.job.RW.Reads(), l.job.RW.Writes(), l.job.RW.Trims()}
		for d := range workloads.NumDirs {
			if dirs[d] {
				bs := l.histBS[d]
				if bs == 0 {
					bs = l.job.BS[min(d, workloads.DirWrite)]
				}
				l.hist.histEntry(t, d, bs, l.histCount[d], l.job.Logs.HistCoarseness)
				clear(l.histCount[d])
			}
		}
		l.histNext = now.Add(lg.HistPeriod)
	}
}
