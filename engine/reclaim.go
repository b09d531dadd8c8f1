package engine

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/mapcache"
)

// Freed space must not be reused while an I/O that could still target it is
// in flight. The engine orders the two with an epoch counter:
//
//   - every request loads the epoch and publishes it in its queue's
//     "oldest in flight" slot BEFORE it looks anything up;
//   - space freed by a completed write is tagged with epoch.Add(1), AFTER the
//     cache stopped pointing at it;
//   - a reclaimer loads the epoch, THEN reads every queue's slot, and gives
//     the space back to the mapper when its tag is at most the epoch it
//     loaded and every queue's oldest in-flight epoch.
//
// A request whose epoch is below the tag may have looked up the old mapping;
// one whose epoch is at or above it started after the cache changed. If a
// reclaimer reads a queue's slot before the request published into it, the
// request's lookup comes after that read; a tag at most the epoch the
// reclaimer loaded before it was taken before that load, after the cache
// change, so the lookup comes after the cache change too. (Without that
// bound, space freed between the reclaimer's reads of the slots and of the
// list went back while such a request could still reach it:
// TestRewritesWhileReading caught 4 in 300 runs.)
//
// Publishing BEFORE the lookup takes a full barrier on x86 (an atomic
// store is an XCHG, which waits for the store buffer to drain): at depth
// 1 a queue goes idle and busy again with each I/O, and that one locked
// instruction per request cost 5-9% of the null engine's rate. Until the
// engine first frees space, a request publishes with a plain store
// instead, and a reclaimer that may meet such a slot makes the barrier
// itself: membarrier(2) (MEMBARRIER_CMD_PRIVATE_EXPEDITED) runs a full
// barrier on every CPU that runs a thread of the process, before it reads
// the slots. A request's plain store before that point is then seen; a
// lookup after it sees every cache change made before the reclaim. The
// first retire turns the mode to fenced for good (Engine.fenced): from
// then on each queue publishes with atomic stores, and says so once
// (Queue.fenceAck, after its last plain store). While some registered
// queue that has published plainly (Queue.plainUsed, set with a barrier
// before its first plain store) has not said so, reclaims make the
// barrier (Stats.Barriers): 1.8-2.3 µs here with no other thread of the
// process running, 12-20 µs with one running on the other vCPU (an
// interrupt through the hypervisor; BenchmarkMembarrier). Direct queues idle in the engine's
// pool are marked by the reclaim itself (markPooledFenced); a caller's
// queue or a background queue that published plainly and then stays
// idle keeps reclaims making the barrier until its next request. An
// engine whose kernel has no membarrier starts fenced. So engines over
// mappers that never free space (linear, scattered, fiemap, ext4) never
// pay for a barrier, and copy-on-write engines pay for it only until
// each queue has seen the mode change.

// freeList holds freed space waiting for in-flight I/O to drain, in tag
// order, so that a reclaim takes what it may give back from the front and
// never looks at the rest: with many writers a list can hold thousands of
// items while one I/O is held up, and a reclaim after every wait that
// walked (and copied) all of them took 39% of the CPU of 16 goroutines'
// out-of-place writes (BenchmarkCOWWriters).
type freeList struct {
	mu       sync.Mutex
	pending  atomic.Int64  // len(items)-head, readable without the lock
	freeing  atomic.Int64  // reclaims between taking items and the mapper's Free
	released atomic.Uint64 // mapper Free calls made
	items    []freed       // items[head:] wait, tags non-decreasing
	head     int
}

type freed struct {
	tag uint64
	m   mapcache.Mapping
}

// add adds ms, freed at tag, to the list. Tags are taken before the lock,
// so a later tag can be in first: ms goes in behind the items whose tags
// are at most tag, a step or two from the end.
func (l *freeList) add(tag uint64, ms []mapcache.Mapping) {
	if len(ms) == 0 {
		return
	}
	l.mu.Lock()
	at := len(l.items)
	for at > l.head && l.items[at-1].tag > tag {
		at--
	}
	if at == len(l.items) {
		for _, m := range ms {
			l.items = append(l.items, freed{tag: tag, m: m})
		}
	} else {
		batch := make([]freed, len(ms))
		for i, m := range ms {
			batch[i] = freed{tag: tag, m: m}
		}
		l.items = slices.Insert(l.items, at, batch...)
	}
	l.pending.Store(int64(len(l.items) - l.head))
	l.mu.Unlock()
}

// take removes and returns the mappings of the items tagged at most max
// (nil when there are none).
func (l *freeList) take(max uint64) []mapcache.Mapping {
	end := l.head
	for end < len(l.items) && l.items[end].tag <= max {
		end++
	}
	if end == l.head {
		return nil
	}
	out := make([]mapcache.Mapping, 0, end-l.head)
	for _, it := range l.items[l.head:end] {
		out = append(out, it.m)
	}
	clear(l.items[l.head:end])
	l.head = end
	switch {
	case l.head == len(l.items):
		l.items, l.head = l.items[:0], 0
	case l.head >= len(l.items)/2: // keep the array's dead front from growing
		n := copy(l.items, l.items[l.head:])
		l.items, l.head = l.items[:n], 0
	}
	l.pending.Store(int64(len(l.items) - l.head))
	return out
}

// inflight tracks the epochs of one queue's in-flight requests. Epochs are
// taken in non-decreasing order on a queue, so a deque of (epoch, count)
// runs suffices; completions may come in any order.
type inflight struct {
	runs []epochRun // runs[head:] are live, epochs increasing
	head int
	// oldest is the published minimum, MaxUint64 when idle; others read
	// it with atomic loads. enter publishes with an atomic store, a full
	// barrier (the request's lookups must not be seen before it), or a
	// plain one that a reclaimer's membarrier stands in for (above). leave
	// publishes a later epoch, or idle, with a plain store (ownedStore),
	// which x86 and the compiler keep after the stores and loads before
	// it: the requests that left are done with what they mapped, and a
	// reclaimer that reads the value before is only the more careful.
	oldest uint64
}

type epochRun struct {
	epoch uint64
	n     int
}

func (t *inflight) init() { atomic.StoreUint64(&t.oldest, math.MaxUint64) }

// enter registers a request at epoch e (the current engine epoch),
// publishing with an atomic store when fenced, else a plain one (above).
func (t *inflight) enter(e uint64, fenced bool) {
	if n := len(t.runs); n > t.head && t.runs[n-1].epoch == e {
		t.runs[n-1].n++
		return
	}
	if t.head == len(t.runs) {
		t.runs, t.head = t.runs[:0], 0
	}
	t.runs = append(t.runs, epochRun{epoch: e, n: 1})
	if t.head == len(t.runs)-1 {
		if fenced {
			atomic.StoreUint64(&t.oldest, e)
		} else {
			ownedStore(&t.oldest, e)
		}
	}
}

// leave unregisters a request entered at epoch e.
func (t *inflight) leave(e uint64) {
	if h := t.head; h == len(t.runs)-1 && t.runs[h].epoch == e {
		// One run, the commonest (every request at depth 1, and at
		// any depth while nothing is freed): the loops below for it
		// were 30 of the null engine's instructions per I/O.
		if t.runs[h].n--; t.runs[h].n == 0 {
			t.runs, t.head = t.runs[:0], 0
			ownedStore(&t.oldest, math.MaxUint64)
		}
		return
	}
	for i := t.head; i < len(t.runs); i++ {
		if t.runs[i].epoch == e {
			t.runs[i].n--
			break
		}
	}
	moved := false
	for t.head < len(t.runs) && t.runs[t.head].n == 0 {
		t.head++
		moved = true
	}
	if !moved {
		return
	}
	if t.head == len(t.runs) {
		t.runs, t.head = t.runs[:0], 0
		ownedStore(&t.oldest, math.MaxUint64)
		return
	}
	ownedStore(&t.oldest, t.runs[t.head].epoch)
}

// retire tags freed space with a new epoch and queues it for release.
func (e *Engine) retire(ms []mapcache.Mapping) {
	if len(ms) == 0 {
		return
	}
	tag := e.epoch.Add(1)
	if !e.fenced.Load() {
		e.fenced.Store(true) // for good: queues publish with barriers from now on
	}
	e.frees.add(tag, ms)
}

// enterEpoch registers r's epoch in the queue's slot, in the engine's
// mode, and acknowledges the fenced mode the first time it sees it.
func (q *Queue) enterEpoch(epoch uint64) {
	fenced := q.eng.fenced.Load()
	if !fenced && !q.wentPlain {
		// Once, before the queue's first plain store, with a barrier:
		// a reclaimer that does not see it knows the queue has made
		// none (and any the queue makes after is ordered after the
		// reclaimer's look, its lookups after the cache changes the
		// reclaim is about). Queues that never publish plainly (idle
		// ones) so never hold reclaims to the barrier.
		q.wentPlain = true
		atomic.StoreUint64(&q.plainUsed, 1)
	}
	q.epochs.enter(epoch, fenced)
	if fenced && !q.sawFenced {
		// After every plain store of this queue's slot: a reclaimer
		// that sees it sees them.
		q.sawFenced = true
		ownedStore(&q.fenceAck, 1)
	}
}

// markPooledFenced marks the direct queues idle in the engine's pool as
// publishing with barriers, once the engine is fenced: none is in use
// (the pool's lock orders its last user's stores, plain ones too, before
// this), and whoever takes one next finds the engine fenced.
func (e *Engine) markPooledFenced() {
	if !e.fenced.Load() {
		return
	}
	d := &e.direct
	d.mu.Lock()
	for _, q := range d.free {
		if !q.sawFenced {
			q.sawFenced = true
			atomic.StoreUint64(&q.fenceAck, 1)
		}
	}
	d.mu.Unlock()
}

// membarrierCmd* are membarrier(2)'s commands.
const (
	membarrierCmdQuery                    = 0
	membarrierCmdPrivateExpedited         = 1 << 3
	membarrierCmdRegisterPrivateExpedited = 1 << 4
)

// registerMembarrier registers the process for membarrier's private
// expedited command, and reports whether the kernel has it.
func registerMembarrier() bool {
	mask, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, membarrierCmdQuery, 0, 0)
	if errno != 0 || mask&membarrierCmdPrivateExpedited == 0 || mask&membarrierCmdRegisterPrivateExpedited == 0 {
		return false
	}
	_, _, errno = unix.Syscall(unix.SYS_MEMBARRIER, membarrierCmdRegisterPrivateExpedited, 0, 0)
	return errno == 0
}

// membarrier runs a full memory barrier on every CPU that runs a thread
// of the process (registerMembarrier must have succeeded).
func membarrier() error {
	if _, _, errno := unix.Syscall(unix.SYS_MEMBARRIER, membarrierCmdPrivateExpedited, 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// oldestInFlight returns the least of bound and the queues' published
// oldest epochs (queuesMu held), and whether a reclaim must make the
// membarrier and read them again: some queue has published plainly
// (plainUsed) and not yet said it publishes with barriers (fenceAck).
// Each queue's marks are read before its slot.
func (e *Engine) oldestInFlight(bound uint64) (uint64, bool) {
	plain := false
	for _, q := range e.queues {
		if e.plainEpochs && atomic.LoadUint64(&q.plainUsed) != 0 && atomic.LoadUint64(&q.fenceAck) == 0 {
			plain = true
		}
		if o := atomic.LoadUint64(&q.epochs.oldest); o < bound {
			bound = o
		}
	}
	return bound, plain
}

// afterSlotsRead, set by tests, runs in reclaim between its reads of the
// queues' slots and of the list.
var afterSlotsRead func()

// reclaim gives back to the mapper the freed space that no in-flight I/O can
// target any more; with all set, everything (the engine is shut down). It
// returns how many mappings it gave back.
func (e *Engine) reclaim(all bool) int {
	if e.frees.pending.Load() == 0 {
		return 0
	}
	min := uint64(math.MaxUint64)
	if !all {
		// Space freed after this load may be tagged with an epoch that
		// a request publishes only after its slot is read below: it is
		// left for a later reclaim.
		epoch := e.epoch.Load()
		e.queuesMu.Lock()
		var plain bool
		min, plain = e.oldestInFlight(epoch)
		e.queuesMu.Unlock()
		if plain {
			e.markPooledFenced()
			e.counters.barriers.Add(1)
			if membarrier() != nil {
				return 0 // cannot happen once registered; the space waits
			}
			e.queuesMu.Lock()
			min, _ = e.oldestInFlight(epoch)
			e.queuesMu.Unlock()
		}
		if afterSlotsRead != nil {
			afterSlotsRead()
		}
	}
	l := &e.frees
	l.mu.Lock()
	out := l.take(min)
	if out == nil {
		l.mu.Unlock()
		return 0
	}
	l.freeing.Add(1)
	l.mu.Unlock()
	defer func() {
		l.released.Add(1)
		l.freeing.Add(-1)
	}()
	var n uint64
	for _, m := range out {
		n += m.Length
	}
	e.counters.freedBytes.Add(n)
	e.cfg.Mapper.Free(out)
	return len(out)
}

// oldestPending returns the oldest tag of the freed space still waiting,
// and false when none is.
func (l *freeList) oldestPending() (uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.head == len(l.items) {
		return 0, false
	}
	return l.items[l.head].tag, true
}

// noSpaceWait bounds how long a write whose mapper ran out of space waits
// for freed space that other queues' in-flight I/O still holds.
const noSpaceWait = time.Second

// awaitFreed is called when the mapper had no space for r's write at off,
// when the mapper's Free had been called released times. Freed space that
// no I/O can reach any more is given back at once; space that in-flight
// I/O on other queues holds is waited for, until deadline, as those I/Os
// complete on their own. It reports whether space went back to the mapper
// since, so that asking again makes sense.
//
// It does not wait while this queue has other requests (it would have to
// reap them itself). r's own epoch holds everything freed after r
// started; when off is r's first byte, r has looked nothing up that it
// still uses, so it takes the current epoch, as if it started now.
func (q *Queue) awaitFreed(r *Request, off, released uint64, deadline time.Time) bool {
	e := q.eng
	if q.requests > 1 {
		return (e.reclaim(false) > 0 || e.frees.released.Load() != released) && time.Now().Before(deadline)
	}
	for pause := 20 * time.Microsecond; ; pause = min(2*pause, time.Millisecond) {
		if off == r.Offset {
			if now := e.epoch.Load(); now != r.epoch {
				q.epochs.leave(r.epoch)
				r.epoch = now
				q.enterEpoch(now)
			}
		}
		if e.reclaim(false) > 0 || e.frees.released.Load() != released {
			return true
		}
		if e.frees.freeing.Load() == 0 {
			if tag, ok := e.frees.oldestPending(); !ok || tag > r.epoch && off != r.Offset {
				return false
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
	}
}
