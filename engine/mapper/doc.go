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
//   - Fiemap: the layout of a real file on a mounted filesystem whose block
//     device is an engine device, read with FS_IOC_FIEMAP, for reading its
//     data straight from the device. Read-only.
//
// Invariants every mapper keeps: replies are block-aligned, sorted,
// non-overlapping, cover the requested offset and stay inside the device
// range the mapper was given; MapRead of a range allocates nothing when
// dst has room. The COW mapper never frees space that holds a file's data,
// even when two writes raced to the same location (see COW).
package mapper
