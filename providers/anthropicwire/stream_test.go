package anthropicwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/crisphq/crisp/sse"
)

// translate runs a recorded chunk stream through a Stream the way the proxy
// does: each event's data in, StreamError on an error, End at EOF.
func translate(t testing.TB, input []byte) []Event {
	t.Helper()
	s := NewStream("claude-sonnet-4-5")
	r := sse.NewReader(bytes.NewReader(input), 1<<20)
	var out []Event
	for {
		ev, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		evs, err := s.Event(ev.Data)
		out = append(out, evs...)
		if err != nil {
			if !errors.Is(err, ErrUpstream) {
				t.Fatalf("error %v does not wrap ErrUpstream", err)
			}
			out = append(out, StreamError(err.Error()))
		}
	}
	return append(out, s.End()...)
}

func TestStreamGolden(t *testing.T) {
	goldenCases(t, "stream", ".sse", func(t *testing.T, input []byte) []byte {
		events := translate(t, input)
		if err := checkGrammar(events); err != nil {
			t.Fatal(err)
		}
		var wire []byte
		for _, e := range events {
			ev := sse.Named(e.Name, e.Data)
			wire = ev.AppendTo(wire)
		}
		if msg, ok := accumulate(events); ok {
			// The message an SDK builds from the events, for review.
			wire = append(wire, "# accumulated: "...)
			wire = append(wire, msg...)
			wire = append(wire, '\n')
		}
		return wire
	})
}

// checkGrammar holds events to the order in Anthropic's streaming guide and
// what the SDKs' accumulators assume: message_start first; blocks indexed
// 0, 1, 2 in start order, one open at a time; deltas typed for their block;
// message_delta then message_stop last, or an error event last.
func checkGrammar(events []Event) error {
	if len(events) == 0 {
		return errors.New("no events")
	}
	open, next, kinds := -1, 0, map[int]string{}
	for i, e := range events {
		var head struct {
			Type  string `json:"type"`
			Index *int   `json:"index"`
			Delta struct {
				Type string `json:"type"`
			} `json:"delta"`
			ContentBlock struct {
				Type string `json:"type"`
			} `json:"content_block"`
		}
		if err := json.Unmarshal(e.Data, &head); err != nil {
			return fmt.Errorf("event %d (%s): data is not JSON: %v", i, e.Name, err)
		}
		if head.Type != e.Name {
			return fmt.Errorf("event %d: name %q but type %q", i, e.Name, head.Type)
		}
		last := i == len(events)-1
		if (i == 0) != (e.Name == "message_start") && e.Name != "error" {
			return fmt.Errorf("event %d: %s; message_start must come first, once", i, e.Name)
		}
		switch e.Name {
		case "content_block_start":
			if open >= 0 || head.Index == nil || *head.Index != next {
				return fmt.Errorf("event %d: block start at %v while %d open, want index %d", i, head.Index, open, next)
			}
			open, kinds[next] = next, head.ContentBlock.Type
			next++
		case "content_block_delta":
			if head.Index == nil || *head.Index >= next {
				return fmt.Errorf("event %d: delta for unstarted block %v", i, head.Index)
			}
			want := map[string]string{"text": "text_delta", "tool_use": "input_json_delta"}[kinds[*head.Index]]
			if head.Delta.Type != want {
				return fmt.Errorf("event %d: %s for a %s block", i, head.Delta.Type, kinds[*head.Index])
			}
		case "content_block_stop":
			if head.Index == nil || *head.Index != open {
				return fmt.Errorf("event %d: stop %v while %d open", i, head.Index, open)
			}
			open = -1
		case "message_delta":
			if open >= 0 || i != len(events)-2 || events[i+1].Name != "message_stop" {
				return fmt.Errorf("event %d: message_delta must close the stream before message_stop", i)
			}
		case "message_stop", "error":
			if !last {
				return fmt.Errorf("event %d: %s before the end", i, e.Name)
			}
		}
	}
	return nil
}

// accumulate builds the final Message the way the SDKs do (MessageStream's
// accumulator); ok is false for a stream that ended in an error.
func accumulate(events []Event) ([]byte, bool) {
	var msg map[string]any
	content := []map[string]any{}
	partial := map[int]string{}
	for _, e := range events {
		var ev map[string]any
		if json.Unmarshal(e.Data, &ev) != nil {
			return nil, false
		}
		switch e.Name {
		case "message_start":
			msg = ev["message"].(map[string]any)
		case "content_block_start":
			content = append(content, ev["content_block"].(map[string]any))
		case "content_block_delta":
			i := int(ev["index"].(float64))
			d := ev["delta"].(map[string]any)
			if d["type"] == "text_delta" {
				content[i]["text"] = content[i]["text"].(string) + d["text"].(string)
			} else {
				partial[i] += d["partial_json"].(string)
			}
		case "message_delta":
			d := ev["delta"].(map[string]any)
			msg["stop_reason"], msg["stop_sequence"], msg["usage"] = d["stop_reason"], d["stop_sequence"], ev["usage"]
		case "error":
			return nil, false
		}
	}
	for i, js := range partial {
		var input map[string]any
		if err := json.Unmarshal([]byte(js), &input); err != nil {
			return []byte(fmt.Sprintf("tool input %d is not a JSON object: %q", i, js)), true
		}
		content[i]["input"] = input
	}
	if msg == nil {
		return nil, false
	}
	msg["content"] = content
	b, _ := marshal(msg)
	return b, true
}

// TestStreamMatchesFromChat checks that a streamed answer accumulates to the
// same Message FromChat makes from the equivalent whole completion.
func TestStreamMatchesFromChat(t *testing.T) {
	const head = `{"id":"chatcmpl-7","model":"gpt-4o","choices":[{"index":0,`
	chunks := []string{
		head + `"delta":{"role":"assistant","content":"Let me check."}}]}`,
		head + `"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_account","arguments":"{\"account_id\":"}}]}}]}`,
		head + `"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"acc_acme\"}"}}]}}]}`,
		head + `"delta":{},"finish_reason":"tool_calls"}]}`,
		`{"id":"chatcmpl-7","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":12,"prompt_tokens_details":{"cached_tokens":10}}}`,
		`[DONE]`,
	}
	whole := head + `"message":{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function",` +
		`"function":{"name":"get_account","arguments":"{\"account_id\":\"acc_acme\"}"}}]},"finish_reason":"tool_calls"}],` +
		`"usage":{"prompt_tokens":50,"completion_tokens":12,"prompt_tokens_details":{"cached_tokens":10}}}`
	s := NewStream("claude-sonnet-4-5")
	var events []Event
	for _, c := range chunks {
		evs, err := s.Event([]byte(c))
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, evs...)
	}
	got, ok := accumulate(events)
	if !ok {
		t.Fatal("stream did not complete")
	}
	want, err := FromChat([]byte(whole), "claude-sonnet-4-5")
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	_ = json.Unmarshal(got, &g)
	_ = json.Unmarshal(want, &w)
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("accumulated stream\n%s\nFromChat\n%s", gb, wb)
	}
}

func TestStreamLifecycle(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   []string // event names from all Event calls, then End
	}{
		{"nothing at all", nil, []string{"error"}},
		{"empty data ignored", []string{"", "  "}, []string{"error"}},
		{"done twice", []string{"[DONE]", "[DONE]"}, []string{"message_start", "message_delta", "message_stop"}},
		{"data after done ignored", []string{"[DONE]", `{"choices":[{"delta":{"content":"late"}}]}`}, []string{"message_start", "message_delta", "message_stop"}},
		{"bad chunk ends the stream", []string{`{"choices":[`, `{"choices":[{"delta":{"content":"x"}}]}`}, nil},
		{"finish then end", []string{`{"choices":[{"delta":{"content":"x"},"finish_reason":"stop"}]}`}, []string{
			"message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStream("m")
			var names []string
			for _, c := range tt.chunks {
				evs, _ := s.Event([]byte(c))
				for _, e := range evs {
					names = append(names, e.Name)
				}
			}
			for _, e := range s.End() {
				names = append(names, e.Name)
			}
			if strings.Join(names, " ") != strings.Join(tt.want, " ") {
				t.Errorf("events = %v\nwant     %v", names, tt.want)
			}
			if !s.Done() {
				t.Error("Done() = false after End")
			}
			if evs := s.End(); evs != nil {
				t.Errorf("second End = %v", evs)
			}
		})
	}
}

func TestStreamFixedID(t *testing.T) {
	s := NewStream("claude-haiku-4-5")
	s.ID = "msg_audit_42"
	evs, err := s.Event([]byte(`{"id":"chatcmpl-9","choices":[{"delta":{"content":"hi"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(evs[0].Data, []byte(`"id":"msg_audit_42"`)) || !bytes.Contains(evs[0].Data, []byte(`"model":"claude-haiku-4-5"`)) {
		t.Errorf("message_start = %s", evs[0].Data)
	}
}
