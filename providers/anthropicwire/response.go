package anthropicwire

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// chatResponse reads both a chat completion and a chunk of one.
type chatResponse struct {
	ID      string          `json:"id"`
	Model   string          `json:"model"`
	Choices []chatChoice    `json:"choices"`
	Usage   *chatUsage      `json:"usage"`
	Error   json.RawMessage `json:"error"`
}

type chatChoice struct {
	Index        int            `json:"index"`
	Message      chatOutMessage `json:"message"`
	Delta        chatOutMessage `json:"delta"`
	FinishReason string         `json:"finish_reason"`
}

type chatOutMessage struct {
	Content   json.RawMessage   `json:"content"`
	Refusal   string            `json:"refusal"`
	ToolCalls []chatOutToolCall `json:"tool_calls"`
}

type chatOutToolCall struct {
	Index    int    `json:"index"`
	ID       string `json:"id"`
	Function struct {
		Name string `json:"name"`
		// Arguments is a JSON string; a few servers send the object itself.
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

type chatUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

// message is an Anthropic Message.
type message struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"`
	Role         string  `json:"role"`
	Model        string  `json:"model"`
	Content      []any   `json:"content"`
	StopReason   *string `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
	Usage        usage   `json:"usage"`
}

type textBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type toolUseBlock struct {
	Type  string          `json:"type"`
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

type usage struct {
	InputTokens              int64 `json:"input_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
}

// FromChat translates an OpenAI chat completion into an Anthropic Message
// for requestedModel (the upstream's model name when requestedModel is "").
// A response it cannot translate returns an error wrapping ErrUpstream.
func FromChat(chatResp []byte, requestedModel string) ([]byte, error) {
	var r chatResponse
	if err := json.Unmarshal(chatResp, &r); err != nil {
		return nil, fmt.Errorf("%w: chat completion is not JSON: %v", ErrUpstream, err)
	}
	if !isNull(r.Error) {
		return nil, fmt.Errorf("%w: %s", ErrUpstream, upstreamMessage(r.Error))
	}
	var choice *chatChoice
	for i := range r.Choices {
		if r.Choices[i].Index == 0 {
			choice = &r.Choices[i]
			break
		}
	}
	if choice == nil {
		return nil, fmt.Errorf("%w: chat completion has no choices", ErrUpstream)
	}
	id := messageID(r.ID, chatResp)
	m := message{
		ID: id, Type: "message", Role: "assistant", Model: modelName(requestedModel, r.Model),
		Content: []any{}, Usage: toUsage(r.Usage),
	}
	text := contentText(choice.Message.Content)
	if choice.Message.Refusal != "" {
		text += choice.Message.Refusal
	}
	if text != "" {
		m.Content = append(m.Content, textBlock{Type: "text", Text: text})
	}
	for i, tc := range choice.Message.ToolCalls {
		input, err := toolInput(argumentsText(tc.Function.Arguments))
		if err != nil {
			return nil, fmt.Errorf("%w: tool call %d: %v", ErrUpstream, i, err)
		}
		m.Content = append(m.Content, toolUseBlock{
			Type: "tool_use", ID: toolUseID(tc.ID, id, i), Name: tc.Function.Name, Input: input,
		})
	}
	stop := stopReason(choice.FinishReason, len(choice.Message.ToolCalls) > 0, choice.Message.Refusal != "")
	m.StopReason = &stop
	b, err := marshal(m)
	if err != nil {
		return nil, fmt.Errorf("anthropicwire: encode message: %w", err)
	}
	return b, nil
}

// stopReason maps a finish_reason to Anthropic's stop_reason.
func stopReason(finish string, toolCalls, refused bool) string {
	switch {
	case finish == "length":
		return "max_tokens"
	case finish == "content_filter" || refused:
		return "refusal"
	case finish == "tool_calls" || finish == "function_call" || toolCalls:
		return "tool_use"
	}
	return "end_turn"
}

func toUsage(u *chatUsage) usage {
	if u == nil {
		return usage{}
	}
	var cached int64
	if u.PromptTokensDetails != nil {
		cached = min(max(u.PromptTokensDetails.CachedTokens, 0), u.PromptTokens)
	}
	// Anthropic's input_tokens excludes cache reads; OpenAI's prompt_tokens
	// includes them.
	return usage{InputTokens: u.PromptTokens - cached, CacheReadInputTokens: cached, OutputTokens: u.CompletionTokens}
}

// messageID is "msg_" and the upstream id without its "chatcmpl-" prefix.
// Without one it is made from a hash of the upstream bytes: unique enough
// for clients that key tool calls by id, and still deterministic.
func messageID(upstream string, data []byte) string {
	upstream = strings.TrimPrefix(upstream, "chatcmpl-")
	switch {
	case upstream == "":
		sum := sha256.Sum256(data)
		return "msg_" + hex.EncodeToString(sum[:12])
	case strings.HasPrefix(upstream, "msg_"):
		return upstream
	}
	return "msg_" + upstream
}

// toolUseID keeps the upstream call id, which the client sends back as
// tool_use_id and ToChat returns as tool_call_id; a missing one is made
// unique within the message.
func toolUseID(upstream, msgID string, n int) string {
	if upstream != "" {
		return upstream
	}
	return "toolu_" + strings.TrimPrefix(msgID, "msg_") + "_" + strconv.Itoa(n)
}

func modelName(requested, upstream string) string {
	if requested != "" {
		return requested
	}
	return upstream
}

// contentText reads message content: a string, null, or text parts.
func contentText(raw json.RawMessage) string {
	if isNull(raw) {
		return ""
	}
	var s string
	if isString(raw) && json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// argumentsText is a tool call's arguments as JSON text.
func argumentsText(raw json.RawMessage) string {
	if isNull(raw) {
		return ""
	}
	var s string
	if isString(raw) && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// toolInput is the arguments as tool_use input: an object, {} when empty.
func toolInput(args string) (json.RawMessage, error) {
	if strings.TrimSpace(args) == "" {
		return json.RawMessage("{}"), nil
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(args)); err != nil || compact.Bytes()[0] != '{' {
		return nil, fmt.Errorf("arguments are not a JSON object")
	}
	return compact.Bytes(), nil
}

// upstreamMessage reads an in-band error: {"message":…} or a string.
func upstreamMessage(raw json.RawMessage) string {
	var obj struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Message != "" {
		return "upstream error: " + obj.Message
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return "upstream error: " + s
	}
	return "upstream error"
}
