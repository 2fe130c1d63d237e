package redact

import (
	"slices"
	"unicode/utf8"
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

	numFrom, numHold   int
	wordFrom, wordHold int
	mailFrom, mailHold int

	cands   []cand
	spare   []cand   // sortCands' other buffer
	keys    []uint64 // sortCands' keys
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
	return &engine{r: r, s: s, reveal: reveal, det: r.det}
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
	e.sortCands()
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

// sortCands orders the candidates by start; the order among equal starts
// does not matter (next weighs them all). Each matcher finds its
// candidates roughly in order, but together they are a few interleaved
// runs: sorting packed keys and gathering once is several times cheaper
// than sorting the wide candidates with a comparison function.
func (e *engine) sortCands() {
	c := e.cands
	if len(c) < 2 || slices.IsSortedFunc(c, byStart) {
		return
	}
	if cap(e.keys) < len(c) {
		e.keys, e.spare = make([]uint64, 0, len(c)), make([]cand, 0, len(c))
	}
	keys := e.keys[:0]
	for i, x := range c {
		rel := uint64(x.start - e.off) // no kept candidate starts before off (compact)
		if rel >= 1<<40 || i >= 1<<24 {
			slices.SortFunc(c, byStart)
			return
		}
		keys = append(keys, rel<<24|uint64(i))
	}
	slices.Sort(keys)
	sorted := e.spare[:0]
	for _, k := range keys {
		sorted = append(sorted, c[k&(1<<24-1)])
	}
	e.cands, e.spare, e.keys = sorted, c[:0], keys
}

func byStart(a, b cand) int { return a.start - b.start }

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
		e.out = append(make([]byte, 0, e.outCap()), e.buf[:e.emit-e.off]...)
		e.deferOut = false
	}
}

// outCap bounds the output of a whole text, whose candidates are all
// known by now: as if each of them added its marker (or restored value),
// so the output is allocated once and never regrown.
func (e *engine) outCap() int {
	n := len(e.buf) + 64
	for _, c := range e.cands {
		switch c.kind {
		case kindHidden:
			n += len("[hidden:]") + len(e.r.values[c.val].Field)
		case kindMasked:
			v := e.r.values[c.val]
			n += len("[masked:#]") + len(v.Field) + 20 + len(v.Text)
		default:
			n += len("[hidden:api_key]")
		}
	}
	return n
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
		e.out = e.s.hidden(e.out, c.val)
	case kindMasked:
		e.out = e.s.placeholder(e.out, c.val)
	default:
		e.writeMarker(c.kind)
	}
}

func (e *engine) writeMarker(k kind) {
	e.flushDeferred()
	e.out = e.s.detected(e.out, k)
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
