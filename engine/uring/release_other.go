//go:build !amd64

package uring

import "sync/atomic"

// storeRelease stores v at *p with release ordering (an atomic store
// where no cheaper one is written).
func storeRelease(p *uint32, v uint32) { atomic.StoreUint32(p, v) }
