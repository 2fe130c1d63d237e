package redact

import (
	"strings"
	"unicode/utf8"
)

// The numeric detectors: cards, SSNs and phone numbers, each tried at the
// anchors scanNumeric finds, and the cursor that reads their fixed shapes.

// matchCard finds 13 to 19 digits, plain or in the usual groups (4-4-4-4,
// 4-4-4-4-3, 4-6-5, 4-6-4, one separator throughout), that pass the Luhn
// check and start like a card number.
func (e *engine) matchCard(a, d int) bool {
	buf, n := e.buf, len(e.buf)
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
	ds := e.buf[a:c.i]
	area, group, serial := string(ds[0:3]), string(ds[4:6]), string(ds[7:11])
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
	for j < len(buf) && j-d < 2 && isPhoneSep(buf[j]) {
		j++
	}
	return j
}

// phoneGoesOn reports whether another digit group may follow the one
// ending at d (before d == len(buf)), as matchPhoneValue reads them.
func phoneGoesOn(buf []byte, d int) bool {
	j := phoneSepEnd(buf, d)
	return j > d && (j == len(buf) || isDigit(buf[j]))
}

// isPhoneSep reports the bytes that may join a phone number's groups:
// space - . ( ) /.
func isPhoneSep(b byte) bool {
	switch b {
	case ' ', '-', '.', '(', ')', '/':
		return true
	}
	return false
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
