package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

// TestColumnsLastWriteWins: a late, older update (a retried identify) does
// not overwrite a newer email or plan, as for traits.
func TestColumnsLastWriteWins(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		newer := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
		older := newer.Add(-time.Hour)
		apply := func(at time.Time, email, plan string) {
			t.Helper()
			_, err := db.Apply(ctx, "ws", store.Batch{
				Customers: []store.CustomerUpdate{{ID: "u1", Email: email, At: at}},
				Accounts:  []store.AccountUpdate{{ID: "a1", Plan: plan, At: at}},
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		apply(newer, "new@example.com", "Growth")
		apply(older, "old@example.com", "Free")
		c, err := db.Customer(ctx, "ws", "u1")
		if err != nil {
			t.Fatal(err)
		}
		a, err := db.Account(ctx, "ws", "a1")
		if err != nil {
			t.Fatal(err)
		}
		if c.Email != "new@example.com" || a.Plan != "Growth" {
			t.Fatalf("an older update won: email %q, plan %q", c.Email, a.Plan)
		}
		apply(newer.Add(time.Hour), "newest@example.com", "Scale")
		c, _ = db.Customer(ctx, "ws", "u1")
		if c.Email != "newest@example.com" {
			t.Fatalf("a newer update lost: %q", c.Email)
		}
	})
}

// TestOutOfRangeNumberRefused keeps an undecodable number out of the store.
func TestOutOfRangeNumberRefused(t *testing.T) {
	db := storetest.OpenSQLite(t)
	_, err := db.Apply(context.Background(), "ws", store.Batch{Customers: []store.CustomerUpdate{{ID: "u1",
		Traits: []store.Trait{{Key: "score", Value: json.Number("1e400")}}}}})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	if _, err := db.Customer(context.Background(), "ws", "u1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused batch left the customer: %v", err)
	}
}
