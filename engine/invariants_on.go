//go:build race || invariants

package engine

// invariants turns on the queue's consistency checks after every fill: on
// in race builds (make test) and with -tags invariants, free otherwise.
const invariants = true
