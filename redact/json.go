package redact

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth bounds nesting so a hostile body cannot exhaust the stack.
const maxJSONDepth = 512

// JSON redacts a request body: every string value (object keys are left
// as they are), decoded before matching so \u escapes and \n cannot hide a
// value, and every number literal that is a number value (it becomes a
// string marker). Values under the top-level keys in skip (such as
// "model") are left alone, and so are base64 image and audio data URLs,
// which are binary. Every other byte is preserved; body itself comes back
// when nothing changed. Malformed JSON is an error.
func (s *Session) JSON(body []byte, skip ...string) ([]byte, error) {
	w := jsonWalker{s: s, body: body, skip: skip}
	i, err := w.value(w.ws(0), 0, true)
	if err != nil {
		return nil, err
	}
	if i = w.ws(i); i != len(body) {
		return nil, w.errorf(i, "data after the top-level value")
	}
	if w.out == nil {
		return body, nil
	}
	return append(w.out, body[w.last:]...), nil
}

type jsonWalker struct {
	s    *Session
	body []byte
	skip []string
	out  []byte // nil until the first change
	last int    // body is copied to out up to here
}

func (w *jsonWalker) errorf(i int, format string, args ...any) error {
	return fmt.Errorf("redact: json at offset %d: %s", i, fmt.Sprintf(format, args...))
}

func (w *jsonWalker) ws(i int) int {
	for i < len(w.body) {
		switch w.body[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value walks the value at i and returns its end; redact false only
// checks it.
func (w *jsonWalker) value(i, depth int, redact bool) (int, error) {
	if depth > maxJSONDepth {
		return 0, w.errorf(i, "nested deeper than %d", maxJSONDepth)
	}
	if i >= len(w.body) {
		return 0, w.errorf(i, "unexpected end")
	}
	switch c := w.body[i]; {
	case c == '{':
		return w.object(i, depth, redact)
	case c == '[':
		return w.array(i, depth, redact)
	case c == '"':
		return w.str(i, redact)
	case c == '-' || isDigit(c):
		return w.number(i, redact)
	}
	for _, lit := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(w.body[i:], []byte(lit)) {
			return i + len(lit), nil
		}
	}
	return 0, w.errorf(i, "unexpected %q", w.body[i])
}

func (w *jsonWalker) object(i, depth int, redact bool) (int, error) {
	i = w.ws(i + 1)
	if i < len(w.body) && w.body[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(w.body) || w.body[i] != '"' {
			return 0, w.errorf(i, "want an object key")
		}
		ks := i
		end, err := w.str(i, false)
		if err != nil {
			return 0, err
		}
		i = w.ws(end)
		if i >= len(w.body) || w.body[i] != ':' {
			return 0, w.errorf(i, "want ':'")
		}
		sub := redact && !(depth == 0 && w.skipped(w.body[ks+1:end-1]))
		if i, err = w.value(w.ws(i+1), depth+1, sub); err != nil {
			return 0, err
		}
		if i = w.ws(i); i >= len(w.body) {
			return 0, w.errorf(i, "unexpected end in object")
		}
		switch w.body[i] {
		case ',':
			i = w.ws(i + 1)
		case '}':
			return i + 1, nil
		default:
			return 0, w.errorf(i, "want ',' or '}'")
		}
	}
}

func (w *jsonWalker) skipped(rawKey []byte) bool {
	key := rawKey
	if bytes.IndexByte(rawKey, '\\') >= 0 {
		k, err := unescapeJSON(rawKey)
		if err != nil {
			return false
		}
		key = k
	}
	return slices.Contains(w.skip, string(key))
}

func (w *jsonWalker) array(i, depth int, redact bool) (int, error) {
	i = w.ws(i + 1)
	if i < len(w.body) && w.body[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = w.value(i, depth+1, redact); err != nil {
			return 0, err
		}
		if i = w.ws(i); i >= len(w.body) {
			return 0, w.errorf(i, "unexpected end in array")
		}
		switch w.body[i] {
		case ',':
			i = w.ws(i + 1)
		case ']':
			return i + 1, nil
		default:
			return 0, w.errorf(i, "want ',' or ']'")
		}
	}
}

// str walks the string at i and redacts its decoded content.
func (w *jsonWalker) str(i int, redact bool) (int, error) {
	escaped := false
	j := i + 1
	for ; j < len(w.body); j++ {
		c := w.body[j]
		if c == '"' {
			break
		}
		if c < 0x20 {
			return 0, w.errorf(j, "control character in string")
		}
		if c == '\\' {
			escaped = true
			j++
		}
	}
	if j >= len(w.body) {
		return 0, w.errorf(i, "unterminated string")
	}
	raw := w.body[i+1 : j]
	text := raw
	if escaped {
		var err error
		if text, err = unescapeJSON(raw); err != nil {
			return 0, w.errorf(i, "%v", err)
		}
	}
	if !redact || binaryDataURL(text) {
		return j + 1, nil
	}
	out, changed := w.s.redact(text)
	if changed {
		w.replace(i+1, j, appendJSONEscaped(nil, out))
	}
	return j + 1, nil
}

// number walks a number literal; one that is a number value becomes a
// string holding its marker.
func (w *jsonWalker) number(i int, redact bool) (int, error) {
	j := i
	for j < len(w.body) && strings.IndexByte("+-.eE0123456789", w.body[j]) >= 0 {
		j++
	}
	if j == i || w.body[j-1] == '-' || w.body[j-1] == '.' {
		return 0, w.errorf(i, "bad number")
	}
	if !redact {
		return j, nil
	}
	if out, changed := w.s.redact(w.body[i:j]); changed {
		w.replace(i, j, append(appendJSONEscaped([]byte{'"'}, out), '"'))
	}
	return j, nil
}

func (w *jsonWalker) replace(from, to int, with []byte) {
	if w.out == nil {
		w.out = make([]byte, 0, len(w.body)+64)
	}
	w.out = append(append(w.out, w.body[w.last:from]...), with...)
	w.last = to
}

// binaryDataURL reports a base64 image or audio data URL: binary, and a
// key-like run the key detector would otherwise redact, breaking vision
// requests. Text data URLs are redacted like any string.
func binaryDataURL(s []byte) bool {
	if len(s) < 16 || !bytes.EqualFold(s[:5], []byte("data:")) {
		return false
	}
	head := s[5:min(len(s), 128)]
	comma := bytes.IndexByte(head, ',')
	if comma < 0 {
		return false
	}
	mt := bytes.ToLower(head[:comma])
	return (bytes.HasPrefix(mt, []byte("image/")) || bytes.HasPrefix(mt, []byte("audio/"))) &&
		bytes.HasSuffix(mt, []byte(";base64"))
}

// unescapeJSON decodes the content of a JSON string.
func unescapeJSON(raw []byte) ([]byte, error) {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i++; i >= len(raw) {
			return nil, fmt.Errorf("bad escape at end")
		}
		switch raw[i] {
		case '"', '\\', '/':
			out = append(out, raw[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n, err := decodeU(raw[i+1:])
			if err != nil {
				return nil, err
			}
			out = utf8.AppendRune(out, r)
			i += n
		default:
			return nil, fmt.Errorf("bad escape \\%c", raw[i])
		}
	}
	return out, nil
}

// decodeU reads XXXX (and a low surrogate's \uXXXX after a high one) and
// returns the rune and the bytes read.
func decodeU(b []byte) (rune, int, error) {
	r, ok := hex4(b)
	if !ok {
		return 0, 0, fmt.Errorf("bad \\u escape")
	}
	if utf16.IsSurrogate(r) {
		if len(b) >= 10 && b[4] == '\\' && b[5] == 'u' {
			if r2, ok := hex4(b[6:]); ok {
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					return d, 10, nil
				}
			}
		}
		return utf8.RuneError, 4, nil
	}
	return r, 4, nil
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case isDigit(c):
			r = r<<4 | rune(c-'0')
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			r = r<<4 | rune(c|0x20-'a'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// appendJSONEscaped writes s as the content of a JSON string.
func appendJSONEscaped(out, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c == '\t':
			out = append(out, '\\', 't')
		case c < 0x20:
			out = append(out, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		default:
			out = append(out, c)
		}
	}
	return out
}
