package web

import (
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/crisphq/crisp/policy"
	"github.com/crisphq/crisp/proxy"
	"github.com/crisphq/crisp/store"
)

type policiesPage struct {
	Files     []ruleFile
	Dir       string
	Try       tryForm
	Members   []store.Member
	Customers []option
	Actions   []string
	Result    *policy.Decision
	Fields    []fieldVis
	Error     string
	Flash     string
}

type ruleFile struct {
	Name   string // acme.rules
	Path   string // policies/acme.rules
	Lines  []ruleLine
	Tests  string // the test file beside it, if any
	Digest string
}

type ruleLine struct {
	N       int
	Text    string
	Comment bool
	Hit     bool // the line of the deciding rule in the last try
}

type tryForm struct {
	Member, Customer, Action string
	Signed, Ran              bool
}

type option struct{ Value, Label string }

type fieldVis struct{ Name, Vis string }

// tryActions are the actions the try-it panel offers.
var tryActions = []string{"ai.draft", "ai.ask", "ai.context", "ai.general", "ai.agent.get_context", "support"}

func (s *Server) policiesPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ctx := r.Context()
	q := r.URL.Query()
	p := policiesPage{Dir: path.Join(s.opts.Definitions.Dir, s.opts.Definitions.Policies), Actions: tryActions,
		Try: tryForm{Member: v.Member.Email, Action: "ai.draft", Signed: true}, Flash: flash(r)}
	if s.opts.Definitions.Dir == "" {
		p.Dir = "configs/" + s.opts.Definitions.Policies + " (embedded)"
	}
	if q.Get("ran") != "" {
		p.Try = tryForm{Member: q.Get("member"), Customer: q.Get("customer"), Action: q.Get("action"),
			Signed: q.Get("signed") != "", Ran: true}
	}
	var err error
	if p.Members, err = s.opts.Store.ListMembers(ctx, s.opts.Workspace); err != nil {
		return err
	}
	custs, _, err := s.opts.Store.ListCustomers(ctx, s.opts.Workspace, store.ListOptions{Limit: 100})
	if err != nil {
		return err
	}
	if !p.Try.Ran {
		// Start from the customer of the latest open conversation.
		recent, _, err := s.opts.Store.ListConversations(ctx, s.opts.Workspace,
			store.ConversationFilter{Status: store.StatusOpen, Limit: 1})
		if err != nil {
			return err
		}
		if len(recent) > 0 {
			p.Try.Customer = recent[0].CustomerID
		} else if len(custs) > 0 {
			p.Try.Customer = custs[0].ID
		}
	}
	for _, c := range custs {
		account := ""
		if len(c.Accounts) > 0 {
			account = c.Accounts[0].AccountID
		}
		sv, err := s.view(ctx, v, store.Conversation{CustomerID: c.ID, AccountID: account})
		if err != nil {
			return err
		}
		label := c.ID
		if n := sv.text("customer.name", ""); n != "" {
			label += " · " + n
		}
		if a := sv.accountName(); a != "" {
			label += " (" + a + ")"
		}
		p.Customers = append(p.Customers, option{Value: c.ID, Label: label})
	}
	if p.Try.Ran {
		s.try(r, &p)
	}
	if p.Files, err = s.ruleFiles(p.Result); err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "policies", "Policies", p)
	return nil
}

// try decides the panel's question with proxy.Check, as the pipeline would.
func (s *Server) try(r *http.Request, p *policiesPage) {
	d, err := s.opts.AI.Check(r.Context(), s.opts.Workspace, proxy.CheckRequest{Member: p.Try.Member,
		Customer: p.Try.Customer, Action: p.Try.Action, SignedIdentity: p.Try.Signed})
	switch {
	case errors.Is(err, proxy.ErrUnknownMember):
		p.Error = "No member " + p.Try.Member + " in this workspace."
		return
	case err != nil:
		p.Error = "The policy could not decide: " + refusal(err)
		s.opts.Log.Warn().Err(err).Msg("web: policy try failed")
		return
	}
	p.Result = &d
	for name, vis := range d.Fields.All() {
		p.Fields = append(p.Fields, fieldVis{Name: name, Vis: vis.String()})
	}
}

// ruleFiles reads the rules as written, marking the deciding rule's line.
func (s *Server) ruleFiles(d *policy.Decision) ([]ruleFile, error) {
	dir := s.opts.Definitions.Policies
	names, err := fs.Glob(s.opts.Definitions.FS, path.Join(dir, "*.rules"))
	if err != nil {
		return nil, err
	}
	hitFile, hitLine := "", 0
	if d != nil && d.Location != "" {
		if f, l, ok := strings.Cut(d.Location, ":"); ok {
			hitFile = path.Base(f)
			hitLine, _ = strconv.Atoi(l)
		}
	}
	var out []ruleFile
	for _, n := range names {
		data, err := fs.ReadFile(s.opts.Definitions.FS, n)
		if err != nil {
			return nil, err
		}
		rf := ruleFile{Name: path.Base(n), Path: n}
		base := strings.TrimSuffix(n, ".rules")
		if _, err := fs.Stat(s.opts.Definitions.FS, base+"_test.yaml"); err == nil {
			rf.Tests = path.Base(base) + "_test.yaml"
		}
		for i, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			t := strings.TrimSpace(l)
			rf.Lines = append(rf.Lines, ruleLine{N: i + 1, Text: l,
				Comment: strings.HasPrefix(t, "#") || strings.HasPrefix(t, "//")})
		}
		// The deciding statement runs from its line to the next blank one.
		for i := hitLine - 1; rf.Name == hitFile && i >= 0 && i < len(rf.Lines); i++ {
			if strings.TrimSpace(rf.Lines[i].Text) == "" {
				break
			}
			rf.Lines[i].Hit = true
		}
		out = append(out, rf)
	}
	return out, nil
}
