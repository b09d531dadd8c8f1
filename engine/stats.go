package engine

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// Stats are counters of an engine or of one file. They only grow; subtract
// two snapshots to measure an interval.
type Stats struct {
	Requests      uint64 // requests completed
	Reads, Writes uint64 // requests by direction
	Errors        uint64 // requests that failed
	Hits          uint64 // cache lookups that found a mapping
	Misses        uint64 // cache lookups that did not
	MapperCalls   uint64 // MapRead and MapWrite calls
	MapperTime    time.Duration
	StaleRetries  uint64 // mapper replies dropped because the cache changed
	IOs           uint64 // device I/Os completed (including continuations)
	ReadBytes     uint64 // bytes read from devices
	WriteBytes    uint64 // bytes written to devices
	ZeroBytes     uint64 // bytes zero-filled without device I/O
	InlineBytes   uint64 // bytes copied from the mapper (inline data)
	Splits        uint64 // requests that needed more than one device I/O
	OutOfPlace    uint64 // device writes that went to a fresh location
	ShortIOs      uint64 // short transfers that were continued
	Retries       uint64 // device I/Os retried after EAGAIN
	RingEnters    uint64 // io_uring_enter calls (engine-wide; 0 per file)
	ThreadMoves   uint64 // queue threads moved to their completions' CPU (engine-wide; 0 per file)
	Spins         uint64 // waits that polled the ring first (Config.SpinWait; engine-wide; 0 per file)
	SpinHits      uint64 // of those, the ones a completion ended without a sleep
	FreedBytes    uint64 // space handed back to the mapper (engine-wide; 0 per file)
	MaxInFlight   uint64 // most device I/Os in flight on one queue (engine-wide; 0 per file)
	// ClockSteps counts the times the CPU's counter, the engine's clock
	// (Config.Clock), strayed from CLOCK_MONOTONIC by more than 10 ms
	// and was paired with it afresh, as a virtual machine restored from
	// a snapshot finds it; ClockStepMax is the largest step the clock
	// made there (positive: forward). Latencies that spanned a step are
	// off by it. Engine-wide; 0 per file and on other clocks.
	ClockSteps    uint64
	ClockStepMax  time.Duration
	CachedExtents uint64 // records in the caches (read + write fork)
	CacheBytes    uint64 // memory the caches' trees hold
	Merges        uint64 // cache records merged with a neighbour
	Evicted       uint64 // read-fork records evicted by a cache budget
	Trims         uint64 // trim requests completed
	TrimBytes     uint64 // bytes discarded on devices
	// DirectCalls are synchronous calls (File.ReadAt, File.WriteAt, Sync,
	// trims) run on a direct queue, on the caller's thread; HandedOff
	// are those handed to a background queue instead, every direct queue
	// being busy or Config.DirectQueues negative (engine-wide; 0 per
	// file).
	DirectCalls, HandedOff uint64
	// Barriers are the membarrier(2) calls reclaims made because a queue
	// may have published an in-flight epoch with a plain store
	// (reclaim.go; engine-wide; 0 per file).
	Barriers uint64
	// GapReads are device reads that took several pieces of a request
	// and the gaps between them at once (Config.ReadGap), GapBytes the
	// gaps' bytes they read besides (not in ReadBytes), GapSplits the
	// merged reads that failed or came back short and were done again
	// piece by piece.
	GapReads, GapBytes, GapSplits uint64
}

// HitRate is Hits / (Hits + Misses), or 0 when nothing was looked up.
func (s Stats) HitRate() float64 {
	if s.Hits+s.Misses == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Hits+s.Misses)
}

// MeanMapperLatency is the average time of a mapper call.
func (s Stats) MeanMapperLatency() time.Duration {
	if s.MapperCalls == 0 {
		return 0
	}
	return s.MapperTime / time.Duration(s.MapperCalls)
}

// counter names one of the counters a queue tallies.
type counter int

const (
	cRequests counter = iota
	cReads
	cWrites
	cErrors
	cHits
	cMisses
	cMapperCalls
	cMapperNs
	cStaleRetries
	cIOs
	cReadBytes
	cWriteBytes
	cZeroBytes
	cInlineBytes
	cSplits
	cOutOfPlace
	cShortIOs
	cRetries
	cRingEnters
	cThreadMoves
	cSpins
	cSpinHits
	cTrims
	cTrimBytes
	cGapReads    // merged reads (Config.ReadGap) that brought their span
	cGapBytes    // the gaps' bytes those read
	cGapSplits   // merged reads done again piece by piece
	cPlainReads  // folded by flushTally: each a request, a read, a hit and an I/O
	cPlainWrites // the same with a write
	nTallied
)

// counters are what Stats reads. Queues do not add to them per I/O: each
// keeps a tally (below) and adds it here before it hands any request
// back, so a snapshot covers every request its caller has seen complete,
// and is exact once the engine is idle.
//
// The counts are sharded by queue: a queue adds its tallies to a shard of
// its own, with plain adds (ownedAdd), and a snapshot sums the shards. A
// shard belongs to a queue id, not to the queue: it outlives the queue
// (its counts stay in the sum) and passes to the next queue given that
// id (Engine.register), which the registry's lock orders after the last
// add of the queue before.
type counters struct {
	mu          sync.Mutex               // held to add a shard
	shards      atomic.Pointer[[]*shard] // by queue id; nil entries for ids that never counted here
	freedBytes  atomic.Uint64
	maxInFlight atomic.Uint64
	directCalls atomic.Uint64
	handedOff   atomic.Uint64
	barriers    atomic.Uint64
}

// A shard is one queue id's part of a set of counters: written by the
// queue that holds the id alone, read by anyone with atomic loads.
type shard [nTallied]uint64

// shard returns the shard of queue id, adding it on first use.
func (c *counters) shard(id int) *shard {
	if p := c.shards.Load(); p != nil && id < len(*p) {
		if s := (*p)[id]; s != nil {
			return s
		}
	}
	return c.addShard(id)
}

func (c *counters) addShard(id int) *shard {
	c.mu.Lock()
	defer c.mu.Unlock()
	var cur []*shard
	if p := c.shards.Load(); p != nil {
		cur = *p
	}
	if id < len(cur) && cur[id] != nil {
		return cur[id]
	}
	next := make([]*shard, max(len(cur), id+1))
	copy(next, cur)
	next[id] = new(shard)
	c.shards.Store(&next)
	return next[id]
}

// sum adds up the shards.
func (c *counters) sum() (t tally) {
	p := c.shards.Load()
	if p == nil {
		return t
	}
	for _, s := range *p {
		if s == nil {
			continue
		}
		for k := range s {
			t[k] += atomic.LoadUint64(&s[k])
		}
	}
	return t
}

func (c *counters) snapshot() Stats {
	t := c.sum()
	v := func(k counter) uint64 { return t[k] }
	pr, pw := v(cPlainReads), v(cPlainWrites)
	return Stats{
		Requests: v(cRequests) + pr + pw, Reads: v(cReads) + pr, Writes: v(cWrites) + pw,
		Errors: v(cErrors), Hits: v(cHits) + pr + pw, Misses: v(cMisses),
		MapperCalls: v(cMapperCalls), MapperTime: time.Duration(v(cMapperNs)),
		StaleRetries: v(cStaleRetries), IOs: v(cIOs) + pr + pw,
		ReadBytes: v(cReadBytes), WriteBytes: v(cWriteBytes),
		ZeroBytes: v(cZeroBytes), InlineBytes: v(cInlineBytes),
		Splits: v(cSplits), OutOfPlace: v(cOutOfPlace),
		ShortIOs: v(cShortIOs), Retries: v(cRetries), RingEnters: v(cRingEnters), ThreadMoves: v(cThreadMoves),
		Spins: v(cSpins), SpinHits: v(cSpinHits),
		FreedBytes: c.freedBytes.Load(), MaxInFlight: c.maxInFlight.Load(),
		Trims: v(cTrims), TrimBytes: v(cTrimBytes),
		DirectCalls: c.directCalls.Load(), HandedOff: c.handedOff.Load(), Barriers: c.barriers.Load(),
		GapReads: v(cGapReads), GapBytes: v(cGapBytes), GapSplits: v(cGapSplits),
	}
}

// tally is what a queue counted for one file since it last added to the
// shared counters: plain integers, owned by the queue's goroutine. Atomic
// adds are full barriers on x86, and a 4 KiB read counts about ten things.
type tally [nTallied]uint64

// The queue marks the counters it changed in a uint32.
var _ [32 - nTallied]struct{}

// add adds the counters of t whose bits are set in dirty. Only the queue
// that owns s calls it.
func (s *shard) add(t *tally, dirty uint32) {
	for ; dirty != 0; dirty &= dirty - 1 {
		k := bits.TrailingZeros32(dirty)
		ownedAdd(&s[k], t[k])
	}
}

// count tallies n for counter k of file f (nil: the engine alone).
func (q *Queue) count(f *File, k counter, n uint64) {
	if f != q.tallyFile {
		q.flushTally()
		q.tallyFile = f
	}
	q.tally[k] += n
	q.tallyDirty |= 1 << k
}

// flushTally adds the queue's tally to its shards of the engine's and its
// file's counters.
//
// It runs before every delivery, so it touches only the counters that
// changed (tallyDirty), and fewer still for the commonest tally (fold): an
// atomic add per counter and a cleared array per call were 9% of the
// engine's time per I/O at depth 32 over the null ring (BenchmarkQueueNull).
func (q *Queue) flushTally() {
	if q.engShard == nil {
		q.engShard = q.eng.counters.shard(q.id)
	}
	es := q.engShard
	if q.enters > 0 {
		ownedAdd(&es[cRingEnters], q.enters)
		q.enters = 0
	}
	if q.moves > 0 {
		ownedAdd(&es[cThreadMoves], q.moves)
		q.moves = 0
	}
	if q.calls > 0 {
		q.eng.counters.directCalls.Add(q.calls)
		q.calls = 0
	}
	if q.spins > 0 {
		ownedAdd(&es[cSpins], q.spins)
		ownedAdd(&es[cSpinHits], q.spinHits)
		q.spins, q.spinHits = 0, 0
	}
	dirty := q.tallyDirty
	if dirty == 0 {
		return
	}
	if (dirty == plainReadMask || dirty == plainWriteMask) && q.flushPlain(dirty == plainWriteMask) {
		return
	}
	dirty = q.fold(dirty)
	es.add(&q.tally, dirty)
	if f := q.tallyFile; f != nil {
		if q.fileShardOf != f {
			q.fileShard, q.fileShardOf = f.counters.shard(q.id), f
		}
		q.fileShard.add(&q.tally, dirty)
	}
	for ; dirty != 0; dirty &= dirty - 1 {
		q.tally[bits.TrailingZeros32(dirty)] = 0
	}
	q.tallyDirty = 0
}

// plainMask is what requests that each read or wrote through one cache hit
// and one device I/O, and nothing else, leave in a tally.
const plainMask = 1<<cRequests | 1<<cReads | 1<<cWrites | 1<<cHits | 1<<cIOs | 1<<cReadBytes | 1<<cWriteBytes

// plainReadMask and plainWriteMask are what plain requests of one
// direction (plainMask) leave in a tally, the commonest.
const (
	plainReadMask  = 1<<cRequests | 1<<cReads | 1<<cHits | 1<<cIOs | 1<<cReadBytes
	plainWriteMask = 1<<cRequests | 1<<cWrites | 1<<cHits | 1<<cIOs | 1<<cWriteBytes
)

// flushPlain is flushTally for a tally of plainReadMask (plainWriteMask
// when write) whose requests, hits, device I/Os and reads (writes) are
// equal in number: it adds them as fold would have them, without fold's
// and add's loops (about 60 of the null engine's instructions per I/O at
// depth 1). It reports false, touching nothing, for any other tally.
func (q *Queue) flushPlain(write bool) bool {
	t := &q.tally
	dir, plain, bytes := cReads, cPlainReads, cReadBytes
	if write {
		dir, plain, bytes = cWrites, cPlainWrites, cWriteBytes
	}
	n, b := t[cRequests], t[bytes]
	if t[dir] != n || t[cHits] != n || t[cIOs] != n {
		return false
	}
	es := q.engShard
	ownedAdd(&es[plain], n)
	ownedAdd(&es[bytes], b)
	if f := q.tallyFile; f != nil {
		if q.fileShardOf != f {
			q.fileShard, q.fileShardOf = f.counters.shard(q.id), f
		}
		ownedAdd(&q.fileShard[plain], n)
		ownedAdd(&q.fileShard[bytes], b)
	}
	t[cRequests], t[dir], t[cHits], t[cIOs], t[bytes] = 0, 0, 0, 0, 0
	q.tallyDirty = 0
	return true
}

// fold rewrites a tally whose requests, hits and device I/Os are equal in
// number (and equal to its reads plus writes) as plain reads and writes,
// which snapshot adds back to all four: two counters in place of five,
// for the commonest delivery. The sums are the same whatever requests
// left the tally, so the rewrite is exact.
func (q *Queue) fold(dirty uint32) uint32 {
	t := &q.tally
	n := t[cRequests]
	if dirty&^plainMask != 0 || n == 0 || t[cHits] != n || t[cIOs] != n || t[cReads]+t[cWrites] != n {
		return dirty
	}
	t[cPlainReads], t[cPlainWrites] = t[cReads], t[cWrites]
	t[cRequests], t[cReads], t[cWrites], t[cHits], t[cIOs] = 0, 0, 0, 0, 0
	dirty &^= 1<<cRequests | 1<<cReads | 1<<cWrites | 1<<cHits | 1<<cIOs
	if t[cPlainReads] != 0 {
		dirty |= 1 << cPlainReads
	}
	if t[cPlainWrites] != 0 {
		dirty |= 1 << cPlainWrites
	}
	return dirty
}
