package mapper

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/faultring"
	"github.com/iobench/iobench/mapcache"
)

// shmImage creates a zeroed image file of sizeBytes on tmpfs (O_DIRECT
// works there) and returns its path.
func shmImage(t testing.TB, sizeBytes int64) string {
	t.Helper()
	dir := t.TempDir()
	if d, err := os.MkdirTemp("/dev/shm", "cowlog-test-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	p := filepath.Join(dir, "dev.img")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, sizeBytes); err != nil {
		t.Fatal(err)
	}
	return p
}

// logEngine opens the cowlog at path and an engine over it; both are
// closed at cleanup (or earlier through the returned stop).
func logEngine(t testing.TB, path string, cfg COWLogConfig, ecfg engine.Config) (*COWLog, *engine.Engine, func()) {
	t.Helper()
	c, err := OpenCOWLog(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d, err := device.Open(path, device.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ecfg.Devices, ecfg.Mapper = []*device.Device{d}, c
	if ecfg.QueueDepth == 0 {
		ecfg.QueueDepth = 32
	}
	e, err := engine.New(ecfg)
	if err != nil {
		d.Close()
		if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EPERM) {
			t.Skipf("io_uring unavailable: %v", err)
		}
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		if err := c.Shutdown(); err != nil {
			t.Error(err)
		}
		if err := e.Close(); err != nil {
			t.Error(err)
		}
		d.Close()
	}
	t.Cleanup(stop)
	return c, e, stop
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v + byte(i/4096)
	}
}

func TestCOWLogPersists(t *testing.T) {
	path := shmImage(t, 16<<20)
	if err := FormatCOWLog(path, COWLogConfig{}); err != nil {
		t.Fatal(err)
	}
	if p, err := ProbeCOWLog(path); err != nil || p != ProbeFormatted {
		t.Fatalf("probe: %q %v", p, err)
	}
	c, e, stop := logEngine(t, path, COWLogConfig{}, engine.Config{})
	if !c.Recovered().Formatted {
		t.Fatalf("fresh format: %+v", c.Recovered())
	}
	if err := c.Create("a", 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("b", 256<<10); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("gone", 64<<10); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("a", 10); !errors.Is(err, ErrFileExists) {
		t.Fatalf("second create: %v", err)
	}
	fa, err := e.Open("a", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fb, err := e.Open("b", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := e.Buffer(64 << 10)
	fill(buf, 1)
	if _, err := fa.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := fa.WriteAt(buf[:8192], 128<<10); err != nil {
		t.Fatal(err)
	}
	fill(buf, 7)
	if _, err := fa.WriteAt(buf[:4096], 4096); err != nil { // overwrite
		t.Fatal(err)
	}
	if _, err := fb.WriteAt(buf, 64<<10); err != nil {
		t.Fatal(err)
	}
	gone, err := e.Open("gone", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gone.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove("gone"); !errors.Is(err, ErrFileOpen) {
		t.Fatalf("remove of an open file: %v", err)
	}
	if err := gone.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove("gone"); err != nil {
		t.Fatal(err)
	}
	if err := fb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Truncate("b", 96<<10); err != nil { // keeps 64K..96K
		t.Fatal(err)
	}
	if err := fa.Sync(); err != nil {
		t.Fatal(err)
	}
	// Not synced: may be lost, but must not break anything.
	if _, err := fa.WriteAt(buf[:4096], 512<<10); err != nil {
		t.Fatal(err)
	}
	usedBefore := c.space.TotalBytes() - c.FreeBytes()
	e.PutBuffer(buf)
	stop()
	_ = usedBefore

	c, e, _ = logEngine(t, path, COWLogConfig{}, engine.Config{})
	r := c.Recovered()
	if r.Txns == 0 || r.Files != 2 {
		t.Fatalf("recovered %+v", r)
	}
	list := c.List()
	if len(list) != 2 || list[0] != (FileInfo{"a", 1 << 20}) || list[1] != (FileInfo{"b", 96 << 10}) {
		t.Fatalf("list %+v", list)
	}
	// a: 0..64K version 1 except 4K..8K version 7; 128K..136K version 1.
	want := make([]byte, 1<<20)
	fill(want[:64<<10], 1)
	fill(want[128<<10:136<<10], 1)
	copy(want[4096:8192], func() []byte { b := make([]byte, 4096); fill(b, 7); return b }())
	fa, err = e.Open("a", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := e.Buffer(1 << 20)
	defer e.PutBuffer(got)
	if _, err := fa.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:512<<10], want[:512<<10]) || !bytes.Equal(got[516<<10:], want[516<<10:]) {
		t.Fatal("file a differs after reopen")
	}
	if _, err := c.Sync(e), c.Check(); err != nil {
		t.Fatal(err)
	}
	// Space: a's blocks (+ maybe the unsynced one), b's 32K.
	used := c.space.TotalBytes() - c.FreeBytes()
	if used != 72<<10+32<<10 && used != 76<<10+32<<10 {
		t.Fatalf("%d bytes used after recovery", used)
	}
}

// TestCOWLogGroupCommit runs concurrent writers that each sync after
// every write: syncs share commits (fewer commits than syncs), and
// everything is there after a reopen.
func TestCOWLogGroupCommit(t *testing.T) {
	path := shmImage(t, 16<<20)
	if err := FormatCOWLog(path, COWLogConfig{}); err != nil {
		t.Fatal(err)
	}
	c, e, stop := logEngine(t, path, COWLogConfig{CreateSize: 256 << 10}, engine.Config{Queues: 2})
	const writers, writes = 8, 20
	// On a fast device every sync may find no commit running and make
	// its own. Hold the first commit until two other writers are in
	// Sync with their writes recorded: the next commit covers both.
	var inSync atomic.Int32
	var once sync.Once
	c.beforeMetaWrite = func() {
		once.Do(func() {
			for deadline := time.Now().Add(20 * time.Second); inSync.Load() < 3; time.Sleep(50 * time.Microsecond) {
				if time.Now().After(deadline) {
					t.Errorf("the first commit was held 20s and %d writers were in Sync", inSync.Load())
					return
				}
			}
		})
	}
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			f, err := e.Open(fmt.Sprintf("w%d", w), engine.FileOptions{})
			if err != nil {
				errs <- err
				return
			}
			buf := e.Buffer(4096)
			defer e.PutBuffer(buf)
			for i := range writes {
				fill(buf, byte(w*writes+i))
				if _, err := f.WriteAt(buf, int64(i)*4096); err != nil {
					errs <- err
					return
				}
				inSync.Add(1)
				err := f.Sync()
				inSync.Add(-1)
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	st := c.Stats()
	t.Logf("%d syncs made %d commits (%d records)", writers*writes, st.Commits, st.RecordsCommitted)
	if st.Commits >= writers*writes {
		t.Errorf("%d syncs made %d commits: none shared", writers*writes, st.Commits)
	}
	stop()
	c, e, _ = logEngine(t, path, COWLogConfig{}, engine.Config{})
	buf := e.Buffer(4096)
	want := make([]byte, 4096)
	for w := range writers {
		f, err := e.Open(fmt.Sprintf("w%d", w), engine.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range writes {
			fill(want, byte(w*writes+i))
			if _, err := f.ReadAt(buf, int64(i)*4096); err != nil || !bytes.Equal(buf, want) {
				t.Fatalf("w%d block %d lost after sync (%v)", w, i, err)
			}
		}
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestCOWLogJournalWriteError fails the journal's writes: Sync reports
// the error, nothing acknowledged is lost, and the next Sync writes it.
func TestCOWLogJournalWriteError(t *testing.T) {
	path := shmImage(t, 16<<20)
	if err := FormatCOWLog(path, COWLogConfig{}); err != nil {
		t.Fatal(err)
	}
	var failMeta atomic.Bool
	var metaEnd atomic.Uint64
	c, e, stop := logEngine(t, path, COWLogConfig{CreateSize: 256 << 10}, engine.Config{
		NewRing: faultring.NewFactory(nil, func(fr *faultring.Ring) {
			fr.Inject = func(op *engine.Op) faultring.Fault {
				if failMeta.Load() && op.Write && op.Offset < metaEnd.Load() {
					return faultring.Fault{Errno: syscall.EIO}
				}
				return faultring.Fault{}
			}
		}),
	})
	start, _ := c.Layout()
	metaEnd.Store(start)
	f, err := e.Open("a", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := e.Buffer(8192)
	fill(buf, 3)
	if _, err := f.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	failMeta.Store(true)
	if err := e.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("sync with failing journal writes: %v", err)
	}
	if _, err := f.WriteAt(buf[:4096], 64<<10); err != nil {
		t.Fatal(err)
	}
	failMeta.Store(false)
	if err := e.Sync(); err != nil {
		t.Fatal(err)
	}
	stop()
	c, e, _ = logEngine(t, path, COWLogConfig{}, engine.Config{})
	f, err = e.Open("a", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := e.Buffer(8192)
	if _, err := f.ReadAt(got, 0); err != nil || !bytes.Equal(got, buf) {
		t.Fatalf("data written before the failed sync lost (%v)", err)
	}
	if _, err := f.ReadAt(got[:4096], 64<<10); err != nil || !bytes.Equal(got[:4096], buf[:4096]) {
		t.Fatalf("data written after the failed sync lost (%v)", err)
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestCOWLogNoSpace overwrites a file of half the data area with no sync
// and background commits only when space runs out: space overwrites
// release is not reusable until a commit, so a write fails with
// ErrNoSpace, which starts a commit; after it the writes go on, and a
// file as big as the data area cannot be overwritten at all.
func TestCOWLogNoSpace(t *testing.T) {
	path := shmImage(t, 4<<20)
	if err := FormatCOWLog(path, COWLogConfig{}); err != nil {
		t.Fatal(err)
	}
	c, e, _ := logEngine(t, path, COWLogConfig{CommitBytes: 1 << 40}, engine.Config{})
	_, dataLen := c.Layout()
	half := dataLen / 2 / 4096 * 4096
	if err := c.Create("half", half); err != nil {
		t.Fatal(err)
	}
	f, err := e.Open("half", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := e.Buffer(4096)
	fill(buf, 9)
	nospace := 0
	for n := int64(0); n < int64(3*half); n += 4096 {
		_, err := f.WriteAt(buf, n%int64(half))
		if errors.Is(err, engine.ErrNoSpace) {
			nospace++
			c.bg.Wait() // the commit the failure started
			_, err = f.WriteAt(buf, n%int64(half))
		}
		if err != nil {
			t.Fatalf("write %d: %v", n, err)
		}
	}
	if nospace == 0 || c.Stats().BackgroundCommits == 0 {
		t.Fatalf("%d ENOSPC, %d background commits: the test did not run out of space", nospace, c.Stats().BackgroundCommits)
	}
	if err := e.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove("half"); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("big", dataLen); err != nil {
		t.Fatal(err)
	}
	if err := e.Sync(); err != nil { // the removal frees the space
		t.Fatal(err)
	}
	big, err := e.Open("big", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for n := int64(0); n < int64(dataLen); n += 4096 {
		if _, err := big.WriteAt(buf, n); err != nil {
			t.Fatalf("write %d of a file as big as the data area: %v", n, err)
		}
	}
	if _, err := big.WriteAt(buf, 0); !errors.Is(err, engine.ErrNoSpace) {
		t.Fatalf("overwrite of a full device: %v", err)
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestCOWLogQueueSync syncs through a caller-owned queue (no background
// hand-off) while other writes are in flight on it.
func TestCOWLogQueueSync(t *testing.T) {
	path := shmImage(t, 16<<20)
	if err := FormatCOWLog(path, COWLogConfig{}); err != nil {
		t.Fatal(err)
	}
	_, e, stop := logEngine(t, path, COWLogConfig{CreateSize: 1 << 20}, engine.Config{})
	f, err := e.Open("q", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := e.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	reqs := make([]engine.Request, 8)
	for i := range reqs {
		reqs[i] = engine.Request{File: f, Offset: uint64(i) * 4096, Buf: e.Buffer(4096), Write: true}
		fill(reqs[i].Buf, byte(10+i))
	}
	if err := q.Submit(&reqs[0], &reqs[1], &reqs[2], &reqs[3]); err != nil {
		t.Fatal(err)
	}
	done, err := q.Reap(nil, 4)
	if err != nil || len(done) != 4 {
		t.Fatalf("reap: %d %v", len(done), err)
	}
	// Four more in flight while the first four are synced.
	if err := q.Submit(&reqs[4], &reqs[5], &reqs[6], &reqs[7]); err != nil {
		t.Fatal(err)
	}
	if err := q.Sync(); err != nil {
		t.Fatal(err)
	}
	done, err = q.Reap(done[:0], 4)
	if err != nil || len(done) != 4 {
		t.Fatalf("reap after sync: %d %v", len(done), err)
	}
	for _, r := range reqs {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	stop()
	_, e, _ = logEngine(t, path, COWLogConfig{}, engine.Config{})
	f, err = e.Open("q", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, want := e.Buffer(4096), make([]byte, 4096)
	for i := range 4 {
		fill(want, byte(10+i))
		if _, err := f.ReadAt(got, int64(i)*4096); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("block %d synced through the queue is lost (%v)", i, err)
		}
	}
}

// TestCOWLogNoAllocs: the per-write mapper calls (MapWrite, EndWrite with
// its remap record, Free) allocate nothing in steady state.
func TestCOWLogNoAllocs(t *testing.T) {
	path := shmImage(t, 64<<20)
	if err := FormatCOWLog(path, COWLogConfig{}); err != nil {
		t.Fatal(err)
	}
	c, e, _ := logEngine(t, path, COWLogConfig{CreateSize: 1 << 20}, engine.Config{})
	f, err := e.Open("a", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req := &engine.MapRequest{File: f, Length: 4096}
	dst := make([]mapcache.Mapping, 0, 16)
	freed := make([]mapcache.Mapping, 0, 16)
	end := &engine.WriteEnd{File: f, OutOfPlace: true}
	off := uint64(0)
	cycle := func() {
		req.Offset = off
		var err error
		if dst, err = c.MapWrite(req, dst[:0]); err != nil {
			t.Fatal(err)
		}
		end.Written = dst[0]
		if freed, err = c.EndWrite(end, freed[:0]); err != nil {
			t.Fatal(err)
		}
		c.Free(freed)
		off = (off + 4096) % (1 << 20)
	}
	for range 600 { // every block written once: later writes release space
		cycle()
	}
	if err := e.Sync(); err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(2000, cycle); allocs != 0 {
		t.Fatalf("%v allocations per write", allocs)
	}
}
