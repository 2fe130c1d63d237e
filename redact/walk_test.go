package redact

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/crisphq/crisp/catalog"
)

func TestWordBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var b [8]byte
	for range 20000 {
		for i := range b {
			b[i] = byte(rng.IntN(128))
		}
		got := wordBits(binary.LittleEndian.Uint64(b[:]))
		for i, c := range b {
			if want := wordRune(rune(c)); (got>>i&1 != 0) != want {
				t.Fatalf("%q: bit %d = %v, want %v", b, i, !want, want)
			}
		}
	}
}

// TestWholeTextWalkEqualsAutomaton compares the candidates of the
// whole-text walk with those of the byte-at-a-time automaton, for values
// that begin with word runes, with punctuation, and with whitespace runs.
func TestWholeTextWalkEqualsAutomaton(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	alpha := "abAB _-#(.\t\n1"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	matched := 0
	for round := range 300 {
		var values []Value
		for k := range 1 + rng.IntN(8) {
			values = append(values, Value{Field: "f.x", Text: word(3 + rng.IntN(8)), Visibility: catalog.Visibility(k % 2)})
		}
		if round%2 == 0 { // only word starts: the eight-byte path
			for i := range values {
				values[i].Text = "a" + strings.TrimLeft(values[i].Text, " _-#(.\t\n")
			}
		}
		r, err := Compile(values, Detectors{})
		if err != nil || r.ac == nil {
			continue
		}
		var tb strings.Builder
		for tb.Len() < 200 {
			if v := values[rng.IntN(len(values))].Text; rng.IntN(3) == 0 {
				tb.WriteString(strings.ToUpper(v))
			} else {
				tb.WriteString(strings.ReplaceAll(v, " ", " \t "))
			}
			tb.WriteString(word(rng.IntN(4)))
		}
		text := tb.String()
		cands := func(whole bool) []cand {
			e := newEngine(r, nil, nil)
			e.buf, e.final = []byte(text), true
			if whole {
				e.scanACStarts()
			} else {
				// A buffer that does not begin at offset 0 keeps scanAC
				// off the whole-text path; the space before is no word.
				e.buf, e.off, e.acPos = append([]byte(" "), text...), -1, -1
				e.scanAC()
			}
			out := slices.Clone(e.cands)
			slices.SortFunc(out, func(x, y cand) int {
				if x.start != y.start {
					return x.start - y.start
				}
				if x.end != y.end {
					return x.end - y.end
				}
				return int(x.val - y.val)
			})
			return out
		}
		got, want := cands(true), cands(false)
		matched += len(want)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d values %q text %q:\n got %v\nwant %v", round, values, text, got, want)
		}
	}
	if matched < 100 {
		t.Fatalf("only %d matches: the test compares too little", matched)
	}
}

func TestManifestKeys(t *testing.T) {
	for k := kindCard; k <= kindKey; k++ {
		if got, want := k.manifestKey(), "detector:"+k.String(); got != want {
			t.Fatalf("%v: %q, want %q", k, got, want)
		}
	}
}
