package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/policy"
)

// policyEditPage edits one rules file as text (admins only).
type policyEditPage struct {
	File     string // acme.rules
	Path     string // where it lives, as shown
	Text     string
	Base     string // sha256 of the file the form was made from
	ReadOnly bool   // the embedded example: nothing can be written
	Problems []string
}

// readOnlyPolicies is why the embedded example's policies cannot be saved.
const readOnlyPolicies = "These policies are the example embedded in crisp, which is read-only. " +
	"To edit policies here, run crisp with the definitions on disk: copy the configs/ folder and start " +
	"crisp serve --config ./configs. Saved files are then reloaded within a second."

var rulesFileName = regexp.MustCompile(`^[A-Za-z0-9_.-]+\.rules$`)

// policyFile reads the named rules file; 404 unless it is one of the
// policies folder's *.rules files.
func (s *Server) policyFile(r *http.Request) (policyEditPage, error) {
	name := r.PathValue("file")
	p := policyEditPage{File: name, ReadOnly: s.opts.Definitions.Dir == ""}
	if !rulesFileName.MatchString(name) || strings.HasPrefix(name, ".") {
		return p, errNotFound("There is no rules file " + name + ".")
	}
	data, err := fs.ReadFile(s.opts.Definitions.FS, path.Join(s.opts.Definitions.Policies, name))
	if errors.Is(err, fs.ErrNotExist) {
		return p, errNotFound("There is no rules file " + name + ".")
	}
	if err != nil {
		return p, fmt.Errorf("read %s: %w", name, err)
	}
	p.Text, p.Base = string(data), digest(data)
	p.Path = path.Join("configs", s.opts.Definitions.Policies, name) + " (embedded)"
	if !p.ReadOnly {
		p.Path = filepath.Join(s.opts.Definitions.Dir, s.opts.Definitions.Policies, name)
	}
	return p, nil
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (s *Server) policyEditForm(w http.ResponseWriter, r *http.Request, v *viewer) error {
	p, err := s.policyFile(r)
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "policyedit", "Edit "+p.File, p)
	return nil
}

// savePolicy compiles the whole policy set with the edited file; when it
// compiles it audits the edit, then writes the file, which the running
// server's policy watcher reloads. When it does not, nothing is written.
func (s *Server) savePolicy(w http.ResponseWriter, r *http.Request, v *viewer) error {
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	p, err := s.policyFile(r)
	if err != nil {
		return err
	}
	text := strings.ReplaceAll(r.PostFormValue("text"), "\r\n", "\n")
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	base := p.Base // the file as it is now
	p.Text = text
	var eng *policy.Engine
	switch {
	case p.ReadOnly:
		p.Problems = []string{readOnlyPolicies}
	case r.PostFormValue("base") != base:
		p.Problems = []string{"The file changed since this editor was opened. Your text is below; compare it with " +
			"the file as it is now and save again."}
	default:
		eng, p.Problems, err = s.compileWith(r.Context(), p.File, text)
		if err != nil {
			return err
		}
	}
	if len(p.Problems) > 0 {
		status := http.StatusUnprocessableEntity
		if p.ReadOnly {
			status = http.StatusConflict
		}
		s.render(w, r, v, status, "policyedit", "Edit "+p.File, p)
		return nil
	}
	if s.opts.Audit == nil {
		return &httpError{Status: http.StatusServiceUnavailable, Title: "Not saved",
			Message: "Policy edits are audited, and this crisp runs without an audit trail (audit.disabled)."}
	}
	target := path.Join(s.opts.Definitions.Policies, p.File)
	id, err := s.opts.Audit.Append(r.Context(), audit.Record{Kind: audit.KindAdminPolicy, Workspace: s.opts.Workspace,
		Endpoint: "ui:policy.edit", KeyID: v.caller.KeyID, Member: v.Member.Email, Role: v.Member.Role,
		Action: "policy.edit", Target: target, RequestSHA256: digest([]byte(text)), Status: http.StatusOK,
		Decision: audit.Decision{Allow: true, Rule: "admin", PolicyVersion: eng.Version()}})
	if err != nil {
		return &httpError{Status: http.StatusServiceUnavailable, Title: "Not saved",
			Message: "crisp cannot write the audit record for this edit right now, so the edit was not made.", Cause: err}
	}
	file := filepath.Join(s.opts.Definitions.Dir, filepath.FromSlash(target))
	if err := writeFileAtomic(file, []byte(text)); err != nil {
		return fmt.Errorf("write %s (audit record %s): %w", target, id, err)
	}
	s.opts.Log.Info().Str("member", v.Member.Email).Str("target", target).Str("audit_id", id).Msg("web: policy edited")
	redirect(w, r, "/ui/policies", "Policy saved.", p.File)
	return nil
}

// compileWith compiles every rules file, with file's text replaced, against
// the catalog crisp runs with. It returns the problems, each at its
// file:line:col, when the set does not compile.
func (s *Server) compileWith(ctx context.Context, file, text string) (*policy.Engine, []string, error) {
	dir := s.opts.Definitions.Policies
	srcs, err := policy.ReadSources(s.opts.Definitions.FS, dir, path.Base(dir))
	if err != nil {
		return nil, nil, err
	}
	for i := range srcs {
		if path.Base(srcs[i].Name) == file {
			srcs[i].Text = text
		}
	}
	cat := s.opts.Catalog
	if cat == nil {
		d, err := s.current(ctx)
		if err != nil {
			return nil, nil, err
		}
		cat = d.cat
	}
	eng, err := policy.Compile(srcs, cat)
	var list policy.ErrorList
	switch {
	case errors.As(err, &list):
		out := make([]string, len(list))
		for i, e := range list {
			out[i] = e.Error()
		}
		return nil, out, nil
	case err != nil:
		return nil, problemLines(err), nil
	}
	return eng, nil, nil
}
