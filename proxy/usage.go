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
	// Most events carry no usage: a byte search is cheaper than a parse.
	if bytes.Contains(ev.Data, usageKey) {
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
