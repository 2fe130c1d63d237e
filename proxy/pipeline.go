package proxy

import (
	"context"
	"hash"
	"net/http"
	"time"

	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/policy"
	"github.com/crisphq/crisp/providers"
	"github.com/crisphq/crisp/redact"
	"github.com/crisphq/crisp/sse"
)

// Stage is one step of the request pipeline. It reads and extends the
// per-request state; returning an error ends the request before anything is
// sent upstream, and the error is written once, in the caller's dialect.
type Stage interface {
	Name() string
	Run(ctx context.Context, r *Request) error
}

// ResponseStage sees the provider's answer before the caller does. It
// returns the filter for one request's answer, or nil to stay out of it.
type ResponseStage interface {
	Name() string
	Response(r *Request) (ResponseFilter, error)
}

// ResponseFilter rewrites or observes one answer. For a stream, Event sees
// each upstream event in order and calls emit for what passes on (none, one
// or several events); End is called once the upstream stream ends, to
// release anything held back. For a complete answer, Body sees it whole.
type ResponseFilter interface {
	Event(ev sse.Event, emit func(sse.Event) error) error
	End(emit func(sse.Event) error) error
	Body(b []byte) ([]byte, error)
}

// Request is the per-request state, one struct for the whole pipeline.
type Request struct {
	ID       string
	Start    time.Time
	Endpoint providers.Endpoint
	dialect  dialect

	// HTTP is the inbound request. Stages read it and never change it.
	HTTP *http.Request
	// use is set for uses from crisp's own doors (drafts, ask, MCP, the
	// UI): their caller and customer are known before the pipeline.
	use *Use
	// In is the body as the caller sent it: read once, never modified.
	In []byte
	// Out is the body that will go upstream. Stages replace it rather than
	// edit it in place, so In stays what the caller sent.
	Out []byte

	Model  string // as requested
	Stream bool
	top    topFields // the body's top-level members, scanned once
	Caller *keys.Caller
	Action string
	Route  providers.Route

	// Identity is how well the customer's identity is proven; Subject is the
	// customer and account it resolved to (nil for ai.general).
	Identity identity.Assurance
	Subject  *identity.Subject

	// Flags lists the provider fields crisp forced; Contractual is what only
	// the provider's terms guarantee.
	Flags       []string
	Contractual string

	// Decision is the policy's answer: allow or deny, the rule, and every
	// field's visibility for this action.
	Decision policy.Decision

	// Header collects crisp's response headers (X-Crisp-*), sent with the
	// answer or the error.
	Header http.Header

	// Redactions counts what was redacted, by field or detector kind;
	// ContextFields names the context fields attached.
	Redactions    map[string]int
	ContextFields []string
	redaction     *redact.Session
	// subjectKey names the subject's version and the decision's field
	// visibility: what is derived from both alone is cached under it.
	subjectKey string

	// AuditID names the use's audit record (X-Crisp-Audit-Id).
	AuditID   string
	auditWait func() error
	audited   bool
	started   bool      // the status line went out
	reqSum    string    // sha256 of the body sent upstream, in hex
	respHash  hash.Hash // of the answer sent back
	respSum   string

	// Outcome, filled as the answer goes back.
	Status   int
	ErrCode  string
	Usage    Usage
	BytesIn  int64
	BytesOut int64
	TTFB     time.Duration
}

// Usage is the token count a provider reported.
type Usage struct {
	Input, Output int64
}

// pipeline lists the stages in the order every AI request passes them. Read
// it top to bottom: this is the product's request path.
func (s *Server) pipeline() ([]Stage, []ResponseStage) {
	return []Stage{
			stageFunc{"authenticate", s.authenticate}, // who is asking: the crisp key
			stageFunc{"identity", s.identify},         // who it is about: signed identity, customer, account
			stageFunc{"parse", s.parse},               // the body, read once and bounded
			stageFunc{"route", s.route},               // which provider serves the model
			stageFunc{"policy", s.decide},             // may this member use this action on this customer; field visibility
			stageFunc{"flags", s.providerFlags},       // no training, no storage, pseudonymous ids
			stageFunc{"redact", s.redactRequest},      // hidden values and detected secrets never leave
			stageFunc{"context", s.attachContext},     // the minimal approved account context
			stageFunc{"audit", s.auditBegin},          // a durable record that the use is about to happen
		},
		// forward: the call to the provider (forward.go), then
		[]ResponseStage{
			redactStage{s},   // the answer, cleaned the same way, streamed or not
			usageStage{},     // token usage, for the log and the audit
			anthropicStage{}, // back to Anthropic's shape for /v1/messages (last: it changes the format)
		}
}

// stageFunc adapts a method to Stage.
type stageFunc struct {
	name string
	fn   func(context.Context, *Request) error
}

func (f stageFunc) Name() string                              { return f.name }
func (f stageFunc) Run(ctx context.Context, r *Request) error { return f.fn(ctx, r) }

// serveAI runs one AI request through the pipeline and forwards it.
func (s *Server) serveAI(w http.ResponseWriter, hr *http.Request, ep providers.Endpoint) {
	s.run(w, &Request{ID: newRequestID(), Start: s.now(), Endpoint: ep, HTTP: hr, Header: w.Header(), dialect: dialectOpenAI})
}

// serveMessages is Anthropic's Messages API: the request is translated to
// a chat completion, goes through the same pipeline, and the answer is
// translated back (see parse and anthropicStage).
func (s *Server) serveMessages(w http.ResponseWriter, hr *http.Request) {
	s.run(w, &Request{ID: newRequestID(), Start: s.now(), Endpoint: providers.ChatCompletions, HTTP: hr,
		Header: w.Header(), dialect: dialectAnthropic})
}

// run takes one request through the stages, the call and the log line.
func (s *Server) run(w http.ResponseWriter, r *Request) {
	hr := r.HTTP
	r.Header.Set("X-Request-Id", r.ID)
	ctx := hr.Context()
	var err error
	for _, st := range s.stages {
		if err = st.Run(ctx, r); err != nil {
			break
		}
	}
	if err == nil {
		err = s.forward(ctx, w, r)
	}
	if err != nil {
		err = s.fail(ctx, w, r, err)
	}
	s.logRequest(r, err)
}

// fail writes an error that was decided before any answer was sent, once
// its audit record is durable: a refusal is an AI use too.
func (s *Server) fail(ctx context.Context, w http.ResponseWriter, r *Request, err error) error {
	if r.started {
		return err // the answer had started; forward already ended it and recorded it
	}
	if us, ok := err.(*upstreamStatus); ok {
		if r.dialect == dialectAnthropic {
			us = anthropicUpstreamError(us)
		}
		r.Status, r.ErrCode = us.Status, "upstream_status"
		s.hashAnswer(r, us.Body)
		if aerr := s.auditEnd(ctx, r); aerr != nil {
			err = aerr
		} else {
			w.Header().Set("Content-Type", us.ContentType)
			w.WriteHeader(us.Status)
			n, _ := w.Write(us.Body)
			r.BytesOut = int64(n)
			return err
		}
	}
	e := asError(err)
	r.Status, r.ErrCode = e.Status, e.Code
	if aerr := s.auditEnd(ctx, r); aerr != nil {
		e = asError(aerr)
		r.Status, r.ErrCode, err = e.Status, e.Code, aerr
	}
	writeError(w, r.dialect, e)
	return err
}
