package engine

import _ "unsafe" // go:linkname

// nanotime is the runtime's monotonic clock, the one time.Now and
// time.Since read (CLOCK_MONOTONIC through the vDSO), without their
// wrapping: time.Since through its Time costs about 35 instructions a
// reading more, about 100 per 4 KiB read at depth 1 (callgrind, the
// difference of two runs of 20000 and 60000 reads). The runtime keeps this
// name linkable for the packages that use it so (go.dev/issue/67401).
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64
