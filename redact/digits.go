package redact

import (
	"encoding/binary"
	"math/bits"
)

// Finding digits eight bytes at a time: the numeric scan looks at every
// digit run of a text, and prose has one every few dozen bytes.

// hasDigit reports whether any of the 8 bytes of x is an ASCII digit.
func hasDigit(x uint64) bool { return digitLanes(x) != 0 }

// digitLanes has the high bit of every byte of x that is an ASCII digit
// (the "has between" bit trick: bytes over 0x7f never count). Each lane
// is computed without borrow or carry from the next, so the lowest set
// bit is the first digit.
func digitLanes(x uint64) uint64 {
	const ones, high, low7 = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	const m, n = '0' - 1, '9' + 1
	return (ones*(127+n) - (x & low7)) &^ x & ((x & low7) + ones*(127-m)) & high
}

// nextDigit is the index of the first digit in buf from i on, or len(buf).
func nextDigit(buf []byte, i int) int {
	for ; i+8 <= len(buf); i += 8 {
		if m := digitLanes(binary.LittleEndian.Uint64(buf[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(buf) && !isDigit(buf[i]) {
		i++
	}
	return i
}

// digitBits64 has bit k set where byte k of b is an ASCII digit; written
// out, as constant offsets need no bounds checks.
func digitBits64(b *[64]byte) uint64 {
	le := binary.LittleEndian
	return laneBits(digitLanes(le.Uint64(b[0:8]))) | laneBits(digitLanes(le.Uint64(b[8:16])))<<8 |
		laneBits(digitLanes(le.Uint64(b[16:24])))<<16 | laneBits(digitLanes(le.Uint64(b[24:32])))<<24 |
		laneBits(digitLanes(le.Uint64(b[32:40])))<<32 | laneBits(digitLanes(le.Uint64(b[40:48])))<<40 |
		laneBits(digitLanes(le.Uint64(b[48:56])))<<48 | laneBits(digitLanes(le.Uint64(b[56:64])))<<56
}

// laneBits gathers the high bits of the 8 lanes of m (nothing else set)
// into its low 8 bits, lane 0 lowest.
func laneBits(m uint64) uint64 { return (m >> 7) * 0x0102040810204080 >> 56 }

// digitsEnd is the end of the digit run from i. Most runs are one to
// three digits of varying length, which a byte loop's exit branch cannot
// predict: eight bytes are classified at once and the first non-digit
// found by its bit.
func digitsEnd(buf []byte, i int) int {
	for ; i+8 <= len(buf); i += 8 {
		if m := ^digitLanes(binary.LittleEndian.Uint64(buf[i:])) & 0x8080808080808080; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(buf) && isDigit(buf[i]) {
		i++
	}
	return i
}
