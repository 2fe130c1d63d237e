package redact

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestAutomatonMatchesBruteForce compares the automaton's overlapping
// matches with a brute-force search, over random patterns deep enough to
// use both dense and sparse states.
func TestAutomatonMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "abcd"[rng.IntN(4)]
		}
		return string(b)
	}
	for round := range 200 {
		seen := map[string]bool{}
		var pats []string
		for range 1 + rng.IntN(12) {
			if p := word(1 + rng.IntN(9)); !seen[p] {
				seen[p] = true
				pats = append(pats, p)
			}
		}
		slices.Sort(pats)
		a := buildAutomaton(pats)
		text := word(200)
		type hit struct{ end, pat int }
		var got, want []hit
		cur := int32(0)
		for i := 0; i < len(text); i++ {
			c := int32(a.ascii[text[i]])
			next := a.step(cur, c)
			cur = next >> 1
			st := a.id(cur)
			var here []hit
			if a.term[st] != 0 {
				here = append(here, hit{i + 1, int(a.term[st] - 1)})
			}
			for d := a.dict[st]; d >= 0; d = a.dict[d] {
				here = append(here, hit{i + 1, int(a.term[d] - 1)})
			}
			if (next&1 != 0) != (len(here) > 0) {
				t.Fatalf("round %d: output bit wrong at %d", round, i)
			}
			// depth is the longest suffix that is a pattern prefix
			d := 0
			for _, p := range pats {
				for k := len(p); k > d; k-- {
					if strings.HasSuffix(text[:i+1], p[:k]) {
						d = k
						break
					}
				}
			}
			if int(a.depth[st]) != d {
				t.Fatalf("round %d: depth %d want %d at %d", round, a.depth[st], d, i)
			}
			got = append(got, here...)
			for id, p := range pats {
				if strings.HasSuffix(text[:i+1], p) {
					want = append(want, hit{i + 1, id})
				}
			}
		}
		cmp := func(x, y hit) int { return x.end*100 + x.pat - (y.end*100 + y.pat) }
		slices.SortFunc(got, cmp)
		slices.SortFunc(want, cmp)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d patterns %q: got %v want %v", round, pats, got, want)
		}
	}
}

// TestAutomatonCollapsesSpaces: on text with whitespace runs the automaton
// finds what a brute-force search finds in the text with each run made one
// space.
func TestAutomatonCollapsesSpaces(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 300 {
		var pats []string
		seen := map[string]bool{}
		for range 1 + rng.IntN(6) {
			var b strings.Builder
			for k := range 1 + rng.IntN(7) {
				if k > 0 && rng.IntN(3) == 0 {
					b.WriteByte(' ')
				}
				b.WriteByte("ab"[rng.IntN(2)])
			}
			if p := b.String(); !seen[p] {
				seen[p] = true
				pats = append(pats, p)
			}
		}
		slices.Sort(pats)
		a := buildAutomaton(pats)
		var text strings.Builder
		for range 120 {
			if rng.IntN(3) == 0 {
				text.WriteString([]string{" ", "  ", "\t", " \n "}[rng.IntN(4)])
			} else {
				text.WriteByte("ab"[rng.IntN(2)])
			}
		}
		src := text.String()
		var collapsed []byte
		type hit struct{ end, pat int }
		var got, want []hit
		cur := int32(0)
		for i := 0; i < len(src); i++ {
			if !(isSpaceASCII(src[i]) && i > 0 && isSpaceASCII(src[i-1])) {
				collapsed = append(collapsed, foldByte(src[i]))
			}
			c := int32(a.ascii[src[i]])
			next := a.step(cur, c)
			cur = next >> 1
			st := a.id(cur)
			if a.term[st] != 0 {
				got = append(got, hit{len(collapsed), int(a.term[st] - 1)})
			}
			for d := a.dict[st]; d >= 0; d = a.dict[d] {
				got = append(got, hit{len(collapsed), int(a.term[d] - 1)})
			}
		}
		for end := 1; end <= len(collapsed); end++ {
			for id, p := range pats {
				if strings.HasSuffix(string(collapsed[:end]), p) {
					want = append(want, hit{end, id})
				}
			}
		}
		cmp := func(x, y hit) int { return x.end*100 + x.pat - (y.end*100 + y.pat) }
		slices.SortFunc(got, cmp)
		got = slices.Compact(got)
		slices.SortFunc(want, cmp)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d patterns %q text %q: got %v want %v", round, pats, src, got, want)
		}
	}
}
