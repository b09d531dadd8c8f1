//go:build !linux

package mapcache

// adviseHuge is Linux's huge-page advice (hugepages_linux.go); elsewhere
// the heap stays as the runtime made it.
func adviseHuge(uintptr) {}
