package engine_test

import (
	"bytes"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/mapcache"
)

// churnMapper maps block b to device block b, and for its first churn
// calls (all when churn < 0) first changes the cache elsewhere in the
// file, as another writer's commit would: the reply it gives is then
// stale when the engine stores it.
type churnMapper struct {
	layoutMapper
	churn int64
	calls atomic.Int64
}

func (m *churnMapper) MapRead(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	if n := m.calls.Add(1); m.churn < 0 || n <= m.churn {
		far := uint64(len(m.at)-1) * bs
		if err := req.File.Cache().Upsert(mapcache.ReadFork, mapcache.Mapping{Offset: far, Length: bs,
			Addr: uint64(n%2) * bs, Type: mapcache.Mapped}); err != nil {
			return dst, err
		}
	}
	return m.layoutMapper.MapRead(req, dst)
}

// TestStaleRepliesSettle: a read whose mapper replies keep going stale
// (the file's cache changes under each) gets through once the changes
// stop, even after more than the 64 rounds a lookup takes at first; when
// they never stop, it fails with ErrMapper after its patience, not hangs.
func TestStaleRepliesSettle(t *testing.T) {
	at := []int64{0, 1, 2, 3}
	for _, c := range []struct {
		name  string
		churn int64
	}{{"200 stale replies", 200}, {"stale forever", -1}} {
		t.Run(c.name, func(t *testing.T) {
			old := engine.SetResolvePatience(300 * time.Millisecond)
			defer engine.SetResolvePatience(old)
			m := &churnMapper{layoutMapper: layoutMapper{at: at}, churn: c.churn}
			e, _ := newEngine(t, 16*bs, m, nil)
			f, err := e.Open("f", engine.FileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			b := e.Buffer(bs)
			defer e.PutBuffer(b)
			start := time.Now()
			_, err = f.ReadAt(b, 0)
			took := time.Since(start)
			if c.churn >= 0 {
				if err != nil {
					t.Fatalf("ReadAt after %d stale replies: %v", m.calls.Load(), err)
				}
				if s := e.Stats(); s.StaleRetries < 64 {
					t.Fatalf("%d stale retries, want over 64", s.StaleRetries)
				}
				return
			}
			if !errors.Is(err, engine.ErrMapper) || !strings.Contains(err.Error(), "kept changing") {
				t.Fatalf("ReadAt: %v, want ErrMapper: the cache kept changing", err)
			}
			if took < 300*time.Millisecond || took > 5*time.Second {
				t.Fatalf("gave up after %v, want the 300ms patience", took)
			}
		})
	}
}

// churnCOW is a cowMapper whose first churn MapWrite calls first change
// the file's cache elsewhere, as another writer's commit would.
type churnCOW struct {
	*cowMapper
	churn int64
	calls atomic.Int64
}

func (m *churnCOW) MapWrite(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	if n := m.calls.Add(1); n <= m.churn {
		if err := req.File.Cache().Upsert(mapcache.ReadFork, mapcache.Mapping{Offset: 7 * bs, Length: bs,
			Addr: uint64(100+n%2) * bs, Type: mapcache.Mapped}); err != nil {
			return dst, err
		}
	}
	return m.cowMapper.MapWrite(req, dst)
}

// TestStaleWriteRepliesSettle: the same for a write whose out-of-place
// location keeps going stale (what CI's TestCOWOnLoop met): it lands once
// the changes stop, and reads back.
func TestStaleWriteRepliesSettle(t *testing.T) {
	m := &churnCOW{cowMapper: newCOWMapper(256, 8, bs), churn: 200}
	e, _ := newEngine(t, 256*bs, m, nil)
	f, err := e.Open("f", engine.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := e.Buffer(bs)
	defer e.PutBuffer(b)
	fill(b, 5)
	want := append([]byte(nil), b...)
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatalf("WriteAt after %d stale replies: %v", m.calls.Load(), err)
	}
	if m.calls.Load() <= 64 {
		t.Fatalf("%d MapWrite calls: the replies did not go stale past 64 rounds", m.calls.Load())
	}
	clear(b)
	if _, err := f.ReadAt(b, 0); err != nil || !bytes.Equal(b, want) {
		t.Fatalf("read back: %v, or wrong data", err)
	}
}
