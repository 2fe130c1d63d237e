package redact

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// cutAt splits s at the offsets given by cuts (each byte a step of 1–32).
func cutAt(s string, cuts []byte) []string {
	var out []string
	for i := 0; s != ""; i++ {
		n := len(s)
		if len(cuts) > 0 {
			n = min(len(s), 1+int(cuts[i%len(cuts)]%32))
		}
		out, s = append(out, s[:n]), s[n:]
	}
	return out
}

// plainOnly keeps letters, spaces and . , ! ? — an alphabet in which none
// of the example values and no detector can match.
func plainOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune(" .,!?\n", r) {
			return r
		}
		return -1
	}, s)
}

// FuzzStream checks the streaming redactor against the whole-text one:
// the same output whatever the deltas, a plain text unchanged, and no
// hidden value left in what is sent.
func FuzzStream(f *testing.F) {
	for _, in := range streamInputs {
		f.Add(in, []byte{3, 7, 1, 19})
	}
	// All of them in one text: whole texts are scanned 64 bytes a block.
	f.Add(strings.Join(streamInputs, " "), []byte{5, 11, 2})
	r := mustCompile(f, acmeValues(), DefaultDetectors())
	valuesOnly := mustCompile(f, acmeValues(), Detectors{})
	reveal := func(field string) bool { return field == "customer.email" }
	scalar := withoutSIMD(r)
	f.Fuzz(func(t *testing.T, in string, cuts []byte) {
		s := r.NewSession()
		want := s.Text(in)
		if got := scalar.NewSession().Text(in); got != want {
			t.Fatalf("SWAR masks %q\n got %q\nwant %q", in, got, want)
		}
		if got := streamOnce(s, cutAt(in, cuts), nil); got != want {
			t.Fatalf("stream %q\n got %q\nwant %q", cutAt(in, cuts), got, want)
		}
		if got, want := streamOnce(s, cutAt(in, cuts), reveal), s.Answer(in, reveal); got != want {
			t.Fatalf("stream with reveal\n got %q\nwant %q", got, want)
		}
		plain := plainOnly(in)
		if got := streamOnce(s, cutAt(plain, cuts), nil); got != plain {
			t.Fatalf("plain text changed\n got %q\nwant %q", got, plain)
		}
		check := valuesOnly.NewSession()
		check.Text(want)
		for field, n := range check.Manifest() {
			if field != "customer.email" {
				t.Fatalf("%d of %s left in %q (from %q)", n, field, want, in)
			}
		}
	})
}

// FuzzJSON checks the body walker: valid JSON in, valid JSON out, no
// hidden value left in any decoded string; invalid JSON is an error or
// comes back untouched.
func FuzzJSON(f *testing.F) {
	f.Add(`{"model":"x","messages":[{"role":"user","content":"ARR 48,250 for d\u0061na@acme.example"}]}`)
	f.Add(`{"input":["Renewal is blocked until legal signs the new DPA;\n champion is the CFO.",48250,true,null]}`)
	f.Add(`[{"a":{"b":[1,2.5e3,-0.1,"+1 415 555 0199"]}}]`)
	f.Add(`{"n":2` + strings.Repeat("0", 400) + `}`)
	r := mustCompile(f, acmeValues(), DefaultDetectors())
	valuesOnly := mustCompile(f, acmeValues(), Detectors{})
	f.Fuzz(func(t *testing.T, in string) {
		out, err := r.NewSession().JSON([]byte(in), "model")
		if !json.Valid([]byte(in)) {
			return // the walker may accept some of what encoding/json rejects, never the reverse
		}
		if err != nil {
			t.Fatalf("valid JSON %q: %v", in, err)
		}
		if !json.Valid(out) {
			t.Fatalf("output not valid JSON: %q", out)
		}
		// UseNumber: a valid number too large for a float64 is still JSON.
		var v any
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		var strs []string
		var walk func(any, bool)
		walk = func(x any, top bool) {
			switch x := x.(type) {
			case string:
				strs = append(strs, x)
			case []any:
				for _, e := range x {
					walk(e, false)
				}
			case map[string]any:
				for k, e := range x {
					if !(top && k == "model") {
						walk(e, false)
					}
				}
			}
		}
		walk(v, true)
		check := valuesOnly.NewSession()
		for _, s := range strs {
			check.Text(s)
		}
		for field := range check.Manifest() {
			if field != "customer.email" {
				t.Fatalf("%s left in %q", field, out)
			}
		}
	})
}
