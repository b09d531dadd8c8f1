// Package workloads parses fio-style job files and generates offsets and sizes.
package workloads
