package server

import (
	"context"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/proxy"
	"github.com/crisphq/crisp/store"
)

// storedKeys adapts the store's keys to the authenticator.
type storedKeys struct{ db *store.DB }

func (s storedKeys) KeysByPrefix(ctx context.Context, prefix string) ([]keys.Record, error) {
	stored, err := s.db.KeysByPrefix(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]keys.Record, 0, len(stored))
	for _, k := range stored {
		if k.RevokedAt != nil {
			continue
		}
		h, err := hex.DecodeString(k.Hash)
		if err != nil || len(h) != 32 {
			continue // a corrupt row matches nothing
		}
		rec := keys.Record{Prefix: k.Prefix, Caller: keys.Caller{
			Workspace: k.WorkspaceID, KeyID: k.ID, Name: k.Name, Kind: k.Kind, Member: k.Member, Role: k.Role,
			Teams: k.Teams, Actions: k.Actions, DefaultAction: k.DefaultAction, Models: k.Models,
		}}
		copy(rec.SHA256[:], h)
		out = append(out, rec)
	}
	return out, nil
}

// newVerifier builds the signed-identity verifier from configuration.
func newVerifier(c config.Identity) (*identity.Verifier, error) {
	secrets := make([]identity.Secret, 0, len(c.Secrets))
	for _, s := range c.Secrets {
		secrets = append(secrets, identity.Secret{ID: s.ID, Key: []byte(s.Key.Value())})
	}
	rsaKeys := map[string]*rsa.PublicKey{}
	for _, k := range c.RSAKeys {
		pub, err := readRSAPublicKey(k.PublicKeyFile)
		if err != nil {
			return nil, fmt.Errorf("identity.rsa_keys %s: %w", k.ID, err)
		}
		rsaKeys[k.ID] = pub
	}
	return identity.NewVerifier(secrets, rsaKeys, nil)
}

func readRSAPublicKey(path string) (*rsa.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block", path)
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s is not an RSA public key", path)
	}
	return pub, nil
}

// pseudonymKey keys the pseudonyms that replace raw identifiers sent to
// providers: derived from the workspace's first identity secret, so it is
// secret and stable across restarts and replicas.
func pseudonymKey(cfg *config.Config) []byte {
	m := hmac.New(sha256.New, []byte("crisp pseudonym key"))
	m.Write([]byte(cfg.Workspace.ID))
	for _, s := range cfg.Identity.Secrets {
		m.Write([]byte(s.Key.Value()))
		break
	}
	return m.Sum(nil)
}

// members finds members for policy checks: the store's members (the UI's
// accounts) first, then the configured keys' members.
type members struct {
	db     *store.DB
	config []keys.Record
}

func (m members) Member(ctx context.Context, ws, email string) (*keys.Caller, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if st, err := m.db.Member(ctx, ws, email); err == nil {
		return &keys.Caller{Workspace: ws, KeyID: "member:" + st.Email, Name: st.Name, Kind: "member",
			Member: st.Email, Role: st.Role, Teams: st.Teams}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	for _, r := range m.config {
		if r.Caller.Workspace == ws && strings.EqualFold(r.Caller.Member, email) {
			c := r.Caller
			return &c, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", proxy.ErrUnknownMember, email)
}

// openAudit opens the audit trail, loudly when it may fail open.
func openAudit(ctx context.Context, db *store.DB, cfg *config.Config, log zerolog.Logger) (*audit.Log, error) {
	if cfg.Audit.Disabled {
		log.Warn().Msg("AUDIT DISABLED: no AI use is recorded (audit.disabled is for benchmarks only)")
		return nil, nil
	}
	opts, err := cfg.Audit.Options(log)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if cfg.Audit.FailOpen {
		log.Warn().Msg("AUDIT FAIL-OPEN: AI requests will go on even when their audit record cannot be written")
	}
	opts.Journal = cfg.Audit.JournalDir(db.Path())
	l, err := audit.Open(ctx, db, opts)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return l, nil
}

// adminAuth lets admins (role admin) read the audit trail.
func (s *Server) adminAuth(r *http.Request) (string, bool, error) {
	c, err := s.auth.Authenticate(r.Context(), keys.FromHeaders(r.Header.Get("Authorization"), r.Header.Get("X-Api-Key")))
	if err != nil {
		return "", false, err
	}
	return c.Workspace, c.Role == "admin", nil
}

// auditor is the proxy's view of the audit log; a nil log (audit.disabled)
// must be a nil interface, not a typed nil.
func auditor(l *audit.Log) proxy.Auditor {
	if l == nil {
		return nil
	}
	return l
}

// recordPolicyChange puts a policy reload into the audit trail, as an
// admin change of its own kind.
func (s *Server) recordPolicyChange(ctx context.Context, before, after string) {
	_, err := s.audit.Append(ctx, audit.Record{
		Time: time.Now(), Kind: audit.KindAdminPolicy, Workspace: s.cfg.Workspace.ID,
		Target: s.cfg.Policies, Action: "policy.reload", Status: 200,
		Decision: audit.Decision{PolicyVersion: after}, CatalogVersion: s.defs.catalog.Version(),
	})
	if err != nil {
		s.log.Error().Err(err).Str("from", before).Str("to", after).Msg("audit: policy change not recorded")
	}
}

// recordDefinitions notes in the audit trail when the catalog or the policy
// in force differs from the last one recorded: an edit made on disk while
// crisp was down is an admin change too.
func (s *Server) recordDefinitions(ctx context.Context) error {
	ws := s.cfg.Workspace.ID
	policyVersion := s.defs.policyVersion()
	for _, c := range []struct{ kind, action, target string }{
		{audit.KindAdminCatalog, "catalog.load", s.cfg.Catalog},
		{audit.KindAdminPolicy, "policy.load", s.cfg.Policies},
	} {
		last, _, err := s.audit.List(ctx, audit.Filter{Workspace: ws, Kind: c.kind, Limit: 1})
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		if len(last) > 0 && c.kind == audit.KindAdminCatalog && last[0].CatalogVersion == s.defs.catalog.Version() {
			continue
		}
		if len(last) > 0 && c.kind == audit.KindAdminPolicy && last[0].Decision.PolicyVersion == policyVersion {
			continue
		}
		if _, err := s.audit.Append(ctx, audit.Record{Time: time.Now(), Kind: c.kind, Workspace: ws, Target: c.target,
			Action: c.action, Status: 200, CatalogVersion: s.defs.catalog.Version(),
			Decision: audit.Decision{PolicyVersion: policyVersion}}); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}
