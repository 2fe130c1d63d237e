package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/crisphq/crisp/contextpack"
	"github.com/crisphq/crisp/providers"
)

func errContext(cause error) *Error {
	return &Error{Status: 500, Type: "api_error", Code: "context_failed",
		Message: "Crisp could not build the approved context, so nothing was sent to a provider.", Cause: cause}
}

// buildPack builds the approved context for the request's customer: fields
// the decision shows, masked ones as the redaction session's placeholders.
func (s *Server) buildPack(r *Request) *contextpack.Pack {
	return s.opts.Context.Build(contextpack.Input{
		Action: r.Action, Subject: r.Subject, Journey: r.Subject.Journey,
		Visibility: r.Decision.Fields.Visibility,
		Mask: func(field, value string) string {
			ph := r.redaction.Text(value)
			if ph == value || strings.Contains(ph, value) {
				// The redactor did not take the value (too short or too
				// common to match safely): never attach it as it is.
				return "[masked:" + field + "]"
			}
			return ph
		},
	})
}

// attachContext adds the minimal approved context for the customer: a
// system message first on chat completions (and so Anthropic messages,
// translated to chat), instructions on Responses. Embeddings get none.
func (s *Server) attachContext(_ context.Context, r *Request) error {
	if r.Subject == nil || s.opts.Context == nil || r.Endpoint == providers.Embeddings {
		return nil
	}
	pack := s.buildPack(r)
	r.ContextFields = pack.FieldNames()
	r.Header.Set("X-Crisp-Context", strings.Join(r.ContextFields, ", "))
	r.manifest() // masking the pack's fields counts as redaction
	text := pack.Text()
	if text == "" {
		return nil
	}
	out, err := attach(r.Endpoint, r.Out, text)
	if err != nil {
		return errContext(err)
	}
	r.Out = out
	return nil
}

// attach puts text in front of what the caller sent. For chat it splices
// the system message in after the messages array's '[' rather than
// rebuilding the array: the rest of the body is copied once, unparsed.
func attach(ep providers.Endpoint, body []byte, text string) ([]byte, error) {
	if ep == providers.Responses {
		if prev := gjson.GetBytes(body, "instructions"); prev.Type == gjson.String && prev.Str != "" {
			text += "\n\n" + prev.Str
		}
		return sjson.SetBytes(body, "instructions", text)
	}
	content, err := json.Marshal(text)
	if err != nil {
		return nil, err
	}
	msg := make([]byte, 0, len(content)+32)
	msg = append(append(append(msg, `{"role":"system","content":`...), content...), '}')
	msgs := gjson.GetBytes(body, "messages")
	if !msgs.IsArray() || msgs.Index <= 0 || body[msgs.Index] != '[' {
		return sjson.SetRawBytes(body, "messages", append(append([]byte{'['}, msg...), ']'))
	}
	open := msgs.Index + 1
	out := make([]byte, 0, len(body)+len(msg)+1)
	out = append(append(out, body[:open]...), msg...)
	if rest := bytes.TrimLeft(body[open:], " \t\r\n"); len(rest) > 0 && rest[0] != ']' {
		out = append(out, ',')
	}
	return append(out, body[open:]...), nil
}
