package engine

// ReadvFixedAvailable reports whether the kernel's io_uring takes
// IORING_OP_READV_FIXED, as the engine found it.
func ReadvFixedAvailable() bool { return probeReadvFixed() }
