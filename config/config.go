// Package config loads and validates crisp.yaml, the server's configuration
// as code. Loading is strict: an unknown key, a value of the wrong type or a
// value that fails validation is an error naming the file, line and field,
// and every problem is reported at once rather than one per restart.
//
// Secrets come in through ${ENV} expansion and are held in [Secret], which
// never prints its value.
package config

import (
	"time"

	"github.com/crisphq/crisp/audit"
)

// Config is the whole of crisp.yaml.
type Config struct {
	Workspace Workspace  `yaml:"workspace"`
	Server    Server     `yaml:"server"`
	Storage   Storage    `yaml:"storage"`
	Providers []Provider `yaml:"providers"`
	Routing   Routing    `yaml:"routing"`
	Keys      []Key      `yaml:"keys"`
	Identity  Identity   `yaml:"identity"`
	// Flags is how crisp enforces no training and no storage: rewrite (the
	// default) sets the provider's fields, reject refuses a request that
	// asks for storage with 400 training_forbidden.
	Flags   string  `yaml:"flags"`
	Ingest  Ingest  `yaml:"ingest"`
	Logging Logging `yaml:"logging"`
	// Audit is the tamper-evident record of every AI use.
	Audit audit.Config `yaml:"audit"`
	// Redaction configures what crisp removes from requests and answers.
	Redaction Redaction `yaml:"redaction"`

	// Catalog is the catalog file, relative to this file's folder.
	// Default catalog.yaml.
	Catalog string `yaml:"catalog"`
	// Policies is the folder of *.rules files, relative to this file's
	// folder. Default policies.
	Policies string `yaml:"policies"`
	// Seed loads the example workspace's customers, accounts and journey
	// (seed/*.jsonl beside this file) into an empty workspace at start.
	Seed bool `yaml:"seed"`

	// File is where the configuration came from, for messages.
	File string `yaml:"-"`
	// Dir is the definitions folder (catalog, policies, seed data) on disk;
	// empty means the example workspace embedded in the binary.
	Dir string `yaml:"-"`
}

// Workspace names the workspace this configuration serves. Every stored row
// is scoped by its id.
type Workspace struct {
	// ID is the workspace's stable identifier. Required.
	ID string `yaml:"id"`
	// Name is shown to people. Defaults to ID.
	Name string `yaml:"name"`
}

// Server is the HTTP listener.
type Server struct {
	// Addr is host:port to listen on. Default 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// MaxBodyBytes caps a request body; larger ones get 413. Default 4 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// ReadHeaderTimeout bounds how long a client may take to send headers. Default 10s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ShutdownTimeout bounds how long in-flight requests and streams may run
	// after SIGTERM before they are cut. Default 20s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// TLS, when both files are set, makes the server HTTPS only (TLS 1.2+).
	TLS TLS `yaml:"tls"`
}

// TLS names a certificate and its private key, PEM encoded.
type TLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Enabled reports whether both files are set.
func (t TLS) Enabled() bool { return t.Cert != "" && t.Key != "" }

// Storage says where state lives.
type Storage struct {
	// DSN is sqlite:PATH (default sqlite:crisp.db) or a postgres:// URL.
	DSN string `yaml:"dsn"`
}

// Provider is one upstream LLM provider, configured by name.
type Provider struct {
	// Name is how routes and logs refer to it. Required, unique.
	Name string `yaml:"name"`
	// Type is the dialect: openai, azure, openrouter, ollama or
	// openai_compatible. Required.
	Type string `yaml:"type"`
	// BaseURL is the API root, e.g. https://api.openai.com/v1. It must be
	// https:// unless the host is a loopback address or AllowInsecure is set.
	BaseURL string `yaml:"base_url"`
	// APIKey authenticates crisp to the provider. It never leaves crisp. For
	// openai, azure and openrouter an empty key disables the provider.
	APIKey Secret `yaml:"api_key"`
	// Models this provider serves: exact names or patterns with *, matched in
	// configuration order. Exact names are listed by GET /v1/models.
	Models []string `yaml:"models"`
	// APIVersion selects Azure's deployment-style URLs
	// (/openai/deployments/{deployment}/…?api-version=…). Empty means Azure's v1 API.
	APIVersion string `yaml:"api_version"`
	// Deployments maps a model name to an Azure deployment. Default: the model name.
	Deployments map[string]string `yaml:"deployments"`
	// Headers are extra request headers sent upstream (e.g. OpenRouter's X-Title).
	Headers map[string]string `yaml:"headers"`
	// AllowInsecure permits a plain http:// base URL off loopback. Logged loudly.
	AllowInsecure bool `yaml:"allow_insecure"`
	// CAFile adds PEM certificates to trust for this provider, beside the system's.
	CAFile string `yaml:"ca_file"`
	// Timeouts bound each phase of an upstream call.
	Timeouts Timeouts `yaml:"timeouts"`
}

// Timeouts bound an upstream call. A stalled upstream yields 504 before the
// response starts, or an aborted stream after.
type Timeouts struct {
	// Connect bounds dialling and the TLS handshake. Default 10s.
	Connect time.Duration `yaml:"connect"`
	// FirstByte bounds the wait for response headers. Default 120s.
	FirstByte time.Duration `yaml:"first_byte"`
	// Idle bounds the gap between two reads of a response body. Default 120s.
	Idle time.Duration `yaml:"idle"`
}

// Routing maps requested model names to providers.
type Routing struct {
	// Aliases rename a requested model before routing, e.g. fast: gpt-4o-mini.
	Aliases map[string]string `yaml:"aliases"`
	// Default names the provider for models no provider claims. Empty means
	// such models get 404 model_not_found (unless only offline is enabled).
	Default string `yaml:"default"`
	// AssistModel is the model crisp's own drafts and answers use.
	// Default crisp-default (an alias the example configuration routes).
	AssistModel string `yaml:"assist_model"`
}

// Key is one crisp API key. Only its sha256 is configured.
type Key struct {
	// ID is the key's stable identifier, used in logs and audit. Required.
	ID string `yaml:"id"`
	// Name is a label for people.
	Name string `yaml:"name"`
	// Kind is member (a person) or workflow (an automation). Default member.
	Kind string `yaml:"kind"`
	// Member is the member's email, for member keys.
	Member string `yaml:"member"`
	// Role is the asker's role as policy sees it (user.role). Required.
	Role string `yaml:"role"`
	// Teams are the asker's teams (user.teams).
	Teams []string `yaml:"teams"`
	// Actions the key may use: exact names or patterns such as ai.*. Required.
	Actions []string `yaml:"actions"`
	// DefaultAction applies when a request names no X-Crisp-Action and names
	// a customer. Default ai.draft.
	DefaultAction string `yaml:"default_action"`
	// Models the key may call (patterns with *). Empty means all.
	Models []string `yaml:"models"`
	// Prefix is the key's first 12 characters, kept in clear to find it.
	// Required.
	Prefix string `yaml:"prefix"`
	// SHA256 is the lowercase hex sha256 of the key. Required.
	SHA256 string `yaml:"sha256"`
}

// Identity says how a customer's identity is signed. Several secrets may
// be active at once, so one can be rotated without a gap.
type Identity struct {
	// RequireSigned refuses (403 identity_unverified) a request that names a
	// customer without a valid signature. Otherwise it goes on with
	// signedIdentity false, for policy to decide.
	RequireSigned bool `yaml:"require_signed_identity"`
	// Secrets sign X-Crisp-User-Hash (HMAC-SHA256) and HS256 identity tokens.
	Secrets []IdentitySecret `yaml:"secrets"`
	// RSAKeys verify RS256 identity tokens, selected by the token's kid.
	RSAKeys []RSAKey `yaml:"rsa_keys"`
	// CacheSize bounds how many resolved customers and accounts are cached. Default 10000.
	CacheSize int64 `yaml:"cache_size"`
}

// IdentitySecret is one HMAC secret; ID is the JWT kid that selects it.
type IdentitySecret struct {
	ID  string `yaml:"id"`
	Key Secret `yaml:"key"`
}

// RSAKey is a PEM public key file for RS256 identity tokens.
type RSAKey struct {
	ID            string `yaml:"id"`
	PublicKeyFile string `yaml:"public_key_file"`
}

// Ingest is the Segment-compatible tracking API at /ingest/v1/….
type Ingest struct {
	// WriteKeys are accepted as the Basic auth user, as Segment sends them.
	WriteKeys []Secret `yaml:"write_keys"`
	// MaxBatchBytes caps one request body. Default 512000 (Segment's 500 KB).
	MaxBatchBytes int64 `yaml:"max_batch_bytes"`
}

// Redaction configures the secret detectors and the context budget.
type Redaction struct {
	// Detectors run on every request and answer, for secrets no catalog
	// lists: email, phone, card, iban, api_key, ssn. Default all.
	Detectors []string `yaml:"detectors"`
	// ContextBudget caps the attached context, in tokens. Default 300.
	ContextBudget int `yaml:"context_budget"`
}

// Logging shapes the log output.
type Logging struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is json, console or auto (console on a terminal). Default auto.
	Format string `yaml:"format"`
}

// Secret is a configuration value that must never be printed.
type Secret string

// String hides the value from fmt and loggers.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[secret]"
}

// MarshalText hides the value from encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Value returns the secret itself, for the one place that must send it.
func (s Secret) Value() string { return string(s) }

// Defaults applied after decoding.
const (
	DefaultAddr         = "127.0.0.1:8080"
	DefaultDSN          = "sqlite:crisp.db"
	DefaultMaxBodyBytes = 4 << 20
)

func (c *Config) applyDefaults() {
	if c.Workspace.Name == "" {
		c.Workspace.Name = c.Workspace.ID
	}
	if c.Server.Addr == "" {
		c.Server.Addr = DefaultAddr
	}
	if c.Server.MaxBodyBytes == 0 {
		c.Server.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Server.ReadHeaderTimeout == 0 {
		c.Server.ReadHeaderTimeout = 10 * time.Second
	}
	if c.Server.ShutdownTimeout == 0 {
		c.Server.ShutdownTimeout = 20 * time.Second
	}
	if c.Storage.DSN == "" {
		c.Storage.DSN = DefaultDSN
	}
	for i := range c.Providers {
		t := &c.Providers[i].Timeouts
		if t.Connect == 0 {
			t.Connect = 10 * time.Second
		}
		if t.FirstByte == 0 {
			t.FirstByte = 120 * time.Second
		}
		if t.Idle == 0 {
			t.Idle = 120 * time.Second
		}
	}
	for i := range c.Keys {
		k := &c.Keys[i]
		if k.Kind == "" {
			k.Kind = "member"
		}
		if k.DefaultAction == "" {
			k.DefaultAction = "ai.draft"
		}
	}
	c.Audit.ApplyDefaults()
	if c.Redaction.Detectors == nil {
		c.Redaction.Detectors = []string{"email", "phone", "card", "iban", "api_key", "ssn"}
	}
	if c.Redaction.ContextBudget == 0 {
		c.Redaction.ContextBudget = 300
	}
	if c.Flags == "" {
		c.Flags = "rewrite"
	}
	if c.Routing.AssistModel == "" {
		c.Routing.AssistModel = "crisp-default"
	}
	if c.Catalog == "" {
		c.Catalog = "catalog.yaml"
	}
	if c.Policies == "" {
		c.Policies = "policies"
	}
	if c.Identity.CacheSize == 0 {
		c.Identity.CacheSize = 10_000
	}
	if c.Ingest.MaxBatchBytes == 0 {
		c.Ingest.MaxBatchBytes = 512_000
	}
	if c.Logging.Level == "" {
		c.Logging.Level = "info"
	}
	if c.Logging.Format == "" {
		c.Logging.Format = "auto"
	}
}
