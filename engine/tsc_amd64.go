package engine

// rdtsc reads the CPU's time-stamp counter (RDTSC), unserialized, as fio's
// cpu clock does: about 10 ns a reading on a KVM guest, where a
// CLOCK_MONOTONIC reading through the vDSO costs 25 ns.
//
//go:noescape
func rdtsc() uint64

// haveTSC says whether this architecture has a counter to read.
const haveTSC = true
