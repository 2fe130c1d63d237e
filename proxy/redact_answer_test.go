package proxy

import (
	"strings"
	"testing"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/redact"
	"github.com/crisphq/crisp/sse"
)

// TestStreamDuplicateKeys: a chunk that names a text twice has both copies
// redacted, since a caller's JSON parser may read either.
func TestStreamDuplicateKeys(t *testing.T) {
	red, err := redact.Compile([]redact.Value{{Field: "account.enterpriseNotes",
		Text: "Procurement asked for a three-year discount", Visibility: catalog.Hide}}, redact.DefaultDetectors())
	if err != nil {
		t.Fatal(err)
	}
	chunks := []string{
		`{"choices":[{"index":0,"delta":{"content":"ok. ","content":"Procurement asked for a three-year discount"}}]}`,
		`{"choices":[{"index":0,"delta":{"content":"ok. "},"delta":{"content":"Procurement asked for a three-year discount"}}]}`,
		`{"choices":[{"index":0,"delta":{"content":"ok. "}}],"choices":[{"index":0,"delta":{"content":"Procurement asked for a three-year discount"}}]}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"x ","arguments":"Procurement asked for a three-year discount"}}]}}]}`,
	}
	for _, c := range chunks {
		f := &redactFilter{r: &Request{Header: make(map[string][]string), redaction: red.NewSession()},
			reveal: func(string) bool { return false }, streams: map[string]*redact.Stream{}}
		var out strings.Builder
		emit := func(ev sse.Event) error { out.Write(ev.Data); out.WriteByte('\n'); return nil }
		if err := f.Event(sse.Event{Data: []byte(c)}, emit); err != nil {
			t.Fatal(err)
		}
		if err := f.Event(sse.Event{Data: []byte(`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`)}, emit); err != nil {
			t.Fatal(err)
		}
		if err := f.End(emit); err != nil {
			t.Fatal(err)
		}
		if s := strings.ToLower(out.String()); strings.Contains(s, "procurement") || strings.Contains(s, "three-year") {
			t.Fatalf("%s\nleaked:\n%s", c, out.String())
		}
	}
}
