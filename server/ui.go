package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/crisphq/crisp/api"
	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/web"
)

// The workspace UI and the conversations API, wired beside the rest.

// newUI builds the workspace UI over the running parts.
func (s *Server) newUI() (*web.Server, error) {
	return web.New(web.Options{
		Workspace: s.cfg.Workspace.ID, WorkspaceName: s.cfg.Workspace.Name,
		Store: s.db, AI: s.proxy, Resolver: s.resolver, Audit: s.audit, Catalog: s.defs.catalog,
		Definitions: web.Definitions{FS: s.defs.fsys, Dir: s.cfg.Dir, Catalog: s.cfg.Catalog, Policies: s.cfg.Policies},
		Log:         s.log,
		ConfigKeys:  configuredKeys(s.cfg),
	})
}

// configuredKeys are crisp.yaml's keys as the UI lists them (never a hash).
func configuredKeys(cfg *config.Config) []store.APIKey {
	out := make([]store.APIKey, 0, len(cfg.Keys))
	for _, k := range cfg.Keys {
		out = append(out, store.APIKey{WorkspaceID: cfg.Workspace.ID, ID: k.ID, Name: k.Name, Kind: k.Kind,
			Member: k.Member, Role: k.Role, Teams: k.Teams, Actions: k.Actions, Prefix: k.Prefix})
	}
	return out
}

// mountUI serves the UI at / (exactly), /ui/ and /static/, and the
// conversations API under /api/v1/conversations.
func (s *Server) mountUI(mux *http.ServeMux) {
	conv := api.NewConversations(api.ConversationOptions{Keys: s.auth, Store: s.db, Verify: s.verifyIdentity,
		AuditExists: s.auditExists, MaxBodyBytes: s.cfg.Server.MaxBodyBytes, Log: s.log})
	mux.Handle("/api/v1/conversations", conv)
	mux.Handle("/api/v1/conversations/", conv)
	for _, p := range []string{"/{$}", "/ui/", "/static/"} {
		mux.Handle(p, s.ui)
	}
}

// seedUI writes the example workspace's demo members and conversations.
func (s *Server) seedUI(ctx context.Context) error {
	var err error
	s.demo, err = web.Seed(ctx, web.SeedOptions{Store: s.db, Workspace: s.cfg.Workspace.ID, FS: s.defs.fsys})
	return err
}

// catalogOverlay replays the catalog edits made in the UI onto the
// embedded example's catalog; definitions on disk carry their edits in the
// file itself.
func (s *Server) catalogOverlay(ctx context.Context) func([]byte) ([]byte, error) {
	if s.cfg.Dir != "" {
		return nil
	}
	return func(base []byte) ([]byte, error) {
		out, n, skipped, err := web.ApplyOverlay(ctx, s.db, s.cfg.Workspace.ID, base)
		if n > 0 || len(skipped) > 0 {
			s.log.Info().Int("edits", n).Strs("skipped", skipped).Msg("catalog: applied the UI's overlay edits")
		}
		return out, err
	}
}

// Demo is what the example workspace's seed wrote at this start: the demo
// members (and their password) to print at first start; empty afterwards.
func (s *Server) Demo() web.SeedResult { return s.demo }

// verifyIdentity checks a new conversation's signed customer identity.
func (s *Server) verifyIdentity(p api.IdentityProof) (bool, string) {
	a := s.verifier.Verify(p.CustomerID, p.UserHash, p.Token)
	return a.Verified, a.Method
}

// auditExists lets a conversation message link only a real audit record.
func (s *Server) auditExists(ctx context.Context, ws, id string) (bool, error) {
	if s.audit == nil {
		return false, nil
	}
	_, err := s.audit.Get(ctx, ws, id)
	if errors.Is(err, audit.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
