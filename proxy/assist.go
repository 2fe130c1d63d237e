package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/crisphq/crisp/sse"
)

// The /api/v1 doors for people and scripts: the approved context, drafts
// and questions about an account. Each names its caller with a crisp key
// and its customer with the identity headers, exactly like a proxied
// request, and goes through the same pipeline.

// apiUse authenticates an /api/v1 request and verifies the customer it
// names, as the proxy's own stages do.
func (s *Server) apiUse(w http.ResponseWriter, hr *http.Request, action string) (*Use, *Request, bool) {
	// The door decides the action; the inbound request stays as it came.
	hr = hr.Clone(hr.Context())
	hr.Header.Set("X-Crisp-Action", action)
	r := &Request{ID: newRequestID(), Start: s.now(), Endpoint: "api", HTTP: hr, Header: w.Header(), dialect: dialectOpenAI}
	if err := s.runStages(hr.Context(), r, "authenticate", "identity"); err != nil {
		e := asError(err)
		r.Status, r.ErrCode = e.Status, e.Code
		if r.Caller != nil {
			if aerr := s.auditEnd(hr.Context(), r); aerr != nil {
				e = asError(aerr)
			}
		}
		writeError(w, dialectOpenAI, e)
		s.logRequest(r, err)
		return nil, nil, false
	}
	u := &Use{Caller: r.Caller, Identity: r.Identity, Action: r.Action, Endpoint: hr.URL.Path}
	if r.Subject != nil {
		u.CustomerID, u.AccountID = r.Subject.Customer.ID, r.Subject.Account.ID
	}
	return u, r, true
}

// serveContext is GET /api/v1/context?action=ai.draft.
func (s *Server) serveContext(w http.ResponseWriter, hr *http.Request) {
	action := hr.URL.Query().Get("action")
	if action == "" {
		action = "ai.draft"
	}
	u, _, ok := s.apiUse(w, hr, action)
	if !ok {
		return
	}
	res, err := s.ContextFor(hr.Context(), *u)
	if err != nil {
		writeError(w, dialectOpenAI, asError(err))
		return
	}
	w.Header().Set("X-Crisp-Audit-Id", res.AuditID)
	writeJSON(w, res)
}

// serveDraft is POST /api/v1/drafts; with "stream": true (or Accept:
// text/event-stream) it answers with SSE delta events, then one done event.
func (s *Server) serveDraft(w http.ResponseWriter, hr *http.Request) {
	var req struct {
		DraftRequest
		Stream bool `json:"stream"`
	}
	if !readJSON(w, hr, &req) {
		return
	}
	u, _, ok := s.apiUse(w, hr, "ai.draft")
	if !ok {
		return
	}
	stream := req.Stream || strings.Contains(hr.Header.Get("Accept"), "text/event-stream")
	sw, onDelta := streamer(w, stream)
	res, err := s.Draft(hr.Context(), *u, req.DraftRequest, onDelta)
	finish(w, sw, err, func() any { return res })
}

// serveAsk is POST /api/v1/ask.
func (s *Server) serveAsk(w http.ResponseWriter, hr *http.Request) {
	var req struct {
		Question string `json:"question"`
		Stream   bool   `json:"stream"`
	}
	if !readJSON(w, hr, &req) {
		return
	}
	u, _, ok := s.apiUse(w, hr, "ai.ask")
	if !ok {
		return
	}
	stream := req.Stream || strings.Contains(hr.Header.Get("Accept"), "text/event-stream")
	sw, onDelta := streamer(w, stream)
	res, err := s.Ask(hr.Context(), *u, req.Question, onDelta)
	finish(w, sw, err, func() any { return res })
}

// apiStream answers a draft or a question as SSE, started lazily on the
// first delta so an error decided before any text still gets its status.
type apiStream struct {
	w  http.ResponseWriter
	sw *sse.Writer
}

func (a *apiStream) delta(text string) error {
	if a.sw == nil {
		a.w.Header().Set("Content-Type", "text/event-stream")
		a.w.Header().Set("Cache-Control", "no-cache")
		a.w.WriteHeader(http.StatusOK)
		a.sw = sse.NewWriter(a.w)
	}
	data, _ := json.Marshal(map[string]string{"text": text})
	ev := sse.Named("delta", data)
	return a.sw.Write(&ev)
}

// streamer returns the delta callback for a streamed answer, nil otherwise.
func streamer(w http.ResponseWriter, stream bool) (*apiStream, func(string) error) {
	if !stream {
		return nil, nil
	}
	a := &apiStream{w: w}
	return a, a.delta
}

// finish writes the result: a JSON body, or (once a stream started) an
// error event or the done event, which carries the result without the text
// the deltas already gave.
func finish(w http.ResponseWriter, a *apiStream, err error, body func() any) {
	if a == nil || a.sw == nil {
		if err != nil {
			writeError(w, dialectOpenAI, asError(err))
			return
		}
		if a != nil {
			// A stream whose answer had no text: still one done event.
			_ = a.delta("")
		} else {
			writeJSON(w, body())
			return
		}
	}
	var ev sse.Event
	if err != nil {
		e := asError(err)
		data, _ := json.Marshal(map[string]any{"error": map[string]string{"message": e.Message, "code": e.Code}})
		ev = sse.Named("error", data)
	} else {
		b, _ := json.Marshal(body())
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		delete(m, "draft")
		delete(m, "answer")
		data, _ := json.Marshal(m)
		ev = sse.Named("done", data)
	}
	_ = a.sw.Write(&ev)
}

func readJSON(w http.ResponseWriter, hr *http.Request, v any) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, hr.Body, 1<<20))
	if err != nil {
		writeError(w, dialectOpenAI, errTooLarge(1<<20))
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		writeError(w, dialectOpenAI, errInvalidRequest("", "The request body is not valid JSON: %v", err))
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, dialectOpenAI, errInternal(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
