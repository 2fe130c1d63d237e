package proxy

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

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

// TestAnswerDuplicateKeys: a complete answer, or a Responses event, that
// names a text twice, or spells its key with escapes, has every copy
// redacted.
func TestAnswerDuplicateKeys(t *testing.T) {
	red, err := redact.Compile([]redact.Value{{Field: "account.enterpriseNotes",
		Text: "Procurement asked for a three-year discount", Visibility: catalog.Hide}}, redact.DefaultDetectors())
	if err != nil {
		t.Fatal(err)
	}
	const secret = "Procurement asked for a three-year discount"
	newFilter := func() *redactFilter {
		return &redactFilter{r: &Request{Header: make(map[string][]string), redaction: red.NewSession()},
			reveal: func(string) bool { return false }, streams: map[string]*redact.Stream{}}
	}
	leaked := func(b []byte) bool {
		s := strings.ToLower(string(b))
		return strings.Contains(s, "procurement") || strings.Contains(s, "three-year")
	}
	bodies := []string{
		`{"choices":[{"index":0,"message":{"role":"assistant","content":"ok","content":"` + secret + `"}}]}`,
		`{"choices":[{"index":0,"message":{"content":"ok"},"message":{"content":"` + secret + `"}}]}`,
		`{"choices":[],"choices":[{"index":0,"message":{"content":"` + secret + `"}}]}`,
		`{"output":[{"type":"message","content":[{"type":"output_text","text":"ok","text":"` + secret + `"}]}]}`,
	}
	for _, b := range bodies {
		out, err := newFilter().Body([]byte(b))
		if err != nil || leaked(out) {
			t.Fatalf("%s\n-> %s (%v)", b, out, err)
		}
	}
	events := []sse.Event{
		sse.Named("response.output_text.delta", []byte(`{"item_id":"i","content_index":0,"delta":"ok. ","delta":"`+secret+`"}`)),
		sse.Named("response.output_text.done", []byte(`{"item_id":"i","content_index":0,"text":"ok","text":"`+secret+`"}`)),
		sse.Named("response.output_item.done", []byte(`{"item":{"type":"message","content":[{"type":"output_text","text":"`+secret+`"}]}}`)),
		sse.Named("response.output_item.done", []byte(`{"item":{"type":"function_call","arguments":"ok","arguments":"`+secret+`"}}`)),
		sse.Named("response.content_part.done", []byte(`{"part":{"type":"output_text","text":"`+secret+`"}}`)),
		sse.Named("response.completed", []byte(`{"response":{"output":[{"content":[{"text":"`+secret+`"}]}]},"response":{"output":[]}}`)),
		{Data: []byte(`{"choices":[{"index":0,"delta":{"cont\u0065nt":"` + secret + `"}}]}`)},
	}
	for _, ev := range events {
		f := newFilter()
		var out strings.Builder
		emit := func(ev sse.Event) error { out.Write(ev.Data); out.WriteByte('\n'); return nil }
		if err := f.Event(ev, emit); err != nil {
			t.Fatal(err)
		}
		if err := f.End(emit); err != nil {
			t.Fatal(err)
		}
		if leaked([]byte(out.String())) {
			t.Fatalf("%s %s\nleaked:\n%s", ev.Name, ev.Data, out.String())
		}
	}
}

// TestReleasedChunk: the chunk that carries held text is a chat chunk any
// client reads, for content and for a tool call's arguments.
func TestReleasedChunk(t *testing.T) {
	tmpl := []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":2,"delta":{},"finish_reason":"stop"}]}`)
	for _, tc := range []struct{ key, path string }{
		{"c2", "choices.0.delta.content"},
		{"t2:3", "choices.0.delta.tool_calls.0.function.arguments"},
	} {
		out := releasedChunk(tmpl, "2", tc.key, "held \"text\" <b>\n")
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		got := gjson.GetManyBytes(out, "id", "object", "created", "model", "choices.0.index", "choices.0.finish_reason", tc.path)
		if got[0].Str != "chatcmpl-1" || got[1].Str != "chat.completion.chunk" || got[2].Int() != 1700000000 ||
			got[3].Str != "gpt-4o-mini" || got[4].Int() != 2 || got[5].Type != gjson.Null || got[6].Str != "held \"text\" <b>\n" {
			t.Fatalf("%s", out)
		}
		if tc.key[0] == 't' && gjson.GetBytes(out, "choices.0.delta.tool_calls.0.index").Int() != 3 {
			t.Fatalf("tool call index: %s", out)
		}
	}
}
