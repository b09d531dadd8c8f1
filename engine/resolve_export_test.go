package engine

import "time"

// SetResolvePatience sets how long a lookup goes on past maxResolve
// rounds of stale replies, and returns the old setting.
func SetResolvePatience(d time.Duration) time.Duration {
	old := resolvePatience
	resolvePatience = d
	return old
}
