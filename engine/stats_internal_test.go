package engine

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestFoldKeepsCounts tallies random requests on a queue over three files
// (and none), flushing at random, and checks the engine's and each file's
// Stats against plain sums of what was counted after every flush: folding
// plain reads and writes (fold) must change no figure, whatever mix a
// tally holds.
func TestFoldKeepsCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	e := &Engine{}
	q := &Queue{eng: e}
	files := []*File{{}, {}, {}, nil}
	want := map[*File]*tally{}
	for _, f := range files {
		want[f] = &tally{}
	}
	count := func(f *File, k counter, n uint64) {
		q.count(f, k, n)
		want[f][k] += n
		if f != nil {
			want[nil][k] += n
		}
	}
	folded := 0
	for i := range 20000 {
		f := files[rng.IntN(len(files))]
		bytes := uint64(rng.IntN(64)+1) * 512
		switch rng.IntN(4) {
		case 0, 1: // a plain read or write: a hit, an I/O, its bytes
			count(f, cRequests, 1)
			count(f, cHits, 1)
			count(f, cIOs, 1)
			if rng.IntN(2) == 0 {
				count(f, cReads, 1)
				count(f, cReadBytes, bytes)
			} else {
				count(f, cWrites, 1)
				count(f, cWriteBytes, bytes)
			}
		case 2: // a request that missed, split or failed
			count(f, cRequests, 1)
			count(f, cReads, 1)
			for range rng.IntN(3) {
				count(f, counter(rng.IntN(int(cTrimBytes)+1)), uint64(rng.IntN(3)))
			}
		case 3: // counts without a request
			count(f, counter(rng.IntN(int(cTrimBytes)+1)), uint64(rng.IntN(5)))
		}
		if rng.IntN(3) > 0 && i != 19999 {
			continue
		}
		q.tallyDirty = q.fold(q.tallyDirty)
		if q.tallyDirty&(1<<cPlainReads|1<<cPlainWrites) != 0 {
			folded++
		}
		// fold ran on the tally above; flushTally folds it again, which
		// must leave an already folded tally as it is.
		q.flushTally()
		check := func(name string, got Stats, w *tally) {
			t.Helper()
			v := func(k counter) uint64 { return w[k] }
			exp := Stats{
				Requests: v(cRequests), Reads: v(cReads), Writes: v(cWrites), Errors: v(cErrors),
				Hits: v(cHits), Misses: v(cMisses), MapperCalls: v(cMapperCalls), MapperTime: time.Duration(v(cMapperNs)),
				StaleRetries: v(cStaleRetries), IOs: v(cIOs), ReadBytes: v(cReadBytes), WriteBytes: v(cWriteBytes),
				ZeroBytes: v(cZeroBytes), InlineBytes: v(cInlineBytes), Splits: v(cSplits), OutOfPlace: v(cOutOfPlace),
				ShortIOs: v(cShortIOs), Retries: v(cRetries), RingEnters: v(cRingEnters), ThreadMoves: v(cThreadMoves),
				Spins: v(cSpins), SpinHits: v(cSpinHits), Trims: v(cTrims), TrimBytes: v(cTrimBytes),
			}
			if got != exp {
				t.Fatalf("after %d requests, %s:\n got  %+v\n want %+v", i+1, name, got, exp)
			}
		}
		check("engine", e.counters.snapshot(), want[nil])
		for j, f := range files[:3] {
			check("file "+string(rune('A'+j)), f.counters.snapshot(), want[f])
		}
	}
	if folded == 0 {
		t.Fatal("no tally was folded: the test did not exercise fold")
	}
}
