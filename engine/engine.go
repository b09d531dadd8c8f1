package engine

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/mapcache"
)

// Engine resolves file ranges to device addresses through per-file extent
// caches and submits the device I/O through io_uring.
//
// All methods are safe for concurrent use. Files opened from an engine and
// Queues created from it must be closed (Queues) before Engine.Close.
type Engine struct {
	cfg     Config     // as given to New, defaults filled in; read-only
	devs    []devEntry // the device table; read-only after New
	align   uint32     // request alignment: the largest logical block size
	memAlgn uint32     // buffer address alignment
	arena   *arena     // buffers handed out by Buffer
	gapBuf  []byte     // where merged reads drop their gaps (Config.ReadGap)
	gapIdx  int32      // gapBuf's registered buffer for IORING_OP_READV_FIXED, or -1

	// epoch orders cache changes against I/O, and frees holds the space
	// waiting for in-flight I/O to drain (reclaim.go).
	epoch atomic.Uint64
	frees freeList
	// plainEpochs: the kernel has membarrier, so requests may publish
	// their epochs with plain stores until fenced is set, at the first
	// space freed (reclaim.go).
	plainEpochs bool
	fenced      atomic.Bool

	queuesMu sync.Mutex
	queues   []*Queue // guarded by queuesMu: every open queue, background or caller-owned
	queueIDs []bool   // guarded by queuesMu: the ids (Queue.id) open queues hold

	bg     []*Queue      // background queues; written by New and Close only
	direct directPool    // direct queues, lent to synchronous calls (direct.go)
	bgNext atomic.Uint32 // round-robin index into bg for send
	reqs   sync.Pool     // *Request for ReadAt and WriteAt

	closed   atomic.Bool
	submitMu sync.RWMutex // held shared while sending to background queues and for a direct call, exclusively to close
	closeMu  sync.Mutex   // serializes Close

	filesMu sync.Mutex
	files   map[string]*File // guarded by filesMu: the open files by name

	counters   counters               // the engine's statistics (stats.go)
	ringInfo   atomic.Pointer[string] // set-up of the first ring created, for reports
	baseNs     int64                  // nowNs counts from here, on its clock
	tsc        bool                   // the clock is the CPU's counter (clock.go: tscCur)
	usec       bool                   // the clock is gettimeofday's
	clockInfo  string                 // which clock, for reports (ClockInfo)
	clockSince int64                  // CLOCK_MONOTONIC's time the counter clock was chosen (tsc)

	// eagerDefault: Config.EagerSubmit was left 0, so queues that submit
	// early measure whether holding new I/O for the wait is faster
	// (Queue.batchCtl).
	eagerDefault bool

	filesRegistered bool // the device table is registered with every ring

	// trimAlign is the alignment of trims: the largest of the devices'
	// (trim.go).
	trimAlign uint32
}

// Config describes an engine. Mapper is required, and Devices for any
// I/O: an engine with no devices opens files and asks their mapper (what
// a mapper's tests need), and a request that reaches a device fails with
// ErrBadMapping naming the device. Everything else has a sensible
// default.
type Config struct {
	// Devices is the device table: a mapping's Dev indexes it. The engine
	// does not close the devices; the caller does, after Engine.Close.
	Devices []*device.Device
	// Mapper resolves file ranges on cache misses.
	Mapper Mapper
	// Queues is the number of background queues (one io_uring each, owned
	// by a goroutine locked to its OS thread) that serve Engine.Submit,
	// and File.ReadAt, File.WriteAt and the other synchronous calls that
	// find no direct queue free (DirectQueues). Default 1. Any number works with any
	// GOMAXPROCS: a queue woken by a request yields its P to the Go
	// scheduler at most once a millisecond, so that goroutines waiting
	// for a P run within milliseconds (see Queue.yieldAfterWake; without
	// it, 4 queues at GOMAXPROCS 2 left single ReadAt calls waiting 0.1 s
	// to 6.9 s; with it, the longest in TestBackgroundQueuesAtGOMAXPROCS
	// took 20-170 ms on a quiet 2-vCPU VM, where a reader's goroutine
	// waited behind about 100 deliveries to others, not thousands). More
	// queues than Ps ran no faster
	// there (4 KiB random reads by five goroutines from a loop device,
	// all through background queues: 30k-39k per second with 4 queues,
	// 42k-46k with 1). For many I/Os in flight from one goroutine, give
	// it a Queue of its own (Engine.NewQueue).
	Queues int
	// DirectQueues is the most direct queues the engine makes: queues
	// that File.ReadAt, File.WriteAt and the engine's other synchronous
	// calls borrow to run on the calling goroutine's thread, one call at
	// a time each, as pread does, with no hand-off to another goroutine
	// (see direct.go). They are made when first needed. A call that finds
	// them all busy goes to a background queue. 0 means four times
	// GOMAXPROCS at New; negative: none (every synchronous call through a
	// background queue). Unless it is negative, a custom NewRing must
	// give rings that any thread may enter when RingOptions.Shared asks.
	DirectQueues int
	// QueueDepth is the number of submission entries of every ring, and so
	// the most device I/Os one queue keeps in flight. Default 128.
	QueueDepth int
	// NoCache makes every request call the mapper and use its reply
	// without storing it (the cache-off baseline).
	NoCache bool
	// FixedBuffers registers the buffer arena with every ring and uses
	// READ_FIXED/WRITE_FIXED for buffers that come from it.
	FixedBuffers bool
	// RegisterFiles registers the device table with every ring.
	RegisterFiles bool
	// SQPoll and IOPoll ask for kernel submission polling and completion
	// polling (IOPoll needs devices with poll queues).
	SQPoll, IOPoll bool
	// SQPollCPU binds each ring's SQPoll thread to a CPU
	// (IORING_SETUP_SQ_AFF): the CPU's number plus one, so that 0, the
	// zero value, leaves the thread where the kernel puts it.
	SQPollCPU int
	// ArenaBytes is the size of the aligned buffer arena that Buffer hands
	// out from. Default 16 MiB.
	ArenaBytes int
	// EagerSubmit: while the kernel holds fewer than a threshold of a
	// queue's device I/Os, Queue.Submit hands new I/O to the kernel at
	// once rather than at the next Flush or Reap, so that a device low on
	// work does not idle while the caller prepares more; with more in the
	// kernel, new I/O goes in one call when the caller next waits. The
	// threshold starts at EagerSubmit and adapts: each wait that has to
	// sleep raises it (up to the queue depth, at most 64), each that
	// finds completions ready lowers it, never below EagerSubmit. 0 means
	// 16, half the queue depth for a queue of 16 to 31 entries, and only
	// at Flush and Reap for one of 4 to 15 (see defaultEagerMin), and a
	// queue of 16 or more entries then measures, as it runs, whether
	// holding new I/O for Flush and Reap is faster, and holds it while it
	// is (see Queue.submitEarly); negative: only at Flush and Reap. The
	// null ring never submits early (its I/O completes when submitted:
	// the caller gets on with more).
	EagerSubmit int
	// NoYield turns off the yield before a queue with yieldDepth (2) I/Os
	// in flight sleeps for a completion (see Queue.pump).
	NoYield bool
	// NoFollow keeps a queue's thread where the scheduler puts it; by
	// default a queue with few I/Os in flight moves its thread to the CPU
	// where its completions ran when its waits show they ran elsewhere,
	// while at most four such caller-owned queues are open in the
	// process (see follow.go).
	NoFollow bool
	// SplitSubmit makes a queue with one I/O in flight, the one it has
	// just queued, submit it and wait for it in two io_uring_enter calls,
	// as fio does, instead of one (see Queue.pumpJoined); without it, one
	// call while the queue is busy (it reaped a completion less than 5 µs
	// before), two after an idle stretch (joinedIdle). Deeper, new I/O
	// always goes in a call of its own before the wait (Queue.pump).
	SplitSubmit bool
	// SpinWait: before a queue with 2 or more I/Os in flight sleeps for a
	// completion, it may poll the ring (memory reads, no system call) and
	// take the completions that arrive meanwhile without sleeping (see
	// spin.go). 0, the default, polls for 20 µs only while measuring shows
	// that polling costs the queue's thread no more CPU time per I/O than
	// sleeping and makes it no slower, and only at a QueueDepth of 16 or
	// less (deeper, a queue
	// never polls and its ring leaves out what polling needs: see
	// spinAutoDepth); a positive SpinWait always polls that long (more I/O per
	// second where waking a sleeping CPU is slow, a VM, often for more CPU
	// time); negative never polls.
	SpinWait time.Duration
	// ReadGap lets a read that splits into several device I/Os read
	// through the gaps between them: consecutive pieces of one request
	// on one device, in ascending device order, with at most ReadGap
	// bytes between each and the next, go to the device as one vectored
	// read, and the gaps' bytes land in a scratch buffer and are dropped.
	// Where each I/O costs more than the bytes do (a loop device, whose
	// worker serves one I/O at a time, or a small-block NVMe load) a
	// fragmented file then reads as a contiguous one does; where
	// bandwidth is what runs out, the gaps' bytes cost it. Nothing but
	// reads is merged, nothing past the pieces' own ends is read, and a
	// merged read that fails or comes back short is done again piece by
	// piece. 0, the default, reads each piece alone; at most maxReadGap
	// (1 MiB).
	ReadGap int
	// ReadGapAuto, with ReadGap, reads through gaps only while that
	// measures faster: each queue compares, in probes of windows merging
	// and not as it runs, the wall time and its thread's CPU time per
	// request, and merges while merged reads finish requests faster by a
	// margin at no more CPU time (gapPays). Direct queues, which serve
	// the synchronous calls (File.ReadAt and the like) of any thread,
	// never merge then.
	ReadGapAuto bool
	// NoSubmitLatency leaves every request's SubmitLatency 0: the clock
	// is not read when its device I/O goes to the kernel, one reading
	// fewer per submission, and its latency is all completion latency.
	// For callers that report no submission latency, as fio's synchronous
	// engines do not: their I/O is one call from start to completion.
	NoSubmitLatency bool
	// NewRing creates rings; nil means io_uring (tests pass a fault ring).
	NewRing RingFactory
	// NoDeviceIO says that NewRing's rings do no device I/O (NewNullRing):
	// the devices are not asked how they discard, and trims are held to
	// the logical block only, not to a discard unit (fio's null engine
	// trims in any block size).
	NoDeviceIO bool
	// DiscardIoctl makes trims of block devices use the BLKDISCARD ioctl
	// even where io_uring has the block discard command (to compare the
	// two, and to test the fallback).
	DiscardIoctl bool
	// Clock is the clock I/O is timed with (fio's clocksource); the zero
	// value is ClockAuto, the CPU's counter where it is invariant. The
	// first engine of a process on the CPU's counter calibrates it, for
	// 20 ms.
	Clock ClockSource
}

// devEntry is one device of the table, with what the I/O path needs of it.
type devEntry struct {
	index    uint32 // position in the table: a mapping's Dev
	dev      *device.Device
	fd       int32
	path     string
	size     uint64
	lbs      uint32
	readOnly bool
	// How trims reach the device (trim.go), in units of trimAlign bytes
	// and at most trimMax bytes per operation.
	trim      TrimOp
	trimAlign uint32
	trimMax   uint64
}

// New creates an engine and starts its background queues.
func New(cfg Config) (*Engine, error) {
	if cfg.Mapper == nil {
		return nil, errors.New("engine: Config.Mapper is nil")
	}
	if cfg.Queues <= 0 {
		cfg.Queues = 1
	}
	if cfg.QueueDepth <= 0 {
		cfg.QueueDepth = 128
	}
	if cfg.DirectQueues == 0 {
		cfg.DirectQueues = 4 * runtime.GOMAXPROCS(0)
	}
	if cfg.ReadGap < 0 || cfg.ReadGap > maxReadGap {
		return nil, fmt.Errorf("engine: ReadGap %d: want 0 to %d bytes", cfg.ReadGap, maxReadGap)
	}
	if cfg.ReadGapAuto && cfg.ReadGap == 0 {
		return nil, fmt.Errorf("engine: ReadGapAuto needs ReadGap, the largest gap to read through")
	}
	if cfg.QueueDepth > 32768 {
		return nil, fmt.Errorf("engine: queue depth %d exceeds io_uring's 32768", cfg.QueueDepth)
	}
	if cfg.ArenaBytes <= 0 {
		cfg.ArenaBytes = 16 << 20
	}
	eagerDefault := cfg.EagerSubmit == 0
	if eagerDefault {
		cfg.EagerSubmit = defaultEagerMin(cfg.QueueDepth)
	}
	if cfg.NewRing == nil {
		cfg.NewRing = NewIOURing
	}
	e := &Engine{cfg: cfg, align: 512, memAlgn: 512, files: make(map[string]*File), eagerDefault: eagerDefault}
	if e.plainEpochs = registerMembarrier(); !e.plainEpochs {
		e.fenced.Store(true)
	}
	if err := e.setClock(cfg.Clock); err != nil {
		return nil, err
	}
	if len(cfg.Devices) > math.MaxInt32 {
		return nil, errors.New("engine: too many devices")
	}
	for i, d := range cfg.Devices {
		if d == nil {
			return nil, fmt.Errorf("engine: device %d is nil", i)
		}
		if d.Closed() {
			return nil, fmt.Errorf("engine: device %d (%s) is closed", i, d.Path())
		}
		g := d.Geometry()
		de := devEntry{index: uint32(i), dev: d, fd: int32(d.Fd()), path: d.Path(), size: g.SizeBytes,
			lbs: g.LogicalBlockSize, readOnly: d.ReadOnly()}
		if de.lbs == 0 {
			de.lbs = 512
		}
		e.align = max(e.align, de.lbs, g.DIOOffsetAlign)
		e.memAlgn = max(e.memAlgn, g.DIOMemAlign)
		e.devs = append(e.devs, de)
	}
	e.setupTrim()
	a, err := newArena(cfg.ArenaBytes, int(max(e.memAlgn, 4096)))
	if err != nil {
		return nil, err
	}
	e.arena = a
	if cfg.ReadGap > 0 {
		// The gaps of every merged read land here, at once: nothing
		// reads it.
		if e.gapBuf = a.get((cfg.ReadGap + 4095) &^ 4095); e.gapBuf == nil {
			_ = a.close()
			return nil, fmt.Errorf("engine: no room in the buffer arena for ReadGap's %d bytes", cfg.ReadGap)
		}
		e.gapIdx = -1
		if cfg.FixedBuffers && !cfg.NoDeviceIO && probeReadvFixed() {
			e.gapIdx = a.index(e.gapBuf)
		}
	}
	e.reqs.New = func() any { return &Request{sync: make(chan *Request, 1)} }
	e.direct.limit = max(cfg.DirectQueues, 0)
	e.filesRegistered = cfg.RegisterFiles && len(e.devs) > 0

	// Start the background queues; each creates its ring on its own
	// locked thread and reports whether that worked.
	for i := 0; i < cfg.Queues; i++ {
		q, err := e.startBackground()
		if err != nil {
			_ = e.Close()
			return nil, err
		}
		e.bg = append(e.bg, q)
	}
	return e, nil
}

// Close stops the background queues after every request handed to them
// has completed, waits for the synchronous calls in progress and closes
// the direct queues, and releases the buffer arena. It fails with an error,
// changing nothing, while caller-owned Queues are still open. Close is
// idempotent.
func (e *Engine) Close() error {
	e.closeMu.Lock()
	defer e.closeMu.Unlock()
	e.queuesMu.Lock()
	owned := 0
	for _, q := range e.queues {
		if !q.background && !q.direct {
			owned++
		}
	}
	e.queuesMu.Unlock()
	if owned > 0 {
		return fmt.Errorf("engine: close: %d caller-owned queues are still open; close them first", owned)
	}
	e.submitMu.Lock()
	already := e.closed.Swap(true)
	e.submitMu.Unlock()
	if already {
		return nil
	}
	var errs []error
	for _, q := range e.bg {
		errs = append(errs, q.stopBackground())
	}
	e.bg = nil
	errs = append(errs, e.closeDirectQueues())
	e.reclaim(true)
	e.filesMu.Lock()
	files := make([]*File, 0, len(e.files))
	for _, f := range e.files {
		files = append(files, f)
	}
	e.filesMu.Unlock()
	for _, f := range files {
		errs = append(errs, f.Close())
	}
	if e.arena != nil {
		errs = append(errs, e.arena.close())
	}
	return errors.Join(errs...)
}

// Buffer returns an aligned buffer of n bytes from the engine's arena
// (memory outside the Go heap, registered as fixed buffers when
// Config.FixedBuffers is set). It returns nil when the arena is exhausted
// or the engine is closed. Give it back with PutBuffer; a buffer still out
// when the engine closes stays valid until it is put back.
func (e *Engine) Buffer(n int) []byte { return e.arena.get(n) }

// PutBuffer returns a buffer obtained from Buffer. The buffer must not be in
// use by a request. Putting a buffer back twice panics.
func (e *Engine) PutBuffer(b []byte) { e.arena.put(b) }

// Alignment returns the alignment every request's offset and length must
// have (the largest logical block size of the devices) and the alignment of
// buffer addresses.
func (e *Engine) Alignment() (offset, memory uint32) { return e.align, e.memAlgn }

// DeviceSize returns the size in bytes of device dev, or 0 if there is no
// such device.
func (e *Engine) DeviceSize(dev uint32) uint64 {
	if int(dev) >= len(e.devs) {
		return 0
	}
	return e.devs[dev].size
}

// DeviceBlockSize returns the logical block size of device dev, or 0.
func (e *Engine) DeviceBlockSize(dev uint32) uint32 {
	if int(dev) >= len(e.devs) {
		return 0
	}
	return e.devs[dev].lbs
}

// Mapper returns the engine's mapper.
func (e *Engine) Mapper() Mapper { return e.cfg.Mapper }

// Devices returns the number of devices in the device table.
func (e *Engine) Devices() int { return len(e.devs) }

// RingInfo describes the io_uring set-up in force (flags and features,
// and what is registered: "registered=files,buffers"), as reported by the
// first ring created.
func (e *Engine) RingInfo() string {
	if p := e.ringInfo.Load(); p != nil {
		return *p
	}
	return ""
}

// FileOptions describe a file being opened.
type FileOptions struct {
	// Size is the file size in bytes; a mapper implementing Opener may
	// set it instead.
	Size uint64
	// BlockSize is the cache's block size; default 4096, or the request
	// alignment when that is larger. It must be a power of two and a
	// multiple of the request alignment (Engine.Alignment).
	BlockSize uint32
}

// Open opens the file name, calling the mapper's OpenFile when it has one.
// Opening a name that is open already returns the same File.
func (e *Engine) Open(name string, opts FileOptions) (*File, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	if opts.BlockSize == 0 {
		opts.BlockSize = max(4096, e.align)
	}
	if opts.BlockSize&(opts.BlockSize-1) != 0 {
		return nil, fmt.Errorf("engine: open %s: block size %d is not a power of two", name, opts.BlockSize)
	}
	if opts.BlockSize%e.align != 0 {
		return nil, fmt.Errorf("engine: open %s: block size %d is not a multiple of the request alignment, %d", name, opts.BlockSize, e.align)
	}
	e.filesMu.Lock()
	defer e.filesMu.Unlock()
	if f, ok := e.files[name]; ok {
		return f, nil
	}
	f := &File{eng: e, name: name, bs: opts.BlockSize, cache: mapcache.New(opts.BlockSize)}
	f.size.Store(opts.Size)
	if o, ok := e.cfg.Mapper.(Opener); ok {
		size, err := o.OpenFile(f)
		if err != nil {
			return nil, fmt.Errorf("engine: open %s: %w", name, err)
		}
		if size != 0 {
			f.size.Store(size)
		}
	}
	e.files[name] = f
	return f, nil
}

func (e *Engine) getRequest() *Request { return e.reqs.Get().(*Request) }

func (e *Engine) putRequest(r *Request) {
	sync := r.sync
	*r = Request{sync: sync}
	e.reqs.Put(r)
}

// Stats returns the engine's counters, summed over all files.
func (e *Engine) Stats() Stats {
	s := e.counters.snapshot()
	e.filesMu.Lock()
	for _, f := range e.files {
		s.addCache(f.cache)
	}
	e.filesMu.Unlock()
	s.ClockSteps, s.ClockStepMax = e.clockSteps()
	return s
}

// Clock returns the time on the engine's clock (Config.Clock) since New,
// on which Queue.LastReap is taken.
func (e *Engine) Clock() time.Duration { return time.Duration(e.nowNs()) }

// nowNs is Clock in ns, read twice per I/O at depth 1.
func (e *Engine) nowNs() int64 {
	switch {
	case e.tsc:
		return tscCur.Load().now() - e.baseNs
	case e.usec:
		return gtodNs() - e.baseNs
	}
	return nanotime() - e.baseNs
}

// registerWith registers the device table and the buffer arena with ring,
// as the configuration asks.
func (e *Engine) registerWith(ring Ring) error {
	if e.filesRegistered {
		fds := make([]int32, len(e.devs))
		for i, d := range e.devs {
			fds[i] = d.fd
		}
		if err := ring.RegisterFiles(fds); err != nil {
			return fmt.Errorf("engine: register %d device files: %w", len(fds), err)
		}
	}
	if e.cfg.FixedBuffers {
		if err := ring.RegisterBuffers(e.arena.regions()); err != nil {
			return fmt.Errorf("engine: register buffer arena as fixed buffers: %w", err)
		}
	}
	return nil
}

func (e *Engine) register(q *Queue) {
	if q.follow != nil && !q.background {
		followers.Add(1)
	}
	e.queuesMu.Lock()
	e.queues = append(e.queues, q)
	q.id = len(e.queueIDs)
	for i, used := range e.queueIDs {
		if !used {
			q.id = i
			break
		}
	}
	if q.id == len(e.queueIDs) {
		e.queueIDs = append(e.queueIDs, false)
	}
	e.queueIDs[q.id] = true
	e.queuesMu.Unlock()
}

func (e *Engine) unregister(q *Queue) {
	q.flushTally() // the id's shards pass to the next queue that takes it
	e.queuesMu.Lock()
	for i, x := range e.queues {
		if x == q {
			e.queues = append(e.queues[:i], e.queues[i+1:]...)
			e.queueIDs[q.id] = false
			break
		}
	}
	e.queuesMu.Unlock()
	if q.follow != nil && !q.background {
		followers.Add(-1)
	}
	e.reclaim(false)
}
