package mapcache

import "unsafe"

// prefetchStep starts loading (prefetch_amd64.s) the cache line at slot,
// the first half of leaf a's lines and the second half of leaf b's,
// skipping the nil ones, and does not wait for them. A prefetch
// instruction never faults.
//
//go:noescape
func prefetchStep(slot, a, b unsafe.Pointer)
