package mapcache

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// TestLargeTreeOnHugePages builds a tree past hugeLeaves and checks that
// the memory under its leaves is in huge pages, as /proc/self/smaps
// reports it for the mappings that hold them; a small tree asks for
// nothing.
func TestLargeTreeOnHugePages(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skipf("transparent huge pages unavailable here (%q, %v)", strings.TrimSpace(string(mode)), err)
	}
	regions := func() (asked, refused int, last syscall.Errno) {
		hugeRegions.mu.Lock()
		defer hugeRegions.mu.Unlock()
		return len(hugeRegions.done), hugeRegions.refused, hugeRegions.lastErr
	}
	before, _, _ := regions()
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
	if got, _, _ := regions(); got != before {
		t.Errorf("a tree of %d leaves asked for %d huge pages", small.forks[ReadFork].leaves, got-before)
	}
	const n = 200_000
	c := build(n)
	tr := &c.forks[ReadFork]
	if tr.leaves < hugeLeaves {
		t.Fatalf("%d records made %d leaves, want at least %d", n, tr.leaves, hugeLeaves)
	}
	maps, err := anonHuge()
	if err != nil {
		t.Fatal(err)
	}
	// The mappings that hold the leaves of the large tree (the Go heap
	// is one or a few), and their huge pages.
	held := map[int]bool{}
	for l := tr.first; l != nil; l = l.next {
		a := uintptr(unsafe.Pointer(l))
		i := sort.Search(len(maps), func(i int) bool { return maps[i].hi > a })
		if i == len(maps) || a < maps[i].lo {
			t.Fatalf("no mapping in /proc/self/smaps holds the leaf at %#x", a)
		}
		held[i] = true
	}
	hugeKiB := 0
	for i := range held {
		hugeKiB += maps[i].hugeKiB
	}
	asked, refused, last := regions()
	hugeRegions.mu.Lock()
	lastLeaf := tr.first
	for lastLeaf.next != nil {
		lastLeaf = lastLeaf.next
	}
	lastAsked := hugeRegions.done[uintptr(unsafe.Pointer(lastLeaf))&^(hugePage-1)]
	hugeRegions.mu.Unlock()
	if !lastAsked {
		t.Fatal("the region holding the tree's last leaf was not asked for a huge page")
	}
	if hugeKiB == 0 {
		t.Errorf("the %d mappings holding the tree's leaves have no huge pages (%d regions asked for, %d refused, the last with %v)",
			len(held), asked-before, refused, last)
	}
	runtime.KeepAlive(c)
}

// mapping is a mapping of /proc/self/smaps with its AnonHugePages.
type mapping struct {
	lo, hi  uintptr
	hugeKiB int
}

// anonHuge returns the mappings of /proc/self/smaps in address order.
func anonHuge() ([]mapping, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var maps []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 {
			maps = append(maps, mapping{lo: lo, hi: hi})
			continue
		}
		var kib int
		if n, _ := fmt.Sscanf(line, "AnonHugePages: %d kB", &kib); n == 1 && len(maps) > 0 {
			maps[len(maps)-1].hugeKiB = kib
		}
	}
	return maps, sc.Err()
}
