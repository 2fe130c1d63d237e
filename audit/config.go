package audit

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
)

// Config is the audit: section of crisp.yaml. Embed it in the server's
// configuration; ApplyDefaults, Validate and Options turn it into Options.
//
//	audit:
//	  fail_open: false                          # default: no audit, no AI use (503 audit_unavailable)
//	  signing_key: ${CRISP_AUDIT_SIGNING_KEY}   # ed25519 seed, base64 or hex; `crisp audit keygen`
//	  checkpoint_every: 1000
//	  checkpoint_interval: 1m
//	  retention: 8760h                          # a year; 0 keeps records forever
type Config struct {
	// Disabled records nothing at all: for benchmarks that measure what
	// the audit costs, never for real use. Crisp warns loudly at start.
	Disabled bool `yaml:"disabled"`
	// FailOpen lets AI requests go on when their audit record cannot be
	// written. Off by default: a use that cannot be recorded is refused
	// with 503 audit_unavailable. Crisp warns loudly at start when it is on.
	FailOpen bool `yaml:"fail_open"`
	// SigningKey signs checkpoints of each chain head with ed25519, so a
	// wholly rewritten chain is detectable: the 32-byte seed (or 64-byte
	// key) in base64 or hex, normally ${CRISP_AUDIT_SIGNING_KEY}. Empty
	// writes no periodic checkpoints.
	SigningKey Secret `yaml:"signing_key"`
	// VerifyKeys are public keys (base64 or hex) of retired signing keys,
	// whose checkpoints still verify.
	VerifyKeys []string `yaml:"verify_keys"`
	// CheckpointEvery signs the head after this many records in a
	// workspace. Default 1000.
	CheckpointEvery int `yaml:"checkpoint_every"`
	// CheckpointInterval signs the head this often while records come.
	// Default 1m.
	CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
	// Retention prunes records older than this (e.g. 2160h for 90 days),
	// keeping the rest verifiable. Default 0: keep forever.
	Retention time.Duration `yaml:"retention"`
	// MaxBatch bounds one group commit. Default 1024.
	MaxBatch int `yaml:"max_batch"`
	// MaxDelay is how long a commit waits to gather more records. Default
	// 0: commit as soon as the writer is free (batches form under load).
	MaxDelay time.Duration `yaml:"max_delay"`
	// QueueSize bounds the records waiting to be written. Default 8192.
	QueueSize int `yaml:"queue_size"`
	// WriteTimeout bounds one commit; past it the uses waiting on it fail
	// (503). Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// StaleAfter is how long a crisp process sharing the database may be
	// silent before its pending uses are recorded as interrupted. Default 30s.
	StaleAfter time.Duration `yaml:"stale_after"`
	// Journal is where a use's audit record is made durable first: a local
	// append-only file, one write per record, from which the group-commit
	// writer chains records into the database behind the request (and the
	// next start replays after a crash). Default: beside a SQLite database
	// (crisp.db-audit/); "off" writes straight to the database, which is
	// the default on PostgreSQL, where replicas may not keep their disks.
	Journal string `yaml:"journal"`
}

// JournalDir is the journal folder for a database at dbPath (a SQLite
// file; "" for PostgreSQL): "" when records go straight to the database.
func (c Config) JournalDir(dbPath string) string {
	switch {
	case c.Journal == "off":
		return ""
	case c.Journal != "":
		return c.Journal
	case dbPath != "":
		return dbPath + "-audit"
	}
	return ""
}

// Secret is a configuration value that never prints.
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

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// ApplyDefaults fills the zero fields with their defaults.
func (c *Config) ApplyDefaults() {
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = 1000
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = time.Minute
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = 1024
	}
	if c.QueueSize == 0 {
		c.QueueSize = 8192
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = 30 * time.Second
	}
}

// Validate reports every problem, each naming its field under audit.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("audit.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.SigningKey != "" {
		if _, err := ParseSigningKey(c.SigningKey.Value()); err != nil {
			bad("signing_key", "not an ed25519 key (32-byte seed or 64-byte key, base64 or hex)")
		}
	}
	for i, k := range c.VerifyKeys {
		if _, err := ParsePublicKey(k); err != nil {
			bad(fmt.Sprintf("verify_keys[%d]", i), "%v", err)
		}
	}
	for _, n := range []struct {
		field string
		v     int64
	}{
		{"checkpoint_every", int64(c.CheckpointEvery)}, {"checkpoint_interval", int64(c.CheckpointInterval)},
		{"retention", int64(c.Retention)}, {"max_batch", int64(c.MaxBatch)}, {"max_delay", int64(c.MaxDelay)},
		{"queue_size", int64(c.QueueSize)}, {"write_timeout", int64(c.WriteTimeout)}, {"stale_after", int64(c.StaleAfter)},
	} {
		if n.v < 0 {
			bad(n.field, "must not be negative")
		}
	}
	if c.Retention > 0 && c.Retention < time.Hour {
		bad("retention", "%s is under an hour; records would vanish before anyone reviews them", c.Retention)
	}
	return errors.Join(errs...)
}

// Options turns the configuration into Log options.
func (c Config) Options(log zerolog.Logger) (Options, error) {
	if err := c.Validate(); err != nil {
		return Options{}, err
	}
	o := Options{
		Logger: log, MaxBatch: c.MaxBatch, MaxDelay: c.MaxDelay, QueueSize: c.QueueSize,
		WriteTimeout: c.WriteTimeout, CheckpointEvery: c.CheckpointEvery, CheckpointInterval: c.CheckpointInterval,
		Retention: c.Retention, StaleAfter: c.StaleAfter, FailOpen: c.FailOpen,
	}
	if c.SigningKey != "" {
		key, err := ParseSigningKey(c.SigningKey.Value())
		if err != nil {
			return Options{}, fmt.Errorf("audit.signing_key: %w", err)
		}
		o.SigningKey = key
	}
	for _, k := range c.VerifyKeys {
		pub, err := ParsePublicKey(k)
		if err != nil {
			return Options{}, err
		}
		o.VerifyKeys = append(o.VerifyKeys, pub)
	}
	return o, nil
}

// NewSigningKey returns a fresh signing key as base64 (its seed) and its
// public key as base64, for `crisp audit keygen`.
func NewSigningKey() (private, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return "", "", fmt.Errorf("audit: generate key: %w", err)
	}
	return b64(priv.Seed()), b64(pub), nil
}
