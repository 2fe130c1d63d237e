// Package jsonstr encodes a Go string as a JSON string literal, the one way
// crisp writes them by hand: quotes, backslashes and control characters
// escaped, valid UTF-8 as it is (no HTML escaping), each invalid byte as
// U+FFFD. The audit trail's canonical record encoding depends on exactly
// this output, so it must never change.
package jsonstr

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// Append appends s as a JSON string literal to b.
func Append(b []byte, s string) []byte {
	b = append(b, '"')
	// Runs of bytes that need no escaping (the whole of most ids, names
	// and streamed words) are copied at once.
	run := 0
	for i := 0; i < len(s); {
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
