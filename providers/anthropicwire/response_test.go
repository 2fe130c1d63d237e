package anthropicwire

import (
	"errors"
	"testing"
)

func TestFromChatGolden(t *testing.T) {
	goldenCases(t, "fromchat", ".json", func(t *testing.T, input []byte) []byte {
		got, err := FromChat(input, "claude-sonnet-4-5")
		if err != nil {
			t.Fatalf("FromChat: %v", err)
		}
		return indent(t, got)
	})
}

func TestFromChatErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not json", `{"id":`, "anthropicwire: bad upstream response: chat completion is not JSON: unexpected end of JSON input"},
		{"no choices", `{"id":"x","choices":[]}`, "anthropicwire: bad upstream response: chat completion has no choices"},
		{"only another choice", `{"choices":[{"index":1,"message":{"content":"x"}}]}`, "anthropicwire: bad upstream response: chat completion has no choices"},
		{"error object", `{"error":{"message":"model overloaded","type":"server_error"}}`, "anthropicwire: bad upstream response: upstream error: model overloaded"},
		{"error string", `{"error":"boom"}`, "anthropicwire: bad upstream response: upstream error: boom"},
		{"arguments not json", `{"choices":[{"message":{"tool_calls":[{"id":"c","function":{"name":"f","arguments":"{\"a\":"}}]}}]}`, "anthropicwire: bad upstream response: tool call 0: arguments are not a JSON object"},
		{"arguments an array", `{"choices":[{"message":{"tool_calls":[{"id":"c","function":{"name":"f","arguments":"[1]"}}]}}]}`, "anthropicwire: bad upstream response: tool call 0: arguments are not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := FromChat([]byte(tt.body), "m")
			if !errors.Is(err, ErrUpstream) {
				t.Fatalf("FromChat = %s, %v; want ErrUpstream", out, err)
			}
			if err.Error() != tt.want {
				t.Errorf("err = %q\nwant  %q", err, tt.want)
			}
		})
	}
}

func TestFromChatModelFallsBackToUpstream(t *testing.T) {
	out, err := FromChat([]byte(`{"id":"chatcmpl-1","model":"gpt-4o","choices":[{"message":{"content":"hi"},"finish_reason":"stop"}]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"msg_1","type":"message","role":"assistant","model":"gpt-4o","content":[{"type":"text","text":"hi"}],` +
		`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`
	if string(out) != want {
		t.Errorf("FromChat =\n%s\nwant\n%s", out, want)
	}
}

func TestStopReason(t *testing.T) {
	tests := []struct {
		name, finish     string
		toolCalls, refus bool
		want             string
	}{
		{"stop", "stop", false, false, "end_turn"},
		{"length", "length", false, false, "max_tokens"},
		{"tool_calls", "tool_calls", true, false, "tool_use"},
		{"legacy function_call", "function_call", false, false, "tool_use"},
		{"stop with tool calls", "stop", true, false, "tool_use"},
		{"content_filter", "content_filter", false, false, "refusal"},
		{"refusal text", "stop", false, true, "refusal"},
		{"length beats refusal", "length", false, true, "max_tokens"},
		{"missing", "", false, false, "end_turn"},
		{"unknown", "error", false, false, "end_turn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stopReason(tt.finish, tt.toolCalls, tt.refus); got != tt.want {
				t.Errorf("stopReason = %q, want %q", got, tt.want)
			}
		})
	}
}
