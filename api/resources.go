package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/store"
)

// SourceAPI is the source recorded on traits written through this API.
const SourceAPI = "api"

type customerResponse struct {
	Customer customerView `json:"customer"`
	Note     string       `json:"note,omitempty"`
}

type customerList struct {
	Customers  []customerView `json:"customers"`
	NextCursor string         `json:"next_cursor"` // "" on the last page
	Note       string         `json:"note,omitempty"`
}

type accountResponse struct {
	Account accountView `json:"account"`
	Note    string      `json:"note,omitempty"`
}

type accountList struct {
	Accounts   []accountView `json:"accounts"`
	NextCursor string        `json:"next_cursor"`
	Note       string        `json:"note,omitempty"`
}

type journeyResponse struct {
	CustomerID string      `json:"customer_id"`
	Events     []eventView `json:"events"` // newest first
	Note       string      `json:"note,omitempty"`
}

func (h *Handler) listCustomers(r *http.Request, c *keys.Caller) (any, error) {
	v := viewerFor(c, h.opts.Catalog)
	q, err := customerKind.parseList(r, v)
	if err != nil {
		return nil, err
	}
	var keep func(store.Customer) bool
	switch q.column {
	case "email":
		keep = func(x store.Customer) bool { return x.Email == q.value }
	case "name":
		keep = func(x store.Customer) bool { return x.Name == q.value }
	}
	page, next, err := listFiltered(r.Context(), h.opts.Store.ListCustomers, c.Workspace, q.opt, keep)
	if err != nil {
		return nil, storeError(err, "customers")
	}
	out := customerList{Customers: make([]customerView, len(page)), NextCursor: next}
	for i, x := range page {
		out.Customers[i] = v.customer(x)
	}
	out.Note = v.note()
	return out, nil
}

func (h *Handler) listAccounts(r *http.Request, c *keys.Caller) (any, error) {
	v := viewerFor(c, h.opts.Catalog)
	q, err := accountKind.parseList(r, v)
	if err != nil {
		return nil, err
	}
	var keep func(store.Account) bool
	switch q.column {
	case "name":
		keep = func(x store.Account) bool { return x.Name == q.value }
	case "plan":
		keep = func(x store.Account) bool { return x.Plan == q.value }
	case "subscription":
		keep = func(x store.Account) bool { return x.Subscription == q.value }
	}
	page, next, err := listFiltered(r.Context(), h.opts.Store.ListAccounts, c.Workspace, q.opt, keep)
	if err != nil {
		return nil, storeError(err, "accounts")
	}
	out := accountList{Accounts: make([]accountView, len(page)), NextCursor: next}
	for i, x := range page {
		out.Accounts[i] = v.account(x)
	}
	out.Note = v.note()
	return out, nil
}

func (h *Handler) getCustomer(r *http.Request, c *keys.Caller) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return h.customerResponse(r.Context(), c, id)
}

func (h *Handler) customerResponse(ctx context.Context, c *keys.Caller, id string) (any, error) {
	x, err := h.opts.Store.Customer(ctx, c.Workspace, id)
	if err != nil {
		return nil, storeError(err, fmt.Sprintf("customer %q", id))
	}
	v := viewerFor(c, h.opts.Catalog)
	out := customerResponse{Customer: v.customer(x)}
	out.Note = v.note()
	return out, nil
}

func (h *Handler) getAccount(r *http.Request, c *keys.Caller) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return h.accountResponse(r.Context(), c, id)
}

func (h *Handler) accountResponse(ctx context.Context, c *keys.Caller, id string) (any, error) {
	x, err := h.opts.Store.Account(ctx, c.Workspace, id)
	if err != nil {
		return nil, storeError(err, fmt.Sprintf("account %q", id))
	}
	v := viewerFor(c, h.opts.Catalog)
	out := accountResponse{Account: v.account(x)}
	out.Note = v.note()
	return out, nil
}

func (h *Handler) journey(r *http.Request, c *keys.Caller) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	limit := 0
	for name, vals := range r.URL.Query() {
		n, err := strconv.Atoi(vals[len(vals)-1])
		if name != "limit" || err != nil || n < 1 || n > store.MaxJourney {
			return nil, errBadRequest("The journey takes one parameter, limit: a whole number from 1 to %d.", store.MaxJourney)
		}
		limit = n
	}
	events, err := h.opts.Store.Journey(r.Context(), c.Workspace, id, limit)
	if err != nil {
		return nil, storeError(err, "journey")
	}
	if len(events) == 0 {
		// Events can arrive before their customer is identified; a journey
		// with neither is a customer crisp has not heard of.
		if _, err := h.opts.Store.Customer(r.Context(), c.Workspace, id); err != nil {
			return nil, storeError(err, fmt.Sprintf("customer %q", id))
		}
	}
	v := viewerFor(c, h.opts.Catalog)
	out := journeyResponse{CustomerID: id, Events: make([]eventView, len(events))}
	for i, e := range events {
		out.Events[i] = v.event(e)
	}
	out.Note = v.note()
	return out, nil
}

// customerBody is PUT /api/v1/customers/{id}: an upsert. Columns given
// replace the stored ones, traits merge (last write wins), accounts are
// added; nothing is removed.
type customerBody struct {
	Email    *string         `json:"email"`
	Name     *string         `json:"name"`
	Traits   json.RawMessage `json:"traits"`
	Accounts []struct {
		AccountID string `json:"account_id"`
		Role      string `json:"role"`
	} `json:"accounts"`
}

func (h *Handler) putCustomer(r *http.Request, c *keys.Caller) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	var body customerBody
	if err := readJSON(r, &body, true); err != nil {
		return nil, err
	}
	u := store.CustomerUpdate{ID: id, Email: deref(body.Email), Name: deref(body.Name), At: h.opts.Now()}
	if err := checkText("email or name", u.Email, u.Name); err != nil {
		return nil, err
	}
	if len(body.Traits) > 0 && string(body.Traits) != "null" {
		writes, err := parseTraits(body.Traits)
		if err != nil {
			return nil, err
		}
		if u.Traits, err = h.traitsOnly(writes, "email", "name"); err != nil {
			return nil, err
		}
	}
	b := store.Batch{Customers: []store.CustomerUpdate{u}}
	for i, m := range body.Accounts {
		if m.AccountID == "" || len(m.AccountID) > maxKeyLen {
			return nil, errBadRequest("accounts[%d]: account_id must be 1 to %d bytes.", i, maxKeyLen)
		}
		if err := checkText(fmt.Sprintf("accounts[%d]", i), m.AccountID, m.Role); err != nil {
			return nil, err
		}
		b.Memberships = append(b.Memberships, store.MembershipLink{CustomerID: id, AccountID: m.AccountID, Role: m.Role})
	}
	if err := h.apply(r.Context(), c.Workspace, b); err != nil {
		return nil, err
	}
	return h.customerResponse(r.Context(), c, id)
}

// accountBody is PUT /api/v1/accounts/{id}, an upsert like customerBody.
type accountBody struct {
	Name         *string         `json:"name"`
	Plan         *string         `json:"plan"`
	Subscription *string         `json:"subscription"`
	Traits       json.RawMessage `json:"traits"`
}

func (h *Handler) putAccount(r *http.Request, c *keys.Caller) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	var body accountBody
	if err := readJSON(r, &body, true); err != nil {
		return nil, err
	}
	u := store.AccountUpdate{ID: id, Name: deref(body.Name), Plan: deref(body.Plan),
		Subscription: deref(body.Subscription), At: h.opts.Now()}
	if err := checkText("name, plan or subscription", u.Name, u.Plan, u.Subscription); err != nil {
		return nil, err
	}
	if len(body.Traits) > 0 && string(body.Traits) != "null" {
		writes, err := parseTraits(body.Traits)
		if err != nil {
			return nil, err
		}
		if u.Traits, err = h.traitsOnly(writes, "name", "plan", "subscription"); err != nil {
			return nil, err
		}
	}
	if err := h.apply(r.Context(), c.Workspace, store.Batch{Accounts: []store.AccountUpdate{u}}); err != nil {
		return nil, err
	}
	return h.accountResponse(r.Context(), c, id)
}

// patchCustomerTraits merges traits into an existing customer; email and
// name set its columns.
func (h *Handler) patchCustomerTraits(r *http.Request, c *keys.Caller) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	writes, err := h.readTraits(r)
	if err != nil {
		return nil, err
	}
	if _, err := h.opts.Store.Customer(r.Context(), c.Workspace, id); err != nil {
		return nil, storeError(err, fmt.Sprintf("customer %q", id))
	}
	u := store.CustomerUpdate{ID: id, At: h.opts.Now()}
	cols := map[string]*string{"email": &u.Email, "name": &u.Name}
	if u.Traits, err = h.splitColumns(writes, cols); err != nil {
		return nil, err
	}
	if err := h.apply(r.Context(), c.Workspace, store.Batch{Customers: []store.CustomerUpdate{u}}); err != nil {
		return nil, err
	}
	return h.customerResponse(r.Context(), c, id)
}

// patchAccountTraits merges traits into an existing account; name, plan
// and subscription set its columns.
func (h *Handler) patchAccountTraits(r *http.Request, c *keys.Caller) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	writes, err := h.readTraits(r)
	if err != nil {
		return nil, err
	}
	if _, err := h.opts.Store.Account(r.Context(), c.Workspace, id); err != nil {
		return nil, storeError(err, fmt.Sprintf("account %q", id))
	}
	u := store.AccountUpdate{ID: id, At: h.opts.Now()}
	cols := map[string]*string{"name": &u.Name, "plan": &u.Plan, "subscription": &u.Subscription}
	if u.Traits, err = h.splitColumns(writes, cols); err != nil {
		return nil, err
	}
	if err := h.apply(r.Context(), c.Workspace, store.Batch{Accounts: []store.AccountUpdate{u}}); err != nil {
		return nil, err
	}
	return h.accountResponse(r.Context(), c, id)
}

func (h *Handler) readTraits(r *http.Request) ([]traitWrite, error) {
	var raw json.RawMessage
	if err := readJSON(r, &raw, false); err != nil {
		return nil, err
	}
	return parseTraits(raw)
}

// splitColumns sets the columns named in cols from writes and returns the
// rest as traits.
func (h *Handler) splitColumns(writes []traitWrite, cols map[string]*string) ([]store.Trait, error) {
	var out []store.Trait
	for _, w := range writes {
		if w.Key == "id" {
			return nil, errBadRequest("id cannot be changed.")
		}
		if col, ok := cols[w.Key]; ok {
			s, isStr := w.Value.(string)
			if !isStr {
				return nil, errBadRequest("%s must be a string.", w.Key)
			}
			if err := checkText(w.Key, s); err != nil {
				return nil, err
			}
			*col = s
			continue
		}
		out = append(out, store.Trait{Key: w.Key, Value: w.Value, Source: SourceAPI, UpdatedAt: w.At})
	}
	return out, nil
}

// traitsOnly is splitColumns for a body whose columns have their own
// fields: naming one among the traits is a mistake.
func (h *Handler) traitsOnly(writes []traitWrite, columns ...string) ([]store.Trait, error) {
	cols := map[string]*string{}
	for _, c := range columns {
		cols[c] = nil
	}
	for _, w := range writes {
		if _, ok := cols[w.Key]; ok {
			return nil, errBadRequest("traits.%s: %s is a field of its own; set it outside traits.", w.Key, w.Key)
		}
	}
	return h.splitColumns(writes, nil)
}

// apply writes b and drops what it touched from the resolver's cache.
func (h *Handler) apply(ctx context.Context, ws string, b store.Batch) error {
	if _, err := h.opts.Store.Apply(ctx, ws, b); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return errBadRequest("%v", err)
		}
		return errInternal(err)
	}
	if inv := h.opts.Invalidator; inv != nil {
		for _, u := range b.Customers {
			inv.InvalidateCustomer(ws, u.ID)
		}
		for _, u := range b.Accounts {
			inv.InvalidateAccount(ws, u.ID)
		}
		for _, m := range b.Memberships {
			inv.InvalidateAccount(ws, m.AccountID)
		}
	}
	return nil
}

func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > maxKeyLen || strings.IndexByte(id, 0) >= 0 {
		return "", errBadRequest("The id must be 1 to %d bytes, without NUL.", maxKeyLen)
	}
	return id, nil
}

// checkText refuses NUL bytes in what lands in text columns: PostgreSQL
// cannot store them.
func checkText(what string, values ...string) error {
	for _, v := range values {
		if strings.IndexByte(v, 0) >= 0 {
			return errBadRequest("%s contains a NUL byte.", what)
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
