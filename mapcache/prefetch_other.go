//go:build !amd64

package mapcache

import "unsafe"

// Elsewhere a prefetch is a no-op.

func prefetchStep(slot, a, b unsafe.Pointer) {}
