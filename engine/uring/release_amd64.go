package uring

// storeRelease stores v at *p with release ordering: loads and stores
// before it are seen to happen before it (release_amd64.s). On x86 that
// is a plain store, where atomic.StoreUint32 is an XCHG, a locked
// instruction that waits for the processor's store buffer to drain: the
// ring's tail and head are published once or twice per I/O at depth 1,
// two of the seven locked instructions the job thread ran per 4 KiB read.
//
//go:noescape
func storeRelease(p *uint32, v uint32)
