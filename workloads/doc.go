// Package workloads describes I/O: jobs and their options (the one option
// table both job files and the iobench command line use), a parser for a
// subset of fio's job-file format, offset/size generators, and the data
// verification format. It imports no engine code.
//
// # Job files
//
// [global] and job sections, a job inheriting the [global] options that
// come before it (and ParseOptions.Global, the command line's); whole-line
// comments (# and ;); key=value, or an option alone where fio 3.33 takes
// it alone (time_based, not direct), names in lower case; "include FILE";
// fio's units (4k is 4096, 4kib 4000 with the default kb_base=1024);
// stonewall and wait_for split jobs into groups that run one after
// another. A fio option iobench does not implement (Refused) stops the
// parse with the option, the reason, the file and the line; the few that
// cannot change what is measured (Notices) are accepted with a notice
// saying so.
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
// Random offsets are fio 3.33's, those of zipf, pareto, normal, zoned and
// zoned_abs too (but zoned with random_generator=lfsr, and any of them
// with zonemode=strided, which take iobench's own draws); a wait_for job
// starts a new group, so it waits for every job before it.
package workloads
