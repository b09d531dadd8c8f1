//go:build race

package engine

import "sync/atomic"

// ownedAdd and ownedStore are owned.go's, atomic for the race detector.
func ownedAdd(p *uint64, n uint64) { atomic.AddUint64(p, n) }

func ownedStore(p *uint64, v uint64) { atomic.StoreUint64(p, v) }
