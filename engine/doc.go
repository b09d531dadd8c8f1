// Package engine resolves file ranges through mapcache and submits device
// I/O through io_uring.
package engine
