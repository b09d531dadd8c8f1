package engine

// OnSyncDelivery sets f to be called by a background queue with the
// request of each synchronous call (File.ReadAt and the like) just before
// it wakes the call's goroutine, and returns what takes f away. Set it
// before the engine starts and take it away after the engine has closed.
func OnSyncDelivery(f func(*Request)) (restore func()) {
	old := syncDelivered
	syncDelivered = f
	return func() { syncDelivered = old }
}

// OnYieldAfterWake sets f to be called by a background queue after each
// yield to the Go scheduler it makes on being woken by a request
// (Queue.yieldAfterWake), and returns what takes f away; as
// OnSyncDelivery.
func OnYieldAfterWake(f func()) (restore func()) {
	old := yieldedAfterWake
	yieldedAfterWake = f
	return func() { yieldedAfterWake = old }
}
