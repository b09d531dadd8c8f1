#include "textflag.h"

// func prefetchLine(p unsafe.Pointer)
TEXT ·prefetchLine(SB), NOSPLIT, $0-8
	MOVQ p+0(FP), AX
	PREFETCHT0 (AX)
	RET

// func prefetchHalf(p unsafe.Pointer)
// Starts loading eight cache lines, 512 bytes from p-8: half of a leaf
// (whose 1024-byte block begins 8 bytes before the leaf, with Go's
// allocation header).
TEXT ·prefetchHalf(SB), NOSPLIT, $0-8
	MOVQ p+0(FP), AX
	PREFETCHT0 -8(AX)
	PREFETCHT0 56(AX)
	PREFETCHT0 120(AX)
	PREFETCHT0 184(AX)
	PREFETCHT0 248(AX)
	PREFETCHT0 312(AX)
	PREFETCHT0 376(AX)
	PREFETCHT0 440(AX)
	RET
