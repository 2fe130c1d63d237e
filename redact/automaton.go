package redact

import (
	"slices"
	"unicode"
	"unicode/utf8"
)

// automaton is an Aho–Corasick automaton over the normalized view of the
// text (see normalize.go). It reports every pattern that ends at each
// position (overlapping); the engine then picks leftmost-longest among the
// matches that pass their boundary checks. Reporting all of them, instead
// of only the leftmost-longest one, is what lets a rejected match (say
// "dana" inside "danae") give way to a shorter or later one that is valid.
//
// States up to denseDepth deep (and more, breadth first, within
// denseBudget) have dense rows over byte classes, so the
// common step — text that matches nothing or only a few bytes of a
// pattern — is one load. Deeper states keep their goto edges and a
// failure link: a per-request value set builds in microseconds and 5,000
// values take a few megabytes instead of a full DFA's tens.
//
// The automaton is immutable once built and safe for concurrent use; a
// scan keeps its state in one int32, so the streaming redactor can stop at
// any byte and go on with the next delta.
type automaton struct {
	ascii [128]uint8 // raw ASCII byte → class of its folded form; whitespace → clsSpace
	cls   [256]uint8 // normalized byte → class (for bytes of non-ASCII runes)
	ncls  int32
	// A state reference is id*ncls for a dense state (below denseLimit),
	// denseLimit+id-nDense for a deep one; a transition is ref<<1|1 when
	// the target ends some pattern.
	nDense     int32
	denseLimit int32
	trans      []int32 // dense rows
	deepStart  []int32 // by deep index: its goto edges are deepArcs[deepStart[k]:deepStart[k+1]]
	deepArcs   []arc
	// deepRun, by deep index: how many single edges follow one another
	// from the state, each to the next state, all but the last to a state
	// that ends no pattern (at most 255). Their edges are side by side in
	// deepArcs, so the whole-text walk compares a value's tail class by
	// class (see engine.acWalk).
	deepRun  []uint8
	deepFail []int32 // by deep index: failure state reference
	depth    []int32 // by state id: length of the pattern prefix it stands for
	term     []int32 // by state id: pattern id+1 ending here, or 0
	dict     []int32 // by state id: nearest proper suffix state ending a pattern, -1 for none
	patLen   []int32 // by pattern id: normalized length in bytes

	// For whole ASCII texts (see engine.scanACStarts): walk is the goto
	// graph of the dense states alone, child ref<<1 | 1 if the child ends a
	// pattern, 0 for no child; lead says which raw bytes may begin a match.
	walk    []int32
	lead    [256]uint8
	leads   byteSet                // the leadWordStart bytes, for block masks
	seconds byteSet                // the bytes that follow a lead in some pattern's start (bigram)
	anyLead bool                   // some byte is leadAny
	bigram  [128 * 128 / 64]uint64 // raw ASCII byte pairs some pattern begins with
}

// lead values: a value that begins with a word rune matches only at a
// word start, so inside a word only its first byte is worth a walk.
const (
	leadNone      = iota // not a word byte, and no value begins with it
	leadAny              // not a word byte, but some value begins with it
	leadWord             // a word byte no value begins with
	leadWordStart        // a word byte some value begins with
)

// arc is a goto edge of a deep state.
type arc struct{ cls, next int32 }

type edge struct {
	cls  int32
	next int32 // transition (ref<<1|out), or a state id while building
	sib  int32 // next edge of the same state, -1 at the end
}

const (
	clsOther   = 0 // bytes no pattern uses
	clsSpace   = 1 // a whitespace run, fed once
	denseDepth = 3
	// denseBudget is how many dense transitions to spend beyond denseDepth
	// (breadth first): 32 KiB of rows keeps text that runs a few bytes
	// into many values on the one-load path.
	denseBudget = 8 << 10
)

// buildAutomaton compiles normalized, distinct patterns.
func buildAutomaton(pats []string) *automaton {
	a := &automaton{patLen: make([]int32, len(pats))}
	a.assignClasses(pats)
	t := a.trie(pats)
	order := t.bfs()
	a.renumber(t, order)
	a.link(t)
	a.setLead(pats)
	return a
}

// setLead fills lead for raw ASCII bytes; bytes over 0x7f stay leadNone,
// as the whole-text walk only runs on ASCII texts.
func (a *automaton) setLead(pats []string) {
	var first [256]bool
	for _, p := range pats {
		first[p[0]] = true
	}
	var second [128]bool // bytes that follow a first one in some bigram
	for b := range 128 {
		f := foldByte(byte(b))
		switch word := wordRune(rune(f)); {
		case word && first[f]:
			a.lead[b] = leadWordStart
		case word:
			a.lead[b] = leadWord
		case first[f] && f != ' ':
			a.lead[b], a.anyLead = leadAny, true
		}
		// The states one byte deep are dense (denseDepth).
		c1 := a.walk[a.ascii[b]] >> 1
		if c1 == 0 {
			continue
		}
		for b2 := range 128 {
			if a.walk[c1+int32(a.ascii[b2])] != 0 {
				k := b<<7 | b2
				a.bigram[k>>6] |= 1 << (k & 63)
				second[b2] = true
			}
		}
	}
	a.leads = newByteSet(func(b byte) bool { return a.lead[b] == leadWordStart })
	a.seconds = newByteSet(func(b byte) bool { return second[b] })
}

// mayStart reports whether some pattern begins with the raw ASCII bytes
// b1 b2 (b2 a whitespace byte standing for its whole run). Every pattern
// has at least two bytes (minTextAlnum), so a start without a second byte
// is no start.
func (a *automaton) mayStart(b1, b2 byte) bool { return a.startBit(b1, b2) != 0 }

// startBit is mayStart as 0 or 1.
func (a *automaton) startBit(b1, b2 byte) int {
	k := uint(b1&0x7f)<<7 | uint(b2&0x7f)
	return int(a.bigram[k>>6] >> (k & 63) & 1)
}

// trie is the goto graph while building, states in insertion order.
type trie struct {
	first []int32
	edges []edge
	depth []int32
	term  []int32
	last  []int32 // class of the edge into the state
}

func (t *trie) child(s, c int32) int32 {
	for e := t.first[s]; e >= 0; e = t.edges[e].sib {
		if t.edges[e].cls == c {
			return t.edges[e].next
		}
	}
	return -1
}

func (a *automaton) trie(pats []string) *trie {
	total := 1
	for _, p := range pats {
		total += len(p)
	}
	t := &trie{first: make([]int32, 1, total), depth: make([]int32, 1, total), term: make([]int32, 1, total),
		last: make([]int32, 1, total), edges: make([]edge, 0, total)}
	t.first[0], t.last[0] = -1, -1
	for id, p := range pats {
		a.patLen[id] = int32(len(p))
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := int32(a.cls[p[i]])
			next := t.child(s, c)
			if next < 0 {
				next = int32(len(t.depth))
				t.first = append(t.first, -1)
				t.depth = append(t.depth, t.depth[s]+1)
				t.term = append(t.term, 0)
				t.last = append(t.last, c)
				t.edges = append(t.edges, edge{cls: c, next: next, sib: t.first[s]})
				t.first[s] = int32(len(t.edges) - 1)
			}
			s = next
		}
		t.term[s] = int32(id + 1)
	}
	return t
}

// bfs returns the states breadth first, so shallower states come first.
func (t *trie) bfs() []int32 {
	order := append(make([]int32, 0, len(t.depth)), 0)
	for i := 0; i < len(order); i++ {
		for e := t.first[order[i]]; e >= 0; e = t.edges[e].sib {
			order = append(order, t.edges[e].next)
		}
	}
	return order
}

// renumber gives states their ids in breadth-first order, so the dense
// ones are 0..nDense-1.
func (a *automaton) renumber(t *trie, order []int32) {
	n := len(order)
	id := make([]int32, n)
	for i, s := range order {
		id[s] = int32(i)
	}
	first, last := make([]int32, n), make([]int32, n)
	a.depth, a.term = make([]int32, n), make([]int32, n)
	for i, s := range order {
		first[i], last[i], a.depth[i], a.term[i] = t.first[s], t.last[s], t.depth[s], t.term[s]
		if t.depth[s] <= denseDepth || int32(i+1)*a.ncls <= denseBudget {
			a.nDense = int32(i + 1)
		}
	}
	for i := range t.edges {
		t.edges[i].next = id[t.edges[i].next]
	}
	t.first, t.last = first, last
}

// link computes failure and dictionary links breadth first, fills the
// dense rows and encodes every transition.
func (a *automaton) link(t *trie) {
	n, nd := a.ncls, a.nDense
	states := int32(len(a.depth))
	fail := make([]int32, states)
	a.dict = make([]int32, states)
	a.dict[0] = -1
	a.trans = make([]int32, nd*n) // state ids while building
	// delta is the full transition of state s, for s whose rows (if dense)
	// are already filled.
	delta := func(s, c int32) int32 {
		for s >= nd {
			if x := t.child(s, c); x >= 0 {
				return x
			}
			s = fail[s]
		}
		return a.trans[s*n+c]
	}
	for s := range states { // ids are breadth first
		for e := t.first[s]; e >= 0; e = t.edges[e].sib {
			x, c := t.edges[e].next, t.edges[e].cls
			if s == 0 {
				fail[x] = 0
			} else {
				fail[x] = delta(fail[s], c)
			}
			if a.term[fail[x]] != 0 {
				a.dict[x] = fail[x]
			} else {
				a.dict[x] = a.dict[fail[x]]
			}
		}
		if s < nd {
			row := a.trans[s*n : (s+1)*n]
			if s > 0 {
				copy(row, a.trans[fail[s]*n:(fail[s]+1)*n])
			}
			for e := t.first[s]; e >= 0; e = t.edges[e].sib {
				row[t.edges[e].cls] = t.edges[e].next
			}
		}
	}
	a.reorderDeep(t, fail)
	a.encode(t, fail)
}

// reorderDeep renumbers the deep states depth first, once the breadth
// first ids have served to link them: a value's tail below the dense
// states is then one run of ids and edges, so following a match through
// it reads memory in order instead of jumping a level's width per byte.
func (a *automaton) reorderDeep(t *trie, fail []int32) {
	nd, states := a.nDense, int32(len(a.depth))
	if states == nd {
		return
	}
	perm := make([]int32, states) // old id → new id
	for s := range nd {
		perm[s] = s
	}
	next := nd
	var stack []int32
	for s := range nd {
		for e := t.first[s]; e >= 0; e = t.edges[e].sib {
			if x := t.edges[e].next; x >= nd {
				stack = append(stack[:0], x)
			}
			for len(stack) > 0 {
				y := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				perm[y], next = next, next+1
				for e2 := t.first[y]; e2 >= 0; e2 = t.edges[e2].sib {
					stack = append(stack, t.edges[e2].next)
				}
			}
		}
	}
	permute := func(v []int32) {
		old := slices.Clone(v)
		for s, x := range old {
			v[perm[s]] = x
		}
	}
	permute(t.first)
	permute(t.last)
	permute(a.depth)
	permute(a.term)
	permute(a.dict)
	permute(fail)
	for s := nd; s < states; s++ {
		fail[s] = perm[fail[s]]
		if a.dict[s] >= 0 {
			a.dict[s] = perm[a.dict[s]]
		}
	}
	for s := range nd {
		if a.dict[s] >= 0 {
			a.dict[s] = perm[a.dict[s]]
		}
	}
	for i := range t.edges {
		t.edges[i].next = perm[t.edges[i].next]
	}
	for i, x := range a.trans {
		a.trans[i] = perm[x]
	}
}

// encode turns state ids into references with the output bit.
func (a *automaton) encode(t *trie, fail []int32) {
	n, nd := a.ncls, a.nDense
	a.denseLimit = nd * n
	states := int32(len(a.depth))
	enc := make([]int32, states)
	for id := range states {
		enc[id] = a.transition(id)
	}
	for i, x := range a.trans {
		a.trans[i] = enc[x]
	}
	a.walk = make([]int32, nd*n)
	for s := range nd {
		for e := t.first[s]; e >= 0; e = t.edges[e].sib {
			x := t.edges[e].next
			w := a.ref(x) << 1
			if a.term[x] != 0 {
				w |= 1
			}
			a.walk[s*n+t.edges[e].cls] = w
		}
	}
	edges := t.edges
	for i := range edges {
		edges[i].next = enc[edges[i].next]
	}
	first := t.first[nd:]
	a.deepFail = make([]int32, states-nd)
	for s := nd; s < states; s++ {
		a.deepFail[s-nd] = a.ref(fail[s])
	}
	// A whitespace run counts as one space: a state entered by a space
	// stays put on more whitespace. No pattern holds two spaces in a row,
	// so the automaton would otherwise fall back to the root there.
	for s := int32(1); s < states; s++ {
		if t.last[s] != clsSpace {
			continue
		}
		if s < nd {
			a.trans[s*n+clsSpace] = a.ref(s) << 1
		} else {
			edges = append(edges, edge{cls: clsSpace, next: a.ref(s) << 1, sib: first[s-nd]})
			first[s-nd] = int32(len(edges) - 1)
		}
	}
	a.packDeep(first, edges)
}

// packDeep lays the edges of each deep state side by side, in state
// order (depth first, see reorderDeep): following a value's tail then
// reads one run of memory instead of chasing sibling links.
func (a *automaton) packDeep(first []int32, edges []edge) {
	a.deepStart = make([]int32, len(first)+1)
	a.deepArcs = make([]arc, 0, len(edges))
	for k, f := range first {
		a.deepStart[k] = int32(len(a.deepArcs))
		for e := f; e >= 0; e = edges[e].sib {
			a.deepArcs = append(a.deepArcs, arc{edges[e].cls, edges[e].next})
		}
	}
	a.deepStart[len(first)] = int32(len(a.deepArcs))
	a.deepRun = make([]uint8, len(first))
	for k := len(first) - 1; k >= 0; k-- {
		lo := a.deepStart[k]
		if a.deepStart[k+1]-lo != 1 {
			continue
		}
		a.deepRun[k] = 1
		// Depth first ids (reorderDeep): an only child is the next state.
		if x := a.deepArcs[lo].next; x&1 == 0 && k+1 < len(first) && x>>1 == a.denseLimit+int32(k+1) {
			a.deepRun[k] += min(a.deepRun[k+1], 254)
		}
	}
}

func (a *automaton) ref(id int32) int32 {
	if id < a.nDense {
		return id * a.ncls
	}
	return a.denseLimit + id - a.nDense
}

func (a *automaton) id(ref int32) int32 {
	if ref < a.denseLimit {
		return ref / a.ncls
	}
	return ref - a.denseLimit + a.nDense
}

func (a *automaton) transition(id int32) int32 {
	out := int32(0)
	if a.term[id] != 0 || a.dict[id] >= 0 {
		out = 1
	}
	return a.ref(id)<<1 | out
}

// step is the transition from state cur on class c: a row of the dense
// table for shallow states, the deep edges below them.
func (a *automaton) step(cur, c int32) int32 {
	if cur < a.denseLimit {
		return a.trans[cur+c]
	}
	return a.deepStep(cur, c)
}

// deepStep is the transition from a deep state: its goto edge, or the
// failure chain down to a dense row.
func (a *automaton) deepStep(ref, c int32) int32 {
	for {
		k := ref - a.denseLimit
		for _, x := range a.deepArcs[a.deepStart[k]:a.deepStart[k+1]] {
			if x.cls == c {
				return x.next
			}
		}
		if ref = a.deepFail[k]; ref < a.denseLimit {
			return a.trans[ref+c]
		}
	}
}

// deepChild is the goto edge of a deep state on class c (ref<<1 | out),
// or 0: no failure links, as the whole-text walk follows one start only.
func (a *automaton) deepChild(ref, c int32) int32 {
	k := ref - a.denseLimit
	for _, x := range a.deepArcs[a.deepStart[k]:a.deepStart[k+1]] {
		if x.cls == c {
			return x.next
		}
	}
	return 0
}

// assignClasses gives every byte that occurs in a pattern its own class;
// all other bytes share clsOther, which always leads back to the root.
func (a *automaton) assignClasses(pats []string) {
	var used [256]bool
	for _, p := range pats {
		for i := 0; i < len(p); i++ {
			used[p[i]] = true
		}
	}
	next := uint8(clsSpace + 1)
	a.cls[' '] = clsSpace
	for b := range 256 {
		if used[b] && b != ' ' {
			a.cls[b] = next
			next++
		}
	}
	a.ncls = int32(next)
	for b := range 128 {
		a.ascii[b] = a.cls[foldByte(byte(b))]
	}
}

// foldByte lowercases an ASCII letter and turns ASCII whitespace into a
// space.
func foldByte(b byte) byte {
	switch {
	case b >= 'A' && b <= 'Z':
		return b + 'a' - 'A'
	case isSpaceASCII(b):
		return ' '
	}
	return b
}

// isSpaceASCII reports ASCII whitespace as the normalizer sees it.
func isSpaceASCII(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r'
}

// foldRune is the case folding of the normalized view: simple lowercase.
func foldRune(r rune) rune { return unicode.ToLower(r) }

// ignorable reports runes the normalized view drops: format characters
// such as zero-width spaces and soft hyphens, which would otherwise split a
// value invisibly.
func ignorable(r rune) bool { return r >= 0x80 && unicode.Is(unicode.Cf, r) }

// normLen is the length in normalized bytes of a non-ASCII rune that is
// neither whitespace nor ignorable.
func normLen(r rune, w int) int {
	if r == utf8.RuneError && w == 1 {
		return 1
	}
	return utf8.RuneLen(foldRune(r))
}
