// Package mapcache is a per-file cache of file-range to device-address
// mappings with a read fork and an optional write fork.
package mapcache
