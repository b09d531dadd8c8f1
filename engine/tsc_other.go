//go:build !amd64

package engine

// rdtsc is not available here: the cpu clock is refused (haveTSC).
func rdtsc() uint64 { return 0 }

const haveTSC = false
