// Package mapcache (lead's stand-in): a sorted-slice extent cache with the
// design's semantics, for testing the engine until the B+tree lands.
package mapcache

import (
	"errors"
	"fmt"
	"iter"
	"sort"
	"sync"
	"sync/atomic"
)

type Type uint16

const (
	Hole          Type = 0
	Delalloc      Type = 1
	Mapped        Type = 2
	Unwritten     Type = 3
	Inline        Type = 4
	RetryCache    Type = 254
	PureOverwrite Type = 255
)

func (t Type) String() string {
	switch t {
	case Hole:
		return "hole"
	case Delalloc:
		return "delalloc"
	case Mapped:
		return "mapped"
	case Unwritten:
		return "unwritten"
	case Inline:
		return "inline"
	case RetryCache:
		return "retry-cache"
	case PureOverwrite:
		return "pure-overwrite"
	}
	return fmt.Sprintf("type(%d)", uint16(t))
}

const NullAddr, ToEOF = ^uint64(0), ^uint64(0)

type Mapping struct {
	Offset, Length, Addr uint64
	Type                 Type
	Flags                uint16
	Dev                  uint32
}

type Fork uint8

const (
	ReadFork Fork = iota
	WriteFork
)

type Result uint8

const (
	Hit Result = iota
	Miss
	NoFork
)

var (
	ErrCorrupt   = errors.New("mapcache: bad mapping")
	ErrUnaligned = errors.New("mapcache: unaligned range")
)

type Cache struct {
	mu    sync.RWMutex
	bs    uint64
	seq   atomic.Uint64
	forks [2][]Mapping
	hasWF bool
}

func New(blockSize uint32) *Cache { return &Cache{bs: uint64(blockSize)} }

func (c *Cache) BlockSize() uint32 { return uint32(c.bs) }
func (c *Cache) Seq() uint64       { return c.seq.Load() }
func (c *Cache) Valid(cookie uint64) bool {
	return c.seq.Load() == cookie
}

func storage(t Type) bool { return t == Mapped || t == Unwritten }

func (c *Cache) check(m Mapping) error {
	switch {
	case m.Length == 0:
		return fmt.Errorf("%w: zero length", ErrCorrupt)
	case m.Offset%c.bs != 0 || m.Length%c.bs != 0:
		return fmt.Errorf("%w: [%d,+%d)", ErrUnaligned, m.Offset, m.Length)
	case m.Offset+m.Length < m.Offset:
		return fmt.Errorf("%w: range overflows", ErrCorrupt)
	}
	switch m.Type {
	case Mapped, Unwritten:
		if m.Addr == NullAddr || m.Addr+m.Length < m.Addr {
			return fmt.Errorf("%w: address overflow", ErrCorrupt)
		}
	case Hole, Delalloc, Inline, PureOverwrite:
	default:
		return fmt.Errorf("%w: type %v", ErrCorrupt, m.Type)
	}
	return nil
}

func (c *Cache) Upsert(f Fork, m Mapping) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(m); err != nil {
		return err
	}
	c.upsert(f, m)
	return nil
}

func (c *Cache) upsert(f Fork, m Mapping) {
	if f == WriteFork && m.Type == PureOverwrite && !c.hasWF {
		return
	}
	if !storage(m.Type) {
		m.Addr = NullAddr
	}
	c.remove(f, m.Offset, m.Length)
	if f == WriteFork {
		c.hasWF = true
	}
	s := c.forks[f]
	i := sort.Search(len(s), func(i int) bool { return s[i].Offset > m.Offset })
	s = append(s, Mapping{})
	copy(s[i+1:], s[i:])
	s[i] = m
	// merge right then left
	if i+1 < len(s) && mergeable(s[i], s[i+1]) {
		s[i].Length += s[i+1].Length
		s = append(s[:i+1], s[i+2:]...)
	}
	if i > 0 && mergeable(s[i-1], s[i]) {
		s[i-1].Length += s[i].Length
		s = append(s[:i], s[i+1:]...)
	}
	c.forks[f] = s
	c.seq.Add(1)
}

func mergeable(a, b Mapping) bool {
	if a.Dev != b.Dev || a.Type != b.Type || a.Flags != b.Flags || a.Offset+a.Length != b.Offset {
		return false
	}
	if storage(a.Type) && a.Addr+a.Length != b.Addr {
		return false
	}
	return a.Length+b.Length < 1<<63
}

func (c *Cache) Remove(f Fork, off, length uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if length == 0 || off%c.bs != 0 || (length != ToEOF && length%c.bs != 0) {
		return fmt.Errorf("%w: remove [%d,+%d)", ErrUnaligned, off, length)
	}
	c.remove(f, off, length)
	return nil
}

func (c *Cache) remove(f Fork, off, length uint64) {
	end := off + length
	if length == ToEOF || end < off {
		end = ToEOF
	}
	var out []Mapping
	changed := false
	for _, m := range c.forks[f] {
		mend := m.Offset + m.Length
		if mend <= off || m.Offset >= end {
			out = append(out, m)
			continue
		}
		changed = true
		if m.Offset < off {
			l := m
			l.Length = off - m.Offset
			out = append(out, l)
		}
		if mend > end {
			r := m
			r.Offset = end
			r.Length = mend - end
			if storage(m.Type) {
				r.Addr = m.Addr + (end - m.Offset)
			}
			out = append(out, r)
		}
	}
	if changed {
		c.forks[f] = out
		c.seq.Add(1)
	}
}

func (c *Cache) Lookup(f Fork, off, length uint64) (Mapping, uint64, Result) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if f == WriteFork && !c.hasWF {
		return Mapping{}, c.seq.Load(), NoFork
	}
	s := c.forks[f]
	i := sort.Search(len(s), func(i int) bool { return s[i].Offset+s[i].Length > off })
	if i == len(s) || s[i].Offset > off {
		return Mapping{}, c.seq.Load(), Miss
	}
	got := s[i]
	aoff := off / c.bs * c.bs
	aend := (off + length + c.bs - 1) / c.bs * c.bs
	m := got
	m.Offset = aoff
	m.Length = min(aend-aoff, got.Length-(aoff-got.Offset))
	if storage(got.Type) {
		m.Addr = got.Addr + (aoff - got.Offset)
	} else {
		m.Addr = NullAddr
	}
	return m, c.seq.Load(), Hit
}

func (c *Cache) UpsertIf(cookie uint64, f Fork, ms ...Mapping) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seq.Load() != cookie {
		return false, nil
	}
	for _, m := range ms {
		if err := c.check(m); err != nil {
			return false, err
		}
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].Offset < ms[i-1].Offset+ms[i-1].Length {
			return false, fmt.Errorf("%w: overlapping mappings", ErrCorrupt)
		}
	}
	for _, m := range ms {
		c.upsert(f, m)
	}
	return true, nil
}

func (c *Cache) CommitWrite(off, length uint64) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	end := off + length
	var moved []Mapping
	for _, m := range c.forks[WriteFork] {
		if m.Offset+m.Length <= off || m.Offset >= end {
			continue
		}
		s, e := max(m.Offset, off), min(m.Offset+m.Length, end)
		t := m
		t.Offset, t.Length = s, e-s
		if storage(m.Type) {
			t.Addr = m.Addr + (s - m.Offset)
		}
		moved = append(moved, t)
	}
	c.remove(WriteFork, off, length)
	n := 0
	for _, m := range moved {
		if m.Type == PureOverwrite {
			continue
		}
		c.upsert(ReadFork, m)
		n++
	}
	return n, nil
}

func (c *Cache) All(f Fork) iter.Seq[Mapping] {
	return func(yield func(Mapping) bool) {
		c.mu.RLock()
		s := append([]Mapping(nil), c.forks[f]...)
		c.mu.RUnlock()
		for _, m := range s {
			if !yield(m) {
				return
			}
		}
	}
}

func (c *Cache) Len(f Fork) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.forks[f])
}

func (c *Cache) Check() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for f, s := range c.forks {
		for i, m := range s {
			if err := c.check(m); err != nil {
				return fmt.Errorf("fork %d record %d: %w", f, i, err)
			}
			if i > 0 && (s[i-1].Offset+s[i-1].Length > m.Offset || mergeable(s[i-1], m)) {
				return fmt.Errorf("fork %d records %d,%d overlap or could merge", f, i-1, i)
			}
		}
	}
	return nil
}
