package anthropicwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// msgRequest is the part of a Messages request that is translated; any
// other field is dropped (see the package doc).
type msgRequest struct {
	Model         *string         `json:"model"`
	Messages      *[]msgMessage   `json:"messages"`
	MaxTokens     *int64          `json:"max_tokens"`
	System        json.RawMessage `json:"system"`
	Temperature   *float64        `json:"temperature"`
	TopP          *float64        `json:"top_p"`
	StopSequences []string        `json:"stop_sequences"`
	Stream        bool            `json:"stream"`
	Tools         []msgTool       `json:"tools"`
	ToolChoice    *msgToolChoice  `json:"tool_choice"`
	Metadata      *struct {
		UserID string `json:"user_id"`
	} `json:"metadata"`
}

type msgMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// msgBlock is every content block type's fields in one struct.
type msgBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Source    *msgSource      `json:"source"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
}

type msgSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
	URL       string `json:"url"`
}

type msgTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type msgToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
}

// chatRequest is the body ToChat writes, fields in OpenAI's usual order.
type chatRequest struct {
	Model             string         `json:"model"`
	Messages          []chatMessage  `json:"messages"`
	MaxTokens         int64          `json:"max_tokens"`
	Temperature       *float64       `json:"temperature,omitempty"`
	TopP              *float64       `json:"top_p,omitempty"`
	Stop              []string       `json:"stop,omitempty"`
	Stream            bool           `json:"stream,omitempty"`
	StreamOptions     *streamOptions `json:"stream_options,omitempty"`
	Tools             []chatTool     `json:"tools,omitempty"`
	ToolChoice        any            `json:"tool_choice,omitempty"`
	ParallelToolCalls *bool          `json:"parallel_tool_calls,omitempty"`
	User              string         `json:"user,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role       string         `json:"role"`
	Content    any            `json:"content"` // string, []chatPart, or nil
	ToolCalls  []chatToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

type chatPart struct {
	Type     string    `json:"type"`
	Text     *string   `json:"text,omitempty"`
	ImageURL *imageURL `json:"image_url,omitempty"`
}

type imageURL struct {
	URL string `json:"url"`
}

type chatToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function chatFunction `json:"function"`
}

type chatFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type chatTool struct {
	Type     string      `json:"type"`
	Function chatToolDef `json:"function"`
}

type namedChoice struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

type chatToolDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters"`
}

// ToChat translates an Anthropic Messages request body into an OpenAI chat
// completions request body. A request Anthropic would refuse returns a
// *RequestError; see the package doc for what is kept and dropped.
func ToChat(body []byte) ([]byte, error) {
	var req msgRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, decodeError(err)
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	out := chatRequest{
		Model:       *req.Model,
		MaxTokens:   *req.MaxTokens,
		Temperature: req.Temperature,
		TopP:        req.TopP,
		Stop:        req.StopSequences,
	}
	if req.Metadata != nil {
		out.User = req.Metadata.UserID
	}
	system, err := systemText(req.System)
	if err != nil {
		return nil, err
	}
	if system != "" {
		out.Messages = append(out.Messages, chatMessage{Role: "system", Content: system})
	}
	for i, m := range *req.Messages {
		msgs, err := convertMessage(i, m)
		if err != nil {
			return nil, err
		}
		out.Messages = append(out.Messages, msgs...)
	}
	if err := convertTools(&out, req.Tools, req.ToolChoice); err != nil {
		return nil, err
	}
	if req.Stream {
		out.Stream = true
		// Without usage in the stream, message_delta could not report tokens.
		out.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	b, err := marshal(out)
	if err != nil {
		return nil, fmt.Errorf("anthropicwire: encode chat request: %w", err)
	}
	return b, nil
}

func (r *msgRequest) validate() error {
	switch {
	case r.Model == nil:
		return &RequestError{Message: "model: Field required"}
	case *r.Model == "":
		return &RequestError{Message: "model: must not be empty"}
	case r.Messages == nil:
		return &RequestError{Message: "messages: Field required"}
	case len(*r.Messages) == 0:
		return &RequestError{Message: "messages: at least one message is required"}
	case r.MaxTokens == nil:
		return &RequestError{Message: "max_tokens: Field required"}
	case *r.MaxTokens < 1:
		return &RequestError{Message: "max_tokens: must be at least 1"}
	}
	return nil
}

// systemText joins the system prompt's text blocks; cache_control goes.
func systemText(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if isString(raw) && json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var blocks []msgBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return "", &RequestError{Message: "system: expected a string or an array of text blocks"}
	}
	texts := make([]string, 0, len(blocks))
	for i, b := range blocks {
		if b.Type != "text" {
			return "", &RequestError{Message: fmt.Sprintf("system.%d.type: expected \"text\", got %q", i, b.Type)}
		}
		texts = append(texts, b.Text)
	}
	return strings.Join(texts, "\n\n"), nil
}

// contentBlocks reads a message's content: a string is one text block.
func contentBlocks(where string, raw json.RawMessage) ([]msgBlock, bool, error) {
	var s string
	if isString(raw) && json.Unmarshal(raw, &s) == nil {
		return []msgBlock{{Type: "text", Text: s}}, true, nil
	}
	var blocks []msgBlock
	if isNull(raw) || json.Unmarshal(raw, &blocks) != nil {
		return nil, false, &RequestError{Message: where + ": expected a string or an array of content blocks"}
	}
	return blocks, false, nil
}

func convertMessage(i int, m msgMessage) ([]chatMessage, error) {
	where := fmt.Sprintf("messages.%d", i)
	blocks, plain, err := contentBlocks(where+".content", m.Content)
	if err != nil {
		return nil, err
	}
	switch m.Role {
	case "user":
		if plain {
			return []chatMessage{{Role: "user", Content: blocks[0].Text}}, nil
		}
		return userMessages(where, blocks)
	case "assistant":
		if plain {
			return []chatMessage{{Role: "assistant", Content: blocks[0].Text}}, nil
		}
		msg, err := assistantMessage(where, blocks)
		if err != nil {
			return nil, err
		}
		return []chatMessage{msg}, nil
	}
	return nil, &RequestError{Message: fmt.Sprintf("%s.role: expected \"user\" or \"assistant\", got %q", where, m.Role)}
}

// userMessages turns one user turn into tool messages (which OpenAI wants
// right after the assistant's tool_calls) followed by a user message with
// the remaining text and images.
func userMessages(where string, blocks []msgBlock) ([]chatMessage, error) {
	var out []chatMessage
	var parts []chatPart
	for j, b := range blocks {
		at := fmt.Sprintf("%s.content.%d", where, j)
		switch b.Type {
		case "text":
			parts = append(parts, textPart(b.Text))
		case "image":
			p, err := imagePart(at, b.Source)
			if err != nil {
				return nil, err
			}
			parts = append(parts, p)
		case "document":
			if b.Source == nil || b.Source.Type != "text" {
				return nil, &RequestError{Message: at + ": only documents with a text source are supported"}
			}
			parts = append(parts, textPart(b.Source.Data))
		case "tool_result":
			if b.ToolUseID == "" {
				return nil, &RequestError{Message: at + ".tool_use_id: Field required"}
			}
			text, images, err := toolResultContent(at, b.Content)
			if err != nil {
				return nil, err
			}
			out = append(out, chatMessage{Role: "tool", Content: text, ToolCallID: b.ToolUseID})
			parts = append(parts, images...)
		default:
			return nil, &RequestError{Message: fmt.Sprintf("%s.type: block type %q is not supported in user messages", at, b.Type)}
		}
	}
	if len(parts) > 0 || len(out) == 0 {
		out = append(out, chatMessage{Role: "user", Content: partsContent(parts)})
	}
	return out, nil
}

// partsContent is a lone text part as a plain string (which every
// OpenAI-compatible server accepts), else the parts.
func partsContent(parts []chatPart) any {
	switch {
	case len(parts) == 0:
		return ""
	case len(parts) == 1 && parts[0].Type == "text":
		return *parts[0].Text
	}
	return parts
}

func textPart(s string) chatPart { return chatPart{Type: "text", Text: &s} }

func imagePart(at string, src *msgSource) (chatPart, error) {
	if src == nil {
		return chatPart{}, &RequestError{Message: at + ".source: Field required"}
	}
	switch src.Type {
	case "base64":
		if src.MediaType == "" || src.Data == "" {
			return chatPart{}, &RequestError{Message: at + ".source: base64 images need media_type and data"}
		}
		return chatPart{Type: "image_url", ImageURL: &imageURL{URL: "data:" + src.MediaType + ";base64," + src.Data}}, nil
	case "url":
		if src.URL == "" {
			return chatPart{}, &RequestError{Message: at + ".source.url: Field required"}
		}
		return chatPart{Type: "image_url", ImageURL: &imageURL{URL: src.URL}}, nil
	}
	return chatPart{}, &RequestError{Message: fmt.Sprintf("%s.source.type: image source %q is not supported", at, src.Type)}
}

// toolResultContent is a tool_result's text (blocks joined by a blank line)
// and its images, which move to the following user message.
func toolResultContent(at string, raw json.RawMessage) (string, []chatPart, error) {
	if isNull(raw) {
		return "", nil, nil
	}
	blocks, plain, err := contentBlocks(at+".content", raw)
	if err != nil {
		return "", nil, err
	}
	if plain {
		return blocks[0].Text, nil, nil
	}
	var texts []string
	var images []chatPart
	for k, b := range blocks {
		inner := fmt.Sprintf("%s.content.%d", at, k)
		switch b.Type {
		case "text":
			texts = append(texts, b.Text)
		case "image":
			p, err := imagePart(inner, b.Source)
			if err != nil {
				return "", nil, err
			}
			images = append(images, p)
		default:
			return "", nil, &RequestError{Message: fmt.Sprintf("%s.type: block type %q is not supported in tool results", inner, b.Type)}
		}
	}
	return strings.Join(texts, "\n\n"), images, nil
}

func assistantMessage(where string, blocks []msgBlock) (chatMessage, error) {
	msg := chatMessage{Role: "assistant"}
	var texts []string
	for j, b := range blocks {
		at := fmt.Sprintf("%s.content.%d", where, j)
		switch b.Type {
		case "text":
			texts = append(texts, b.Text)
		case "tool_use":
			call, err := toolCall(at, b)
			if err != nil {
				return chatMessage{}, err
			}
			msg.ToolCalls = append(msg.ToolCalls, call)
		case "thinking", "redacted_thinking":
			// Signed by Anthropic for Anthropic; meaningless to another model.
		default:
			return chatMessage{}, &RequestError{Message: fmt.Sprintf("%s.type: block type %q is not supported in assistant messages", at, b.Type)}
		}
	}
	if len(texts) > 0 {
		msg.Content = strings.Join(texts, "\n\n")
	} else if len(msg.ToolCalls) == 0 {
		msg.Content = ""
	}
	return msg, nil
}

func toolCall(at string, b msgBlock) (chatToolCall, error) {
	if b.ID == "" {
		return chatToolCall{}, &RequestError{Message: at + ".id: Field required"}
	}
	if b.Name == "" {
		return chatToolCall{}, &RequestError{Message: at + ".name: Field required"}
	}
	args := "{}"
	if !isNull(b.Input) {
		var compact bytes.Buffer
		if err := json.Compact(&compact, b.Input); err != nil {
			return chatToolCall{}, &RequestError{Message: at + ".input: invalid JSON"}
		}
		if compact.Len() == 0 || compact.Bytes()[0] != '{' {
			return chatToolCall{}, &RequestError{Message: at + ".input: expected an object"}
		}
		args = compact.String()
	}
	return chatToolCall{ID: b.ID, Type: "function", Function: chatFunction{Name: b.Name, Arguments: args}}, nil
}

func convertTools(out *chatRequest, tools []msgTool, choice *msgToolChoice) error {
	for i, t := range tools {
		at := fmt.Sprintf("tools.%d", i)
		if t.Type != "" && t.Type != "custom" {
			return &RequestError{Message: fmt.Sprintf("%s.type: tool type %q is not supported by this provider", at, t.Type)}
		}
		if t.Name == "" {
			return &RequestError{Message: at + ".name: Field required"}
		}
		if isNull(t.InputSchema) {
			return &RequestError{Message: at + ".input_schema: Field required"}
		}
		out.Tools = append(out.Tools, chatTool{Type: "function", Function: chatToolDef{
			Name: t.Name, Description: t.Description, Parameters: t.InputSchema,
		}})
	}
	if choice == nil || len(tools) == 0 {
		// OpenAI refuses tool_choice without tools.
		return nil
	}
	switch choice.Type {
	case "auto":
		out.ToolChoice = "auto"
	case "any":
		out.ToolChoice = "required"
	case "none":
		out.ToolChoice = "none"
		return nil
	case "tool":
		if choice.Name == "" {
			return &RequestError{Message: "tool_choice.name: Field required"}
		}
		out.ToolChoice = namedChoice{Type: "function", Function: struct {
			Name string `json:"name"`
		}{choice.Name}}
	default:
		return &RequestError{Message: fmt.Sprintf("tool_choice.type: expected auto, any, tool or none, got %q", choice.Type)}
	}
	if choice.DisableParallelToolUse {
		no := false
		out.ParallelToolCalls = &no
	}
	return nil
}

// Model is the request's model, or "" when there is none.
func Model(body []byte) string {
	var r struct {
		Model string `json:"model"`
	}
	if json.Unmarshal(body, &r) != nil {
		return ""
	}
	return r.Model
}

// Streaming reports whether the request asks for a stream.
func Streaming(body []byte) bool {
	var r struct {
		Stream bool `json:"stream"`
	}
	return json.Unmarshal(body, &r) == nil && r.Stream
}
