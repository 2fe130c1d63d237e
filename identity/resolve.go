package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"

	"github.com/crisphq/crisp/store"
)

// Store is what resolution reads.
type Store interface {
	Customer(ctx context.Context, ws, id string) (store.Customer, error)
	Account(ctx context.Context, ws, id string) (store.Account, error)
	Journey(ctx context.Context, ws, customerID string, limit int) ([]store.Event, error)
}

// JourneyLimit is how many of a customer's latest events resolution reads.
const JourneyLimit = 20

// Subject is who a request is about: the customer and the account the
// request concerns. A customer crisp has not heard of yet resolves to a
// subject with only its id, so policy decides with what is known rather
// than the request failing.
type Subject struct {
	Customer store.Customer
	Account  store.Account // zero when the customer has no account
	// Known reports whether the customer is in the store.
	Known bool
	// CustomerFields and AccountFields hold every field by its name after
	// "customer." or "account.": the stored columns (id, email, name, the
	// role in this account; id, name, plan, subscription) and the traits.
	// They may be shared with other requests: read only.
	CustomerFields map[string]any
	AccountFields  map[string]any
	// Journey is the customer's latest events, newest first (shared: read only).
	Journey []store.Event

	// version names the cache entries the subject was built from; "" when
	// it was not (an unknown customer).
	version string
}

// Version identifies what the subject holds: two subjects with the same
// non-empty version hold the same fields and journey, since cache entries
// never change and every write replaces them. Callers key what they derive
// from a subject (a compiled redactor) by it; "" means do not.
func (s *Subject) Version() string { return s.version }

// Field returns a field's value by its catalog name, e.g. account.plan.
func (s *Subject) Field(name string) (any, bool) {
	var m map[string]any
	switch {
	case strings.HasPrefix(name, "customer."):
		m, name = s.CustomerFields, name[len("customer."):]
	case strings.HasPrefix(name, "account."):
		m, name = s.AccountFields, name[len("account."):]
	}
	v, ok := m[name]
	return v, ok && v != nil
}

// customerEntry and accountEntry are what the cache holds: the stored row
// and its fields, flattened once.
type customerEntry struct {
	c       store.Customer
	fields  map[string]any
	journey []store.Event
	ver     uint64 // unique in its resolver
}

type accountEntry struct {
	a      store.Account
	fields map[string]any
	ver    uint64
}

func newCustomerEntry(c store.Customer) *customerEntry {
	f := make(map[string]any, len(c.Traits)+4)
	for k, t := range c.Traits {
		f[k] = t.Value
	}
	f["id"] = c.ID
	if c.Email != "" {
		f["email"] = c.Email
	}
	if c.Name != "" {
		f["name"] = c.Name
	}
	if len(c.Accounts) > 0 && c.Accounts[0].Role != "" {
		f["role"] = c.Accounts[0].Role
	}
	return &customerEntry{c: c, fields: f}
}

func newAccountEntry(a store.Account) *accountEntry {
	f := make(map[string]any, len(a.Traits)+4)
	for k, t := range a.Traits {
		f[k] = t.Value
	}
	f["id"] = a.ID
	for k, v := range map[string]string{"name": a.Name, "plan": a.Plan, "subscription": a.Subscription} {
		if v != "" {
			f[k] = v
		}
	}
	return &accountEntry{a: a, fields: f}
}

// Resolver finds subjects through a bounded cache. Every write to a
// customer or account must call Invalidate, in this process; several
// replicas will need a shared signal (a later issue).
type Resolver struct {
	st    Store
	cache *ristretto.Cache[string, any]
	// gen is bumped by every invalidation. A reader that started before a
	// write must not put what it read into the cache after the write
	// dropped it, or the stale copy would stick.
	gen atomic.Uint64
	// seq numbers cache entries; id (random) tells this resolver's
	// numbers from another's in a subject's Version.
	seq atomic.Uint64
	id  string
}

// NewResolver caches up to size customers and accounts.
func NewResolver(st Store, size int64) (*Resolver, error) {
	c, err := ristretto.NewCache(&ristretto.Config[string, any]{
		NumCounters: size * 10, MaxCost: size, BufferItems: 64,
		// Cost counts entries, not bytes.
		IgnoreInternalCost: true,
	})
	if err != nil {
		return nil, fmt.Errorf("identity cache: %w", err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails (Go 1.24+)
	return &Resolver{st: st, cache: c, id: hex.EncodeToString(id[:])}, nil
}

// Close releases the cache.
func (r *Resolver) Close() { r.cache.Close() }

// Resolve returns the subject for a customer id in a workspace. accountID
// picks one of the customer's accounts; empty means the first one. An
// account the customer does not belong to is an error, so a caller cannot
// pair a customer with someone else's company.
func (r *Resolver) Resolve(ctx context.Context, ws, customerID, accountID string) (*Subject, error) {
	ce, err := get(ctx, r, "c\x00"+ws+"\x00"+customerID, func(ctx context.Context) (*customerEntry, error) {
		c, err := r.st.Customer(ctx, ws, customerID)
		if err != nil {
			return nil, err
		}
		e := newCustomerEntry(c)
		e.ver = r.seq.Add(1)
		if e.journey, err = r.st.Journey(ctx, ws, customerID, JourneyLimit); err != nil {
			return nil, err
		}
		return e, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return &Subject{Customer: store.Customer{WorkspaceID: ws, ID: customerID},
			CustomerFields: map[string]any{"id": customerID}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("resolve customer: %w", err)
	}
	c := ce.c
	s := &Subject{Customer: c, Known: true, CustomerFields: ce.fields, Journey: ce.journey,
		version: r.id + "." + strconv.FormatUint(ce.ver, 10)}
	switch {
	case accountID == "" && len(c.Accounts) == 0:
		return s, nil
	case accountID == "":
		accountID = c.Accounts[0].AccountID
	case !memberOf(c, accountID):
		return nil, ErrNotMember
	case accountID != c.Accounts[0].AccountID:
		// The role is per account: this one needs its own copy.
		s.CustomerFields = maps.Clone(ce.fields)
		delete(s.CustomerFields, "role")
		for _, m := range c.Accounts {
			if m.AccountID == accountID && m.Role != "" {
				s.CustomerFields["role"] = m.Role
			}
		}
	}
	ae, err := get(ctx, r, "a\x00"+ws+"\x00"+accountID, func(ctx context.Context) (*accountEntry, error) {
		a, err := r.st.Account(ctx, ws, accountID)
		if err != nil {
			return nil, err
		}
		e := newAccountEntry(a)
		e.ver = r.seq.Add(1)
		return e, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		// The account's absence is not in the cache: do not key by it.
		s.version = ""
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("resolve account: %w", err)
	}
	s.Account, s.AccountFields = ae.a, ae.fields
	// The customer's role depends on the account, so its id is part of it.
	s.version += "/" + accountID + "." + strconv.FormatUint(ae.ver, 10)
	return s, nil
}

// ErrNotMember means the named account is not one of the customer's.
var ErrNotMember = errors.New("the customer does not belong to that account")

func memberOf(c store.Customer, accountID string) bool {
	for _, m := range c.Accounts {
		if m.AccountID == accountID {
			return true
		}
	}
	return false
}

func get[T any](ctx context.Context, r *Resolver, key string, load func(context.Context) (T, error)) (T, error) {
	if v, ok := r.cache.Get(key); ok {
		return v.(T), nil
	}
	gen := r.gen.Load()
	v, err := load(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	if r.gen.Load() == gen {
		r.cache.Set(key, v, 1)
	}
	return v, nil
}

// InvalidateCustomer drops a customer after a write to it, its traits,
// memberships or events.
func (r *Resolver) InvalidateCustomer(ws, id string) {
	r.gen.Add(1)
	r.cache.Del("c\x00" + ws + "\x00" + id)
}

// InvalidateAccount drops an account after a write.
func (r *Resolver) InvalidateAccount(ws, id string) {
	r.gen.Add(1)
	r.cache.Del("a\x00" + ws + "\x00" + id)
}

// Wait blocks until pending cache writes are applied; tests use it to see
// their Sets.
func (r *Resolver) Wait() { r.cache.Wait() }

// FormatValue renders a stored field value as text, the way it is shown
// and matched: numbers without a trailing .0, lists and objects as JSON.
func FormatValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}
