package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	openai "github.com/sashabaranov/go-openai"

	"github.com/crisphq/crisp/contextpack"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/policy"
	"github.com/crisphq/crisp/providers"
)

// Use is one governed AI use that comes in through crisp's own doors —
// the drafting and ask APIs, the context API, MCP tools, the inbox —
// rather than as an OpenAI request. It goes through the same pipeline.
type Use struct {
	Caller                *keys.Caller
	CustomerID, AccountID string
	// Identity is how the customer's identity was proven where the use
	// came in.
	Identity identity.Assurance
	Action   string
	// Endpoint names the door in the audit record, e.g. /api/v1/drafts or
	// mcp:get_customer_context.
	Endpoint string
}

// UseFrom builds a Use from an already verified identity: the inbox vouches
// for a conversation's customer with method "conversation".
func UseFrom(c *keys.Caller, customerID, accountID, action string, signed bool, method string) Use {
	a := identity.Assurance{Verified: signed, Method: method, Subject: customerID}
	if !signed {
		a = identity.Assurance{Method: identity.MethodNone, Reason: "the conversation's identity was not verified"}
	}
	return Use{Caller: c, CustomerID: customerID, AccountID: accountID, Identity: a, Action: action}
}

// ContextResult is the approved context for one customer and action.
type ContextResult struct {
	Action   string              `json:"action"`
	Fields   map[string]string   `json:"fields"`
	Masked   []string            `json:"masked"`
	Events   []contextpack.Event `json:"events"`
	Decision policy.Decision     `json:"-"`
	AuditID  string              `json:"audit_id"`
}

// ContextFor returns the approved context pack, as the pipeline would
// attach it, policy-checked and audited. A denial is an *Error (403).
func (s *Server) ContextFor(ctx context.Context, u Use) (*ContextResult, error) {
	r := s.useRequest(ctx, u, "/api/v1/context")
	err := s.runStages(ctx, r, "authenticate", "identity", "policy")
	if err == nil && r.Subject == nil {
		err = errInvalidRequest("", "Name a customer to read their context.")
	}
	var res *ContextResult
	if err == nil {
		if err = s.newRedaction(r); err == nil {
			bp := s.buildPack(r)
			pack := bp.pack
			r.ContextFields = bp.names
			res = &ContextResult{Action: r.Action, Fields: pack.Shown(), Masked: pack.Masked(), Events: pack.Events, Decision: r.Decision}
			if res.Masked == nil {
				res.Masked = []string{}
			}
			r.Status = http.StatusOK
		}
	}
	if err != nil {
		e := asError(err)
		r.Status, r.ErrCode = e.Status, e.Code
	}
	if aerr := s.auditEnd(ctx, r); aerr != nil {
		err = aerr
	}
	s.logRequest(r, err)
	if err != nil {
		return nil, err
	}
	res.AuditID = r.AuditID
	return res, nil
}

// useRequest is the per-request state of a use.
func (s *Server) useRequest(ctx context.Context, u Use, endpoint string) *Request {
	if u.Endpoint != "" {
		endpoint = u.Endpoint
	}
	hr, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
	return &Request{ID: newRequestID(), Start: s.now(), Endpoint: providers.Endpoint(strings.TrimPrefix(endpoint, "/")),
		HTTP: hr, Header: http.Header{}, dialect: dialectOpenAI, use: &u}
}

// runStages runs the named stages of the pipeline, in pipeline order.
func (s *Server) runStages(ctx context.Context, r *Request, names ...string) error {
	for _, st := range s.stages {
		for _, n := range names {
			if st.Name() == n {
				if err := st.Run(ctx, r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Message is one turn of a support conversation.
type Message struct {
	Author string `json:"author"` // customer | agent
	Text   string `json:"text"`
}

// DraftOptions shape a draft.
type DraftOptions struct {
	Tone     string `json:"tone,omitempty"`
	Language string `json:"language,omitempty"`
	MaxWords int    `json:"max_words,omitempty"`
}

// DraftRequest is a conversation to draft the agent's next reply to.
type DraftRequest struct {
	Conversation []Message    `json:"conversation"`
	Options      DraftOptions `json:"options"`
	Model        string       `json:"model,omitempty"`
}

// DraftResult is a draft and what it was made from.
type DraftResult struct {
	Draft         string         `json:"draft,omitempty"`
	ContextFields []string       `json:"context_fields"`
	Redactions    map[string]int `json:"redactions"`
	AuditID       string         `json:"audit_id"`
}

// DefaultAssistModel is the model drafts and answers use when none is
// named: an alias a configuration routes (the example routes it to
// gpt-4o-mini, or the offline provider when none is configured).
const DefaultAssistModel = "crisp-default"

// Draft writes the agent's next reply through the whole pipeline: the
// approved context, redaction both ways, provider flags and the audit.
// onDelta, when set, receives the draft as it streams.
func (s *Server) Draft(ctx context.Context, u Use, d DraftRequest, onDelta func(string) error) (*DraftResult, error) {
	if len(d.Conversation) == 0 {
		return nil, errInvalidRequest("conversation", "A draft needs the conversation so far.")
	}
	if u.Action == "" {
		u.Action = "ai.draft"
	}
	msgs := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleSystem, Content: draftInstructions(d.Options)}}
	for _, m := range d.Conversation {
		role := openai.ChatMessageRoleUser
		if m.Author == "agent" {
			role = openai.ChatMessageRoleAssistant
		}
		msgs = append(msgs, openai.ChatCompletionMessage{Role: role, Content: m.Text})
	}
	msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser,
		Content: "Write the agent's next reply to the customer."})
	text, r, err := s.complete(ctx, u, "/api/v1/drafts", d.Model, msgs, onDelta)
	if err != nil {
		return nil, err
	}
	return &DraftResult{Draft: text, ContextFields: nonNil(r.ContextFields), Redactions: nonNilMap(r.Redactions), AuditID: r.AuditID}, nil
}

func draftInstructions(o DraftOptions) string {
	tone, lang, words := o.Tone, o.Language, o.MaxWords
	if tone == "" {
		tone = "friendly and clear"
	}
	if lang == "" {
		lang = "en"
	}
	if words <= 0 {
		words = 120
	}
	return fmt.Sprintf("You draft replies for a customer support agent. Write the message the agent could send next: "+
		"a %s tone, in language %q, at most %d words. Use only the customer context you are given and the conversation; "+
		"never invent account facts. Keep placeholders such as [masked:customer.email#1] exactly as written. "+
		"Answer with the message text only.", tone, lang, words)
}

// AskResult is an answer about an account.
type AskResult struct {
	Answer        string   `json:"answer,omitempty"`
	ContextFields []string `json:"context_fields"`
	AuditID       string   `json:"audit_id"`
}

// Ask answers a member's question about a customer's account from its
// approved context and journey, with the same guarantees as a draft.
func (s *Server) Ask(ctx context.Context, u Use, question string, onDelta func(string) error) (*AskResult, error) {
	if strings.TrimSpace(question) == "" {
		return nil, errInvalidRequest("question", "Ask a question.")
	}
	if u.Action == "" {
		u.Action = "ai.ask"
	}
	msgs := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: "You answer a support team member's question about a customer account. " +
			"Use only the customer context you are given; if it does not say, say that you do not know. Be brief."},
		{Role: openai.ChatMessageRoleUser, Content: question},
	}
	text, r, err := s.complete(ctx, u, "/api/v1/ask", "", msgs, onDelta)
	if err != nil {
		return nil, err
	}
	return &AskResult{Answer: text, ContextFields: nonNil(r.ContextFields), AuditID: r.AuditID}, nil
}

// complete runs a chat completion for a use through the pipeline, as an
// OpenAI client of crisp itself: go-openai speaks to the pipeline through
// an in-process transport, so drafts get every stage a proxied request
// gets, streaming included.
func (s *Server) complete(ctx context.Context, u Use, endpoint, model string, msgs []openai.ChatCompletionMessage,
	onDelta func(string) error) (string, *Request, error) {
	if model == "" {
		model = s.opts.AssistModel
	}
	if model == "" {
		model = DefaultAssistModel
	}
	if u.Endpoint == "" {
		u.Endpoint = endpoint
	}
	tr := &inProcess{s: s, use: u}
	cfg := openai.DefaultConfig("in-process")
	cfg.BaseURL = "http://crisp.in-process/v1"
	cfg.HTTPClient = &http.Client{Transport: tr}
	client := openai.NewClientWithConfig(cfg)
	stream, err := client.CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{Model: model, Messages: msgs, Stream: true})
	if err != nil {
		return "", tr.request(), tr.failure(err)
	}
	defer stream.Close()
	var sb strings.Builder
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", tr.request(), tr.failure(err)
		}
		for _, ch := range chunk.Choices {
			if ch.Delta.Content == "" {
				continue
			}
			sb.WriteString(ch.Delta.Content)
			if onDelta != nil {
				if err := onDelta(ch.Delta.Content); err != nil {
					return "", tr.request(), err
				}
			}
		}
	}
	tr.wait()
	return sb.String(), tr.request(), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMap(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

// inProcess is an http.RoundTripper into the pipeline: each request runs
// s.run on a goroutine owned by the round trip, writing into a pipe the
// response body reads from.
type inProcess struct {
	s    *Server
	use  Use
	mu   sync.Mutex
	r    *Request
	done chan struct{}
}

func (t *inProcess) request() *Request {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.r == nil {
		return &Request{}
	}
	return t.r
}

// wait lets the pipeline finish (its log line and audit) before the use
// reports.
func (t *inProcess) wait() {
	if t.done != nil {
		<-t.done
	}
}

// failure turns what the client saw back into crisp's own error.
func (t *inProcess) failure(err error) error {
	t.wait()
	r := t.request()
	if r.ErrCode != "" && r.Status >= 400 {
		return &Error{Status: r.Status, Type: "api_error", Code: r.ErrCode, Message: errorMessage(err), Cause: err}
	}
	return err
}

func errorMessage(err error) string {
	var api *openai.APIError
	if errors.As(err, &api) {
		return api.Message
	}
	return err.Error()
}

func (t *inProcess) RoundTrip(hr *http.Request) (*http.Response, error) {
	ep := providers.Endpoint(strings.TrimPrefix(hr.URL.Path, "/v1/"))
	body, err := io.ReadAll(hr.Body)
	if err != nil {
		return nil, err
	}
	hr.Body = io.NopCloser(strings.NewReader(string(body)))
	hr.ContentLength = int64(len(body))
	use := t.use
	r := &Request{ID: newRequestID(), Start: t.s.now(), Endpoint: ep, HTTP: hr, dialect: dialectOpenAI, use: &use}
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	r.Header = w.header
	t.mu.Lock()
	t.r, t.done = r, make(chan struct{})
	done := t.done
	t.mu.Unlock()
	go func() {
		defer close(done)
		t.s.run(w, r)
		w.WriteHeader(http.StatusOK) // no-op when already written
		pw.Close()
	}()
	select {
	case <-w.ready:
	case <-hr.Context().Done():
		return nil, hr.Context().Err()
	}
	return &http.Response{StatusCode: w.status, Header: w.header, Body: pr, Request: hr, ProtoMajor: 1, ProtoMinor: 1,
		ContentLength: -1}, nil
}

// pipeWriter is the ResponseWriter of an in-process call.
type pipeWriter struct {
	header http.Header
	pw     *io.PipeWriter
	status int
	once   sync.Once
	ready  chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(status int) {
	w.once.Do(func() {
		w.status = status
		close(w.ready)
	})
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(b)
}

// Flush is a no-op: every Write reaches the reader at once.
func (w *pipeWriter) Flush() {}
