package redact

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/crisphq/crisp/catalog"
)

// TestQuietShortMatchesNothing checks the shortcut in tryNumericShaped:
// wherever quietShort turns a number away, no numeric matcher, run
// without its guard, finds anything there, in the whole text or in any
// part of it that a stream has received so far (there a matcher may ask
// for more bytes, but those cannot make a match: the whole text, checked
// too, has none). The texts put every byte that matters after one- and
// two-digit numbers: separators, compact suffix letters, signs, no-break
// spaces.
func TestQuietShortMatchesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	pieces := []string{"1", "12", "7", "415", "555", "0199", "48", "250", "4111", "1111", "123", "45", "6789",
		" ", " ", " ", "-", ".", ",", "'", "(", ")", "/", "+", ":", "%", "\u00a0", "\u2009",
		"k", "K", "m", "bn", "t", "x", "s", "a", "seats", "thousand", "\n",
		" 5 ", " 12 ", " 1 ", "415-555-0199", "+1 415 555 0199", "4111 1111 1111 1111", "123-45-6789", "48,250", "48.25k",
		"12-45-67-89", "12/45/67/89", "12  45 67 89", "12) 45 67 89"}
	values := []Value{
		{Field: "account.privateRevenue", Text: "48250", Visibility: catalog.Hide},
		{Field: "account.n", Text: "1200", Visibility: catalog.Hide},
		{Field: "account.m", Text: "12000", Visibility: catalog.Hide}, // 12k
		{Field: "customer.phone", Text: "+1 415 555 0199", Visibility: catalog.Hide},
		{Field: "customer.phone2", Text: "12 45 67 89", Visibility: catalog.Mask},
	}
	r := mustCompile(t, values, DefaultDetectors())
	quiet, found := 0, 0
	for range 20000 {
		var b strings.Builder
		for range 4 + rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := []byte(b.String())
		for _, cut := range []int{len(text), rng.IntN(len(text) + 1)} {
			e := newEngine(r, r.NewSession(), nil)
			e.buf, e.final = text[:cut], cut == len(text)
			buf := e.buf
			for a := range len(buf) {
				if !isDigit(buf[a]) || a > 0 && isDigit(buf[a-1]) || !e.anchor(a) {
					continue
				}
				d := digitsEnd(buf, a)
				e.cands = e.cands[:0]
				more := e.matchNumber(a, d) || e.matchPhoneValue(a, d) || e.matchCard(a, d) || e.matchSSN(a) || e.matchPhone(a)
				found += len(e.cands)
				if d-a > 2 || d == len(buf) || !e.quietShort(a, d) {
					continue
				}
				quiet++
				if len(e.cands) > 0 || more && e.final {
					t.Fatalf("%q (final %v): quietShort at %d, but the matchers find %v (more %v)", buf, e.final, a, e.cands, more)
				}
			}
		}
	}
	if quiet < 2000 || found < 100 {
		t.Fatalf("%d numbers turned away, %d matches: the test compares too little", quiet, found)
	}
}

// TestNumericBlocksEqualStream compares the whole-text numeric scan,
// which reads digit runs from 64-byte masks, with a stream of small
// deltas, which finds them byte run by byte run: runs of every length
// land on, across and at the ends of block boundaries.
func TestNumericBlocksEqualStream(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	shapes := []string{"48,250", "$48.25k", "+1 415 555 0199", "(415) 555-0199", "4111 1111 1111 1111",
		"123-45-6789", "DE89 3704 0044 0532 0130 00", "AB12", "v2", "x"}
	seps := []string{" ", " ", "-", ".", ",", "/", "(", ")", "+", "a", "\u00a0", "é"}
	values := []Value{
		{Field: "account.privateRevenue", Text: "48250", Visibility: catalog.Hide},
		{Field: "customer.phone", Text: "+1 415 555 0199", Visibility: catalog.Hide},
	}
	r := mustCompile(t, values, DefaultDetectors())
	redacted := 0
	for round := range 300 {
		var b strings.Builder
		for b.Len() < 64*(1+round%5) {
			if rng.IntN(3) == 0 {
				b.WriteString(shapes[rng.IntN(len(shapes))])
			} else {
				b.WriteString(randDigits(rng, 1+rng.IntN([]int{4, 12, 40}[rng.IntN(3)])))
			}
			b.WriteString(seps[rng.IntN(len(seps))])
		}
		text := b.String()
		want := streamOnce(r.NewSession(), chunk(text, 1+rng.IntN(7)), nil)
		if got := r.NewSession().Text(text); got != want {
			t.Fatalf("text %q\n got %q\nwant %q", text, got, want)
		}
		redacted += strings.Count(want, "[hidden:")
	}
	if redacted < 300 {
		t.Fatalf("only %d redactions: the test compares too little", redacted)
	}
}
