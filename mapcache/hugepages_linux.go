package mapcache

import (
	"sync"
	"sync/atomic"
	"syscall"
)

// Tree nodes live on the Go heap, which Linux backs with 4 KiB pages unless
// the program asks for huge ones (transparent huge pages in their usual
// "madvise" mode; the Go runtime asks only for its own metadata). A lookup
// in a tree of a million extents reads four or five nodes spread over
// tens of megabytes: with 4 KiB pages nearly every one is a TLB miss, and
// on a virtual machine a miss is a two-level page walk. So once a tree is
// large (hugeNode), each 2 MiB region of the heap that one of its new
// nodes lands in is collapsed into a huge page (MADV_COLLAPSE, Linux 6.1:
// synchronous, independent of the system's THP mode except "never"; the
// page's other contents are kept). MADV_HUGEPAGE would not do: the runtime
// maps heap memory with a fresh mmap as it grows, which drops the advice,
// and a region already touched stays in small pages until khugepaged gets
// to it. Measured on a 2-vCPU VM, 4 KiB random reads through a warm
// 1M-extent cache (iobench, loop device, QD 32, alternating runs): 0.49-0.92x
// of the linear mapper with small pages, 0.79-1.35x with the system in THP
// "always" mode.

const hugePage = 2 << 20

// madvCollapse is MADV_COLLAPSE (Linux 6.1), which package syscall lacks.
const madvCollapse = 25

var hugeRegions struct {
	last    atomic.Uintptr // the region collapsed last: most new nodes land there
	mu      sync.Mutex
	done    map[uintptr]bool
	refused int           // regions the kernel did not collapse
	lastErr syscall.Errno // and why, the last time
}

// collapseTries is how many times a region is offered to MADV_COLLAPSE
// while the kernel answers EAGAIN (a transient failure: a page locked or
// off the LRU lists for a moment).
const collapseTries = 3

// adviseHuge collapses the 2 MiB region holding addr into a huge page,
// once per region. Errors are counted (for tests) and otherwise ignored:
// where the kernel cannot (no THP, no memory to spare, a region not
// wholly mapped yet) the region simply stays in small pages.
func adviseHuge(addr uintptr) {
	r := addr &^ (hugePage - 1)
	if hugeRegions.last.Load() == r {
		return
	}
	hugeRegions.mu.Lock()
	defer hugeRegions.mu.Unlock()
	if hugeRegions.done == nil {
		hugeRegions.done = make(map[uintptr]bool)
	}
	if !hugeRegions.done[r] {
		hugeRegions.done[r] = true
		for try := 1; ; try++ {
			_, _, e := syscall.Syscall(syscall.SYS_MADVISE, r, hugePage, madvCollapse)
			if e == 0 {
				break
			}
			if e != syscall.EAGAIN || try == collapseTries {
				hugeRegions.refused++
				hugeRegions.lastErr = e
				break
			}
		}
	}
	hugeRegions.last.Store(r)
}
