// Package uring is the project's io_uring binding on golang.org/x/sys/unix.
package uring
