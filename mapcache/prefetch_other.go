//go:build !amd64

package mapcache

import "unsafe"

// Elsewhere a prefetch is a no-op.

func prefetchLine(unsafe.Pointer) {}
func prefetchHalf(unsafe.Pointer) {}
