package engine

import (
	"errors"
	"time"

	"github.com/iobench/iobench/engine/uring"
)

// iouring adapts an engine/uring ring to the Ring interface.
type iouring struct {
	r          *uring.Ring
	cqes       []uring.CQE
	bufs, fils bool // registered, to unregister at Close

	// null replaces every read and write with a NOP that reports the
	// whole length transferred (lens, by user data): the engine's own
	// ceiling, with no device behind it.
	null bool
	lens []uint32
}

// NewIOURing is the default RingFactory: a real io_uring with the set-up
// flags the kernel supports (see uring.New).
func NewIOURing(opts RingOptions) (Ring, error) {
	r, err := uring.New(opts.Entries, uring.Params{SQPoll: opts.SQPoll, IOPoll: opts.IOPoll})
	if err != nil {
		return nil, err
	}
	return &iouring{r: r, cqes: make([]uring.CQE, 2*opts.Entries)}, nil
}

// NewNullRing is a RingFactory for rings that do no device I/O: every read
// and write becomes an IORING_OP_NOP that completes with the operation's
// full length, so that a run measures the engine's whole path (lookups,
// splitting, the ring) without a device. Reads leave the buffer as it was.
func NewNullRing(opts RingOptions) (Ring, error) {
	r, err := NewIOURing(opts)
	if err != nil {
		return nil, err
	}
	u := r.(*iouring)
	u.null, u.lens = true, make([]uint32, opts.Entries) // user data is a slot below Entries
	return u, nil
}

func (u *iouring) Queue(op *Op) bool {
	s := u.r.GetSQE()
	if s == nil {
		return false
	}
	if u.null {
		s.PrepNop()
		s.UserData = op.UserData
		if op.UserData >= uint64(len(u.lens)) {
			u.lens = append(u.lens, make([]uint32, int(op.UserData)+1-len(u.lens))...)
		}
		u.lens[op.UserData] = op.Len
		return true
	}
	switch {
	case op.Sync == Fsync:
		s.PrepFsync(op.Fd, 0)
	case op.Sync == Fdatasync:
		s.PrepFsync(op.Fd, uring.FsyncDatasync)
	case op.BufIndex >= 0 && op.Write:
		s.PrepWriteFixed(op.Fd, op.Addr, op.Len, op.Offset, uint16(op.BufIndex))
	case op.BufIndex >= 0:
		s.PrepReadFixed(op.Fd, op.Addr, op.Len, op.Offset, uint16(op.BufIndex))
	case op.Write:
		s.PrepWrite(op.Fd, op.Addr, op.Len, op.Offset)
	default:
		s.PrepRead(op.Fd, op.Addr, op.Len, op.Offset)
	}
	if op.FixedFile {
		s.SetFixedFile()
	}
	if op.Link {
		s.Flags |= uring.SQEIOLink
	}
	s.UserData = op.UserData
	return true
}

func (u *iouring) Submit(waitNr int, timeout time.Duration) error {
	var err error
	if timeout > 0 && waitNr > 0 {
		_, err = u.r.SubmitAndWaitTimeout(uint32(waitNr), timeout)
	} else {
		_, err = u.r.SubmitAndWait(uint32(waitNr))
	}
	return err
}

func (u *iouring) Reap(dst []Completion) int {
	n := u.r.PeekBatchCQE(u.cqes[:min(len(dst), len(u.cqes))])
	for i := range n {
		dst[i] = Completion{UserData: u.cqes[i].UserData, Res: u.cqes[i].Res}
		if u.null && dst[i].Res == 0 {
			dst[i].Res = int32(u.lens[dst[i].UserData])
		}
	}
	u.r.CQAdvance(n)
	return n
}

func (u *iouring) RegisterBuffers(bufs [][]byte) error {
	err := u.r.RegisterBuffers(bufs)
	u.bufs = err == nil
	return err
}

func (u *iouring) RegisterFiles(fds []int32) error {
	err := u.r.RegisterFiles(fds)
	u.fils = err == nil
	return err
}

func (u *iouring) Info() string {
	if u.null {
		return u.r.String() + " (null: NOPs in place of device I/O)"
	}
	return u.r.String()
}

func (u *iouring) Enters() uint64 { return u.r.Enters() }

// Close unregisters files and buffers first: the kernel tears a ring down
// asynchronously, and until then registered files keep their devices open
// (a loop device could not be detached yet).
func (u *iouring) Close() error {
	var errs []error
	if u.fils {
		errs = append(errs, u.r.UnregisterFiles())
	}
	if u.bufs {
		errs = append(errs, u.r.UnregisterBuffers())
	}
	errs = append(errs, u.r.Close())
	return errors.Join(errs...)
}
