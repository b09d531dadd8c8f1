package mapper

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/device"
	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper/internal/ext4"
	"github.com/iobench/iobench/mapcache"
)

// Ext4Options tune an Ext4 mapper.
type Ext4Options struct {
	// Overwrite allows writes in place over blocks that are allocated and
	// initialized (written extents inside the file). No metadata changes:
	// sizes, holes, unwritten extents and inline data stay as they are,
	// and any write that would need them to change is refused. Off by
	// default; the device must also be opened for writing, which goes
	// through the device safety checks (an ext4 signature needs --force).
	Overwrite bool
	// ReplyExtents is how many segments one MapRead replies; default 8.
	ReplyExtents int
}

// Ext4 serves the files of an ext2/3/4 filesystem on engine device dev
// by reading the filesystem's own structures (superblock, group
// descriptors, inodes, extent trees or block maps, directories), with no
// kernel mount. A file's name is its path inside the filesystem;
// symbolic links are followed inside the filesystem. OpenFile reads the
// file's whole block map once: written extents map to the device,
// unwritten extents read as zeros (Unwritten), gaps are holes, and inline
// data (inline_data) is served through ReadInline.
//
// Every structure is checked before use (see package internal/ext4): a
// damaged or hostile image gives an error that names the structure and
// the block, never a mapping outside the device. Files are read-only
// unless Ext4Options.Overwrite is set. Every method is safe for
// concurrent use.
type Ext4 struct {
	dev  uint32
	fs   *ext4.FS
	opts Ext4Options
}

type ext4File struct {
	in     *ext4.Inode
	segs   []mapcache.Mapping // tiling [0, size rounded up to the fs block)
	inline []byte
}

// NewExt4 reads the filesystem on r, the metadata view of engine device
// dev (devBytes long). r is read through for metadata only; file data
// goes through the engine. The caller checks that the filesystem is not
// mounted read-write (Ext4MountState) and keeps r open while the mapper
// is used.
func NewExt4(dev uint32, r io.ReaderAt, devBytes uint64, opts Ext4Options) (*Ext4, error) {
	if opts.ReplyExtents <= 0 {
		opts.ReplyExtents = 8
	}
	fs, err := ext4.Open(r, devBytes)
	if err != nil {
		return nil, ext4Error("", err)
	}
	return &Ext4{dev: dev, fs: fs, opts: opts}, nil
}

// ext4Error names the file (when name is set) in err, with the "ext4: "
// prefix the filesystem package's own errors already carry added only to
// those that lack it (a device's read error).
func ext4Error(name string, err error) error {
	if !strings.HasPrefix(err.Error(), "ext4: ") {
		if name == "" {
			return fmt.Errorf("ext4: %w", err)
		}
		return fmt.Errorf("ext4: %s: %w", name, err)
	}
	if name == "" {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// BlockSize returns the filesystem's block size. Files must be opened
// with a cache block size that divides it (engine.FileOptions.BlockSize
// of at most this, 4096 being the default).
func (m *Ext4) BlockSize() uint32 { return m.fs.BlockSize() }

// FS returns the parsed filesystem, for listing directories (ReadDir,
// Lookup).
func (m *Ext4) FS() *ext4.FS { return m.fs }

// OpenFile resolves f's name, reads its block map and arms the write fork:
// Delalloc over the whole file when read-only (every write reaches
// MapWrite, which refuses it), and with Overwrite PureOverwrite over the
// written extents only.
func (m *Ext4) OpenFile(f *engine.File) (uint64, error) {
	name := f.Name()
	// The path first: a missing file or a directory is what the caller
	// most needs to hear about (ErrExt4NotFound), whatever the block size.
	in, err := m.fs.Lookup(name, true)
	if err != nil {
		return 0, ext4Error(name, err)
	}
	if !in.IsRegular() {
		return 0, fmt.Errorf("%w: ext4: %s is not a regular file (%v)", ErrConfig, name, in.FileMode())
	}
	fsbs := uint64(m.fs.BlockSize())
	if bs := uint64(f.BlockSize()); bs > fsbs {
		return 0, fmt.Errorf("%w: ext4: %s: cache block size %d is larger than the filesystem's %d-byte blocks; open it with BlockSize %d",
			ErrConfig, name, bs, fsbs, fsbs)
	}
	ef := &ext4File{in: in}
	if in.HasInlineData() {
		if ef.inline, err = m.fs.InlineData(in); err != nil {
			return 0, ext4Error(name, err)
		}
		if in.Size > 0 {
			ef.segs = []mapcache.Mapping{{Offset: 0, Length: (in.Size + fsbs - 1) / fsbs * fsbs,
				Addr: mapcache.NullAddr, Type: mapcache.Inline, Dev: m.dev}}
		}
	} else {
		ext, err := m.fs.Extents(in)
		if err != nil {
			return 0, ext4Error(name, err)
		}
		ef.segs = m.segments(ext, in.Size)
	}
	if err := checkSegs(ef.segs, f.Engine().DeviceSize(m.dev)); err != nil {
		return 0, ext4Error(name, err)
	}
	f.SetPrivate(ef)
	if err := m.armWrites(f, ef); err != nil {
		return 0, fmt.Errorf("ext4: %s: arm the write fork: %w", name, err)
	}
	return in.Size, nil
}

// segments turns a block map into mappings tiling the file's blocks.
func (m *Ext4) segments(ext []ext4.Extent, size uint64) []mapcache.Mapping {
	bs := uint64(m.fs.BlockSize())
	nblocks := (size + bs - 1) / bs
	segs := make([]mapcache.Mapping, 0, 2*len(ext)+1)
	next := uint64(0) // next file block to cover
	hole := func(to uint64) {
		if to > next {
			segs = append(segs, mapcache.Mapping{Offset: next * bs, Length: (to - next) * bs,
				Addr: mapcache.NullAddr, Type: mapcache.Hole, Dev: m.dev})
			next = to
		}
	}
	for _, e := range ext {
		if e.Logical >= nblocks {
			break
		}
		hole(e.Logical)
		n := min(e.Len, nblocks-e.Logical)
		t := mapcache.Mapped
		if e.Unwritten {
			t = mapcache.Unwritten
		}
		segs = append(segs, mapcache.Mapping{Offset: e.Logical * bs, Length: n * bs, Addr: e.Physical * bs, Type: t, Dev: m.dev})
		next = e.Logical + n
	}
	hole(nblocks)
	return segs
}

// checkSegs makes sure no mapping reaches past the device (the parser
// checked the filesystem's size against the device it was given; the
// engine's device may differ).
func checkSegs(segs []mapcache.Mapping, devBytes uint64) error {
	if devBytes == 0 {
		return nil
	}
	for _, s := range segs {
		if s.Addr != mapcache.NullAddr && (s.Addr > devBytes || devBytes-s.Addr < s.Length) {
			return fmt.Errorf("%w: extent at file offset %d maps device bytes [%d,+%d), past the %d-byte device",
				ext4.ErrCorrupt, s.Offset, s.Addr, s.Length, devBytes)
		}
	}
	return nil
}

func (m *Ext4) armWrites(f *engine.File, ef *ext4File) error {
	c := f.Cache()
	if err := c.Upsert(mapcache.WriteFork, mapcache.Mapping{
		Offset: 0, Length: wholeFile(f.BlockSize()), Addr: mapcache.NullAddr, Type: mapcache.Delalloc, Dev: m.dev,
	}); err != nil {
		return err
	}
	if !m.opts.Overwrite {
		return nil
	}
	for _, s := range ef.segs {
		if s.Type != mapcache.Mapped {
			continue
		}
		if err := c.Upsert(mapcache.WriteFork, mapcache.Mapping{
			Offset: s.Offset, Length: s.Length, Addr: mapcache.NullAddr, Type: mapcache.PureOverwrite, Dev: m.dev,
		}); err != nil {
			return err
		}
	}
	return nil
}

func (m *Ext4) file(f *engine.File) (*ext4File, error) {
	ef, ok := f.Private().(*ext4File)
	if !ok {
		return nil, fmt.Errorf("%w: ext4: %s", ErrNotOpen, f.Name())
	}
	return ef, nil
}

// Layout returns f's mappings as read from the filesystem, for tests and
// for showing how a file lies on the device.
func (m *Ext4) Layout(f *engine.File) ([]mapcache.Mapping, error) {
	ef, err := m.file(f)
	if err != nil {
		return nil, err
	}
	return append([]mapcache.Mapping(nil), ef.segs...), nil
}

// Inode returns the inode number f was opened as.
func (m *Ext4) Inode(f *engine.File) (uint32, error) {
	ef, err := m.file(f)
	if err != nil {
		return 0, err
	}
	return ef.in.Ino, nil
}

// Warm fills f's read fork with the whole layout, so that no read calls
// the mapper.
func (m *Ext4) Warm(f *engine.File) error {
	ef, err := m.file(f)
	if err != nil {
		return err
	}
	c := f.Cache()
	for i, s := range ef.segs {
		if err := c.Upsert(mapcache.ReadFork, s); err != nil {
			return fmt.Errorf("ext4: warm %s: segment %d: %w", f.Name(), i, err)
		}
	}
	return nil
}

// MapRead replies the segment covering req.Offset and up to
// ReplyExtents-1 following ones. It allocates nothing when dst has room.
func (m *Ext4) MapRead(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	ef, err := m.file(req.File)
	if err != nil {
		return dst, err
	}
	segs := ef.segs
	i := sort.Search(len(segs), func(i int) bool { return segs[i].Offset+segs[i].Length > req.Offset })
	if i == len(segs) || segs[i].Offset > req.Offset {
		return dst, fmt.Errorf("%w: ext4: offset %d of %s (%d bytes)", ErrOutsideFile, req.Offset, req.File.Name(), req.File.Size())
	}
	for n := 0; n < m.opts.ReplyExtents && i < len(segs); n, i = n+1, i+1 {
		dst = append(dst, segs[i])
	}
	return dst, nil
}

// MapWrite refuses: it is reached only for ranges that cannot be
// overwritten in place (everything, when Overwrite is off; holes,
// unwritten extents, inline data and space past the last block with it).
func (m *Ext4) MapWrite(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	if !m.opts.Overwrite {
		return dst, fmt.Errorf("%w: ext4: %s is read-only through the ext4 mapper (in-place overwrite is opt-in)", engine.ErrReadOnly, req.File.Name())
	}
	return dst, fmt.Errorf("%w: ext4: %s at offset %d: only allocated, written blocks can be overwritten in place; holes, unwritten extents, inline data and growing the file need the filesystem's metadata to change",
		engine.ErrReadOnly, req.File.Name(), req.Offset)
}

// EndWrite frees nothing: writes go in place.
func (m *Ext4) EndWrite(_ *engine.WriteEnd, freed []mapcache.Mapping) ([]mapcache.Mapping, error) {
	return freed, nil
}

// Free does nothing.
func (m *Ext4) Free([]mapcache.Mapping) {}

// ReadInline copies inline data; bytes past the end of the file read as
// zeros.
func (m *Ext4) ReadInline(f *engine.File, off uint64, dst []byte) error {
	ef, err := m.file(f)
	if err != nil {
		return err
	}
	n := 0
	if off < uint64(len(ef.inline)) {
		n = copy(dst, ef.inline[off:])
	}
	clear(dst[n:])
	return nil
}

// Ext4MountState says whether the filesystem on path (a block device, or
// an image file attached to a loop device) is mounted: mountPoint is ""
// when it is not, readOnly says how it is mounted.
func Ext4MountState(path string) (mountPoint string, readOnly bool, err error) {
	devs, err := devNumbers(path)
	if err != nil {
		return "", false, err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		var major, minor uint32
		if _, err := fmt.Sscanf(fields[2], "%d:%d", &major, &minor); err != nil {
			continue
		}
		if !devs[unix.Mkdev(major, minor)] {
			continue
		}
		ro := false
		for _, o := range strings.Split(fields[5], ",") {
			ro = ro || o == "ro"
		}
		if !ro || mountPoint == "" {
			mountPoint, readOnly = fields[4], ro
		}
		if !ro {
			break
		}
	}
	return mountPoint, readOnly, sc.Err()
}

// devNumbers returns the device numbers that path's filesystem can be
// mounted from: the block device itself, or the loop devices over it.
func devNumbers(path string) (map[uint64]bool, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, err
	}
	out := map[uint64]bool{}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		out[st.Rdev] = true
	case unix.S_IFREG:
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return nil, err
		}
		real, _ = filepath.Abs(real)
		for loop, backing := range device.LoopBacking() {
			var ls unix.Stat_t
			if backing == real && unix.Stat(loop, &ls) == nil {
				out[ls.Rdev] = true
			}
		}
	default:
		return nil, fmt.Errorf("%w: ext4: %s is neither a block device nor an image file", ErrConfig, path)
	}
	return out, nil
}

// CheckExt4Mount refuses a filesystem mounted read-write, and, when
// overwrite is set, one mounted at all. It returns what it found, for
// the user: "not mounted" or "mounted read-only at /mnt".
func CheckExt4Mount(path string, overwrite bool) (string, error) {
	mnt, ro, err := Ext4MountState(path)
	if err != nil {
		return "", fmt.Errorf("ext4: mount state of %s: %w", path, err)
	}
	switch {
	case mnt == "":
		return "not mounted", nil
	case !ro:
		return "", fmt.Errorf("%w: %s is mounted read-write at %s; unmount it or mount it read-only", ErrExt4Mounted, path, mnt)
	case overwrite:
		return "", fmt.Errorf("%w: %s is mounted read-only at %s; in-place overwrite needs it unmounted", ErrExt4Mounted, path, mnt)
	}
	return "mounted read-only at " + mnt, nil
}
