// Package server wires a configuration into a running crisp: the store, the
// keys, the providers and the HTTP surfaces, with TLS and graceful shutdown.
// It is the one place that knows every part; the parts know nothing of it.
package server

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/api"
	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/contextpack"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/identity/segment"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/logbuf"
	"github.com/crisphq/crisp/mcp"
	"github.com/crisphq/crisp/policy"
	"github.com/crisphq/crisp/providers"
	"github.com/crisphq/crisp/proxy"
	"github.com/crisphq/crisp/redact"
	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/web"
)

// Server is a configured crisp, ready to serve.
type Server struct {
	cfg      *config.Config
	log      zerolog.Logger
	db       *store.DB
	auth     *keys.Authenticator
	resolver *identity.Resolver
	defs     *definitions
	audit    *audit.Log
	tokens   *contextpack.Counter
	proxy    *proxy.Server
	http     *http.Server
	verifier *identity.Verifier
	ui       *web.Server
	demo     web.SeedResult // the demo sign-ins seeded at this start
}

// New builds every part from cfg.
func New(ctx context.Context, cfg *config.Config, log zerolog.Logger) (*Server, error) {
	router, disabled, err := providers.New(cfg, time.Now)
	if err != nil {
		return nil, err
	}
	for _, d := range disabled {
		log.Info().Str("provider", d.Name).Str("reason", d.Reason).Msg("provider disabled")
	}
	for _, p := range cfg.Providers {
		if p.AllowInsecure {
			log.Warn().Str("provider", p.Name).Str("base_url", p.BaseURL).
				Msg("INSECURE: allow_insecure lets prompts and customer context cross the network unencrypted")
		}
	}
	if router.OnlyOffline() {
		log.Warn().Msg("no LLM provider configured: the built-in offline provider answers every model, and says so (set OPENAI_API_KEY to use OpenAI)")
	}
	s := &Server{cfg: cfg, log: log}
	ok := false
	defer func() {
		if !ok {
			s.closeParts()
		}
	}()
	if s.db, err = store.Open(ctx, cfg.Storage.DSN); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.db.EnsureWorkspace(ctx, store.Workspace{ID: cfg.Workspace.ID, Name: cfg.Workspace.Name}); err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	records, err := configKeys(cfg)
	if err != nil {
		return nil, err
	}
	if s.auth, err = keys.NewAuthenticator(records, storedKeys{s.db}); err != nil {
		return nil, err
	}
	if s.verifier, err = newVerifier(cfg.Identity); err != nil {
		return nil, err
	}
	if s.defs, err = loadDefinitions(cfg, s.catalogOverlay(ctx)); err != nil {
		return nil, err
	}
	if s.resolver, err = identity.NewResolver(s.db, cfg.Identity.CacheSize); err != nil {
		return nil, err
	}
	detectors, err := redact.ParseDetectors(cfg.Redaction.Detectors...)
	if err != nil {
		return nil, err
	}
	if s.tokens, err = contextpack.NewCounter(); err != nil {
		return nil, err
	}
	if s.audit, err = openAudit(ctx, s.db, cfg, log); err != nil {
		return nil, err
	}
	if s.audit != nil {
		if s.defs.watcher != nil {
			s.defs.watcher.OnChange = s.recordPolicyChange
		}
		if err := s.recordDefinitions(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.Seed {
		if err := s.seed(ctx); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
		if err := s.seedUI(ctx); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
	}
	px := proxy.New(proxy.Options{
		Workspace:      cfg.Workspace.ID,
		Keys:           s.auth,
		Router:         router,
		Verifier:       s.verifier,
		Resolver:       s.resolver,
		Policy:         s.defs.decider(),
		Catalog:        s.defs.catalog,
		Detectors:      detectors,
		AssistModel:    cfg.Routing.AssistModel,
		Context:        contextpack.NewBuilder(s.defs.catalog, cfg.Redaction.ContextBudget, s.tokens),
		Audit:          auditor(s.audit),
		AuditFailOpen:  cfg.Audit.FailOpen,
		CatalogVersion: s.defs.catalog.Version(),
		Members:        members{db: s.db, config: records},
		RequireSigned:  cfg.Identity.RequireSigned,
		FlagsMode:      cfg.Flags,
		PseudonymKey:   pseudonymKey(cfg),
		Log:            log,
		MaxBodyBytes:   cfg.Server.MaxBodyBytes,
		Ready:          s.db.Ping,
	})
	s.proxy = px
	if s.ui, err = s.newUI(); err != nil {
		return nil, err
	}
	s.http = &http.Server{
		Handler:           s.routes(px),
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	if cfg.Server.TLS.Enabled() {
		cert, err := tls.LoadX509KeyPair(cfg.Server.TLS.Cert, cfg.Server.TLS.Key)
		if err != nil {
			return nil, fmt.Errorf("load TLS certificate: %w", err)
		}
		s.http.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	ok = true
	return s, nil
}

// closeParts releases what New opened.
func (s *Server) closeParts() {
	if s.proxy != nil {
		s.proxy.Close()
	}
	if s.audit != nil {
		if err := s.audit.Close(); err != nil {
			s.log.Error().Err(err).Msg("audit: close")
		}
	}
	if s.defs != nil {
		s.defs.close()
	}
	if s.tokens != nil {
		s.tokens.Close()
	}
	if s.resolver != nil {
		s.resolver.Close()
	}
	if s.auth != nil {
		s.auth.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
}

// configKeys turns the configured keys into records.
func configKeys(cfg *config.Config) ([]keys.Record, error) {
	out := make([]keys.Record, 0, len(cfg.Keys))
	for _, k := range cfg.Keys {
		h, err := hex.DecodeString(k.SHA256)
		if err != nil || len(h) != 32 {
			return nil, fmt.Errorf("key %s: bad sha256", k.ID)
		}
		rec := keys.Record{Caller: keys.Caller{
			Workspace: cfg.Workspace.ID, KeyID: k.ID, Name: k.Name, Kind: k.Kind, Member: k.Member,
			Role: k.Role, Teams: k.Teams, Actions: k.Actions, DefaultAction: k.DefaultAction, Models: k.Models,
		}}
		rec.Prefix = k.Prefix
		copy(rec.SHA256[:], h)
		out = append(out, rec)
	}
	return out, nil
}

// Handler is the whole HTTP surface, for tests and benchmarks that serve it
// on their own listener.
func (s *Server) Handler() http.Handler { return s.http.Handler }

// Serve accepts connections on ln until ctx ends, then shuts down
// gracefully: the listener closes at once (new connections are refused),
// in-flight requests and streams get ShutdownTimeout to finish, and what is
// left after that is cut.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	// The policy watcher lives as long as serving does.
	wctx, stopWatch := context.WithCancel(s.log.WithContext(ctx))
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		s.defs.watch(wctx)
	}()
	defer func() { stopWatch(); <-watchDone }()
	errc := make(chan error, 1)
	go func() {
		if s.http.TLSConfig != nil {
			errc <- s.http.Serve(tls.NewListener(ln, s.http.TLSConfig))
		} else {
			errc <- s.http.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.proxy.Drain()
	s.log.Info().Dur("timeout", s.cfg.Server.ShutdownTimeout).Msg("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Server.ShutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn().Msg("shutdown timeout: cutting the requests still running")
		err = s.http.Close()
	}
	<-errc // Serve has returned ErrServerClosed
	s.closeParts()
	return err
}

// ListenAndServe listens on the configured address and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context, started func(addr string)) error {
	ln, err := net.Listen("tcp", s.cfg.Server.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if started != nil {
		started(ln.Addr().String())
	}
	return s.Serve(ctx, ln)
}

// NewLogger builds the process logger: JSON, or console lines on a terminal.
func NewLogger(cfg config.Logging, w io.Writer) zerolog.Logger {
	return newLogger(cfg, w, isTerminal(w))
}

// NewBufferedLogger is NewLogger writing through a logbuf.Writer, so no
// request waits on the log's write(2); close writes out what is left.
func NewBufferedLogger(cfg config.Logging, w io.Writer) (log zerolog.Logger, close func() error) {
	lw := logbuf.New(w, 50*time.Millisecond, 64<<10)
	return newLogger(cfg, lw, isTerminal(w)), lw.Close
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

func newLogger(cfg config.Logging, w io.Writer, terminal bool) zerolog.Logger {
	console := cfg.Format == "console" || (cfg.Format == "auto" && terminal)
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	lvl, err := zerolog.ParseLevel(cfg.Level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// Check decides a policy question without an AI call, for `crisp policy
// explain`.
func (s *Server) Check(ctx context.Context, cr proxy.CheckRequest) (policy.Decision, error) {
	return s.proxy.Check(ctx, s.cfg.Workspace.ID, cr)
}

// Close releases what New opened, for commands that never Serve.
func (s *Server) Close() { s.closeParts() }

// routes puts the identity APIs beside the proxy, which serves the rest:
// Segment's tracking API under /ingest/, the customers and accounts API
// under /api/v1/.
func (s *Server) routes(px http.Handler) http.Handler {
	writeKeys := make([]string, 0, len(s.cfg.Ingest.WriteKeys))
	for _, k := range s.cfg.Ingest.WriteKeys {
		writeKeys = append(writeKeys, k.Value())
	}
	mux := http.NewServeMux()
	mux.Handle(segment.PathPrefix, segment.New(segment.Options{
		Workspace: s.cfg.Workspace.ID, WriteKeys: writeKeys, MaxBatchBytes: s.cfg.Ingest.MaxBatchBytes,
		Store: s.db, Invalidator: s.resolver, Log: s.log,
	}))
	rest := api.New(api.Options{Keys: s.auth, Store: s.db, Catalog: s.defs.catalog, Invalidator: s.resolver,
		MaxBodyBytes: s.cfg.Server.MaxBodyBytes, Log: s.log})
	for _, p := range []string{"/api/v1/customers", "/api/v1/customers/", "/api/v1/accounts", "/api/v1/accounts/"} {
		mux.Handle(p, rest)
	}
	if s.audit != nil {
		mux.Handle("/api/v1/audit", audit.Handler(s.audit, s.adminAuth))
		mux.Handle("/api/v1/audit/", audit.Handler(s.audit, s.adminAuth))
	}
	s.mountUI(mux)
	mux.Handle(mcp.Path, s.MCP().Handler())
	mux.Handle("/", px)
	return mux
}

// seed imports the example data (seed/*.jsonl beside crisp.yaml) into a
// workspace that has no accounts yet, by the same code as `crisp import`.
func (s *Server) seed(ctx context.Context) error {
	ws := s.cfg.Workspace.ID
	accounts, _, err := s.db.ListAccounts(ctx, ws, store.ListOptions{Limit: 1})
	if err != nil || len(accounts) > 0 {
		return err
	}
	names, err := fs.Glob(s.defs.fsys, "seed/*.jsonl")
	if err != nil {
		return err
	}
	files := make([]segment.File, 0, len(names))
	for _, n := range names {
		f, err := segment.FSFile(s.defs.fsys, n, "")
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		s.log.Info().Msg("seed: no seed/*.jsonl beside the configuration; nothing to import")
		return nil
	}
	res, err := segment.Import(ctx, segment.ImportOptions{Workspace: ws, Store: s.db, Invalidator: s.resolver,
		Catalog: s.defs.catalog, Source: "seed"}, files...)
	if err != nil {
		return err
	}
	w := res.Written
	s.log.Info().Str("workspace", ws).Int("files", res.Files).Int("rows", res.Rows).Int("accounts", w.Accounts).
		Int("customers", w.Customers).Int("events", w.Events).Msg("seeded the example workspace")
	return nil
}
