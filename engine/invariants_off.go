//go:build !race && !invariants

package engine

const invariants = false
