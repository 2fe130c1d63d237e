package redact

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestWordsFinalEqualsStream compares the whole-text key scan
// (scanWordsFinal, which skips runs by probing and by spaces near the
// probe) with a stream of one-byte deltas, where every run is decided by
// scanWords as it ends. Runs are of every length around minKeyLen and
// the eight-byte windows, with keys among them.
func TestWordsFinalEqualsStream(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	run := func(n int, alpha string) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	seps := []string{" ", " ", " ", "  ", ", ", "\n", "(", "; ", "\t"}
	r := mustCompile(t, nil, Detectors{APIKey: true})
	keys := 0
	for range 400 {
		var b strings.Builder
		for b.Len() < 300 {
			switch rng.IntN(9) {
			case 0: // a key with a known prefix, or one that looks random
				b.WriteString([]string{"sk-proj-", "ghp_", ""}[rng.IntN(3)])
				b.WriteString(run(30+rng.IntN(40), alnum))
			case 1: // AWS key ids are the shortest keys: 20 bytes and up
				b.WriteString("AKIA" + run(16+rng.IntN(10), alnum))
			case 2: // a run near minKeyLen, with key punctuation
				b.WriteString(run(12+rng.IntN(12), alnum+"._-/"))
			default:
				b.WriteString(run(1+rng.IntN(9), "abcdefghij"))
			}
			b.WriteString(seps[rng.IntN(len(seps))])
		}
		text := b.String()
		s := r.NewSession()
		want := streamOnce(s, chunk(text, 1), nil)
		if got := r.NewSession().Text(text); got != want {
			t.Fatalf("text %q\n got %q\nwant %q", text, got, want)
		}
		keys += strings.Count(want, "[hidden:api_key]")
	}
	if keys < 200 {
		t.Fatalf("only %d keys: the test compares too little", keys)
	}
}
