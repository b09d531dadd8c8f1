package engine

import (
	"runtime"
	"sync"
	"unsafe"

	"github.com/iobench/iobench/engine/uring"
	"golang.org/x/sys/unix"
)

// Reads through gaps (Config.ReadGap).
//
// A read the mapper splits (a fragmented file) becomes one device I/O per
// piece. Where consecutive pieces of one request lie on one device in
// ascending order with small gaps between them, fill hands them to the
// kernel as one vectored read instead: an iovec per piece, pointing into
// the request's buffer, and one per gap, pointing at the engine's scratch
// buffer (Engine.gapBuf), whose bytes nothing reads. The device sees one
// I/O over the pieces' whole span. The merged read takes one slot, whose
// piece covers the span and counts the pieces (piece.parts); the pieces
// themselves wait in the slot's gapRead. The request keeps one pending
// unit per piece, so a completion that brings the whole span finishes
// each piece as its own completion would have. One that fails or comes
// back short puts the pieces back at the front of the backlog, each to
// be read alone (piece.solo), and the errors and short transfers are then
// theirs, as without merging.
//
// Measured on a loop device over tmpfs (2 vCPUs, kernel 6.18, fio 3.33,
// 2 s runs): 16 KiB reads with 16 KiB between them ran 2.8-3.0 GB/s at
// depth 64, 256 KiB reads of the same span 12.9-14.0 GB/s at depth 8, half
// of it the pieces' (`fio --rw=read:16k --bs=16k --iodepth=64` against
// `--rw=read --bs=256k --iodepth=8`, both `--direct=1
// --ioengine=io_uring` on the device).

// maxReadGap bounds Config.ReadGap.
const maxReadGap = 1 << 20

// maxGapParts bounds the pieces one merged read takes, maxGapSpan the
// bytes it covers.
const (
	maxGapParts = 64
	maxGapSpan  = 8 << 20
)

// gapRead is a slot's merged read: its pieces and its iovecs.
type gapRead struct {
	parts []piece
	iov   []unix.Iovec
}

// gapRun returns how many pieces from the backlog's head one read can
// take (1: the head alone).
func (q *Queue) gapRun() int {
	p := &q.backlog[q.bhead]
	r := p.req
	if r.Write || r.Trim || r.raw != rawNone || r.Sync != NoSync || p.solo || p.done != 0 || p.raw.chain != 0 {
		return 1
	}
	gap := uint64(q.eng.cfg.ReadGap)
	end, bufEnd, span := p.addr+uint64(p.length), p.bufOff+p.length, uint64(p.length)
	k := 1
	for i := q.bhead + 1; i < len(q.backlog) && k < maxGapParts; i++ {
		nx := &q.backlog[i]
		if nx.req != r || nx.dev != p.dev || nx.solo || nx.done != 0 || nx.bufOff != bufEnd ||
			nx.addr < end || nx.addr-end > gap {
			break
		}
		next := span + (nx.addr - end) + uint64(nx.length)
		if next > maxGapSpan {
			break
		}
		end, bufEnd, span = nx.addr+uint64(nx.length), nx.bufOff+nx.length, next
		k++
	}
	return k
}

// mergeGaps reports whether fill merges a run of pieces gapRun found:
// always with ReadGap alone; with ReadGapAuto while the queue's gapCtl
// measures merging faster (made here, at the first run), and never on a
// queue that cannot measure (gapAuto false: a direct queue, which serves
// calls of any thread, or no thread CPU clock).
func (q *Queue) mergeGaps() bool {
	if !q.eng.cfg.ReadGapAuto {
		return true
	}
	if q.gapCtl == nil {
		if !q.gapAuto {
			return false
		}
		q.gapCtl = newGapCtl(gapClocks(q))
	}
	return q.gapCtl.on
}

// gapClocks returns the CPU clock and wall clock q's gapCtl measures
// with: the thread's and the monotonic clock (tests replace it).
var gapClocks = func(*Queue) (cpu, wall func() int64) { return threadCPU, nanotime }

// queueGap queues the k pieces at the backlog's head as one vectored read
// in slot, and takes them off the backlog. It reports false, changing
// nothing, when the submission queue is full.
func (q *Queue) queueGap(slot uint32, k int) bool {
	if q.gaps == nil {
		q.gaps = make([]gapRead, q.depth)
	}
	g := &q.gaps[slot]
	parts := q.backlog[q.bhead : q.bhead+k]
	head := &parts[0]
	r, e := head.req, q.eng
	g.iov = g.iov[:0]
	end := head.addr
	for i := range parts {
		p := &parts[i]
		if p.addr > end {
			g.iov = append(g.iov, unix.Iovec{Base: unsafe.SliceData(e.gapBuf)})
			g.iov[len(g.iov)-1].SetLen(int(p.addr - end))
		}
		g.iov = append(g.iov, unix.Iovec{Base: &r.Buf[p.bufOff]})
		g.iov[len(g.iov)-1].SetLen(p.length)
		end = p.addr + uint64(p.length)
	}
	span := end - head.addr
	d := &e.devs[head.dev]
	op := &q.op
	*op = Op{}
	op.Fd, op.BufIndex, op.Addr, op.Len, op.Iovecs = d.fd, -1, uintptr(unsafe.Pointer(unsafe.SliceData(g.iov))), uint32(span), uint32(len(g.iov))
	if e.gapIdx >= 0 && e.arena.index(r.Buf) == e.gapIdx {
		// The pieces and the gaps in one registered buffer: the kernel
		// neither pins nor maps the pages per read.
		op.BufIndex = e.gapIdx
	}
	op.Offset, op.UserData, op.Prio, op.Async, op.NoWait = head.addr, uint64(slot), r.Prio, r.Async, r.NoWait
	if e.filesRegistered {
		op.FixedFile, op.Fd = true, int32(head.dev)
	}
	if !q.ring.Queue(op) {
		return false
	}
	g.parts = append(g.parts[:0], parts...)
	merged := *head
	merged.length, merged.parts = int(span), uint8(k)
	q.slots[slot] = merged
	clear(parts)
	q.bhead += k
	return true
}

// gapDone completes the merged read p of slot with result res.
func (q *Queue) gapDone(slot uint32, p *piece, res int32) {
	g := &q.gaps[slot]
	f := p.req.File
	q.count(f, cIOs, 1)
	if int(res) == p.length {
		var n uint64
		for i := range g.parts {
			n += uint64(g.parts[i].length)
		}
		q.count(f, cReadBytes, n)
		q.count(f, cGapReads, 1)
		q.count(f, cGapBytes, uint64(p.length)-n)
		for range g.parts {
			q.pieceDone(p.req)
		}
	} else {
		// Each piece alone, in order at the backlog's front.
		q.count(f, cGapSplits, 1)
		for i := len(g.parts) - 1; i >= 0; i-- {
			pp := g.parts[i]
			pp.solo = true
			q.requeue(pp)
		}
	}
	clear(g.parts)
	g.parts = g.parts[:0]
}

// probeReadvFixed reports whether the kernel's io_uring takes vectored
// reads into registered buffers (IORING_OP_READV_FIXED, Linux 6.15 and
// later).
func probeReadvFixed() bool {
	p, ok := ringOps()
	return ok && p.Supports(uring.OpReadvFixed)
}

// ringProbe is the opcodes the kernel's io_uring takes, asked once per
// process (ringOps).
var ringProbe struct {
	sync.Once
	p  uring.Probe
	ok bool
}

// ringOps returns the opcodes the kernel's io_uring takes; false when no
// ring could be made or probed.
func ringOps() (uring.Probe, bool) {
	ringProbe.Do(func() {
		// The ring is single-issuer: keep it on one thread.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		r, err := uring.New(2, uring.Params{})
		if err != nil {
			return
		}
		defer r.Close()
		ringProbe.p, err = r.Probe()
		ringProbe.ok = err == nil
	})
	return ringProbe.p, ringProbe.ok
}
