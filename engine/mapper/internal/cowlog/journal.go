package cowlog

import (
	"encoding/binary"
	"fmt"
)

// Kind is a journal record's type.
type Kind uint8

// Record kinds.
const (
	// Remap: file bytes [Off, Off+Len) now live at Addr (NoAddr: a hole);
	// before, they lived at Old (NoAddr: a hole; MixedAddr: not one run).
	Remap Kind = 1
	// Create: a new empty file ID of Size bytes named Name.
	Create Kind = 2
	// Remove: file ID is gone, its space free.
	Remove Kind = 3
	// SetSize: file ID is now Size bytes; mappings past it are dropped.
	SetSize Kind = 4
)

// Record is one journal record.
type Record struct {
	Kind           Kind
	File           uint32
	Off, Len, Addr uint64 // Remap
	Old            uint64 // Remap: the replaced address
	Size           uint64 // Create, SetSize
	Name           string // Create
}

// AppendRecord appends r's encoding to dst.
func AppendRecord(dst []byte, r *Record) []byte {
	le := binary.LittleEndian
	dst = append(dst, byte(r.Kind))
	dst = le.AppendUint32(dst, r.File)
	switch r.Kind {
	case Remap:
		dst = le.AppendUint64(dst, r.Off)
		dst = le.AppendUint64(dst, r.Len)
		dst = le.AppendUint64(dst, r.Addr)
		dst = le.AppendUint64(dst, r.Old)
	case Create:
		dst = le.AppendUint64(dst, r.Size)
		dst = le.AppendUint16(dst, uint16(len(r.Name)))
		dst = append(dst, r.Name...)
	case SetSize:
		dst = le.AppendUint64(dst, r.Size)
	}
	return dst
}

// decodeRecord parses one record from the front of b and returns the rest.
func decodeRecord(b []byte) (Record, []byte, error) {
	le := binary.LittleEndian
	if len(b) < 5 {
		return Record{}, nil, fmt.Errorf("record header cut short (%d bytes)", len(b))
	}
	r := Record{Kind: Kind(b[0]), File: le.Uint32(b[1:])}
	b = b[5:]
	switch r.Kind {
	case Remap:
		if len(b) < 32 {
			return Record{}, nil, fmt.Errorf("remap record cut short")
		}
		r.Off, r.Len, r.Addr, r.Old = le.Uint64(b), le.Uint64(b[8:]), le.Uint64(b[16:]), le.Uint64(b[24:])
		b = b[32:]
	case Create:
		if len(b) < 10 {
			return Record{}, nil, fmt.Errorf("create record cut short")
		}
		r.Size = le.Uint64(b)
		n := int(le.Uint16(b[8:]))
		b = b[10:]
		if n > MaxName || len(b) < n {
			return Record{}, nil, fmt.Errorf("create record: name of %d bytes", n)
		}
		r.Name = string(b[:n])
		b = b[n:]
	case Remove:
	case SetSize:
		if len(b) < 8 {
			return Record{}, nil, fmt.Errorf("set-size record cut short")
		}
		r.Size = le.Uint64(b)
		b = b[8:]
	default:
		return Record{}, nil, fmt.Errorf("unknown record kind %d", r.Kind)
	}
	return r, b, nil
}

// TxnHeaderBytes is the room BeginTxn reserves.
const TxnHeaderBytes = txnHdrBytes

// BeginTxn appends room for a transaction header to dst; append records
// after it with AppendRecord, then call FinishTxn.
func BeginTxn(dst []byte) []byte { return append(dst, make([]byte, txnHdrBytes)...) }

// FinishTxn completes the transaction that starts at txn[0] (header
// reserved by BeginTxn, nrec records after it): it fills the header for
// generation gen and sequence seq, checksums it seeded with seed (the
// previous transaction's checksum, or the checkpoint's), and pads it to
// whole blocks. It returns the padded transaction and its checksum, or
// ErrTooBig when it cannot fit the room left in the journal.
func FinishTxn(txn []byte, sb *Superblock, gen, seq uint64, nrec uint32, seed uint32, room uint64) ([]byte, uint32, error) {
	bs := uint64(sb.BlockSize)
	plen := uint64(len(txn) - txnHdrBytes)
	total := (uint64(len(txn)) + bs - 1) / bs * bs
	if total > room {
		return txn, 0, fmt.Errorf("%w: transaction of %d bytes, %d left in the journal", ErrTooBig, total, room)
	}
	le := binary.LittleEndian
	le.PutUint32(txn[0:], txnMagic)
	le.PutUint64(txn[4:], gen)
	le.PutUint64(txn[12:], seq)
	le.PutUint32(txn[20:], uint32(plen))
	le.PutUint32(txn[24:], nrec)
	sum := crc(seed, txn[:28])
	sum = crc(sum, txn[txnHdrBytes:])
	le.PutUint32(txn[28:], sum)
	for uint64(len(txn)) < total {
		txn = append(txn, 0)
	}
	return txn, sum, nil
}

// txnHeader is a parsed transaction header.
type txnHeader struct {
	gen, seq   uint64
	plen       uint64
	nrec, sum  uint32
	totalBytes uint64
}

// decodeTxnHeader parses a header and checks it against the expected
// generation and sequence and the room left in the journal. ok is false
// when b holds no transaction of that generation and sequence; tooLong
// is set when it does but it claims more than the room left.
func decodeTxnHeader(b []byte, sb *Superblock, gen, seq, room uint64) (h txnHeader, ok, tooLong bool) {
	le := binary.LittleEndian
	if len(b) < txnHdrBytes || le.Uint32(b) != txnMagic {
		return txnHeader{}, false, false
	}
	h = txnHeader{gen: le.Uint64(b[4:]), seq: le.Uint64(b[12:]), plen: uint64(le.Uint32(b[20:])),
		nrec: le.Uint32(b[24:]), sum: le.Uint32(b[28:])}
	bs := uint64(sb.BlockSize)
	h.totalBytes = (txnHdrBytes + h.plen + bs - 1) / bs * bs
	if h.gen != gen || h.seq != seq {
		return txnHeader{}, false, false
	}
	if h.totalBytes > room {
		return h, false, true
	}
	return h, true, false
}
