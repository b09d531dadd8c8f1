package mapper

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/device/looptest"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper/internal/crashtest"
)

var (
	crashSeeds  = flag.Int("crash.seeds", 3, "seeds of the cowlog crash harness")
	crashOps    = flag.Int("crash.ops", 150, "operations per seed of the cowlog crash harness")
	crashPoints = flag.Int("crash.points", 1000, "random crash points per seed of the cowlog crash harness")
)

// Marks the workload adds to the crash log.
type (
	markIssue struct{ file, block, ver int } // a write of this version is about to be issued
	markAck   struct{ file, block, ver int } // it was acknowledged
	markSync  struct{ done bool }            // Engine.Sync called (done false) or returned nil (done true)
)

const (
	blk             = 4096
	crashDevBytes   = 4 << 20
	crashFiles      = 2
	crashFileBlocks = 64
)

var crashNames = [crashFiles]string{"f0", "f1"}

// crashRun is one workload's log.
type crashRun struct {
	seed   uint64
	base   []byte // the formatted device before the log
	events []crashtest.Event
	stats  COWLogStats
}

// fillBlock fills b (one block) with its identity: 16-byte units of file,
// block, version and seed.
func fillBlock(b []byte, file, block, ver int, seed uint64) {
	for u := 0; u+16 <= len(b); u += 16 {
		binary.LittleEndian.PutUint32(b[u:], uint32(file))
		binary.LittleEndian.PutUint32(b[u+4:], uint32(block))
		binary.LittleEndian.PutUint32(b[u+8:], uint32(ver))
		binary.LittleEndian.PutUint32(b[u+12:], uint32(seed))
	}
}

// decodeBlock returns the version a block holds (0: zeros, the content
// before any write), or ok false for a mix or another block's data.
func decodeBlock(b []byte, file, block int, seed uint64) (ver int, ok bool) {
	// Whole-slice comparisons (no byte loops: they are slow under -race).
	// A block repeats its first 16 bytes iff it equals itself shifted by 16.
	if !bytes.Equal(b[16:], b[:len(b)-16]) {
		return 0, false
	}
	u0 := b[:16]
	if bytes.Equal(u0, zeroUnit[:]) {
		return 0, true
	}
	if int(binary.LittleEndian.Uint32(u0)) != file || int(binary.LittleEndian.Uint32(u0[4:])) != block ||
		binary.LittleEndian.Uint32(u0[12:]) != uint32(seed) {
		return 0, false
	}
	return int(binary.LittleEndian.Uint32(u0[8:])), true
}

var zeroUnit [16]byte

// op is one workload step: a write of n blocks at block, or a sync.
type op struct {
	sync        bool
	file, block int
	n           int
	ns          nsOp // a namespace operation on the scratch file instead
}

// nsOp is what a workload does to its scratch file, crashScratch: it
// exists now and then, is written, shrunk and removed, so that crashes
// meet creates, truncates and removes and the space they release.
type nsOp uint8

const (
	nsNone     nsOp = iota
	nsCreate        // create it (or grow it back) and write its first 2 blocks
	nsTruncate      // shrink it to 2 blocks
	nsRemove        // remove it
)

const (
	crashScratch       = "t"
	crashScratchIdx    = crashFiles // its file index in block identities
	crashScratchBlocks = 16
)

// runCrashWorkload formats a device, runs ops through an engine whose
// rings log into a recorder (background commits kick in after 32 KiB of
// released space), and returns the log.
func runCrashWorkload(t testing.TB, seed uint64, ops []op) *crashRun {
	path := shmImage(t, crashDevBytes)
	if err := FormatCOWLog(path, COWLogConfig{MaxFiles: 8}); err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rec := crashtest.NewRecorder()
	c, e, stop := logEngine(t, path, COWLogConfig{CommitBytes: 32 << 10, CheckpointEvery: 7, ExtentHint: 8 << 10}, engine.Config{NewRing: rec.Factory(nil)})
	var files [crashFiles]*engine.File
	for i, name := range crashNames {
		if err := c.Create(name, crashFileBlocks*blk); err != nil {
			t.Fatal(err)
		}
		if files[i], err = e.Open(name, engine.FileOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	buf := e.Buffer(4 * blk)
	defer e.PutBuffer(buf)
	var ver [crashFiles + 1][crashFileBlocks]int
	scratch := false
	for _, o := range ops {
		switch o.ns {
		case nsCreate:
			if !scratch {
				if err := c.Create(crashScratch, crashScratchBlocks*blk); err != nil {
					t.Fatal(err)
				}
				scratch = true
			} else if err := c.Truncate(crashScratch, crashScratchBlocks*blk); err != nil { // grow back
				t.Fatal(err)
			}
			sf, err := e.Open(crashScratch, engine.FileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for b := range 2 {
				ver[crashScratchIdx][b]++
				fillBlock(buf[:blk], crashScratchIdx, b, ver[crashScratchIdx][b], seed)
				rec.Mark(markIssue{crashScratchIdx, b, ver[crashScratchIdx][b]})
				if _, err := sf.WriteAt(buf[:blk], int64(b*blk)); err != nil {
					t.Fatalf("write %s: %v", crashScratch, err)
				}
			}
			if err := sf.Close(); err != nil {
				t.Fatal(err)
			}
			continue
		case nsTruncate:
			if scratch {
				if err := c.Truncate(crashScratch, 2*blk); err != nil {
					t.Fatal(err)
				}
			}
			continue
		case nsRemove:
			if scratch {
				if err := c.Remove(crashScratch); err != nil {
					t.Fatal(err)
				}
				scratch = false
			}
			continue
		}
		if o.sync {
			rec.Mark(markSync{})
			if err := e.Sync(); err != nil {
				t.Fatalf("sync: %v", err)
			}
			rec.Mark(markSync{done: true})
			continue
		}
		for i := range o.n {
			ver[o.file][o.block+i]++
			fillBlock(buf[i*blk:(i+1)*blk], o.file, o.block+i, ver[o.file][o.block+i], seed)
			rec.Mark(markIssue{o.file, o.block + i, ver[o.file][o.block+i]})
		}
		if _, err := files[o.file].WriteAt(buf[:o.n*blk], int64(o.block*blk)); err != nil {
			t.Fatalf("write: %v", err)
		}
		for i := range o.n {
			rec.Mark(markAck{o.file, o.block + i, ver[o.file][o.block+i]})
		}
	}
	stats := c.Stats()
	stop()
	return &crashRun{seed: seed, base: base, events: rec.Events(), stats: stats}
}

// oracle is what the marks in a log prefix promise.
type oracle struct {
	seed    uint64
	issued  map[[2]int]map[int]bool
	floor   map[[2]int]int // the version acknowledged before the last completed sync began
	synced  bool           // a sync completed: the files exist
	pending map[[2]int]int
}

func oracleAt(seed uint64, events []crashtest.Event) *oracle {
	o := &oracle{seed: seed, issued: map[[2]int]map[int]bool{}, floor: map[[2]int]int{}}
	acked := map[[2]int]int{}
	for _, ev := range events {
		switch m := ev.Note.(type) {
		case markIssue:
			k := [2]int{m.file, m.block}
			if o.issued[k] == nil {
				o.issued[k] = map[int]bool{}
			}
			o.issued[k][m.ver] = true
		case markAck:
			if m.file < crashFiles { // the scratch file may be removed: no floor
				acked[[2]int{m.file, m.block}] = m.ver
			}
		case markSync:
			if !m.done {
				o.pending = make(map[[2]int]int, len(acked))
				for k, v := range acked {
					o.pending[k] = v
				}
			} else {
				o.floor, o.synced = o.pending, true
			}
		}
	}
	return o
}

// crashTally counts what the harness found.
type crashTally struct {
	points, recoveryPoints   int
	syncedLost, mixed, leak  int
	versionsSeen, zerosSeen  int
	tornTails, checkpointsAt int
}

func (c *crashTally) add(o crashTally) {
	c.points += o.points
	c.recoveryPoints += o.recoveryPoints
	c.syncedLost += o.syncedLost
	c.mixed += o.mixed
	c.leak += o.leak
	c.versionsSeen += o.versionsSeen
	c.zerosSeen += o.zerosSeen
	c.tornTails += o.tornTails
}

// checkImage recovers img in memory and checks it against o. It returns
// the recovered mapper for callers that go on with it.
func checkImage(t testing.TB, img *crashtest.Image, o *oracle, tally *crashTally, what string) *COWLog {
	t.Helper()
	cfg := COWLogConfig{}
	cfg.defaults()
	c, err := recoverCOWLog(&devReader{path: "crash image", size: img.Size(), mem: img}, cfg)
	if err != nil {
		t.Errorf("%s: recovery failed: %v", what, err)
		tally.leak++
		return nil
	}
	if c.recovered.TornTail {
		tally.tornTails++
	}
	if c.recovered.Gen > 0 {
		tally.checkpointsAt++
	}
	if err := c.Check(); err != nil {
		t.Errorf("%s: space check: %v", what, err)
		tally.leak++
	}
	dStart, dLen := c.Layout()
	if used := c.space.TotalBytes() - c.FreeBytes(); used != c.recovered.UsedBytes || c.space.TotalBytes() != dLen {
		t.Errorf("%s: %d bytes used, recovery counted %d", what, used, c.recovered.UsedBytes)
		tally.leak++
	}
	zeros := make([]byte, blk)
	buf := make([]byte, blk)
	if lf := c.byName[crashScratch]; lf != nil {
		for b := range min(crashScratchBlocks, int(lf.cf.SizeBytes()/blk)) {
			e, ok := lf.cf.Lookup(uint64(b)*blk, blk)
			if !ok || e.Addr == ^uint64(0) {
				continue
			}
			if _, err := img.ReadAt(buf, int64(e.Addr)); err != nil {
				t.Fatal(err)
			}
			if v, ok := decodeBlock(buf, crashScratchIdx, b, o.seed); !ok || (v != 0 && !o.issued[[2]int{crashScratchIdx, b}][v]) {
				t.Errorf("%s: %s block %d holds a mix, another block's data or a version never written", what, crashScratch, b)
				tally.mixed++
			}
		}
	}
	for fi, name := range crashNames {
		lf := c.byName[name]
		if lf == nil {
			if o.synced {
				t.Errorf("%s: file %s lost after a completed sync", what, name)
				tally.syncedLost++
			}
			continue
		}
		for b := range crashFileBlocks {
			data := zeros
			e, ok := lf.cf.Lookup(uint64(b)*blk, blk)
			if ok && e.Addr != ^uint64(0) {
				if e.Addr < dStart || e.Addr+blk > dStart+dLen {
					t.Errorf("%s: %s block %d at %d, outside the data area", what, name, b, e.Addr)
					tally.mixed++
					continue
				}
				if _, err := img.ReadAt(buf, int64(e.Addr)); err != nil {
					t.Fatal(err)
				}
				data = buf
			}
			v, ok := decodeBlock(data, fi, b, o.seed)
			k := [2]int{fi, b}
			switch {
			case !ok:
				t.Errorf("%s: %s block %d holds a mix or another block's data", what, name, b)
				tally.mixed++
			case v != 0 && !o.issued[k][v]:
				t.Errorf("%s: %s block %d holds version %d, never written", what, name, b, v)
				tally.mixed++
			case v < o.floor[k]:
				t.Errorf("%s: %s block %d holds version %d, version %d was synced", what, name, b, v, o.floor[k])
				tally.syncedLost++
			case v == 0:
				tally.zerosSeen++
			default:
				tally.versionsSeen++
			}
		}
	}
	return c
}

func randomOps(rnd *rand.Rand, n int) []op {
	ops := make([]op, 0, n)
	for range n {
		if rnd.IntN(100) < 5 {
			ops = append(ops, op{sync: true})
			continue
		}
		if rnd.IntN(100) < 6 {
			ops = append(ops, op{ns: nsOp(1 + rnd.IntN(3))})
			continue
		}
		w := op{file: rnd.IntN(crashFiles), n: 1 + rnd.IntN(2)}
		w.block = rnd.IntN(crashFileBlocks - w.n + 1)
		ops = append(ops, w)
	}
	return append(ops, op{sync: true}, op{file: 0, block: 0, n: 1})
}

func randomFate(rnd *rand.Rand) func(int) crashtest.Fate {
	return func(int) crashtest.Fate { return crashtest.Fate(rnd.IntN(3)) }
}

// TestCOWLogCrash is the crash harness: for each seed a random workload
// of writes and syncs (with background commits and checkpoints) is
// logged; then every flush point and -crash.points random points (the
// unflushed writes kept, dropped or torn at 512-byte sectors) are rebuilt,
// recovered and checked; for some of them the post-recovery checkpoint is
// logged in turn and crashed at every point.
func TestCOWLogCrash(t *testing.T) {
	var total crashTally
	start := time.Now()
	for s := range *crashSeeds {
		seed := uint64(time.Now().UnixNano()) + uint64(s)
		t.Logf("seed %d", seed)
		rnd := rand.New(rand.NewPCG(seed, 7))
		run := runCrashWorkload(t, seed, randomOps(rnd, *crashOps))
		var tally crashTally
		ev := run.events
		writes, flushes := crashtest.Counts(ev)
		points := []int{0}
		points = append(points, crashtest.FlushPoints(ev)...)
		points = append(points, len(ev))
		nflush := len(points)
		for range *crashPoints {
			points = append(points, rnd.IntN(len(ev)+1))
		}
		for i, k := range points {
			o := oracleAt(seed, ev[:k])
			img, err := crashtest.Crash(run.base, ev, k, 512, rnd, randomFate(rnd))
			if err != nil {
				t.Fatal(err)
			}
			what := fmt.Sprintf("seed %d point %d (event %d of %d)", seed, i, k, len(ev))
			tally.points++
			c := checkImage(t, img, o, &tally, what)
			if c == nil || t.Failed() {
				break
			}
			// Crash the recovery's own writes: every tenth flush point and
			// every hundredth random point.
			if (i < nflush && i%10 == 0) || (i >= nflush && i%100 == 0) {
				crashRecovery(t, img, o, rnd, &tally, what)
			}
		}
		t.Logf("seed %d: mapper %+v; %d crash images recovered from a checkpoint after the first", seed, run.stats, tally.checkpointsAt)
		t.Logf("seed %d: %d ops, %d device writes, %d flushes; %d crash points (%d at flushes), %d during recovery; "+
			"synced writes lost %d, mixed blocks %d, leaked/space errors %d; blocks seen: %d written versions, %d pre-write; %d torn journal tails",
			seed, *crashOps, writes, flushes, tally.points, nflush, tally.recoveryPoints, tally.syncedLost, tally.mixed, tally.leak,
			tally.versionsSeen, tally.zerosSeen, tally.tornTails)
		total.add(tally)
		if t.Failed() {
			return
		}
	}
	t.Logf("total: %d crash points replayed, %d during recovery; synced writes lost %d, mixed blocks %d, leaked blocks %d (%s)",
		total.points, total.recoveryPoints, total.syncedLost, total.mixed, total.leak, time.Since(start).Round(time.Millisecond))
}

// crashRecovery recovers img for real (an engine over a tmpfs copy), logs
// the commit recovery makes before the journal is used again (a new
// checkpoint), and checks a crash at every point of that log.
func crashRecovery(t *testing.T, crashed *crashtest.Image, o *oracle, rnd *rand.Rand, tally *crashTally, what string) {
	img := crashed.Bytes()
	path := shmImage(t, int64(len(img)))
	if err := os.WriteFile(path, img, 0o600); err != nil {
		t.Fatal(err)
	}
	rec := crashtest.NewRecorder()
	c, e, stop := logEngine(t, path, COWLogConfig{}, engine.Config{NewRing: rec.Factory(nil)})
	if err := c.Sync(e); err != nil {
		t.Fatalf("%s: sync after recovery: %v", what, err)
	}
	stop()
	ev := rec.Events()
	for k := 0; k <= len(ev); k++ {
		for range 3 {
			img2, err := crashtest.Crash(img, ev, k, 512, rnd, randomFate(rnd))
			if err != nil {
				t.Fatal(err)
			}
			tally.recoveryPoints++
			if checkImage(t, img2, o, tally, fmt.Sprintf("%s, recovery crashed at event %d of %d", what, k, len(ev))) == nil {
				return
			}
		}
	}
}

// TestCOWLogCrashEnumerate enumerates every sequence of up to three
// operations (write block 0, write block 1, sync, create-and-write the
// scratch file, remove it) and, for each, every crash point with every
// subset of the unflushed writes kept, and each of them torn.
func TestCOWLogCrashEnumerate(t *testing.T) {
	alphabet := []op{{file: 0, block: 0, n: 1}, {file: 0, block: 1, n: 1}, {sync: true}, {ns: nsCreate}, {ns: nsRemove}}
	var seqs [][]op
	var grow func(prefix []op)
	grow = func(prefix []op) {
		if len(prefix) > 0 {
			seqs = append(seqs, append([]op(nil), prefix...))
		}
		if len(prefix) == 3 {
			return
		}
		for _, a := range alphabet {
			grow(append(prefix, a))
		}
	}
	grow(nil)
	var tally crashTally
	rnd := rand.New(rand.NewPCG(1, 2))
	for si, seq := range seqs {
		run := runCrashWorkload(t, uint64(si+1), seq)
		ev := run.events
		for k := 0; k <= len(ev); k++ {
			o := oracleAt(run.seed, ev[:k])
			n := crashtest.Unflushed(ev, k)
			if n > 10 {
				t.Fatalf("sequence %d: %d unflushed writes, too many to enumerate", si, n)
			}
			for mask := 0; mask < 1<<n; mask++ {
				for torn := -1; torn < n; torn++ {
					if torn >= 0 && mask&(1<<torn) == 0 {
						continue
					}
					fate := func(i int) crashtest.Fate {
						switch {
						case i == torn:
							return crashtest.Torn
						case mask&(1<<i) != 0:
							return crashtest.Keep
						}
						return crashtest.Drop
					}
					img, err := crashtest.Crash(run.base, ev, k, 512, rnd, fate)
					if err != nil {
						t.Fatal(err)
					}
					tally.points++
					if checkImage(t, img, o, &tally, fmt.Sprintf("sequence %d %v, event %d, mask %b, torn %d", si, seq, k, mask, torn)) == nil || t.Failed() {
						return
					}
				}
			}
		}
	}
	t.Logf("%d sequences, %d crash images: synced writes lost %d, mixed blocks %d, leaked %d",
		len(seqs), tally.points, tally.syncedLost, tally.mixed, tally.leak)
}

// TestCOWLogCrashOnLoop replays a crash image on a real loop device:
// written to the device, recovered through OpenCOWLog, read back through
// the engine and checked against the oracle.
func TestCOWLogCrashOnLoop(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 3))
	run := runCrashWorkload(t, seed, randomOps(rnd, 60))
	ev := run.events
	fp := crashtest.FlushPoints(ev)
	k := fp[len(fp)/2] + crashtest.Unflushed(ev, len(ev))/2
	k = min(k, len(ev))
	img, err := crashtest.Crash(run.base, ev, k, 512, rnd, randomFate(rnd))
	if err != nil {
		t.Fatal(err)
	}
	o := oracleAt(seed, ev[:k])
	l := looptest.New(t, crashDevBytes, looptest.Options{LogicalBlockSize: blk})
	f, err := os.OpenFile(l.Path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(img.Bytes(), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c, e, _ := logEngine(t, l.Path, COWLogConfig{}, engine.Config{})
	t.Logf("recovered on %s: %+v", l.Path, c.Recovered())
	buf := e.Buffer(crashFileBlocks * blk)
	defer e.PutBuffer(buf)
	var tally crashTally
	for fi, name := range crashNames {
		fl, err := e.Open(name, engine.FileOptions{})
		if err != nil {
			if o.synced {
				t.Fatalf("%s: %v", name, err)
			}
			continue
		}
		if _, err := fl.ReadAt(buf, 0); err != nil {
			t.Fatal(err)
		}
		for b := range crashFileBlocks {
			v, ok := decodeBlock(buf[b*blk:(b+1)*blk], fi, b, seed)
			switch {
			case !ok || (v != 0 && !o.issued[[2]int{fi, b}][v]):
				tally.mixed++
			case v < o.floor[[2]int{fi, b}]:
				tally.syncedLost++
			}
		}
	}
	if err := c.Check(); err != nil {
		t.Error(err)
	}
	if tally.mixed+tally.syncedLost > 0 {
		t.Fatalf("on the loop device: %d mixed blocks, %d synced writes lost", tally.mixed, tally.syncedLost)
	}
	_ = device.Options{}
}
