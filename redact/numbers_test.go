package redact

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/crisphq/crisp/catalog"
)

// randDigits is n random ASCII digits.
func randDigits(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + rng.IntN(10))
	}
	return string(b)
}

func TestCompactAfter(t *testing.T) {
	tests := []struct {
		name, in string
		at       int // where the walk of the number stands
		want     bool
	}{
		{"suffix", "48.3k", 2, true},
		{"suffix after the last group", "48,300k", 2, true},
		{"suffix after a space", "48.3 K ARR", 4, true},
		{"word suffix", "48.25 thousand", 1, true},
		{"billion", "1.2bn", 3, true},
		{"no suffix", "48,300 users", 3, false},
		{"two spaces", "48.3  k", 4, false},
		{"no-break space before it", "48.3\u00a0k", 4, false},
		{"word that begins like one", "483 kilograms", 3, false},
		{"t that is no suffix", "483 tickets", 3, false},
		{"end of text", "483", 3, false},
		{"separator at the end", "483,", 3, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := compactAfter([]byte(tc.in), tc.at); got != tc.want {
				t.Errorf("compactAfter(%q, %d) = %v, want %v", tc.in, tc.at, got, tc.want)
			}
		})
	}
}

// TestNumberFilterKeepsEveryMatch checks the whole-text filters in front
// of matchNumber (shortNumberMayGrow, then mayMatch with its rounded
// prefixes only before a compact suffix): wherever matchNumber finds a
// value, they must let the number through. The values are readings of
// the numbers in the text, as given and as ones that round to them, so
// that exact, compact and rounded compact matches all occur.
func TestNumberFilterKeepsEveryMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	seps := []string{",", ".", " ", "'", "\u00a0", "\u2009"}
	suffixes := []string{"", "", "", "k", " K", "m", "mn", " million", "bn", " thousand", "kg", " tickets", ".", ","}
	number := func() string {
		var b strings.Builder
		b.WriteString(randDigits(rng, 1+rng.IntN(6)))
		sep := seps[rng.IntN(len(seps))]
		for range rng.IntN(3) {
			b.WriteString(sep)
			b.WriteString(randDigits(rng, []int{3, 3, 3, 1, 2, 4}[rng.IntN(6)]))
		}
		b.WriteString(suffixes[rng.IntN(len(suffixes))])
		return b.String()
	}
	matched, filtered := 0, 0
	for range 400 {
		var text strings.Builder
		var values []Value
		for range 8 {
			n := number()
			text.WriteString(n)
			text.WriteString(" ")
			parseNumber([]byte(n), 0, true, make([]byte, 0, 256), func(_ int, canon []byte, compact bool) {
				c := string(canon)
				if compact && rng.IntN(2) == 0 { // rounds to c: 48300 from 48300.1
					if strings.Contains(c, ".") {
						c += "1"
					} else {
						c += ".1"
					}
				}
				if rng.IntN(3) != 0 {
					values = append(values, Value{Field: "account.n", Text: c, Visibility: catalog.Hide})
				}
			})
		}
		values = append(values, Value{Field: "account.n", Text: "48250", Visibility: catalog.Hide})
		r := mustCompile(t, values, Detectors{})
		e := newEngine(r, r.NewSession(), nil)
		e.buf, e.final = []byte(text.String()), true
		buf := e.buf
		for a := range len(buf) - 1 {
			if !isDigit(buf[a]) || a > 0 && isDigit(buf[a-1]) || !e.anchor(a) {
				continue
			}
			d := digitsEnd(buf, a)
			e.cands = e.cands[:0]
			e.matchNumber(a, d)
			pass := shortNumberMayGrow(buf, a, d) && r.nums.mayMatch(buf, a)
			if !pass {
				filtered++
			}
			if len(e.cands) == 0 {
				continue
			}
			matched++
			if !pass && d < len(buf) {
				t.Fatalf("values %q text %q: the number at %d matches %v but is filtered out", values, buf, a, e.cands)
			}
		}
	}
	if matched < 500 || filtered < 500 {
		t.Fatalf("%d matches, %d numbers filtered out: the test compares too little", matched, filtered)
	}
}
