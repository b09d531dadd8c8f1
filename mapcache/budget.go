package mapcache

import (
	"sync/atomic"
)

// Budget bounds the memory a set of caches holds. When a modification
// takes the set over the limit, the cache that grew drops read-fork
// records, a leaf at a time from the start of the file, until the set is
// back under 90% of the limit or its read fork is empty. Write-fork records
// are never evicted: they are where writes in flight go. Eviction changes
// the sequence, like any modification.
//
// A Budget is safe for concurrent use.
type Budget struct {
	limit        int64
	used         atomic.Int64
	evicted      atomic.Uint64
	evictedBytes atomic.Uint64
}

// NewBudget returns a budget of limitBytes.
func NewBudget(limitBytes uint64) *Budget { return &Budget{limit: int64(limitBytes)} }

// Used returns the bytes the budget's caches hold.
func (b *Budget) Used() uint64 { return uint64(max(b.used.Load(), 0)) }

// Limit returns the budget's limit.
func (b *Budget) Limit() uint64 { return uint64(b.limit) }

// Evicted returns how many records, mapping how many bytes, were evicted.
func (b *Budget) Evicted() (records, bytes uint64) { return b.evicted.Load(), b.evictedBytes.Load() }

// SetBudget makes c count against b (nil: no bound). Call it before the
// cache is used.
func (c *Cache) SetBudget(b *Budget) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.budget != nil {
		c.budget.used.Add(-c.accounted)
		c.accounted = 0
	}
	c.budget = b
	if b != nil {
		b.note(c)
	}
}

// note brings b's usage up to date with c (c's lock held).
func (b *Budget) note(c *Cache) {
	mem := int64(c.forks[0].memory() + c.forks[1].memory())
	b.used.Add(mem - c.accounted)
	c.accounted = mem
}

// enforceBudget evicts from c's read fork while the budget is exceeded.
func (c *Cache) enforceBudget() {
	b := c.budget
	if b == nil || b.used.Load() <= b.limit {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &c.forks[ReadFork]
	target := b.limit / 10 * 9
	for b.used.Load() > target && t.count > 0 {
		l := t.first
		last, _ := t.chunk(l, l.n-1)
		n, bytes := uint64(t.heads), t.bytes
		c.remove(t, l.recs[0].off, last.End())
		// Heads cannot grow: the range starts at the first record, so no
		// chain is cut in two.
		b.evicted.Add(n - uint64(t.heads))
		b.evictedBytes.Add(bytes - t.bytes)
		c.evictedRecs.Add(n - uint64(t.heads))
		c.evictedBytes.Add(bytes - t.bytes)
		c.changed()
	}
}
