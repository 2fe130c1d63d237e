package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

func TestCustomerUpsert(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		must(t, db.UpsertAccount(ctx, store.Account{WorkspaceID: "acme", ID: "acc_acme", Name: "Acme",
			Plan: "Growth trial", Subscription: "trialing", UpdatedAt: t0,
			Traits: map[string]store.Trait{"privateRevenue": {Value: 48250, Source: "billing"}}}))
		must(t, db.UpsertCustomer(ctx, store.Customer{WorkspaceID: "acme", ID: "usr_2481",
			Email: "dana@acme.example", Name: "Dana", UpdatedAt: t0,
			Traits:   map[string]store.Trait{"role": {Value: "Billing owner"}},
			Accounts: []store.Membership{{AccountID: "acc_acme", Role: "owner"}, {AccountID: "acc_side"}}}))
		// Empty fields never erase; a later update moves UpdatedAt forward only.
		must(t, db.UpsertCustomer(ctx, store.Customer{WorkspaceID: "acme", ID: "usr_2481", Name: "Dana K",
			UpdatedAt: t0.Add(time.Hour)}))
		must(t, db.UpsertCustomer(ctx, store.Customer{WorkspaceID: "acme", ID: "usr_2481", UpdatedAt: t0.Add(-time.Hour)}))

		c, err := db.Customer(ctx, "acme", "usr_2481")
		must(t, err)
		want := store.Customer{WorkspaceID: "acme", ID: "usr_2481", Email: "dana@acme.example", Name: "Dana K",
			Traits:    map[string]store.Trait{"role": {Key: "role", Value: "Billing owner", Type: "string", UpdatedAt: t0}},
			Accounts:  []store.Membership{{AccountID: "acc_acme", Role: "owner"}, {AccountID: "acc_side"}},
			CreatedAt: t0, UpdatedAt: t0.Add(time.Hour)}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("Customer =\n %+v\nwant\n %+v", c, want)
		}

		a, err := db.Account(ctx, "acme", "acc_acme")
		must(t, err)
		if a.Name != "Acme" || a.Plan != "Growth trial" || a.Subscription != "trialing" {
			t.Errorf("Account = %+v", a)
		}
		if tr := a.Traits["privateRevenue"]; tr.Value != float64(48250) || tr.Type != "number" || tr.Source != "billing" {
			t.Errorf("privateRevenue trait = %+v", tr)
		}
		side, err := db.Account(ctx, "acme", "acc_side") // created by the membership
		must(t, err)
		if side.Name != "" || len(side.Traits) != 0 || side.Traits == nil {
			t.Errorf("stub account = %+v", side)
		}
		if _, err := db.Customer(ctx, "acme", "usr_nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing customer err = %v", err)
		}
		if _, err := db.Account(ctx, "acme", "acc_nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing account err = %v", err)
		}
	})
}

func TestTraitLastWriteWins(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		must(t, db.UpsertCustomer(ctx, store.Customer{WorkspaceID: "acme", ID: "usr_1"}))
		must(t, db.UpsertAccount(ctx, store.Account{WorkspaceID: "acme", ID: "acc_1"}))
		merge := map[string]func(traits []store.Trait) error{
			"customer": func(tr []store.Trait) error { return db.MergeCustomerTraits(ctx, "acme", "usr_1", tr) },
			"account":  func(tr []store.Trait) error { return db.MergeAccountTraits(ctx, "acme", "acc_1", tr) },
		}
		read := map[string]func() map[string]store.Trait{
			"customer": func() map[string]store.Trait {
				c, err := db.Customer(ctx, "acme", "usr_1")
				must(t, err)
				return c.Traits
			},
			"account": func() map[string]store.Trait {
				a, err := db.Account(ctx, "acme", "acc_1")
				must(t, err)
				return a.Traits
			},
		}
		tests := []struct {
			name      string
			writes    [][]store.Trait // each a separate Merge call
			wantValue any
			wantType  string
		}{
			{name: "newer overwrites", writes: [][]store.Trait{
				{{Key: "k", Value: "old", UpdatedAt: t0}}, {{Key: "k", Value: "new", UpdatedAt: t0.Add(time.Second)}},
			}, wantValue: "new", wantType: "string"},
			{name: "older is ignored", writes: [][]store.Trait{
				{{Key: "k", Value: "new", UpdatedAt: t0.Add(time.Second)}}, {{Key: "k", Value: "old", UpdatedAt: t0}},
			}, wantValue: "new", wantType: "string"},
			{name: "equal time overwrites", writes: [][]store.Trait{
				{{Key: "k", Value: 1, UpdatedAt: t0}}, {{Key: "k", Value: 2, UpdatedAt: t0}},
			}, wantValue: float64(2), wantType: "number"},
			{name: "latest within one call", writes: [][]store.Trait{
				{{Key: "k", Value: true, UpdatedAt: t0.Add(time.Minute)}, {Key: "k", Value: false, UpdatedAt: t0}},
			}, wantValue: true, wantType: "bool"},
			{name: "json value", writes: [][]store.Trait{
				{{Key: "k", Value: map[string]any{"seats": []any{1, "x"}}, UpdatedAt: t0}},
			}, wantValue: map[string]any{"seats": []any{float64(1), "x"}}, wantType: "json"},
			{name: "explicit time type", writes: [][]store.Trait{
				{{Key: "k", Value: "2025-01-01T00:00:00Z", Type: "time", UpdatedAt: t0}},
			}, wantValue: "2025-01-01T00:00:00Z", wantType: "time"},
		}
		for kind := range merge {
			for i, tt := range tests {
				t.Run(kind+"/"+tt.name, func(t *testing.T) {
					key := "k" + string(rune('a'+i))
					for _, w := range tt.writes {
						for j := range w {
							w[j].Key = key
						}
						must(t, merge[kind](w))
					}
					got := read[kind]()[key]
					if !reflect.DeepEqual(got.Value, tt.wantValue) || got.Type != tt.wantType {
						t.Errorf("trait = %#v (%s), want %#v (%s)", got.Value, got.Type, tt.wantValue, tt.wantType)
					}
				})
			}
		}

		if err := db.MergeCustomerTraits(ctx, "acme", "usr_nope", []store.Trait{{Key: "k", Value: 1}}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("merge into missing customer err = %v", err)
		}
		if err := db.MergeAccountTraits(ctx, "acme", "acc_1", []store.Trait{{Key: "", Value: 1}}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("empty key err = %v", err)
		}
		if err := db.MergeAccountTraits(ctx, "acme", "acc_1", []store.Trait{{Key: "x", Value: 1, Type: "money"}}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("unknown type err = %v", err)
		}
	})
}

func TestAddMembership(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		must(t, db.UpsertCustomer(ctx, store.Customer{WorkspaceID: "acme", ID: "usr_1"}))
		must(t, db.UpsertAccount(ctx, store.Account{WorkspaceID: "acme", ID: "acc_b"}))
		must(t, db.UpsertAccount(ctx, store.Account{WorkspaceID: "acme", ID: "acc_a"}))
		must(t, db.AddMembership(ctx, "acme", "usr_1", "acc_b", "admin"))
		must(t, db.AddMembership(ctx, "acme", "usr_1", "acc_a", "member"))
		must(t, db.AddMembership(ctx, "acme", "usr_1", "acc_b", "")) // keeps admin
		c, err := db.Customer(ctx, "acme", "usr_1")
		must(t, err)
		want := []store.Membership{{AccountID: "acc_a", Role: "member"}, {AccountID: "acc_b", Role: "admin"}}
		if !reflect.DeepEqual(c.Accounts, want) {
			t.Errorf("Accounts = %+v, want %+v", c.Accounts, want)
		}
		for _, tt := range []struct{ name, customer, account string }{
			{name: "missing customer", customer: "usr_9", account: "acc_a"},
			{name: "missing account", customer: "usr_1", account: "acc_9"},
		} {
			if err := db.AddMembership(ctx, "acme", tt.customer, tt.account, ""); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s: err = %v", tt.name, err)
			}
		}
	})
}

// TestWorkspaceScoping writes the same ids into two workspaces and checks
// that nothing read from one shows the other's values.
func TestWorkspaceScoping(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		for _, ws := range []string{"a", "b"} {
			_, err := db.Apply(ctx, ws, store.Batch{
				Accounts: []store.AccountUpdate{{ID: "acc", Name: "name-" + ws,
					Traits: []store.Trait{{Key: "tier", Value: ws}}}},
				Customers: []store.CustomerUpdate{{ID: "usr", Email: ws + "@x.example", Name: "name-" + ws,
					Traits: []store.Trait{{Key: "ws", Value: ws}}}},
				Memberships: []store.MembershipLink{{CustomerID: "usr", AccountID: "acc", Role: "role-" + ws}},
				Events:      []store.Event{{ID: "evt", CustomerID: "usr", Name: "seen-" + ws, Timestamp: t0}},
			})
			must(t, err)
		}
		if _, err := db.Apply(ctx, "c", store.Batch{Events: []store.Event{{WorkspaceID: "a", ID: "e", Name: "x"}}}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("event of another workspace: err = %v", err)
		}
		for _, ws := range []string{"a", "b"} {
			c, err := db.Customer(ctx, ws, "usr")
			must(t, err)
			if c.WorkspaceID != ws || c.Email != ws+"@x.example" || c.Traits["ws"].Value != ws ||
				len(c.Traits) != 1 || len(c.Accounts) != 1 || c.Accounts[0].Role != "role-"+ws {
				t.Errorf("workspace %s customer = %+v", ws, c)
			}
			a, err := db.Account(ctx, ws, "acc")
			must(t, err)
			if a.Name != "name-"+ws || a.Traits["tier"].Value != ws || len(a.Traits) != 1 {
				t.Errorf("workspace %s account = %+v", ws, a)
			}
			j, err := db.Journey(ctx, ws, "usr", 10)
			must(t, err)
			if len(j) != 1 || j[0].Name != "seen-"+ws {
				t.Errorf("workspace %s journey = %+v", ws, j)
			}
			cs, _, err := db.ListCustomers(ctx, ws, store.ListOptions{})
			must(t, err)
			if len(cs) != 1 || cs[0].Name != "name-"+ws {
				t.Errorf("workspace %s list = %+v", ws, cs)
			}
		}
		if _, err := db.Customer(ctx, "c", "usr"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("customer in empty workspace: err = %v", err)
		}
	})
}
