package runner

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/workloads"
)

// DirResult is what one direction of a job did.
type DirResult struct {
	IOs     uint64
	Bytes   uint64
	Errors  uint64
	Runtime time.Duration
	Lat     *hdrhistogram.Histogram // completion latency, ns
}

// IOPS returns I/Os per second over the runtime.
func (d *DirResult) IOPS() float64 {
	if d.Runtime <= 0 {
		return 0
	}
	return float64(d.IOs) / d.Runtime.Seconds()
}

// BW returns bytes per second.
func (d *DirResult) BW() float64 {
	if d.Runtime <= 0 {
		return 0
	}
	return float64(d.Bytes) / d.Runtime.Seconds()
}

// JobResult is the outcome of one job (all its clones).
type JobResult struct {
	Job      workloads.Job
	GroupID  int
	Dir      [2]DirResult // read, write
	UsrCPU   float64      // percent of one CPU over the runtime
	SysCPU   float64
	Engine   engine.Stats
	Ring     string // io_uring set-up in force
	Mapper   string
	Err      error
	Verified uint64 // bytes checked by verify
	Elapsed  time.Duration
}

func newHist() *hdrhistogram.Histogram {
	// 1 ns .. 100 s at 3 significant digits.
	return hdrhistogram.New(1, int64(100*time.Second), 3)
}

// live holds counters the progress line reads while jobs run.
type live struct {
	ios, bytes [2]atomic.Uint64
	jobs       atomic.Int32
}

// runJob runs j on the target: numjobs clones, each on its own engine
// queue, for runtime or one pass over the region. Whatever fails is in
// the result's Err.
func runJob(j workloads.Job, groupID int, tgt string, lv *live, out Output) JobResult {
	res := JobResult{Job: j, GroupID: groupID, Mapper: j.Mapper}
	res.Dir[0].Lat, res.Dir[1].Lat = newHist(), newHist()
	s, err := openJob(&j, tgt)
	if err != nil {
		res.Err = err
		return res
	}
	defer s.close()
	res.Ring = s.eng.RingInfo()
	if err := s.prepare(); err != nil {
		res.Err = err
		return res
	}
	workers, usage := s.runWorkers(lv)
	errs := res.collect(workers, usage)
	if j.Verify != "" && (j.VerifyOnly || j.RW.Writes() && len(errs) == 0) {
		n, err := verifyPass(s.eng, s.f, s.job, s.size)
		res.Verified += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	res.Engine = s.eng.Stats()
	res.Err = errors.Join(errs...)
	return res
}

// jobSetup is what a job runs on: its device, engine and file.
type jobSetup struct {
	job    *workloads.Job
	dev    *device.Device
	mapper engine.Mapper
	eng    *engine.Engine
	f      *engine.File
	size   uint64 // bytes of the file
}

// openJob opens the device (read-only unless the job writes), the engine
// with the job's ring options, and the job's file, and checks that the
// job's block sizes suit the device.
func openJob(j *workloads.Job, tgt string) (*jobSetup, error) {
	readOnly := j.VerifyOnly || !j.RW.Writes() || j.Mapper == "fiemap"
	dev, err := device.Open(tgt, device.Options{ReadOnly: readOnly, Force: j.Force})
	if err != nil {
		return nil, err
	}
	s := &jobSetup{job: j, dev: dev}
	var file string
	s.mapper, file, s.size, err = newMapper(j, dev)
	if err != nil {
		s.close()
		return nil, err
	}
	arena := j.NumJobs*j.IODepth*pow2(int(j.MaxBS())) + 4<<20
	s.eng, err = engine.New(engine.Config{
		Devices: []*device.Device{dev}, Mapper: s.mapper, Queues: 1,
		QueueDepth: max(j.IODepth, 8), NoCache: !j.Cache, FixedBuffers: j.FixedBufs,
		RegisterFiles: j.RegisterFiles, SQPoll: j.SQPoll, IOPoll: j.HiPri, ArenaBytes: arena,
	})
	if err != nil {
		s.close()
		return nil, err
	}
	s.f, err = s.eng.Open(file, engine.FileOptions{Size: s.size})
	if err != nil {
		s.close()
		return nil, err
	}
	if off, _ := s.eng.Alignment(); uint64(off) > j.MinBS() {
		s.close()
		return nil, fmt.Errorf("bs=%d is smaller than the device's %d-byte logical block", j.MinBS(), off)
	}
	return s, nil
}

// close closes the engine, then the device.
func (s *jobSetup) close() {
	if s.eng != nil {
		s.eng.Close()
	}
	s.dev.Close()
}

// prepare does what comes before the measured run: warming the cache
// (warm=1), and laying down verify blocks for a writing job that verifies,
// so that every later read has something to check.
func (s *jobSetup) prepare() error {
	j := s.job
	if j.Warm && j.Cache {
		w, ok := s.mapper.(interface{ Warm(*engine.File) error })
		if !ok {
			return fmt.Errorf("warm: mapper=%s cannot fill the cache ahead (only scattered can)", j.Mapper)
		}
		if err := w.Warm(s.f); err != nil {
			return fmt.Errorf("warm: %w", err)
		}
	}
	if j.Verify != "" && !j.VerifyOnly {
		if err := prefill(s.eng, s.f, j, s.size); err != nil {
			return fmt.Errorf("verify prefill: %w", err)
		}
	}
	return nil
}

// cpuUsage is the process's CPU time over a run.
type cpuUsage struct {
	elapsed  time.Duration
	usr, sys float64 // seconds
}

// runWorkers runs the job's clones to the end and returns them with the
// time and CPU they took.
func (s *jobSetup) runWorkers(lv *live) ([]*worker, cpuUsage) {
	j := s.job
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	workers := make([]*worker, j.NumJobs)
	var wg sync.WaitGroup
	lv.jobs.Add(int32(j.NumJobs))
	for i := range workers {
		w := &worker{eng: s.eng, f: s.f, job: j, idx: i, size: s.size, lv: lv}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer lv.jobs.Add(-1)
			w.run()
		}()
	}
	wg.Wait()
	u := cpuUsage{elapsed: time.Since(start)}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	u.usr, u.sys = tvSec(ru1.Utime, ru0.Utime), tvSec(ru1.Stime, ru0.Stime)
	return workers, u
}

// collect adds up what the workers measured and returns their errors.
func (res *JobResult) collect(workers []*worker, u cpuUsage) []error {
	var errs []error
	for _, w := range workers {
		for d := range 2 {
			r := &res.Dir[d]
			r.IOs += w.ios[d]
			r.Bytes += w.bytes[d]
			r.Errors += w.errs[d]
			r.Lat.Merge(w.hist[d])
			r.Runtime = max(r.Runtime, w.measured)
		}
		res.Verified += w.verified
		if w.err != nil {
			errs = append(errs, w.err)
		}
	}
	res.Elapsed = u.elapsed
	if u.elapsed > 0 {
		secs := u.elapsed.Seconds()
		res.UsrCPU = 100 * u.usr / secs
		res.SysCPU = 100 * u.sys / secs
	}
	return errs
}

func tvSec(a, b syscall.Timeval) float64 {
	return float64(a.Sec-b.Sec) + float64(a.Usec-b.Usec)/1e6
}

func pow2(n int) int {
	p := 4096
	for p < n {
		p <<= 1
	}
	return p
}

// worker is one clone of a job: it keeps up to iodepth requests in flight
// on its own engine queue until the job's runtime or region is used up,
// an error stops it, or the user interrupts the run.
type worker struct {
	eng  *engine.Engine
	f    *engine.File
	job  *workloads.Job
	idx  int
	size uint64
	lv   *live

	// What the worker measured, read by collect once it has finished.
	ios, bytes, errs [2]uint64
	hist             [2]*hdrhistogram.Histogram
	measured         time.Duration
	verified         uint64
	err              error // the first error

	// The loop's state, set up by start.
	q            *engine.Queue
	gen          *workloads.Generator
	ver          *workloads.Verifier // nil: no verify
	reqs         []engine.Request
	rampEnd      time.Time
	deadline     time.Time // zero: no runtime limit
	passBytes    uint64    // one pass over the region
	issued       uint64    // bytes issued so far
	writeGen     uint64    // verify generation of the last write
	inflight     map[uint64]uint64
	stopping     bool // an error limit or a mismatch stops issuing
	pastDeadline bool
	measuring    bool // past the ramp time
	measureStart time.Time
}

// interrupted is set when the user asks iobench to stop (SIGINT or
// SIGTERM): jobs stop issuing, drain what is in flight, report, and the
// automatic target is removed.
var interrupted atomic.Bool

// errLimit stops a job after this many failed I/Os: something is wrong
// with the target, and the first error says what.
const errLimit = 100

// run runs the worker to the end; what it measured and the first error
// are in its fields afterwards.
func (w *worker) run() {
	w.hist[0], w.hist[1] = newHist(), newHist()
	if err := w.start(); err != nil {
		w.err = err
		return
	}
	defer w.finish()
	if err := w.submitFirst(); err != nil {
		w.err = err
		return
	}
	if err := w.loop(); err != nil {
		w.err = err
	}
}

// start makes the worker's queue, generator, verifier and requests.
func (w *worker) start() error {
	j := w.job
	q, err := w.eng.NewQueue()
	if err != nil {
		return err
	}
	w.q = q
	w.gen = workloads.NewGenerator(j, w.idx, w.size)
	if j.Verify != "" {
		w.ver = &workloads.Verifier{Interval: workloads.VerifyInterval(j.MinBS()), Hash: j.Verify, Seed: j.RandSeed}
		w.inflight = map[uint64]uint64{}
		if j.NumJobs > 1 {
			// Clones write disjoint slices, so a read never races a write
			// of another clone.
			w.gen = sliceGenerator(j, w.idx, w.size)
		}
	}
	w.reqs = make([]engine.Request, j.IODepth)
	for i := range w.reqs {
		b := w.eng.Buffer(int(j.MaxBS()))
		if b == nil {
			return fmt.Errorf("buffer arena exhausted")
		}
		w.reqs[i].Buf = b
	}
	now := time.Now()
	w.rampEnd = now.Add(j.RampTime)
	if j.Runtime > 0 {
		w.deadline = w.rampEnd.Add(j.Runtime)
	}
	w.passBytes = w.gen.Span()
	w.measuring, w.measureStart = j.RampTime == 0, now
	return nil
}

// finish records the measured time and gives back the queue and buffers.
func (w *worker) finish() {
	if w.measuring {
		w.measured = time.Since(w.measureStart)
	}
	for i := range w.reqs {
		if b := w.reqs[i].Buf; b != nil {
			w.eng.PutBuffer(b[:cap(b)])
		}
	}
	w.q.Close()
}

// submitFirst fills the queue to iodepth.
func (w *worker) submitFirst() error {
	n := 0
	for i := range w.reqs {
		if !w.issue(&w.reqs[i]) {
			break
		}
		n++
	}
	for i := range n {
		if err := w.q.Submit(&w.reqs[i]); err != nil {
			return err
		}
	}
	return nil
}

// loop reaps completions and issues the next I/O in each completed
// request's place, until nothing is in flight.
func (w *worker) loop() error {
	done := make([]*engine.Request, 0, len(w.reqs))
	for w.q.InFlight() > 0 {
		var err error
		done, err = w.q.Reap(done[:0], 1)
		if err != nil {
			return err
		}
		// The clock is read once per reap, not per I/O: reading it costs
		// more than anything else the loop does per I/O.
		now := time.Now()
		w.pastDeadline = !w.deadline.IsZero() && !now.Before(w.deadline)
		if !w.measuring && !now.Before(w.rampEnd) {
			w.measuring, w.measureStart = true, now
		}
		for _, r := range done {
			w.complete(r)
			if w.issue(r) {
				if err := w.q.Submit(r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// issue fills r with the next I/O and reports whether there is one.
func (w *worker) issue(r *engine.Request) bool {
	j := w.job
	if w.stopping || w.pastDeadline || interrupted.Load() {
		return false
	}
	if !j.TimeBased && w.issued >= w.passBytes {
		return false
	}
	var io workloads.IO
	for tries := 0; ; tries++ {
		io = w.gen.Next()
		if w.ver == nil || tries > 64 || !overlaps(w.inflight, io) {
			break
		}
	}
	r.File, r.Offset, r.Write = w.f, io.Offset, io.Write
	r.Buf = r.Buf[:io.Length]
	if w.ver != nil {
		w.inflight[io.Offset] = io.Length
		if io.Write {
			w.writeGen++
			w.ver.Fill(r.Buf, io.Offset, w.writeGen)
		}
	}
	w.issued += io.Length
	return true
}

// complete accounts for the completed request r and checks what it read
// when the job verifies.
func (w *worker) complete(r *engine.Request) {
	d := 0
	if r.Write {
		d = 1
	}
	if w.ver != nil {
		delete(w.inflight, r.Offset)
	}
	switch {
	case r.Err != nil:
		w.errs[d]++
		if w.err == nil {
			w.err = r.Err
		}
		if w.errs[0]+w.errs[1] >= errLimit {
			w.stopping = true
		}
		return
	case w.measuring:
		w.ios[d]++
		w.bytes[d] += uint64(r.N)
		w.lv.ios[d].Add(1)
		w.lv.bytes[d].Add(uint64(r.N))
		_ = w.hist[d].RecordValue(max(int64(r.Latency), 1))
	}
	if w.ver != nil && !r.Write {
		if _, err := w.ver.Check(r.Buf[:r.N], r.Offset); err != nil {
			if w.err == nil {
				w.err = err
			}
			w.stopping = true
		} else {
			w.verified += uint64(r.N)
		}
	}
}

func overlaps(inflight map[uint64]uint64, io workloads.IO) bool {
	for off, n := range inflight {
		if io.Offset < off+n && off < io.Offset+io.Length {
			return true
		}
	}
	return false
}

// sliceGenerator gives clone idx its own 1/numjobs of the region.
func sliceGenerator(j *workloads.Job, idx int, size uint64) *workloads.Generator {
	c := j.Clone()
	base := c.Offset
	span := size - min(base, size)
	if c.Size > 0 && c.Size < span {
		span = c.Size
	}
	unit := c.MaxBS()
	part := span / uint64(c.NumJobs) / unit * unit
	c.Offset = base + uint64(idx)*part
	c.Size = part
	return workloads.NewGenerator(&c, idx, size)
}

// prefill writes verify blocks over the job's whole region.
func prefill(eng *engine.Engine, f *engine.File, j *workloads.Job, size uint64) error {
	ver := &workloads.Verifier{Interval: workloads.VerifyInterval(j.MinBS()), Hash: j.Verify, Seed: j.RandSeed}
	return sweep(eng, f, j, size, func(buf []byte, off uint64) error {
		ver.Fill(buf, off, 0)
		_, err := f.WriteAt(buf, int64(off))
		return err
	})
}

// verifyPass reads the job's region back and checks every block.
func verifyPass(eng *engine.Engine, f *engine.File, j *workloads.Job, size uint64) (uint64, error) {
	ver := &workloads.Verifier{Interval: workloads.VerifyInterval(j.MinBS()), Hash: j.Verify, Seed: j.RandSeed}
	var n uint64
	err := sweep(eng, f, j, size, func(buf []byte, off uint64) error {
		if _, err := f.ReadAt(buf, int64(off)); err != nil {
			return err
		}
		if _, err := ver.Check(buf, off); err != nil {
			return err
		}
		n += uint64(len(buf))
		return nil
	})
	return n, err
}

func sweep(eng *engine.Engine, f *engine.File, j *workloads.Job, size uint64, fn func([]byte, uint64) error) error {
	gen := workloads.NewGenerator(j, 0, size)
	base, span := gen.Base(), gen.Span()
	chunk := uint64(1 << 20)
	unit := j.MinBS()
	chunk = chunk / unit * unit
	buf := eng.Buffer(int(chunk))
	if buf == nil {
		return fmt.Errorf("buffer arena exhausted")
	}
	defer eng.PutBuffer(buf)
	for off := uint64(0); off < span; off += chunk {
		n := min(chunk, span-off)
		if err := fn(buf[:n], base+off); err != nil {
			return err
		}
	}
	return nil
}
