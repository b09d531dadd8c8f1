#include "textflag.h"

// func prefetchStep(slot, a, b unsafe.Pointer)
// A leaf's 1024-byte block begins 8 bytes before the leaf (Go's allocation
// header): its first half is the eight lines from a-8, its second the
// eight from b+504.
TEXT ·prefetchStep(SB), NOSPLIT, $0-24
	MOVQ slot+0(FP), AX
	TESTQ AX, AX
	JZ first
	PREFETCHT0 (AX)
first:
	MOVQ a+8(FP), AX
	TESTQ AX, AX
	JZ second
	PREFETCHT0 -8(AX)
	PREFETCHT0 56(AX)
	PREFETCHT0 120(AX)
	PREFETCHT0 184(AX)
	PREFETCHT0 248(AX)
	PREFETCHT0 312(AX)
	PREFETCHT0 376(AX)
	PREFETCHT0 440(AX)
second:
	MOVQ b+16(FP), AX
	TESTQ AX, AX
	JZ done
	PREFETCHT0 504(AX)
	PREFETCHT0 568(AX)
	PREFETCHT0 632(AX)
	PREFETCHT0 696(AX)
	PREFETCHT0 760(AX)
	PREFETCHT0 824(AX)
	PREFETCHT0 888(AX)
	PREFETCHT0 952(AX)
done:
	RET
