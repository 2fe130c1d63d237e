package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/policy"
	"github.com/crisphq/crisp/proxy"
	"github.com/crisphq/crisp/store"
)

//go:embed static templates
var assets embed.FS

// AI is the governed pipeline the UI calls directly: *proxy.Server. Every
// method decides policy and (except Check) writes the audit record.
type AI interface {
	ContextFor(ctx context.Context, u proxy.Use) (*proxy.ContextResult, error)
	Draft(ctx context.Context, u proxy.Use, d proxy.DraftRequest, onDelta func(string) error) (*proxy.DraftResult, error)
	Ask(ctx context.Context, u proxy.Use, question string, onDelta func(string) error) (*proxy.AskResult, error)
	Check(ctx context.Context, ws string, cr proxy.CheckRequest) (policy.Decision, error)
}

// Resolver finds a customer and account as the pipeline does
// (*identity.Resolver).
type Resolver interface {
	Resolve(ctx context.Context, ws, customerID, accountID string) (*identity.Subject, error)
}

// Definitions are the workspace's definitions as code.
type Definitions struct {
	FS       fs.FS  // crisp.yaml's folder, or the embedded example
	Dir      string // that folder on disk; "" for the embedded example
	Catalog  string // the catalog file inside FS, e.g. catalog.yaml
	Policies string // the policies folder inside FS, e.g. policies
}

// Options are the UI's dependencies.
type Options struct {
	Workspace     string
	WorkspaceName string
	Store         *store.DB
	AI            AI
	Resolver      Resolver
	Audit         *audit.Log
	// Catalog is the catalog crisp is running with; edits made here show
	// at once in the UI and reach AI requests when crisp next loads its
	// definitions.
	Catalog     *catalog.Catalog
	Definitions Definitions
	// ConfigKeys are the keys crisp.yaml configures, listed read-only on
	// the keys page (their Hash is never shown); nil makes the page say
	// they live in crisp.yaml.
	ConfigKeys []store.APIKey
	Log        zerolog.Logger
	// Now is the clock; nil means time.Now. SessionTTL bounds a session's
	// life (12h when zero).
	Now        func() time.Time
	SessionTTL time.Duration
}

// Server serves the workspace UI.
type Server struct {
	opts     Options
	sessions *sessions
	pages    *pages
	mux      *http.ServeMux
	static   http.Handler
	version  string // of the static files, to bust caches
	demoOnce sync.Once
	demo     *demoHint
	editMu   sync.Mutex // serialises catalog edits
	keysMu   sync.Mutex // serialises key changes
	policyMu sync.Mutex // serialises policy edits
}

// New builds the UI.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.WorkspaceName == "" {
		opts.WorkspaceName = opts.Workspace
	}
	if opts.Definitions.Catalog == "" {
		opts.Definitions.Catalog = "catalog.yaml"
	}
	if opts.Definitions.Policies == "" {
		opts.Definitions.Policies = "policies"
	}
	s := &Server{opts: opts, sessions: newSessions(opts.SessionTTL, opts.Now), mux: http.NewServeMux()}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	if s.version, err = hashFS(static); err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	s.static = http.StripPrefix("/static/", http.FileServerFS(static))
	if s.pages, err = loadPages(s.version); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// hashFS fingerprints the static files so their URLs change with them.
func hashFS(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		h.Write([]byte(p))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12], err
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/inbox", http.StatusSeeOther)
	})
	m.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/inbox", http.StatusSeeOther)
	})
	m.HandleFunc("GET /static/", s.serveStatic)
	m.HandleFunc("GET /ui/signin", s.signinForm)
	m.HandleFunc("POST /ui/signin", s.signin)
	m.Handle("POST /ui/signout", s.member(s.signout))

	m.Handle("GET /ui/inbox", s.member(s.inbox))
	m.Handle("GET /ui/inbox/{id}", s.member(s.inbox))
	m.Handle("POST /ui/inbox/{id}/draft", s.member(s.draft))
	m.Handle("POST /ui/inbox/{id}/ask", s.member(s.ask))
	m.Handle("POST /ui/inbox/{id}/context", s.member(s.aiContext))
	m.Handle("POST /ui/inbox/{id}/reply", s.member(s.reply))
	m.Handle("POST /ui/inbox/{id}/state", s.member(s.setState))

	m.Handle("GET /ui/catalog", s.member(s.catalogPage))
	m.Handle("GET /ui/catalog/history", s.member(s.history))
	m.Handle("GET /ui/catalog/{kind}/{name}", s.member(s.entryPage))
	m.Handle("GET /ui/catalog/{kind}/{name}/edit", s.admin(s.editForm))
	m.Handle("POST /ui/catalog/{kind}/{name}/edit", s.admin(s.saveEdit))

	m.Handle("GET /ui/policies", s.member(s.policiesPage))
	m.Handle("GET /ui/policies/{file}/edit", s.admin(s.policyEditForm))
	m.Handle("POST /ui/policies/{file}/edit", s.admin(s.savePolicy))

	m.Handle("GET /ui/keys", s.admin(s.keysPage))
	m.Handle("POST /ui/keys", s.admin(s.createKey))
	m.Handle("POST /ui/keys/{id}/revoke", s.admin(s.revokeKey))

	m.Handle("GET /ui/usage", s.member(s.usagePage))
	m.Handle("GET /ui/usage/verify", s.admin(s.verify))
	m.Handle("GET /ui/usage/export", s.admin(s.export))
	m.Handle("GET /ui/usage/{id}", s.member(s.recordPage))

	m.Handle("/ui/", s.member(func(w http.ResponseWriter, r *http.Request, v *viewer) error {
		return errNotFound("There is no page at " + r.URL.Path + ".")
	}))
}

// ServeHTTP implements http.Handler, with the headers every page carries.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Everything is served from here: no inline script or style, no
	// framing, no third-party anything.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/") {
		http.NotFound(w, r) // no directory listings
		return
	}
	if r.URL.Query().Get("v") == s.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	s.static.ServeHTTP(w, r)
}

// viewer is the signed-in member a page is rendered for.
type viewer struct {
	Member store.Member
	Admin  bool
	CSRF   string
	token  string
	caller *keys.Caller
}

// Caller is the member as the pipeline sees them.
func (v *viewer) Caller() *keys.Caller { return v.caller }

// RoleLabel is what the header shows.
func (v *viewer) RoleLabel() string {
	if v.Admin {
		return "admin"
	}
	return "member · " + v.Member.Role
}

// Initial is the avatar letter.
func (v *viewer) Initial() string {
	n := v.Member.Name
	if n == "" {
		n = v.Member.Email
	}
	return strings.ToUpper(n[:1])
}

func (s *Server) callerFor(m store.Member) *keys.Caller {
	return &keys.Caller{Workspace: s.opts.Workspace, KeyID: "member:" + m.Email, Name: m.Name, Kind: "member",
		Member: m.Email, Role: m.Role, Teams: m.Teams, Actions: []string{"ai.*"}, DefaultAction: "ai.draft"}
}

// maxForm bounds a form's body: a reply is the largest thing a form sends.
const maxForm = 256 << 10

// handler serves one page or action for a signed-in member.
type handler func(w http.ResponseWriter, r *http.Request, v *viewer) error

// member wraps h: a session is required, and every state-changing request
// must carry the session's CSRF token.
func (s *Server) member(h handler) http.Handler { return s.guard(h, false) }

// admin is member for admins only.
func (s *Server) admin(h handler) http.Handler { return s.guard(h, true) }

func (s *Server) guard(h handler, adminOnly bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		v, err := s.viewerFor(r)
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		if v == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/ui/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.fail(w, r, nil, &httpError{Status: http.StatusUnauthorized, Message: "Your session has ended. Sign in again."})
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := s.checkCSRF(r, v); err != nil {
				s.fail(w, r, v, err)
				return
			}
		}
		if adminOnly && !v.Admin {
			s.fail(w, r, v, &httpError{Status: http.StatusForbidden, Title: "Admins only",
				Message: "Only workspace admins can do this. Members view, draft and reply; ask an admin to change the catalog, policies or keys, or to review the whole audit trail."})
			return
		}
		if err := h(w, r, v); err != nil {
			s.fail(w, r, v, err)
		}
	})
}

// viewerFor finds the session's member; nil when signed out.
func (s *Server) viewerFor(r *http.Request) (*viewer, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, nil
	}
	sess, ok := s.sessions.get(c.Value)
	if !ok {
		return nil, nil
	}
	m, err := s.opts.Store.Member(r.Context(), s.opts.Workspace, sess.email)
	if errors.Is(err, store.ErrNotFound) {
		s.sessions.end(c.Value) // the member was removed
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m.PasswordHash = ""
	return &viewer{Member: m, Admin: m.Role == "admin", CSRF: sess.csrf, token: c.Value, caller: s.callerFor(m)}, nil
}

// checkCSRF wants the session's token in the X-CSRF-Token header or the
// csrf form field, and a same-origin Origin when the browser sends one.
func (s *Server) checkCSRF(r *http.Request, v *viewer) error {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return &httpError{Status: http.StatusForbidden, Title: "Cross-site request refused",
				Message: "This request came from another site, so crisp refused it."}
		}
	}
	token := r.Header.Get("X-CSRF-Token")
	if token == "" {
		token = r.PostFormValue("csrf")
	}
	if !sameToken(token, v.CSRF) {
		return &httpError{Status: http.StatusForbidden, Title: "Form expired",
			Message: "This form's security token does not match your session. Reload the page and try again."}
	}
	return nil
}

// httpError is a refusal to show: Message is safe for the member to read.
type httpError struct {
	Status  int
	Title   string
	Message string
	Cause   error // logged, never shown
}

func (e *httpError) Error() string {
	if e.Cause != nil {
		return e.Message + ": " + e.Cause.Error()
	}
	return e.Message
}

func (e *httpError) Unwrap() error { return e.Cause }

func errNotFound(msg string) *httpError {
	return &httpError{Status: http.StatusNotFound, Title: "Not found", Message: msg}
}

func errBadRequest(msg string) *httpError {
	return &httpError{Status: http.StatusBadRequest, Title: "That did not work", Message: msg}
}

// fail renders err as a page (or as JSON for scripts), logging the cause.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = &httpError{Status: http.StatusInternalServerError, Title: "Something went wrong",
			Message: "crisp could not finish this request. The details are in the server log.", Cause: err}
	}
	if he.Title == "" {
		he.Title = http.StatusText(he.Status)
	}
	ev := s.opts.Log.Debug()
	if he.Status >= 500 {
		ev = s.opts.Log.Error()
	}
	ev.Str("path", r.URL.Path).Int("status", he.Status).AnErr("cause", he.Cause).Msg("web: request failed")
	if wantsJSON(r) {
		writeJSON(w, he.Status, map[string]any{"error": map[string]string{"message": he.Message}})
		return
	}
	s.render(w, r, v, he.Status, "error", he.Title, he)
}

func wantsJSON(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/json") || strings.Contains(a, "text/event-stream")
}
