package runner

import "encoding/binary"

// Write buffers hold random data by default, as fio's do: devices that
// compress, deduplicate or thin-provision give other numbers on zeros, so
// a comparison with fio must write what fio writes. Each request's buffer
// is filled once, when the job starts, and each write then stamps its
// offset and a sequence number into every 4 KiB block (as fio's
// scramble_buffers does per 512-byte sector: 4 KiB, the block size of
// deduplicating devices, costs an eighth of the stores), so no two writes
// carry the same 4 KiB block.

// fillRandom fills buf with pseudo-random bytes from seed (xorshift64:
// about a byte per cycle; run once per buffer per job).
func fillRandom(buf []byte, seed uint64) {
	x := seed*0x9e3779b97f4a7c15 | 1
	i := 0
	for ; i+8 <= len(buf); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(buf[i:], x)
	}
	for ; i < len(buf); i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		buf[i] = byte(x)
	}
}

// scrambleBytes is the stride of scramble's stamps.
const scrambleBytes = 4096

// scramble makes the random buffer buf, about to be written at offset as
// write number seq, unlike any other write: the first 8 bytes of each
// 4 KiB block become the block's offset mixed with seq. It costs one store
// per block and allocates nothing.
func scramble(buf []byte, offset, seq uint64) {
	stamp := seq * 0x9e3779b97f4a7c15
	for i := 0; i+8 <= len(buf); i += scrambleBytes {
		binary.LittleEndian.PutUint64(buf[i:], (offset+uint64(i))^stamp)
	}
}
