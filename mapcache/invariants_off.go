//go:build !race && !invariants

package mapcache

const invariants = false
