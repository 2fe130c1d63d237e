package redact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The normalized view the automaton matches (package doc, "How text
// values match"): letters folded to lower case, every whitespace run
// (ASCII or Unicode space) one space — the automaton stays put on further
// whitespace after a space — and format characters such as U+200B dropped.
// Values are normalized at Compile time; text is normalized on the fly by
// scanAC, and srcStart maps a match back to the source bytes by walking the
// same rules backwards, so no offset table is kept per byte.

// maxSpaceRun bounds a whitespace run that still counts as one space: a
// match across a longer run is rejected, so the stream never holds back
// more than a value's length plus this.
const maxSpaceRun = 64

// longSpaceRun returns the end (relative to b) of the first whitespace
// run longer than maxSpaceRun bytes in b, or -1.
func longSpaceRun(b []byte) int {
	run := 0
	for i := 0; i < len(b); {
		r, w := rune(b[i]), 1
		if r >= utf8.RuneSelf {
			r, w = utf8.DecodeRune(b[i:])
		}
		switch {
		case isSpaceRune(r):
			run += w
		case ignorable(r):
		default:
			if run > maxSpaceRun {
				return i
			}
			run = 0
		}
		i += w
	}
	if run > maxSpaceRun {
		return len(b)
	}
	return -1
}

// normalize returns the normalized form of a value.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		i += w
		switch {
		case r == utf8.RuneError && w == 1:
			flushSpace(&b, &space)
			b.WriteByte(s[i-1])
		case isSpaceRune(r):
			space = b.Len() > 0
		case ignorable(r):
		default:
			flushSpace(&b, &space)
			b.WriteRune(foldRune(r))
		}
	}
	return b.String()
}

func flushSpace(b *strings.Builder, space *bool) {
	if *space {
		b.WriteByte(' ')
		*space = false
	}
}

// isSpaceRune is whitespace for the normalized view and for numbers'
// group separators (thin space, no-break space).
func isSpaceRune(r rune) bool {
	if r < 0x80 {
		return isSpaceASCII(byte(r))
	}
	return unicode.IsSpace(r)
}

// srcStart walks back from end over n normalized bytes and returns where
// they start in buf. The caller knows those bytes are a pattern or a
// pattern prefix, which never begins or ends with a space.
func srcStart(buf []byte, end, n int) int {
	i := end
	for n > 0 && i > 0 {
		b := buf[i-1]
		if b < utf8.RuneSelf {
			if isSpaceASCII(b) {
				i = spaceRunStart(buf, i)
			} else {
				i--
			}
			n--
			continue
		}
		r, w := utf8.DecodeLastRune(buf[:i])
		switch {
		case isSpaceRune(r):
			i = spaceRunStart(buf, i)
			n--
		case ignorable(r):
			i -= w
		default:
			i -= w
			n -= normLen(r, w)
		}
	}
	return i
}

// spaceRunStart returns where the whitespace run ending at end begins,
// crossing ignorable runes inside it as the forward scan does.
func spaceRunStart(buf []byte, end int) int {
	i := end
	start := end
	for i > 0 {
		b := buf[i-1]
		if b < utf8.RuneSelf {
			if !isSpaceASCII(b) {
				break
			}
			i--
			start = i
			continue
		}
		r, w := utf8.DecodeLastRune(buf[:i])
		if isSpaceRune(r) {
			i -= w
			start = i
		} else if ignorable(r) {
			i -= w
		} else {
			break
		}
	}
	return start
}

// wordRune reports letters, digits and '_': a text value that begins or
// ends with one must not touch another there (whole-word matching).
func wordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// runeBefore and runeAt decode the rune touching position i of buf, with
// ok false at the edge.
func runeBefore(buf []byte, i int) (rune, bool) {
	if i <= 0 {
		return 0, false
	}
	r, _ := utf8.DecodeLastRune(buf[:i])
	return r, true
}

func runeAt(buf []byte, i int) (rune, bool) {
	if i >= len(buf) {
		return 0, false
	}
	r, _ := utf8.DecodeRune(buf[i:])
	return r, true
}
