package engine

// DirectQueuesMade returns how many direct queues e has made (and not
// retired), and how many of them are idle.
func (e *Engine) DirectQueuesMade() (made, idle int) {
	e.direct.mu.Lock()
	defer e.direct.mu.Unlock()
	return e.direct.made, len(e.direct.free)
}

// SetDirectSyscalls sets whether direct rings made from now on run a
// lone read or write as pread(2) or pwrite(2) (the default) or on the
// ring, and returns what puts it back.
func SetDirectSyscalls(on bool) (restore func()) {
	old := directSyscalls.Swap(on)
	return func() { directSyscalls.Store(old) }
}
