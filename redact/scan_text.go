package redact

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/crisphq/crisp/catalog"
)

// scanAC feeds the normalized view of the new bytes through the automaton
// and validates the matches whose following rune has arrived. Whitespace
// is all one class and runs collapse inside the automaton, so the ASCII
// path is a table lookup and one step per byte.
func (e *engine) scanAC() {
	if e.final && e.acPos == 0 && e.off == 0 && isASCII(e.buf) {
		e.scanACStarts()
		return
	}
	a := e.r.ac
	buf, off := e.buf, e.off
	i := e.acPos - off
	cur := e.acCur
	var tmp [utf8.UTFMax]byte
	for i < len(buf) {
		b := buf[i]
		if b < utf8.RuneSelf {
			c := int32(a.ascii[b])
			i++
			next := a.step(cur, c)
			cur = next >> 1
			if next&1 != 0 {
				e.acMatch(cur, i)
			}
			continue
		}
		if !e.final && !utf8.FullRune(buf[i:]) {
			break
		}
		r, w := utf8.DecodeRune(buf[i:])
		i += w
		var nb []byte
		switch {
		case r == utf8.RuneError && w == 1:
			nb = buf[i-1 : i]
		case isSpaceRune(r):
			nb = append(tmp[:0], ' ')
		case ignorable(r):
			continue
		default:
			nb = tmp[:utf8.EncodeRune(tmp[:], foldRune(r))]
		}
		for _, x := range nb {
			c := int32(a.cls[x])
			next := a.step(cur, c)
			cur = next >> 1
			if next&1 != 0 {
				e.acMatch(cur, i)
			}
		}
	}
	e.acPos, e.acCur = off+i, cur
	e.validateAC()
}

// pairMin is the text size from which whole texts were once scanned as
// two halves at a time; TestPairScanEqualsSingle still checks long texts
// with values around the middle against a stream.
const pairMin = 8 << 10

// isASCII reports a text with no byte over 0x7f.
func isASCII(b []byte) bool {
	var acc uint64
	i := 0
	// 32 bytes a step, and a text with a non-ASCII rune early (most
	// non-English texts) stops there instead of reading all of it.
	le := binary.LittleEndian
	for ; i+32 <= len(b); i += 32 {
		w := (*[32]byte)(b[i:]) // one bounds check for the four loads
		acc |= le.Uint64(w[0:8]) | le.Uint64(w[8:16]) | le.Uint64(w[16:24]) | le.Uint64(w[24:32])
		if acc&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i+8 <= len(b); i += 8 {
		acc |= binary.LittleEndian.Uint64(b[i:])
	}
	for ; i < len(b); i++ {
		acc |= uint64(b[i])
	}
	return acc&0x8080808080808080 == 0
}

// acMatch records every pattern that ends at i in the state cur.
func (e *engine) acMatch(cur int32, i int) {
	a := e.r.ac
	st := a.id(cur)
	if t := a.term[st]; t != 0 {
		e.acRaw(t-1, i)
	}
	for d := a.dict[st]; d >= 0; d = a.dict[d] {
		e.acRaw(a.term[d]-1, i)
	}
}

func (e *engine) acRaw(p int32, i int) {
	start := srcStart(e.buf, i, int(e.r.ac.patLen[p]))
	e.acWait = append(e.acWait, cand{start: e.off + start, end: e.off + i, val: p})
}

// validateAC applies the whole-word rule to the matches whose following
// rune has arrived and turns them into candidates.
func (e *engine) validateAC() {
	waiting := e.acWait[:0]
	for _, m := range e.acWait {
		end := m.end - e.off
		if !e.final && (end >= len(e.buf) || !utf8.FullRune(e.buf[end:])) {
			waiting = append(waiting, m)
			continue
		}
		pat := e.r.pats[m.val]
		if pat.space && longSpaceRun(e.buf[m.start-e.off:end]) >= 0 {
			continue
		}
		if pat.edgeLeft {
			if r, ok := runeBefore(e.buf, m.start-e.off); ok && wordRune(r) {
				continue
			}
		}
		if pat.edgeRight {
			if r, ok := runeAt(e.buf, end); ok && wordRune(r) {
				continue
			}
		}
		k := kindMasked
		if e.r.values[pat.val].Visibility != catalog.Mask {
			k = kindHidden
		}
		e.cands = append(e.cands, cand{start: m.start, end: m.end, val: pat.val, kind: k})
	}
	e.acWait = waiting
}

// acHold is where the longest suffix that is still a prefix of a pattern
// begins, or the first match still waiting for its following rune.
func (e *engine) acHold() int {
	if e.final {
		return e.off + len(e.buf)
	}
	a := e.r.ac
	h := e.acPos
	if d := a.depth[a.id(e.acCur)]; d > 0 {
		start := srcStart(e.buf, e.acPos-e.off, int(d))
		// No match spans an overlong whitespace run: hold from after it.
		for {
			k := longSpaceRun(e.buf[start : e.acPos-e.off])
			if k < 0 {
				break
			}
			start += k
		}
		h = e.off + start
	}
	for _, m := range e.acWait {
		h = min(h, m.start)
	}
	return h
}
