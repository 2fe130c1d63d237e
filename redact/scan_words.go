package redact

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
)

// Key-like runs are maximal runs of A-Z a-z 0-9 _ - + / = . ~. A run is
// decided when it ends; the run at the end of the arrived bytes is held
// until then, or until it is longer than maxKeyLen, when it is decided on
// its first maxKeyLen bytes: a key is then redacted from its start at once
// and the rest of the run is dropped as it arrives (the engine absorbs it),
// anything else is let through. So a 200-character JWT never waits whole,
// and the hold for a run stays under maxKeyLen+1 bytes.
const (
	maxKeyLen     = 64
	minKeyLen     = 20 // shortest known-prefix key (AKIA…)
	minGenericKey = 32 // shortest key recognised without a known prefix
	maxLocal      = 64
	maxDomain     = 100
)

// scanWords runs the key detector over the key-like runs.
func (e *engine) scanWords() {
	buf, off, kinds := e.buf, e.off, &e.r.byteKind
	n := len(buf)
	i := max(e.wordFrom-off, 0)
	if e.final {
		e.scanWordsFinal(i)
		return
	}
	for i < n {
		if kinds[buf[i]]&bKey == 0 {
			i++
			continue
		}
		// No run that starts before a space within minKeyLen bytes can be
		// a key: jump to that space (most words end at one).
		if i+16 <= n {
			if k := firstSpace(binary.LittleEndian.Uint64(buf[i:]), binary.LittleEndian.Uint64(buf[i+8:])); k > 0 {
				i += k
				continue
			}
		}
		j := i + 1
		for j < n && kinds[buf[j]]&bKey != 0 {
			j++
		}
		if i > 0 && kinds[buf[i-1]]&bKey != 0 { // the rest of a run decided before
			i = j
			continue
		}
		if e.matchKey(i, j) {
			e.wordFrom, e.wordHold = off+i, off+i
			return
		}
		i = j
	}
	e.wordFrom, e.wordHold = off+n, off+n
}

// scanWordsFinal is scanWords when no more bytes come: only runs of
// minKeyLen bytes or more can be keys, so it looks at every minKeyLen-th
// byte and only around one inside a run does it read the run.
func (e *engine) scanWordsFinal(i int) {
	buf, kinds := e.buf, &e.r.byteKind
	n := len(buf)
	if i > 0 { // the rest of a run decided before
		for i < n && kinds[buf[i]]&bKey != 0 && kinds[buf[i-1]]&bKey != 0 {
			i++
		}
	}
	// From here on buf[i-1], if any, ends no run that counts.
	if e.r.simd {
		i = e.keyRunBlocks(i)
	}
	for i+minKeyLen <= n {
		p := i + minKeyLen - 1
		if kinds[buf[p]]&bKey == 0 {
			i = p + 1
			continue
		}
		// A space in the eight bytes on each side of p bounds the run
		// through p to 15 bytes, too short for a key: that is how prose
		// reads, and two loads tell it instead of two byte loops whose
		// ends the branch predictor cannot know. (minKeyLen > 16 makes
		// this sound; p-8 >= i as minKeyLen > 8.)
		if p+9 <= n && hasSpace(binary.LittleEndian.Uint64(buf[p-8:])) && hasSpace(binary.LittleEndian.Uint64(buf[p+1:])) {
			i = p + 1
			continue
		}
		s := p
		for s > i && kinds[buf[s-1]]&bKey != 0 {
			s--
		}
		j := p + 1
		for j < n && kinds[buf[j]]&bKey != 0 {
			j++
		}
		if j-s >= minKeyLen {
			e.matchKey(s, j)
		}
		i = j
	}
	e.wordFrom, e.wordHold = e.off+n, e.off+n
}

// keyRunBlocks is the loop of scanWordsFinal from vector masks of the
// key-like bytes, over the blocks from i that have a whole block after
// them: a run of minKeyLen key bytes is found by shifts and ands of the
// masks (longRuns), so prose, which has none, costs a few instructions per
// 64 bytes. It returns where the scalar loop goes on; as there, buf[i-1]
// ends no run that counts.
func (e *engine) keyRunBlocks(i int) int {
	buf, kinds := e.buf, &e.r.byteKind
	n := len(buf)
	var masks [maskChunk + 1]uint64
	for i+128 <= n {
		nb := min((n-i)/64-1, maskChunk)
		keyBytes.masks(buf[i:], masks[:nb+1])
		b, r := 0, uint64(0)
		for ; b < nb && r == 0; b++ {
			r = longRuns(masks[b], masks[b+1])
		}
		if r == 0 {
			i += 64 * nb
			continue
		}
		// The first window of minKeyLen key bytes from i begins its run:
		// a run that began earlier would have shown in an earlier block.
		s := i + 64*(b-1) + bits.TrailingZeros64(r)
		j := s + minKeyLen
		for j < n && kinds[buf[j]]&bKey != 0 {
			j++
		}
		e.matchKey(s, j)
		i = j
	}
	return i
}

// longRuns has bit k set where bits k to k+minKeyLen-1 of the 128-bit
// mask lo, hi (lo first) are all set, for k < 64: each step doubles the
// run length a bit stands for (1, 2, 4, 8, 16), and the last adds 4.
func longRuns(lo, hi uint64) uint64 {
	lo, hi = lo&(lo>>1|hi<<63), hi&(hi>>1)
	lo, hi = lo&(lo>>2|hi<<62), hi&(hi>>2)
	lo, hi = lo&(lo>>4|hi<<60), hi&(hi>>4)
	lo, hi = lo&(lo>>8|hi<<56), hi&(hi>>8)
	return lo & (lo>>4 | hi<<60)
}

// longRuns is written for runs of 20.
const _ = uint(minKeyLen-20) + uint(20-minKeyLen)

// firstSpace returns the index of the first 0x20 byte in the 16 bytes
// x (low first) then y, or -1: the "has zero byte" bit trick on x^0x20….
func firstSpace(x, y uint64) int {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	if m := (x ^ ones*' ' - ones) &^ (x ^ ones*' ') & high; m != 0 {
		return bits.TrailingZeros64(m) / 8
	}
	if m := (y ^ ones*' ' - ones) &^ (y ^ ones*' ') & high; m != 0 {
		return 8 + bits.TrailingZeros64(m)/8
	}
	return -1
}

// hasSpace reports whether one of the 8 bytes of x is 0x20 (the "has
// zero byte" bit trick on x^0x20…, exact as to whether there is one).
func hasSpace(x uint64) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	return (x^ones*' '-ones)&^(x^ones*' ')&high != 0
}

func (e *engine) matchKey(i, j int) bool {
	l := j - i
	if l < minKeyLen && j < len(e.buf) {
		return false
	}
	if j == len(e.buf) && !e.final && l <= maxKeyLen {
		return true
	}
	if l > maxKeyLen {
		if e.r.isKey(e.buf[i : i+maxKeyLen]) {
			e.cands = append(e.cands, cand{start: e.off + i, end: e.off + i + maxKeyLen, val: -1, kind: kindKey, sticky: true})
		}
		return false
	}
	t := bytes.TrimRight(e.buf[i:j], ".")
	if e.r.isKey(t) {
		e.addDet(i, i+len(t), kindKey)
	}
	return false
}

// isKey: a known prefix with enough length and a body with letters and
// digits; or, without one, at least minGenericKey bytes that look random
// (see looksRandom) and are not a UUID.
func (r *Redactor) isKey(t []byte) bool {
	if len(t) < minKeyLen {
		return false
	}
	for _, p := range keyPrefixes[t[0]] {
		if len(t) >= len(p.prefix) && string(t[:len(p.prefix)]) == p.prefix {
			body := t[len(p.prefix):]
			return len(t) >= p.min && hasLetterAndDigit(body) && entropy(body) >= 3
		}
	}
	return len(t) >= minGenericKey && !uuidShaped(t) && looksRandom(t)
}

type keyPrefix struct {
	prefix string
	min    int // shortest whole key
}

// keyPrefixes are the prefixes of common provider secrets by their first
// byte, longest of a family first: most key-like runs begin with a byte
// that begins none. A table, never written after init.
var keyPrefixes = func() (byFirst [256][]keyPrefix) {
	for _, p := range []keyPrefix{
		{"sk-ant-", 40}, {"sk-proj-", 40}, {"sk-svcacct-", 40}, {"sk-or-", 40}, {"sk-", 32},
		{"sk_live_", 24}, {"sk_test_", 24}, {"rk_live_", 24}, {"rk_test_", 24}, {"whsec_", 24},
		{"ghp_", 36}, {"gho_", 36}, {"ghu_", 36}, {"ghs_", 36}, {"ghr_", 36}, {"github_pat_", 40},
		{"glpat-", 24}, {"xoxb-", 24}, {"xoxp-", 24}, {"xoxa-", 24}, {"xoxr-", 24}, {"xapp-", 24},
		{"AKIA", 20}, {"ASIA", 20}, {"AIza", 35}, {"ya29.", 30}, {"hf_", 30}, {"npm_", 36},
		{"pypi-", 40}, {"dop_v1_", 40}, {"shpat_", 30}, {"shpss_", 30}, {"SG.", 40}, {"gsk_", 40},
		{"xai-", 40}, {"r8_", 30}, {"eyJ", 30},
	} {
		byFirst[p.prefix[0]] = append(byFirst[p.prefix[0]], p)
	}
	return byFirst
}()

// looksRandom: letters and at least one digit, an alphanumeric
// subsequence that switches class (upper, lower, digit) at least 30% of
// the time — random base62 switches ~60%, hex ~47%, words and CamelCase
// rarely — and at least 3 bits of entropy per byte.
func looksRandom(t []byte) bool {
	if !hasLetterAndDigit(t) {
		return false
	}
	changes, alnum, prev := 0, 0, -1
	for _, b := range t {
		c := -1
		switch {
		case b >= 'A' && b <= 'Z':
			c = 0
		case b >= 'a' && b <= 'z':
			c = 1
		case b >= '0' && b <= '9':
			c = 2
		}
		if c < 0 {
			continue
		}
		if prev >= 0 && c != prev {
			changes++
		}
		prev = c
		alnum++
	}
	return alnum >= minGenericKey*3/4 && changes*10 >= (alnum-1)*3 && entropy(t) >= 3
}

// hasLetterAndDigit reads eight bytes at a time: every key-like run of
// minKeyLen bytes or more is asked (URLs and paths among them, most with
// no digit).
func hasLetterAndDigit(t []byte) bool {
	var letter, digit uint64
	for ; len(t) >= 8; t = t[8:] {
		x := binary.LittleEndian.Uint64(t)
		digit |= digitLanes(x)
		letter |= letterLanes(x)
	}
	for _, b := range t {
		switch {
		case isDigit(b):
			digit = 1
		case isLetter(b):
			letter = 1
		}
	}
	return letter != 0 && digit != 0
}

// letterLanes has the high bit of every byte of x that is an ASCII
// letter: digitLanes' trick on x with the case bit set.
func letterLanes(x uint64) uint64 {
	const ones, high, low7 = 0x0101010101010101, 0x8080808080808080, 0x7f7f7f7f7f7f7f7f
	const m, n = 'a' - 1, 'z' + 1
	y := x | ones*0x20
	return (ones*(127+n) - (y & low7)) &^ y & ((y & low7) + ones*(127-m)) & high
}

// entropy is the Shannon entropy of t in bits per byte.
func entropy(t []byte) float64 {
	var counts [256]int
	for _, b := range t {
		counts[b]++
	}
	h, n := 0.0, float64(len(t))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

func uuidShaped(t []byte) bool {
	if len(t) != 36 {
		return false
	}
	for i, b := range t {
		switch i {
		case 8, 13, 18, 23:
			if b != '-' {
				return false
			}
		default:
			if !isDigit(b) && (b|0x20 < 'a' || b|0x20 > 'f') {
				return false
			}
		}
	}
	return true
}

// matchIBAN reads a country code, two check digits and the country's
// number of characters, plain or in groups of four, and checks mod 97.
func (e *engine) matchIBAN(p int) bool {
	buf, n := e.buf, len(e.buf)
	if p+4 > n {
		return !e.final && ibanStart(buf[p:])
	}
	if !ibanStart(buf[p:p+4]) || (buf[p] < 'a') != (buf[p+1] < 'a') {
		return false
	}
	l := ibanLen(buf[p]&^0x20, buf[p+1]&^0x20)
	if l == 0 {
		return false
	}
	var acc [34]byte
	na, q := 0, p
	for na < l {
		if q == n {
			return !e.final
		}
		b := buf[q]
		if e.r.byteKind[b]&bAlnum != 0 {
			acc[na] = b
			if b >= 'a' {
				acc[na] = b &^ 0x20
			}
			na++
			q++
			continue
		}
		if b != ' ' || na%4 != 0 {
			return false
		}
		if q+1 == n {
			return !e.final
		}
		if e.r.byteKind[buf[q+1]]&bAlnum == 0 {
			return false
		}
		q++
	}
	word, more := e.wordAfter(q)
	if !more && !word && ibanChecksum(acc[:l]) {
		e.addDet(p, q, kindIBAN)
	}
	return more
}

func ibanStart(b []byte) bool {
	for k, x := range b {
		letter := x|0x20 >= 'a' && x|0x20 <= 'z'
		if k < 2 && !letter || k >= 2 && !isDigit(x) {
			return false
		}
	}
	return true
}

// ibanChecksum: the country code and check digits moved to the end,
// letters as 10–35, the number mod 97 is 1.
func ibanChecksum(s []byte) bool {
	m := 0
	for i := range s {
		b := s[(i+4)%len(s)]
		if isDigit(b) {
			m = (m*10 + int(b-'0')) % 97
		} else {
			m = (m*100 + int(b-'A') + 10) % 97
		}
	}
	return m == 1
}

// ibanLen is the IBAN length of a country, 0 for a code that has none.
func ibanLen(c0, c1 byte) int {
	switch string([]byte{c0, c1}) {
	case "NO":
		return 15
	case "BE":
		return 16
	case "DK", "FI", "FO", "GL", "NL":
		return 18
	case "MK", "SI":
		return 19
	case "AT", "BA", "EE", "KZ", "LT", "LU", "XK":
		return 20
	case "CH", "HR", "LI", "LV":
		return 21
	case "BG", "BH", "CR", "DE", "GB", "GE", "IE", "ME", "RS", "VA":
		return 22
	case "AE", "GI", "IL", "IQ", "TL":
		return 23
	case "AD", "CZ", "ES", "MD", "PK", "RO", "SA", "SE", "SK", "TN", "VG":
		return 24
	case "PT", "ST":
		return 25
	case "IS", "TR":
		return 26
	case "FR", "GR", "IT", "MC", "MR", "SM":
		return 27
	case "AL", "AZ", "BY", "CY", "DO", "GT", "HU", "LB", "PL", "SV":
		return 28
	case "BR", "EG", "PS", "QA", "UA":
		return 29
	case "JO", "KW", "MU":
		return 30
	case "MT", "SC":
		return 31
	case "LC":
		return 32
	}
	return 0
}
