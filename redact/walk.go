package redact

import (
	"encoding/binary"
	"math/bits"
)

// scanACStarts is scanAC for a whole ASCII text. A match of a value that
// begins with a word rune is kept only at a word start, and one that
// begins otherwise only where its first byte is: so instead of stepping
// the automaton through every byte, it walks the goto graph from those
// starts alone, which finds the same matches that would pass validateAC
// (the rest would be dropped there) for a fraction of the steps. Nothing
// is held for a whole text, so the automaton's state at the end does not
// matter.
func (e *engine) scanACStarts() {
	if e.r.ac.anyLead {
		e.scanACStartsBytes()
	} else {
		e.scanACWordStarts()
	}
	e.acPos, e.acCur = len(e.buf), 0
	e.validateAC()
}

// scanACWordStarts finds the word starts eight bytes at a time, for
// values that all begin with a word rune.
func (e *engine) scanACWordStarts() {
	a, buf := e.r.ac, e.buf
	n := len(buf)
	i, prev := 0, uint64(0) // prev: the byte before i is a word byte
	if e.r.simd {
		i, prev = e.wordStartBlocks()
	}
	var walk [64]int32
	for ; i+64 < n; i += 64 {
		w := wordBits64((*[64]byte)(buf[i:]))
		starts := w &^ (w<<1 | prev)
		prev = w >> 63
		e.walkStarts(i, starts, &walk)
	}
	for ; i+8 <= n; i += 8 {
		w := wordBits(binary.LittleEndian.Uint64(buf[i:]))
		starts := w &^ (w<<1 | prev)
		prev = w >> 7
		for starts != 0 {
			k := i + bits.TrailingZeros64(starts)
			starts &= starts - 1
			if k+1 < n && a.mayStart(buf[k], buf[k+1]) {
				e.acWalk(k)
			}
		}
	}
	for ; i+1 < n; i++ {
		w := uint64(0)
		if a.lead[buf[i]] >= leadWord {
			w = 1
		}
		if w&^prev != 0 && a.mayStart(buf[i], buf[i+1]) {
			e.acWalk(i)
		}
		prev = w
	}
}

// wordStartBlocks is the block loop of scanACWordStarts from vector
// masks, where a start is also filtered by its first byte and the byte
// after it, each against the bytes some value has there: in support
// prose that leaves about one word start in four. It returns where the
// blocks end and whether the byte before is a word byte.
func (e *engine) wordStartBlocks() (i int, prev uint64) {
	buf, a := e.buf, e.r.ac
	var words, lead, second [maskChunk]uint64
	var walk [64]int32
	for i+64 < len(buf) { // a start reads the byte after it
		nb := min((len(buf)-1-i)/64, maskChunk)
		wordBytes.masks(buf[i:], words[:nb])
		a.leads.masks(buf[i:], lead[:nb])
		a.seconds.masks(buf[i+1:], second[:nb]) // the byte after each
		for b, w := range words[:nb] {
			starts := w &^ (w<<1 | prev) & lead[b] & second[b]
			prev = w >> 63
			e.walkStarts(i, starts, &walk)
			i += 64
		}
	}
	return i, prev
}

// walkStarts walks the starts of the block at i that begin some value's
// first two bytes.
func (e *engine) walkStarts(i int, starts uint64, walk *[64]int32) {
	a, buf := e.r.ac, e.buf
	// Which starts begin a value is no pattern a branch predictor can
	// learn: they are filtered into walk without a branch, and only
	// those are walked.
	nw := 0
	for starts != 0 {
		k := i + bits.TrailingZeros64(starts)
		starts &= starts - 1
		walk[nw] = int32(k)
		nw += a.startBit(buf[k], buf[k+1])
	}
	for _, k := range walk[:nw] {
		e.acWalk(int(k))
	}
}

// nextClass finds the class of the byte after i in the normalized view
// (a whitespace run is one space): its index, or len(buf), its class and
// whether it is whitespace.
func (a *automaton) nextClass(buf []byte, i int, space bool) (int, int32, bool) {
	for i++; i < len(buf); i++ {
		c := int32(a.ascii[buf[i]])
		if c != clsSpace {
			return i, c, false
		}
		if !space {
			return i, c, true
		}
	}
	return i, 0, space
}

// wordBits64 is wordBits for 64 bytes, written out: constant offsets
// need no bounds checks.
func wordBits64(b *[64]byte) uint64 {
	le := binary.LittleEndian
	return wordBits(le.Uint64(b[0:8])) | wordBits(le.Uint64(b[8:16]))<<8 |
		wordBits(le.Uint64(b[16:24]))<<16 | wordBits(le.Uint64(b[24:32]))<<24 |
		wordBits(le.Uint64(b[32:40]))<<32 | wordBits(le.Uint64(b[40:48]))<<40 |
		wordBits(le.Uint64(b[48:56]))<<48 | wordBits(le.Uint64(b[56:64]))<<56
}

// wordBits has bit k set where byte k of the ASCII bytes x (low first) is
// a word byte: a letter, a digit or '_'. Every lane stays below 0x100, so
// the range tests do not borrow or carry into the next byte.
func wordBits(x uint64) uint64 {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	// lo < v < hi per byte: (127+hi-v) and (v+127-lo) both reach 0x80.
	l := x | ones*0x20
	letter := (ones*(127+'z'+1) - l) & (l + ones*(127-'a'+1))
	digit := (ones*(127+'9'+1) - x) & (x + ones*(127-'0'+1))
	under := ^(x ^ ones*'_' + ones*0x7f)
	m := (letter | digit | under) & high
	return (m >> 7) * 0x0102040810204080 >> 56
}

// scanACStartsBytes is the byte at a time loop for value sets where some
// value begins with punctuation, which may start a match inside a word.
func (e *engine) scanACStartsBytes() {
	a, buf := e.r.ac, e.buf
	n := len(buf) - 1 // a start needs a second byte
	for i := 0; i < n; {
		switch a.lead[buf[i]] {
		case leadNone:
			i++
		case leadAny:
			if a.mayStart(buf[i], buf[i+1]) {
				e.acWalk(i)
			}
			i++
		default:
			if a.mayStart(buf[i], buf[i+1]) {
				e.acWalk(i)
			}
			for i++; i < n && a.lead[buf[i]] >= leadWord; i++ {
			}
		}
	}
}

// acWalk records every pattern that starts at s, feeding the normalized
// view (a whitespace run is one space) to the goto graph until it has no
// edge.
func (e *engine) acWalk(s int) {
	a, buf := e.r.ac, e.buf
	cur, space := int32(0), false
	for i := s; i < len(buf); i++ {
		c := int32(a.ascii[buf[i]])
		if c == clsSpace {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		var next int32
		switch {
		case cur < a.denseLimit:
			next = a.walk[cur+c]
		case a.deepRun[cur-a.denseLimit] > 1:
			// A run of single edges, most often the rest of one value:
			// its classes are compared in a row, with no lookup per byte.
			k := cur - a.denseLimit
			arcs := a.deepArcs[a.deepStart[k]:][:a.deepRun[k]]
			for t := 0; ; {
				if arcs[t].cls != c {
					return
				}
				if t++; t == len(arcs) {
					break
				}
				if i, c, space = a.nextClass(buf, i, space); i == len(buf) {
					return
				}
			}
			next = arcs[len(arcs)-1].next
		default:
			next = a.deepChild(cur, c)
		}
		if next == 0 {
			return
		}
		cur = next >> 1
		if next&1 != 0 {
			if t := a.term[a.id(cur)]; t != 0 {
				e.acWait = append(e.acWait, cand{start: e.off + s, end: e.off + i + 1, val: t - 1})
			}
		}
	}
}
