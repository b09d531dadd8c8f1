package runner

import (
	"errors"
	"fmt"
	"runtime"
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
// queue, for runtime or one pass over the region.
func runJob(j workloads.Job, groupID int, tgt string, lv *live, out Output) JobResult {
	res := JobResult{Job: j, GroupID: groupID, Mapper: j.Mapper}
	res.Dir[0].Lat, res.Dir[1].Lat = newHist(), newHist()
	readOnly := !j.RW.Writes() && !j.VerifyOnly || j.Mapper == "fiemap"
	if j.VerifyOnly {
		readOnly = true
	}
	dev, err := device.Open(tgt, device.Options{ReadOnly: readOnly, Force: j.Force})
	if err != nil {
		res.Err = err
		return res
	}
	defer dev.Close()
	m, file, size, err := newMapper(&j, dev)
	if err != nil {
		res.Err = err
		return res
	}
	if s, ok := m.(shutdowner); ok {
		defer s.Shutdown()
	}
	maxBS := int(j.MaxBS())
	arena := j.NumJobs*j.IODepth*pow2(maxBS) + 4<<20
	eng, err := engine.New(engine.Config{
		Devices: []*device.Device{dev}, Mapper: m, Queues: 1,
		QueueDepth: max(j.IODepth, 8), NoCache: !j.Cache, FixedBuffers: j.FixedBufs,
		RegisterFiles: j.RegisterFiles, SQPoll: j.SQPoll, IOPoll: j.HiPri, ArenaBytes: arena,
	})
	if err != nil {
		res.Err = err
		return res
	}
	defer eng.Close()
	f, err := eng.Open(file, engine.FileOptions{Size: size})
	if err != nil {
		res.Err = err
		return res
	}
	if off, _ := eng.Alignment(); uint64(off) > j.MinBS() {
		res.Err = fmt.Errorf("bs=%d is smaller than the device's %d-byte logical block", j.MinBS(), off)
		return res
	}
	res.Ring = eng.RingInfo()
	if j.Warm && j.Cache {
		w, ok := m.(interface{ Warm(*engine.File) error })
		if !ok {
			res.Err = fmt.Errorf("warm: mapper=%s cannot fill the cache ahead (only scattered can)", j.Mapper)
			return res
		}
		if err := w.Warm(f); err != nil {
			res.Err = fmt.Errorf("warm: %w", err)
			return res
		}
	}
	if j.Verify != "" && !j.VerifyOnly {
		// Lay down verify blocks over the region first, so every later
		// read has something to check.
		if err := prefill(eng, f, &j, size); err != nil {
			res.Err = fmt.Errorf("verify prefill: %w", err)
			return res
		}
		if err := eng.Sync(); err != nil {
			res.Err = fmt.Errorf("verify prefill: sync: %w", err)
			return res
		}
	}
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	workers := make([]*worker, j.NumJobs)
	var wg sync.WaitGroup
	lv.jobs.Add(int32(j.NumJobs))
	for i := range workers {
		w := &worker{eng: eng, f: f, job: &j, idx: i, size: size, lv: lv}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer lv.jobs.Add(-1)
			w.run()
		}()
	}
	wg.Wait()
	if j.RW.Writes() && !j.VerifyOnly && (j.EndFsync || j.Mapper == "cowlog") {
		// cowlog: a run that ends normally leaves its writes durable, as
		// unmounting a filesystem does.
		if err := eng.Sync(); err != nil {
			res.Err = fmt.Errorf("end_fsync: %w", err)
			return res
		}
	}
	res.Elapsed = time.Since(start)
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
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
	if res.Elapsed > 0 {
		secs := res.Elapsed.Seconds()
		res.UsrCPU = 100 * tvSec(ru1.Utime, ru0.Utime) / secs
		res.SysCPU = 100 * tvSec(ru1.Stime, ru0.Stime) / secs
	}
	if j.Verify != "" && !j.VerifyOnly && j.RW.Writes() && len(errs) == 0 {
		n, err := verifyPass(eng, f, &j, size)
		res.Verified += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if j.VerifyOnly {
		n, err := verifyPass(eng, f, &j, size)
		res.Verified += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	res.Engine = eng.Stats()
	res.Err = errors.Join(errs...)
	return res
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

// worker is one clone of a job.
type worker struct {
	eng  *engine.Engine
	f    *engine.File
	job  *workloads.Job
	idx  int
	size uint64
	lv   *live

	ios, bytes, errs [2]uint64
	hist             [2]*hdrhistogram.Histogram
	measured         time.Duration
	verified         uint64
	err              error
}

// interrupted is set when the user asks iobench to stop (SIGINT or
// SIGTERM): jobs stop issuing, drain what is in flight, report, and the
// automatic target is removed.
var interrupted atomic.Bool

// errLimit stops a job after this many failed I/Os: something is wrong
// with the target, and the first error says what.
const errLimit = 100

func (w *worker) run() {
	w.hist[0], w.hist[1] = newHist(), newHist()
	j := w.job
	q, err := w.eng.NewQueue()
	if err != nil {
		w.err = err
		return
	}
	defer q.Close()
	sy := newSyncer(q, j)
	gen := workloads.NewGenerator(j, w.idx, w.size)
	var ver *workloads.Verifier
	if j.Verify != "" {
		ver = &workloads.Verifier{Interval: workloads.VerifyInterval(j.MinBS()), Hash: j.Verify, Seed: j.RandSeed}
		if j.NumJobs > 1 {
			// Clones write disjoint slices, so a read never races a write
			// of another clone.
			gen = sliceGenerator(j, w.idx, w.size)
		}
	}
	reqs := make([]engine.Request, j.IODepth)
	maxBS := int(j.MaxBS())
	for i := range reqs {
		b := w.eng.Buffer(maxBS)
		if b == nil {
			w.err = fmt.Errorf("buffer arena exhausted")
			return
		}
		reqs[i].Buf = b
		defer w.eng.PutBuffer(b[:cap(b)])
	}
	start := time.Now()
	rampEnd := start.Add(j.RampTime)
	var deadline time.Time
	if j.Runtime > 0 {
		deadline = rampEnd.Add(j.Runtime)
	}
	passBytes := gen.Span()
	var issued uint64
	var genCounter uint64
	inflight := map[uint64]uint64{} // verify: offset -> length of I/O in flight
	stopping := false
	// pastDeadline is updated once per reap, not per I/O: reading the
	// clock costs more than anything else the loop does per I/O.
	pastDeadline := false
	issue := func(r *engine.Request) bool {
		if stopping || pastDeadline || interrupted.Load() {
			return false
		}
		if !j.TimeBased && issued >= passBytes {
			return false
		}
		var io workloads.IO
		for tries := 0; ; tries++ {
			io = gen.Next()
			if ver == nil || tries > 64 || !overlaps(inflight, io) {
				break
			}
		}
		r.File, r.Offset, r.Write = w.f, io.Offset, io.Write
		r.Buf = r.Buf[:io.Length]
		if ver != nil {
			inflight[io.Offset] = io.Length
			if io.Write {
				genCounter++
				ver.Fill(r.Buf, io.Offset, genCounter)
			}
		}
		issued += io.Length
		return true
	}
	n := 0
	for i := range reqs {
		if !issue(&reqs[i]) {
			break
		}
		n++
	}
	for i := range n {
		if err := q.Submit(&reqs[i]); err != nil {
			w.err = err
			return
		}
	}
	done := make([]*engine.Request, 0, len(reqs))
	measuring := j.RampTime == 0
	measureStart := start
	for q.InFlight() > 0 {
		done, err = q.Reap(done[:0], 1)
		if err != nil {
			w.err = err
			return
		}
		now := time.Now()
		pastDeadline = !deadline.IsZero() && !now.Before(deadline)
		if !measuring && !now.Before(rampEnd) {
			measuring, measureStart = true, now
		}
		// fsync=n: one sync covers every write of the batch (group
		// commit), before any of them is reissued.
		if sy.wrote(done, &w.err) {
			w.errs[1]++
			stopping = true
		}
		for _, r := range done {
			d := 0
			if r.Write {
				d = 1
			}
			if ver != nil {
				delete(inflight, r.Offset)
			}
			switch {
			case r.Err != nil:
				w.errs[d]++
				if w.err == nil {
					w.err = r.Err
				}
				if w.errs[0]+w.errs[1] >= errLimit {
					stopping = true
				}
			case measuring:
				w.ios[d]++
				w.bytes[d] += uint64(r.N)
				w.lv.ios[d].Add(1)
				w.lv.bytes[d].Add(uint64(r.N))
				_ = w.hist[d].RecordValue(max(int64(r.Latency), 1))
			}
			if r.Err == nil && ver != nil && !r.Write {
				if _, err := ver.Check(r.Buf[:r.N], r.Offset); err != nil {
					if w.err == nil {
						w.err = err
					}
					stopping = true
				} else {
					w.verified += uint64(r.N)
				}
			}
			if issue(r) {
				if err := q.Submit(r); err != nil {
					w.err = err
					return
				}
			}
		}
	}
	if measuring {
		w.measured = time.Since(measureStart)
	}
	runtime.KeepAlive(reqs)
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
