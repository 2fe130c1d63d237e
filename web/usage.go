package web

import (
	"errors"
	"net/http"
	"net/url"
	"sort"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/store"
)

// errNoAudit answers review pages when crisp runs without an audit trail.
var errNoAudit = &httpError{Status: http.StatusServiceUnavailable, Title: "No audit trail",
	Message: "This crisp runs with the audit trail disabled (audit.disabled), so there is nothing to review."}

type usagePage struct {
	F                      usageForm
	Records                []usageRow
	Next                   string // the next page's URL, "" at the end
	Admin                  bool
	Members                []store.Member
	Error                  string
	ExportJSONL, ExportCSV string // export links with the filters
	Kinds                  []string
	Sinces                 []option
	Filtered               bool
}

type usageForm struct {
	Since, Member, Customer, Action, Decision, Model, Kind string
}

type usageRow struct {
	audit.Record
	Redacted int
}

// usageParams are the filters the page passes to audit.ParseFilter.
var usageParams = []string{"since", "member", "customer", "action", "decision", "model", "kind", "cursor"}

// usagePageSize is how many records a page shows.
const usagePageSize = 50

// usageFilter reads the page's filters; members only ever see their own.
func (s *Server) usageFilter(r *http.Request, v *viewer) (audit.Filter, url.Values, error) {
	q := url.Values{}
	for _, k := range usageParams {
		if val := r.URL.Query().Get(k); val != "" {
			q.Set(k, val)
		}
	}
	if !v.Admin {
		q.Set("member", v.Member.Email)
	}
	f, err := audit.ParseFilter(q, s.opts.Now())
	f.Workspace = s.opts.Workspace
	return f, q, err
}

func (s *Server) usagePage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	f, q, err := s.usageFilter(r, v)
	p := usagePage{Admin: v.Admin, Kinds: []string{audit.KindAIUse, audit.KindAdminCatalog, audit.KindAdminKey, audit.KindAdminPolicy},
		Sinces: []option{{"", "All time"}, {"1h", "Last hour"}, {"24h", "Last 24 hours"}, {"168h", "Last 7 days"}, {"720h", "Last 30 days"}},
		F: usageForm{Since: q.Get("since"), Member: q.Get("member"), Customer: q.Get("customer"), Action: q.Get("action"),
			Decision: q.Get("decision"), Model: q.Get("model"), Kind: q.Get("kind")}}
	if !v.Admin {
		p.F.Member = ""
	}
	p.Filtered = p.F != usageForm{}
	switch {
	case s.opts.Audit == nil:
		p.Error = errNoAudit.Message
	case err != nil:
		p.Error = err.Error()
	default:
		f.Limit = usagePageSize
		recs, next, err := s.opts.Audit.List(r.Context(), f)
		switch {
		case errors.Is(err, audit.ErrInvalid):
			p.Error = err.Error()
		case err != nil:
			return err
		}
		for _, rec := range recs {
			n := 0
			for _, c := range rec.Redactions {
				n += c
			}
			p.Records = append(p.Records, usageRow{Record: rec, Redacted: n})
		}
		if next != "" {
			nq := cloneValues(q)
			nq.Set("cursor", next)
			p.Next = "/ui/usage?" + nq.Encode()
		}
	}
	eq := cloneValues(q)
	eq.Del("cursor")
	if !v.Admin {
		eq.Del("member")
	}
	eq.Set("format", audit.FormatJSONL)
	p.ExportJSONL = "/ui/usage/export?" + eq.Encode()
	eq.Set("format", audit.FormatCSV)
	p.ExportCSV = "/ui/usage/export?" + eq.Encode()
	if v.Admin {
		if p.Members, err = s.opts.Store.ListMembers(r.Context(), s.opts.Workspace); err != nil {
			return err
		}
	}
	s.render(w, r, v, http.StatusOK, "usage", "AI usage", p)
	return nil
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// verify renders the chain check for the usage page (an htmx fragment).
func (s *Server) verify(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if s.opts.Audit == nil {
		return errNoAudit
	}
	res, err := s.opts.Audit.Verify(r.Context(), s.opts.Workspace)
	if err != nil {
		return err
	}
	s.renderPart(w, v, "usage", "verify", res)
	return nil
}

// export streams the filtered trail as JSON lines or CSV.
func (s *Server) export(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if s.opts.Audit == nil {
		return errNoAudit
	}
	format := r.URL.Query().Get("format")
	ct := "application/x-ndjson"
	switch format {
	case "", audit.FormatJSONL:
		format = audit.FormatJSONL
	case audit.FormatCSV:
		ct = "text/csv; charset=utf-8"
	default:
		return errBadRequest("Export as jsonl or csv.")
	}
	f, _, err := s.usageFilter(r, v)
	if err != nil {
		return errBadRequest(err.Error())
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="crisp-audit.`+format+`"`)
	if err := s.opts.Audit.Export(r.Context(), s.opts.Workspace, f, format, w); err != nil {
		// The body has begun: the cut-short file shows it.
		s.opts.Log.Error().Err(err).Msg("web: audit export failed")
	}
	return nil
}

type recordPage struct {
	R          audit.Record
	Redactions []redaction
	Admin      bool
}

type redaction struct {
	Name  string
	Count int
}

func (s *Server) recordPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	if s.opts.Audit == nil {
		return errNoAudit
	}
	rec, err := s.opts.Audit.Get(r.Context(), s.opts.Workspace, id)
	notFound := errNotFound("No audit record " + id + " that you may see.")
	switch {
	case errors.Is(err, audit.ErrNotFound):
		return notFound
	case err != nil:
		return err
	case !v.Admin && rec.Member != v.Member.Email:
		return notFound // members review their own uses only
	}
	p := recordPage{R: rec, Admin: v.Admin}
	for k, n := range rec.Redactions {
		p.Redactions = append(p.Redactions, redaction{k, n})
	}
	sort.Slice(p.Redactions, func(i, j int) bool { return p.Redactions[i].Name < p.Redactions[j].Name })
	s.render(w, r, v, http.StatusOK, "record", "Audit record "+id, p)
	return nil
}
