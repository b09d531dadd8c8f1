package engine_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/faultring"
	"github.com/iobench/iobench/mapcache"
)

// mixedMapper maps a file of runs of 1 to 6 blocks, each Mapped, a Hole or
// Unwritten; the Mapped and Unwritten runs are device-contiguous and lie
// in a shuffled order on the device, so requests span several extents.
// Writes go in place (a write over a hole fails: there is nowhere to put
// it); an Unwritten block written in place reads as data from then on.
type mixedMapper struct {
	engine.InPlace
	bs   uint64
	mu   sync.Mutex
	typ  []mapcache.Type // per file block
	addr []uint64        // per file block: device block (Mapped, Unwritten)
}

func newMixedMapper(fileBlocks int, bs uint64, seed uint64) *mixedMapper {
	rng := rand.New(rand.NewPCG(seed, 3))
	m := &mixedMapper{bs: bs, typ: make([]mapcache.Type, fileBlocks), addr: make([]uint64, fileBlocks)}
	type run struct{ start, n int }
	var runs []run
	for b := 0; b < fileBlocks; {
		n := min(1+rng.IntN(6), fileBlocks-b)
		t := mapcache.Mapped
		switch rng.IntN(10) {
		case 0, 1:
			t = mapcache.Hole
		case 2, 3:
			t = mapcache.Unwritten
		}
		for i := range n {
			m.typ[b+i] = t
		}
		if t != mapcache.Hole {
			runs = append(runs, run{b, n})
		}
		b += n
	}
	rng.Shuffle(len(runs), func(i, j int) { runs[i], runs[j] = runs[j], runs[i] })
	next := uint64(0)
	for _, r := range runs {
		for i := range r.n {
			m.addr[r.start+i] = next
			next++
		}
	}
	return m
}

func (m *mixedMapper) OpenFile(f *engine.File) (uint64, error) {
	return uint64(len(m.typ)) * m.bs, nil
}

func (m *mixedMapper) MapRead(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := req.Offset / m.bs
	if b >= uint64(len(m.typ)) {
		return append(dst, mapcache.Mapping{Offset: req.Offset, Length: mapcache.ToEOF&^(m.bs-1) - req.Offset,
			Addr: mapcache.NullAddr, Type: mapcache.Hole}), nil
	}
	t := m.typ[b]
	n := uint64(1)
	for b+n < uint64(len(m.typ)) && m.typ[b+n] == t && (t == mapcache.Hole || m.addr[b+n] == m.addr[b]+n) {
		n++
	}
	addr := uint64(mapcache.NullAddr)
	if t != mapcache.Hole {
		addr = m.addr[b] * m.bs
	}
	return append(dst, mapcache.Mapping{Offset: b * m.bs, Length: n * m.bs, Addr: addr, Type: t}), nil
}

func (m *mixedMapper) EndWrite(w *engine.WriteEnd, freed []mapcache.Mapping) ([]mapcache.Mapping, error) {
	if w.Err == nil && w.Written.Type == mapcache.Unwritten {
		m.mu.Lock()
		for off := uint64(0); off < w.Written.Length; off += m.bs {
			m.typ[(w.Written.Offset+off)/m.bs] = mapcache.Mapped
		}
		m.mu.Unlock()
	}
	return freed, nil
}

// fastPathRun is what one run of fastPathWorkload saw.
type fastPathRun struct {
	outcomes   []string // per request: Submit's error, N, Err, a digest of what a read read
	device     []byte   // the device's bytes at the end
	stats      engine.Stats
	file       engine.Stats
	cache      mapcache.Stats
	fastIssued int
}

// fastPathWorkload runs random batches of requests on a caller-owned queue
// of depth 8 with the fast path on or off: reads and writes of 0 to 9
// blocks (over Mapped, Hole and Unwritten extents, past the end of the
// file, some unaligned, some of a Go heap buffer), with random
// invalidations of the cache between batches, over a ring that fails,
// shortens, retries and delays device I/O by its address. Requests of a
// batch that overlap include no write, so that the outcome does not depend
// on the order the device runs them; and completions are taken only after
// the batch (Reap), so that the cache changes they make (unwritten
// extents written) come at the same point of every run.
func fastPathWorkload(t *testing.T, seed uint64, fast bool) fastPathRun {
	const (
		fileBlocks = 160
		devBlocks  = 192
		depth      = 8
	)
	var mu sync.Mutex
	tries := map[[2]uint64]int{} // (device address, write) -> operations seen
	inject := func(op *engine.Op) faultring.Fault {
		w := uint64(0)
		if op.Write {
			w = 1
		}
		mu.Lock()
		k := [2]uint64{op.Offset, w}
		n := tries[k]
		tries[k]++
		mu.Unlock()
		h := (op.Offset/bs*2654435761 + w*40503) % 97
		switch {
		case h < 4:
			return faultring.Fault{Errno: syscall.EIO}
		case h < 12 && n == 0:
			return faultring.Fault{Errno: syscall.EAGAIN}
		case h < 20 && n == 0 && op.Len > bs:
			return faultring.Fault{Short: op.Len / 2 &^ (bs - 1)}
		case h < 30:
			return faultring.Fault{Hold: 1 + int(h%3)}
		}
		return faultring.Fault{}
	}
	m := newMixedMapper(fileBlocks, bs, seed)
	e, path := newEngine(t, devBlocks*bs, m, func(c *engine.Config) {
		c.QueueDepth = depth
		c.NewRing = faultring.NewFactory(nil, func(r *faultring.Ring) { r.Inject = inject; r.MaxReap = 3 })
	})
	f, q := fileAndQueue(t, e)
	defer q.Close()
	q.SetFastPath(fast)

	rng := rand.New(rand.NewPCG(seed, 99))
	var run fastPathRun
	type slot struct {
		r      engine.Request
		heap   []byte
		arena  []byte
		idx    int
		lo, hi uint64
		write  bool
	}
	var reqs [2 * depth]slot
	for i := range reqs {
		reqs[i].heap = make([]byte, 9*bs+bs) // room to align by hand
		reqs[i].arena = e.Buffer(9 * bs)
	}
	outcome := func(s *slot) string {
		r := &s.r
		d := ""
		if !r.Write && r.N > 0 {
			d = fmt.Sprintf("%x", sha256.Sum256(r.Buf[:r.N]))[:16]
		}
		return strings.ReplaceAll(fmt.Sprintf("N=%d err=%v %s", r.N, r.Err, d), path, "dev")
	}
	var prevLo uint64
	for batch := range 400 {
		if rng.IntN(6) == 0 {
			off := uint64(rng.IntN(fileBlocks)) * bs
			if err := f.Invalidate(off, uint64(1+rng.IntN(40))*bs); err != nil {
				t.Fatal(err)
			}
		}
		n := 1 + rng.IntN(len(reqs))
		sequential := rng.IntN(3) == 0
		var batchReqs []*engine.Request
		var taken []*slot
		for i := range n {
			s := &reqs[i]
			blocks := rng.IntN(10)
			if rng.IntN(2) == 0 {
				blocks = 1 + rng.IntN(2) // within one extent more often
			}
			if rng.IntN(20) == 0 {
				blocks = 0
			}
			lo := uint64(rng.IntN(fileBlocks+4)) * bs
			switch {
			case sequential:
				// One block after another: each extent is looked up
				// once, then answered by the queue's memo (the fast
				// path's case), writes as well as reads.
				blocks, lo = 1, (prevLo+bs)%((fileBlocks+2)*bs)
			case rng.IntN(2) == 0:
				// Near the last request, often in the extent the queue
				// looked up last.
				lo = uint64(max(0, int(prevLo/bs)+rng.IntN(5)-2)) * bs
			}
			prevLo = lo
			write := rng.IntN(3) == 0
			hi := lo + uint64(blocks)*bs
			conflict := false
			for _, o := range taken {
				if lo < o.hi && o.lo < hi && (write || o.write) {
					conflict = true
				}
			}
			if conflict {
				continue
			}
			s.lo, s.hi, s.write = lo, hi, write
			var buf []byte
			if rng.IntN(4) == 0 {
				h := s.heap
				_, ma := e.Alignment()
				for uintptrOf(h)%uintptr(ma) != 0 {
					h = h[1:]
				}
				buf = h[:blocks*bs]
			} else {
				buf = s.arena[:blocks*bs]
			}
			off := lo
			if rng.IntN(40) == 0 {
				off++ // unaligned
			}
			if write {
				for k := range buf {
					buf[k] = byte(uint64(batch)*31 + uint64(i)*7 + uint64(k)/bs)
				}
			} else {
				clear(buf)
			}
			s.r = engine.Request{File: f, Offset: off, Buf: buf, Write: write}
			s.idx = len(run.outcomes)
			run.outcomes = append(run.outcomes, "")
			taken = append(taken, s)
			batchReqs = append(batchReqs, &s.r)
		}
		submitted := 0
		if rng.IntN(3) == 0 {
			if err := q.Submit(batchReqs...); err != nil {
				t.Fatal(err)
			}
			submitted = len(batchReqs)
		} else {
			for i, r := range batchReqs {
				if err := q.Submit(r); err != nil {
					t.Fatal(err)
				}
				submitted++
				if rng.IntN(10) == 0 {
					// Twice: refused, the first goes on.
					err := q.Submit(r)
					run.outcomes[taken[i].idx] = fmt.Sprintf("again: %v; ", err)
				}
			}
		}
		var dst []*engine.Request
		for got := 0; got < submitted; {
			var err error
			if dst, err = q.Reap(dst[:0], 1); err != nil {
				t.Fatal(err)
			}
			got += len(dst)
		}
		for _, s := range taken {
			run.outcomes[s.idx] += outcome(s)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	run.fastIssued, _ = q.FastIssued()
	for i := range reqs {
		e.PutBuffer(reqs[i].arena)
	}
	run.stats, run.file, run.cache = e.Stats(), f.Stats(), f.Cache().Stats()
	dev, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	run.device = dev
	return run
}

// TestFastPathMatchesGeneral runs the same random requests with the fast
// path (issueFast) on and off and checks that every request ends the same,
// the device holds the same bytes and the statistics, the engine's and the
// cache's, agree (but for those that depend on timing): the fast path
// looks the cache up no more often than resolve.
func TestFastPathMatchesGeneral(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		a := fastPathWorkload(t, seed, true)
		b := fastPathWorkload(t, seed, false)
		if len(a.outcomes) != len(b.outcomes) {
			t.Fatalf("seed %d: %d requests with the fast path, %d without", seed, len(a.outcomes), len(b.outcomes))
		}
		for i := range a.outcomes {
			if a.outcomes[i] != b.outcomes[i] {
				t.Fatalf("seed %d: request %d ended %q with the fast path, %q without", seed, i, a.outcomes[i], b.outcomes[i])
			}
		}
		if !bytes.Equal(a.device, b.device) {
			t.Fatalf("seed %d: the device differs", seed)
		}
		for _, s := range []*engine.Stats{&a.stats, &b.stats, &a.file, &b.file} {
			// Timing: how the reaps fell, how long the mapper took.
			s.RingEnters, s.ThreadMoves, s.Spins, s.SpinHits, s.MapperTime, s.MaxInFlight = 0, 0, 0, 0, 0, 0
		}
		if a.stats != b.stats {
			t.Fatalf("seed %d: engine stats with the fast path\n%+v\nwithout\n%+v", seed, a.stats, b.stats)
		}
		if a.file != b.file {
			t.Fatalf("seed %d: file stats with the fast path\n%+v\nwithout\n%+v", seed, a.file, b.file)
		}
		if a.cache != b.cache {
			t.Fatalf("seed %d: cache stats with the fast path\n%+v\nwithout\n%+v", seed, a.cache, b.cache)
		}
		if b.fastIssued != 0 {
			t.Fatalf("seed %d: %d requests took the fast path while it was off", seed, b.fastIssued)
		}
		if _, counted := (&engine.Queue{}).FastIssued(); counted && a.fastIssued < len(a.outcomes)/20 {
			t.Fatalf("seed %d: only %d of %d requests took the fast path", seed, a.fastIssued, len(a.outcomes))
		}
		s := a.stats
		if s.Errors == 0 || s.ShortIOs == 0 || s.Retries == 0 || s.Misses == 0 || s.Splits == 0 || s.ZeroBytes == 0 || s.WriteBytes == 0 {
			t.Fatalf("seed %d: workload did not exercise everything: %+v", seed, s)
		}
		t.Logf("seed %d: %d requests, %d by the fast path; %+v", seed, len(a.outcomes), a.fastIssued, s)
	}
}

// TestWriteForkAfterInPlaceWrites checks that a queue which wrote a file
// in place (the write fork absent, an answer the queue keeps) sends the
// next write out of place once the write fork exists and maps the range:
// the kept answer must not outlive the cache's change. With the fast path
// and without.
func TestWriteForkAfterInPlaceWrites(t *testing.T) {
	const blocks, bs = 16, 4096
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprintf("fast=%v", fast), func(t *testing.T) {
			perm := make([]uint64, blocks)
			for i := range perm {
				perm[i] = uint64(i)
			}
			e, path := newEngine(t, 2*blocks*bs, &stripeMapper{bs: bs, perm: perm}, nil)
			f, q := fileAndQueue(t, e)
			defer q.Close()
			q.SetFastPath(fast)
			buf := e.Buffer(bs)
			defer e.PutBuffer(buf)
			write := func(block uint64, fillByte byte) {
				t.Helper()
				for i := range buf {
					buf[i] = fillByte
				}
				r := &engine.Request{File: f, Offset: block * bs, Buf: buf, Write: true}
				if err := q.Submit(r); err != nil {
					t.Fatal(err)
				}
				if _, err := q.Reap(nil, 1); err != nil {
					t.Fatal(err)
				}
				if r.Err != nil || r.N != bs {
					t.Fatalf("write of block %d: N=%d err=%v", block, r.N, r.Err)
				}
			}
			for b := range uint64(8) {
				write(b, 1)
			}
			// The write fork appears, mapping block 3 at device block
			// blocks+3.
			if err := f.Cache().Upsert(mapcache.WriteFork, mapcache.Mapping{Offset: 3 * bs, Length: bs,
				Addr: (blocks + 3) * bs, Type: mapcache.Mapped}); err != nil {
				t.Fatal(err)
			}
			write(3, 2)
			dev, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := dev[(blocks+3)*bs]; got != 2 {
				t.Errorf("device block %d (the write fork's) holds %d, want 2: the write did not go out of place", blocks+3, got)
			}
			if got := dev[3*bs]; got != 1 {
				t.Errorf("device block 3 (in place) holds %d, want 1", got)
			}
		})
	}
}
