package engine

import (
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/iobench/iobench/mapcache"
)

var ioEOF = io.EOF

// maxResolve bounds how often one piece is looked up again after stale or
// RetryCache replies, so that a mapper racing with itself cannot hang a
// request.
const maxResolve = 64

// resolve turns r into pieces in q.scratch: device I/Os for mapped ranges;
// holes, unwritten and delalloc ranges of a read are zero-filled and inline
// ranges copied right here. Nothing is issued: a bad mapping anywhere fails
// the whole request before any byte is written.
func (q *Queue) resolve(r *Request) error {
	if r.raw != rawNone {
		return q.resolveRaw(r)
	}
	e, f := q.eng, r.File
	if f == nil {
		return fmt.Errorf("engine: %s request has no file", opName(r.Write))
	}
	if f.eng != e {
		return fmt.Errorf("engine: file %s belongs to another engine", f.name)
	}
	length := uint64(len(r.Buf))
	if err := e.checkAligned(r); err != nil {
		return &IOError{Op: opName(r.Write), File: f.name, Offset: r.Offset, Length: length,
			Addr: mapcache.NullAddr, Err: err}
	}
	if length == 0 {
		return nil
	}
	size := f.Size()
	end := r.Offset + length
	if end < r.Offset {
		return &IOError{Op: opName(r.Write), File: f.name, Offset: r.Offset, Length: length,
			Addr: mapcache.NullAddr, Err: fmt.Errorf("%w: range overflows", ErrBeyondEOF)}
	}
	if r.Write {
		if end > size {
			return &IOError{Op: "write", File: f.name, Offset: r.Offset, Length: length,
				Addr: mapcache.NullAddr, Err: fmt.Errorf("%w (file size %d)", ErrBeyondEOF, size)}
		}
		r.want = len(r.Buf)
	} else {
		if r.Offset >= size {
			return nil // io.ReaderAt: nothing to read, io.EOF
		}
		r.want = len(r.Buf)
		if avail := size - r.Offset; avail < length {
			r.want = int(avail)
			end = r.Offset + roundUp(avail, uint64(e.align))
		}
	}
	for off := r.Offset; off < end; {
		var (
			m        mapcache.Mapping
			oop, unw bool
			err      error
		)
		if r.Write {
			m, oop, err = q.writeMapping(r, off, end)
			unw = !oop && m.Type == mapcache.Unwritten
		} else {
			m, err = q.readMapping(r, off, end)
		}
		if err != nil {
			return err
		}
		pend := min(end, m.Offset+m.Length)
		if r.Write || m.Type == mapcache.Mapped {
			if err := q.addPieces(r, off, pend, m, oop, unw); err != nil {
				return err
			}
		} else {
			buf := r.Buf[off-r.Offset : pend-r.Offset]
			if m.Type == mapcache.Inline {
				if err := q.readInline(r, off, buf); err != nil {
					return err
				}
			} else {
				clear(buf)
				q.count(f, cZeroBytes, uint64(len(buf)))
			}
		}
		off = pend
	}
	return nil
}

// addPieces queues the device I/O for [off, end) of r through m.
func (q *Queue) addPieces(r *Request, off, end uint64, m mapcache.Mapping, oop, unw bool) error {
	e := q.eng
	d := &e.devs[m.Dev]
	addr := m.Addr + (off - m.Offset)
	if r.Write && d.readOnly {
		return &IOError{Op: "write", File: r.File.name, Offset: off, Length: end - off,
			Dev: m.Dev, DevPath: d.path, Addr: addr,
			Err: fmt.Errorf("%w: device %s is read-only", ErrReadOnly, d.path)}
	}
	if oop {
		q.count(r.File, cOutOfPlace, 1)
	}
	for off < end {
		n := min(end-off, maxPiece)
		q.scratch = append(q.scratch, piece{
			req: r, fileOff: off, bufOff: int(off - r.Offset), length: int(n),
			dev: m.Dev, addr: addr, oop: oop, unwrit: unw, m: m,
		})
		off += n
		addr += n
	}
	return nil
}

func (q *Queue) readInline(r *Request, off uint64, buf []byte) error {
	f := r.File
	ir, ok := q.eng.cfg.Mapper.(InlineReader)
	if !ok {
		return &IOError{Op: "read", File: f.name, Offset: off, Length: uint64(len(buf)),
			Addr: mapcache.NullAddr, Err: fmt.Errorf("%w: inline mapping from a mapper without ReadInline", ErrBadMapping)}
	}
	if err := ir.ReadInline(f, off, buf); err != nil {
		return &IOError{Op: "read", File: f.name, Offset: off, Length: uint64(len(buf)),
			Addr: mapcache.NullAddr, Err: fmt.Errorf("%w: inline data: %w", ErrMapper, err)}
	}
	q.count(f, cInlineBytes, uint64(len(buf)))
	return nil
}

// readMapping returns the read mapping covering off: from the cache, or from
// the mapper (stored in the cache if the cache did not change meanwhile).
func (q *Queue) readMapping(r *Request, off, end uint64) (mapcache.Mapping, error) {
	e, f := q.eng, r.File
	for attempt := 0; attempt < maxResolve; attempt++ {
		var seq uint64
		if !e.cfg.NoCache {
			seq = f.cache.Seq()
			m, _, res := f.cache.Lookup(mapcache.ReadFork, off, end-off)
			if res == mapcache.Hit {
				q.count(f, cHits, 1)
				return m, nil
			}
			q.count(f, cMisses, 1)
		}
		reply, err := q.callMapper(r, false, off, end, seq)
		if err != nil {
			return mapcache.Mapping{}, err
		}
		i, retry, err := q.validate(r, false, off, reply)
		if err != nil {
			return mapcache.Mapping{}, err
		}
		if retry {
			if e.cfg.NoCache {
				return mapcache.Mapping{}, q.badMapping(r, off, "RetryCache reply while the cache is off")
			}
			continue
		}
		m := reply[i]
		if e.cfg.NoCache {
			return m, nil
		}
		stored, err := f.cache.UpsertIf(seq, mapcache.ReadFork, reply...)
		if err != nil {
			return mapcache.Mapping{}, q.badMapping(r, off, err.Error())
		}
		if stored {
			return m, nil
		}
		q.count(f, cStaleRetries, 1)
	}
	return mapcache.Mapping{}, &IOError{Op: opName(r.Write), File: f.name, Offset: off, Length: end - off,
		Addr: mapcache.NullAddr, Err: fmt.Errorf("%w: the cache kept changing under %d lookups", ErrMapper, maxResolve)}
}

// writeMapping returns where the write of [off, end) goes: a write-fork
// location (oop true) or the read mapping (in place).
func (q *Queue) writeMapping(r *Request, off, end uint64) (m mapcache.Mapping, oop bool, err error) {
	e, f := q.eng, r.File
	noStorage := false // the read mapping has nowhere to write in place
	for attempt := 0; attempt < maxResolve; attempt++ {
		var seq uint64
		if !e.cfg.NoCache {
			seq = f.cache.Seq()
			wm, _, res := f.cache.Lookup(mapcache.WriteFork, off, end-off)
			switch {
			case res == mapcache.Hit && wm.Type == mapcache.Mapped:
				q.count(f, cHits, 1)
				return wm, true, nil
			case !noStorage && (res == mapcache.NoFork || (res == mapcache.Hit && wm.Type == mapcache.PureOverwrite)):
				rm, err := q.readMapping(r, off, end)
				if err != nil {
					return rm, false, err
				}
				if rm.Type == mapcache.Mapped || rm.Type == mapcache.Unwritten {
					if res == mapcache.Hit {
						rm = clip(rm, wm.Offset+wm.Length)
					}
					return rm, false, nil
				}
				noStorage = true
				seq = f.cache.Seq()
			default:
				q.count(f, cMisses, 1)
			}
		}
		reply, err := q.callMapper(r, true, off, end, seq)
		if err != nil {
			return m, false, err
		}
		i, retry, err := q.validate(r, true, off, reply)
		if err != nil {
			q.dropReply(r, reply, err)
			return m, false, err
		}
		if retry {
			if e.cfg.NoCache {
				return m, false, q.badMapping(r, off, "RetryCache reply while the cache is off")
			}
			continue
		}
		c := reply[i]
		switch c.Type {
		case mapcache.Delalloc:
			return m, false, q.badMapping(r, off, "write mapping covering the offset is delalloc (no location)")
		case mapcache.PureOverwrite:
			if noStorage {
				return m, false, q.badMapping(r, off, "pure overwrite of a range with no storage (hole, delalloc or inline)")
			}
			if e.cfg.NoCache {
				rm, err := q.readMapping(r, off, min(end, c.Offset+c.Length))
				if err != nil {
					return rm, false, err
				}
				if rm.Type != mapcache.Mapped && rm.Type != mapcache.Unwritten {
					return m, false, q.badMapping(r, off, "pure overwrite of a range with no storage (hole, delalloc or inline)")
				}
				return clip(rm, c.Offset+c.Length), false, nil
			}
		}
		if e.cfg.NoCache {
			return c, true, nil
		}
		stored, err := f.cache.UpsertIf(seq, mapcache.WriteFork, reply...)
		if err != nil {
			err = q.badMapping(r, off, err.Error())
			q.dropReply(r, reply, err)
			return m, false, err
		}
		if !stored {
			// The cache changed while the mapper worked: the reply is
			// dropped, so hand its fresh space back before asking again.
			q.count(f, cStaleRetries, 1)
			q.dropReply(r, reply, errStaleReply)
			continue
		}
		if c.Type == mapcache.Mapped {
			return c, true, nil
		}
		// A pure overwrite: look up again, which now leads to the read
		// mapping.
	}
	return m, false, &IOError{Op: "write", File: f.name, Offset: off, Length: end - off,
		Addr: mapcache.NullAddr, Err: fmt.Errorf("%w: the cache kept changing under %d lookups", ErrMapper, maxResolve)}
}

// errStaleReply is what EndWrite hears for write-reply space the engine
// dropped because the cache changed while the mapper worked.
var errStaleReply = errors.New("engine: write reply dropped: the cache changed meanwhile")

// dropReply tells the mapper that the locations of a write reply will not
// be written (EndWrite with an error, as for a failed write), and retires
// the space it hands back, so that dropped replies do not leak space.
func (q *Queue) dropReply(r *Request, reply []mapcache.Mapping, cause error) {
	e := q.eng
	for _, m := range reply {
		if m.Type != mapcache.Mapped {
			continue
		}
		w := &q.wend
		*w = WriteEnd{File: r.File, Written: m, OutOfPlace: true, Err: cause}
		freed, _ := e.cfg.Mapper.EndWrite(w, q.frees[:0])
		*w = WriteEnd{}
		e.retire(freed)
		clear(freed)
		q.frees = freed[:0]
	}
}

// clip shortens m to end at end (when it reaches past it).
func clip(m mapcache.Mapping, end uint64) mapcache.Mapping {
	if m.Offset+m.Length > end {
		m.Length = end - m.Offset
	}
	return m
}

// callMapper asks the mapper for the mappings of [off, end), rounded out to
// the file's blocks.
func (q *Queue) callMapper(r *Request, write bool, off, end, seq uint64) ([]mapcache.Mapping, error) {
	e, f := q.eng, r.File
	bs := uint64(f.bs)
	start := off &^ (bs - 1)
	mr := &q.mreq
	*mr = MapRequest{File: f, Offset: start, Length: roundUp(end-start, bs), Seq: seq}
	t0 := e.nowNs()
	var reply []mapcache.Mapping
	var err error
	if write {
		reply, err = e.cfg.Mapper.MapWrite(mr, q.replies[:0])
	} else {
		reply, err = e.cfg.Mapper.MapRead(mr, q.replies[:0])
	}
	dt := uint64(e.nowNs() - t0)
	*mr = MapRequest{}
	q.count(f, cMapperCalls, 1)
	q.count(f, cMapperNs, dt)
	if cap(reply) > cap(q.replies) {
		q.replies = reply[:0]
	}
	if err != nil {
		return nil, &IOError{Op: opName(r.Write), File: f.name, Offset: off, Length: end - off,
			Addr: mapcache.NullAddr, Err: fmt.Errorf("%w: %w", ErrMapper, err)}
	}
	return reply, nil
}

func (q *Queue) badMapping(r *Request, off uint64, why string) error {
	return &IOError{Op: opName(r.Write), File: r.File.name, Offset: off,
		Addr: mapcache.NullAddr, Err: fmt.Errorf("%w: %s", ErrBadMapping, why)}
}

// validate checks a mapper reply: sorted, non-overlapping, non-empty,
// block-aligned, of a type that makes sense for the direction, within the
// device it names, and covering off. It returns the index of the covering
// mapping, or retry for a RetryCache reply.
func (q *Queue) validate(r *Request, write bool, off uint64, reply []mapcache.Mapping) (int, bool, error) {
	return validateReply(q.eng, r.File, write, off, reply, func(why string) error {
		return q.badMapping(r, off, why)
	})
}

// validateReply is validate without a queue, for tests and fuzzing.
func validateReply(e *Engine, f *File, write bool, off uint64, reply []mapcache.Mapping,
	bad func(string) error) (int, bool, error) {
	if len(reply) == 0 {
		return 0, false, bad("empty reply")
	}
	if len(reply) == 1 && reply[0].Type == mapcache.RetryCache {
		return 0, true, nil
	}
	bs := uint64(f.bs)
	cover := -1
	var prevEnd uint64
	for i, m := range reply {
		switch {
		case m.Length == 0:
			return 0, false, bad(fmt.Sprintf("mapping %d has zero length", i))
		case m.Offset%bs != 0 || m.Length%bs != 0:
			return 0, false, bad(fmt.Sprintf("mapping %d [%d,+%d) is not aligned to the %d-byte block", i, m.Offset, m.Length, bs))
		case m.Offset+m.Length < m.Offset || m.Length > 1<<63:
			return 0, false, bad(fmt.Sprintf("mapping %d [%d,+%d) overflows", i, m.Offset, m.Length))
		case i > 0 && m.Offset < prevEnd:
			return 0, false, bad(fmt.Sprintf("mapping %d at %d overlaps or precedes the one before (ending at %d)", i, m.Offset, prevEnd))
		}
		prevEnd = m.Offset + m.Length
		switch m.Type {
		case mapcache.Mapped, mapcache.Unwritten:
			if write && m.Type == mapcache.Unwritten {
				return 0, false, bad(fmt.Sprintf("mapping %d: unwritten is not a write location", i))
			}
			if int(m.Dev) >= len(e.devs) {
				return 0, false, bad(fmt.Sprintf("mapping %d names device %d; the engine has %d", i, m.Dev, len(e.devs)))
			}
			d := &e.devs[m.Dev]
			if m.Addr == mapcache.NullAddr || m.Addr%uint64(d.lbs) != 0 {
				return 0, false, bad(fmt.Sprintf("mapping %d: address %#x is not aligned to device %s's %d-byte blocks", i, m.Addr, d.path, d.lbs))
			}
			if m.Addr+m.Length < m.Addr || m.Addr+m.Length > d.size {
				return 0, false, bad(fmt.Sprintf("mapping %d: device range [%d,+%d) lies beyond the end of %s (%d bytes)", i, m.Addr, m.Length, d.path, d.size))
			}
		case mapcache.Hole, mapcache.Delalloc, mapcache.Inline:
			if write && m.Type != mapcache.Delalloc {
				return 0, false, bad(fmt.Sprintf("mapping %d: %v is not a write location", i, m.Type))
			}
		case mapcache.PureOverwrite:
			if !write {
				return 0, false, bad(fmt.Sprintf("mapping %d: pure overwrite in a read reply", i))
			}
		default:
			return 0, false, bad(fmt.Sprintf("mapping %d has type %v, not valid in a reply", i, m.Type))
		}
		if m.Offset <= off && off < m.Offset+m.Length {
			cover = i
		}
	}
	if cover < 0 {
		return 0, false, bad(fmt.Sprintf("no mapping covers offset %d", off))
	}
	return cover, false, nil
}

// checkAligned reports what about r is not aligned, and by how much.
func (e *Engine) checkAligned(r *Request) error {
	a := uint64(e.align)
	if rem := r.Offset % a; rem != 0 {
		return fmt.Errorf("%w: offset %d is %d bytes past a %d-byte boundary", ErrUnaligned, r.Offset, rem, a)
	}
	if rem := uint64(len(r.Buf)) % a; rem != 0 {
		return fmt.Errorf("%w: length %d is %d bytes past a multiple of %d", ErrUnaligned, len(r.Buf), rem, a)
	}
	if len(r.Buf) > 0 {
		addr := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(r.Buf))))
		if rem := addr % uint64(e.memAlgn); rem != 0 {
			return fmt.Errorf("%w: buffer address %#x is %d bytes past a %d-byte boundary (use Engine.Buffer)", ErrUnaligned, addr, rem, e.memAlgn)
		}
	}
	return nil
}

func roundUp(n, a uint64) uint64 { return (n + a - 1) / a * a }
