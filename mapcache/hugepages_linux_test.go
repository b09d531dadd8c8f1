package mapcache

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// TestLargeTreeOnHugePages builds a tree past hugeLeaves and checks that
// the memory under its last leaf is a huge page, as /proc/self/smaps
// reports it; a small tree asks for nothing.
func TestLargeTreeOnHugePages(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skipf("transparent huge pages unavailable here (%q, %v)", strings.TrimSpace(string(mode)), err)
	}
	regions := func() int {
		hugeRegions.mu.Lock()
		defer hugeRegions.mu.Unlock()
		return len(hugeRegions.done)
	}
	before := regions()
	// Built with the tree's own insert: Upsert would check every
	// invariant after each record in race builds, which at this size takes
	// minutes. Each tree is checked once at the end.
	build := func(n uint64) *Cache {
		c := New(bs)
		for i := range n {
			c.forks[ReadFork].insert(mapped(2*i, 1, 3*i), false)
		}
		if err := c.check(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	small := build(20_000)
	if got := regions(); got != before {
		t.Errorf("a tree of %d leaves asked for %d huge pages", small.forks[ReadFork].leaves, got-before)
	}
	const n = 200_000
	c := build(n)
	tr := &c.forks[ReadFork]
	if tr.leaves < hugeLeaves {
		t.Fatalf("%d records made %d leaves, want at least %d", n, tr.leaves, hugeLeaves)
	}
	last := tr.first
	for last.next != nil {
		last = last.next
	}
	huge, err := anonHugeKiB(uintptr(unsafe.Pointer(last)))
	if err != nil {
		t.Fatal(err)
	}
	if huge == 0 {
		t.Errorf("the mapping holding the tree's last leaf has no huge pages")
	}
}

// anonHugeKiB returns the AnonHugePages of the mapping holding addr.
func anonHugeKiB(addr uintptr) (int, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 {
			in = addr >= lo && addr < hi
			continue
		}
		var kib int
		if in {
			if n, _ := fmt.Sscanf(line, "AnonHugePages: %d kB", &kib); n == 1 {
				return kib, nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no mapping in /proc/self/smaps holds %#x", addr)
}
