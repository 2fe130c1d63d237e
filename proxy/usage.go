package proxy

import (
	"bytes"

	"github.com/tidwall/gjson"

	"github.com/crisphq/crisp/sse"
)

// usageStage reads the token usage a provider reports, from a complete
// answer or from the stream's usage chunk (chat with include_usage, or
// Responses' response.completed). It only observes.
type usageStage struct{}

func (usageStage) Name() string { return "usage" }

func (usageStage) Response(r *Request) (ResponseFilter, error) { return &usageFilter{r: r}, nil }

type usageFilter struct{ r *Request }

func (f *usageFilter) Body(b []byte) ([]byte, error) {
	f.read(gjson.GetBytes(b, "usage"))
	return b, nil
}

var usageKey = []byte(`"usage"`)

func (f *usageFilter) Event(ev sse.Event, emit func(sse.Event) error) error {
	// Most events carry no usage, or (chat with include_usage) "usage":null
	// in every chunk but the last: a byte search is cheaper than a parse.
	if i := bytes.Index(ev.Data, usageKey); i >= 0 && !nullUsage(ev.Data, i) {
		u := gjson.GetBytes(ev.Data, "usage")
		if !u.Exists() {
			u = gjson.GetBytes(ev.Data, "response.usage")
		}
		f.read(u)
	}
	return emit(ev)
}

func (f *usageFilter) End(func(sse.Event) error) error { return nil }

func (f *usageFilter) read(u gjson.Result) {
	if !u.IsObject() {
		return
	}
	in := u.Get("prompt_tokens")
	if !in.Exists() {
		in = u.Get("input_tokens")
	}
	out := u.Get("completion_tokens")
	if !out.Exists() {
		out = u.Get("output_tokens")
	}
	f.r.Usage = Usage{Input: in.Int(), Output: out.Int()}
}

// nullUsage reports that the only "usage" in data, at i, is a member whose
// value is null: nothing to read. Anything else (a usage object, the word
// inside a text, a second occurrence) is left to the parser.
func nullUsage(data []byte, i int) bool {
	rest := bytes.TrimLeft(data[i+len(usageKey):], " \t\r\n")
	if len(rest) == 0 || rest[0] != ':' {
		return false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	return bytes.HasPrefix(rest, []byte("null")) && !bytes.Contains(data[i+1:], usageKey)
}
