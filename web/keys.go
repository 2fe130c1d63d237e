package web

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/store"
)

// keysPage lists the workspace's keys and makes new ones (admins only).
type keysPage struct {
	Configured    []store.APIKey // from crisp.yaml, read-only here
	ConfigUnknown bool           // the server did not pass crisp.yaml's keys
	Stored        []store.APIKey
	Form          keyForm
	Problems      []string
	NewKey        string // the key just made: shown on this page only
	NewID         string
	Flash         string
}

type keyForm struct {
	ID, Name, Kind, Role, Member, Actions string
}

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func (s *Server) keysList(ctx context.Context) (keysPage, error) {
	p := keysPage{Configured: s.opts.ConfigKeys, ConfigUnknown: s.opts.ConfigKeys == nil,
		Form: keyForm{Kind: store.KeyKindMember, Actions: "ai.*"}}
	var err error
	p.Stored, err = s.opts.Store.ListKeys(ctx, s.opts.Workspace)
	return p, err
}

func (s *Server) keysPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	p, err := s.keysList(r.Context())
	if err != nil {
		return err
	}
	p.Flash = flash(r)
	s.render(w, r, v, http.StatusOK, "keys", "Keys", p)
	return nil
}

// createKey mints a key, audits its creation, stores only its prefix and
// sha256, and shows the key once, on the page it answers with.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request, v *viewer) error {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	ctx := r.Context()
	p, err := s.keysList(ctx)
	if err != nil {
		return err
	}
	f := keyForm{ID: strings.TrimSpace(r.PostFormValue("id")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Kind: r.PostFormValue("kind"), Role: strings.TrimSpace(r.PostFormValue("role")),
		Member: strings.ToLower(strings.TrimSpace(r.PostFormValue("member"))), Actions: r.PostFormValue("actions")}
	p.Form = f
	actions := splitList(f.Actions)
	switch {
	case !keyIDPattern.MatchString(f.ID):
		p.Problems = append(p.Problems, "The id is 1 to 64 letters, digits, '_', '.' or '-', e.g. key_inbox_bot.")
	case hasKey(p.Configured, f.ID) || hasKey(p.Stored, f.ID):
		p.Problems = append(p.Problems, "The workspace already has a key "+f.ID+". Pick another id.")
	}
	if f.Kind != store.KeyKindMember && f.Kind != store.KeyKindWorkflow {
		p.Problems = append(p.Problems, "The kind is member or workflow.")
	}
	if f.Role == "" || strings.ContainsAny(f.Role, " \t\r\n,") {
		p.Problems = append(p.Problems, "The role is one word, as policy sees it (user.role), e.g. support.")
	}
	if f.Kind == store.KeyKindMember && !strings.Contains(f.Member, "@") {
		p.Problems = append(p.Problems, "A member key names the member's email.")
	}
	if len(actions) == 0 {
		p.Problems = append(p.Problems, "Name the actions the key may use, e.g. ai.* or ai.draft, ai.ask.")
	}
	if len(f.Name) > maxOwner || len(f.Member) > maxOwner || len(f.Actions) > maxOwner {
		p.Problems = append(p.Problems, "The name, member and actions are at most 200 characters each.")
	}
	if len(p.Problems) > 0 {
		s.render(w, r, v, http.StatusUnprocessableEntity, "keys", "Keys", p)
		return nil
	}
	key, err := keys.New()
	if err != nil {
		return err
	}
	if f.Kind == store.KeyKindWorkflow {
		f.Member = ""
	}
	k := store.APIKey{WorkspaceID: s.opts.Workspace, ID: f.ID, Prefix: keys.Prefix(key), Hash: keys.HashHex(key),
		Name: f.Name, Kind: f.Kind, Member: f.Member, Role: f.Role, Actions: actions, DefaultAction: "ai.draft"}
	if err := s.auditKey(ctx, v, f.ID, "key.create"); err != nil {
		return err
	}
	if err := s.opts.Store.PutKey(ctx, k); err != nil {
		if errors.Is(err, store.ErrExists) {
			return errBadRequest("The workspace already has a key " + f.ID + ".")
		}
		return err
	}
	s.opts.Log.Info().Str("member", v.Member.Email).Str("key_id", f.ID).Msg("web: key created")
	if p.Stored, err = s.opts.Store.ListKeys(ctx, s.opts.Workspace); err != nil {
		return err
	}
	p.NewKey, p.NewID, p.Form = key, f.ID, keyForm{Kind: store.KeyKindMember, Actions: "ai.*"}
	s.render(w, r, v, http.StatusOK, "keys", "Keys", p)
	return nil
}

// revokeKey audits, then revokes a stored key.
func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, v *viewer) error {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	ctx := r.Context()
	id := r.PathValue("id")
	stored, err := s.opts.Store.ListKeys(ctx, s.opts.Workspace)
	if err != nil {
		return err
	}
	i := indexKey(stored, id)
	if i < 0 {
		return errNotFound("The workspace has no stored key " + id + ". Keys in crisp.yaml are removed there.")
	}
	if stored[i].RevokedAt == nil {
		if err := s.auditKey(ctx, v, id, "key.revoke"); err != nil {
			return err
		}
		if err := s.opts.Store.RevokeKey(ctx, s.opts.Workspace, id); err != nil {
			return err
		}
		s.opts.Log.Info().Str("member", v.Member.Email).Str("key_id", id).Msg("web: key revoked")
	}
	redirect(w, r, "/ui/keys", "Key revoked.", "")
	return nil
}

// auditKey writes the key change's audit record: no record, no change.
func (s *Server) auditKey(ctx context.Context, v *viewer, id, action string) error {
	if s.opts.Audit == nil {
		return &httpError{Status: http.StatusServiceUnavailable, Title: "Not changed",
			Message: "Key changes are audited, and this crisp runs without an audit trail (audit.disabled)."}
	}
	_, err := s.opts.Audit.Append(ctx, audit.Record{Kind: audit.KindAdminKey, Workspace: s.opts.Workspace,
		Endpoint: "ui:keys", KeyID: v.caller.KeyID, Member: v.Member.Email, Role: v.Member.Role,
		Action: action, Target: id, Decision: audit.Decision{Allow: true, Rule: "admin"}, Status: http.StatusOK})
	if err != nil {
		return &httpError{Status: http.StatusServiceUnavailable, Title: "Not changed",
			Message: "crisp cannot write the audit record for this change right now, so the key was not changed.", Cause: err}
	}
	return nil
}

func indexKey(ks []store.APIKey, id string) int {
	for i, k := range ks {
		if k.ID == id {
			return i
		}
	}
	return -1
}

func hasKey(ks []store.APIKey, id string) bool { return indexKey(ks, id) >= 0 }

// splitList splits a comma- or space-separated list.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}
