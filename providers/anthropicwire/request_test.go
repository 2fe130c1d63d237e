package anthropicwire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestToChatGolden(t *testing.T) {
	goldenCases(t, "tochat", ".json", func(t *testing.T, input []byte) []byte {
		got, err := ToChat(input)
		if err != nil {
			t.Fatalf("ToChat: %v", err)
		}
		return indent(t, got)
	})
}

func TestToChatErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"not json", `{"model":`, "request body is not valid JSON"},
		{"not an object", `["model"]`, "request body must be a JSON object"},
		{"no model", `{"max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`, "model: Field required"},
		{"empty model", `{"model":"","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`, "model: must not be empty"},
		{"model not a string", `{"model":4,"max_tokens":1,"messages":[]}`, "model: expected string, got number"},
		{"no messages", `{"model":"m","max_tokens":1}`, "messages: Field required"},
		{"empty messages", `{"model":"m","max_tokens":1,"messages":[]}`, "messages: at least one message is required"},
		{"no max_tokens", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "max_tokens: Field required"},
		{"zero max_tokens", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`, "max_tokens: must be at least 1"},
		{"fractional max_tokens", `{"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"hi"}]}`, "max_tokens: expected integer, got number 1.5"},
		{"stream not a bool", `{"model":"m","max_tokens":1,"stream":"yes","messages":[{"role":"user","content":"hi"}]}`, "stream: expected boolean, got string"},
		{"system role", `{"model":"m","max_tokens":1,"messages":[{"role":"system","content":"hi"}]}`, `messages.0.role: expected "user" or "assistant", got "system"`},
		{"content missing", `{"model":"m","max_tokens":1,"messages":[{"role":"user"}]}`, "messages.0.content: expected a string or an array of content blocks"},
		{"system not text", `{"model":"m","max_tokens":1,"system":[{"type":"image"}],"messages":[{"role":"user","content":"hi"}]}`, `system.0.type: expected "text", got "image"`},
		{"system a number", `{"model":"m","max_tokens":1,"system":3,"messages":[{"role":"user","content":"hi"}]}`, "system: expected a string or an array of text blocks"},
		{"unknown user block", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"search_result"}]}]}`, `messages.0.content.0.type: block type "search_result" is not supported in user messages`},
		{"tool_use in user turn", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_use","id":"t","name":"n","input":{}}]}]}`, `messages.0.content.0.type: block type "tool_use" is not supported in user messages`},
		{"image in assistant turn", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"image"}]}]}`, `messages.0.content.0.type: block type "image" is not supported in assistant messages`},
		{"pdf document", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBER"}}]}]}`, "messages.0.content.0: only documents with a text source are supported"},
		{"image file source", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}`, `messages.0.content.0.source.type: image source "file" is not supported`},
		{"image without source", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image"}]}]}`, "messages.0.content.0.source: Field required"},
		{"base64 without data", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png"}}]}]}`, "messages.0.content.0.source: base64 images need media_type and data"},
		{"url without url", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"url"}}]}]}`, "messages.0.content.0.source.url: Field required"},
		{"tool_result without id", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`, "messages.0.content.0.tool_use_id: Field required"},
		{"tool_result with a document", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"document"}]}]}]}`, `messages.0.content.0.content.0.type: block type "document" is not supported in tool results`},
		{"tool_use without id", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","name":"n","input":{}}]}]}`, "messages.0.content.0.id: Field required"},
		{"tool_use without name", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","input":{}}]}]}`, "messages.0.content.0.name: Field required"},
		{"tool_use input not an object", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"n","input":[1]}]}]}`, "messages.0.content.0.input: expected an object"},
		{"server tool", `{"model":"m","max_tokens":1,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"hi"}]}`, `tools.0.type: tool type "web_search_20250305" is not supported by this provider`},
		{"tool without name", `{"model":"m","max_tokens":1,"tools":[{"input_schema":{}}],"messages":[{"role":"user","content":"hi"}]}`, "tools.0.name: Field required"},
		{"tool without schema", `{"model":"m","max_tokens":1,"tools":[{"name":"n"}],"messages":[{"role":"user","content":"hi"}]}`, "tools.0.input_schema: Field required"},
		{"tool_choice tool without name", `{"model":"m","max_tokens":1,"tools":[{"name":"n","input_schema":{}}],"tool_choice":{"type":"tool"},"messages":[{"role":"user","content":"hi"}]}`, "tool_choice.name: Field required"},
		{"tool_choice unknown", `{"model":"m","max_tokens":1,"tools":[{"name":"n","input_schema":{}}],"tool_choice":{"type":"some"},"messages":[{"role":"user","content":"hi"}]}`, `tool_choice.type: expected auto, any, tool or none, got "some"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ToChat([]byte(tt.body))
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("ToChat = %s, %v; want a *RequestError", out, err)
			}
			if re.Message != tt.want {
				t.Errorf("message = %q\nwant      %q", re.Message, tt.want)
			}
		})
	}
}

func TestToChatToolChoice(t *testing.T) {
	tests := []struct {
		name, choice, wantChoice, wantParallel string
	}{
		{"auto", `{"type":"auto"}`, `"auto"`, ``},
		{"any", `{"type":"any"}`, `"required"`, ``},
		{"none", `{"type":"none","disable_parallel_tool_use":true}`, `"none"`, ``},
		{"tool", `{"type":"tool","name":"n"}`, `{"type":"function","function":{"name":"n"}}`, ``},
		{"auto, one at a time", `{"type":"auto","disable_parallel_tool_use":true}`, `"auto"`, `false`},
		{"absent", `null`, ``, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"model":"m","max_tokens":1,"tools":[{"name":"n","input_schema":{"type":"object"}}],"tool_choice":` +
				tt.choice + `,"messages":[{"role":"user","content":"hi"}]}`
			out, err := ToChat([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				ToolChoice        json.RawMessage `json:"tool_choice"`
				ParallelToolCalls json.RawMessage `json:"parallel_tool_calls"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if string(got.ToolChoice) != tt.wantChoice || string(got.ParallelToolCalls) != tt.wantParallel {
				t.Errorf("tool_choice=%s parallel_tool_calls=%s; want %s and %s", got.ToolChoice, got.ParallelToolCalls, tt.wantChoice, tt.wantParallel)
			}
		})
	}
}

func TestModelAndStreaming(t *testing.T) {
	tests := []struct {
		name, body, model string
		stream            bool
	}{
		{"both", `{"model":"claude-sonnet-4-5","stream":true,"messages":[]}`, "claude-sonnet-4-5", true},
		{"no stream", `{"model":"claude-sonnet-4-5","stream":false}`, "claude-sonnet-4-5", false},
		{"stream absent", `{"model":"m"}`, "m", false},
		{"not json", `{"model":"m"`, "", false},
		{"wrong types", `{"model":3,"stream":"true"}`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Model([]byte(tt.body)); got != tt.model {
				t.Errorf("Model = %q, want %q", got, tt.model)
			}
			if got := Streaming([]byte(tt.body)); got != tt.stream {
				t.Errorf("Streaming = %v, want %v", got, tt.stream)
			}
		})
	}
}

// TestToolRoundTrip sends a tool call from a chat completion to a Claude
// client and back: the client's next request must carry the same call and
// answer it under the same id.
func TestToolRoundTrip(t *testing.T) {
	completion := `{"id":"chatcmpl-1","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Looking.",
		"tool_calls":[{"id":"call_9","type":"function","function":{"name":"get_account","arguments":"{\"account_id\": \"acc_acme\"}"}}]},
		"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":7}}`
	msg, err := FromChat([]byte(completion), "claude-sonnet-4-5")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Content    json.RawMessage `json:"content"`
		StopReason string          `json:"stop_reason"`
	}
	if err := json.Unmarshal(msg, &m); err != nil {
		t.Fatal(err)
	}
	if m.StopReason != "tool_use" {
		t.Fatalf("stop_reason = %q", m.StopReason)
	}
	next := `{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[
		{"role":"user","content":"plan?"},
		{"role":"assistant","content":` + string(m.Content) + `},
		{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_9","content":"Growth trial"}]}]}`
	chat, err := ToChat([]byte(next))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"plan?"},` +
		`{"role":"assistant","content":"Looking.","tool_calls":[{"id":"call_9","type":"function","function":{"name":"get_account","arguments":"{\"account_id\":\"acc_acme\"}"}}]},` +
		`{"role":"tool","content":"Growth trial","tool_call_id":"call_9"}],"max_tokens":100}`
	if string(chat) != want {
		t.Errorf("ToChat =\n%s\nwant\n%s", chat, want)
	}
}

func TestRequestErrorText(t *testing.T) {
	_, err := ToChat([]byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "model: Field required") {
		t.Fatalf("err = %v", err)
	}
}
