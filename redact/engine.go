package redact

import (
	"encoding/binary"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/crisphq/crisp/catalog"
)

// engine is the one redaction algorithm behind Session.Text, Session.JSON
// and Stream: Text is a single write with final set, a stream is many.
// Every matcher is a pure function of the bytes plus how much of them has
// arrived, and each reports a hold: no match it can still find starts
// before it. Output is decided only before the smallest hold, so the
// streamed output equals the whole-text output whatever the chunking
// (TestStreamEqualsText checks this at every split).
type engine struct {
	r      *Redactor
	s      *Session
	reveal func(field string) bool // response side; nil on the request side
	det    Detectors               // the redactor's, or none when checking values

	buf   []byte // source bytes from off on; up to lookBehind bytes before emit are kept for boundary checks
	off   int    // global offset of buf[0]
	emit  int    // output is decided up to here
	final bool

	// absorbing: a key-like run longer than maxKeyLen was redacted from its
	// start; the rest of the run is dropped as it arrives. lazyMark: write
	// the marker when the first byte is dropped (see spent).
	absorbing bool
	lazyMark  bool

	acPos  int   // automaton: consumed up to here
	acCur  int32 // state reference
	acWait []cand
	// acBefore drops matches that start at or after it (see scanACPair);
	// otherwise past any position.
	acBefore int

	numFrom, numHold   int
	wordFrom, wordHold int
	mailFrom, mailHold int

	cands   []cand
	out     []byte
	scratch []byte // number readings
	// deferOut: a whole text whose output is still a copy of its input
	// is not copied until the first replacement.
	deferOut bool
}

// cand is a match found by one matcher; offsets are global.
type cand struct {
	start, end int
	val        int32 // value index for field kinds, -1 for detectors
	kind       kind
	sticky     bool // a key-like run: the rest of the run is absorbed too
	done       bool // written
}

// lookBehind is how many emitted bytes stay buffered: the rune before a
// match (up to 4 bytes) and the separator before a number group.
const lookBehind = 16

func newEngine(r *Redactor, s *Session, reveal func(string) bool) *engine {
	return &engine{r: r, s: s, reveal: reveal, det: r.det, acBefore: math.MaxInt}
}

// run scans whatever arrived since the last call and writes all output
// that no matcher can change any more.
func (e *engine) run() { e.resolve(e.scan()) }

// scan runs every matcher over the new bytes and returns the smallest
// hold: where the earliest match that may still come could start.
func (e *engine) scan() int {
	end := e.off + len(e.buf)
	h := end
	if !e.final {
		h = e.off + incompleteTail(e.buf)
	}
	if e.r.ac != nil {
		e.scanAC()
		h = min(h, e.acHold())
	} else {
		e.acPos = end
	}
	if e.r.numeric(e.det) {
		e.scanNumeric()
		h = min(h, e.numHold)
	} else {
		e.numFrom, e.numHold = end, end
	}
	if e.det.APIKey {
		e.scanWords()
		h = min(h, e.wordHold)
	} else {
		e.wordFrom, e.wordHold = end, end
	}
	if e.det.Email {
		e.scanEmail()
		h = min(h, e.mailHold)
	} else {
		e.mailFrom, e.mailHold = end, end
	}
	return h
}

// incompleteTail is where a rune cut by the end of buf begins, or len(buf).
func incompleteTail(buf []byte) int {
	for k := 1; k < utf8.UTFMax && k <= len(buf); k++ {
		b := buf[len(buf)-k]
		if b < utf8.RuneSelf {
			break
		}
		if utf8.RuneStart(b) {
			if !utf8.FullRune(buf[len(buf)-k:]) {
				return len(buf) - k
			}
			break
		}
	}
	return len(buf)
}

// resolve writes output up to h: leftmost-longest among the candidates
// that start before h, which no future input can change.
func (e *engine) resolve(h int) {
	slices.SortFunc(e.cands, func(a, b cand) int { return a.start - b.start })
	i := 0
	for {
		if e.absorbing && !e.absorb() {
			break
		}
		var best int
		i, best = e.next(i)
		if best < 0 || max(e.cands[best].start, e.emit) >= h {
			break
		}
		c := e.cands[best]
		e.cands[best].done = true
		c.end = max(c.end, e.emit)
		c.start = max(c.start, e.emit)
		e.plain(c.start)
		if c.end > c.start || !c.sticky {
			e.replace(c)
		}
		e.emit = max(e.emit, c.end)
		e.absorbing, e.lazyMark = c.sticky, c.sticky && c.end <= c.start
	}
	if !e.absorbing && e.emit < h {
		e.plain(h)
	}
	kept := e.cands[:0]
	for _, c := range e.cands[i:] {
		if !e.spent(c) {
			kept = append(kept, c)
		}
	}
	e.cands = kept
}

// next returns the best candidate at the smallest start, where a start
// before emit counts as emit: the part of a match that overlaps the one
// already written is still redacted, never let through. Candidates before
// i are spent. It returns the new i and the best index, -1 if none.
func (e *engine) next(i int) (int, int) {
	for i < len(e.cands) && e.spent(e.cands[i]) {
		i++
	}
	best, bestStart := -1, 0
	for j := i; j < len(e.cands); j++ {
		c := e.cands[j]
		if e.spent(c) {
			continue
		}
		st := max(c.start, e.emit)
		if best >= 0 && st > bestStart {
			break
		}
		if best < 0 || better(c, e.cands[best], e.emit) {
			best, bestStart = j, st
		}
	}
	return i, best
}

// spent reports a candidate wholly behind emit. A key-like run's candidate
// covers only its first maxKeyLen bytes; while its run still reaches emit
// it comes back empty and sticky, so the rest of the run is absorbed.
func (e *engine) spent(c cand) bool {
	if c.done {
		return true
	}
	if c.end > e.emit {
		return false
	}
	if !c.sticky {
		return true
	}
	for p := c.start - e.off; p < e.emit-e.off; p++ {
		if e.r.byteKind[e.buf[p]]&bKey == 0 {
			return true
		}
	}
	return false
}

// better orders candidates at the same (truncated) start: sticky first,
// then longest, then hidden field, masked field, detectors, then value
// order, so the choice never depends on discovery order.
func better(a, b cand, emit int) bool {
	if a.sticky != b.sticky {
		return a.sticky
	}
	ae, be := max(a.end, emit), max(b.end, emit)
	if ae != be {
		return ae > be
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.val < b.val
}

// absorb drops the rest of a key-like run. It reports whether the run has
// ended.
func (e *engine) absorb() bool {
	end := e.off + len(e.buf)
	i := e.emit - e.off
	for i < len(e.buf) && e.r.byteKind[e.buf[i]]&bKey != 0 {
		i++
	}
	if i > e.emit-e.off && e.lazyMark {
		e.writeMarker(kindKey)
		e.lazyMark = false
	}
	e.emit = e.off + i
	if e.emit < end || e.final {
		e.absorbing, e.lazyMark = false, false
		return true
	}
	return false
}

func (e *engine) plain(upTo int) {
	if e.deferOut {
		e.emit = max(e.emit, upTo)
		return
	}
	if upTo > e.emit {
		e.out = append(e.out, e.buf[e.emit-e.off:upTo-e.off]...)
		e.emit = upTo
	}
}

// flushDeferred starts the output of a whole text at its first change.
func (e *engine) flushDeferred() {
	if e.deferOut {
		e.out = append(make([]byte, 0, len(e.buf)+64), e.buf[:e.emit-e.off]...)
		e.deferOut = false
	}
}

func (e *engine) replace(c cand) {
	if c.kind == kindMasked && e.reveal != nil && e.reveal(e.r.values[c.val].Field) {
		// The value as the store holds it, as Restore would give it.
		e.flushDeferred()
		e.out = append(e.out, e.r.values[c.val].Text...)
		return
	}
	e.flushDeferred()
	switch c.kind {
	case kindHidden:
		f := e.r.values[c.val].Field
		e.out = append(append(append(e.out, "[hidden:"...), f...), ']')
		e.s.count(f)
	case kindMasked:
		e.out = e.s.placeholder(e.out, c.val)
	default:
		e.writeMarker(c.kind)
	}
}

func (e *engine) writeMarker(k kind) {
	e.flushDeferred()
	e.out = append(append(append(e.out, "[hidden:"...), k.String()...), ']')
	e.s.count("detector:" + k.String())
}

// compact drops bytes no matcher will look at again.
func (e *engine) compact() {
	keep := min(e.emit, e.acPos, e.numFrom, e.numHold, e.wordFrom, e.wordHold, e.mailFrom, e.mailHold)
	for _, c := range e.acWait {
		keep = min(keep, c.start)
	}
	for _, c := range e.cands {
		keep = min(keep, c.start)
	}
	keep -= lookBehind
	if keep <= e.off {
		return
	}
	n := copy(e.buf, e.buf[keep-e.off:])
	e.buf = e.buf[:n]
	e.off = keep
}

// held is how many bytes have arrived but are not yet decided.
func (e *engine) held() int { return e.off + len(e.buf) - e.emit }

// scanAC feeds the normalized view of the new bytes through the automaton
// and validates the matches whose following rune has arrived. Whitespace
// is all one class and runs collapse inside the automaton, so the ASCII
// path is a table lookup and one step per byte.
func (e *engine) scanAC() {
	if e.final && e.acPos == 0 && e.off == 0 && len(e.buf) >= pairMin && isASCII(e.buf) {
		e.scanACPair()
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
			var next int32
			if cur < a.denseLimit {
				next = a.trans[cur+c]
			} else {
				next = a.deepStep(cur, c)
			}
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
			var next int32
			if cur < a.denseLimit {
				next = a.trans[cur+c]
			} else {
				next = a.deepStep(cur, c)
			}
			cur = next >> 1
			if next&1 != 0 {
				e.acMatch(cur, i)
			}
		}
	}
	e.acPos, e.acCur = off+i, cur
	e.validateAC()
}

// pairMin is the smallest whole text scanned by two walks; pairSync is
// how far the second walk's states are kept to find where the first walk
// meets it.
const (
	pairMin  = 8 << 10
	pairSync = 512
)

// scanACPair is scanAC for a whole ASCII text of pairMin bytes or more: it
// walks the two halves at once, so the CPU overlaps their dependent table
// loads. The second walk starts at the root in the middle and finds every
// match that starts there or later. The first walk goes on past the
// middle, keeping only matches that start before it, until it is in the
// state the second was in at the same byte: from there they agree.
func (e *engine) scanACPair() {
	a, buf := e.r.ac, e.buf
	n := len(buf)
	m := n / 2
	var rec [pairSync]int32
	c1, c2 := int32(0), int32(0)
	for i := range m {
		j := m + i
		x1, x2 := int32(a.ascii[buf[i]]), int32(a.ascii[buf[j]])
		var n1, n2 int32
		if c1 < a.denseLimit {
			n1 = a.trans[c1+x1]
		} else {
			n1 = a.deepStep(c1, x1)
		}
		if c2 < a.denseLimit {
			n2 = a.trans[c2+x2]
		} else {
			n2 = a.deepStep(c2, x2)
		}
		c1, c2 = n1>>1, n2>>1
		if n1&1 != 0 {
			e.acMatch(c1, i+1)
		}
		if n2&1 != 0 {
			e.acMatch(c2, j+1)
		}
		if i < pairSync {
			rec[i] = c2
		}
	}
	if n%2 == 1 {
		c2 = e.acStep(c2, n-1)
	}
	e.acBefore = m
	for p := m; p < n; p++ {
		k := p - m
		if k == 0 && c1 == 0 || k > 0 && k <= pairSync && c1 == rec[k-1] ||
			k > pairSync && srcStart(buf, p, int(a.depth[a.id(c1)])) >= m {
			break
		}
		c1 = e.acStep(c1, p)
	}
	e.acBefore = math.MaxInt
	e.acPos, e.acCur = n, c2
	e.validateAC()
}

// acStep feeds the ASCII byte at i and records its matches.
func (e *engine) acStep(cur int32, i int) int32 {
	a := e.r.ac
	c := int32(a.ascii[e.buf[i]])
	var next int32
	if cur < a.denseLimit {
		next = a.trans[cur+c]
	} else {
		next = a.deepStep(cur, c)
	}
	if next&1 != 0 {
		e.acMatch(next>>1, i+1)
	}
	return next >> 1
}

// isASCII reports a text with no byte over 0x7f.
func isASCII(b []byte) bool {
	var acc uint64
	i := 0
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
	if start >= e.acBefore {
		return
	}
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
