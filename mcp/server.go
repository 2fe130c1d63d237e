package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/proxy"
	"github.com/crisphq/crisp/store"
)

// Path is where the streamable HTTP handler is mounted.
const Path = "/mcp"

// Authenticator finds the caller behind a crisp key.
type Authenticator interface {
	Authenticate(ctx context.Context, key string) (*keys.Caller, error)
}

// Store is what the tools read directly: the customer directory and
// journeys. Everything else comes through the proxy's pipeline.
type Store interface {
	ListCustomers(ctx context.Context, ws string, opt store.ListOptions) ([]store.Customer, string, error)
	ListAccounts(ctx context.Context, ws string, opt store.ListOptions) ([]store.Account, string, error)
	Journey(ctx context.Context, ws, customerID string, limit int) ([]store.Event, error)
}

// Options are the tool server's dependencies.
type Options struct {
	Workspace string
	// Proxy is the pipeline every tool call goes through: policy, redaction,
	// audit.
	Proxy   *proxy.Server
	Keys    Authenticator
	Store   Store
	Catalog *catalog.Catalog
	Log     zerolog.Logger
	// Version is reported to clients as the server's version.
	Version string
	// SessionTimeout closes streamable HTTP sessions idle this long; zero
	// means DefaultSessionTimeout.
	SessionTimeout time.Duration
}

// DefaultSessionTimeout bounds how long an idle HTTP session is kept.
const DefaultSessionTimeout = 30 * time.Minute

// Server serves crisp's tools to MCP clients. It is safe for concurrent use.
type Server struct {
	opts Options
}

// New builds the tool server.
func New(opts Options) *Server {
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.SessionTimeout <= 0 {
		opts.SessionTimeout = DefaultSessionTimeout
	}
	return &Server{opts: opts}
}

// instructions tell the agent how to use the tools well.
const instructions = `Crisp gives you policy-approved context about a support team's customers. ` +
	`Name a customer with customer_id and, to prove the identity, user_hash or identity_token ` +
	`(from the support tool): most tools refuse an unsigned customer. Values you are not allowed ` +
	`to see are left out or shown as placeholders such as [masked:customer.email#1]; keep placeholders ` +
	`as written. When a tool is refused, its text says which rule decided; call explain_access to ` +
	`learn what would change it. Start with search_customers to find a customer, then ` +
	`get_customer_context, get_journey and draft_reply.`

// sdkServer builds the MCP server with every tool and resource. With a key
// (stdio) every call is that key's; without one (HTTP) each request's
// caller comes from its bearer key.
func (s *Server) sdkServer(key string) *sdk.Server {
	srv := sdk.NewServer(&sdk.Implementation{Name: "crisp", Title: "Crisp: governed customer context", Version: s.opts.Version},
		&sdk.ServerOptions{Instructions: instructions})
	t := newTools(s, key)
	t.register(srv)
	t.registerResources(srv)
	return srv
}

// Handler is the streamable HTTP endpoint. Each request must carry a crisp
// key as "Authorization: Bearer"; a session stays bound to the key that
// opened it. Every answer is one JSON response to one POST: crisp sends
// nothing unasked, so it offers no standing SSE stream (GET is 405, as the
// transport spec allows), and no idle stream holds up a graceful shutdown.
func (s *Server) Handler() http.Handler {
	srv := s.sdkServer("")
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv },
		&sdk.StreamableHTTPOptions{SessionTimeout: s.opts.SessionTimeout, JSONResponse: true})
	return s.requireKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Header().Set("Allow", "POST, DELETE")
			writeJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed",
				"crisp offers no server-sent event stream: POST each JSON-RPC message to /mcp.")
			return
		}
		h.ServeHTTP(w, r)
	}))
}

// Serve serves one MCP session over in and out (newline-delimited JSON-RPC,
// as stdio) as key, until the client closes in or ctx ends. A bad key ends
// it before it starts; nothing but the protocol is written to out.
func (s *Server) Serve(ctx context.Context, key string, in io.Reader, out io.Writer) error {
	caller, err := s.opts.Keys.Authenticate(ctx, key)
	if err != nil {
		if errors.Is(err, keys.ErrUnknown) {
			return fmt.Errorf("the crisp key is unknown or revoked (give it with --key or CRISP_KEY)")
		}
		return fmt.Errorf("check the crisp key: %w", err)
	}
	s.opts.Log.Info().Str("key_id", caller.KeyID).Str("member", caller.Member).Msg("mcp: serving over stdio")
	err = s.sdkServer(key).Run(ctx, &sdk.IOTransport{Reader: io.NopCloser(in), Writer: nopWriteCloser{out}})
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, io.EOF)) {
		return nil
	}
	return err
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
