//go:build race || invariants

package mapcache

// invariants turns on a full Check after every modification: on in race
// builds (make test) and with -tags invariants, free otherwise.
const invariants = true
