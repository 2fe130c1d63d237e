package redact

import "strings"

// Classifying 64-byte blocks: the whole-text scans walk the word starts
// and digit runs of a text from bit masks, one bit per byte. With AVX2 a
// mask of any set of ASCII bytes costs a few instructions per 32 bytes
// (two nibble table lookups, see byteSet); without it the scans use the
// SWAR forms of the fixed sets (wordBits64, digitBits64) and skip the
// filters that only save work, such as the value leads.

// byteSet is a set of ASCII bytes as two 16-byte nibble tables: b is in
// the set when lo[b&15] & hi[b>>4] != 0. hi[h] is the bit 1<<h for the
// eight ASCII high nibbles, so lo[l] lists which rows (h<<4 | l) are in
// the set and any set of ASCII bytes is exact; bytes over 0x7f never are.
type byteSet struct {
	lo, hi [16]byte
}

func newByteSet(in func(b byte) bool) byteSet {
	var s byteSet
	for h := range 8 {
		s.hi[h] = 1 << h
		for l := range 16 {
			if in(byte(h<<4 | l)) {
				s.lo[l] |= 1 << h
			}
		}
	}
	return s
}

func (s *byteSet) has(b byte) bool { return s.lo[b&15]&s.hi[b>>4] != 0 }

// masks sets out[j] to the mask of the 64-byte block p[64j:]: bit k for
// byte k in the set. p holds at least 64*len(out) bytes. Only for
// redactors with simd set.
func (s *byteSet) masks(p []byte, out []uint64) {
	if len(out) == 0 {
		return
	}
	_ = p[64*len(out)-1]
	blockMasks(&p[0], len(out), s, &out[0])
}

// The fixed sets the whole-text scans read as masks; tables, never
// written after init.
var (
	wordBytes  = newByteSet(func(b byte) bool { return b < 0x80 && wordRune(rune(b)) }) // A-Z a-z 0-9 _ (wordBits)
	digitBytes = newByteSet(isDigit)
	keyBytes   = newByteSet(func(b byte) bool { return isAlnum(b) || strings.IndexByte(keyPunct, b) >= 0 }) // bKey
)

// maskChunk is how many blocks a scan classifies at a time: 2 KiB of
// text, its masks on the stack.
const maskChunk = 32
