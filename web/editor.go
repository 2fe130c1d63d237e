package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/store"
)

// editorPage is the in-app editor for one entry's common keys.
type editorPage struct {
	Kind, Folder, Name string
	Description, Owner string
	Uses               []useCell
	Classification     string
	Base               string // the catalog version the form was made from
	Overlay            bool
	File               string
	Problems           []string
	Widenings          []widening // set on the confirmation step
}

// Limits on edited text.
const (
	maxDescription = 2000
	maxOwner       = 200
)

func (s *Server) editForm(w http.ResponseWriter, r *http.Request, v *viewer) error {
	kind, err := entryKind(r)
	if err != nil {
		return err
	}
	d, err := s.current(r.Context())
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	facts, ok := factsOf(d.cat, kind, name)
	if !ok {
		return errNotFound("The catalog has no " + kind + " " + name + ".")
	}
	p := s.editorFor(d, kind, name, facts)
	s.render(w, r, v, http.StatusOK, "editor", "Edit "+name, p)
	return nil
}

func (s *Server) editorFor(d *defs, kind, name string, f entryFacts) editorPage {
	p := editorPage{Kind: kind, Folder: r2folder(kind), Name: name, Description: f.Description, Owner: f.Owner,
		Uses: usesOf(f.Uses), Base: d.cat.Version(), Overlay: d.overlay, File: s.displayName()}
	if kind == "field" {
		fl, _ := d.cat.Field(name)
		p.Classification = string(fl.Classification)
	} else {
		e, _ := d.cat.Event(name)
		p.Classification = string(e.Classification)
	}
	return p
}

func r2folder(kind string) string {
	if kind == "event" {
		return "events"
	}
	return "fields"
}

// saveEdit validates an edit, asks to confirm one that widens a use, then
// audits it and writes the new version: catalog.yaml on disk, or the
// store's overlay for the embedded example. History is kept either way.
func (s *Server) saveEdit(w http.ResponseWriter, r *http.Request, v *viewer) error {
	kind, err := entryKind(r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	// One edit at a time: each applies onto the catalog as the last left it.
	s.editMu.Lock()
	defer s.editMu.Unlock()
	d, err := s.current(r.Context())
	if err != nil {
		return err
	}
	before, ok := factsOf(d.cat, kind, name)
	if !ok {
		return errNotFound("The catalog has no " + kind + " " + name + ".")
	}
	form := s.editorFor(d, kind, name, before)
	form.Description = strings.TrimSpace(r.PostFormValue("description"))
	form.Owner = strings.TrimSpace(r.PostFormValue("owner"))
	p := patch{Kind: kind, Name: name, Uses: map[string]string{}}
	for i, u := range catalog.AllUses() {
		vis, err := catalog.ParseVisibility(r.PostFormValue("use_" + u))
		if err != nil {
			return errBadRequest("Pick show, mask or hide for " + u + ".")
		}
		form.Uses[i].Vis = vis.String()
		p.Uses[u] = vis.Verb()
	}
	switch {
	case r.PostFormValue("base") != d.cat.Version():
		form.Problems = append(form.Problems, "The catalog changed since this editor was opened. Review the values below (they are the latest) and save again.")
		form.Description, form.Owner, form.Uses = before.Description, before.Owner, usesOf(before.Uses)
	case len(form.Description) > maxDescription:
		form.Problems = append(form.Problems, fmt.Sprintf("The description is longer than %d characters.", maxDescription))
	case len(form.Owner) > maxOwner || strings.ContainsAny(form.Owner, "\n\r"):
		form.Problems = append(form.Problems, "The owner is one line: a person or team email, or a team name.")
	}
	if form.Description != before.Description {
		p.Description = &form.Description
	}
	if form.Owner != before.Owner {
		p.Owner = &form.Owner
	}
	var after *catalog.Catalog
	var src []byte
	if len(form.Problems) == 0 {
		if src, err = applyPatch(d.src, p); err == nil {
			after, err = catalog.Parse(s.displayName(), src)
		}
		if err != nil {
			form.Problems = append(form.Problems, problemLines(err)...)
		}
	}
	if len(form.Problems) > 0 {
		s.render(w, r, v, http.StatusUnprocessableEntity, "editor", "Edit "+name, form)
		return nil
	}
	now, _ := factsOf(after, kind, name)
	if now == before {
		redirect(w, r, entryURL(name), "No changes.", "")
		return nil
	}
	if wide := widenings(before.Uses, now.Uses); len(wide) > 0 && r.PostFormValue("confirm") != "yes" {
		form.Widenings = wide
		s.render(w, r, v, http.StatusOK, "confirm", "Confirm: widen "+name, form)
		return nil
	}
	if err := s.commitEdit(r.Context(), v, d, after, src, p, before, now); err != nil {
		return err
	}
	redirect(w, r, entryURL(name), "Saved.", "")
	return nil
}

// problemLines turns a catalog parse error into lines for the form.
func problemLines(err error) []string {
	var out []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// commitEdit audits the edit, then writes it and its history. The audit
// record comes first: an edit that cannot be audited is not made.
func (s *Server) commitEdit(ctx context.Context, v *viewer, d *defs, after *catalog.Catalog, src []byte, p patch,
	before, now entryFacts) error {
	diff := diffText(s.opts.Definitions.Catalog, p.Kind, p.Name, d.cat.Version(), after.Version(), before, now)
	sum := sha256.Sum256([]byte(diff))
	mode := store.CatalogEditFile
	if d.overlay {
		mode = store.CatalogEditOverlay
	}
	if s.opts.Audit == nil {
		return &httpError{Status: http.StatusServiceUnavailable, Title: "Not saved",
			Message: "Catalog edits are audited, and this crisp runs without an audit trail (audit.disabled)."}
	}
	id, err := s.opts.Audit.Append(ctx, audit.Record{Kind: audit.KindAdminCatalog, Workspace: s.opts.Workspace,
		Endpoint: "ui:catalog.edit", KeyID: v.caller.KeyID, Member: v.Member.Email, Role: v.Member.Role,
		Action: "catalog.edit." + mode, Target: s.opts.Definitions.Catalog + "#" + p.Name,
		Decision:       audit.Decision{Allow: true, Rule: "admin"},
		CatalogVersion: after.Version(), RequestSHA256: hex.EncodeToString(sum[:]), Status: http.StatusOK})
	if err != nil {
		return &httpError{Status: http.StatusServiceUnavailable, Title: "Not saved",
			Message: "crisp cannot write the audit record for this edit right now, so the edit was not made.", Cause: err}
	}
	if !d.overlay {
		if err := writeFileAtomic(filepath.Join(s.opts.Definitions.Dir, s.opts.Definitions.Catalog), src); err != nil {
			return fmt.Errorf("write catalog (audit record %s): %w", id, err)
		}
	}
	pj, _ := json.Marshal(p) // a patch always marshals
	_, err = s.opts.Store.AddCatalogEdit(ctx, store.CatalogEdit{WorkspaceID: s.opts.Workspace, Member: v.Member.Email,
		Target: p.Name, Mode: mode, Diff: diff, PatchJSON: string(pj), BeforeVersion: d.cat.Version(),
		AfterVersion: after.Version(), AuditID: id})
	if err != nil {
		return fmt.Errorf("record catalog edit (audit record %s): %w", id, err)
	}
	s.opts.Log.Info().Str("member", v.Member.Email).Str("target", p.Name).Str("mode", mode).Str("audit_id", id).
		Msg("web: catalog edited")
	return nil
}

// writeFileAtomic replaces path with data: a temporary file beside it,
// synced, then renamed over it, so a reader never sees half a file. The
// temporary name ends in .tmp, so the policy watcher never reads it.
func writeFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

type historyPage struct {
	Edits   []store.CatalogEdit
	Overlay bool
	File    string
}

func (s *Server) history(w http.ResponseWriter, r *http.Request, v *viewer) error {
	edits, err := s.opts.Store.CatalogEdits(r.Context(), s.opts.Workspace, "")
	if err != nil {
		return err
	}
	for i, j := 0, len(edits)-1; i < j; i, j = i+1, j-1 {
		edits[i], edits[j] = edits[j], edits[i]
	}
	s.render(w, r, v, http.StatusOK, "history", "Catalog history",
		historyPage{Edits: edits, Overlay: s.opts.Definitions.Dir == "", File: s.displayName()})
	return nil
}
