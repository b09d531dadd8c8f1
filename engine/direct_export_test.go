package engine

// DirectQueuesMade returns how many direct queues e has made (and not
// retired), and how many of them are idle.
func (e *Engine) DirectQueuesMade() (made, idle int) {
	e.direct.mu.Lock()
	defer e.direct.mu.Unlock()
	return e.direct.made, len(e.direct.free)
}
