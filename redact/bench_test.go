package redact

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/crisphq/crisp/catalog"
)

// benchValues makes n values shaped like a workspace's: emails, names,
// numbers, phone numbers and free-text notes, hidden and masked.
func benchValues(n int) []Value {
	first := []string{"Dana", "Maya", "Sam", "Riley", "Ada", "Noah", "Liam", "Emma", "Olivia", "Ava", "Mia", "Lucas", "Ethan", "Zoe", "Ivy", "Leo", "Nora", "Hugo", "Iris", "Omar"}
	last := []string{"Berg", "Lopez", "Okafor", "Nguyen", "Schmidt", "Rossi", "Kowalski", "Haddad", "Tanaka", "Silva", "Moreau", "Jensen", "Novak", "Costa", "Ivanova", "Brennan", "Mehta", "Larsen", "Quinn", "Adler"}
	rng := rand.New(rand.NewPCG(7, 7))
	out := make([]Value, 0, n)
	for i := range n {
		f, l := first[rng.IntN(len(first))], last[rng.IntN(len(last))]
		v := Value{Field: fmt.Sprintf("customer.f%d", i%40), Visibility: catalog.Hide}
		switch i % 10 {
		case 0, 1, 2, 3:
			v.Field, v.Visibility = "customer.email", catalog.Mask
			v.Text = fmt.Sprintf("%s.%s%d@company%d.example", strings.ToLower(f), strings.ToLower(l), i, i%97)
		case 4, 5:
			v.Field, v.Text = "customer.name", fmt.Sprintf("%s %s %s", f, string(rune('A'+i%26)), l)
		case 6, 7:
			v.Field, v.Text = "account.privateRevenue", fmt.Sprint(10000+rng.IntN(990000))
		case 8:
			v.Field, v.Text = "customer.phone", fmt.Sprintf("+1 %03d 555 %04d", 200+rng.IntN(700), rng.IntN(10000))
		default:
			v.Field, v.Text = "account.enterpriseNotes", fmt.Sprintf("Escalation %d: renewal waits on %s from legal", i, l)
		}
		out = append(out, v)
	}
	return out
}

// benchText is ordinary support text of about size bytes with a value
// every kilobyte or so.
func benchText(tb testing.TB, size int, values []Value) string {
	msgs := supportMessages(tb)
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		b.WriteString(msgs[i%len(msgs)])
		b.WriteByte(' ')
		if i%12 == 11 {
			b.WriteString(values[i%len(values)].Text)
			b.WriteString(". ")
		}
	}
	return b.String()[:size]
}

func BenchmarkText(b *testing.B) {
	for _, nv := range []int{50, 5000} {
		values := benchValues(nv)
		r := mustCompile(b, values, DefaultDetectors())
		for _, size := range []int{1 << 10, 16 << 10, 256 << 10} {
			text := benchText(b, size, values)
			b.Run(fmt.Sprintf("values=%d/%dKB", nv, size>>10), func(b *testing.B) {
				b.SetBytes(int64(len(text)))
				b.ReportAllocs()
				for b.Loop() {
					r.NewSession().Text(text)
				}
			})
		}
	}
}

func BenchmarkTextNoDetectors(b *testing.B) {
	values := benchValues(5000)
	r := mustCompile(b, values, Detectors{})
	text := benchText(b, 256<<10, values)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		r.NewSession().Text(text)
	}
}

func BenchmarkCompile(b *testing.B) {
	for _, nv := range []int{20, 5000} {
		values := benchValues(nv)
		b.Run(fmt.Sprintf("values=%d", nv), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(values, DefaultDetectors()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStreamDelta is the cost of one ~20-byte delta of an answer.
func BenchmarkStreamDelta(b *testing.B) {
	for _, nv := range []int{50, 5000} {
		values := benchValues(nv)
		r := mustCompile(b, values, DefaultDetectors())
		deltas := chunk(benchText(b, 64<<10, values), 20)
		b.Run(fmt.Sprintf("values=%d", nv), func(b *testing.B) {
			b.SetBytes(20)
			b.ReportAllocs()
			st := r.NewSession().Stream(nil)
			i := 0
			for b.Loop() {
				st.Write(deltas[i])
				if i++; i == len(deltas) {
					st.Flush()
					st, i = r.NewSession().Stream(nil), 0
				}
			}
		})
	}
}

func BenchmarkJSON(b *testing.B) {
	values := benchValues(50)
	r := mustCompile(b, values, DefaultDetectors())
	type msg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	var msgs []msg
	for i, m := range strings.SplitAfter(benchText(b, 16<<10, values), ". ") {
		msgs = append(msgs, msg{Role: []string{"user", "assistant"}[i%2], Content: m})
	}
	body, err := json.Marshal(map[string]any{"model": "gpt-4o-mini", "messages": msgs, "stream": true})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.NewSession().JSON(body, "model"); err != nil {
			b.Fatal(err)
		}
	}
}
