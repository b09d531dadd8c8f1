//go:build !race

package engine

// ownedAdd adds n to *p and ownedStore stores v there: p is a counter or
// slot that one goroutine (a queue's owner) writes and others read with
// atomic loads. Outside race builds they are plain memory operations: on
// amd64 an atomic add or store is a locked instruction, a full barrier
// that cost 6-7 ns each here, and a queue made six of them per I/O at
// depth 1 (BenchmarkQueueNull). A racing read of a word-sized location
// sees some value written to it (the Go memory model), so a reader gets
// the count before or after the add, never a torn one; whoever learns of
// a completion through the owner (a channel send, a Reap return) sees
// everything the owner stored before. Race builds make them atomic
// (owned_race.go), so that the race detector checks the rest.
func ownedAdd(p *uint64, n uint64) { *p += n }

func ownedStore(p *uint64, v uint64) { *p = v }
