package mapper

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/iobench/iobench/engine"
	"github.com/iobench/iobench/engine/mapper/internal/cowlog"
	"github.com/iobench/iobench/engine/mapper/internal/cowspace"
	"github.com/iobench/iobench/mapcache"
)

// ErrNotFormatted is returned by OpenCOWLog for a device that carries no
// cowlog superblock (FormatCOWLog makes one).
var ErrNotFormatted = cowlog.ErrNoSuperblock

// ErrCorruptLog is wrapped by OpenCOWLog's errors for metadata that fails
// a checksum or a bounds check (the message names the block).
var ErrCorruptLog = cowlog.ErrCorrupt

// ErrLogVersion is wrapped by OpenCOWLog's error for a format version this
// code does not read.
var ErrLogVersion = cowlog.ErrVersion

// ErrFileExists, ErrNoFile and ErrFileOpen are returned by the COWLog
// namespace operations.
var (
	ErrFileExists = errors.New("mapper: file exists")
	ErrNoFile     = errors.New("mapper: no such file")
	ErrFileOpen   = errors.New("mapper: file is open in the engine")
)

// COWLogConfig describes a COWLog mapper.
type COWLogConfig struct {
	Dev uint32 // the device's index in the engine's device table
	// BlockSize is the allocation unit and the format's block; default
	// 4096. Files must be opened with this block size.
	BlockSize uint32
	// MaxFiles is how many files the format holds (FormatCOWLog only);
	// default 256.
	MaxFiles uint32
	// ExtentHint: see COWConfig. Default 1 MiB.
	ExtentHint uint64
	// CreateSize, when not 0, makes OpenFile of a name that does not exist
	// create it with this size (otherwise OpenFile fails with ErrNoFile).
	CreateSize uint64
	// CommitBytes is how much space released by overwrites (not reusable
	// until the journal says so) or how many journal bytes may wait before
	// a background commit starts. Default: 1/16 of the data area.
	CommitBytes uint64
	// CheckpointEvery, when not 0, writes a checkpoint instead of a
	// journal transaction every that many commits (the journal is
	// checkpointed anyway when full), which bounds recovery's replay.
	CheckpointEvery int
}

func (cfg *COWLogConfig) defaults() {
	if cfg.BlockSize == 0 {
		cfg.BlockSize = 4096
	}
	if cfg.MaxFiles == 0 {
		cfg.MaxFiles = 256
	}
	if cfg.ExtentHint == 0 {
		cfg.ExtentHint = 1 << 20
	}
}

// COWLog is the durable copy-on-write mapper: COW's out-of-place
// allocator, with every file's name, size and data locations kept on the
// device, so that files survive restarts and crashes.
//
// The device holds a superblock, two checkpoint slots, a remap journal and
// the data area (see the README for the format). Every ended write
// appends a remap record in memory; Engine.Sync (File.Sync) makes them
// durable in the order data, flush, journal transaction, flush, and many
// remaps, and concurrent syncs, share one transaction and flush. When the
// journal is full, or after a recovery, a commit writes a checkpoint of
// the whole state to the older slot instead.
//
// Durability contract: a write acknowledged before a Sync that returned
// nil survives a crash. A write not followed by a successful Sync may
// survive or not (a background commit may have made it durable); if it
// does, it is whole: a block reads as one acknowledged version or the one
// before it, never a mix. Space an overwrite releases is reused only once
// the remap that released it is durable, so no recovered file points at
// another file's data. Space allocated but never committed is free after
// recovery. Create, Remove and Resize are durable at the next Sync, like
// remaps.
//
// All methods are safe for concurrent use.
type COWLog struct {
	cfg   COWLogConfig
	sb    cowlog.Superblock
	space *cowspace.Space
	rd    *devReader

	mu        sync.Mutex
	cond      sync.Cond // signalled when a commit ends
	byName    map[string]*logFile
	byID      map[uint32]*logFile
	nextID    uint32
	recs      []byte // encoded records not yet in a commit
	spare     []byte // the buffer of the last commit's records, for reuse
	nrec      uint32
	added     uint64     // records appended, ever
	durab     uint64     // records durable
	held      []deferred // released space waiting for its records to be durable
	heldBytes uint64
	// Commit state: one commit at a time.
	committing bool
	gen, seq   uint64
	seed       uint32
	jpos       uint64
	needCkpt   bool
	sinceCkpt  int // journal transactions since the last checkpoint
	bgRunning  bool
	bg         sync.WaitGroup
	lastErr    error

	eng atomic.Pointer[engine.Engine] // for background commits

	recovered RecoveryReport
	stats     COWLogStats

	// beforeMetaWrite, when set (by tests), runs in every commit with
	// c.mu released, before the commit's metadata write.
	beforeMetaWrite func()
}

// maxPendingRecords is how many bytes of records may wait before a
// background commit starts.
const maxPendingRecords = 1 << 20

type logFile struct {
	id   uint32
	name string
	size uint64
	cf   *cowspace.File
	open *engine.File
}

// deferred is space released by a remap, free once records up to tag
// are durable.
type deferred struct {
	addr, len, tag uint64
}

// RecoveryReport says what OpenCOWLog found.
type RecoveryReport struct {
	Gen, Seq   uint64 // checkpoint generation, last transaction applied
	Txns       int    // journal transactions replayed
	Records    int
	TornTail   bool   // the journal ended in a torn transaction
	TornBlock  uint64 // its block
	Files      int
	UsedBytes  uint64
	FreeBytes  uint64
	Formatted  bool // FormatCOWLog wrote it and nothing was committed since
	DataStart  uint64
	DataLength uint64
}

// COWLogStats counts commits.
type COWLogStats struct {
	Commits, Checkpoints, BackgroundCommits uint64
	RecordsCommitted                        uint64
	JournalBytes                            uint64
	Flushes                                 uint64
}

// OpenCOWLog recovers the mapper from the device at path (opened for
// reading here; the engine does the writing): the newer valid checkpoint,
// then the journal up to its last valid transaction. Errors wrap
// ErrNotFormatted, ErrLogVersion or ErrCorruptLog.
func OpenCOWLog(path string, cfg COWLogConfig) (*COWLog, error) {
	cfg.defaults()
	rd, err := openDevReader(path)
	if err != nil {
		return nil, err
	}
	c, err := recoverCOWLog(rd, cfg)
	if err != nil {
		rd.close()
		return nil, err
	}
	return c, nil
}

func recoverCOWLog(rd *devReader, cfg COWLogConfig) (*COWLog, error) {
	st, err := cowlog.Recover(rd, rd.size)
	if err != nil {
		return nil, fmt.Errorf("cowlog: recover %s: %w", rd.path, err)
	}
	if st.SB.BlockSize != cfg.BlockSize {
		return nil, fmt.Errorf("%w: cowlog: %s is formatted with %d-byte blocks, config says %d", ErrConfig, rd.path, st.SB.BlockSize, cfg.BlockSize)
	}
	bs := uint64(st.SB.BlockSize)
	space, err := cowspace.New(st.SB.DataStart(), st.SB.DataBlocks*bs, st.SB.BlockSize, cfg.ExtentHint)
	if err != nil {
		return nil, fmt.Errorf("%w: cowlog: %w", ErrConfig, err)
	}
	if cfg.CommitBytes == 0 {
		cfg.CommitBytes = max(st.SB.DataBlocks*bs/16, 1<<20)
	}
	c := &COWLog{cfg: cfg, sb: st.SB, space: space, rd: rd,
		byName: map[string]*logFile{}, byID: map[uint32]*logFile{},
		gen: st.Gen, seq: st.Seq, seed: st.Seed, jpos: st.JournalNext,
		// Journal after a recovery only once a new checkpoint is down:
		// transactions of this incarnation must never be followed by
		// one left over from the last (see cowlog's chain).
		needCkpt: st.Txns > 0 || st.TornTail,
	}
	c.cond.L = &c.mu
	c.recs = make([]byte, 0, maxPendingRecords+64<<10) // a background commit starts at maxPendingRecords
	for _, f := range st.Files {
		cf := space.NewFile(f.Size)
		for _, e := range f.Extents {
			if err := cf.Restore(e.Off, e.Len, e.Addr); err != nil {
				return nil, fmt.Errorf("%w: cowlog: %s: file %q: %w", ErrCorruptLog, rd.path, f.Name, err)
			}
		}
		lf := &logFile{id: f.ID, name: f.Name, size: f.Size, cf: cf}
		c.byName[f.Name], c.byID[f.ID] = lf, lf
		c.nextID = max(c.nextID, f.ID+1)
	}
	if got, want := space.FreeBytes(), st.FreeBlocks()*bs; got != want {
		return nil, fmt.Errorf("%w: cowlog: %s: %d bytes free after restore, recovery counted %d", ErrCorruptLog, rd.path, got, want)
	}
	c.recovered = RecoveryReport{Gen: st.Gen, Seq: st.Seq, Txns: st.Txns, Records: st.Records, TornTail: st.TornTail,
		TornBlock: st.TornBlock, Files: len(st.Files), UsedBytes: st.UsedBlocks * bs, FreeBytes: st.FreeBlocks() * bs,
		Formatted: st.Gen == 0 && st.Seq == 0 && st.Txns == 0, DataStart: st.SB.DataStart(), DataLength: st.SB.DataBlocks * bs}
	return c, nil
}

// Shutdown waits for a background commit and releases the device reader.
// It does not sync: call Engine.Sync first for that, and Engine.Close
// after.
func (c *COWLog) Shutdown() error {
	c.bg.Wait()
	return c.rd.close()
}

// BackgroundErr returns the error of the last background commit that
// failed, or nil. Nothing is lost by one: its records wait for the next
// commit, and Sync reports that commit's error.
func (c *COWLog) BackgroundErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// Recovered says what OpenCOWLog found.
func (c *COWLog) Recovered() RecoveryReport { return c.recovered }

// Stats returns the commit counters.
func (c *COWLog) Stats() COWLogStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// COWLogDataLength returns the bytes of the data area FormatCOWLog lays
// out on a device of devBytes with cfg: what a caller can check a file's
// size against before formatting or opening the device.
func COWLogDataLength(devBytes uint64, cfg COWLogConfig) (uint64, error) {
	cfg.defaults()
	sb, err := cowlog.NewLayout(devBytes, cfg.BlockSize, cfg.MaxFiles, 0)
	if err != nil {
		return 0, fmt.Errorf("%w: cowlog: %w", ErrConfig, err)
	}
	return sb.DataBlocks * uint64(sb.BlockSize), nil
}

// Layout returns the data area: where file data may live.
func (c *COWLog) Layout() (dataStart, dataLength uint64) {
	return c.sb.DataStart(), c.sb.DataBlocks * uint64(c.sb.BlockSize)
}

// FreeBytes returns the data space neither in a file, nor handed to a
// write, nor released and waiting for its remap to be durable.
func (c *COWLog) FreeBytes() uint64 { return c.space.FreeBytes() }

// FileInfo describes a file.
type FileInfo struct {
	Name      string
	SizeBytes uint64
}

// List returns the files, sorted by name.
func (c *COWLog) List() []FileInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]FileInfo, 0, len(c.byName))
	for _, f := range c.byName {
		out = append(out, FileInfo{Name: f.name, SizeBytes: f.size})
	}
	slices.SortFunc(out, func(a, b FileInfo) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// Create makes an empty file (a hole) of sizeBytes named name.
func (c *COWLog) Create(name string, sizeBytes uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.createLocked(name, sizeBytes)
	return err
}

func (c *COWLog) createLocked(name string, size uint64) (*logFile, error) {
	if name == "" || len(name) > cowlog.MaxName {
		return nil, fmt.Errorf("%w: cowlog: file name of %d bytes (1 to %d)", ErrConfig, len(name), cowlog.MaxName)
	}
	if size == 0 || size > c.sb.DataEnd()*64 {
		return nil, fmt.Errorf("%w: cowlog: %s: size %d (1 byte to 64 times the device)", ErrConfig, name, size)
	}
	if _, ok := c.byName[name]; ok {
		return nil, fmt.Errorf("%w: %s", ErrFileExists, name)
	}
	if uint32(len(c.byName)) >= c.sb.MaxFiles {
		return nil, fmt.Errorf("%w: cowlog: %s: the format holds %d files", engine.ErrNoSpace, name, c.sb.MaxFiles)
	}
	lf := &logFile{id: c.nextID, name: name, size: size, cf: c.space.NewFile(size)}
	c.nextID++
	c.byName[name], c.byID[lf.id] = lf, lf
	c.appendLocked(&cowlog.Record{Kind: cowlog.Create, File: lf.id, Size: size, Name: name})
	return lf, nil
}

// Remove deletes a file that is not open; its space is free once the
// removal is durable.
func (c *COWLog) Remove(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	lf, err := c.closedFileLocked(name)
	if err != nil {
		return err
	}
	c.releaseLocked(lf.cf.Resize(0, nil))
	c.appendLocked(&cowlog.Record{Kind: cowlog.Remove, File: lf.id})
	c.deferTail()
	delete(c.byName, name)
	delete(c.byID, lf.id)
	return nil
}

// Truncate changes the size of a file that is not open: data past the new
// end is dropped, a larger file grows as a hole.
func (c *COWLog) Truncate(name string, sizeBytes uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	lf, err := c.closedFileLocked(name)
	if err != nil {
		return err
	}
	if sizeBytes == 0 || sizeBytes > c.sb.DataEnd()*64 {
		return fmt.Errorf("%w: cowlog: truncate %s to %d bytes", ErrConfig, name, sizeBytes)
	}
	c.releaseLocked(lf.cf.Resize(sizeBytes, nil))
	lf.size = sizeBytes
	c.appendLocked(&cowlog.Record{Kind: cowlog.SetSize, File: lf.id, Size: sizeBytes})
	c.deferTail()
	return nil
}

func (c *COWLog) closedFileLocked(name string) (*logFile, error) {
	lf, ok := c.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoFile, name)
	}
	if lf.open != nil {
		return nil, fmt.Errorf("%w: %s (close it first)", ErrFileOpen, name)
	}
	return lf, nil
}

// releaseLocked queues released extents to be freed after the next
// record appended is durable (deferTail sets their tag).
func (c *COWLog) releaseLocked(freed []cowspace.Extent) {
	for _, e := range freed {
		c.held = append(c.held, deferred{addr: e.Addr, len: e.Len, tag: ^uint64(0)})
		c.heldBytes += e.Len
	}
}

// deferTail tags the deferred frees queued by releaseLocked with the
// record just appended.
func (c *COWLog) deferTail() {
	for i := len(c.held) - 1; i >= 0 && c.held[i].tag == ^uint64(0); i-- {
		c.held[i].tag = c.added
	}
}

func (c *COWLog) appendLocked(r *cowlog.Record) {
	c.recs = cowlog.AppendRecord(c.recs, r)
	c.nrec++
	c.added++
}

func logFileOf(f *engine.File) (*logFile, error) {
	lf, ok := f.Private().(*logFile)
	if !ok {
		return nil, fmt.Errorf("%w: cowlog: %s", ErrNotOpen, f.Name())
	}
	return lf, nil
}

// OpenFile opens the named file (creating it when COWLogConfig.CreateSize
// is set) and arms its write fork, as COW does.
func (c *COWLog) OpenFile(f *engine.File) (uint64, error) {
	if got := f.Engine().DeviceSize(c.cfg.Dev); got < c.sb.DeviceBytes {
		return 0, fmt.Errorf("%w: cowlog: device %d has %d bytes, the format %d", ErrConfig, c.cfg.Dev, got, c.sb.DeviceBytes)
	}
	if f.BlockSize() != c.sb.BlockSize {
		return 0, fmt.Errorf("%w: cowlog: file block size %d is not the format's %d", ErrConfig, f.BlockSize(), c.sb.BlockSize)
	}
	c.mu.Lock()
	lf, ok := c.byName[f.Name()]
	if !ok {
		if c.cfg.CreateSize == 0 {
			c.mu.Unlock()
			return 0, fmt.Errorf("%w: %s", ErrNoFile, f.Name())
		}
		var err error
		if lf, err = c.createLocked(f.Name(), c.cfg.CreateSize); err != nil {
			c.mu.Unlock()
			return 0, err
		}
	}
	if lf.open != nil {
		c.mu.Unlock()
		return 0, fmt.Errorf("%w: %s", ErrFileOpen, f.Name())
	}
	lf.open = f
	c.eng.Store(f.Engine())
	c.mu.Unlock()
	f.SetPrivate(lf)
	err := f.Cache().Upsert(mapcache.WriteFork, mapcache.Mapping{
		Offset: 0, Length: lf.cf.SizeBytes(), Addr: mapcache.NullAddr, Type: mapcache.Delalloc, Dev: c.cfg.Dev,
	})
	if err != nil {
		return 0, fmt.Errorf("cowlog: arm the write fork of %s: %w", f.Name(), err)
	}
	return lf.size, nil
}

// Close forgets the engine file (engine.FileCloser): the mapper file
// stays, and can be opened again.
func (c *COWLog) Close(f *engine.File) error {
	lf, err := logFileOf(f)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	if lf.open == f {
		lf.open = nil
	}
	c.mu.Unlock()
	return nil
}

// MapRead replies the file's data at req.Offset, as COW does.
func (c *COWLog) MapRead(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	lf, err := logFileOf(req.File)
	if err != nil {
		return dst, err
	}
	e, ok := lf.cf.Lookup(req.Offset, max(req.Length, minReadReply))
	if !ok {
		return dst, fmt.Errorf("%w: cowlog: offset %d of %s", ErrOutsideFile, req.Offset, req.File.Name())
	}
	m := mapcache.Mapping{Offset: e.Off, Length: e.Len, Addr: mapcache.NullAddr, Type: mapcache.Hole, Dev: c.cfg.Dev}
	if e.Addr != cowspace.NoAddr {
		m.Addr, m.Type = e.Addr, mapcache.Mapped
	}
	return append(dst, m), nil
}

// MapWrite allocates fresh space, as COW does. With none free, it starts
// a background commit (space released by overwrites comes back once the
// journal says so) and fails with engine.ErrNoSpace.
func (c *COWLog) MapWrite(req *engine.MapRequest, dst []mapcache.Mapping) ([]mapcache.Mapping, error) {
	lf, err := logFileOf(req.File)
	if err != nil {
		return dst, err
	}
	var buf [maxWriteExtents]cowspace.Extent
	ws, err := lf.cf.Alloc(req.Offset, req.Length, maxWriteExtents, buf[:0])
	if err != nil {
		c.kick(req.File.Engine(), true)
		return dst, noSpace(err, req.Length)
	}
	for _, w := range ws {
		dst = append(dst, mapcache.Mapping{Offset: w.Off, Length: w.Len, Addr: w.Addr, Type: mapcache.Mapped, Dev: c.cfg.Dev})
	}
	return dst, nil
}

// EndWrite records a successful write as the file's data and appends the
// remap to the journal's pending records: the file range's locations as
// they are after it, so that replaying records in order gives the state
// in memory.
func (c *COWLog) EndWrite(end *engine.WriteEnd, freed []mapcache.Mapping) ([]mapcache.Mapping, error) {
	if !end.OutOfPlace {
		return freed, nil
	}
	lf, err := logFileOf(end.File)
	if err != nil {
		return freed, err
	}
	w := end.Written
	var buf [16]cowspace.Extent
	var rbuf [4]cowspace.Remap
	c.mu.Lock()
	// End and the records of what it changed, under one lock: records
	// go in the order the changes were made.
	out, rms := lf.cf.EndRemap(cowspace.Extent{Off: w.Offset, Len: w.Length, Addr: w.Addr}, end.Err == nil, buf[:0], rbuf[:0])
	for _, r := range rms {
		c.appendLocked(&cowlog.Record{Kind: cowlog.Remap, File: lf.id, Off: r.Off, Len: r.Len,
			Addr: logAddr(r.Addr), Old: logAddr(r.Old)})
	}
	pending := uint64(len(c.recs))
	c.mu.Unlock()
	for _, e := range out {
		freed = append(freed, mapcache.Mapping{Offset: e.Off, Length: e.Len, Addr: e.Addr, Type: mapcache.Mapped, Dev: c.cfg.Dev})
	}
	if pending >= maxPendingRecords {
		c.kick(end.File.Engine(), false)
	}
	return freed, nil
}

// logAddr is a cowspace address as a record's.
func logAddr(a uint64) uint64 {
	if a == cowspace.NoAddr {
		return cowlog.NoAddr
	}
	return a
}

// Free takes space the engine no longer reads: it returns to the
// allocator once the records that released it are durable.
func (c *COWLog) Free(freed []mapcache.Mapping) {
	c.mu.Lock()
	for _, m := range freed {
		if m.Dev == c.cfg.Dev {
			c.held = append(c.held, deferred{addr: m.Addr, len: m.Length, tag: c.added})
			c.heldBytes += m.Length
		}
	}
	big := c.heldBytes >= c.cfg.CommitBytes
	c.mu.Unlock()
	if e := c.eng.Load(); big && e != nil {
		c.kick(e, false)
	}
}

// releaseDurableLocked frees deferred space whose records are durable.
func (c *COWLog) releaseDurableLocked() {
	keep := c.held[:0]
	for _, d := range c.held {
		if d.tag <= c.durab {
			c.space.Free(d.addr, d.len)
			c.heldBytes -= d.len
			continue
		}
		keep = append(keep, d)
	}
	clear(c.held[len(keep):])
	c.held = keep
}

// kick starts a background commit unless one runs, when enough waits (or
// always, with force).
func (c *COWLog) kick(e *engine.Engine, force bool) {
	c.mu.Lock()
	if c.bgRunning || (!force && len(c.recs) < maxPendingRecords && c.heldBytes < c.cfg.CommitBytes) {
		c.mu.Unlock()
		return
	}
	c.bgRunning = true
	c.bg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.bg.Done()
		err := c.Sync(e)
		c.mu.Lock()
		c.bgRunning = false
		c.stats.BackgroundCommits++
		if err != nil {
			c.lastErr = err
		}
		c.mu.Unlock()
	}()
}

// Sync implements engine.Syncer: every remap, create, remove and resize
// recorded before the call is durable when it returns nil, with the data
// the remaps point at. Concurrent calls share commits. On an error
// nothing recorded is dropped: the next Sync writes it again.
func (c *COWLog) Sync(e engine.DeviceIO) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	target := c.added
	for c.durab < target || c.needCkpt {
		if c.committing {
			c.cond.Wait()
			continue
		}
		c.committing = true
		err := c.commitLocked(e)
		c.committing = false
		c.cond.Broadcast()
		if err != nil {
			return err
		}
	}
	return nil
}

// commitLocked writes one journal transaction (or a checkpoint) holding
// every pending record. Called with c.mu held and c.committing set; it
// drops the lock for the I/O.
func (c *COWLog) commitLocked(e engine.DeviceIO) error {
	recs, nrec, upto := c.recs, c.nrec, c.added
	c.recs, c.nrec, c.spare = c.spare[:0], 0, nil
	bs := uint64(c.sb.BlockSize)
	jstart, jlen := c.sb.JournalBytes()
	txnBytes := (uint64(cowlog.TxnHeaderBytes+len(recs)) + bs - 1) / bs * bs
	ckpt := c.needCkpt || c.jpos+txnBytes > jlen ||
		(c.cfg.CheckpointEvery > 0 && c.sinceCkpt >= c.cfg.CheckpointEvery)
	var img []byte
	var sum uint32
	var err error
	if ckpt {
		img, sum, err = cowlog.EncodeCheckpoint(nil, &c.sb, c.snapshotLocked())
	} else {
		img = cowlog.BeginTxn(make([]byte, 0, cowlog.TxnHeaderBytes+len(recs)+int(bs)))
		img = append(img, recs...)
		img, sum, err = cowlog.FinishTxn(img, &c.sb, c.gen, c.seq+1, nrec, c.seed, jlen-c.jpos)
	}
	if err != nil {
		c.restoreRecs(recs, nrec)
		return fmt.Errorf("cowlog: commit: %w", err)
	}
	addr := jstart + c.jpos
	if ckpt {
		addr = c.sb.Slot(c.gen + 1)
	}
	hook := c.beforeMetaWrite
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
	// Data first: every write whose remap is in recs has completed, and
	// the flush before the metadata write makes it durable.
	err = writeMeta(e, c.cfg.Dev, img, addr)
	c.mu.Lock()
	if err != nil {
		c.restoreRecs(recs, nrec)
		return fmt.Errorf("cowlog: commit: %w", err)
	}
	c.stats.Commits++
	c.stats.Flushes += 2
	c.stats.RecordsCommitted += uint64(nrec)
	if ckpt {
		c.gen++
		c.jpos = 0
		c.needCkpt = false
		c.sinceCkpt = 0
		c.stats.Checkpoints++
	} else {
		c.seq++
		c.sinceCkpt++
		c.jpos += uint64(len(img))
		c.stats.JournalBytes += uint64(len(img))
	}
	c.seed = sum
	c.durab = upto
	if c.spare == nil {
		c.spare = recs[:0]
	}
	c.releaseDurableLocked()
	return nil
}

// restoreRecs puts records of a failed commit back in front of those
// appended since.
func (c *COWLog) restoreRecs(recs []byte, nrec uint32) {
	c.recs = append(recs, c.recs...)
	c.nrec += nrec
}

// snapshotLocked is the whole state as a checkpoint: every record
// appended so far applied.
func (c *COWLog) snapshotLocked() *cowlog.Checkpoint {
	ck := &cowlog.Checkpoint{Gen: c.gen + 1, Seq: c.seq, Files: make([]cowlog.File, 0, len(c.byID))}
	for _, lf := range c.byID {
		f := cowlog.File{ID: lf.id, Name: lf.name, Size: lf.size}
		for off, size := uint64(0), lf.cf.SizeBytes(); off < size; {
			e, ok := lf.cf.Lookup(off, size-off)
			if !ok {
				break
			}
			if e.Addr != cowspace.NoAddr {
				f.Extents = append(f.Extents, cowlog.Extent{Off: e.Off, Len: e.Len, Addr: e.Addr})
			}
			off = e.Off + e.Len
		}
		ck.Files = append(ck.Files, f)
	}
	slices.SortFunc(ck.Files, func(a, b cowlog.File) int { return int(a.ID) - int(b.ID) })
	return ck
}

// metaChunk is the largest metadata write staged in one arena buffer.
const metaChunk = 1 << 20

// writeMeta makes the data durable, writes img at addr and makes it
// durable: one linked flush-write-flush chain when img fits a staging
// buffer (journal transactions, small checkpoints), else a flush, the
// writes, a flush.
func writeMeta(e engine.DeviceIO, dev uint32, img []byte, addr uint64) error {
	buf := e.Buffer(min(metaChunk, len(img)))
	if buf == nil {
		return fmt.Errorf("cowlog: no arena buffer for metadata I/O")
	}
	defer e.PutBuffer(buf)
	if len(img) <= metaChunk {
		copy(buf, img)
		return e.CommitDevice(dev, buf[:len(img)], addr)
	}
	if err := e.FlushDevice(dev); err != nil {
		return err
	}
	for off := 0; off < len(img); off += metaChunk {
		n := copy(buf, img[off:])
		if err := e.WriteDevice(dev, buf[:n], addr+uint64(off)); err != nil {
			return err
		}
	}
	return e.FlushDevice(dev)
}

// devReader reads a device with direct I/O through an aligned buffer
// outside the Go heap: recovery's io.ReaderAt.
type devReader struct {
	path string
	fd   int
	size uint64
	mu   sync.Mutex
	buf  []byte
	mem  io.ReaderAt // an image in memory (tests) instead of fd
}

func openDevReader(path string) (*devReader, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cowlog: open %s: %w", path, err)
	}
	size, err := unix.Seek(fd, 0, 2)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("cowlog: size of %s: %w", path, err)
	}
	buf, err := unix.Mmap(-1, 0, 1<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("cowlog: buffer: %w", err)
	}
	return &devReader{path: path, fd: fd, size: uint64(size), buf: buf}, nil
}

// ReadAt reads block-aligned ranges.
func (d *devReader) ReadAt(p []byte, off int64) (int, error) {
	if d.mem != nil {
		return d.mem.ReadAt(p, off)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if off%512 != 0 || len(p)%512 != 0 {
		return 0, fmt.Errorf("cowlog: unaligned read [%d,+%d) of %s", off, len(p), d.path)
	}
	done := 0
	for done < len(p) {
		n := min(len(p)-done, len(d.buf))
		got, err := unix.Pread(d.fd, d.buf[:n], off+int64(done))
		if got > 0 {
			copy(p[done:], d.buf[:got])
			done += got
		}
		if err != nil {
			return done, fmt.Errorf("cowlog: read %s at %d: %w", d.path, off+int64(done), err)
		}
		if got == 0 {
			break
		}
	}
	return done, nil
}

func (d *devReader) close() error {
	if d.mem != nil || d.buf == nil {
		return nil
	}
	err := errors.Join(unix.Munmap(d.buf), unix.Close(d.fd))
	d.buf = nil
	return err
}

// FormatCOWLog writes an empty cowlog format over the whole device (or
// file) at path: superblock, an empty checkpoint, an empty journal. It
// overwrites whatever is there; callers check first (ProbeCOWLog).
func FormatCOWLog(path string, cfg COWLogConfig) error {
	cfg.defaults()
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cowlog: format: open %s: %w", path, err)
	}
	defer unix.Close(fd)
	size, err := unix.Seek(fd, 0, 2)
	if err != nil {
		return fmt.Errorf("cowlog: format: size of %s: %w", path, err)
	}
	var uuid [8]byte
	if _, err := unix.Getrandom(uuid[:], 0); err != nil {
		return fmt.Errorf("cowlog: format: %w", err)
	}
	sb, err := cowlog.NewLayout(uint64(size), cfg.BlockSize, cfg.MaxFiles, uint64(uuid[0])|uint64(uuid[1])<<8|uint64(uuid[2])<<16|uint64(uuid[3])<<24|
		uint64(uuid[4])<<32|uint64(uuid[5])<<40|uint64(uuid[6])<<48|uint64(uuid[7])<<56)
	if err != nil {
		return fmt.Errorf("%w: cowlog: format %s: %w", ErrConfig, path, err)
	}
	bs := int(sb.BlockSize)
	ck, _, err := cowlog.EncodeCheckpoint(nil, &sb, &cowlog.Checkpoint{})
	if err != nil {
		return err
	}
	buf, err := unix.Mmap(-1, 0, max(len(ck), bs), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return fmt.Errorf("cowlog: format: buffer: %w", err)
	}
	defer unix.Munmap(buf)
	write := func(b []byte, addr uint64) error {
		copy(buf, b)
		n, err := unix.Pwrite(fd, buf[:len(b)], int64(addr))
		if err == nil && n != len(b) {
			err = fmt.Errorf("short write (%d of %d bytes)", n, len(b))
		}
		if err != nil {
			return fmt.Errorf("cowlog: format %s at %d: %w", path, addr, err)
		}
		return nil
	}
	zero := make([]byte, bs)
	js, _ := sb.JournalBytes()
	// Metadata of an older format on the device must not pass for ours:
	// the UUID is new, and the first journal block and slot B are zeroed.
	for _, w := range []struct {
		b    []byte
		addr uint64
	}{{zero, sb.Slot(1)}, {zero, js}, {ck, sb.Slot(0)}} {
		if err := write(w.b, w.addr); err != nil {
			return err
		}
	}
	if err := unix.Fsync(fd); err != nil {
		return fmt.Errorf("cowlog: format: flush %s: %w", path, err)
	}
	sbb := make([]byte, bs)
	sb.Encode(sbb)
	if err := write(sbb, 0); err != nil {
		return err
	}
	if err := unix.Fsync(fd); err != nil {
		return fmt.Errorf("cowlog: format: flush %s: %w", path, err)
	}
	return nil
}

// Probe results.
const (
	ProbeBlank     = "blank"   // the first 64 KiB are zeros
	ProbeFormatted = "cowlog"  // carries the cowlog superblock
	ProbeForeign   = "foreign" // anything else
)

// ProbeCOWLog says what the start of the device at path holds.
func ProbeCOWLog(path string) (string, error) {
	rd, err := openDevReader(path)
	if err != nil {
		return "", err
	}
	defer rd.close()
	b := make([]byte, min(64<<10, rd.size/512*512))
	if _, err := rd.ReadAt(b, 0); err != nil {
		return "", err
	}
	if cowlog.HasMagic(b) {
		return ProbeFormatted, nil
	}
	for _, v := range b {
		if v != 0 {
			return ProbeForeign, nil
		}
	}
	return ProbeBlank, nil
}

// Check verifies the allocator's accounting against every file: each
// block of data belongs to one file block, the free counts add up. For
// tests.
func (c *COWLog) Check() error {
	c.mu.Lock()
	cfs := make([]*cowspace.File, 0, len(c.byID))
	for _, lf := range c.byID {
		cfs = append(cfs, lf.cf)
	}
	c.mu.Unlock()
	return c.space.Check(cfs...)
}
