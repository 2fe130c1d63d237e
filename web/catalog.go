package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/store"
)

// defs is the catalog as edited: the file on disk, or the embedded example
// with the store's overlay edits replayed onto it.
type defs struct {
	cat     *catalog.Catalog
	src     []byte
	overlay bool     // edits live in the store, not in a file
	edits   int      // overlay edits applied
	skipped []string // overlay edits that no longer apply
}

// displayName is the catalog file as messages name it.
func (s *Server) displayName() string {
	if s.opts.Definitions.Dir == "" {
		return "configs/" + s.opts.Definitions.Catalog
	}
	return path.Join(s.opts.Definitions.Dir, s.opts.Definitions.Catalog)
}

// current reads the catalog as it stands now, edits included.
func (s *Server) current(ctx context.Context) (*defs, error) {
	data, err := fs.ReadFile(s.opts.Definitions.FS, s.opts.Definitions.Catalog)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	d := &defs{overlay: s.opts.Definitions.Dir == ""}
	if d.overlay {
		data, d.edits, d.skipped, err = ApplyOverlay(ctx, s.opts.Store, s.opts.Workspace, data)
		if err != nil {
			return nil, err
		}
	}
	d.src = data
	if d.cat, err = catalog.Parse(s.displayName(), data); err != nil {
		return nil, fmt.Errorf("the catalog does not parse: %w", err)
	}
	return d, nil
}

// ApplyOverlay replays the workspace's overlay edits (catalog edits made in
// the UI while the definitions were the embedded example) onto base, the
// catalog file's text. It returns the edited text, how many edits applied,
// and the targets of those that no longer fit (an entry since removed).
// The server may use it to run with the edited catalog.
func ApplyOverlay(ctx context.Context, db *store.DB, ws string, base []byte) ([]byte, int, []string, error) {
	edits, err := db.CatalogEdits(ctx, ws, store.CatalogEditOverlay)
	if err != nil {
		return nil, 0, nil, err
	}
	out, n := base, 0
	var skipped []string
	for _, e := range edits {
		var p patch
		if err := json.Unmarshal([]byte(e.PatchJSON), &p); err != nil {
			skipped = append(skipped, e.Target)
			continue
		}
		next, err := applyPatch(out, p)
		if err == nil {
			// An edit that no longer makes a valid catalog (the base
			// changed under it) is skipped, never allowed to break startup.
			_, err = catalog.Parse("catalog.yaml", next)
		}
		if err != nil {
			skipped = append(skipped, e.Target)
			continue
		}
		out, n = next, n+1
	}
	return out, n, skipped, nil
}

type useCell struct {
	Use string
	Vis string // shown, masked, hidden
}

type catalogRow struct {
	Kind, Name, Type, Description, Owner, Source, Classification, URL string
	Uses                                                              []useCell
}

type catalogPage struct {
	Q       string
	Rows    []catalogRow
	Total   int
	Overlay bool
	Edits   int      // overlay edits applied
	Skipped []string // overlay edits that no longer apply
	Pending bool     // edited since crisp loaded its definitions
	Admin   bool
	Dir     string
}

func usesOf(v catalog.Visibilities) []useCell {
	out := make([]useCell, 0, 4)
	for _, u := range catalog.AllUses() {
		out = append(out, useCell{Use: u, Vis: v.For(u).String()})
	}
	return out
}

func (s *Server) catalogPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	d, err := s.current(r.Context())
	if err != nil {
		return err
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	p := catalogPage{Q: q, Overlay: d.overlay, Edits: d.edits, Skipped: d.skipped, Admin: v.Admin, Dir: s.opts.Definitions.Dir,
		Pending: d.cat.Version() != s.opts.Catalog.Version()}
	var rows []catalogRow
	for _, f := range d.cat.Fields() {
		rows = append(rows, catalogRow{Kind: "field", Name: f.Name, Type: string(f.Type), Description: f.Description,
			Owner: f.Owner, Source: string(f.Source), Classification: string(f.Classification), URL: entryURL(f.Name),
			Uses: usesOf(f.Uses)})
	}
	for _, e := range d.cat.Events() {
		rows = append(rows, catalogRow{Kind: "event", Name: e.Name, Type: "event", Description: e.Description,
			Owner: e.Owner, Source: string(e.Source), Classification: string(e.Classification), URL: entryURL(e.Name),
			Uses: usesOf(e.Uses)})
	}
	p.Total = len(rows)
	for _, row := range rows {
		if matches(row, q) {
			p.Rows = append(p.Rows, row)
		}
	}
	s.render(w, r, v, http.StatusOK, "catalog", "Catalog", p)
	return nil
}

// matches is the search: every word of q in the row's text, ignoring case;
// "ai:hidden" style words match a use's visibility.
func matches(row catalogRow, q string) bool {
	text := strings.ToLower(strings.Join([]string{row.Kind, row.Name, row.Type, row.Description, row.Owner,
		row.Source, row.Classification}, " "))
	for _, w := range strings.Fields(strings.ToLower(q)) {
		if use, vis, ok := strings.Cut(w, ":"); ok {
			if !slices.ContainsFunc(row.Uses, func(c useCell) bool {
				return c.Use == use && strings.HasPrefix(c.Vis, vis)
			}) {
				return false
			}
			continue
		}
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

// entryPage is one field or event: its definition, where it matches, and
// the recent AI uses that carried it.
type entryPage struct {
	Kind, Name, Type, Description, Owner, Source, Classification, Note, Pos string
	Values                                                                  []string
	Uses                                                                    []useCell
	Customers                                                               []match
	Accounts                                                                []match
	Conversations                                                           []match
	AIUses                                                                  []audit.Record
	Scanned                                                                 int
	History                                                                 []store.CatalogEdit
	Admin, Overlay, Pending                                                 bool
	Flash                                                                   string
	Running                                                                 []useCell // as crisp runs now, when different
}

type match struct {
	ID, Name, Value, URL string
	Masked               bool
	At                   time.Time
}

// entryKind maps the URL's folder to the catalog's kind.
func entryKind(r *http.Request) (string, error) {
	switch r.PathValue("kind") {
	case "fields":
		return "field", nil
	case "events":
		return "event", nil
	}
	return "", errNotFound("The catalog has fields and events, nothing else.")
}

func (s *Server) entryPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	kind, err := entryKind(r)
	if err != nil {
		return err
	}
	d, err := s.current(r.Context())
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	p := entryPage{Kind: kind, Name: name, Admin: v.Admin, Overlay: d.overlay, Flash: flash(r)}
	switch kind {
	case "field":
		f, ok := d.cat.Field(name)
		if !ok {
			return errNotFound("The catalog has no field " + name + ".")
		}
		p.Type, p.Values, p.Description, p.Owner = string(f.Type), f.Values, f.Description, f.Owner
		p.Source, p.Classification, p.Note, p.Uses = string(f.Source), string(f.Classification), f.Note, usesOf(f.Uses)
		p.Pos = fmt.Sprintf("%s:%d", s.opts.Definitions.Catalog, f.Pos.Line)
		if rf, ok := s.opts.Catalog.Field(name); ok && rf.Uses != f.Uses {
			p.Pending, p.Running = true, usesOf(rf.Uses)
		}
	case "event":
		e, ok := d.cat.Event(name)
		if !ok {
			return errNotFound("The catalog has no event " + name + ".")
		}
		p.Type, p.Description, p.Owner = "event", e.Description, e.Owner
		p.Source, p.Classification, p.Note, p.Uses = string(e.Source), string(e.Classification), e.Note, usesOf(e.Uses)
		p.Pos = fmt.Sprintf("%s:%d", s.opts.Definitions.Catalog, e.Pos.Line)
		if re, ok := s.opts.Catalog.Event(name); ok && re.Uses != e.Uses {
			p.Pending, p.Running = true, usesOf(re.Uses)
		}
	}
	if err := s.findMatches(r.Context(), v, &p); err != nil {
		return err
	}
	if p.AIUses, err = s.aiUsesOf(r.Context(), v, name); err != nil {
		return err
	}
	all, err := s.opts.Store.CatalogEdits(r.Context(), s.opts.Workspace, "")
	if err != nil {
		return err
	}
	for _, e := range all {
		if e.Target == name {
			p.History = append(p.History, e)
		}
	}
	slices.Reverse(p.History)
	s.render(w, r, v, http.StatusOK, "entry", name+" · Catalog", p)
	return nil
}

// scanCustomers bounds how many customers a catalog entry's matches read.
const scanCustomers = 200

// findMatches finds the customers (and through them accounts and
// conversations) that have a value for the field, or did the event, each
// value as the member may see it.
func (s *Server) findMatches(ctx context.Context, v *viewer, p *entryPage) error {
	custs, _, err := s.opts.Store.ListCustomers(ctx, s.opts.Workspace, store.ListOptions{Limit: scanCustomers})
	if err != nil {
		return err
	}
	p.Scanned = len(custs)
	seenAccount := map[string]bool{}
	matched := map[string]bool{}
	for _, c := range custs {
		account := ""
		if len(c.Accounts) > 0 {
			account = c.Accounts[0].AccountID
		}
		sv, err := s.view(ctx, v, store.Conversation{CustomerID: c.ID, AccountID: account, IdentityVerified: true})
		if err != nil {
			return err
		}
		var m match
		ok := false
		if p.Kind == "event" {
			if s.opts.Catalog.ResolveEvent(p.Name).Uses.For(useSupport) == catalog.Hide {
				break
			}
			for _, e := range sv.sub.Journey {
				if strings.EqualFold(e.Name, p.Name) {
					m, ok = match{At: e.Timestamp, Value: e.Timestamp.UTC().Format("Jan 2, 15:04")}, true
					break
				}
			}
		} else {
			m.Value, m.Masked, ok = sv.value(p.Name)
		}
		if !ok {
			continue
		}
		matched[c.ID] = true
		if strings.HasPrefix(p.Name, "account.") {
			if !seenAccount[account] {
				seenAccount[account] = true
				am := m
				am.ID, am.Name = account, sv.accountName()
				p.Accounts = append(p.Accounts, am)
			}
		} else if account != "" && !seenAccount[account] {
			seenAccount[account] = true
			p.Accounts = append(p.Accounts, match{ID: account, Name: sv.accountName()})
		}
		m.ID, m.Name = c.ID, sv.customerName()
		p.Customers = append(p.Customers, m)
	}
	convs, _, err := s.opts.Store.ListConversations(ctx, s.opts.Workspace, store.ConversationFilter{Limit: store.MaxLimit})
	if err != nil {
		return err
	}
	for _, c := range convs {
		if matched[c.CustomerID] {
			p.Conversations = append(p.Conversations, match{ID: c.ID, Name: c.Subject, Value: c.Status,
				URL: "/ui/inbox/" + c.ID, At: c.UpdatedAt})
		}
	}
	return nil
}

// scanAudit bounds how many recent records an entry's AI uses read.
const scanAudit = 500

// aiUsesOf returns recent AI uses whose attached context carried name:
// the member's own, or the whole workspace's for admins.
func (s *Server) aiUsesOf(ctx context.Context, v *viewer, name string) ([]audit.Record, error) {
	if s.opts.Audit == nil {
		return nil, nil
	}
	f := audit.Filter{Workspace: s.opts.Workspace, Kind: audit.KindAIUse, Limit: scanAudit}
	if !v.Admin {
		f.Member = v.Member.Email
	}
	recs, _, err := s.opts.Audit.List(ctx, f)
	if err != nil && !errors.Is(err, audit.ErrNotFound) {
		return nil, err
	}
	var out []audit.Record
	for _, r := range recs {
		if slices.Contains(r.ContextFields, name) {
			out = append(out, r)
			if len(out) == 20 {
				break
			}
		}
	}
	return out, nil
}
