// Package mapcache is a file's extent cache: the mappings from file ranges
// to device addresses that the engine looks up before asking a mapper. It
// follows the Linux "fuse: cache iomaps" design (an adaptation of the XFS
// in-core extent tree). Standard library only, no I/O.
//
// Each Cache has a read fork (where the data is) and a write fork (where
// out-of-place writes in flight go), which does not exist until a mapping
// other than PureOverwrite is stored in it: a missing write fork means every
// write overwrites the read mapping in place.
//
// Invariants of a fork, checked by Check (and, in race or -tags invariants
// builds, after every modification): records sorted by offset, non
// overlapping, non-empty, block-aligned, of storable types, addresses only
// on Mapped and Unwritten records, and no two neighbours that could merge
// (same device, type and flags, file-contiguous, address-contiguous for
// Mapped/Unwritten, merged length within 2^63). Every modification bumps
// the sequence, so a cookie from Lookup or Seq is valid until the next
// change to either fork; UpsertIf stores a mapper's reply only if its
// cookie is still valid. Bad input returns an error wrapping a sentinel and
// changes nothing.
//
// Lookups share a read lock and allocate nothing; modifications are
// exclusive. A Budget bounds the memory of a set of caches by evicting
// read-fork records (never write-fork ones).
//
// # The tree and its sizes
//
// Each fork is a B+tree with linked leaves (tree.go). A record is 16
// bytes, as in XFS's in-core extent tree: its offset (the search key, a
// whole word) and a packed word with the length and address in units of
// the block size and a two-bit index into the leaf's dictionary of {type,
// flags, device}. A record that does not fit the word (an address not
// block-aligned or at 2^40 blocks or more, or a fourth kind in one leaf) is
// escaped to a side table keyed by offset. A Mapped or Unwritten record
// holds at most 2^21 blocks (8 GiB at 4 KiB blocks); longer mappings are
// chains of records, which the API shows joined: Lookup, Overlapping, All,
// Len and Stats see one record per chain, the merging rules (and Check)
// apply to the joined records, and within a chain no two neighbours would
// fit in one record. NullAddr and ToEOF keep their meanings: types without
// storage store no address, and their records hold up to 2^61 blocks.
//
// A leaf is 1016 bytes, the 1024-byte size class with Go's 8-byte header:
// links, count and dictionary in the first cache line, then 60 records,
// each key beside its word, four to a line in fifteen whole lines (unused
// records hold a sentinel key above every offset). A search compares the
// first key of each line (independent loads: a cold leaf costs one
// memory latency, not one per probe), then searches one line, which holds
// the record's word too. Inner nodes hold 63 children and search the same
// way over eight lines of keys (1536-byte class). Appends split full
// nodes so the left stays full, so sequential builds have full leaves; a
// full leaf first sheds records into a sibling with room, so random builds
// leave leaves about 85% full. Deletes merge an underfull node into a
// neighbour and free empty nodes; removing everything frees the tree at
// once.
//
// Measured on this project's CI machine class (2 vCPU, shared and busy:
// single runs vary by 30%), in three rounds alternating with the layout
// before it (the 64 keys in eight lines, then 56 words: 56 records per
// leaf), each with
// `go test -run - -bench 'LookupVsFlat|Memory|Build1M' -benchtime 20x ./mapcache`
// and `go test -run - -bench 'Upsert|Remove' -benchtime 1000000x ./mapcache`.
// Lookups are of random offsets (half in holes), timed in the same
// benchmark as the reference, a binary search over a sorted []uint64 of
// the same starts, in alternating blocks of 64K probes; x-flat is the
// ratio (range over the rounds).
//
//	extents   Lookup        FlatSearch  x-flat     keys, then words
//	1K         66-74 ns      46-52 ns   1.43-1.44  1.34-1.35
//	100K      104-141 ns     84-110 ns  1.24-1.28  1.23-1.25
//	1M        120-165 ns    178-216 ns  0.67-0.77  0.63-0.69
//	10M       322-364 ns    382-460 ns  0.79-0.84  0.75-0.83
//
//	Build1M sequential    18.1 B/extent (keys, then words: 19.3; target <= 20)
//	Build1M random        21.4 B/extent (22.9; target <= 30)
//	Memory10M sequential  180 MB, 18.0 B/extent (192 MB; target < 250 MB)
//	Memory10M random      212 MB, 21.2 B/extent (227 MB)
//	UpsertAppend 146-157 ns (133-137), UpsertRandom 348-368 (351-355),
//	RemoveSplit 330-335 (304-322), RemoveWhole 440-478 (416-462)
//
// Against the 32-byte records (30 per leaf) before both, x-flat was
// 1.38 at 1K, 1.39 at 100K, 1.35 at 1M and 1.28 at 10M, with 35.0
// B/extent sequential and 51.8 random. The records side by side cost a
// search more compares (fifteen lines, not eight), which shows at 1K
// where every leaf is in the core's caches, and leave the miss on the
// word out: in the data path a lookup's search and its record are one
// round of loads.
//
// Lookup allocates nothing. What was measured and not used, as lookup
// time against the layout before at 1M extents (the chosen layout ranged
// 0.87 to 1.08 over these runs): a two-step choice of line (the middle
// key, then three line heads: fewer loads, one more dependent step), 1.11
// and 1.19 in two runs; loading the dictionary's line before the search,
// alongside the keys, a mean of 1.07 against 1.02 for the chosen code in
// the same three runs; leaves of 2048 bytes (120 records, 17.3
// B/extent), a mean of 0.89 at 1M (against 0.93) but 1.20 at 10M (against
// 1.01); dictionary slot 0 fixed as a tree-wide kind that Lookup reads
// from the tree rather than the leaf (no load depending on the word),
// 1.01 against 1.04 at 1M and 1.00 against 1.01 at 10M, within the noise
// and not worth a fixed slot. Those comparisons interleaved the versions'
// lookups in one process, in blocks of 64K probes. Those figures were for the
// layout with keys and words apart.
//
// Huge pages. Once a tree has 2048 leaves (about 2 MiB of them), each
// 2 MiB region of the heap that a new node of it lands in is collapsed
// into a transparent huge page (MADV_COLLAPSE, hugepages_linux.go; the Go
// runtime asks for none for heap memory). With 4 KiB pages, nearly every
// node a lookup in a million-extent tree reads is a TLB miss, a two-level
// page walk on a VM. In three alternating pairs of LookupVsFlat runs on a
// busy machine, x-flat at 1M went from 1.14-1.23 to 0.72-0.96 (the flat
// reference stays in small pages) and at 10M from 1.14-1.25 to 0.85-1.10.
// In the data path (iobench, 4 KiB random reads at depth 32 of a warm
// 1M-extent scattered file on a loop device, quiet machine, alternating
// runs) the scattered file went from 0.65-0.71x the linear mapper's IOPS to
// 0.90-0.95x. TestLargeTreeOnHugePages reads /proc/self/smaps to check that
// a large tree's nodes are on huge pages and a small one asks for none.
// Loading a lookup's leaf ahead of time (a PREFETCHT0 of the leaf's lines
// one request ahead of its lookup, from the generator's next offset) took
// the search's share of the thread's CPU samples from 15% to 9% in that
// run and left the IOPS where they were (437-452k against 441-453k), so
// it was not kept; a 1000-extent scattered file ran as fast as the linear
// mapper there, a 1M-extent one 0.90-0.98x.
//
// The leaf index. A tree of 2048 leaves or more (about 115K extents) has
// a leaf index (tree.go, leafIndex): a table of leaf pointers, three to
// six slots per leaf, indexed by the file offset shifted right, each
// holding a leaf of its span: filled from the leaf chain when the index
// is made, and then by lookups that had to walk the tree. A lookup checks
// that leaf (it still has records, and off lies between its first and
// last offsets, or in the span of one of its neighbours, which a slot
// shared by two leaves sends half its lookups to) and searches it; only
// when the check fails does it walk down the inner nodes, and the leaf it
// finds takes the slot. Before the fill and the neighbours, a new index
// had every slot empty, and a slot two leaves shared sent one leaf's
// lookups down the tree, each storing its leaf there in turn: 4 KiB random
// reads of a warm 1M-extent file spent 146 instructions per read walking
// the tree between their 20,000th and 60,000th read (callgrind), and 2
// after. At 1M
// extents that walk, three levels of branches no predictor guesses on
// random offsets, cost as much as the leaf: with the index, in the same
// three-round LookupVsFlat runs, a lookup took 126 ns instead of 217
// (0.60x the flat search instead of 0.93x), and at 10M 334 ns instead of
// 445 (0.71x instead of 0.98x); the slots cost 0.6 B per extent, and
// upserts and removes measured the same as without (UpsertAppend 187 ns
// against 189, UpsertRandom 425 against 424, RemoveSplit 341 against
// 355, RemoveWhole 506 against 548, one run each). In the data path it
// changed nothing that could be measured: a 1M-extent scattered file read
// at depth 32 on a loop device, alternating with the linear mapper, ran at
// 0.88-0.93x of it with the index as without: its lookups' time goes to
// cache misses on the leaf and the slot table, where it went to the leaf
// and the inner nodes (in the benchmark the slot table and the inner
// nodes stay in the core's 2 MiB L2 cache from one lookup to the next; in
// the data path the kernel's work between two lookups evicts them, and
// there the walk's branches were not what cost). The model test
// (TestRandomizedBigTree/indexed) runs with the index on from two leaves,
// and Check verifies that no slot holds a leaf with records outside the
// tree. A PREFETCHT0 of the next requests' leaves through the index before
// the queue's wait for completions (and, failing that, plain loads of
// them) did not move that row either (0.88-0.94x): the slot's load, which
// the leaf's prefetch waits for, still missed. See Prefetcher below.
//
// Prefetching. A caller that knows its offsets ahead, as a workload
// generator does, announces each to a Prefetcher some lookups before
// making it. A lookup at a million extents misses twice in a row, on its
// index slot and then on its leaf; the Prefetcher starts the slot's load
// when the offset is announced, and the leaf's sixteen lines in two halves
// later (at half and three quarters of the distance), when the slot has
// arrived, so each load has the time of several lookups to land. It
// reads the index without the cache's lock: the index pointer and the
// slots are atomic, the tree's clear stores the index atomically too
// (TestPrefetchWhileChanging, under the race detector, fails when it does
// not), and a prefetch instruction on a leaf that has left the tree loads
// a line and nothing else. Lookups chained so that each waits for the one
// before, as the engine's do among the rest of each I/O's work
// (BenchmarkLookupPrefetched, offsets announced 16 lookups ahead, three
// runs): at 1M extents 89-98 ns against 175-188, at 10M 135-139 against
// 392-434; no change below 2048 leaves, where there is no index. In the
// data path (iobench announces each I/O's offset 16 I/Os before issuing
// it), a warm 1M-extent scattered file read at depth 32 on a loop device
// went from 0.90x the linear mapper's IOPS (0.86-0.97, eight alternating
// rounds) to 0.97x (0.91-1.00) with the whole leaf prefetched at once,
// its job thread's user CPU from 29.5% to 24.2% (linear 17.6%).
// Prefetching only the leaf, with the slot loaded when announced, gave
// 0.93x. The leaf in two halves, in twelve more alternating rounds
// against the whole leaf at once: medians 0.965x and 0.977x the linear
// mapper (0.93-1.01) against 0.965x and 0.954x, user CPU 20.1% and 21.5%
// against 24.2% and 22.0%: the sixteen prefetches at once had waited for
// room in the processor's miss buffers (the prefetch routine was a
// quarter of the lookups' samples).
//
// Replacing a record in place. An upsert that covers exactly one record
// (a chain of one, not escaped) and merges with neither neighbour rewrites
// that record's word instead of removing the record and inserting m: an
// out-of-place write's commit, which moves one block to fresh space, is
// nearly always this. Random 4 KiB writes through the cow mapper at depth
// 16 spent a quarter of their CPU time in upsert, over half of it in the
// remove; with the rewrite they ran at 318-356k IOPS instead of 226-245k
// (alternating 3 s runs on a loop device over tmpfs).
// TestExactOverwritesAgainstModel checks such overwrites, merging and not,
// against the per-block model.
package mapcache
