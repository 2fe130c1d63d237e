package redact

import (
	"strings"
	"unicode/utf8"

	"github.com/crisphq/crisp/catalog"
)

// Numbers and phone numbers are not enumerated as automaton variants:
// 48250 alone has hundreds of renderings (separators × decimals × currency
// × sign × compact forms). Instead the numeric scanner reads every number
// in the text, reduces it to a canonical decimal ("48,250.00" → "48250",
// "48.25k" → "48250") and looks that up; phone numbers are reduced to
// their digits. See the package doc for the exact rules.

// digitTrie maps strings of digits and '.' to value indexes without
// hashing: numbers in the text are looked up as they are read.
type digitTrie struct {
	next [][11]int32 // child per symbol ('0'-'9', '.'); 0 = none, the root is never a child
	val  []int32     // value index+1 of an entry ending here, 0 = none
}

func (t *digitTrie) init() {
	if t.next == nil {
		t.next, t.val = make([][11]int32, 1, 64), make([]int32, 1, 64)
	}
}

func symbol(b byte) int {
	if b == '.' {
		return 10
	}
	return int(b - '0')
}

// step returns the child of node for b, or -1.
func (t *digitTrie) step(node int32, b byte) int32 {
	if node < 0 || t.next == nil {
		return -1
	}
	if x := t.next[node][symbol(b)]; x > 0 {
		return x
	}
	return -1
}

func (t *digitTrie) walk(s []byte) int32 {
	node := int32(0)
	for _, b := range s {
		if node = t.step(node, b); node < 0 {
			return -1
		}
	}
	return node
}

// get returns the value of entry s.
func (t *digitTrie) get(s []byte) (int32, bool) {
	n := t.walk(s)
	if n < 0 || t.val[n] == 0 {
		return 0, false
	}
	return t.val[n] - 1, true
}

// put adds entry s for value idx: hidden wins over masked, then the first.
func (t *digitTrie) put(s string, idx int32, values []Value) {
	node := t.insert(s)
	if old := t.val[node] - 1; old < 0 || values[old].Visibility != catalog.Hide && values[idx].Visibility == catalog.Hide {
		t.val[node] = idx + 1
	}
}

// insert adds the nodes that spell s and returns the last.
func (t *digitTrie) insert(s string) int32 {
	t.init()
	node := int32(0)
	for i := 0; i < len(s); i++ {
		sym := symbol(s[i])
		x := t.next[node][sym]
		if x == 0 {
			x = int32(len(t.next))
			t.next = append(t.next, [11]int32{})
			t.val = append(t.val, 0)
			t.next[node][sym] = x
		}
		node = x
	}
	return node
}

// numberSet holds the canonical forms of number values.
type numberSet struct {
	exact   digitTrie // any rendering of the value
	rounded digitTrie // compact renderings only (48.3k for 48250)
	prefix  digitTrie // significant digits of both; every node is a prefix (val unused)
	ends    []uint8   // by prefix node: endExact, endRounded
}

// A prefix node ends the significant digits of a value (endExact) or of
// one of its compact roundings (endRounded). They are told apart because
// a rounding only matches a compact reading (48.3k, not 48,300): with
// many values nearly every three-digit prefix ends some rounding, and
// mayMatch would let almost every number through to parseNumber.
const (
	endExact uint8 = 1 << iota
	endRounded
)

func (s *numberSet) empty() bool { return s.exact.next == nil }

func (s *numberSet) add(canon string, idx int32, values []Value) {
	s.exact.put(canon, idx, values)
	s.addPrefix(mantissa(canon), endExact)
	sig := len(mantissa(canon))
	for n := 3; n < sig; n++ {
		rc := roundSig(canon, n)
		s.rounded.put(rc, idx, values)
		s.addPrefix(mantissa(rc), endRounded)
	}
}

func (s *numberSet) addPrefix(m string, end uint8) {
	node := s.prefix.insert(m)
	if grow := len(s.prefix.val) - len(s.ends); grow > 0 {
		s.ends = append(s.ends, make([]uint8, grow)...)
	}
	s.ends[node] |= end
}

// couldStart reports whether a number whose first digit group is g could
// still be one of the values: a cheap filter before parsing.
func (s *numberSet) couldStart(g []byte) bool {
	i, j := 0, len(g)
	for i < j && g[i] == '0' {
		i++
	}
	for j > i && g[j-1] == '0' {
		j--
	}
	return i == j || s.prefix.walk(g[i:j]) >= 0
}

// mayMatch reports whether the number whose first digit is at a may have
// a reading that is a value: every reading spells a prefix of the digits
// of its groups and decimals taken together, so its significant digits
// (less leading and trailing zeros) must end at a node of prefix that
// ends a value's, or a rounding's if a compact suffix follows. For a
// whole text only: it does not tell how far the number goes, which a
// stream's hold needs.
func (s *numberSet) mayMatch(buf []byte, a int) bool {
	t := &s.prefix
	// rounded: a rounding's end may still count (not yet ruled out by
	// the lack of a compact suffix).
	node, lead, rounded := int32(0), true, true
	for i := a; i < len(buf); { // as long as the walk goes on: bounded by the values
		b := buf[i]
		if !isDigit(b) {
			w, _ := groupSepAt(buf, i) // every group and decimal separator
			if w <= 0 || i+w >= len(buf) || !isDigit(buf[i+w]) {
				break
			}
			i += w
			continue
		}
		i++
		if lead && b == '0' {
			continue
		}
		lead = false
		if node = t.step(node, b); node < 0 {
			return false
		}
		end := s.ends[node]
		if end&endExact != 0 {
			return true
		}
		if end&endRounded != 0 && rounded {
			if compactAfter(buf, i) {
				return true
			}
			rounded = false // the number is the same whichever rounding
		}
	}
	return len(s.ends) > 0 && s.ends[0] != 0
}

// compactAfter reports a compact suffix (k, bn, million, …) after the
// number that goes on at i: where a compact reading ends is where the
// digits and their separators end (numberTail), so no other place can
// have one.
func compactAfter(buf []byte, i int) bool {
	for i < len(buf) {
		if isDigit(buf[i]) {
			i++
			continue
		}
		w, _ := groupSepAt(buf, i)
		if w <= 0 || i+w >= len(buf) || !isDigit(buf[i+w]) {
			break
		}
		i += w
	}
	if i < len(buf) && buf[i] == ' ' {
		i++
	}
	// Every suffix begins with k, m, b or t: most words are out at once.
	if i == len(buf) {
		return false
	}
	switch buf[i] | 0x20 {
	case 'k', 'm', 'b', 't':
		return compactExp(buf[i:lettersEnd(buf, i)]) > 0
	}
	return false
}

// mantissa is the significant digits of a canonical number: no point, no
// leading or trailing zeros.
func mantissa(canon string) string {
	m := strings.Replace(canon, ".", "", 1)
	m = strings.TrimLeft(m, "0")
	return strings.TrimRight(m, "0")
}

// digitCount is the digits of a canonical number less leading zeros.
func digitCount(canon string) int {
	return len(strings.TrimLeft(strings.Replace(canon, ".", "", 1), "0"))
}

// roundSig rounds a canonical number to n significant digits, half away
// from zero.
func roundSig(canon string, n int) string {
	intp, frac, _ := strings.Cut(canon, ".")
	ds, point := intp+frac, len(intp)
	for len(ds) > 1 && ds[0] == '0' {
		ds, point = ds[1:], point-1
	}
	if len(ds) <= n {
		return canon
	}
	b := []byte(ds[:n])
	carry := ds[n] >= '5'
	for i := n - 1; carry && i >= 0; i-- {
		if b[i] == '9' {
			b[i] = '0'
		} else {
			b[i]++
			carry = false
		}
	}
	if carry {
		b = append([]byte{'1'}, b...)
		point++
	}
	switch {
	case point >= len(b):
		return canonFrom(append(b, strings.Repeat("0", point-len(b))...), nil, 0)
	case point <= 0:
		return canonFrom(nil, append([]byte(strings.Repeat("0", -point)), b...), 0)
	}
	return canonFrom(b[:point], b[point:], 0)
}

// canonFrom builds the canonical form of int.frac × 10^exp.
func canonFrom(intDigits, frac []byte, exp int) string {
	var buf [96]byte
	return string(appendCanon(buf[:0], intDigits, frac, exp))
}

// appendCanon appends the canonical form of int.frac × 10^exp: no leading
// zeros, no trailing zeros after the point, no point without decimals.
func appendCanon(out, intDigits, frac []byte, exp int) []byte {
	start := len(out)
	out = append(out, intDigits...)
	k := min(exp, len(frac))
	out = append(out, frac[:k]...)
	for range exp - k {
		out = append(out, '0')
	}
	frac = frac[k:]
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	i := start
	for i < len(out)-1 && out[i] == '0' {
		i++
	}
	out = append(out[:start], out[i:]...)
	if len(out) == start {
		out = append(out, '0')
	}
	if len(frac) > 0 {
		out = append(append(out, '.'), frac...)
	}
	return out
}

// numberCanon reads a value as a number: an optional sign and currency
// (symbol or ISO code) around digits, grouping, decimals or a compact
// suffix.
func numberCanon(s string) (string, bool) {
	t := trimCurrency(s)
	if t == "" || t[0] < '0' || t[0] > '9' {
		return "", false
	}
	canon := ""
	parseNumber([]byte(t), 0, true, make([]byte, 0, 256), func(end int, c []byte, _ bool) {
		if end == len(t) {
			canon = string(c)
		}
	})
	return canon, canon != ""
}

func trimCurrency(s string) string {
	affixes := []string{"+", "-", "\u2212", "$", "€", "£", "US$", "USD", "EUR", "GBP"}
	t := strings.TrimSpace(s)
	for changed := true; changed; {
		changed = false
		for _, a := range affixes {
			if len(t) > len(a) && strings.EqualFold(t[:len(a)], a) {
				t, changed = strings.TrimSpace(t[len(a):]), true
			}
			if len(t) > len(a) && strings.EqualFold(t[len(t)-len(a):], a) {
				t, changed = strings.TrimSpace(t[:len(t)-len(a)]), true
			}
		}
	}
	return t
}

// parseNumber reads the number whose first digit is at a and yields each
// reading that ends at a number boundary: ungrouped and, where the text
// has it, with thousands grouping; each with its decimals, and again with
// a compact suffix; canon is valid during the call only. more reports that
// buf ended before the number did.
//
// scratch (cap 256 or more) holds the readings, so the hot path does not
// allocate.
func parseNumber(buf []byte, a int, final bool, scratch []byte, yield func(end int, canon []byte, compact bool)) (more bool) {
	i1 := digitsEnd(buf, a)
	if i1-a > maxNumberDigits {
		return false
	}
	if i1 == len(buf) && !final {
		return true
	}
	gEnd, sep, more := groupsEnd(buf, i1, final)
	if more {
		return true
	}
	if numberTail(buf, a, i1, sepNone, final, scratch, yield) {
		return true
	}
	return gEnd > i1 && numberTail(buf, a, gEnd, sep, final, scratch, yield)
}

const (
	maxNumberDigits = 30 // longer digit runs are not number values
	maxSuffix       = 8  // "thousand"
)

type sepKind uint8

const (
	sepNone sepKind = iota
	sepComma
	sepDot
	sepSpace
	sepApos
)

// groupSepAt returns the width and kind of a thousands separator at p, 0
// if there is none, -1 if buf ends inside one.
func groupSepAt(buf []byte, p int) (int, sepKind) {
	if p >= len(buf) {
		return -1, sepNone
	}
	switch buf[p] {
	case ',':
		return 1, sepComma
	case '.':
		return 1, sepDot
	case ' ':
		return 1, sepSpace
	case '\'':
		return 1, sepApos
	case 0xC2, 0xE2: // no-break, thin, narrow no-break and figure space
		if !utf8.FullRune(buf[p:]) {
			return -1, sepNone
		}
		r, w := utf8.DecodeRune(buf[p:])
		if r == 0xA0 || r == 0x2009 || r == 0x202F || r == 0x2007 {
			return w, sepSpace
		}
	}
	return 0, sepNone
}

// groupsEnd consumes groups of exactly three digits after the same
// separator.
func groupsEnd(buf []byte, p int, final bool) (int, sepKind, bool) {
	end, sep := p, sepNone
	for range 10 {
		w, k := groupSepAt(buf, end)
		if w < 0 {
			return end, sep, !final
		}
		if w == 0 || sep != sepNone && k != sep {
			break
		}
		q := end + w
		if q == len(buf) {
			return end, sep, !final
		}
		d := digitsEnd(buf, q)
		if d-q > 3 {
			break
		}
		if d == len(buf) && !final {
			return end, sep, true
		}
		if d-q != 3 {
			break
		}
		end, sep = d, k
	}
	return end, sep, false
}

// numberTail reads decimals and a compact suffix after the integer part
// [a, intEnd) and yields the readings that end at a boundary.
func numberTail(buf []byte, a, intEnd int, sep sepKind, final bool, scratch []byte, yield func(int, []byte, bool)) bool {
	n := len(buf)
	p, fracStart := intEnd, intEnd
	if p < n && decimalSep(buf[p], sep) {
		if p+1 == n && !final {
			return true
		}
		if p+1 < n && isDigit(buf[p+1]) {
			q := digitsEnd(buf, p+1)
			if q-p-1 > maxNumberDigits {
				return false
			}
			if q == n && !final {
				return true
			}
			fracStart, p = p+1, q
		}
	}
	ok, more := numBoundary(buf, p, final)
	if more {
		return true
	}
	q := p
	if q < n && buf[q] == ' ' {
		q++
	}
	if q == n && q > p && !final {
		return true
	}
	l := lettersEnd(buf, q)
	if l-q > maxSuffix {
		l = q
	} else if l == n && l > q && !final {
		return true
	}
	ints := appendDigits(scratch[:0], buf[a:intEnd])
	canon := scratch[len(ints):len(ints)]
	frac := buf[fracStart:p]
	if ok {
		yield(p, appendCanon(canon, ints, frac, 0), false)
	}
	if exp := compactExp(buf[q:l]); exp > 0 && (l == n || !isDigit(buf[l])) {
		yield(l, appendCanon(canon, ints, frac, exp), true)
	}
	return false
}

func decimalSep(b byte, sep sepKind) bool {
	switch sep {
	case sepComma:
		return b == '.'
	case sepDot:
		return b == ','
	}
	return b == '.' || b == ','
}

// numBoundary: a number ends where no digit follows, directly or after a
// point, comma or apostrophe (48,250 is not 48,250,000 or 48,250.5).
func numBoundary(buf []byte, p int, final bool) (ok, more bool) {
	if p == len(buf) {
		return final, !final
	}
	b := buf[p]
	if isDigit(b) {
		return false, false
	}
	if b == '.' || b == ',' || b == '\'' {
		if p+1 == len(buf) {
			return final, !final
		}
		if isDigit(buf[p+1]) {
			return false, false
		}
	}
	return true, false
}

func compactExp(w []byte) int {
	if len(w) == 0 || len(w) > maxSuffix {
		return 0
	}
	var low [maxSuffix]byte
	for i, b := range w {
		low[i] = b | 0x20
	}
	switch string(low[:len(w)]) {
	case "k", "thousand":
		return 3
	case "m", "mm", "mn", "million":
		return 6
	case "b", "bn", "billion":
		return 9
	}
	return 0
}

func appendDigits(out, b []byte) []byte {
	for _, c := range b {
		if isDigit(c) {
			out = append(out, c)
		}
	}
	return out
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func lettersEnd(buf []byte, i int) int {
	for i < len(buf) && (buf[i]|0x20 >= 'a' && buf[i]|0x20 <= 'z') {
		i++
	}
	return i
}

// digitSet holds the digit strings a phone value may be written as.
type digitSet struct{ digitTrie }

func (s *digitSet) empty() bool { return s.next == nil }

const maxPhoneDigits = 15

// phoneDigits reads a value as a phone number: only digits, spaces and
// + ( ) . - /, with 7 to 15 digits.
func phoneDigits(s string) (string, bool) {
	var d []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			d = append(d, c)
		case strings.IndexByte(" +().-/", c) < 0:
			return "", false
		}
	}
	return string(d), len(d) >= 7 && len(d) <= maxPhoneDigits
}

// add files a phone value under its digits and its national forms:
// without a NANP 1, or for +CC numbers without a one- to three-digit
// calling code, with and without a trunk 0.
func (s *digitSet) add(digits string, idx int32, values []Value) {
	forms := []string{digits}
	switch {
	case len(digits) == 11 && digits[0] == '1':
		forms = append(forms, digits[1:])
	case len(digits) == 10:
		forms = append(forms, "1"+digits)
	case strings.HasPrefix(strings.TrimSpace(values[idx].Text), "+"):
		for cc := 1; cc <= 3; cc++ {
			if rest := digits[cc:]; len(rest) >= 8 {
				forms = append(forms, rest, "0"+rest)
			}
		}
	}
	for _, f := range forms {
		s.put(f, idx, values)
	}
}
