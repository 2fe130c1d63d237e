// Package providers owns the upstream LLM providers: how each dialect's URL
// and credentials are built, which models each serves, and the built-in
// offline provider. A provider key lives only here and in the outbound
// request; it is never logged, echoed or returned.
package providers

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Endpoint is an OpenAI API path, relative to a provider's base URL.
type Endpoint string

// The endpoints crisp forwards.
const (
	ChatCompletions Endpoint = "chat/completions"
	Responses       Endpoint = "responses"
	Embeddings      Endpoint = "embeddings"
	Models          Endpoint = "models"
)

// Call is one upstream call. The body is what the pipeline decided to send.
type Call struct {
	Endpoint Endpoint
	Model    string
	Body     []byte
	Stream   bool
}

// Provider is one configured upstream. Implementations are safe for
// concurrent use: NewRequest is called once per request and keeps no
// per-request state.
type Provider interface {
	// Name is the configured name, for routes, logs and audit.
	Name() string
	// Type is the dialect (openai, azure, openrouter, ollama,
	// openai_compatible, offline).
	Type() string
	// NewRequest builds the upstream request: URL, credentials, body.
	NewRequest(ctx context.Context, c Call) (*http.Request, error)
	// Client sends the requests NewRequest builds.
	Client() *http.Client
	// Timeouts bound each phase of a call.
	Timeouts() Timeouts
}

// ModelLister is a provider that can say which models it serves.
type ModelLister interface {
	ListModels(ctx context.Context) ([]string, error)
}

// Timeouts bound an upstream call.
type Timeouts struct {
	FirstByte time.Duration // until response headers
	Idle      time.Duration // between two body reads
}

// ErrModelNotFound means no provider serves the requested model.
var ErrModelNotFound = errors.New("model not found")

// Scrubber is a provider that can remove its own credentials from text
// bound for a caller or a log.
type Scrubber interface {
	Scrub(b []byte) []byte
}
