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

// maskValue is the placeholder a masked context field carries: the
// redaction session's, so the same value has the same placeholder in the
// prompt, the context and the answer.
func maskValue(r *Request, field, value string) string {
	ph := r.redaction.Text(value)
	if ph == value || strings.Contains(ph, value) {
		// The redactor did not take the value (too short or too common to
		// match safely): never attach it as it is.
		return "[masked:" + field + "]"
	}
	return ph
}

// builtPack is a context pack as attached: its text and field names, and
// its masked values, whose placeholders a new session must issue again.
type builtPack struct {
	pack   *contextpack.Pack // read only: shared by every request that reuses it
	text   string
	names  []string
	masked []maskedField
	// Encoded once for every request that reuses the pack: the
	// X-Crisp-Context value and the chat system message.
	header  string
	chatMsg []byte
}

func newBuiltPack(pack *contextpack.Pack, masked []maskedField) *builtPack {
	bp := &builtPack{pack: pack, text: pack.Text(), names: pack.FieldNames(), masked: masked}
	bp.header = strings.Join(bp.names, ", ")
	if bp.text != "" {
		bp.chatMsg = systemMessage(bp.text)
	}
	return bp
}

// systemMessage is text as a chat system message, JSON-encoded.
func systemMessage(text string) []byte {
	content, _ := json.Marshal(text) // a string always encodes
	msg := make([]byte, 0, len(content)+32)
	return append(append(append(msg, `{"role":"system","content":`...), content...), '}')
}

type maskedField struct{ field, value, placeholder string }

// buildPack builds the approved context for the request's customer: fields
// the decision shows, masked ones as the redaction session's placeholders.
// A pack follows from the subject, the action and the field visibility, so
// with a subject version it is built once and reused, as long as this
// request's session gives its masked values the same placeholders (it
// does unless the prompt itself made the session number them otherwise).
func (s *Server) buildPack(r *Request) *builtPack {
	key := ""
	if r.subjectKey != "" {
		key = r.subjectKey + "\x00" + r.Action
		if bp, ok := s.packs.Get(key); ok && reissue(r, bp.masked) {
			return bp
		}
	}
	var masked []maskedField
	pack := s.opts.Context.Build(contextpack.Input{
		Action: r.Action, Subject: r.Subject, Journey: r.Subject.Journey,
		Visibility: r.Decision.Fields.Visibility,
		Mask: func(field, value string) string {
			ph := maskValue(r, field, value)
			masked = append(masked, maskedField{field, value, ph})
			return ph
		},
	})
	bp := newBuiltPack(pack, masked)
	if key != "" {
		s.packs.Set(key, bp, 1)
	}
	return bp
}

// reissue gives this request's session the placeholders of a reused pack's
// masked values, reporting false when one comes out differently.
func reissue(r *Request, masked []maskedField) bool {
	for _, m := range masked {
		if maskValue(r, m.field, m.value) != m.placeholder {
			return false
		}
	}
	return true
}

// attachContext adds the minimal approved context for the customer: a
// system message first on chat completions (and so Anthropic messages,
// translated to chat), instructions on Responses. Embeddings get none.
func (s *Server) attachContext(_ context.Context, r *Request) error {
	if r.Subject == nil || s.opts.Context == nil || r.Endpoint == providers.Embeddings {
		return nil
	}
	pack := s.buildPack(r)
	r.ContextFields = pack.names
	r.Header.Set("X-Crisp-Context", pack.header)
	r.manifest() // masking the pack's fields counts as redaction
	if pack.text == "" {
		return nil
	}
	out, err := attach(r.Endpoint, r.Out, pack.text, pack.chatMsg)
	if err != nil {
		return errContext(err)
	}
	r.Out = out
	return nil
}

// attach puts text in front of what the caller sent: as instructions on
// Responses, and on chat as msg, its system message (systemMessage). For
// chat it splices msg in after the messages array's '[' rather than
// rebuilding the array: the rest of the body is copied once, unparsed.
func attach(ep providers.Endpoint, body []byte, text string, msg []byte) ([]byte, error) {
	if ep == providers.Responses {
		if prev := gjson.GetBytes(body, "instructions"); prev.Type == gjson.String && prev.Str != "" {
			text += "\n\n" + prev.Str
		}
		return sjson.SetBytes(body, "instructions", text)
	}
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
