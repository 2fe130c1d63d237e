// Package proxy is crisp's HTTP surface for AI clients: the OpenAI-compatible
// endpoints and the request pipeline every AI use passes through. Nothing
// reaches a provider except through Server.serveAI; every refusal is decided
// before a response header is sent, and after that an error can only end
// the stream.
package proxy

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/contextpack"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/providers"
	"github.com/crisphq/crisp/redact"
)

// Options are the proxy's dependencies.
type Options struct {
	Workspace string
	Keys      *keys.Authenticator
	Router    *providers.Router
	// Verifier checks signed customer identity; Resolver finds the customer
	// and account it names.
	Verifier *identity.Verifier
	Resolver *identity.Resolver
	// Audit records every AI use; AuditFailOpen lets uses go on when it
	// cannot (off by default: no audit, no AI use). CatalogVersion goes
	// into each record.
	Audit          Auditor
	AuditFailOpen  bool
	CatalogVersion string
	// Catalog says what each field is; Detectors are the secret detectors
	// that run on every request and answer.
	Catalog   *catalog.Catalog
	Detectors redact.Detectors
	// Context builds the approved context packs.
	Context *contextpack.Builder
	// AssistModel is the model drafts and answers use (routing.assist_model).
	AssistModel string
	// Policy decides each AI use; Members names members for policy checks.
	Policy  Decider
	Members Members
	// RequireSigned refuses an unverified customer identity with 403.
	RequireSigned bool
	// FlagsMode is FlagsRewrite or FlagsReject; PseudonymKey keys the
	// pseudonyms that replace raw identifiers.
	FlagsMode    string
	PseudonymKey []byte
	Log          zerolog.Logger
	MaxBodyBytes int64
	// Ready reports whether dependencies (the store) can serve; nil means yes.
	Ready func(context.Context) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server serves the OpenAI-compatible API.
type Server struct {
	opts     Options
	now      func() time.Time
	log      zerolog.Logger
	stages   []Stage
	response []ResponseStage
	draining atomic.Bool
	mux      *http.ServeMux
	// redactors caches compiled redactors by their values (see newRedaction).
	redactors *ristretto.Cache[string, *redact.Redactor]
	// packs caches built context packs by subject version, visibility and
	// action (see buildPack): a few KB each.
	packs *ristretto.Cache[string, *builtPack]
	// bare is the redactor of a request with no values (it names no
	// customer, or one with nothing to hide): the detectors alone. Most
	// requests use it, so it is compiled once and never evicted.
	bare    *redact.Redactor
	bareErr error
}

// New builds the proxy and its pipeline.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 4 << 20
	}
	s := &Server{opts: opts, now: opts.Now, log: opts.Log}
	// A redactor of a customer's values is ~100 KB; 2,000 of them bound the
	// cache near 200 MB at worst, while the active customers stay hot.
	s.redactors, _ = ristretto.NewCache(&ristretto.Config[string, *redact.Redactor]{
		NumCounters: 20_000, MaxCost: 2_000, BufferItems: 64, IgnoreInternalCost: true,
	})
	s.packs, _ = ristretto.NewCache(&ristretto.Config[string, *builtPack]{
		NumCounters: 10_000, MaxCost: 1_000, BufferItems: 64, IgnoreInternalCost: true,
	})
	// An error here fails every request that needs it (fail closed), with
	// the cause in errRedaction, rather than refusing to start.
	s.bare, s.bareErr = redact.Compile(nil, opts.Detectors)
	s.stages, s.response = s.pipeline()
	s.mux = http.NewServeMux()
	s.routes()
	return s
}

func (s *Server) routes() {
	ai := func(ep providers.Endpoint) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { s.serveAI(w, r, ep) }
	}
	s.mux.HandleFunc("POST /v1/chat/completions", ai(providers.ChatCompletions))
	s.mux.HandleFunc("POST /v1/responses", ai(providers.Responses))
	s.mux.HandleFunc("POST /v1/embeddings", ai(providers.Embeddings))
	s.mux.HandleFunc("POST /v1/messages", s.serveMessages)
	s.mux.HandleFunc("GET /v1/models", s.serveModels)
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.HandleFunc("GET /readyz", s.serveReady)
	s.mux.HandleFunc("POST /api/v1/policy/check", s.serveCheck)
	s.mux.HandleFunc("GET /api/v1/context", s.serveContext)
	s.mux.HandleFunc("POST /api/v1/drafts", s.serveDraft)
	s.mux.HandleFunc("POST /api/v1/ask", s.serveAsk)
	s.mux.HandleFunc("/v1/", s.serveUnknown)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close releases the caches.
func (s *Server) Close() {
	s.redactors.Close()
	s.packs.Close()
}

// Drain marks the server as shutting down: /readyz fails so load balancers
// stop sending, while in-flight work finishes.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}`))
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"draining"}`))
		return
	}
	if s.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.opts.Ready(ctx); err != nil {
			s.log.Warn().Err(err).Msg("not ready")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"unavailable"}`))
			return
		}
	}
	_, _ = w.Write([]byte(`{"status":"ready"}`))
}

// serveUnknown answers paths and methods the API does not have in OpenAI's
// shape, so SDKs report them clearly instead of failing to parse text.
func (s *Server) serveUnknown(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/models":
		w.Header().Set("Allow", allowFor(r.URL.Path))
		writeError(w, dialectOpenAI, errMethod(r.Method, r.URL.Path))
	default:
		writeError(w, dialectOpenAI, errNotFound(r.URL.Path))
	}
}

func allowFor(path string) string {
	if path == "/v1/models" {
		return "GET"
	}
	return "POST"
}
