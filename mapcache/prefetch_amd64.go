package mapcache

import "unsafe"

// Prefetch instructions (prefetch_amd64.s): they start a load into the
// processor's caches and do not wait for it, and never fault.

//go:noescape
func prefetchLine(p unsafe.Pointer)

//go:noescape
func prefetchHalf(p unsafe.Pointer)
