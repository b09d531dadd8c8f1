// Package ext4 reads ext2, ext3 and ext4 filesystems from their on-disk
// structures, with no kernel mount: the superblock, group descriptors,
// inodes of any size, extent trees of any depth, ext2/3 block-pointer
// maps, inline data, and linear, htree and inline directories, verifying
// every checksum the filesystem carries (metadata_csum: superblock, group
// descriptors, inodes, extent blocks, directory leaf and index blocks;
// gdt_csum: group descriptors).
//
// It imports nothing of the project and works on an io.ReaderAt and byte
// slices. It only reads. Every length, count and address it takes from the
// image is checked before use against the filesystem and the device size,
// so a damaged or hostile image gives an error (a *StructError naming the
// structure and its block, wrapping ErrCorrupt, ErrChecksum or
// ErrUnsupported), never a panic, an unbounded walk or a read outside the
// device. No file's block map may reach a filesystem metadata block (the
// superblock and descriptors with their backups, the reserved GDT blocks,
// the bitmaps, the inode tables, the journal, the quota and orphan files,
// the resize inode's block, the MMP block): an in-place overwrite of the
// file would go over them.
//
// Refused by name: encryption, compression, casefold, dirdata,
// journal_dev, needs_recovery (a journal not yet replayed), bigalloc,
// snapshots, shared blocks, and unknown feature bits.
//
// It is not a full filesystem checker: it verifies what it reads, not the
// bitmaps, link counts or free-space accounting, and it does not replay
// the journal.
package ext4
