package redact

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"

	"github.com/crisphq/crisp/catalog"
)

// scanNumeric tries every number in the new bytes against the number and
// phone values and the card, SSN and phone detectors, and every digit run
// after a two-letter word start as an IBAN. A number is tried
// at its first digit (the anchor); an anchor whose outcome depends on
// bytes not yet arrived stops the scan and becomes the hold, from its
// sign, currency symbol, '+' or '(' on. All shapes are bounded (at most 19
// digits and their separators), so this holds back a few dozen bytes.
func (e *engine) scanNumeric() {
	buf, off := e.buf, e.off
	n := len(buf)
	i := max(e.numFrom-off, 0)
	for i < n {
		if !isDigit(buf[i]) {
			i++
			for i+8 <= n && !hasDigit(binary.LittleEndian.Uint64(buf[i:])) {
				i += 8
			}
			continue
		}
		if i > 0 && isDigit(buf[i-1]) { // the rest of a run decided before
			i = digitsEnd(buf, i)
			continue
		}
		mark, hold := len(e.cands), n
		if e.det.IBAN && ibanAt(buf, i) && e.matchIBAN(i-2) {
			hold = i - 2
		}
		if e.anchor(i) && e.tryNumeric(i) {
			hold = min(hold, numPrefix(buf, i), phonePrefix(buf, i))
		}
		if hold < n {
			e.cands = e.cands[:mark]
			e.numFrom, e.numHold = off+i, off+hold
			return
		}
		i = digitsEnd(buf, i)
	}
	e.numFrom, e.numHold = off+n, off+n
	if !e.final {
		e.numHold = off + trailingPrefix(buf)
		if e.det.IBAN {
			e.numHold = min(e.numHold, off+trailingLetters(buf))
		}
	}
}

// hasDigit reports whether any of the 8 bytes of x is an ASCII digit
// (the "has between" bit trick: bytes over 0x7f never count).
func hasDigit(x uint64) bool {
	const ones, high, low7 = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	const m, n = '0' - 1, '9' + 1
	return (ones*(127+n)-(x&low7))&^x&((x&low7)+ones*(127-m))&high != 0
}

// ibanAt reports two letters starting a word just before the digit at i:
// where an IBAN would start.
func ibanAt(buf []byte, i int) bool {
	return i >= 2 && isLetter(buf[i-1]) && isLetter(buf[i-2]) && (i == 2 || !isAlnum(buf[i-3]))
}

// trailingLetters is where one or two letters that start a word at the
// end of buf begin: an IBAN's country code may be arriving.
func trailingLetters(buf []byte) int {
	j := len(buf)
	for j > 0 && len(buf)-j < 3 && isLetter(buf[j-1]) {
		j--
	}
	if k := len(buf) - j; k == 0 || k > 2 || j > 0 && isAlnum(buf[j-1]) {
		return len(buf)
	}
	return j
}

func isLetter(b byte) bool { return b|0x20 >= 'a' && b|0x20 <= 'z' }

func isAlnum(b byte) bool { return isDigit(b) || isLetter(b) }

// anchor reports whether a number may start at the digit at i: not glued
// to a word, and not the continuation of one (1,048,250; 2024-05-01;
// 10:30).
func (e *engine) anchor(i int) bool {
	r, ok := runeBefore(e.buf, i)
	if !ok {
		return true
	}
	if wordRune(r) {
		return false
	}
	switch r {
	case '.', ',', '\'', '-', '/', ':':
		if r2, ok := runeBefore(e.buf, i-1); ok && r2 >= '0' && r2 <= '9' {
			return false
		}
	}
	return true
}

// tryNumeric runs the numeric matchers at anchor a; true means one of them
// needs more bytes, and then none of this anchor's results count yet.
func (e *engine) tryNumeric(a int) bool {
	if !e.r.nums.empty() && e.matchNumber(a) {
		return true
	}
	if !e.r.phones.empty() && e.matchPhoneValue(a) {
		return true
	}
	if e.det.Card && e.matchCard(a) {
		return true
	}
	if e.det.SSN && e.matchSSN(a) {
		return true
	}
	return e.det.Phone && e.matchPhone(a)
}

func (e *engine) matchNumber(a int) bool {
	buf := e.buf
	d := digitsEnd(buf, a)
	if d-a > maxNumberDigits || !e.r.nums.couldStart(buf[a:d]) {
		return false
	}
	if d-a < 3 && d < len(buf) { // "5 seats", "$49": too few digits unless grouped or decimal
		w, _ := groupSepAt(buf, d)
		if w == 0 && buf[d] != ',' && buf[d] != '.' {
			return false
		}
	}
	if e.scratch == nil {
		e.scratch = make([]byte, 0, 256)
	}
	return parseNumber(buf, a, e.final, e.scratch, func(end int, canon []byte, compact bool) {
		v, ok := e.r.nums.exact.get(canon)
		if !ok && compact {
			v, ok = e.r.nums.rounded.get(canon)
		}
		if ok {
			e.addValue(numPrefix(buf, a), end, v)
		}
	})
}

// matchPhoneValue compares the digits of the groups from a with the phone
// values (digits-only equivalence) and takes the longest match.
func (e *engine) matchPhoneValue(a int) bool {
	buf, n, set := e.buf, len(e.buf), &e.r.phones
	nd, i, best, bestVal, node := 0, a, -1, int32(0), int32(0)
	for {
		d := digitsEnd(buf, i)
		if nd += d - i; nd > maxPhoneDigits {
			break
		}
		for _, b := range buf[i:d] {
			node = set.step(node, b)
		}
		if node < 0 {
			break
		}
		if d == n && !e.final {
			return true
		}
		if v := set.val[node] - 1; v >= 0 {
			word, more := e.wordAfter(d)
			if more {
				return true
			}
			if !word {
				best, bestVal = d, v
			}
		}
		j := phoneSepEnd(buf, d)
		if j == n && j > d && !e.final {
			return true
		}
		if j == d || j == n || !isDigit(buf[j]) {
			break
		}
		i = j
	}
	if best >= 0 {
		e.addValue(phonePrefix(buf, a), best, bestVal)
	}
	return false
}

// matchCard finds 13 to 19 digits, plain or in the usual groups (4-4-4-4,
// 4-4-4-4-3, 4-6-5, 4-6-4, one separator throughout), that pass the Luhn
// check and start like a card number.
func (e *engine) matchCard(a int) bool {
	buf, n := e.buf, len(e.buf)
	d := digitsEnd(buf, a)
	if d-a > 19 {
		return false
	}
	if d == n && !e.final {
		return true
	}
	if l := d - a; l >= 13 {
		word, more := e.wordAfter(d)
		if !more && !word && cardOK(buf[a:d]) {
			e.addDet(a, d, kindCard)
		}
		return more
	}
	if d-a != 4 || d == n || buf[d] != ' ' && buf[d] != '-' {
		return false
	}
	sep := buf[d]
	var dg [19]byte
	var lens, ends [5]int
	nd := copy(dg[:], buf[a:d])
	lens[0], ends[0] = 4, d
	ng := 1
	for p := d; ng < 5; {
		if p == n || buf[p] == sep && p+1 == n {
			if !e.final {
				return true
			}
			break
		}
		if buf[p] != sep {
			break
		}
		q := digitsEnd(buf, p+1)
		gl := q - p - 1
		if gl == 0 {
			break
		}
		if q == n && !e.final && gl <= 6 {
			return true
		}
		if gl > 6 || nd+gl > len(dg) {
			break
		}
		nd += copy(dg[nd:], buf[p+1:q])
		lens[ng], ends[ng] = gl, q
		ng++
		p = q
	}
	for k, tot := ng, nd; k >= 3; k-- {
		if cardShape(lens[:k]) {
			word, more := e.wordAfter(ends[k-1])
			if more {
				return true
			}
			if !word && cardOK(dg[:tot]) {
				e.addDet(a, ends[k-1], kindCard)
				return false
			}
		}
		tot -= lens[k-1]
	}
	return false
}

func cardShape(l []int) bool {
	switch len(l) {
	case 3:
		return l[0] == 4 && l[1] == 6 && (l[2] == 4 || l[2] == 5)
	case 4, 5:
		for _, x := range l[:len(l)-1] {
			if x != 4 {
				return false
			}
		}
		last := l[len(l)-1]
		return last >= 1 && last <= 4 && (len(l) == 4 || last <= 3)
	}
	return false
}

// cardOK: 13 to 19 digits, an issuer prefix of a card network (2221–2720,
// 3x, 4, 5, 6) and a valid Luhn check digit.
func cardOK(d []byte) bool {
	if len(d) < 13 || len(d) > 19 {
		return false
	}
	switch d[0] {
	case '3', '4', '5', '6':
	case '2':
		p := int(d[0]-'0')*1000 + int(d[1]-'0')*100 + int(d[2]-'0')*10 + int(d[3]-'0')
		if p < 2221 || p > 2720 {
			return false
		}
	default:
		return false
	}
	return luhn(d)
}

func luhn(d []byte) bool {
	sum, dbl := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		x := int(d[i] - '0')
		if dbl {
			if x *= 2; x > 9 {
				x -= 9
			}
		}
		sum += x
		dbl = !dbl
	}
	return sum%10 == 0
}

// matchSSN finds AAA-GG-SSSS (dashes or spaces, the same twice) with a
// possible area (not 000, 666, 9xx), group (not 00) and serial (not 0000).
func (e *engine) matchSSN(a int) bool {
	c := cursor{buf: e.buf, i: a, final: e.final}
	if !c.digits(3) {
		return c.more
	}
	sep := c.sep("- ")
	if sep == 0 || !c.digits(2) || !c.byteIs(sep) || !c.digits(4) || !c.after(sep) {
		return c.more
	}
	d := e.buf[a:c.i]
	area, group, serial := string(d[0:3]), string(d[4:6]), string(d[7:11])
	if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
		return false
	}
	e.addDet(a, c.i, kindSSN)
	return false
}

// matchPhone finds an international number (+ then 8 to 15 digits in
// groups) or a North American one: optional 1, area code and exchange
// starting 2–9, (415) 555-0199, 415-555-0199, 415.555.0199, 415 555 0199.
// Bare digit runs are not phone numbers here: too many ids look alike.
func (e *engine) matchPhone(a int) bool {
	if phonePrefix(e.buf, a) == a-1 && e.buf[a-1] == '+' {
		return e.matchIntlPhone(a)
	}
	return e.matchNANP(a)
}

func (e *engine) matchIntlPhone(a int) bool {
	buf, n := e.buf, len(e.buf)
	nd, i, best := 0, a, -1
	for {
		d := digitsEnd(buf, i)
		if nd += d - i; nd > maxPhoneDigits {
			break
		}
		if d == n && !e.final {
			return true
		}
		if nd >= 8 {
			word, more := e.wordAfter(d)
			if more {
				return true
			}
			if !word {
				best = d
			}
		}
		j := phoneSepEnd(buf, d)
		if j == n && j > d && !e.final {
			return true
		}
		if j == d || j == n || !isDigit(buf[j]) {
			break
		}
		i = j
	}
	if best >= 0 {
		e.addDet(a-1, best, kindPhone)
	}
	return false
}

func (e *engine) matchNANP(a int) bool {
	buf := e.buf
	c := cursor{buf: buf, i: a, final: e.final}
	start, paren := a, false
	if buf[a] == '1' && digitsEnd(buf, a) == a+1 {
		c.i = a + 1
		if c.sep(" -.") == 0 {
			return c.more
		}
		paren = c.byteIs('(')
	} else if phonePrefix(buf, a) == a-1 && buf[a-1] == '(' {
		start, paren = a-1, true
	}
	if !c.leading3() {
		return c.more
	}
	var s1 byte
	if paren {
		if !c.byteIs(')') {
			return c.more
		}
		c.sep(" -")
	} else if s1 = c.sep(" -."); s1 == 0 {
		return c.more
	}
	if !c.leading3() {
		return c.more
	}
	if s2 := c.sep(" -."); s2 == 0 || !paren && s2 != s1 || !c.digits(4) || !c.after('-') || !c.after('.') {
		return c.more
	}
	e.addDet(start, c.i, kindPhone)
	return false
}

func phoneSepEnd(buf []byte, d int) int {
	j := d
	for j < len(buf) && j-d < 2 && strings.IndexByte(" -.()/", buf[j]) >= 0 {
		j++
	}
	return j
}

// numPrefix extends a number to the left over up to two signs and
// currency symbols ($, €, £, +, -, −) that are not glued to a word.
func numPrefix(buf []byte, a int) int {
	j := a
	for k := 0; k < 2 && j > 0; k++ {
		r, w := utf8.DecodeLastRune(buf[:j])
		if !strings.ContainsRune("$€£+-\u2212", r) {
			break
		}
		j -= w
	}
	for j < a {
		if r, ok := runeBefore(buf, j); !ok || !wordRune(r) {
			break
		}
		_, w := utf8.DecodeRune(buf[j:])
		j += w
	}
	return j
}

// phonePrefix extends a phone number over a '+' or '(' not glued to a word.
func phonePrefix(buf []byte, a int) int {
	if a > 0 && (buf[a-1] == '+' || buf[a-1] == '(') {
		if r, ok := runeBefore(buf, a-1); !ok || !wordRune(r) {
			return a - 1
		}
	}
	return a
}

// trailingPrefix is where signs, currency symbols, '+' or '(' at the end
// of buf begin: a number may follow them.
func trailingPrefix(buf []byte) int {
	j := len(buf)
	for k := 0; k < 3 && j > 0; k++ {
		r, w := utf8.DecodeLastRune(buf[:j])
		if !strings.ContainsRune("$€£+-\u2212(", r) {
			break
		}
		j -= w
	}
	return j
}

// wordAfter reports whether a word rune starts at i; more when it cannot
// tell yet.
func (e *engine) wordAfter(i int) (word, more bool) {
	if i >= len(e.buf) {
		return false, !e.final
	}
	if !e.final && !utf8.FullRune(e.buf[i:]) {
		return false, true
	}
	r, _ := utf8.DecodeRune(e.buf[i:])
	return wordRune(r), false
}

func (e *engine) addDet(start, end int, k kind) {
	e.cands = append(e.cands, cand{start: e.off + start, end: e.off + end, val: -1, kind: k})
}

func (e *engine) addValue(start, end int, v int32) {
	k := kindMasked
	if e.r.values[v].Visibility != catalog.Mask {
		k = kindHidden
	}
	e.cands = append(e.cands, cand{start: e.off + start, end: e.off + end, val: v, kind: k})
}

// cursor reads a fixed shape; more is set when buf ends before the shape
// is decided.
type cursor struct {
	buf   []byte
	i     int
	final bool
	more  bool
}

func (c *cursor) atEnd() bool {
	if c.i < len(c.buf) {
		return false
	}
	c.more = c.more || !c.final
	return true
}

// digits consumes exactly n digits not followed by another digit.
func (c *cursor) digits(n int) bool {
	j := digitsEnd(c.buf, c.i)
	if j == len(c.buf) && !c.final && j-c.i <= n {
		c.more = true
		return false
	}
	if j-c.i != n {
		return false
	}
	c.i = j
	return true
}

// leading3 consumes three digits, the first 2–9.
func (c *cursor) leading3() bool {
	return c.digits(3) && c.buf[c.i-3] >= '2'
}

func (c *cursor) sep(set string) byte {
	if c.atEnd() || strings.IndexByte(set, c.buf[c.i]) < 0 {
		return 0
	}
	c.i++
	return c.buf[c.i-1]
}

func (c *cursor) byteIs(b byte) bool {
	if c.atEnd() || c.buf[c.i] != b {
		return false
	}
	c.i++
	return true
}

// after checks what follows a fixed shape: no word rune, and no sep that
// goes on with more digits.
func (c *cursor) after(sep byte) bool {
	if c.atEnd() {
		return c.final
	}
	b := c.buf[c.i]
	if b >= utf8.RuneSelf {
		if !c.final && !utf8.FullRune(c.buf[c.i:]) {
			c.more = true
			return false
		}
		r, _ := utf8.DecodeRune(c.buf[c.i:])
		return !wordRune(r)
	}
	if wordRune(rune(b)) {
		return false
	}
	if b == sep {
		if c.i+1 == len(c.buf) {
			c.more = c.more || !c.final
			return c.final
		}
		return !isDigit(c.buf[c.i+1])
	}
	return true
}
