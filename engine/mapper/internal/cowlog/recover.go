package cowlog

import (
	"errors"
	"fmt"
	"io"
	"slices"
)

// State is what Recover found: the durable state and where the journal
// continues.
type State struct {
	SB Superblock
	// Gen is the generation of the checkpoint recovery started from, Seq
	// the last transaction applied (the checkpoint's when none), Seed
	// the checksum the next transaction is seeded with, and JournalNext
	// the journal byte (from the journal's start) where it goes.
	Gen, Seq    uint64
	Seed        uint32
	JournalNext uint64
	Files       []File // sorted by ID
	// Report.
	Txns, Records int
	TornTail      bool   // the journal ended in a transaction that failed its checksum
	TornBlock     uint64 // its first block, when TornTail
	UsedBlocks    uint64 // data blocks referenced by files
}

// FreeBlocks returns the data blocks no file references.
func (s *State) FreeBlocks() uint64 { return s.SB.DataBlocks - s.UsedBlocks }

// rfile is a file during replay: file block -> device byte address.
type rfile struct {
	name   string
	size   uint64
	blocks map[uint64]uint64
}

// Recover reads the device through r (devBytes long): the superblock, the
// newer valid checkpoint, then the journal up to its last valid
// transaction. A transaction that fails its checksum ends the journal (a
// torn tail) unless the next one is valid, which is corruption in the
// middle: the error names the block. Every address and size is checked;
// space no file references is free.
func Recover(r io.ReaderAt, devBytes uint64) (*State, error) {
	first := make([]byte, min(devBytes, 4096))
	if err := readFull(r, first, 0); err != nil {
		return nil, fmt.Errorf("cowlog: read superblock: %w", err)
	}
	sb, err := DecodeSuperblock(first, devBytes)
	if err != nil {
		return nil, err
	}
	bs := uint64(sb.BlockSize)
	ck, sum, err := readNewestCheckpoint(r, &sb)
	if err != nil {
		return nil, err
	}
	st := &State{SB: sb, Gen: ck.Gen, Seq: ck.Seq, Seed: sum}
	files := make(map[uint32]*rfile, len(ck.Files))
	for _, f := range ck.Files {
		if _, dup := files[f.ID]; dup {
			return nil, fmt.Errorf("%w: checkpoint gen %d: file id %d twice", ErrCorrupt, ck.Gen, f.ID)
		}
		rf := &rfile{name: f.Name, size: f.Size, blocks: make(map[uint64]uint64)}
		for _, e := range f.Extents {
			for i := uint64(0); i < e.Len; i += bs {
				rf.blocks[(e.Off+i)/bs] = e.Addr + i
			}
		}
		files[f.ID] = rf
	}

	jstart, jlen := sb.JournalBytes()
	hdr := make([]byte, bs)
	var body []byte
	pos := uint64(0)
	for pos+bs <= jlen {
		if err := readFull(r, hdr, jstart+pos); err != nil {
			return nil, fmt.Errorf("cowlog: read journal block %d: %w", (jstart+pos)/bs, err)
		}
		h, ok, tooLong := decodeTxnHeader(hdr, &sb, st.Gen, st.Seq+1, jlen-pos)
		if tooLong {
			// A header sector is written whole: no torn write makes this.
			return nil, fmt.Errorf("%w: journal transaction %d at block %d claims %d bytes, %d left in the journal",
				ErrCorrupt, h.seq, (jstart+pos)/bs, h.totalBytes, jlen-pos)
		}
		if !ok {
			break // the end of the journal: never written, or older
		}
		body = slices.Grow(body[:0], int(h.totalBytes))[:h.totalBytes]
		if err := readFull(r, body, jstart+pos); err != nil {
			return nil, fmt.Errorf("cowlog: read journal block %d: %w", (jstart+pos)/bs, err)
		}
		got := crc(crc(st.Seed, body[:28]), body[txnHdrBytes:txnHdrBytes+h.plen])
		if got != h.sum {
			if nextValid(r, &sb, body[:bs], pos+h.totalBytes, st.Gen, st.Seq+2, h.sum) {
				return nil, fmt.Errorf("%w: journal transaction %d at block %d fails its checksum (%#x, computed %#x) and a valid one follows it",
					ErrCorrupt, h.seq, (jstart+pos)/bs, h.sum, got)
			}
			st.TornTail, st.TornBlock = true, (jstart+pos)/bs
			break
		}
		p := body[txnHdrBytes : txnHdrBytes+h.plen]
		for i := range h.nrec {
			var rec Record
			rec, p, err = decodeRecord(p)
			if err == nil {
				err = apply(files, &sb, &rec)
			}
			if err != nil {
				return nil, fmt.Errorf("%w: journal transaction %d at block %d, record %d: %w", ErrCorrupt, h.seq, (jstart+pos)/bs, i, err)
			}
			st.Records++
		}
		if len(p) != 0 {
			return nil, fmt.Errorf("%w: journal transaction %d at block %d: %d bytes after its %d records", ErrCorrupt, h.seq, (jstart+pos)/bs, len(p), h.nrec)
		}
		st.Txns++
		st.Seq, st.Seed = h.seq, h.sum
		pos += h.totalBytes
	}
	st.JournalNext = pos
	return st, st.finish(files)
}

// nextValid reports whether a transaction with sequence seq and a valid
// checksum (seeded with seed) starts at journal byte pos.
func nextValid(r io.ReaderAt, sb *Superblock, hdr []byte, pos, gen, seq uint64, seed uint32) bool {
	jstart, jlen := sb.JournalBytes()
	if pos+uint64(len(hdr)) > jlen || readFull(r, hdr, jstart+pos) != nil {
		return false
	}
	h, ok, _ := decodeTxnHeader(hdr, sb, gen, seq, jlen-pos)
	if !ok {
		return false
	}
	body := make([]byte, h.totalBytes)
	if readFull(r, body, jstart+pos) != nil {
		return false
	}
	return crc(crc(seed, body[:28]), body[txnHdrBytes:txnHdrBytes+h.plen]) == h.sum
}

// apply replays one record.
func apply(files map[uint32]*rfile, sb *Superblock, r *Record) error {
	bs := uint64(sb.BlockSize)
	f := files[r.File]
	if f == nil && r.Kind != Create {
		return fmt.Errorf("kind %d for file %d, which does not exist", r.Kind, r.File)
	}
	switch r.Kind {
	case Create:
		if f != nil {
			return fmt.Errorf("create of file %d, which exists", r.File)
		}
		if uint64(len(files)) >= uint64(sb.MaxFiles) {
			return fmt.Errorf("create of file %d: already %d files", r.File, len(files))
		}
		for id, o := range files {
			if o.name == r.Name {
				return fmt.Errorf("create of file %d: name %q is file %d's", r.File, r.Name, id)
			}
		}
		files[r.File] = &rfile{name: r.Name, size: r.Size, blocks: make(map[uint64]uint64)}
	case Remove:
		delete(files, r.File)
	case SetSize:
		for b := range f.blocks {
			if b*bs >= r.Size {
				delete(f.blocks, b)
			}
		}
		f.size = r.Size
	case Remap:
		if r.Addr != NoAddr {
			if err := checkExtent(sb, Extent{Off: r.Off, Len: r.Len, Addr: r.Addr}, f.size); err != nil {
				return err
			}
		} else if r.Len == 0 || r.Off%bs != 0 || r.Len%bs != 0 || r.Off+r.Len < r.Off || r.Off+r.Len > (f.size+bs-1)/bs*bs {
			return fmt.Errorf("hole [%d,+%d) is empty, unaligned or past the file's %d bytes", r.Off, r.Len, f.size)
		}
		if r.Old != MixedAddr {
			// The record says what it replaced: the replayed state must
			// agree, or the journal does not describe this state.
			for i := uint64(0); i < r.Len; i += bs {
				cur, ok := f.blocks[(r.Off+i)/bs]
				if (r.Old == NoAddr && ok) || (r.Old != NoAddr && (!ok || cur != r.Old+i)) {
					want, got := "a hole", "a hole"
					if r.Old != NoAddr {
						want = fmt.Sprintf("address %d", r.Old+i)
					}
					if ok {
						got = fmt.Sprintf("address %d", cur)
					}
					return fmt.Errorf("remap of file %d offset %d replaces %s, the replayed state has %s", r.File, r.Off+i, want, got)
				}
			}
		}
		for i := uint64(0); i < r.Len; i += bs {
			if r.Addr == NoAddr {
				delete(f.blocks, (r.Off+i)/bs)
			} else {
				f.blocks[(r.Off+i)/bs] = r.Addr + i
			}
		}
	}
	return nil
}

// finish turns the replayed files into extents and checks that no data
// block is referenced twice.
func (st *State) finish(files map[uint32]*rfile) error {
	bs := uint64(st.SB.BlockSize)
	owner := make(map[uint64]uint32)
	ids := make([]uint32, 0, len(files))
	for id := range files {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var errs []error
	for _, id := range ids {
		rf := files[id]
		keys := make([]uint64, 0, len(rf.blocks))
		for b := range rf.blocks {
			keys = append(keys, b)
		}
		slices.Sort(keys)
		f := File{ID: id, Name: rf.name, Size: rf.size}
		for _, b := range keys {
			a := rf.blocks[b]
			if o, dup := owner[a]; dup && len(errs) < 4 {
				errs = append(errs, fmt.Errorf("%w: data block %d is referenced by files %d and %d", ErrCorrupt, a/bs, o, id))
			}
			owner[a] = id
			if n := len(f.Extents); n > 0 && f.Extents[n-1].Off+f.Extents[n-1].Len == b*bs && f.Extents[n-1].Addr+f.Extents[n-1].Len == a {
				f.Extents[n-1].Len += bs
				continue
			}
			f.Extents = append(f.Extents, Extent{Off: b * bs, Len: bs, Addr: a})
		}
		st.UsedBlocks += uint64(len(keys))
		st.Files = append(st.Files, f)
	}
	return errors.Join(errs...)
}

// readNewestCheckpoint returns the valid checkpoint of the higher
// generation, and its checksum.
func readNewestCheckpoint(r io.ReaderAt, sb *Superblock) (*Checkpoint, uint32, error) {
	var best *Checkpoint
	var bestSum uint32
	var why [2]error
	for slot := range uint64(2) {
		ck, sum, err := readCheckpoint(r, sb, slot)
		if err != nil {
			why[slot] = err
			continue
		}
		if best == nil || ck.Gen > best.Gen {
			best, bestSum = ck, sum
		}
	}
	if best == nil {
		return nil, 0, fmt.Errorf("%w: no valid checkpoint: slot A (block %d): %v; slot B (block %d): %v",
			ErrCorrupt, sb.CkptA, why[0], sb.CkptB, why[1])
	}
	return best, bestSum, nil
}

func readCheckpoint(r io.ReaderAt, sb *Superblock, slot uint64) (*Checkpoint, uint32, error) {
	bs := uint64(sb.BlockSize)
	addr := sb.Slot(slot)
	hb := make([]byte, bs)
	if err := readFull(r, hb, addr); err != nil {
		return nil, 0, err
	}
	h, ok := decodeCkptHeader(hb, sb)
	if !ok || h.gen%2 != slot {
		return nil, 0, errors.New("no checkpoint header")
	}
	total := (ckptHdrBytes + h.plen + bs - 1) / bs * bs
	b := make([]byte, total)
	if err := readFull(r, b, addr); err != nil {
		return nil, 0, err
	}
	if got := crc(crc(0, b[:60]), b[ckptHdrBytes:ckptHdrBytes+h.plen]); got != h.sum {
		return nil, 0, fmt.Errorf("gen %d: checksum %#x, computed %#x", h.gen, h.sum, got)
	}
	ck, err := decodeCheckpointBody(b[ckptHdrBytes:ckptHdrBytes+h.plen], h, sb)
	if err != nil {
		return nil, 0, fmt.Errorf("gen %d: %w", h.gen, err)
	}
	return ck, h.sum, nil
}

// readFull reads len(b) bytes at off.
func readFull(r io.ReaderAt, b []byte, off uint64) error {
	n, err := r.ReadAt(b, int64(off))
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
