package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/policy"
	"github.com/crisphq/crisp/proxy"
	"github.com/crisphq/crisp/store"
)

// panel is the active-account panel beside a conversation.
type panel struct {
	ConvID      string
	AccountID   string
	AccountName string
	Plan        string
	Badges      []badge
	Key         []fieldRow   // the fields an agent looks at first
	Groups      []fieldGroup // the rest
	FieldCount  int
	Checks      []check
	Draft       policy.Decision // ai.draft for this member and customer
	Journey     []step
	CanAI       bool
}

type badge struct{ Text, Tone string } // tone: info, warn, risk, ok

type fieldGroup struct {
	Title string
	Rows  []fieldRow
}

type fieldRow struct {
	Name, Label, Value string
	Masked             bool
	NotForAI           bool // hidden from AI for this member's drafts
	MaskedForAI        bool // masked for AI
}

type check struct {
	Label, Detail string
	OK            bool
}

type step struct {
	Name string
	At   time.Time
}

func (s *Server) panel(ctx context.Context, v *viewer, c store.Conversation, sv *subjectView) (*panel, error) {
	d, err := s.opts.AI.Check(ctx, s.opts.Workspace, proxy.CheckRequest{Member: v.Member.Email, Customer: c.CustomerID,
		Account: c.AccountID, Action: "ai.draft", SignedIdentity: c.IdentityVerified})
	if err != nil {
		return nil, err
	}
	p := &panel{ConvID: c.ID, AccountID: sv.text("account.id", c.AccountID), AccountName: sv.accountName(),
		Plan: sv.text("account.plan", ""), Draft: d, CanAI: d.Allow}
	p.Badges = badges(sv)
	p.Key, p.Groups, p.FieldCount = s.identityModel(sv, d.Fields)
	p.Checks = s.policyChecks(c, d)
	for _, e := range sv.sub.Journey { // newest first
		if s.opts.Catalog.ResolveEvent(e.Name).Uses.For(useSupport) == catalog.Hide {
			continue
		}
		p.Journey = append(p.Journey, step{Name: e.Name, At: e.Timestamp})
	}
	slices.Reverse(p.Journey) // a timeline reads oldest first
	return p, nil
}

// badges are the account's state at a glance, as on the product page:
// trial day 6 · billing owner · checkout risk.
func badges(sv *subjectView) []badge {
	var out []badge
	if t, _, ok := sv.value("account.trialDay"); ok && t != "" {
		out = append(out, badge{"trial day " + t, "info"})
	}
	if t, _, ok := sv.value("customer.role"); ok && t != "" {
		out = append(out, badge{strings.ToLower(t), "neutral"})
	}
	if t, _, ok := sv.value("account.checkoutRisk"); ok && t == "yes" {
		out = append(out, badge{"checkout risk", "risk"})
	}
	if t, _, ok := sv.value("account.subscription"); ok && t == "past_due" {
		out = append(out, badge{"past due", "risk"})
	}
	if t, _, ok := sv.value("account.lifecycle"); ok && strings.Contains(strings.ToLower(t), "risk") {
		out = append(out, badge{strings.ToLower(t), "warn"})
	}
	return out
}

// keyFields open the identity model, as on the product page.
var keyFields = []string{"customer.id", "account.plan", "customer.role", "account.lifecycle", "customer.email", "account.seats"}

// identityModel lists what the member may see of the customer and account,
// in catalog order: masked values masked, hidden fields absent. The key
// fields come first; the rest are grouped by customer and account.
func (s *Server) identityModel(sv *subjectView, forAI policy.Fields) (key []fieldRow, groups []fieldGroup, n int) {
	fields := s.opts.Catalog.Fields()
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].Pos.Line < fields[j].Pos.Line })
	rows := map[string]fieldRow{}
	groups = []fieldGroup{{Title: "Customer"}, {Title: "Account"}}
	for _, f := range fields {
		text, masked, ok := sv.value(f.Name)
		if !ok || text == "" {
			continue
		}
		n++
		row := fieldRow{Name: f.Name, Label: f.Name, Value: text, Masked: masked,
			NotForAI: forAI.Visibility(f.Name) == catalog.Hide, MaskedForAI: forAI.Visibility(f.Name) == catalog.Mask}
		if slices.Contains(keyFields, f.Name) {
			rows[f.Name] = row
			continue
		}
		g := &groups[1]
		if strings.HasPrefix(f.Name, "customer.") {
			g = &groups[0]
		}
		g.Rows = append(g.Rows, row)
	}
	for _, k := range keyFields {
		if r, ok := rows[k]; ok {
			key = append(key, r)
		}
	}
	return key, groups, n
}

// policyChecks answer "can this agent's AI see what this customer allows?"
// the way the product page shows it.
func (s *Server) policyChecks(c store.Conversation, d policy.Decision) []check {
	signed := check{Label: "Identity not verified", OK: c.IdentityVerified,
		Detail: "The customer's identity was not signed when this conversation came in, so customer-scoped AI is off."}
	if c.IdentityVerified {
		signed.Label = "Signed hash verified"
		signed.Detail = "Verified (" + orWord(c.IdentityMethod, "signed") + ") when the conversation came in."
	}
	out := []check{signed}
	if _, ok := s.opts.Catalog.Field("account.privateRevenue"); ok {
		hidden := d.Fields.Visibility("account.privateRevenue") == catalog.Hide
		ch := check{Label: "Private revenue hidden", OK: hidden, Detail: "account.privateRevenue never reaches the AI."}
		if !hidden {
			ch.Label = "Private revenue exposed"
			ch.Detail = "account.privateRevenue resolves to " + d.Fields.Visibility("account.privateRevenue").String() + " for AI drafts."
		}
		out = append(out, ch)
	}
	hiddenForAI := len(d.Fields.With(catalog.Hide))
	ai := check{Label: "AI context allowed", OK: d.Allow}
	if d.Allow {
		ai.Detail = "Rule " + d.Rule + " allows ai.draft; " + plural(hiddenForAI, "field") + " stay hidden from the AI."
	} else {
		ai.Label = "AI context not allowed"
		ai.Detail = d.Message()
		if ai.Detail == "" {
			ai.Detail = "No rule allows ai.draft for you on this customer (" + d.Rule + ")."
		}
	}
	return append(out, ai)
}

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// aiContextPart is what the AI would be given, from proxy.ContextFor.
type aiContextPart struct {
	Fields  []fieldRow
	Events  []step
	AuditID string
	Rule    string
	Error   string
}

// aiContext shows what the AI sees for this conversation. It is a real
// context read: policy-checked and audited like any other.
func (s *Server) aiContext(w http.ResponseWriter, r *http.Request, v *viewer) error {
	c, err := s.loadConversation(r)
	if err != nil {
		return err
	}
	var part aiContextPart
	res, err := s.opts.AI.ContextFor(r.Context(), s.use(v, c, "ai.context"))
	switch {
	case err != nil:
		part.Error = refusal(err)
	default:
		part.AuditID, part.Rule = res.AuditID, res.Decision.Rule
		masked := map[string]bool{}
		for _, m := range res.Masked {
			masked[m] = true
		}
		names := make([]string, 0, len(res.Fields))
		for n := range res.Fields {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			part.Fields = append(part.Fields, fieldRow{Name: n, Label: n, Value: res.Fields[n], Masked: masked[n]})
		}
		for _, n := range res.Masked {
			if _, shown := res.Fields[n]; !shown {
				part.Fields = append(part.Fields, fieldRow{Name: n, Label: n, Value: "a placeholder, never the value", Masked: true})
			}
		}
		for _, e := range res.Events {
			part.Events = append(part.Events, step{Name: e.Name, At: e.At})
		}
	}
	s.renderPart(w, v, "inbox", "aicontext", part)
	return nil
}

func (s *Server) use(v *viewer, c store.Conversation, action string) proxy.Use {
	return proxy.UseFrom(v.caller, c.CustomerID, c.AccountID, action, c.IdentityVerified, "conversation")
}

// refusal is the text to show for a failed AI use: the pipeline's own
// message when it has one (written for the caller), a generic one if not.
func refusal(err error) string {
	var pe *proxy.Error
	if errors.As(err, &pe) && pe.Message != "" {
		return pe.Message
	}
	return "The AI request failed. The details are in the server log."
}

// statusOf is the HTTP status for a failed AI use.
func statusOf(err error) int {
	var pe *proxy.Error
	if errors.As(err, &pe) && pe.Status >= 400 {
		return pe.Status
	}
	return http.StatusBadGateway
}
