package engine

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/iobench/iobench/mapcache"
	"golang.org/x/sys/unix"
)

// The life of a request, file by file, in the order a reader follows it:
//
//	queue.go     a request reaches a queue: Queue.Submit, or Engine.Submit
//	             through a background queue; start registers its epoch
//	             and resolves it
//	direct.go    File.ReadAt and File.WriteAt borrow a direct queue and
//	             run on the caller's thread (a background queue when none
//	             is free)
//	resolve.go   the file range becomes device pieces: cache lookups,
//	             mapper calls, reply validation; nothing is issued yet
//	ringloop.go  pieces take ring slots and go to the kernel; the loop
//	             submits, waits and collects completions
//	complete.go  a completion finishes its piece: short transfers continue,
//	             errors fail the request, a write's ioend commits or drops
//	             the write fork; finished requests are delivered
//	reclaim.go   space freed by out-of-place writes goes back to the mapper
//	             once no in-flight I/O can target it

// A Queue is one io_uring and the state of the requests it carries. It is
// owned by one goroutine, locked to its OS thread for the ring's lifetime
// (the ring is set up single-issuer where the kernel allows).
//
// Engines lend direct queues to File.ReadAt, File.WriteAt and their other
// synchronous calls, one call at a time, on the caller's thread
// (direct.go), and run background queues that serve Engine.Submit and the
// calls that find no direct queue free. Engine.NewQueue gives a caller
// its own queue: the fastest path for high queue depths, with no
// goroutine hand-off per request. A caller-owned queue is not safe for
// concurrent use.
//
// Every field is owned by the queue's goroutine (a direct queue's: the
// goroutine it is lent to) unless its note says otherwise.
type Queue struct {
	eng        *Engine
	ring       Ring // nil once closed
	background bool
	direct     bool // one of the engine's direct queues (direct.go)
	depth      int  // ring entries: the most device I/Os in flight
	cached     bool // !Config.NoCache: resolve through the extent cache
	noFast     bool // tests: every request takes the general path (issueFast)
	fastIssued int  // invariant builds: requests issueFast took
	tscPumps   int  // pumps since the last checkTSC (Engine.tsc)
	// memo is the read mapping the queue last took from the cache, whole,
	// with its file and the cache's sequence then (readMapping).
	memo struct {
		f   *File
		seq uint64
		m   mapcache.Mapping
	}
	// noWrite is the file whose cache last answered the queue NoFork for
	// its write fork, and the cache's sequence then: creating the fork
	// moves the sequence, so while it holds the answer stands
	// (lookupWriteFork).
	noWrite struct {
		f   *File
		seq uint64
	}
	// stash is a cache answer issueFast got for the request it left to
	// resolve, which then takes it instead of looking up again.
	stash cacheAnswer
	// eager is the threshold of early submission, which moves between
	// eagerMin (Config.EagerSubmit; 0 for the null ring: never early) and
	// eagerMax; yield is !Config.NoYield (ringloop.go).
	eager, eagerMin, eagerMax int
	yield                     bool
	// joined: a wait for the one I/O in flight, queued since the last
	// call, submits it in the same call (pumpJoined); false with
	// Config.SplitSubmit, SQPoll and IOPoll, and for the null ring;
	// and only while the queue is busy: its latest completion was reaped
	// less than joinedIdle before (doneNs, the clock of that reap; 0
	// before the first).
	joined bool
	doneNs int64
	// follow moves the queue's thread after the waits that show its
	// completions ran on the other CPU (follow.go); nil: never
	// (Config.NoFollow, the null ring, rings other than io_uring).
	follow *follower
	// moves counts the thread's moves not yet added to the engine's
	// counters (flushTally), and calls a direct queue's calls.
	moves, calls uint64
	// spinner is the ring to poll before a wait sleeps, for up to spinNs
	// (Config.SpinWait); nil: never spin. spins and spinHits count the
	// polls and those that found a completion, not yet added to the
	// engine's counters (flushTally).
	spinner PendingRing
	// posted is the ring, when it can reap without posting (PostedReaper):
	// a pump about to wait reaps so (reapPosted).
	posted          PostedReaper
	spinNs          int64
	spinCtl         *probeCtl // measures whether to poll (SpinWait 0); nil: always
	spinAny         bool      // poll at any depth (SQPoll), not only above spinAbove
	spins, spinHits uint64
	// batchCtl measures whether the queue runs faster holding new I/O
	// for its next wait than submitting it early (submitEarly); nil:
	// early submission as Config.EagerSubmit says.
	batchCtl *probeCtl
	// gapCtl measures whether reading through gaps is faster
	// (Config.ReadGapAuto; gapread.go), made at the first read it could
	// merge; nil: as Config.ReadGap says. gapAuto: ReadGapAuto on a
	// queue that can measure. finishedN counts the requests finished,
	// gapFedN those gapCtl was told of (probed).
	gapCtl             *probeCtl
	gapAuto            bool
	finishedN, gapFedN uint64

	// slots[i] is the device I/O in flight with user data i; freeSlot
	// lists the free indexes. depth == len(freeSlot) + I/Os in flight.
	slots    []piece
	freeSlot []uint32
	// backlog[bhead:] are pieces resolved but not yet given a slot, in
	// submission order (continuations of short transfers go first); the
	// request being resolved appends its pieces (start).
	backlog []piece
	bhead   int
	// unsubmitted counts operations queued on the ring since the last
	// Submit: the kernel has not seen them yet.
	unsubmitted int
	// enters counts io_uring_enter calls not yet added to the engine's
	// counters (flushTally).
	enters uint64
	// reapNs is the clock reading shared by the completions being
	// processed (ringloop.go), 0 outside a reap; lastReapNs is the latest
	// the current or last ReapBatch took (LastReap), 0 if it took none.
	reapNs, lastReapNs int64
	// mappedNs is the clock reading callMapper took when the mapper
	// returned (0: no call since Submit cleared it).
	mappedNs int64

	// Scratch space reused by every request, so that the I/O path does
	// not allocate: completions, mapper replies, freed space, the
	// mapper's request and ioend, the ring operation being built.
	cqes    []Completion
	replies []mapcache.Mapping
	frees   []mapcache.Mapping
	mreq    MapRequest
	wend    WriteEnd
	op      Op
	// gaps holds each slot's merged read (gapread.go), made at the
	// first one.
	gaps []gapRead

	finished []*Request // completed, waiting for delivery
	unsent   []*Request // first device I/O queued on the ring, not yet entered
	ready    []*Request // caller-owned queues: delivered, waiting for Reap

	// epochs are the engine epochs of the requests in flight; its oldest
	// field is read by other goroutines (reclaim.go). plainUsed, read by
	// them too, is 1 once the queue published an epoch with a plain store
	// (wentPlain), fenceAck once it publishes with barriers (sawFenced:
	// it saw Engine.fenced).
	epochs    inflight
	plainUsed uint64
	fenceAck  uint64
	wentPlain bool
	sawFenced bool
	// requests counts requests started and not yet finished: each holds
	// pending > 0 until its last piece completes. single counts those of
	// them with pending == 1, which one completion can finish.
	requests int
	single   int

	// tally is what the queue counted for tallyFile and has not yet added
	// to the engine's and the file's counters (stats.go).
	tally tally
	// tallyDirty has a bit set for every counter of tally that is not 0.
	tallyDirty uint32
	tallyFile  *File
	// id is the queue's number among the engine's open queues, which
	// picks its shard of each set of counters (stats.go): engShard of
	// the engine's, fileShard of fileShardOf's, looked up on first need.
	id          int
	engShard    *shard
	fileShard   *shard
	fileShardOf *File

	// Background queues only: requests arrive on in; the serving
	// goroutine reports its exit on stopped; yieldedNs is the clock
	// reading of its last yield to the Go scheduler (serve).
	in        chan *Request
	stopped   chan error
	yieldedNs int64
	// tid is the thread the serving goroutine is locked to, and overflow
	// what that goroutine's own Callbacks submitted with Engine.Submit
	// while a channel was full (send): the goroutine that empties the
	// channels must not wait for room in one. Only it touches overflow.
	tid      int
	overflow []*Request
}

// piece is one device I/O of a request: a file range, the buffer part it
// uses and the device range it targets.
type piece struct {
	req     *Request
	fileOff uint64
	bufOff  int
	length  int
	dev     uint32
	addr    uint64
	done    int   // bytes already transferred (short transfers)
	retries uint8 // EAGAIN retries
	parts   uint8 // a merged read of this many pieces (gapread.go); 0: one piece
	solo    bool  // never merged (gapread.go): a merged read of it failed
	oop     bool  // out-of-place write: commit the write fork at the end
	unwrit  bool  // in-place write over an Unwritten extent
	m       mapcache.Mapping
	startNs int64    // writes: when the device write was queued
	raw     rawPiece // device requests (sync.go): flush, link, chain
}

// maxPiece bounds one device I/O (io_uring lengths are 32-bit).
const maxPiece = 1 << 30

// maxAgain bounds the EAGAIN retries of one device I/O.
const maxAgain = 8

// queueKind says whose a queue is.
type queueKind uint8

const (
	ownedQueue      queueKind = iota // Engine.NewQueue: the caller's
	backgroundQueue                  // serves Engine.Submit (and calls beyond the direct queues)
	directQueue                      // lent to one synchronous call at a time (direct.go)
)

func (e *Engine) newQueue(kind queueKind) (*Queue, error) {
	q := &Queue{eng: e, background: kind == backgroundQueue, direct: kind == directQueue,
		depth: e.cfg.QueueDepth, cached: !e.cfg.NoCache}
	// A direct queue serves one call, on whatever thread makes it: it
	// neither polls (what pays is measured per thread), nor yields, nor
	// moves the thread.
	spinAutoOK := !q.direct && e.cfg.SpinWait == 0 && q.depth <= spinAutoDepth && threadCPU() > 0
	// With a kernel thread polling the submission queue (SQPoll), the
	// queue may poll its completions too, at any depth, as fio's io_uring
	// engine does with sqthread_poll, unless SpinWait says never: the
	// polling thread posts them without a system call of the queue's,
	// and a sleep costs a wake-up per I/O. With SpinWait 0 it polls while
	// that measures no slower and no costlier per I/O (spinCtl).
	sqPolled := !q.direct && e.cfg.SQPoll && e.cfg.SpinWait >= 0
	polled := !q.direct && e.cfg.SpinWait > 0 || spinAutoOK || sqPolled
	ring, err := e.cfg.NewRing(RingOptions{
		// A direct queue carries one call at a time: a kernel thread
		// polling its ring (SQPoll) would only add a thread per queue.
		Entries: uint32(q.depth), SQPoll: e.cfg.SQPoll && !q.direct, SQPollCPU: e.cfg.SQPollCPU, IOPoll: e.cfg.IOPoll, Polled: polled,
		Background: q.background, Shared: q.direct,
	})
	if err != nil {
		return nil, err
	}
	q.ring = ring
	q.eagerMin, q.yield = max(e.cfg.EagerSubmit, 0), !e.cfg.NoYield && !q.direct
	u, isUring := ring.(*iouring)
	_, null := ring.(*nullRing)
	nop := isUring && u.nop
	if null || nop || q.direct {
		// A direct queue's call submits when it waits (pumpDirect).
		q.eagerMin = 0
	}
	if isUring && !nop && !e.cfg.NoFollow && !q.direct {
		q.follow = &follower{move: moveToOtherCPU}
	}
	q.joined = isUring && !nop && !q.direct && !e.cfg.SQPoll && !e.cfg.IOPoll && !e.cfg.SplitSubmit
	q.eager, q.eagerMax = q.eagerMin, max(q.eagerMin, min(q.depth, eagerCap))
	if isUring && !nop && q.eagerMin > 0 && q.depth >= batchDepth && e.eagerDefault && threadCPU() > 0 {
		q.batchCtl = newBatchCtl(threadCPU, nanotime)
	}
	q.gapAuto = e.cfg.ReadGapAuto && !q.direct && threadCPU() > 0
	if p, ok := ring.(PostedReaper); ok {
		q.posted = p
	}
	if p, ok := ring.(PendingRing); ok && polled && !null && !nop {
		// The null ring's I/O completes when submitted, a NOP within
		// the call that submits it: nothing to poll for.
		switch {
		case sqPolled:
			q.spinner, q.spinNs, q.spinAny = p, max(sqPollSpin, e.cfg.SpinWait.Nanoseconds()), true
			if e.cfg.SpinWait == 0 && threadCPU() > 0 {
				// Measured, as SpinWait 0 polls: where the device
				// needs the CPU the job would poll on (a loop
				// device's worker), sleeping runs faster.
				q.spinCtl = newSpinCtl(threadCPU, nanotime)
			}
		case e.cfg.SpinWait > 0:
			q.spinner, q.spinNs = p, e.cfg.SpinWait.Nanoseconds()
		case spinAutoOK:
			q.spinner, q.spinNs, q.spinCtl = p, spinAuto, newSpinCtl(threadCPU, nanotime)
		}
	}
	if err := e.registerWith(ring); err != nil {
		_ = ring.Close()
		return nil, err
	}
	// The null ring takes files and buffers and does nothing with them:
	// nothing is registered to report.
	info := ring.Info()
	switch {
	case null:
	case e.filesRegistered && e.cfg.FixedBuffers:
		info += " registered=files,buffers"
	case e.filesRegistered:
		info += " registered=files"
	case e.cfg.FixedBuffers:
		info += " registered=buffers"
	}
	e.ringInfo.CompareAndSwap(nil, &info)
	q.slots = make([]piece, q.depth)
	q.freeSlot = make([]uint32, q.depth)
	for i := range q.freeSlot {
		q.freeSlot[i] = uint32(q.depth - 1 - i)
	}
	q.cqes = make([]Completion, 2*q.depth)
	q.epochs.init()
	if e.fenced.Load() {
		q.sawFenced, q.fenceAck = true, 1
	}
	e.register(q)
	return q, nil
}

// NewQueue creates a queue owned by the calling goroutine, which it locks to
// its OS thread until Close. Requests submitted to it complete in Reap, but for
// those that set Done or Callback, which are delivered there.
func (e *Engine) NewQueue() (*Queue, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	runtime.LockOSThread()
	q, err := e.newQueue(ownedQueue)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	return q, nil
}

// InFlight returns the number of requests submitted and not yet returned.
func (q *Queue) InFlight() int { return q.requests + len(q.ready) }

// Depth returns the number of device I/Os the queue can keep in flight.
func (q *Queue) Depth() int { return q.depth }

// Submit resolves each request through the cache (calling the mapper on
// misses) and queues its device I/O on the ring. The kernel sees the I/O at
// once while it holds fewer than Config.EagerSubmit of the queue's I/Os,
// otherwise at the next Flush or Reap. A request that fails before any I/O
// completes at once (returned by the next Reap with its Err set); Submit
// itself fails for a closed queue (ErrClosed), a nil request and one in
// flight already (ErrInFlight).
func (q *Queue) Submit(reqs ...*Request) error {
	if q.ring == nil {
		return errQueueClosed
	}
	if slices.Contains(reqs, nil) {
		return errors.New("engine: Queue.Submit: nil request")
	}
	for i, r := range reqs {
		if r.busy || atomic.LoadUint32(&r.sent) != 0 {
			for _, s := range reqs[:i] {
				s.busy = false
			}
			return fmt.Errorf("engine: Queue.Submit: %s: %w", r.describe(), ErrInFlight)
		}
		r.busy = true
	}
	// One clock reading stamps the requests' start, taken again after an
	// early submission's system call or a mapper call (callMapper's own
	// reading): a request's latency starts before its resolution, and
	// includes no other request's waits.
	now := q.eng.nowNs()
	for _, r := range reqs {
		q.begin(r, now)
		if !q.issueFast(r, now) {
			now = q.resolveAndFill(r, now)
		}
		// (default.pgo inlines submitEarly at this call's line offset
		// in Submit: moving it costs a call per request.)
		if entered, stamp := q.submitEarly(); entered {
			if now = stamp; now == 0 {
				now = q.eng.nowNs()
			}
		}
	}
	if len(q.finished) > 0 {
		// Requests that finished without device I/O. The others' counts
		// wait in the tally for the next delivery: flushing it costs an
		// atomic add per counter (a tenth of the engine's own time per
		// I/O over NOPs when it was done here for every Submit).
		q.deliver()
	}
	return nil
}

// resolveAndFill resolves r, which begin took at now, and gives the
// backlog slots. It returns the clock reading to go on with: now, or the
// one a mapper call took (callMapper's), from which the writes' device
// time then starts.
func (q *Queue) resolveAndFill(r *Request, now int64) int64 {
	q.mappedNs = 0
	q.resolveLeft(r)
	if q.mappedNs != 0 {
		now = q.mappedNs
	}
	q.fill(now)
	return now
}

// Flush hands the queued I/O to the kernel without waiting.
func (q *Queue) Flush() error {
	if q.ring == nil {
		return errQueueClosed
	}
	return q.pump(0, 0)
}

// Reap appends completed requests to dst, waiting until at least min are
// available (or none are in flight), and returns dst.
func (q *Queue) Reap(dst []*Request, min int) ([]*Request, error) {
	return q.ReapBatch(dst, min, 0)
}

// ReapBatch is Reap returning at most max requests (max <= 0: all that are
// ready); the rest stay for the next call. With min and max it follows
// fio's iodepth_batch_complete_min and iodepth_batch_complete_max.
func (q *Queue) ReapBatch(dst []*Request, min, max int) ([]*Request, error) {
	return q.reapBatch(dst, min, max, -1)
}

// ReapBatchWithin is ReapBatch that waits at most timeout for min
// requests to be ready: when it runs out it returns those that are, perhaps
// none. A timeout of 0 looks without waiting. It lets a caller that has
// work due at a time of its own (I/O paced to a rate) wait for
// completions until then.
func (q *Queue) ReapBatchWithin(dst []*Request, min, max int, timeout time.Duration) ([]*Request, error) {
	if timeout < 0 {
		timeout = 0
	}
	return q.reapBatch(dst, min, max, timeout)
}

// reapBatch is ReapBatch waiting at most timeout (-1: without limit).
func (q *Queue) reapBatch(dst []*Request, min, max int, timeout time.Duration) ([]*Request, error) {
	if q.ring == nil {
		return dst, errQueueClosed
	}
	q.lastReapNs = 0
	var deadline int64
	if timeout >= 0 {
		deadline = q.eng.nowNs() + int64(timeout)
	}
	for first := true; len(q.ready) < min && q.requests > 0; first = false {
		var wait time.Duration // 0: without limit
		if timeout >= 0 {
			left := int64(timeout) // the first wait: no second clock read
			if !first {
				left = deadline - q.eng.nowNs()
			}
			if left <= 0 {
				break
			}
			wait = time.Duration(left)
		}
		if err := q.pump(q.completionsFor(min-len(q.ready)), wait); err != nil {
			return dst, err
		}
	}
	if len(q.ready) == 0 && q.inflightIOs()+q.backlogLen() > 0 {
		// Nothing wanted yet, but give the kernel what is queued.
		if err := q.pump(0, 0); err != nil {
			return dst, err
		}
	}
	n := len(q.ready)
	if max > 0 && n > max {
		n = max
	}
	// One pass for the few requests of a reap: bulk copies and clears
	// cost more per call than they save.
	for i, r := range q.ready[:n] {
		r.busy = false
		dst = append(dst, r)
		q.ready[i] = nil
	}
	if n == len(q.ready) {
		q.ready = q.ready[:0]
		return dst, nil
	}
	rest := copy(q.ready, q.ready[n:])
	clear(q.ready[rest:])
	q.ready = q.ready[:rest]
	return dst, nil
}

// LastReap returns when the last Reap or ReapBatch found completions in
// the ring, on the engine's clock (Engine.Clock): the reading their
// latencies end at, taken after that call's system call. It reports
// false when the call found none there (it returned only requests an
// earlier call found, or nothing); the caller then reads the clock.
func (q *Queue) LastReap() (time.Duration, bool) {
	return time.Duration(q.lastReapNs), q.lastReapNs != 0
}

// Close waits for the queue's requests to complete (they are dropped from
// Reap), releases the ring and unlocks the goroutine from its thread.
func (q *Queue) Close() error {
	if q.ring == nil || q.background {
		return nil
	}
	err := q.drain()
	for _, r := range q.ready {
		r.busy = false // dropped: the caller may submit it elsewhere
	}
	clear(q.ready)
	q.ready = q.ready[:0]
	err = errors.Join(err, q.ring.Close())
	q.ring = nil
	q.eng.unregister(q)
	runtime.UnlockOSThread()
	return err
}

// drain completes everything in flight.
func (q *Queue) drain() error {
	for q.requests > 0 {
		if err := q.pump(1, 100*time.Millisecond); err != nil {
			// A ring that cannot submit cannot complete what is queued:
			// fail the backlog so that nothing waits forever.
			q.failBacklog(err)
			if q.inflightIOs() > 0 {
				continue
			}
			return err
		}
	}
	return nil
}

// completionsFor returns how many completions to wait for so that n more
// requests may be ready: n, unless n is 1 and every request has several
// pieces outstanding, all of them on the ring, where it is the fewest any
// request has. A request split into eight device I/Os is then waited for
// in one sleep rather than eight (fewer completions cannot finish any
// request, so the wait never outlasts the first one ready). With pieces
// waiting for slots it stays n: each completion lets one of them start.
func (q *Queue) completionsFor(n int) int {
	if n != 1 || q.single > 0 || q.backlogLen() > 0 {
		return n
	}
	fewest := 0
	for i := range q.slots {
		if q.slots[i].parts > 0 {
			return 1 // a merged read finishes several pieces at once
		}
		if r := q.slots[i].req; r != nil && (fewest == 0 || r.pending < fewest) {
			fewest = r.pending
		}
	}
	return max(fewest, 1)
}

func (q *Queue) inflightIOs() int { return q.depth - len(q.freeSlot) }
func (q *Queue) backlogLen() int  { return len(q.backlog) - q.bhead }

// start takes a new request: it registers the request's epoch before
// anything is looked up (reclaim.go says why), resolves it into pieces
// (resolve.go) and puts them on the backlog, from which the ring loop
// (ringloop.go) gives them slots. A request that finishes without device
// I/O (an error, zeros, inline data) goes straight to q.finished.
func (q *Queue) start(r *Request, now int64) {
	q.begin(r, now)
	q.resolveStarted(r)
}

// begin is the first half of start: it takes r into the queue, with one
// pending unit (the guard resolveStarted releases), and registers its
// epoch.
func (q *Queue) begin(r *Request, now int64) {
	r.reset()
	r.q = q
	r.startNs = now
	q.requests++
	r.pending = 1 // guard: released at the end of resolveStarted
	q.single++
	r.epoch = q.eng.epoch.Load()
	q.enterEpoch(r.epoch)
}

// resolveStarted is the second half of start: it resolves r, which begin
// took, onto the backlog, or finishes it.
func (q *Queue) resolveStarted(r *Request) {
	e := q.eng
	base := len(q.backlog) // r's pieces are appended after it
	if err := q.resolve(r); err != nil {
		r.fail(err)
	}
	if r.Err == nil && len(r.Buf) > 0 && (e.arena == nil || e.arena.index(r.Buf) < 0) {
		// A Go heap buffer must not move while the kernel uses it.
		// Arena memory is outside the heap: pinning it would do
		// nothing, at a cost the engine's own time per I/O showed.
		r.pinner.Pin(&r.Buf[0])
		r.pinned = true
	}
	if r.Err != nil {
		clear(q.backlog[base:])
		q.backlog = q.backlog[:base]
		q.pieceDone(r)
		return
	}
	if n := len(q.backlog) - base; n > 0 {
		if n > 1 {
			q.count(r.File, cSplits, 1)
		}
		r.pending += n
		q.single--
	}
	q.pieceDone(r)
}

// Background queues serve requests from any goroutine: File.ReadAt,
// File.WriteAt and Engine.Submit send them over a channel to the queue's
// goroutine, which owns the ring.

// idleWait bounds how long a busy background queue waits in the kernel for
// a completion before it looks at its channel again.
const idleWait = 200 * time.Microsecond

// Submit hands a request to one of the background queues and returns at
// once; the request completes asynchronously and is delivered through its
// Callback or Done (one of which must be set). Any goroutine may call it.
// The request must not be touched until it completes.
func (e *Engine) Submit(r *Request) error {
	if r == nil {
		return errors.New("engine: Submit: nil request")
	}
	if r.Callback == nil && r.Done == nil {
		return errors.New("engine: Submit: request has neither Callback nor Done")
	}
	return e.send(r)
}

// send hands r to a background queue.
func (e *Engine) send(r *Request) error {
	if !atomic.CompareAndSwapUint32(&r.sent, 0, 1) {
		return fmt.Errorf("engine: Submit: %s: %w", r.describe(), ErrInFlight)
	}
	e.submitMu.RLock()
	defer e.submitMu.RUnlock()
	if e.closed.Load() {
		atomic.StoreUint32(&r.sent, 0)
		return ErrClosed
	}
	q := e.bg[int(e.bgNext.Add(1)-1)%len(e.bg)]
	select {
	case q.in <- r:
		return nil
	default:
	}
	// The channel is full. A Callback submitting runs on a background
	// queue's goroutine, which must not wait for room: it, or another
	// queue's goroutine waiting the same way on its channel, is what
	// would make the room. Its own queue takes the request once the
	// callbacks have run.
	tid := unix.Gettid()
	for _, own := range e.bg {
		if own.tid == tid {
			own.overflow = append(own.overflow, r)
			return nil
		}
	}
	q.in <- r
	return nil
}

// do runs r synchronously: on a direct queue, on the calling goroutine's
// thread, or on a background queue when none is free (direct.go).
func (e *Engine) do(r *Request) (int, error) {
	if n, err, ok := e.doDirect(r); ok {
		return n, err
	}
	e.counters.handedOff.Add(1)
	if err := e.send(r); err != nil {
		return 0, err
	}
	<-r.sync
	return r.N, r.Err
}

func (e *Engine) startBackground() (*Queue, error) {
	ready := make(chan error, 1)
	var q *Queue
	stopped := make(chan error, 1)
	in := make(chan *Request, e.cfg.QueueDepth)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var err error
		q, err = e.newQueue(backgroundQueue)
		if err == nil {
			q.in, q.stopped, q.tid = in, stopped, unix.Gettid()
		}
		ready <- err
		if err != nil {
			return
		}
		stopped <- q.serve()
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return q, nil
}

// serve is the background queue's loop. It returns when its channel is
// closed and everything it took has completed.
func (q *Queue) serve() error {
	var fatal error
	open := true
	for open || q.requests > 0 || len(q.overflow) > 0 {
		if open && q.requests == 0 && len(q.overflow) == 0 {
			r, ok := <-q.in
			if !ok {
				open = false
				continue
			}
			q.yieldAfterWake()
			q.take(r, fatal)
		}
		// Take whatever else is waiting, up to a ring's worth.
	drain:
		for n := 0; open && n < q.depth; n++ {
			select {
			case r, ok := <-q.in:
				if !ok {
					open = false
					break drain
				}
				q.take(r, fatal)
			default:
				break drain
			}
		}
		for i, r := range q.overflow { // what its callbacks submitted (send)
			q.overflow[i] = nil
			q.take(r, fatal)
		}
		q.overflow = q.overflow[:0]
		q.fill(0)
		q.deliver()
		if q.requests == 0 {
			continue
		}
		wait, timeout := 1, idleWait
		if !open {
			timeout = 100 * time.Millisecond
		} else if len(q.in) > 0 || len(q.overflow) > 0 {
			wait = 0
		}
		if err := q.pump(wait, timeout); err != nil {
			fatal = err
			q.failBacklog(err)
			if q.inflightIOs() == 0 && !open {
				break
			}
		}
	}
	q.deliver()
	err := q.ring.Close()
	q.eng.unregister(q)
	return errors.Join(fatal, err)
}

// fairSlice is how long a background queue's goroutine may go between
// yields to the Go scheduler (yieldAfterWake).
const fairSlice = time.Millisecond

// yieldAfterWake yields the queue's P to the Go scheduler, at most once per
// fairSlice, right after its goroutine was woken by a request.
//
// Without it, background queues at or above GOMAXPROCS starved other
// goroutines for up to seconds. A goroutine that wakes another puts it in
// its P's runnext slot, ahead of the P's run queue; a caller wakes a
// parked queue goroutine by sending a request and then blocks, the queue
// wakes the caller by delivering the result and then parks, and so the P
// passes from one to the next through runnext without ever taking a
// goroutine from its run queue. The Go scheduler ends such a chain by
// preempting it after 10 ms on the same time slice (sysmon), but running
// a goroutine locked to its thread (every queue's) always starts a new
// slice: the chain was never preempted. Goroutines woken while runnext was
// taken, such as callers whose requests completed in the same reap, waited
// in the run queue until the chain happened to break, which with as many
// queues as Ps or more took 0.1 s to 6.9 s (4 queues at GOMAXPROCS 2, five
// goroutines reading 4 KiB at random from a loop device: the time was all
// between the queue delivering a result and its caller running).
//
// Here, just after the queue goroutine was taken from runnext, runnext is
// empty: the yield lets the P run the head of its run queue, and the
// queue goroutine goes on from the global run queue. It costs one hand-off
// of the P to another thread and back (tens of µs on a VM), at most once
// per fairSlice, and only when the queue had gone idle.
func (q *Queue) yieldAfterWake() {
	if now := q.eng.nowNs(); now-q.yieldedNs >= int64(fairSlice) {
		runtime.Gosched()
		q.yieldedNs = q.eng.nowNs()
		if yieldedAfterWake != nil {
			yieldedAfterWake()
		}
	}
}

// yieldedAfterWake, set only by tests (before the engine starts), is
// called by a background queue after each yield of yieldAfterWake.
var yieldedAfterWake func()

// take starts r (through issueFast when it can), or fails it at once
// when the queue's ring is broken.
func (q *Queue) take(r *Request, fatal error) {
	if fatal != nil {
		r.reset()
		r.q = q
		r.Err = fatal
		q.finished = append(q.finished, r)
		return
	}
	now := q.eng.nowNs()
	q.begin(r, now)
	if !q.issueFast(r, now) {
		q.resolveLeft(r)
	}
}

// resolveLeft is resolveStarted for a request issueFast left: the
// answer issueFast stashed for it is used by now, or not wanted (r failed
// before its lookup).
func (q *Queue) resolveLeft(r *Request) {
	q.resolveStarted(r)
	q.stash = cacheAnswer{}
}

// stopBackground closes the queue's channel and waits for it to finish.
// The caller guarantees nobody sends any more.
func (q *Queue) stopBackground() error {
	close(q.in)
	return <-q.stopped
}
