// Package workloads describes I/O: jobs and their options (the one option
// table both job files and the iobench command line use), a parser for a
// subset of fio's job-file format, offset/size generators, and the data
// verification format. It imports no engine code.
//
// # Job files
//
// [global] and job sections, a job inheriting the [global] options that
// come before it; whole-line comments (# and ;); key=value or bare boolean
// keys; fio's units (4k is 4096: k, m, g are powers of 1024); stonewall and
// wait_for split jobs into groups that run one after another. Options that
// only tune fio itself (ioengine=libaio, group_reporting, thread, …) are
// accepted with a notice; anything else iobench does not implement stops
// the parse with the option, the file and the line.
//
// iobench's own engine options (mapper, extents, map_latency, cache, …)
// go in a comment fio ignores, so the same file runs under both:
//
//	[cold]
//	rw=randread
//	#iobench: mapper=scattered extents=100000 map_latency=20us
//
// # Differences from fio
//
// iobench always does direct I/O (direct=0 is an error). Random offsets
// without norandommap hit every block once per pass; zipf and pareto put
// the hot set at the start of the region (fio scrambles it); a wait_for job
// starts a new group, so it waits for every job before it.
package workloads
