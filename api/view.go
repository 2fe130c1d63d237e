package api

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/store"
)

const roleAdmin = "admin"

// uncatalogedNote goes with every response that holds a trait or event the
// catalog does not define.
const uncatalogedNote = `Items marked "cataloged": false are not in the catalog: crisp keeps them, ` +
	`but they are hidden from AI (and their values from keys that are not admin) until someone catalogs them.`

// viewer decides what one caller sees of each field.
type viewer struct {
	cat *catalog.Catalog
	// use is the catalog use the caller reads as: support for members,
	// automation for workflows; "" for admins, who see everything.
	use string
	// uncataloged is set once a rendered item is not in the catalog.
	uncataloged bool
}

func viewerFor(c *keys.Caller, cat *catalog.Catalog) *viewer {
	switch {
	case c.Role == roleAdmin:
		return &viewer{cat: cat}
	case c.Kind == store.KeyKindWorkflow:
		return &viewer{cat: cat, use: catalog.UseAutomation}
	}
	return &viewer{cat: cat, use: catalog.UseSupport}
}

func (v *viewer) visibility(field string) catalog.Visibility {
	if v.use == "" {
		return catalog.Show
	}
	return v.cat.Default(field, v.use)
}

// value renders one field's value: itself, a masked rendering, or nil.
func (v *viewer) value(field string, value any) (any, catalog.Visibility) {
	switch vis := v.visibility(field); vis {
	case catalog.Show:
		return value, vis
	case catalog.Mask:
		return mask(value), vis
	default:
		return nil, catalog.Hide
	}
}

// column renders a text column, noting in withheld when it is not shown.
func (v *viewer) column(field, value string, withheld map[string]string) any {
	out, vis := v.value(field, value)
	if vis != catalog.Show {
		withheld[strings.TrimPrefix(strings.TrimPrefix(field, "customer."), "account.")] = vis.String()
	}
	return out
}

// mask renders a masked value: an email keeps its first letter and domain
// (d***@acme.example) so a person can tell addresses apart; anything else
// is bullets.
func mask(value any) string {
	if s, ok := value.(string); ok {
		if at := strings.LastIndexByte(s, '@'); at > 0 {
			first, _ := utf8.DecodeRuneInString(s)
			return string(first) + "***" + s[at:]
		}
	}
	return "••••"
}

type traitView struct {
	Value      any       `json:"value"`
	Type       string    `json:"type"`
	Source     string    `json:"source"`
	UpdatedAt  time.Time `json:"updated_at"`
	Cataloged  bool      `json:"cataloged"`
	Visibility string    `json:"visibility"` // shown, masked or hidden
}

func (v *viewer) traits(prefix string, traits map[string]store.Trait) map[string]traitView {
	out := make(map[string]traitView, len(traits))
	for k, t := range traits {
		field := prefix + k
		_, cataloged := v.cat.Field(field)
		if !cataloged {
			v.uncataloged = true
		}
		value, vis := v.value(field, t.Value)
		out[k] = traitView{Value: value, Type: t.Type, Source: t.Source, UpdatedAt: t.UpdatedAt,
			Cataloged: cataloged, Visibility: vis.String()}
	}
	return out
}

type membershipView struct {
	AccountID string `json:"account_id"`
	Role      any    `json:"role"`
}

type customerView struct {
	ID       string               `json:"id"`
	Email    any                  `json:"email"`
	Name     any                  `json:"name"`
	Accounts []membershipView     `json:"accounts"`
	Traits   map[string]traitView `json:"traits"`
	// Withheld names the columns (email, name) this caller may not see in
	// full, and how they are withheld: masked or hidden.
	Withheld  map[string]string `json:"withheld,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

func (v *viewer) customer(c store.Customer) customerView {
	out := customerView{ID: c.ID, Withheld: map[string]string{}, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		Accounts: make([]membershipView, 0, len(c.Accounts))}
	out.Email = v.column("customer.email", c.Email, out.Withheld)
	out.Name = v.column("customer.name", c.Name, out.Withheld)
	for _, m := range c.Accounts {
		role, _ := v.value("customer.role", m.Role)
		out.Accounts = append(out.Accounts, membershipView{AccountID: m.AccountID, Role: role})
	}
	out.Traits = v.traits("customer.", c.Traits)
	return out
}

type accountView struct {
	ID           string               `json:"id"`
	Name         any                  `json:"name"`
	Plan         any                  `json:"plan"`
	Subscription any                  `json:"subscription"`
	Traits       map[string]traitView `json:"traits"`
	// Withheld names the columns (name, plan, subscription) this caller
	// may not see in full: masked or hidden.
	Withheld  map[string]string `json:"withheld,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

func (v *viewer) account(a store.Account) accountView {
	out := accountView{ID: a.ID, Withheld: map[string]string{}, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
	out.Name = v.column("account.name", a.Name, out.Withheld)
	out.Plan = v.column("account.plan", a.Plan, out.Withheld)
	out.Subscription = v.column("account.subscription", a.Subscription, out.Withheld)
	out.Traits = v.traits("account.", a.Traits)
	return out
}

type eventView struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	AccountID  string    `json:"account_id,omitempty"`
	Properties any       `json:"properties"` // null unless the event is shown to this caller
	Timestamp  time.Time `json:"timestamp"`
	ReceivedAt time.Time `json:"received_at"`
	Source     string    `json:"source"`
	Cataloged  bool      `json:"cataloged"`
	Visibility string    `json:"visibility"`
}

func (v *viewer) event(e store.Event) eventView {
	def := v.cat.ResolveEvent(e.Name)
	if def.Uncataloged {
		v.uncataloged = true
	}
	vis := catalog.Show
	if v.use != "" {
		vis = def.Uses.For(v.use)
	}
	out := eventView{ID: e.ID, Name: e.Name, AccountID: e.AccountID, Timestamp: e.Timestamp, ReceivedAt: e.ReceivedAt,
		Source: e.Source, Cataloged: !def.Uncataloged, Visibility: vis.String()}
	if vis == catalog.Show {
		out.Properties = e.Properties
	}
	return out
}

// note is the response-level note, when one is due.
func (v *viewer) note() string {
	if v.uncataloged {
		return uncatalogedNote
	}
	return ""
}
