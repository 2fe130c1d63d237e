package redact

import (
	"math/bits"
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
	if i > 0 && i < n && isDigit(buf[i-1]) { // the rest of a run decided before
		i = digitsEnd(buf, i)
	}
	if i+64 <= n {
		var stop bool
		if i, stop = e.numBlocks(i); stop {
			return
		}
	}
	// The rest, and most of a stream's new bytes, go byte run by run.
	for i < n {
		if !isDigit(buf[i]) {
			i = nextDigit(buf, i+1)
			continue
		}
		d := digitsEnd(buf, i)
		if e.numRun(i, d) {
			return
		}
		i = d
	}
	e.numFrom, e.numHold = off+n, off+n
	if !e.final {
		e.numHold = off + trailingPrefix(buf)
		if e.det.IBAN {
			e.numHold = min(e.numHold, off+trailingLetters(buf))
		}
	}
}

// numBlocks tries the runs of the whole 64-byte blocks from i: one mask of
// a block's digits gives every run's start and, unless it goes past the
// block, its end, instead of a scan to each run and over its digits (prose
// has one every few dozen bytes). It returns where the blocks end; stop: a
// run holds (see numRun).
func (e *engine) numBlocks(i int) (next int, stop bool) {
	buf, n := e.buf, len(e.buf)
	var masks [maskChunk]uint64
	for i+64 <= n {
		nb := 1
		if e.r.simd {
			nb = min((n-i)/64, maskChunk)
			digitBytes.masks(buf[i:], masks[:nb])
		} else {
			masks[0] = digitBits64((*[64]byte)(buf[i:]))
		}
		for _, m := range masks[:nb] {
			next, stop := e.numBlock(i, m)
			if stop {
				return i, true
			}
			if i += 64; next != i { // a run went on past the block: the masks are off
				i = next
				break
			}
		}
	}
	return i, false
}

// numBlock tries the digit runs that start in the block at i, whose
// digits are m; next is where the next block starts: after the last run
// when it goes on past this block. stop: a run holds (see numRun).
func (e *engine) numBlock(i int, m uint64) (next int, stop bool) {
	starts, next := m&^(m<<1), i+64
	for starts != 0 {
		k := bits.TrailingZeros64(starts)
		starts &= starts - 1
		a := i + k
		d := a + bits.TrailingZeros64(^(m >> k))
		if d == i+64 { // the run goes on past the block: the next block starts after it
			d = digitsEnd(e.buf, d)
			next = d
		}
		if e.numRun(a, d) {
			return next, true
		}
	}
	return next, false
}

// numRun tries the digit run [a, d) as an IBAN's first digits and as a
// number; true means an outcome depends on bytes not yet arrived, and
// then the scan stops there and holds.
func (e *engine) numRun(a, d int) bool {
	buf, n := e.buf, len(e.buf)
	mark, hold := len(e.cands), n
	if e.det.IBAN && ibanAt(buf, a) && e.matchIBAN(a-2) {
		hold = a - 2
	}
	if e.anchor(a) && e.tryNumeric(a, d) {
		hold = min(hold, numPrefix(buf, a), phonePrefix(buf, a))
	}
	if hold < n {
		e.cands = e.cands[:mark]
		e.numFrom, e.numHold = e.off+a, e.off+hold
		return true
	}
	return false
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
	if i > 0 && e.buf[i-1] < utf8.RuneSelf { // the common case, without decoding
		switch b := e.buf[i-1]; b {
		case '.', ',', '\'', '-', '/', ':':
			return i < 2 || !isDigit(e.buf[i-2])
		default:
			return !wordRune(rune(b))
		}
	}
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

// tryNumeric runs the numeric matchers at anchor a, whose digit run ends
// at d; true means one of them needs more bytes, and then none of this
// anchor's results count yet.
func (e *engine) tryNumeric(a, d int) bool {
	if d < len(e.buf) {
		return e.tryNumericShaped(a, d)
	}
	// A whole text that ends in a number: mayMatch turns most away, as in
	// tryNumericShaped.
	if !e.r.nums.empty() && (!e.final || e.r.nums.mayMatch(e.buf, a)) && e.matchNumber(a, d) {
		return true
	}
	if !e.r.phones.empty() && e.matchPhoneValue(a, d) {
		return true
	}
	if e.det.Card && e.matchCard(a, d) {
		return true
	}
	if e.det.SSN && e.matchSSN(a) {
		return true
	}
	return e.det.Phone && e.matchPhone(a)
}

// tryNumericShaped is tryNumeric for a digit run followed by a byte: most
// numbers in a text are short and followed by a space or a word, and the
// first group and the byte after it rule out most matchers without a
// call. Each guard is the first test its matcher makes (see them), so the
// result and the hold are the same; quietShort, before them all, differs
// only in not holding where nothing can come of it.
func (e *engine) tryNumericShaped(a, d int) bool {
	buf := e.buf
	l, next := d-a, buf[d]
	if l <= 2 && e.quietShort(a, d) {
		return false
	}
	if !e.r.nums.empty() && (!e.final || shortNumberMayGrow(buf, a, d) && e.r.nums.mayMatch(buf, a)) && e.matchNumber(a, d) {
		return true
	}
	// A phone value has 7 or more digits: a shorter group must go on.
	if !e.r.phones.empty() && (l >= 7 || phoneGoesOn(buf, d)) && e.matchPhoneValue(a, d) {
		return true
	}
	if e.det.Card && (l >= 13 || l == 4 && (next == ' ' || next == '-')) && e.matchCard(a, d) {
		return true
	}
	if e.det.SSN && l == 3 && (next == '-' || next == ' ') && e.matchSSN(a) {
		return true
	}
	// International after a '+'; else the leading 1 or the area code.
	return e.det.Phone && (a > 0 && buf[a-1] == '+' || l == 3 || l == 1 && buf[a] == '1') && e.matchPhone(a)
}

// quietShort reports a number of one or two digits that every numeric
// matcher turns away: followed, directly or after one space, by a byte no
// number, phone number or compact suffix goes on with (bNumEnd: "5 seats",
// "12%"), not after a '+' and not a lone 1 (a country code). Most numbers
// in prose are such, and one test for them costs one branch the predictor
// often gets wrong instead of one per guard. The bytes it reads have all
// arrived and no later byte can change the outcome, so a stream need not
// hold anything for such a number either (matchNumber would have held
// while letters after it were arriving, though none can begin a suffix).
func (e *engine) quietShort(a, d int) bool {
	buf := e.buf
	if d+1 >= len(buf) {
		return false
	}
	j := d
	if buf[d] == ' ' {
		j++
	}
	return e.r.byteKind[buf[j]]&bNumEnd != 0 && (a == 0 || buf[a-1] != '+') && (d-a == 2 || buf[a] != '1')
}

func (e *engine) matchNumber(a, d int) bool {
	buf := e.buf
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

// shortNumberMayGrow reports whether the number whose first digit group
// is [a, d) may have a reading with four or more significant digits, the
// fewest a number value has: a group of four or more digits, or grouping,
// decimals or a compact suffix after it. Only for a whole text: while
// streaming, parseNumber also decides how much to hold back, and that must
// not change.
func shortNumberMayGrow(buf []byte, a, d int) bool {
	if d-a > 3 || d+1 >= len(buf) {
		return true
	}
	switch b := buf[d]; b {
	case ',', '.', '\'': // a group or decimals, or only the end of a sentence
		return isDigit(buf[d+1])
	case 0xC2, 0xE2: // perhaps a no-break or thin space: let parseNumber tell
		return true
	case ' ':
		if isDigit(buf[d+1]) {
			return true
		}
		d++
	}
	return compactExp(buf[d:lettersEnd(buf, d)]) > 0
}

// matchPhoneValue compares the digits of the groups from a with the phone
// values (digits-only equivalence) and takes the longest match.
func (e *engine) matchPhoneValue(a, d int) bool {
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
