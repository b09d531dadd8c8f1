package mapper_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper"
)

// TestAsyncEveryMapper writes a file through each writable mapper, then
// reads it back through caller-owned queues at depths 1 to 128 with
// requests of 1 to 16 blocks (so most span several extents), checking
// every byte, and writes asynchronously at depth 32 and reads that back.
func TestAsyncEveryMapper(t *testing.T) {
	const devSize, fileSize = 64 << 20, 16 << 20
	mappers := map[string]func() engine.Mapper{
		"linear": func() engine.Mapper { return mapper.NewLinear(0, 0, fileSize) },
		"scattered": func() engine.Mapper {
			s, err := mapper.NewScattered(mapper.ScatteredConfig{DeviceLength: devSize, FileSize: fileSize, Extents: 1000, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		"cow": func() engine.Mapper {
			c, err := mapper.NewCOW(mapper.COWConfig{Length: devSize, FileSize: fileSize})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
	}
	for name, mk := range mappers {
		t.Run(name, func(t *testing.T) {
			e, _ := loopEngine(t, devSize, mk(), 1)
			f, err := e.Open("f", engine.FileOptions{Size: fileSize})
			if err != nil {
				t.Fatal(err)
			}
			want := pattern(fileSize, 5)
			b := e.Buffer(1 << 20)
			for off := 0; off < fileSize; off += len(b) {
				copy(b, want[off:])
				if _, err := f.WriteAt(b, int64(off)); err != nil {
					t.Fatal(err)
				}
			}
			e.PutBuffer(b)
			for _, qd := range []int{1, 8, 32, 128} {
				if err := onQueue(e, f, want, qd, 400, false); err != nil {
					t.Fatalf("qd %d: %v", qd, err)
				}
			}
			// Asynchronous writes of a new pattern, then reads.
			want = pattern(fileSize, 6)
			if err := onQueue(e, f, want, 32, fileSize/(16*bs), true); err != nil {
				t.Fatalf("async writes: %v", err)
			}
			if err := onQueue(e, f, want, 32, 400, false); err != nil {
				t.Fatalf("reads after async writes: %v", err)
			}
		})
	}
}

// onQueue runs total requests at depth qd on a queue owned by a goroutine
// of its own. Reads check the bytes against want; writes (in order, 16
// blocks each, covering the file) store want.
func onQueue(e *engine.Engine, f *engine.File, want []byte, qd, total int, write bool) error {
	errc := make(chan error, 1)
	go func() { errc <- runQueue(e, f, want, qd, total, write) }()
	return <-errc
}

func runQueue(e *engine.Engine, f *engine.File, want []byte, qd, total int, write bool) error {
	q, err := e.NewQueue()
	if err != nil {
		return err
	}
	defer q.Close()
	rng := rand.New(rand.NewPCG(uint64(qd), 7))
	blocks := len(want) / bs
	reqs := make([]engine.Request, qd)
	for i := range reqs {
		reqs[i].Buf = e.Buffer(16 * bs)
		if reqs[i].Buf == nil {
			return fmt.Errorf("buffer arena exhausted")
		}
		defer e.PutBuffer(reqs[i].Buf[:16*bs])
	}
	next := 0
	issue := func(r *engine.Request) bool {
		if next >= total {
			return false
		}
		if write {
			r.File, r.Offset, r.Write, r.Buf = f, uint64(next*16*bs), true, r.Buf[:16*bs]
			copy(r.Buf, want[r.Offset:])
		} else {
			n := 1 + rng.IntN(16)
			at := rng.IntN(blocks - n + 1)
			r.File, r.Offset, r.Write, r.Buf = f, uint64(at*bs), false, r.Buf[:n*bs]
		}
		next++
		return q.Submit(r) == nil
	}
	for i := range reqs {
		issue(&reqs[i])
	}
	var done []*engine.Request
	deadline := time.Now().Add(time.Minute)
	for q.InFlight() > 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("requests still in flight after a minute")
		}
		done, err = q.Reap(done[:0], 1)
		if err != nil {
			return err
		}
		for _, r := range done {
			if r.Err != nil {
				return r.Err
			}
			if !r.Write && !bytes.Equal(r.Buf, want[r.Offset:r.Offset+uint64(len(r.Buf))]) {
				return fmt.Errorf("read at %d (%d bytes) returned wrong data", r.Offset, len(r.Buf))
			}
			issue(r)
		}
	}
	return nil
}
