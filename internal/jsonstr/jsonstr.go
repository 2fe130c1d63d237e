// Package jsonstr encodes a Go string as a JSON string literal, the one way
// crisp writes them by hand: quotes, backslashes and control characters
// escaped, valid UTF-8 as it is (no HTML escaping), each invalid byte as
// U+FFFD. The audit trail's canonical record encoding depends on exactly
// this output, so it must never change.
package jsonstr

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// load8 reads s[i:i+8] as one little-endian word (the compiler merges
// the byte loads into one).
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// Word-at-a-time masks: lo has 0x01 in every byte, hi 0x80.
const (
	lo = 0x0101010101010101
	hi = 0x8080808080808080
)

// plain8 reports whether none of the 8 bytes of w needs a second look: no
// control character, quote, backslash or non-ASCII byte. Each test is the
// exact "some byte is zero / below n" form, so a true answer is never
// wrong; a false one only sends the word through the byte loop.
func plain8(w uint64) bool {
	below := (w - lo*0x20) & ^w // some byte < 0x20 (or >= 0x80, caught below too)
	quote := w ^ (lo * '"')
	quote = (quote - lo) & ^quote
	slash := w ^ (lo * '\\')
	slash = (slash - lo) & ^slash
	return (below|quote|slash|w)&hi == 0
}

// Append appends s as a JSON string literal to b.
func Append(b []byte, s string) []byte {
	b = append(b, '"')
	// Runs of bytes that need no escaping (the whole of most ids, names
	// and streamed words) are copied at once.
	run := 0
	for i := 0; i < len(s); {
		// Eight plain bytes at a time, the common case by far.
		for i+8 <= len(s) && plain8(load8(s, i)) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			b = append(append(b, s[run:i]...), "\uFFFD"...)
			i++
			run = i
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[run:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		run = i
	}
	return append(append(b, s[run:]...), '"')
}
