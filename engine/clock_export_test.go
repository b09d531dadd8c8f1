package engine

// SetBackTSC makes the engine's counter clock as a virtual machine
// restored from a snapshot can find it: set back, every reading behind the
// calibration's, so that the clock stands still. It reports false where
// there is no counter clock; restore puts the pairing in force back.
func SetBackTSC() (restore func(), ok bool) {
	c := tscCur.Load()
	if c == nil {
		return func() {}, false
	}
	stale := *c
	stale.tsc0 = rdtsc() + 1<<40
	tscCur.Store(&stale)
	return func() { tscCur.Store(c) }, true
}

// TSCCheckEvery is how many pumps of a queue pass between its checks of
// the counter clock.
const TSCCheckEvery = tscCheckEvery
