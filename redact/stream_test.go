package redact

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/crisphq/crisp/catalog"
)

// streamInputs hold every example value in several forms, detector
// matches, a long key, near misses, placeholders and multi-byte text.
var streamInputs = []string{
	"Dana's ARR is $48,250.00 (48.25k); call +1 415 555 0199 or (415) 555-0199, mail DANA@acme.example.",
	"Notes: renewal is blocked until legal signs the new DPA;\n champion is the CFO. Risk: high.",
	"card 4111 1111 1111 1111, iban DE89 3704 0044 0532 0130 00, ssn 123-45-6789, bob@example.com",
	"jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U end",
	"near misses: 148250, 48,250,000, adana@acme.example, 415 555 0198, 4111 1111 1111 1112, 5 seats, $49/month.",
	"Échec: 48 250 € — señor DANA@ACME.EXAMPLE, 電話 +1 415 555 0199\u200b!",
	"reply to [masked:customer.email#1] about [hidden:account.privateRevenue] and [masked:customer.email#7]",
}

func streamOnce(s *Session, chunks []string, reveal func(string) bool) string {
	st := s.Stream(reveal)
	var b strings.Builder
	for _, c := range chunks {
		b.WriteString(st.Write(c))
	}
	b.WriteString(st.Flush())
	return b.String()
}

// whole is the non-streamed answer path: redact, then restore. The
// placeholders and markers are the same whichever path.
func whole(s *Session, in string, reveal func(string) bool) string {
	return s.Restore(s.Text(in), reveal)
}

func TestStreamEqualsTextAtEverySplit(t *testing.T) {
	r := mustCompile(t, acmeValues(), DefaultDetectors())
	for _, reveal := range []func(string) bool{nil, func(f string) bool { return f == "customer.email" }} {
		for _, in := range streamInputs {
			s := r.NewSession()
			s.Text(email) // issue #1 as the request would
			want := whole(s, in, reveal)
			for k := 0; k <= len(in); k++ {
				if got := streamOnce(s, []string{in[:k], in[k:]}, reveal); got != want {
					t.Fatalf("split at %d of %q\n got %q\nwant %q", k, in, got, want)
				}
			}
			for k := 1; k <= 3; k++ { // byte by byte, in twos and threes
				if got := streamOnce(s, chunk(in, k), reveal); got != want {
					t.Fatalf("%d-byte deltas of %q\n got %q\nwant %q", k, in, got, want)
				}
			}
		}
	}
}

func TestStreamRandomDeltas(t *testing.T) {
	r := mustCompile(t, acmeValues(), DefaultDetectors())
	rng := rand.New(rand.NewPCG(1, 2))
	all := strings.Join(streamInputs, " ")
	s := r.NewSession()
	want := s.Text(all)
	for range 300 {
		var chunks []string
		for rest := all; rest != ""; {
			n := min(len(rest), 1+rng.IntN(24))
			chunks, rest = append(chunks, rest[:n]), rest[n:]
		}
		if got := streamOnce(s, chunks, nil); got != want {
			t.Fatalf("deltas %q\n got %q\nwant %q", chunks, got, want)
		}
	}
}

func chunk(s string, n int) []string {
	var out []string
	for len(s) > n {
		out, s = append(out, s[:n]), s[n:]
	}
	return append(out, s)
}

// TestStreamNeverLeaksValue checks each output as it is sent: a hidden
// value never appears, even across the pieces sent so far.
func TestStreamNeverLeaksValue(t *testing.T) {
	r := mustCompile(t, acmeValues(), DefaultDetectors())
	secrets := []string{"48250", "48,250", "415 555 0199", "555-0199", "dana@acme", "legal signs", "4111 1111"}
	for _, in := range streamInputs[:3] {
		for k := 1; k <= 7; k++ {
			st := r.NewSession().Stream(nil)
			var sent strings.Builder
			for _, c := range chunk(in, k) {
				sent.WriteString(st.Write(c))
				for _, sec := range secrets {
					if strings.Contains(strings.ToLower(sent.String()), sec) {
						t.Fatalf("%q sent after %d-byte deltas: %q", sec, k, sent.String())
					}
				}
			}
		}
	}
}

func TestStreamHoldBound(t *testing.T) {
	values := []Value{{Field: "account.enterpriseNotes", Text: notes, Visibility: catalog.Hide}}
	tests := []struct {
		name   string
		det    Detectors
		deltas []string
		held   []int // after each delta
	}{
		{"nothing to hold", Detectors{}, []string{"Hello, ", "how can I help?"}, []int{0, 0}},
		{"prefix of a value held", Detectors{}, []string{"Note: Renewal is ", "blocked until", " the end"}, []int{11, 24, 0}},
		{"whitespace run counts as a space", Detectors{}, []string{"Renewal \n\t is"}, []int{13}},
		{"trailing word held for detectors", DefaultDetectors(), []string{"Write to dana", "@acme.exa", "mple today"}, []int{4, 13, 5}},
		{"number held for card detector", Detectors{Card: true}, []string{"card 4111 1111", " 1111 1111 ok"}, []int{9, 0}},
		{"long token decided at the cap", Detectors{APIKey: true}, []string{"k " + strings.Repeat("aZ3x", 20)}, []int{0}},
		{"placeholder held", Detectors{}, []string{"to [masked:customer.em", "ail#1] ok"}, []int{19, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := mustCompile(t, values, tc.det).NewSession().Stream(nil)
			for i, d := range tc.deltas {
				st.Write(d)
				if got := st.Held(); got != tc.held[i] {
					t.Errorf("after %q held %d want %d", d, got, tc.held[i])
				}
			}
		})
	}
}

// TestStreamHoldNeverWholeValue: the hold never exceeds the longest value
// plus the detector bounds, however the text is cut.
func TestStreamHoldNeverWholeValue(t *testing.T) {
	r := mustCompile(t, acmeValues(), DefaultDetectors())
	bound := len(notes) + maxSpaceRun + maxLocal + 1 + maxDomain
	in := strings.Repeat(strings.Join(streamInputs, " "), 3)
	st := r.NewSession().Stream(nil)
	for _, c := range chunk(in, 7) {
		st.Write(c)
		if st.Held() > bound {
			t.Fatalf("held %d > %d", st.Held(), bound)
		}
	}
}

func TestStreamRestoresAcrossDeltas(t *testing.T) {
	r := mustCompile(t, acmeValues(), DefaultDetectors())
	s := r.NewSession()
	if got := s.Text("Reply to dana@acme.example"); got != "Reply to "+mEmail {
		t.Fatal(got)
	}
	answer := "Sure, I will email [masked:customer.email#1] and Dana@Acme.example; revenue [hidden:account.privateRevenue]."
	tests := []struct {
		name   string
		reveal func(string) bool
		want   string
	}{
		{"member may see email", func(f string) bool { return f == "customer.email" },
			"Sure, I will email dana@acme.example and dana@acme.example; revenue [hidden:account.privateRevenue]."},
		{"member may not", func(string) bool { return false },
			"Sure, I will email " + mEmail + " and " + mEmail + "; revenue [hidden:account.privateRevenue]."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k := 0; k <= len(answer); k++ {
				if got := streamOnce(s, []string{answer[:k], answer[k:]}, tc.reveal); got != tc.want {
					t.Fatalf("split %d: got %q", k, got)
				}
			}
		})
	}
}

func TestStreamWriteAfterFlushPanics(t *testing.T) {
	st := mustCompile(t, nil, Detectors{}).NewSession().Stream(nil)
	st.Flush()
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	st.Write("x")
}

// TestStreamHoldLongRuns feeds long runs that keep a matcher guessing; the
// hold must stay bounded and the output equal the whole-text one.
func TestStreamHoldLongRuns(t *testing.T) {
	r := mustCompile(t, acmeValues(), DefaultDetectors())
	const n = 4000
	tests := []struct{ name, in string }{
		{"digits", strings.Repeat("4", n)},
		{"digits after revenue", "48250" + strings.Repeat("0", n)},
		{"decimals", "48250." + strings.Repeat("1", n)},
		{"suffix letters", "48250 " + strings.Repeat("k", n)},
		{"grouped digits", strings.Repeat("4111 ", n/5)},
		{"letters", strings.Repeat("a", n)},
		{"key chars", strings.Repeat("aZ3-", n/4)},
		{"iban-like", "DE89" + strings.Repeat("3704", n/4)},
		{"spaces in a value", "Renewal" + strings.Repeat(" ", n) + "is blocked"},
		{"at signs", strings.Repeat("a@", n/2)},
		{"local part", strings.Repeat("a.", n/2) + "@acme.example"},
		{"domain", "dana@" + strings.Repeat("a.", n/2)},
		{"placeholder", "[masked:" + strings.Repeat("a", n) + "#1]"},
		{"phone groups", "+1 " + strings.Repeat("4 ", n/2)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := r.NewSession()
			st := s.Stream(nil)
			var got strings.Builder
			for _, c := range chunk(tc.in, 20) {
				got.WriteString(st.Write(c))
				if st.Held() > 200 {
					t.Fatalf("held %d", st.Held())
				}
			}
			got.WriteString(st.Flush())
			if want := s.Text(tc.in); got.String() != want {
				t.Fatalf("got %.200q\nwant %.200q", got.String(), want)
			}
		})
	}
}

// TestPairScanEqualsSingle compares the two-walk scan of long ASCII texts
// with the one-walk scan of a stream, for values that straddle the middle.
func TestPairScanEqualsSingle(t *testing.T) {
	values := append(acmeValues(), benchValues(300)...)
	r := mustCompile(t, values, DefaultDetectors())
	base := benchText(t, pairMin+1000, values)
	for _, v := range values[:40] {
		for _, shift := range []int{-len(v.Text) - 1, -len(v.Text) / 2, -1, 0, 1} {
			m := len(base) / 2
			in := base[:m+shift] + " " + v.Text + " " + base[m+shift:]
			in = in[:len(in)-len(v.Text)-2] // keep the middle where it was
			s := r.NewSession()
			if got, want := s.Text(in), streamOnce(s, chunk(in, 4096), nil); got != want {
				t.Fatalf("value %s shift %d: pair scan differs", v.Field, shift)
			}
		}
	}
}
