#include "textflag.h"

// func storeRelease(p *uint32, v uint32)
// x86 keeps a store after every earlier load and store (total store
// order), and the compiler cannot move memory operations across this
// call: a plain MOVL has release semantics.
TEXT ·storeRelease(SB), NOSPLIT, $0-12
	MOVQ p+0(FP), AX
	MOVL v+8(FP), BX
	MOVL BX, 0(AX)
	RET
