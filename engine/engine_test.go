package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
	"github.com/iobench/iobench/mapcache"
)

const bs = 4096

// backing creates a file of sizeBytes for a test device, on tmpfs when the
// machine has it (fast, and supports O_DIRECT), filled with a pattern so
// that zero-fill bugs show.
func backing(t testing.TB, sizeBytes int64) string {
	t.Helper()
	dir := t.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "engine-test-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			dir = d
		}
	}
	path := filepath.Join(dir, "dev.img")
	buf := make([]byte, sizeBytes)
	for i := range buf {
		buf[i] = byte(i/bs*7 + 1)
	}
	if err := os.WriteFile(path, buf, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// openDev opens path as an engine device and closes it at cleanup.
func openDev(t testing.TB, path string, readOnly bool) *device.Device {
	t.Helper()
	d, err := device.Open(path, device.Options{ReadOnly: readOnly})
	if err != nil {
		t.Fatalf("device.Open(%s): %v", path, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// newTestEngine is engine.New for the tests. With IOBENCH_SYNC_PATH=background
// in the environment, as `make test` runs this package a second time,
// every engine it makes sends its synchronous calls (File.ReadAt,
// File.WriteAt, Sync, trims) through the background queues
// (Config.DirectQueues -1); unset, they take the direct queues, the
// default.
func newTestEngine(cfg engine.Config) (*engine.Engine, error) {
	if os.Getenv("IOBENCH_SYNC_PATH") == "background" && cfg.DirectQueues == 0 {
		cfg.DirectQueues = -1
	}
	return engine.New(cfg)
}

// newEngine makes an engine over one device of devSize bytes.
func newEngine(t testing.TB, devSize int64, m engine.Mapper, tweak func(*engine.Config)) (*engine.Engine, string) {
	t.Helper()
	path := backing(t, devSize)
	cfg := engine.Config{Devices: []*device.Device{openDev(t, path, false)}, Mapper: m, QueueDepth: 64}
	if tweak != nil {
		tweak(&cfg)
	}
	e, err := newTestEngine(cfg)
	if err != nil {
		if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EPERM) {
			t.Skipf("io_uring unavailable here: %v", err)
		}
		t.Fatalf("engine.New: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e, path
}

func fill(b []byte, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

func TestStripeRoundTrip(t *testing.T) {
	const blocks = 256
	m := newStripeMapper(blocks, bs, 1)
	e, _ := newEngine(t, blocks*bs, m, nil)
	f, err := e.Open("striped", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != blocks*bs {
		t.Fatalf("size %d, want %d", f.Size(), blocks*bs)
	}
	want := make([]byte, blocks*bs)
	fill(want, 42)
	wbuf := e.Buffer(len(want))
	copy(wbuf, want)
	defer e.PutBuffer(wbuf)
	if n, err := f.WriteAt(wbuf, 0); err != nil || n != len(want) {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	rbuf := e.Buffer(len(want))
	defer e.PutBuffer(rbuf)
	if n, err := f.ReadAt(rbuf, 0); err != nil || n != len(want) {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if !bytes.Equal(rbuf, want) {
		t.Fatal("read back differs from what was written")
	}
	// Odd ranges, crossing extents.
	for _, r := range [][2]int{{bs, bs}, {3 * bs, 17 * bs}, {100 * bs, 156 * bs}} {
		b := rbuf[:r[1]]
		clear(b)
		if n, err := f.ReadAt(b, int64(r[0])); err != nil || n != r[1] {
			t.Fatalf("ReadAt(%d,%d) = %d, %v", r[0], r[1], n, err)
		}
		if !bytes.Equal(b, want[r[0]:r[0]+r[1]]) {
			t.Fatalf("ReadAt(%d,%d) returned wrong data", r[0], r[1])
		}
	}
	s := e.Stats()
	if s.Splits == 0 || s.Hits == 0 || s.Misses == 0 || s.MapperCalls == 0 {
		t.Fatalf("stats do not show the work done: %+v", s)
	}
	if s.ReadBytes < uint64(len(want)) || s.WriteBytes != uint64(len(want)) {
		t.Fatalf("byte counters: read %d write %d, want >= %d and %d", s.ReadBytes, s.WriteBytes, len(want), len(want))
	}
}

func TestReadAtEOFAndBeyond(t *testing.T) {
	m := newStripeMapper(8, bs, 2)
	e, _ := newEngine(t, 8*bs, m, nil)
	f, err := e.Open("f", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.SetSize(5*bs + 100) // a partial last block
	b := e.Buffer(4 * bs)
	defer e.PutBuffer(b)
	n, err := f.ReadAt(b, 4*bs)
	if n != bs+100 || err != io.EOF {
		t.Fatalf("ReadAt across EOF = %d, %v; want %d, io.EOF", n, err, bs+100)
	}
	n, err = f.ReadAt(b, 8*bs)
	if n != 0 || err != io.EOF {
		t.Fatalf("ReadAt past EOF = %d, %v; want 0, io.EOF", n, err)
	}
	_, err = f.WriteAt(b, 4*bs)
	if !errors.Is(err, engine.ErrBeyondEOF) {
		t.Fatalf("WriteAt past EOF: %v, want ErrBeyondEOF", err)
	}
}

func TestUnaligned(t *testing.T) {
	m := newStripeMapper(8, bs, 3)
	e, _ := newEngine(t, 8*bs, m, nil)
	f, _ := e.Open("f", engine.FileOptions{})
	b := e.Buffer(2 * bs)
	defer e.PutBuffer(b)
	for _, c := range []struct {
		buf []byte
		off int64
	}{{b[:bs], 100}, {b[:100], 0}, {b[1 : bs+1], 0}} {
		_, err := f.ReadAt(c.buf, c.off)
		if !errors.Is(err, engine.ErrUnaligned) {
			t.Errorf("ReadAt(len %d, off %d): %v, want ErrUnaligned", len(c.buf), c.off, err)
		}
	}
	if _, err := f.ReadAt(b, -512); !errors.Is(err, engine.ErrNegativeOffset) || !strings.Contains(err.Error(), "-512") {
		t.Errorf("ReadAt at -512: %v, want ErrNegativeOffset naming the offset", err)
	}
	// A read at an offset whose range overflows is past the end of the
	// file (io.EOF, as ReadAt gives); the write-only ErrBeyondEOF is for
	// writes.
	done := make(chan *engine.Request, 1)
	r := &engine.Request{File: f, Offset: math.MaxUint64 - bs + 1, Buf: b[:bs], Done: done}
	if err := e.Submit(r); err != nil {
		t.Fatal(err)
	}
	if r = <-done; r.Err != io.EOF || r.N != 0 {
		t.Errorf("read at 2^64-%d: N %d, %v; want 0, io.EOF", bs, r.N, r.Err)
	}
	w := &engine.Request{File: f, Offset: math.MaxUint64 - bs + 1, Buf: b[:bs], Write: true, Done: done}
	if err := e.Submit(w); err != nil {
		t.Fatal(err)
	}
	if w = <-done; !errors.Is(w.Err, engine.ErrBeyondEOF) {
		t.Errorf("write at 2^64-%d: %v, want ErrBeyondEOF", bs, w.Err)
	}
	// nil requests are refused, not a panic.
	if err := e.Submit(nil); err == nil {
		t.Error("Engine.Submit(nil) accepted")
	}
	q, err := e.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Submit(nil); err == nil {
		t.Error("Queue.Submit(nil) accepted")
	}
}

// TestAsyncQueueDepths drives a caller-owned queue at several depths with
// requests of 1..16 blocks over a striped file and checks every byte.
func TestAsyncQueueDepths(t *testing.T) {
	const blocks = 1024
	m := newStripeMapper(blocks, bs, 4)
	e, _ := newEngine(t, blocks*bs, m, func(c *engine.Config) { c.QueueDepth = 128; c.ArenaBytes = 64 << 20 })
	f, _ := e.Open("f", engine.FileOptions{})
	want := make([]byte, blocks*bs)
	fill(want, 5)
	w := e.Buffer(len(want))
	copy(w, want)
	if _, err := f.WriteAt(w, 0); err != nil {
		t.Fatal(err)
	}
	e.PutBuffer(w)
	for _, depth := range []int{1, 4, 32, 128} {
		t.Run("qd"+itoa(depth), func(t *testing.T) {
			runQueue(t, e, f, want, depth, 2000)
		})
	}
}

func runQueue(t *testing.T, e *engine.Engine, f *engine.File, want []byte, depth, total int) {
	done := make(chan error, 1)
	go func() { done <- driveQueue(e, f, want, depth, total) }()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func driveQueue(e *engine.Engine, f *engine.File, want []byte, depth, total int) error {
	q, err := e.NewQueue()
	if err != nil {
		return err
	}
	defer q.Close()
	rng := rand.New(rand.NewPCG(uint64(depth), 9))
	blocks := len(want) / bs
	reqs := make([]engine.Request, depth)
	for i := range reqs {
		reqs[i].Buf = e.Buffer(16 * bs)
		defer e.PutBuffer(reqs[i].Buf[:16*bs])
	}
	issue := func(r *engine.Request) {
		n := 1 + rng.IntN(16)
		b := rng.IntN(blocks - n + 1)
		r.File, r.Offset, r.Buf = f, uint64(b*bs), r.Buf[:n*bs]
	}
	var done []*engine.Request
	submitted := 0
	for i := range reqs {
		issue(&reqs[i])
		if err := q.Submit(&reqs[i]); err != nil {
			return err
		}
		submitted++
	}
	for completed := 0; completed < submitted; {
		done, err = q.Reap(done[:0], 1)
		if err != nil {
			return err
		}
		for _, r := range done {
			completed++
			if r.Err != nil {
				return r.Err
			}
			if r.N != len(r.Buf) || !bytes.Equal(r.Buf, want[r.Offset:r.Offset+uint64(len(r.Buf))]) {
				return errors.New("wrong data at offset " + itoa(int(r.Offset)))
			}
			if r.Latency <= 0 {
				return errors.New("no latency recorded")
			}
			if r.SubmitLatency <= 0 || r.SubmitLatency > r.Latency {
				return fmt.Errorf("submit latency %v not within (0, %v]", r.SubmitLatency, r.Latency)
			}
			if submitted < total {
				issue(r)
				if err := q.Submit(r); err != nil {
					return err
				}
				submitted++
			}
		}
	}
	if q.InFlight() != 0 {
		return errors.New("requests left in flight")
	}
	return nil
}

func itoa(n int) string {
	return string(appendInt(nil, n))
}

func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// TestSubmitCallbacks uses the background queues from many goroutines.
func TestSubmitCallbacks(t *testing.T) {
	const blocks = 128
	m := newStripeMapper(blocks, bs, 6)
	e, _ := newEngine(t, blocks*bs, m, func(c *engine.Config) { c.Queues = 2 })
	f, _ := e.Open("f", engine.FileOptions{})
	want := make([]byte, blocks*bs)
	fill(want, 8)
	w := e.Buffer(len(want))
	copy(w, want)
	if _, err := f.WriteAt(w, 0); err != nil {
		t.Fatal(err)
	}
	e.PutBuffer(w)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan *engine.Request, 8)
			var cb sync.WaitGroup
			reqs := make([]engine.Request, 8)
			for i := range reqs {
				r := &reqs[i]
				r.File, r.Offset, r.Buf, r.Done = f, uint64((g*8+i)*bs), e.Buffer(2*bs), done
				if i%2 == 0 {
					cb.Add(1)
					r.Done = nil
					r.Callback = func(*engine.Request) { cb.Done() }
				}
				if err := e.Submit(r); err != nil {
					t.Error(err)
					return
				}
			}
			for range 4 {
				<-done
			}
			cb.Wait()
			for i := range reqs {
				r := &reqs[i]
				if r.Err != nil || !bytes.Equal(r.Buf, want[r.Offset:r.Offset+2*bs]) {
					mu.Lock()
					failures = append(failures, errors.Join(r.Err, errors.New("bad data at "+itoa(int(r.Offset)))))
					mu.Unlock()
				}
				e.PutBuffer(r.Buf)
			}
		}()
	}
	wg.Wait()
	for _, err := range failures {
		t.Error(err)
	}
	if err := e.Submit(&engine.Request{File: f}); err == nil {
		t.Error("Submit without Done or Callback accepted")
	}
}

// TestBadMappings: each malformed reply fails with ErrBadMapping and
// writes nothing.
func TestBadMappings(t *testing.T) {
	const size = 16 * bs
	devSize := int64(16 * bs)
	cases := []struct {
		name  string
		reply []mapcache.Mapping
	}{
		{"empty", nil},
		{"not covering", []mapcache.Mapping{{Offset: 8 * bs, Length: bs, Addr: 0, Type: mapcache.Mapped}}},
		{"overlap", []mapcache.Mapping{{Offset: 0, Length: 2 * bs, Addr: 0, Type: mapcache.Mapped}, {Offset: bs, Length: bs, Addr: 0, Type: mapcache.Mapped}}},
		{"beyond device", []mapcache.Mapping{{Offset: 0, Length: 2 * bs, Addr: uint64(devSize) - bs, Type: mapcache.Mapped}}},
		{"address overflow", []mapcache.Mapping{{Offset: 0, Length: bs, Addr: ^uint64(0) - 511, Type: mapcache.Mapped}}},
		{"unaligned", []mapcache.Mapping{{Offset: 0, Length: 1000, Addr: 0, Type: mapcache.Mapped}}},
		{"unknown type", []mapcache.Mapping{{Offset: 0, Length: bs, Addr: 0, Type: 77}}},
		{"no such device", []mapcache.Mapping{{Offset: 0, Length: bs, Addr: 0, Type: mapcache.Mapped, Dev: 3}}},
		{"zero length", []mapcache.Mapping{{Offset: 0, Length: 0, Addr: 0, Type: mapcache.Mapped}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := &badMapper{size: size, reply: func(*engine.MapRequest) ([]mapcache.Mapping, error) { return c.reply, nil }}
			e, path := newEngine(t, devSize, m, nil)
			before, _ := os.ReadFile(path)
			f, _ := e.Open("f", engine.FileOptions{})
			b := e.Buffer(2 * bs)
			defer e.PutBuffer(b)
			fill(b, 1)
			_, err := f.WriteAt(b, 0)
			if !errors.Is(err, engine.ErrBadMapping) {
				t.Fatalf("WriteAt: %v, want ErrBadMapping", err)
			}
			var ioErr *engine.IOError
			if !errors.As(err, &ioErr) || ioErr.File != "f" {
				t.Fatalf("error %v does not name the file", err)
			}
			if _, err := f.ReadAt(b, 0); !errors.Is(err, engine.ErrBadMapping) {
				t.Fatalf("ReadAt: %v, want ErrBadMapping", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Fatal("a rejected write changed the device")
			}
			if f.Cache().Len(mapcache.ReadFork) != 0 {
				t.Fatal("a rejected reply was cached")
			}
		})
	}
}

func TestMapperError(t *testing.T) {
	boom := errors.New("server went away")
	m := &badMapper{size: 4 * bs, reply: func(*engine.MapRequest) ([]mapcache.Mapping, error) { return nil, boom }}
	e, _ := newEngine(t, 4*bs, m, nil)
	f, _ := e.Open("f", engine.FileOptions{})
	b := e.Buffer(bs)
	defer e.PutBuffer(b)
	_, err := f.ReadAt(b, 0)
	if !errors.Is(err, engine.ErrMapper) || !errors.Is(err, boom) {
		t.Fatalf("ReadAt: %v, want ErrMapper wrapping the mapper's error", err)
	}
}

// TestHolesZeroFilled: holes, unwritten and delalloc read as zeros without
// device I/O; inline from a mapper without ReadInline is a bad mapping.
func TestHolesZeroFilled(t *testing.T) {
	m := &badMapper{size: 8 * bs, reply: func(req *engine.MapRequest) ([]mapcache.Mapping, error) {
		return []mapcache.Mapping{
			{Offset: 0, Length: 2 * bs, Addr: mapcache.NullAddr, Type: mapcache.Hole},
			{Offset: 2 * bs, Length: 2 * bs, Addr: 0, Type: mapcache.Unwritten},
			{Offset: 4 * bs, Length: 2 * bs, Addr: mapcache.NullAddr, Type: mapcache.Delalloc},
			{Offset: 6 * bs, Length: 2 * bs, Addr: 2 * bs, Type: mapcache.Mapped},
		}, nil
	}}
	e, path := newEngine(t, 8*bs, m, nil)
	f, _ := e.Open("f", engine.FileOptions{})
	b := e.Buffer(8 * bs)
	defer e.PutBuffer(b)
	for i := range b {
		b[i] = 0xee
	}
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:6*bs], make([]byte, 6*bs)) {
		t.Fatal("hole/unwritten/delalloc not zero-filled")
	}
	dev, _ := os.ReadFile(path)
	if !bytes.Equal(b[6*bs:], dev[2*bs:4*bs]) {
		t.Fatal("mapped range did not come from the device")
	}
	s := f.Stats()
	if s.ZeroBytes != 6*bs || s.ReadBytes != 2*bs || s.MapperCalls != 1 {
		t.Fatalf("stats: zero %d read %d calls %d", s.ZeroBytes, s.ReadBytes, s.MapperCalls)
	}
}

func TestNoCacheCallsMapperEveryTime(t *testing.T) {
	m := newStripeMapper(16, bs, 9)
	e, _ := newEngine(t, 16*bs, m, func(c *engine.Config) { c.NoCache = true })
	f, _ := e.Open("f", engine.FileOptions{})
	b := e.Buffer(bs)
	defer e.PutBuffer(b)
	for range 3 {
		if _, err := f.ReadAt(b, 0); err != nil {
			t.Fatal(err)
		}
	}
	if s := f.Stats(); s.MapperCalls != 3 || s.Hits != 0 || f.Cache().Len(mapcache.ReadFork) != 0 {
		t.Fatalf("cache off: %+v, cached %d", s, f.Cache().Len(mapcache.ReadFork))
	}
}

func TestClosedEngine(t *testing.T) {
	m := newStripeMapper(4, bs, 10)
	e, _ := newEngine(t, 4*bs, m, nil)
	f, _ := e.Open("f", engine.FileOptions{})
	b := e.Buffer(bs)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(b, 0); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("ReadAt after Close: %v", err)
	}
	if _, err := e.Open("g", engine.FileOptions{}); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("Open after Close: %v", err)
	}
	// A buffer still out when the engine closed stays valid until it is
	// put back (no fault), and a second PutBuffer panics.
	for i := range b {
		b[i] = 1
	}
	if e.Buffer(bs) != nil {
		t.Error("Buffer after Close returned memory")
	}
	e.PutBuffer(b)
	defer func() {
		if recover() == nil {
			t.Error("a second PutBuffer of the same buffer did not panic")
		}
	}()
	e.PutBuffer(b)
}

// A closed File refuses requests, synchronous and queued, with
// ErrFileClosed; the engine and other files carry on.
func TestClosedFile(t *testing.T) {
	m := newStripeMapper(4, bs, 10)
	e, _ := newEngine(t, 4*bs, m, nil)
	f, _ := e.Open("f", engine.FileOptions{})
	b := e.Buffer(bs)
	defer e.PutBuffer(b)
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(b, 0); !errors.Is(err, engine.ErrFileClosed) {
		t.Fatalf("ReadAt on a closed file: %v", err)
	}
	if _, err := f.WriteAt(b, 0); !errors.Is(err, engine.ErrFileClosed) {
		t.Fatalf("WriteAt on a closed file: %v", err)
	}
	done := make(chan *engine.Request, 1)
	if err := e.Submit(&engine.Request{File: f, Buf: b, Done: done}); err != nil {
		t.Fatal(err)
	}
	if r := <-done; !errors.Is(r.Err, engine.ErrFileClosed) {
		t.Fatalf("queued request on a closed file: %v", r.Err)
	}
	g, _ := e.Open("f", engine.FileOptions{})
	if g == f {
		t.Fatal("Open after Close returned the closed File")
	}
	if _, err := g.ReadAt(b, 0); err != nil {
		t.Fatalf("reopened file: %v", err)
	}
}

// TestStatsSeenWithCompletions checks that a queue's tallies reach the
// shared statistics before it hands requests back: after every Reap, the
// engine's and each file's counters cover exactly the requests returned so
// far, with two files interleaved on one queue (each switch of file
// flushes the other's tally).
func TestStatsSeenWithCompletions(t *testing.T) {
	const blocks = 64
	m := newStripeMapper(blocks, bs, 4)
	e, _ := newEngine(t, 2*blocks*bs, m, nil)
	files := []*engine.File{}
	for _, name := range []string{"a", "b"} {
		f, err := e.Open(name, engine.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	onQueue(t, e, func(q *engine.Queue) error {
		reqs := make([]engine.Request, 8)
		for i := range reqs {
			reqs[i].Buf = e.Buffer(bs)
			defer e.PutBuffer(reqs[i].Buf)
		}
		var got [2]uint64
		var done []*engine.Request
		var err error
		for round := range 20 {
			for i := range reqs {
				r := &reqs[i]
				r.File, r.Offset, r.Write = files[(i+round)%2], uint64((i*7+round)%blocks)*bs, false
				if err := q.Submit(r); err != nil {
					return err
				}
			}
			for reaped := 0; reaped < len(reqs); {
				if done, err = q.Reap(done[:0], 1); err != nil {
					return err
				}
				for _, r := range done {
					if r.Err != nil {
						return r.Err
					}
					reaped++
					if r.File == files[0] {
						got[0]++
					} else {
						got[1]++
					}
				}
				if s := e.Stats(); s.Reads != got[0]+got[1] || s.Requests != s.Reads || s.ReadBytes != (got[0]+got[1])*bs {
					return fmt.Errorf("engine stats %d reads, %d requests, %d bytes after %d completions", s.Reads, s.Requests, s.ReadBytes, got[0]+got[1])
				}
				for k, f := range files {
					if s := f.Stats(); s.Reads != got[k] || s.ReadBytes != got[k]*bs || s.Hits+s.Misses < got[k] {
						return fmt.Errorf("file %s: %d reads, %d bytes, %d lookups after %d completions", f.Name(), s.Reads, s.ReadBytes, s.Hits+s.Misses, got[k])
					}
				}
			}
		}
		return nil
	})
}

// An engine is never built over a closed device: its descriptor number
// could belong to another file by now.
func TestNewRefusesClosedDevice(t *testing.T) {
	d := openDev(t, backing(t, 64*bs), false)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := newTestEngine(engine.Config{Devices: []*device.Device{d}, Mapper: newStripeMapper(4, bs, 1)})
	if err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("New over a closed device: %v", err)
	}
}

// TestReadMemoFollowsTheCache: a queue keeps the whole mapping its last
// read resolved through (readMapping's memo) and answers reads within it
// without the cache; a read after the cache changed goes where the cache
// says. Block 9 is remapped to block 40 in the read fork between reads.
func TestReadMemoFollowsTheCache(t *testing.T) {
	const blocks = 64
	e, _ := newEngine(t, blocks*bs, mapper.NewLinear(0, 0, blocks*bs), nil)
	f, err := e.Open("f", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := e.Buffer(blocks * bs)
	defer e.PutBuffer(buf)
	for i := range blocks {
		for k := range bs {
			buf[i*bs+k] = byte(i + 1)
		}
	}
	if _, err := f.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	one := e.Buffer(bs)
	defer e.PutBuffer(one)
	read := func(block int) byte {
		t.Helper()
		if _, err := f.ReadAt(one, int64(block*bs)); err != nil {
			t.Fatal(err)
		}
		return one[0]
	}
	if a, b := read(5), read(9); a != 6 || b != 10 {
		t.Fatalf("blocks 5 and 9 read %d and %d, want 6 and 10", a, b)
	}
	if err := f.Cache().Upsert(mapcache.ReadFork, mapcache.Mapping{Offset: 9 * bs, Length: bs, Addr: 40 * bs, Type: mapcache.Mapped}); err != nil {
		t.Fatal(err)
	}
	if a, b, c := read(9), read(5), read(10); a != 41 || b != 6 || c != 11 {
		t.Fatalf("after block 9 went to block 40: blocks 9, 5 and 10 read %d, %d and %d, want 41, 6 and 11", a, b, c)
	}
}

// TestCallbackSubmits: a Callback may hand new requests to Engine.Submit,
// which picks the queue itself (round robin), so that one lands on the
// callback's own queue, whose channel the callback's goroutine is the one
// to empty. With two queues of depth 4 and each callback submitting two
// more, the channels fill: every request must still complete (the
// queue's own goroutine used to wait forever for room in its channel,
// or in the other queue's while that one waited for it).
func TestCallbackSubmits(t *testing.T) {
	const blocks, total = 64, 400
	m := newStripeMapper(blocks, bs, 2)
	for _, queues := range []int{1, 2} {
		e, _ := newEngine(t, blocks*bs, m, func(c *engine.Config) { c.Queues, c.QueueDepth = queues, 4 })
		f, err := e.Open("f", engine.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var submitted, completed atomic.Int64
		all := make(chan struct{})
		var failed atomic.Value
		var cb func(*engine.Request)
		submit := func() {
			n := submitted.Add(1)
			if n > total {
				return
			}
			r := &engine.Request{File: f, Offset: uint64(n%blocks) * bs, Buf: make([]byte, bs), Callback: cb}
			if err := e.Submit(r); err != nil {
				failed.Store(err)
			}
		}
		cb = func(r *engine.Request) {
			if r.Err != nil {
				failed.Store(r.Err)
			}
			submit()
			submit()
			if completed.Add(1) == total {
				close(all)
			}
		}
		for range 8 {
			submit()
		}
		select {
		case <-all:
		case <-time.After(60 * time.Second):
			t.Fatalf("%d queues: %d of %d requests completed after 60 s: the queues are stuck", queues, completed.Load(), total)
		}
		if err, _ := failed.Load().(error); err != nil {
			t.Fatalf("%d queues: %v", queues, err)
		}
	}
}

// TestRequestErrorsMatchable: what a caller gets wrong has an error that
// errors.Is matches and that names the thing at fault (a library audit
// found these unmatched, or a closed queue reported as "engine closed").
func TestRequestErrorsMatchable(t *testing.T) {
	const blocks = 16
	e, _ := newEngine(t, blocks*bs, newStripeMapper(blocks, bs, 1), nil)
	f, err := e.Open("f", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Trim(-bs, bs); !errors.Is(err, engine.ErrNegativeOffset) {
		t.Errorf("Trim at -%d: %v; want ErrNegativeOffset", bs, err)
	}
	if err := f.SyncRange(0, -1, 0); !errors.Is(err, engine.ErrNegativeOffset) {
		t.Errorf("SyncRange of -1 bytes: %v; want ErrNegativeOffset", err)
	}
	if _, err := e.Open("g", engine.FileOptions{BlockSize: 256}); err == nil || !strings.Contains(err.Error(), "multiple of the request alignment") {
		t.Errorf("Open with BlockSize 256 under a 512-byte alignment: %v", err)
	}
	q, err := e.NewQueue()
	if err != nil {
		t.Fatal(err)
	}
	r := &engine.Request{File: f, Sync: engine.Sync(77)}
	if err := q.Submit(r); err != nil {
		t.Fatal(err)
	}
	done, err := q.Reap(nil, 1)
	if err != nil || len(done) != 1 || !errors.Is(done[0].Err, engine.ErrBadRequest) {
		t.Errorf("Sync(77): %v, %v; want ErrBadRequest", err, done)
	}
	q.Close()
	if err := q.Submit(&engine.Request{File: f, Buf: make([]byte, bs)}); !errors.Is(err, engine.ErrClosed) || !strings.Contains(err.Error(), "queue closed") {
		t.Errorf("Submit to a closed queue: %v; want ErrClosed, naming the queue", err)
	}
	if _, err := q.Reap(nil, 1); !errors.Is(err, engine.ErrClosed) || !strings.Contains(err.Error(), "queue closed") {
		t.Errorf("Reap of a closed queue: %v", err)
	}
	done2 := make(chan *engine.Request, 1)
	if err := e.Submit(&engine.Request{Buf: make([]byte, bs), Done: done2}); err != nil {
		t.Fatal(err)
	}
	if r := <-done2; !errors.Is(r.Err, engine.ErrBadRequest) {
		t.Errorf("a request with no file: %v; want ErrBadRequest", r.Err)
	}
}

// TestStatsAcrossQueues: each queue adds to its own shard of the counters
// and the shards of a closed queue's id pass to the next queue that takes
// it. Three queues read two files at once (over the null ring, so that
// their flushes are many and close together) while another goroutine
// watches the engine's and the files' counters only grow; they close, two
// more take their ids and read on, and direct queues (ReadAt) read too.
// Every figure is then exactly what was done, none lost and none twice.
func TestStatsAcrossQueues(t *testing.T) {
	const blocks = 64
	e, _ := newEngine(t, 2*blocks*bs, newStripeMapper(blocks, bs, 4), func(c *engine.Config) { c.NewRing = engine.NewNullRing })
	var files [2]*engine.File
	for i, name := range []string{"a", "b"} {
		f, err := e.Open(name, engine.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		files[i] = f
	}
	var want [2]atomic.Uint64 // reads done per file
	readOn := func(q *engine.Queue, seed, n int) error {
		reqs := make([]engine.Request, 4)
		for i := range reqs {
			reqs[i].Buf = e.Buffer(bs)
			defer e.PutBuffer(reqs[i].Buf)
		}
		var done []*engine.Request
		for i := range n {
			k := (seed + i) % 2
			r := &reqs[i%len(reqs)]
			r.File, r.Offset, r.Write = files[k], uint64((seed*5+i*3)%blocks)*bs, false
			if err := q.Submit(r); err != nil {
				return err
			}
			if i%len(reqs) < len(reqs)-1 && i < n-1 {
				continue
			}
			for q.InFlight() > 0 {
				var err error
				if done, err = q.Reap(done[:0], 1); err != nil {
					return err
				}
				for _, r := range done {
					if r.Err != nil {
						return r.Err
					}
					if r.File == files[0] {
						want[0].Add(1)
					} else {
						want[1].Add(1)
					}
				}
			}
		}
		return nil
	}
	stop := make(chan struct{})
	watched := make(chan error, 1)
	go func() {
		var last [3]uint64
		for {
			now := [3]uint64{e.Stats().Reads, files[0].Stats().Reads, files[1].Stats().Reads}
			for i := range now {
				if now[i] < last[i] {
					watched <- fmt.Errorf("counter %d went from %d to %d", i, last[i], now[i])
					return
				}
			}
			last = now
			select {
			case <-stop:
				watched <- nil
				return
			default:
			}
		}
	}()
	for round, queues := range []int{3, 2} {
		errs := make(chan error, queues)
		for g := range queues {
			go func() {
				errs <- func() error {
					q, err := e.NewQueue()
					if err != nil {
						return err
					}
					defer q.Close()
					return readOn(q, round*10+g, 20000+g)
				}()
			}()
		}
		for range queues {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
	buf := e.Buffer(bs)
	defer e.PutBuffer(buf)
	for i := range 30 {
		if _, err := files[i%2].ReadAt(buf, int64(i)*bs); err != nil {
			t.Fatal(err)
		}
		want[i%2].Add(1)
	}
	close(stop)
	if err := <-watched; err != nil {
		t.Fatal(err)
	}
	total := want[0].Load() + want[1].Load()
	if s := e.Stats(); s.Reads != total || s.Requests != total || s.ReadBytes != total*bs {
		t.Fatalf("engine: %d reads, %d requests, %d bytes; want %d reads", s.Reads, s.Requests, s.ReadBytes, total)
	}
	for k, f := range files {
		if s := f.Stats(); s.Reads != want[k].Load() || s.ReadBytes != want[k].Load()*bs {
			t.Fatalf("file %s: %d reads, %d bytes; want %d reads", f.Name(), s.Reads, s.ReadBytes, want[k].Load())
		}
	}
}
