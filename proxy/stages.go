package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/providers"
)

// Action names when a request names no customer: no customer context is
// attached, detectors still apply.
const actionGeneral = "ai.general"

// authenticate finds who is asking and which AI action they are using.
func (s *Server) authenticate(ctx context.Context, r *Request) error {
	if u := r.use; u != nil {
		// A use from crisp's own doors (drafts, ask, MCP, the UI): the
		// caller was authenticated there.
		r.Caller, r.Action = u.Caller, u.Action
		if !r.Caller.MayUse(r.Action) {
			return errPolicyDenied("The key %s may not use the action %q.", r.Caller.KeyID, r.Action)
		}
		return nil
	}
	caller, err := s.caller(ctx, r.HTTP)
	if err != nil {
		return err
	}
	r.Caller = caller
	r.Action = r.HTTP.Header.Get("X-Crisp-Action")
	if r.Action == "" {
		r.Action = actionGeneral
		named := r.HTTP.Header.Get(headerUserID) != "" || r.HTTP.Header.Get(headerToken) != ""
		if named && caller.DefaultAction != "" {
			r.Action = caller.DefaultAction
		}
	}
	if !caller.MayUse(r.Action) {
		return errPolicyDenied("The key %s may not use the action %q.", caller.KeyID, r.Action)
	}
	return nil
}

// caller finds who is behind the key a request presents: 401 for a key
// that matches nothing, 503 when the key store cannot answer (fail closed,
// but say it is ours, not theirs).
func (s *Server) caller(ctx context.Context, hr *http.Request) (*keys.Caller, error) {
	key := keys.FromHeaders(hr.Header.Get("Authorization"), hr.Header.Get("X-Api-Key"))
	c, err := s.opts.Keys.Authenticate(ctx, key)
	if errors.Is(err, keys.ErrUnknown) {
		return nil, errInvalidKey(nil)
	}
	if err != nil {
		return nil, &Error{Status: 503, Type: "api_error", Code: "unavailable",
			Message: "Crisp cannot check keys right now; nothing was sent to a provider.", Cause: err}
	}
	return c, nil
}

// parse reads the body once, within the size limit, and picks out the few
// fields crisp routes on. Everything else passes through untouched.
func (s *Server) parse(_ context.Context, r *Request) error {
	limit := s.opts.MaxBodyBytes
	if r.HTTP.ContentLength > limit {
		return errTooLarge(limit)
	}
	size := r.HTTP.ContentLength
	if size < 0 || size > limit {
		size = 512
	}
	buf := make([]byte, 0, size+1)
	body, err := readAllInto(buf, http.MaxBytesReader(nil, r.HTTP.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errTooLarge(limit)
		}
		return &Error{Status: 400, Type: "invalid_request_error", Code: "invalid_request_error",
			Message: "The request body could not be read.", Cause: err}
	}
	r.In, r.Out = body, body
	r.BytesIn = int64(len(body))
	if r.dialect == dialectAnthropic {
		return s.parseMessages(r)
	}
	if !gjson.ValidBytes(body) {
		return errInvalidRequest("", "The request body is not valid JSON.")
	}
	// Valid JSON whose first byte is '{' is an object.
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return errInvalidRequest("", "The request body must be a JSON object.")
	}
	// A key given twice is refused: crisp rewrites the first ("store",
	// "user", …) while a provider's parser may read the last.
	dup := ""
	var seen keySet
	r.top.scanned = body
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		if !seen.add(k.Str) {
			dup = k.Str
			return false
		}
		r.top.set(k.Str, v)
		return true
	})
	model, stream := r.top.model, r.top.stream
	if dup != "" {
		return errInvalidRequest(dup, "The request body gives %q more than once.", dup)
	}
	if model.Type != gjson.String || model.Str == "" {
		return errInvalidRequest("model", "You must provide a model parameter.")
	}
	r.Model = model.Str
	if stream.Exists() {
		if stream.Type != gjson.True && stream.Type != gjson.False {
			return errInvalidRequest("stream", "stream must be a boolean.")
		}
		r.Stream = stream.Type == gjson.True && r.Endpoint != providers.Embeddings
	}
	return nil
}

// keySet finds a repeated key among a body's top-level members. A request
// has a handful: they are compared in a list, and only a body with many
// pays for a map.
type keySet struct {
	few  [16]string
	n    int
	many map[string]struct{}
}

// add reports false when k was added before.
func (s *keySet) add(k string) bool {
	if s.many != nil {
		if _, ok := s.many[k]; ok {
			return false
		}
		s.many[k] = struct{}{}
		return true
	}
	for _, f := range s.few[:s.n] {
		if f == k {
			return false
		}
	}
	if s.n < len(s.few) {
		s.few[s.n] = k
		s.n++
		return true
	}
	s.many = make(map[string]struct{}, 2*len(s.few))
	for _, f := range s.few {
		s.many[f] = struct{}{}
	}
	s.many[k] = struct{}{}
	return true
}

// topFields are the top-level members of the request body that stages
// read, found by one scan in parse. They hold while Out is the body that
// was scanned (see of).
type topFields struct {
	scanned                                            []byte
	model, stream, store, user, safety, meta, provider gjson.Result
}

func (t *topFields) set(key string, v gjson.Result) {
	switch key {
	case "model":
		t.model = v
	case "stream":
		t.stream = v
	case "store":
		t.store = v
	case "user":
		t.user = v
	case "safety_identifier":
		t.safety = v
	case "metadata":
		t.meta = v
	case "provider":
		t.provider = v
	}
}

// of returns the top-level fields of body: the ones parse found when body
// is still the body it scanned, else a new scan.
func (t *topFields) of(body []byte) *topFields {
	if len(body) > 0 && len(body) == len(t.scanned) && &body[0] == &t.scanned[0] {
		return t
	}
	fresh := &topFields{scanned: body}
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		fresh.set(k.Str, v)
		return true
	})
	return fresh
}

// readAllInto is io.ReadAll into a buffer sized from Content-Length, which
// saves the doubling copies on the hot path.
func readAllInto(b []byte, rd io.Reader) ([]byte, error) {
	for {
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// route picks the provider for the model, within what the key may call. An
// alias is resolved in the outbound body, so the provider sees a real name.
func (s *Server) route(_ context.Context, r *Request) error {
	rt, err := s.opts.Router.Route(r.Model)
	if err != nil {
		return errModelNotFound(r.Model, err)
	}
	// The key's model list governs the model actually called, so an alias
	// can neither widen nor narrow it.
	if !r.Caller.MayCall(rt.Model) {
		return errModelNotFound(r.Model, errors.New("not in the key's models"))
	}
	r.Route = rt
	if rt.Model != r.Model {
		out, err := sjson.SetBytes(r.Out, "model", rt.Model)
		if err != nil {
			return errInternal(err)
		}
		r.Out = out
	}
	return nil
}
