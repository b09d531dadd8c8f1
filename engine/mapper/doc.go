// Package mapper holds the bundled engine mappers: the filesystems the
// engine can run over. Each says, for a file range, where its bytes live on
// the engine's devices (engine.Mapper), and each is safe for concurrent use
// by every queue of an engine.
//
//   - Linear: every file is one device range (raw device benchmarking).
//     Writes go in place.
//   - Scattered: every file is a synthetic fragmented layout of N extents,
//     reproducible from a seed, with no two file neighbours
//     device-contiguous (so the cache cannot merge them), and a
//     configurable cost per mapper call to model a filesystem upcall.
//     Writes go in place. Warm fills a file's cache without the cost.
//   - COW: an out-of-place allocator over a device range. Files start as
//     holes; every write gets fresh space (carved from hint-sized chunks so
//     a file's nearby writes stay together), which becomes the file's data
//     when the device write completes, and the space it replaces is freed
//     once no I/O can still reach it. Running out of space is an error
//     wrapping engine.ErrNoSpace.
//   - COWLog: COW made durable. The device carries a superblock, two
//     checkpoint slots, a remap journal and the data; files are named and
//     survive restarts (Create, Remove, Truncate, List); Engine.Sync
//     commits the remaps (data, flush, journal transaction, flush) and
//     OpenCOWLog recovers from a crash (internal/cowlog holds the format;
//     the crash harness in internal/crashtest proves it).
//   - Fiemap: the layout of a real file on a mounted filesystem whose block
//     device is an engine device, read with FS_IOC_FIEMAP, for reading its
//     data straight from the device. Read-only.
//   - Ext4: the files of an ext2/3/4 filesystem that is not mounted (or
//     mounted read-only), found by path and mapped by reading the
//     filesystem's own structures (internal/ext4): extent trees, block
//     maps, inline data, every checksum verified. Read-only by default;
//     with Ext4Options.Overwrite, writes go in place over written blocks
//     and nothing else.
//
// Trims (engine.Trimmer): Linear and Scattered allow them (through
// engine.InPlace): a trim discards the device ranges under the file range,
// the file keeps its layout, and the discarded blocks read as the device
// returns them. COW and COWLog refuse them: a discard would destroy data
// the mapper keeps out of place behind its back (a filesystem would unmap
// the range and free its space, which these mappers offer no call for),
// and COWLog's crash contract (each block one whole acknowledged version)
// would not hold. Fiemap and Ext4 refuse them: their filesystem's metadata
// says the blocks hold data, and Ext4 writes nothing but in-place data.
//
// # Costs
//
// Memory: Scattered holds 16 bytes per extent (two sorted arrays); COW one
// byte per device block of its space plus, per file, 16 bytes per written
// file block (data and pending tables in 512-block pages allocated on
// first write); Fiemap 32 bytes per translated segment; Ext4 40 bytes per
// segment of an open file's layout (a hole between two extents is a
// segment too), and about 240 bytes per extent allocated while opening.
//
// Measured on the 2-core build machine (AMD EPYC, go1.26) with
// go test -run '^$' -bench . ./engine/mapper/..., random offsets:
//
//	MapRead linear                  11 ns    0 allocs
//	MapRead scattered, 1M extents  298 ns    0 allocs  (bisection: 252 ns)
//	MapRead cow, preallocated      296 ns    0 allocs  (a run of up to 1 MiB)
//	MapRead fiemap, 1023 segments  171 ns    0 allocs
//	cow MapWrite+EndWrite+Free     142 ns    0 allocs  (allocator alone: 94 ns)
//	scattered layout build, 1M      66 ms    30 MB
//	Warm, 1M extents               200 ms    (the cache's Upsert, per extent)
//
// Invariants every mapper keeps: replies are block-aligned, sorted,
// non-overlapping, cover the requested offset and stay inside the device
// range the mapper was given; MapRead of a range allocates nothing when
// dst has room. The COW mapper never frees space that holds a file's data,
// even when two writes raced to the same location (see COW).
package mapper
