package anthropicwire

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Event is one Anthropic stream event: Name is the SSE "event:" field, Data
// the JSON for its "data:" line (whose "type" equals Name).
type Event struct {
	Name string
	Data []byte
}

// Stream turns one streamed chat completion into Anthropic stream events.
// It is per response and not safe for concurrent use.
type Stream struct {
	// ID, when set before the first Event call, is the message id sent to
	// the client; otherwise it comes from the upstream chunk id.
	ID string

	model    string
	started  bool // message_start sent
	finished bool // a finish_reason arrived
	done     bool // message_stop or an error ended the stream
	finish   string
	refused  bool
	usage    *chatUsage

	blocks   int        // content blocks started: the next block's index
	open     int        // the open block's index, or -1
	openTool *toolState // the open block's tool, nil for text
	tools    []*toolState
	byIndex  map[int]*toolState // the current call for each upstream index
}

// toolState is one upstream tool call. Until it gets a block (block < 0)
// its arguments wait in args; once it has one, args keeps what was sent so
// its completeness can be judged.
type toolState struct {
	block    int
	id, name string
	args     []byte
}

// NewStream starts translating a stream for requestedModel (the upstream's
// model name when requestedModel is "").
func NewStream(requestedModel string) *Stream {
	return &Stream{model: requestedModel, open: -1, byIndex: map[int]*toolState{}}
}

// Event translates one upstream event's data: a chat.completion.chunk, or
// "[DONE]", which ends the message. It returns the events to send, in
// order, possibly none. Data after the end is ignored. A chunk that is not
// JSON, or an in-band error, returns an error wrapping ErrUpstream and ends
// the stream; the caller then sends StreamError.
func (s *Stream) Event(data []byte) ([]Event, error) {
	data = bytes.TrimSpace(data)
	if s.done || len(data) == 0 {
		return nil, nil
	}
	if string(data) == "[DONE]" {
		return s.close(nil), nil
	}
	var c chatResponse
	if err := json.Unmarshal(data, &c); err != nil {
		s.done = true
		return nil, fmt.Errorf("%w: chunk is not JSON: %v", ErrUpstream, err)
	}
	if !isNull(c.Error) {
		s.done = true
		return nil, fmt.Errorf("%w: %s", ErrUpstream, upstreamMessage(c.Error))
	}
	out := s.start(nil, c.ID, c.Model, data)
	if c.Usage != nil {
		s.usage = c.Usage
	}
	for _, ch := range c.Choices {
		if ch.Index == 0 { // Anthropic has no n: other choices have no place
			out = s.choice(out, ch)
		}
	}
	return out, nil
}

// End is for an upstream that stopped without "[DONE]". After a
// finish_reason it completes the message as "[DONE]" would; before one the
// answer is cut short, so it returns a StreamError. After the end it
// returns nothing.
func (s *Stream) End() []Event {
	if s.done {
		return nil
	}
	if s.finished {
		return s.close(nil)
	}
	s.done = true
	return []Event{StreamError("the upstream provider ended the stream before the response was complete")}
}

// Done reports whether the stream has ended (message_stop or an error).
func (s *Stream) Done() bool { return s.done }

func (s *Stream) start(out []Event, upstreamID, upstreamModel string, data []byte) []Event {
	if s.started {
		return out
	}
	s.started = true
	if s.ID == "" {
		s.ID = messageID(upstreamID, data)
	}
	s.model = modelName(s.model, upstreamModel)
	type startEvent struct {
		Type    string  `json:"type"`
		Message message `json:"message"`
	}
	// Input tokens arrive with the last chunk; message_delta reports them.
	m := message{ID: s.ID, Type: "message", Role: "assistant", Model: s.model, Content: []any{}}
	return append(out, Event{Name: "message_start", Data: mustJSON(startEvent{Type: "message_start", Message: m})})
}

func (s *Stream) choice(out []Event, ch chatChoice) []Event {
	if text := contentText(ch.Delta.Content); text != "" {
		out = s.text(out, text)
	}
	if ch.Delta.Refusal != "" {
		s.refused = true
		out = s.text(out, ch.Delta.Refusal)
	}
	for _, tc := range ch.Delta.ToolCalls {
		out = s.tool(out, tc)
	}
	if ch.FinishReason != "" && !s.finished {
		s.finished = true
		s.finish = ch.FinishReason
		out = s.flushTools(out)
		out = s.closeBlock(out)
	}
	return out
}

func (s *Stream) text(out []Event, text string) []Event {
	if s.open < 0 || s.openTool != nil {
		out = s.closeBlock(out)
		out = s.startBlock(out, textBlock{Type: "text", Text: ""}, nil)
	}
	return append(out, s.delta(textDelta{Type: "text_delta", Text: text}))
}

func (s *Stream) tool(out []Event, tc chatOutToolCall) []Event {
	st := s.byIndex[tc.Index]
	// A new id at a known index is a new call: some servers send each
	// whole call at index 0.
	if st == nil || (tc.ID != "" && st.id != "" && tc.ID != st.id) {
		st = &toolState{block: -1}
		s.byIndex[tc.Index] = st
		s.tools = append(s.tools, st)
	}
	if st.id == "" {
		st.id = tc.ID
	}
	if st.name == "" {
		st.name = tc.Function.Name
	}
	args := argumentsText(tc.Function.Arguments)
	st.args = append(st.args, args...)
	switch {
	case st.block >= 0 && args != "":
		// Normally st is the open block. If text came between its fragments
		// the block is closed; both SDKs still apply a delta by its index,
		// and dropping arguments would be worse.
		out = append(out, Event{Name: "content_block_delta", Data: mustJSON(deltaEvent{
			Type: "content_block_delta", Index: st.block, Delta: jsonDelta{Type: "input_json_delta", PartialJSON: args},
		})})
		if st == s.openTool && s.waiting() {
			out = s.advance(out, false) // calls may be waiting for this one
		}
	case st.block < 0:
		out = s.advance(out, false)
	}
	return out
}

// advance starts waiting tool calls in arrival order, one block at a time:
// the next starts only once the open tool's arguments are a whole JSON
// value, so calls whose fragments interleave still stream as whole,
// ordered blocks. force starts them all (the response is finishing).
func (s *Stream) advance(out []Event, force bool) []Event {
	for _, st := range s.tools {
		if st.block >= 0 {
			continue
		}
		if !force && (st.name == "" || (s.openTool != nil && !complete(s.openTool.args))) {
			return out
		}
		out = s.closeBlock(out)
		out = s.startBlock(out, toolUseBlock{
			Type: "tool_use", ID: toolUseID(st.id, s.ID, s.blocks), Name: st.name, Input: json.RawMessage("{}"),
		}, st)
		if len(st.args) > 0 {
			out = append(out, s.delta(jsonDelta{Type: "input_json_delta", PartialJSON: string(st.args)}))
		}
	}
	return out
}

func (s *Stream) flushTools(out []Event) []Event { return s.advance(out, true) }

// complete reports whole JSON arguments. Only an object's last fragment
// ends in "}", so most fragments skip the full scan.
func complete(args []byte) bool {
	trimmed := bytes.TrimRight(args, " \t\r\n")
	return len(trimmed) > 0 && trimmed[len(trimmed)-1] == '}' && json.Valid(args)
}

// waiting reports a tool call that has no block yet.
func (s *Stream) waiting() bool {
	for _, st := range s.tools {
		if st.block < 0 {
			return true
		}
	}
	return false
}

type blockStartEvent struct {
	Type         string `json:"type"`
	Index        int    `json:"index"`
	ContentBlock any    `json:"content_block"`
}

type deltaEvent struct {
	Type  string `json:"type"`
	Index int    `json:"index"`
	Delta any    `json:"delta"`
}

type textDelta struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type jsonDelta struct {
	Type        string `json:"type"`
	PartialJSON string `json:"partial_json"`
}

type blockStopEvent struct {
	Type  string `json:"type"`
	Index int    `json:"index"`
}

func (s *Stream) startBlock(out []Event, block any, tool *toolState) []Event {
	s.open = s.blocks
	s.blocks++
	s.openTool = tool
	if tool != nil {
		tool.block = s.open
	}
	return append(out, Event{Name: "content_block_start", Data: mustJSON(blockStartEvent{
		Type: "content_block_start", Index: s.open, ContentBlock: block,
	})})
}

// delta is a content_block_delta for the open block.
func (s *Stream) delta(d any) Event {
	return Event{Name: "content_block_delta", Data: mustJSON(deltaEvent{Type: "content_block_delta", Index: s.open, Delta: d})}
}

func (s *Stream) closeBlock(out []Event) []Event {
	if s.open < 0 {
		return out
	}
	out = append(out, Event{Name: "content_block_stop", Data: mustJSON(blockStopEvent{Type: "content_block_stop", Index: s.open})})
	s.open, s.openTool = -1, nil
	return out
}

// close ends the message: any open block, message_delta, message_stop.
func (s *Stream) close(out []Event) []Event {
	out = s.start(out, "", "", nil) // "[DONE]" alone still makes a whole message
	out = s.flushTools(out)
	out = s.closeBlock(out)
	hasTools := len(s.tools) > 0
	stop := stopReason(s.finish, hasTools, s.refused)
	type messageDelta struct {
		StopReason   string  `json:"stop_reason"`
		StopSequence *string `json:"stop_sequence"`
	}
	type messageDeltaEvent struct {
		Type  string       `json:"type"`
		Delta messageDelta `json:"delta"`
		Usage usage        `json:"usage"`
	}
	s.done = true
	return append(out,
		Event{Name: "message_delta", Data: mustJSON(messageDeltaEvent{
			Type: "message_delta", Delta: messageDelta{StopReason: stop}, Usage: toUsage(s.usage),
		})},
		Event{Name: "message_stop", Data: []byte(`{"type":"message_stop"}`)},
	)
}
