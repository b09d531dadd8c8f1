package ext4

import (
	"fmt"
	"iter"
)

// The filesystem's metadata blocks, which no file's block map may reach:
// with in-place overwrite a file's blocks are written, and a file over
// metadata would have its writes go over the filesystem's own structures.
// They are, as the kernel (ext4_num_base_meta_blocks) and e2fsprogs
// (ext2fs_super_and_bgd_loc2) place them:
//
//   - in each group with a superblock copy (group 0; 1 and the powers of
//     3, 5 and 7 with sparse_super; every group without it; 0 and
//     s_backup_bgs with sparse_super2): the superblock, then the group
//     descriptor blocks (all of them, or the first s_first_meta_bg under
//     meta_bg) and the reserved GDT blocks the resize inode holds for
//     online growth;
//   - under meta_bg, past s_first_meta_bg: each meta group's descriptor
//     block, in its first, second and last group (after the superblock
//     copy when the group has one);
//   - each group's block bitmap, inode bitmap and inode table, where its
//     descriptor says (with flex_bg, packed in the flex group's first
//     group);
//   - the blocks of the journal's inode, the quota files and the orphan
//     file, with their map blocks; the resize inode's double indirect
//     block (its other blocks are the reserved GDT blocks: the primary
//     ones as its indirect blocks, the backups as its data); the MMP
//     block.

// metaKind is what a run of metadata blocks is.
type metaKind uint8

const (
	metaSuper metaKind = iota
	metaDesc
	metaReservedGDT
	metaBlockBitmap
	metaInodeBitmap
	metaInodeTable
	metaSpecial // a special inode's block, the resize inode's block, the MMP block
)

// metaRun is a run of metadata blocks, named for errors.
type metaRun struct {
	blockRun
	kind  metaKind
	group uint64 // the group it belongs to (or, for a descriptor, lies in)
	name  string // metaSpecial: what it is
}

func (m metaRun) String() string {
	switch m.kind {
	case metaSuper:
		if m.group == 0 {
			return "the superblock"
		}
		return fmt.Sprintf("the backup superblock in group %d", m.group)
	case metaDesc:
		if m.group == 0 {
			return "the group descriptors"
		}
		return fmt.Sprintf("the backup group descriptors in group %d", m.group)
	case metaReservedGDT:
		return fmt.Sprintf("the reserved GDT blocks of group %d", m.group)
	case metaBlockBitmap:
		return fmt.Sprintf("the block bitmap of group %d", m.group)
	case metaInodeBitmap:
		return fmt.Sprintf("the inode bitmap of group %d", m.group)
	case metaInodeTable:
		return fmt.Sprintf("the inode table of group %d", m.group)
	}
	return m.name
}

// metaRuns yields every run of metadata blocks, group by group, then the
// special inodes' blocks and the MMP block. Runs may touch; on a sound
// filesystem none overlap.
func (fs *FS) metaRuns() iter.Seq[metaRun] {
	return func(yield func(metaRun) bool) {
		s := fs.sb
		perBlock := uint64(s.BlockSize()) / uint64(s.DescSize)
		metaBG := s.FeatureIncompat&incompatMetaBG != 0
		oldDesc := s.descBlocks()
		if metaBG {
			oldDesc = uint64(s.FirstMetaBG)
		}
		itBlocks := s.inodeTableBlocks()
		for g, gr := range fs.groups {
			g := uint64(g)
			start := uint64(s.FirstDataBlock) + g*uint64(s.BlocksPerGroup)
			super := s.groupHasSuper(g)
			if super && !yield(metaRun{blockRun{start, 1}, metaSuper, g, ""}) {
				return
			}
			if !metaBG || g/perBlock < uint64(s.FirstMetaBG) {
				if super {
					if oldDesc > 0 && !yield(metaRun{blockRun{start + 1, oldDesc}, metaDesc, g, ""}) {
						return
					}
					if r := uint64(s.ReservedGDTBlocks); r > 0 && !yield(metaRun{blockRun{start + 1 + oldDesc, r}, metaReservedGDT, g, ""}) {
						return
					}
				}
			} else if r := g % perBlock; r == 0 || r == 1 || r == perBlock-1 {
				b := start
				if super {
					b++
				}
				if !yield(metaRun{blockRun{b, 1}, metaDesc, g, ""}) {
					return
				}
			}
			if !yield(metaRun{blockRun{gr.BlockBitmap, 1}, metaBlockBitmap, g, ""}) ||
				!yield(metaRun{blockRun{gr.InodeBitmap, 1}, metaInodeBitmap, g, ""}) ||
				!yield(metaRun{blockRun{gr.InodeTable, itBlocks}, metaInodeTable, g, ""}) {
				return
			}
		}
		for _, m := range fs.special {
			if !yield(m) {
				return
			}
		}
	}
}

// metaAt returns the metadata run holding block b, which the merged set
// says is metadata. It walks every run: only an error calls it.
func (fs *FS) metaAt(b uint64) metaRun {
	for m := range fs.metaRuns() {
		if m.start <= b && b-m.start < m.len {
			return m
		}
	}
	return metaRun{blockRun{b, 1}, metaSpecial, 0, "filesystem metadata"}
}

// buildMeta sets fs.meta, the merged metadata set, from the groups, then
// reads the special inodes' block maps (each checked against the groups'
// metadata as any file's is) and adds them.
func (fs *FS) buildMeta() error {
	var runs []blockRun
	for m := range fs.metaRuns() {
		runs = append(runs, m.blockRun)
	}
	fs.meta = mergeRuns(runs)

	s := fs.sb
	var special []metaRun
	if s.MMPBlock != 0 {
		if s.MMPBlock <= uint64(s.FirstDataBlock) || s.MMPBlock >= s.BlocksCount {
			return corrupt("superblock", superBlockNum(s), "MMP block %d is outside the filesystem's blocks %d..%d", s.MMPBlock, s.FirstDataBlock+1, s.BlocksCount-1)
		}
		special = append(special, metaRun{blockRun{s.MMPBlock, 1}, metaSpecial, 0, "the MMP block"})
	}
	if s.FeatureCompat&compatResizeInode != 0 {
		// Only the double indirect block: walking the map would read
		// every reserved GDT block, which the groups' runs hold already.
		in, err := fs.Inode(resizeIno)
		if err != nil {
			return err
		}
		if p := uint64(le.Uint32(in.Blocks[4*13:])); p != 0 {
			if p <= uint64(s.FirstDataBlock) || p >= s.BlocksCount {
				return corrupt(in.what(), in.Block, "resize inode's double indirect block %d is outside the filesystem's blocks %d..%d", p, s.FirstDataBlock+1, s.BlocksCount-1)
			}
			special = append(special, metaRun{blockRun{p, 1}, metaSpecial, 0, "the resize inode's double indirect block"})
		}
	}
	for _, f := range []struct {
		ino  uint32
		name string
	}{
		{s.JournalInum, "the journal"},
		{s.QuotaInums[0], "the user quota file"},
		{s.QuotaInums[1], "the group quota file"},
		{s.QuotaInums[2], "the project quota file"},
		{s.OrphanFileInum, "the orphan file"},
	} {
		if f.ino == 0 {
			continue
		}
		in, err := fs.Inode(f.ino)
		if err != nil {
			return err
		}
		ext, mapBlocks, err := fs.BlockMap(in)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("%s (inode %d)", f.name, f.ino)
		for _, e := range ext {
			special = append(special, metaRun{blockRun{e.Physical, e.Len}, metaSpecial, 0, name})
		}
		for _, b := range mapBlocks {
			special = append(special, metaRun{blockRun{b, 1}, metaSpecial, 0, name + " map block"})
		}
	}
	if len(special) == 0 {
		return nil
	}
	fs.special = special
	for _, m := range special {
		fs.meta = append(fs.meta, m.blockRun)
	}
	fs.meta = mergeRuns(fs.meta)
	return nil
}

// superBlockNum is the block holding the primary superblock.
func superBlockNum(s *Superblock) uint64 {
	if s.LogBlockSize == 0 {
		return 1
	}
	return 0
}
