package ext4

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// RootIno is the inode number of the root directory.
const RootIno = 2

// resizeIno is the resize inode, whose blocks are the reserved GDT blocks.
const resizeIno = 7

// DirEntry is one name in a directory.
type DirEntry struct {
	Name string
	Ino  uint32
	Type uint8 // ext4 file type code (1 file, 2 dir, 7 symlink, ...); 0 without the filetype feature
}

// TypeChar returns the type as ls -l's first letter ('-', 'd', 'l', ...).
func (d DirEntry) TypeChar() byte {
	const types = "?-dcbpsl"
	if int(d.Type) < len(types) {
		return types[d.Type]
	}
	return '?'
}

const (
	maxSymlinks  = 40
	maxPathBytes = 4096
	xattrMagic   = 0xea020000
)

// InlineData returns the bytes of an inline-data inode: i_block, then the
// system.data extended attribute in the inode's extra space, cut at the
// file size. For an inline directory it returns the raw entries.
//
// A regular file may be larger than its inline data: the kernel reads the
// bytes past it as zeros, and e2fsck accepts the inode (mkfs.ext4 -d makes
// one from a file that is all hole, e.g. "truncate -s 7M"). Its data is
// then shorter than the file; the rest is zeros for the caller to supply.
// A directory or a symbolic link larger than its inline data is corrupt.
func (fsys *FS) InlineData(in *Inode) ([]byte, error) {
	if !in.HasInlineData() {
		return nil, &StructError{Struct: in.what(), Block: in.Block, Detail: "has no inline data", Err: ErrCorrupt}
	}
	data := slices.Clone(in.Blocks[:])
	more, err := fsys.inlineXattr(in)
	if err != nil {
		return nil, err
	}
	data = append(data, more...)
	if in.Size > uint64(len(data)) && !in.IsRegular() {
		return nil, corrupt(in.what(), in.Block, "inline %v of %d bytes holds only %d", in.FileMode().Type(), in.Size, len(data))
	}
	if !in.IsDir() {
		data = data[:min(in.Size, uint64(len(data)))]
	}
	return data, nil
}

// inlineXattr finds the system.data attribute in the in-inode attribute
// area and returns its value (empty when absent).
func (fsys *FS) inlineXattr(in *Inode) ([]byte, error) {
	raw := in.Raw
	if len(raw) <= 128 {
		return nil, nil
	}
	start := 128 + int(le.Uint16(raw[0x80:]))
	if start+4 > len(raw) || le.Uint32(raw[start:]) != xattrMagic {
		return nil, nil
	}
	base := start + 4
	what := in.what() + " extended attributes"
	for off := base; off+4 <= len(raw) && le.Uint32(raw[off:]) != 0; {
		if off+16 > len(raw) {
			return nil, corrupt(what, in.Block, "entry at %d runs past the inode", off)
		}
		nameLen := int(raw[off])
		index := raw[off+1]
		valOff := int(le.Uint16(raw[off+2:]))
		valInum := le.Uint32(raw[off+4:])
		valSize := int(le.Uint32(raw[off+8:]))
		if off+16+nameLen > len(raw) {
			return nil, corrupt(what, in.Block, "name at %d runs past the inode", off)
		}
		name := string(raw[off+16 : off+16+nameLen])
		if index == 7 && name == "data" {
			if valInum != 0 {
				return nil, &StructError{Struct: what, Block: in.Block, Detail: "system.data in an EA inode", Err: ErrUnsupported}
			}
			if valSize > len(raw) || base+valOff > len(raw)-valSize {
				return nil, corrupt(what, in.Block, "system.data value [%d,+%d) runs past the inode", valOff, valSize)
			}
			return raw[base+valOff : base+valOff+valSize], nil
		}
		off += (16 + nameLen + 3) &^ 3
	}
	return nil, nil
}

// ReadLink returns the target of a symbolic link.
func (fsys *FS) ReadLink(in *Inode) (string, error) {
	if !in.IsSymlink() {
		return "", corrupt(in.what(), in.Block, "not a symbolic link")
	}
	if in.Size == 0 || in.Size > maxPathBytes {
		return "", corrupt(in.what(), in.Block, "symbolic link of %d bytes", in.Size)
	}
	var b []byte
	switch {
	case in.HasInlineData():
		var err error
		if b, err = fsys.InlineData(in); err != nil {
			return "", err
		}
	case fsys.fastSymlink(in):
		b = in.Blocks[:in.Size]
	default:
		ext, err := fsys.Extents(in)
		if err != nil {
			return "", err
		}
		b = make([]byte, in.Size)
		if _, err := fsys.ReadFileAt(in, ext, b, 0); err != nil {
			return "", err
		}
	}
	// A target is a C string of i_size bytes (e2fsck checks the same): a
	// NUL inside it, a hole in a slow link's block included, is damage,
	// not a name to look up.
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return "", corrupt(in.what(), in.Block, "symbolic link target of %d bytes has a NUL at byte %d", in.Size, i)
	}
	return string(b), nil
}

func (fsys *FS) fastSymlink(in *Inode) bool {
	return in.Size < 60 && !in.HasExtents() && !in.HasInlineData()
}

// ReadFileAt reads file data at off through the block map ext (from
// Extents), zeros for holes and unwritten extents, stopping at the file
// size (io.EOF when p is not filled). For inline files ext is ignored.
func (fsys *FS) ReadFileAt(in *Inode, ext []Extent, p []byte, off uint64) (int, error) {
	if off >= in.Size {
		return 0, io.EOF
	}
	want := p
	if uint64(len(p)) > in.Size-off {
		want = p[:in.Size-off]
	}
	if in.HasInlineData() {
		d, err := fsys.InlineData(in)
		if err != nil {
			return 0, err
		}
		n := 0
		if off < uint64(len(d)) {
			n = copy(want, d[off:])
		}
		clear(want[n:]) // past the inline data, up to the file size
		n = len(want)
		return n, eofIf(n < len(p))
	}
	bs := uint64(fsys.sb.BlockSize())
	n := 0
	for n < len(want) {
		pos := off + uint64(n)
		lb := pos / bs
		chunk := want[n:]
		i := sort.Search(len(ext), func(i int) bool { return ext[i].Logical+ext[i].Len > lb })
		switch {
		case i == len(ext) || ext[i].Logical > lb: // hole
			var run uint64
			if i < len(ext) {
				run = (ext[i].Logical-lb)*bs - pos%bs
			} else {
				run = uint64(len(chunk))
			}
			m := min(uint64(len(chunk)), run)
			clear(chunk[:m])
			n += int(m)
		default:
			e := ext[i]
			run := (e.Logical+e.Len-lb)*bs - pos%bs
			m := min(uint64(len(chunk)), run)
			if e.Unwritten {
				clear(chunk[:m])
			} else {
				phys := e.Physical + (lb - e.Logical)
				if err := fsys.readAt(chunk[:m], phys*bs+pos%bs, in.what()+" data", phys); err != nil {
					return n, err
				}
			}
			n += int(m)
		}
	}
	return n, eofIf(n < len(p))
}

func eofIf(b bool) error {
	if b {
		return io.EOF
	}
	return nil
}

// ReadDir returns the entries of directory in, "." and ".." included,
// in on-disk order. It reads linear, htree (through its leaf blocks: index
// blocks look like empty entries to a linear reader) and inline
// directories, and with metadata_csum checks every block's checksum.
func (fsys *FS) ReadDir(in *Inode) ([]DirEntry, error) {
	var out []DirEntry
	err := fsys.walkDir(in, func(d DirEntry) bool { out = append(out, d); return true })
	return out, err
}

// walkDir calls fn for every entry until it returns false.
func (fsys *FS) walkDir(in *Inode, fn func(DirEntry) bool) error {
	if !in.IsDir() {
		return &StructError{Struct: in.what(), Block: in.Block, Detail: "not a directory", Err: ErrNotDir}
	}
	if in.Flags&flagCasefold != 0 {
		return &StructError{Struct: in.what(), Block: in.Block, Detail: "case-folded directory", Err: ErrUnsupported}
	}
	if in.HasInlineData() {
		d, err := fsys.InlineData(in)
		if err != nil {
			return err
		}
		if len(d) < 4 {
			return corrupt(in.what(), in.Block, "inline directory of %d bytes", len(d))
		}
		if err := fsys.checkIno(le.Uint32(d), in.what()+" inline directory", in.Block, 0); err != nil {
			return err
		}
		if !fn(DirEntry{Name: ".", Ino: in.Ino, Type: 2}) || !fn(DirEntry{Name: "..", Ino: le.Uint32(d), Type: 2}) {
			return nil
		}
		// i_block after the parent, then the attribute's value: each a
		// run of entries of its own.
		ok, err := fsys.dirents(d[4:60], in.what()+" inline directory", in.Block, fn)
		if err != nil || !ok || len(d) == 60 {
			return err
		}
		_, err = fsys.dirents(d[60:], in.what()+" inline directory", in.Block, fn)
		return err
	}
	ext, err := fsys.Extents(in)
	if err != nil {
		return err
	}
	bs := uint64(fsys.sb.BlockSize())
	buf := make([]byte, bs)
	nblocks := (in.Size + bs - 1) / bs
	for _, e := range ext {
		for i := range e.Len {
			lb := e.Logical + i
			if lb >= nblocks {
				return nil
			}
			if e.Unwritten {
				continue
			}
			pb := e.Physical + i
			what := fmt.Sprintf("%s directory block %d", in.what(), lb)
			if err := fsys.readBlock(buf, pb, what); err != nil {
				return err
			}
			ok, err := fsys.dirBlock(in, buf, lb, pb, what, fn)
			if err != nil || !ok {
				return err
			}
		}
	}
	return nil
}

// dirBlock checks one directory block (leaf or htree node) and walks the
// entries of a leaf.
func (fsys *FS) dirBlock(in *Inode, b []byte, lb, pb uint64, what string, fn func(DirEntry) bool) (bool, error) {
	bs := len(b)
	csum := fsys.sb.hasMetadataCsum()
	if in.Flags&flagIndex != 0 {
		countOff := -1
		if lb == 0 {
			countOff = 32 // ".", "..", dx_root_info
			if b[24+5] != 8 || le.Uint32(b[24:]) != 0 {
				return false, corrupt(what, pb, "htree root info: reserved %#x, length %d", le.Uint32(b[24:]), b[24+5])
			}
			if lv := b[24+6]; lv > 3 {
				return false, corrupt(what, pb, "htree with %d index levels", lv)
			}
		} else if le.Uint32(b) == 0 && fsys.recLen(le.Uint16(b[4:])) == bs {
			// An index node: one empty entry over the whole block. With
			// metadata_csum a leaf never looks like this (its tail takes
			// the last 12 bytes); without, an emptied leaf does, and
			// neither holds a name, so there is nothing to check.
			if !csum {
				return true, nil
			}
			countOff = 8
		}
		if countOff > 0 {
			if err := fsys.dxCheck(in, b, countOff, pb, what); err != nil {
				return false, err
			}
			if lb != 0 {
				return true, nil
			}
			// The root block's "." and ".." are real entries.
			if err := fsys.checkIno(le.Uint32(b), what, pb, 0); err != nil {
				return false, err
			}
			if err := fsys.checkIno(le.Uint32(b[12:]), what, pb, 12); err != nil {
				return false, err
			}
			if !fn(DirEntry{Name: ".", Ino: le.Uint32(b), Type: b[7]}) {
				return false, nil
			}
			return fn(DirEntry{Name: "..", Ino: le.Uint32(b[12:]), Type: b[12+7]}), nil
		}
	}
	end := bs
	if csum {
		t := b[bs-12:]
		if le.Uint32(t) != 0 || le.Uint16(t[4:]) != 12 || t[6] != 0 || t[7] != 0xde {
			return false, corrupt(what, pb, "no checksum tail at the end of the block")
		}
		stored := le.Uint32(t[8:])
		if c := crc32c(in.csumSeed, b[:bs-12]); c != stored {
			return false, badSum(what, pb, stored, c)
		}
		end = bs - 12
	}
	return fsys.dirents(b[:end], what, pb, fn)
}

// dxCheck checks an htree index block's count, limit and checksum.
func (fsys *FS) dxCheck(in *Inode, b []byte, countOff int, pb uint64, what string) error {
	limit, count := int(le.Uint16(b[countOff:])), int(le.Uint16(b[countOff+2:]))
	room := (len(b) - countOff) / 8
	csum := fsys.sb.hasMetadataCsum()
	if csum {
		room = (len(b) - countOff - 8) / 8
	}
	if limit > room || count > limit || count == 0 {
		return corrupt(what, pb, "htree node count %d, limit %d, room for %d", count, limit, room)
	}
	if !csum {
		return nil
	}
	tail := countOff + 8*limit
	c := crc32c(in.csumSeed, b[:countOff+8*count])
	c = crc32c(c, b[tail:tail+4])
	c = crc32c(c, []byte{0, 0, 0, 0}) // the checksum field, zeroed
	if stored := le.Uint32(b[tail+4:]); c != stored {
		return badSum(what+" (htree index)", pb, stored, c)
	}
	return nil
}

// recLen decodes a directory record length. Only 64 KiB blocks need the
// encoding of lengths past 16 bits (0 or 0xffff for the whole block, the
// low two bits as bits 16-17); below that the value is the length, and a
// 0 is corrupt (taken as the whole block, it hid the rest of the block).
func (fsys *FS) recLen(v uint16) int {
	if fsys.sb.BlockSize() < 65536 {
		return int(v)
	}
	if v == 0xffff || v == 0 {
		return 65536
	}
	return int(v&0xfffc) | int(v&3)<<16
}

// checkIno checks the inode number of the directory entry at byte off:
// no entry names a reserved inode (the journal, the resize inode, ...)
// but the root, as the kernel and e2fsck hold.
func (fsys *FS) checkIno(ino uint32, what string, blk uint64, off int) error {
	if ino > fsys.sb.InodesCount {
		return corrupt(what, blk, "entry at byte %d names inode %d, past the last %d", off, ino, fsys.sb.InodesCount)
	}
	if ino != 0 && ino != RootIno && ino < fsys.sb.FirstIno {
		return corrupt(what, blk, "entry at byte %d names reserved inode %d (files start at %d)", off, ino, fsys.sb.FirstIno)
	}
	return nil
}

// dirents walks the linear entries of b.
func (fsys *FS) dirents(b []byte, what string, blk uint64, fn func(DirEntry) bool) (bool, error) {
	for off := 0; off < len(b); {
		if len(b)-off < 8 {
			return false, corrupt(what, blk, "entry at byte %d: %d bytes left, want at least 8", off, len(b)-off)
		}
		ino := le.Uint32(b[off:])
		rl := fsys.recLen(le.Uint16(b[off+4:]))
		nameLen := int(b[off+6])
		typ := b[off+7]
		if fsys.sb.FeatureIncompat&incompatFiletype == 0 {
			nameLen |= int(typ) << 8
			typ = 0
		}
		if rl < 8 || rl%4 != 0 || rl > len(b)-off || nameLen+8 > rl {
			return false, corrupt(what, blk, "entry at byte %d: record length %d, name length %d, %d bytes left", off, rl, nameLen, len(b)-off)
		}
		if err := fsys.checkIno(ino, what, blk, off); err != nil {
			return false, err
		}
		if ino != 0 && nameLen > 0 {
			if !fn(DirEntry{Name: string(b[off+8 : off+8+nameLen]), Ino: ino, Type: typ}) {
				return false, nil
			}
		}
		off += rl
	}
	return true, nil
}

// lookupIn returns the inode number of name in directory dir (0 if
// absent). Directories are read whole once and kept by inode number (the
// filesystem is not changing under a read-only reader).
func (fsys *FS) lookupIn(dir *Inode, name string) (uint32, error) {
	fsys.dirMu.Lock()
	names, ok := fsys.dirs[dir.Ino]
	fsys.dirMu.Unlock()
	if !ok {
		names = map[string]uint32{}
		err := fsys.walkDir(dir, func(d DirEntry) bool {
			if _, dup := names[d.Name]; !dup {
				names[d.Name] = d.Ino
			}
			return true
		})
		if err != nil {
			return 0, err
		}
		fsys.dirMu.Lock()
		if fsys.dirs == nil || len(fsys.dirs) >= maxCachedDirs {
			fsys.dirs = map[uint32]map[string]uint32{}
		}
		fsys.dirs[dir.Ino] = names
		fsys.dirMu.Unlock()
	}
	return names[name], nil
}

// Lookup resolves a path from the root directory (a leading "/" is
// optional), following symbolic links inside the filesystem, including
// a final one when follow is set. An absolute link target restarts at
// the filesystem's root, never the host's.
func (fsys *FS) Lookup(path string, follow bool) (*Inode, error) {
	links := 0
	return fsys.resolve(RootIno, path, follow, &links)
}

func (fsys *FS) resolve(start uint32, path string, follow bool, links *int) (*Inode, error) {
	if strings.HasPrefix(path, "/") {
		start = RootIno
	}
	cur, err := fsys.Inode(start)
	if err != nil {
		return nil, err
	}
	parts := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	for i, name := range parts {
		if !cur.IsDir() {
			return nil, fmt.Errorf("%w: %s", ErrNotDir, "/"+strings.Join(parts[:i], "/"))
		}
		if name == "." {
			continue
		}
		ino, err := fsys.lookupIn(cur, name)
		if err != nil {
			return nil, err
		}
		if ino == 0 {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, "/"+strings.Join(parts[:i+1], "/"))
		}
		next, err := fsys.Inode(ino)
		if err != nil {
			return nil, err
		}
		last := i == len(parts)-1
		if next.IsSymlink() && (!last || follow) {
			*links++
			if *links > maxSymlinks {
				return nil, fmt.Errorf("%w: %s", ErrSymlinkLoop, path)
			}
			target, err := fsys.ReadLink(next)
			if err != nil {
				return nil, err
			}
			next, err = fsys.resolve(cur.Ino, target, true, links)
			if err != nil {
				return nil, err
			}
		}
		cur = next
	}
	return cur, nil
}
