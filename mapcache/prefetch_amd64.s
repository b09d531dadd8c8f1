#include "textflag.h"

// func prefetchLine(p unsafe.Pointer)
TEXT ·prefetchLine(SB), NOSPLIT, $0-8
	MOVQ p+0(FP), AX
	PREFETCHT0 (AX)
	RET

// func prefetchNode(p unsafe.Pointer)
// Starts loading the sixteen cache lines of the 1024-byte leaf at p: its
// block begins 8 bytes before p, with Go's allocation header.
TEXT ·prefetchNode(SB), NOSPLIT, $0-8
	MOVQ p+0(FP), AX
	PREFETCHT0 -8(AX)
	PREFETCHT0 56(AX)
	PREFETCHT0 120(AX)
	PREFETCHT0 184(AX)
	PREFETCHT0 248(AX)
	PREFETCHT0 312(AX)
	PREFETCHT0 376(AX)
	PREFETCHT0 440(AX)
	PREFETCHT0 504(AX)
	PREFETCHT0 568(AX)
	PREFETCHT0 632(AX)
	PREFETCHT0 696(AX)
	PREFETCHT0 760(AX)
	PREFETCHT0 824(AX)
	PREFETCHT0 888(AX)
	PREFETCHT0 952(AX)
	RET
