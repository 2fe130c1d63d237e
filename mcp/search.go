package mcp

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/proxy"
	"github.com/crisphq/crisp/store"
)

type searchIn struct {
	Query   string `json:"query,omitempty" jsonschema:"text to find in a customer's id or name (case-insensitive)"`
	Email   string `json:"email,omitempty" jsonschema:"a customer's whole email address (case-insensitive); part of an address matches nothing"`
	Account string `json:"account,omitempty" jsonschema:"an account's id or part of its name: only that account's customers"`
	Trait   string `json:"trait,omitempty" jsonschema:"a customer field to match exactly, by catalog name, e.g. customer.lifecycle; only fields shown to you"`
	Value   string `json:"value,omitempty" jsonschema:"the value the trait must equal, e.g. Activation risk"`
	Limit   int    `json:"limit,omitempty" jsonschema:"at most this many customers: 1 to 20 (default 10)"`
}

// CustomerSummary is one customer found, with only the fields shown for
// the search. ID is always there, even where the catalog hides
// customer.id from AI: it is the handle every other tool is called with.
type CustomerSummary struct {
	ID       string            `json:"id" jsonschema:"the customer's id: pass it as customer_id to the other tools"`
	Fields   map[string]string `json:"fields" jsonschema:"the customer's fields shown to you, by catalog name"`
	Accounts []string          `json:"accounts,omitempty" jsonschema:"the ids of the customer's accounts"`
}

type searchOut struct {
	Customers []CustomerSummary `json:"customers"`
	More      bool              `json:"more" jsonschema:"true when more customers may match than were returned: narrow the search"`
	Withheld  []string          `json:"withheld_fields" jsonschema:"customer fields that exist but are masked or hidden from you, so not returned"`
	AuditID   string            `json:"audit_id"`
}

// Search bounds.
const (
	DefaultSearch = 10
	MaxSearch     = 20
	// maxScan bounds the rows one search reads: results are filtered after
	// the store narrows them, so a broad query must not read the directory.
	maxScan  = 1000
	scanPage = 100
)

func (t *tools) search(ctx context.Context, req *sdk.CallToolRequest, in searchIn) (searchOut, error) {
	u, err := t.workspaceUse(ctx, req.Extra, ToolSearchCustomers)
	if err != nil {
		return searchOut{}, err
	}
	g, err := t.s.opts.Proxy.GovernWorkspace(ctx, u)
	if err != nil {
		return searchOut{}, t.refusal(err, u)
	}
	out, returned, err := t.find(ctx, g, u, in)
	if out.AuditID, err = g.End(ctx, returned, err); err != nil {
		return searchOut{}, t.refusal(err, u)
	}
	return out, nil
}

// find runs the search and returns what was found and the fields returned.
func (t *tools) find(ctx context.Context, g *proxy.Governed, u proxy.Use, in searchIn) (searchOut, []string, error) {
	out := searchOut{Customers: []CustomerSummary{}, Withheld: []string{}}
	m, err := t.matcher(ctx, g, u, in)
	if err != nil {
		return out, nil, err
	}
	for _, f := range t.customerFields() {
		if f != "customer.id" && g.Visibility(f) != catalog.Show {
			out.Withheld = append(out.Withheld, f)
		}
	}
	limit := in.Limit
	if limit <= 0 {
		limit = DefaultSearch
	}
	limit = min(limit, MaxSearch)
	returned := map[string]bool{}
	opt := m.opt
	opt.Limit = scanPage
	for scanned := 0; ; {
		page, next, err := t.s.opts.Store.ListCustomers(ctx, u.Caller.Workspace, opt)
		if err != nil {
			return out, nil, err
		}
		for _, c := range page {
			if !m.keep(c) {
				continue
			}
			if len(out.Customers) == limit {
				out.More = true
				return out, sortedKeys(returned), nil
			}
			out.Customers = append(out.Customers, t.summary(g, c, returned))
		}
		scanned += len(page)
		if next == "" {
			break
		}
		if scanned >= maxScan {
			out.More = true
			break
		}
		opt.Cursor = next
	}
	return out, sortedKeys(returned), nil
}

// match decides which customers a search finds. The store narrows by
// substring over id, email and name; match then keeps only what the
// arguments say through fields the caller may search, so a result never
// tells more about a withheld value than the caller already gave.
type match struct {
	opt       store.ListOptions
	query     string          // lower case; in the id, or the name when shown
	nameShown bool            //
	email     string          // lower case; equal to the whole email
	accounts  map[string]bool // nil: any account
}

func (m *match) keep(c store.Customer) bool {
	if m.query != "" && !strings.Contains(strings.ToLower(c.ID), m.query) &&
		(!m.nameShown || !strings.Contains(strings.ToLower(c.Name), m.query)) {
		return false
	}
	if m.email != "" && strings.ToLower(c.Email) != m.email {
		return false
	}
	if m.accounts == nil {
		return true
	}
	for _, ms := range c.Accounts {
		if m.accounts[ms.AccountID] {
			return true
		}
	}
	return false
}

func badRequest(param, format string, args ...any) *proxy.Error {
	return &proxy.Error{Status: 400, Type: "invalid_request_error", Code: "invalid_request_error", Param: param,
		Message: fmt.Sprintf(format, args...)}
}

func fieldDenied(field string, v catalog.Visibility, action string) *proxy.Error {
	return &proxy.Error{Status: 403, Type: "permission_error", Code: "policy_denied",
		Message: fmt.Sprintf("%s is %s for %s: crisp does not search by a value it may not show you.", field, v, action)}
}

// matcher checks the arguments against what the caller may see and builds
// the match.
func (t *tools) matcher(ctx context.Context, g *proxy.Governed, u proxy.Use, in searchIn) (*match, error) {
	m := &match{query: strings.ToLower(strings.TrimSpace(in.Query)), email: strings.ToLower(strings.TrimSpace(in.Email)),
		nameShown: g.Visibility("customer.name") == catalog.Show}
	if m.query == "" && m.email == "" && in.Account == "" && in.Trait == "" {
		return nil, badRequest("", "Search by query, email, account or trait (with value).")
	}
	m.opt.Query = m.query
	if m.email != "" {
		if v := g.Visibility("customer.email"); v == catalog.Hide {
			return nil, fieldDenied("customer.email", v, u.Action)
		}
		m.opt.Query = m.email
	}
	if in.Trait != "" {
		f, err := t.traitFilter(g, u, in.Trait, in.Value)
		if err != nil {
			return nil, err
		}
		m.opt.Trait = f
	}
	if acc := strings.ToLower(strings.TrimSpace(in.Account)); acc != "" {
		var err error
		if m.accounts, err = t.accountsMatching(ctx, g, u, acc); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// traitFilter turns trait and value into the store's filter, typed as the
// catalog types the field, for a field the caller is shown.
func (t *tools) traitFilter(g *proxy.Governed, u proxy.Use, trait, value string) (*store.TraitFilter, error) {
	name := strings.TrimSpace(trait)
	if !strings.HasPrefix(name, "customer.") {
		name = "customer." + name
	}
	key := strings.TrimPrefix(name, "customer.")
	switch key {
	case "id", "name", "email":
		return nil, badRequest("trait", "%s is not a trait: search it with query or email.", name)
	}
	if v := g.Visibility(name); v != catalog.Show {
		return nil, fieldDenied(name, v, u.Action)
	}
	if value == "" {
		return nil, badRequest("value", "Give the value %s must equal.", name)
	}
	f := &store.TraitFilter{Key: key, Value: value}
	def, _ := t.s.opts.Catalog.Field(name)
	switch def.Type {
	case catalog.TypeNumber:
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, badRequest("value", "%s is a number; %q is not.", name, value)
		}
		f.Value = n
	case catalog.TypeBool:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return nil, badRequest("value", "%s is true or false; %q is neither.", name, value)
		}
		f.Value = b
	}
	return f, nil
}

// accountsMatching finds the accounts whose id is acc, or whose id or name
// contains it where the field is shown: an exact id tells the caller
// nothing they did not give.
func (t *tools) accountsMatching(ctx context.Context, g *proxy.Governed, u proxy.Use, acc string) (map[string]bool, error) {
	idShown, nameShown := g.Visibility("account.id") == catalog.Show, g.Visibility("account.name") == catalog.Show
	accounts, _, err := t.s.opts.Store.ListAccounts(ctx, u.Caller.Workspace, store.ListOptions{Query: acc, Limit: scanPage})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, a := range accounts {
		id := strings.ToLower(a.ID)
		if id == acc || (idShown && strings.Contains(id, acc)) || (nameShown && strings.Contains(strings.ToLower(a.Name), acc)) {
			out[a.ID] = true
		}
	}
	return out, nil
}

// summary is a customer with every field the search may show.
func (t *tools) summary(g *proxy.Governed, c store.Customer, returned map[string]bool) CustomerSummary {
	out := CustomerSummary{ID: c.ID, Fields: map[string]string{}}
	for _, name := range t.customerFields() {
		if name == "customer.id" || g.Visibility(name) != catalog.Show {
			continue
		}
		v := g.Redact(customerValue(c, strings.TrimPrefix(name, "customer.")))
		if v == "" {
			continue
		}
		out.Fields[name] = v
		returned[name] = true
	}
	if g.Visibility("account.id") == catalog.Show {
		for _, ms := range c.Accounts {
			out.Accounts = append(out.Accounts, ms.AccountID)
		}
	}
	return out
}

// customerValue reads a customer field the way the identity resolver
// flattens a customer: the stored columns, the role in the first account,
// then the traits.
func customerValue(c store.Customer, key string) string {
	switch key {
	case "id":
		return c.ID
	case "email":
		return c.Email
	case "name":
		return c.Name
	case "role":
		if len(c.Accounts) > 0 && c.Accounts[0].Role != "" {
			return c.Accounts[0].Role
		}
	}
	if tr, ok := c.Traits[key]; ok {
		return identity.FormatValue(tr.Value)
	}
	return ""
}

// customerFields are the catalog's customer fields, by name.
func (t *tools) customerFields() []string {
	return t.custFields
}
