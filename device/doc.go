// Package device opens block devices and regular files for direct I/O.
package device
