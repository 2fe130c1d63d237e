package proxy

import (
	"errors"
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/crisphq/crisp/providers/anthropicwire"
	"github.com/crisphq/crisp/sse"
)

// parseMessages reads an Anthropic Messages request and turns it into the
// chat completion the rest of the pipeline (redaction included) works on.
// In keeps the caller's own bytes, for the audit.
func (s *Server) parseMessages(r *Request) error {
	chat, err := anthropicwire.ToChat(r.In)
	if err != nil {
		var re *anthropicwire.RequestError
		if errors.As(err, &re) {
			return errInvalidRequest("", "%s", re.Message)
		}
		return errInvalidRequest("", "The request body is not a valid Messages request.")
	}
	r.Out = chat
	r.Model = anthropicwire.Model(r.In)
	r.Stream = anthropicwire.Streaming(r.In)
	return nil
}

// anthropicStage translates the chat answer back into Anthropic's shape for
// /v1/messages callers; for everyone else it stays out.
type anthropicStage struct{}

func (anthropicStage) Name() string { return "anthropic" }

func (anthropicStage) Response(r *Request) (ResponseFilter, error) {
	if r.dialect != dialectAnthropic {
		return nil, nil
	}
	return &anthropicFilter{r: r, st: anthropicwire.NewStream(r.Model)}, nil
}

type anthropicFilter struct {
	r  *Request
	st *anthropicwire.Stream
}

func (f *anthropicFilter) Body(b []byte) ([]byte, error) {
	out, err := anthropicwire.FromChat(b, f.r.Model)
	if err != nil {
		return nil, fmt.Errorf("translate answer: %w", err)
	}
	return out, nil
}

func (f *anthropicFilter) Event(ev sse.Event, emit func(sse.Event) error) error {
	if ev.IsComment() {
		return nil
	}
	evs, err := f.st.Event(ev.Data)
	if err != nil {
		e := anthropicwire.StreamError("The provider sent an answer crisp could not read.")
		return emit(sse.Named(e.Name, e.Data))
	}
	return emitAll(evs, emit)
}

func (f *anthropicFilter) End(emit func(sse.Event) error) error {
	return emitAll(f.st.End(), emit)
}

func emitAll(evs []anthropicwire.Event, emit func(sse.Event) error) error {
	for _, e := range evs {
		if err := emit(sse.Named(e.Name, e.Data)); err != nil {
			return err
		}
	}
	return nil
}

// anthropicUpstreamError re-shapes a provider's OpenAI-style error for an
// Anthropic client, keeping its status and message.
func anthropicUpstreamError(us *upstreamStatus) *upstreamStatus {
	msg := gjson.GetBytes(us.Body, "error.message").String()
	if msg == "" {
		msg = fmt.Sprintf("The provider answered %d.", us.Status)
	}
	return &upstreamStatus{Status: us.Status, ContentType: "application/json", Body: anthropicwire.Error(us.Status, msg)}
}
