package jsonstr

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// TestAppend is the canonical encoding the audit chain's hashes cover.
func TestAppend(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "maya@acme.example", `"maya@acme.example"`},
		{"quote and backslash", `a"b\c`, `"a\"b\\c"`},
		{"short escapes", "\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"other controls", "\x00\x1f", `"\u0000\u001f"`},
		{"no html escaping", "<a>&", `"<a>&"`},
		{"del and line separator stay", "\x7f\u2028", "\"\x7f\u2028\""},
		{"invalid utf-8", "a\xffb", "\"a\uFFFDb\""},
		{"astral", "😀", `"😀"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Append(nil, tt.in)); got != tt.want {
				t.Errorf("Append(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// appendStringByRune is the plain, byte-at-a-time form of Append:
// the canonical encoding every stored hash was computed over. The fast
// form must never differ from it.
func appendStringByRune(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
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
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				b = append(b, c)
			}
		}
		i++
	}
	return append(b, '"')
}

// FuzzAppend checks Append against the byte-at-a-time form, and that
// encoding/json reads back the string (invalid bytes as U+FFFD).
func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "aud_01J", "maya@acme.example", "a\"b\\c\n\t\x01\x7f", "héllo wörld ✓", "\xff\xfeab\xc3", "\u2028<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Append(nil, s)
		if want := appendStringByRune(nil, s); string(got) != string(want) {
			t.Fatalf("Append(%q) = %s, want %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != string([]rune(s)) {
			t.Fatalf("Append(%q) = %s reads back as %q, %v", s, got, back, err)
		}
	})
}
