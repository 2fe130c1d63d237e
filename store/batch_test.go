package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

var identityTables = []string{"customers", "accounts", "memberships", "traits", "events"}

func TestApplyResult(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		res, err := db.Apply(ctx, "acme", store.Batch{
			Accounts: []store.AccountUpdate{
				{ID: "acc_acme", Name: "Acme", Traits: []store.Trait{{Key: "seats", Value: 5, UpdatedAt: t0}}},
				{ID: "acc_acme", Plan: "Growth trial", Traits: []store.Trait{{Key: "seats", Value: 7, UpdatedAt: t0.Add(time.Second)}}},
			},
			Customers: []store.CustomerUpdate{
				{ID: "usr_2481", Name: "Dana", Traits: []store.Trait{{Key: "lifecycle", Value: "Activation risk"}}},
				{ID: "usr_2481", Email: "dana@acme.example"},
				{ID: "usr_7"},
			},
			Memberships: []store.MembershipLink{
				{CustomerID: "usr_2481", AccountID: "acc_acme", Role: "Billing owner"},
				{CustomerID: "usr_2481", AccountID: "acc_acme"},
				{CustomerID: "usr_new", AccountID: "acc_new"},
			},
			Events: []store.Event{
				{ID: "e1", CustomerID: "usr_2481", Name: "Visited pricing"},
				{ID: "e1", CustomerID: "usr_2481", Name: "Visited pricing"},
				{ID: "e2", CustomerID: "usr_2481", Name: "Opened billing"},
			},
		})
		must(t, err)
		want := store.BatchResult{Accounts: 1, Customers: 2, Memberships: 2, Traits: 2, Events: 2, Duplicates: 1}
		if res != want {
			t.Errorf("BatchResult = %+v, want %+v", res, want)
		}
		c, err := db.Customer(ctx, "acme", "usr_2481")
		must(t, err)
		if c.Name != "Dana" || c.Email != "dana@acme.example" || c.Accounts[0].Role != "Billing owner" ||
			c.Traits["lifecycle"].Value != "Activation risk" {
			t.Errorf("customer = %+v", c)
		}
		a, err := db.Account(ctx, "acme", "acc_acme")
		must(t, err)
		if a.Name != "Acme" || a.Plan != "Growth trial" || a.Traits["seats"].Value != float64(7) {
			t.Errorf("account = %+v", a)
		}
		if c, err := db.Customer(ctx, "acme", "usr_new"); err != nil || c.Accounts[0].AccountID != "acc_new" {
			t.Errorf("membership-created customer = %+v, %v", c, err)
		}
		if res, err := db.Apply(ctx, "acme", store.Batch{}); err != nil || res != (store.BatchResult{}) {
			t.Errorf("empty batch = %+v, %v", res, err)
		}
	})
}

// TestApplyAtomic checks that a batch failing after some of its parts were
// written leaves the store exactly as it was.
func TestApplyAtomic(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		good := func(ws string) store.Batch {
			return store.Batch{
				Accounts:    []store.AccountUpdate{{ID: "acc_1", Name: "Changed", Traits: []store.Trait{{Key: "tier", Value: "gold", UpdatedAt: t0.Add(time.Hour)}}}},
				Customers:   []store.CustomerUpdate{{ID: "usr_keep", Name: "Changed"}, {ID: "usr_2", Traits: []store.Trait{{Key: "k", Value: 1}}}},
				Memberships: []store.MembershipLink{{CustomerID: "usr_2", AccountID: "acc_1"}},
				Events:      []store.Event{{ID: "ok1", CustomerID: "usr_2", Name: "fine"}},
			}
		}
		tests := []struct {
			name    string
			spoil   func(b *store.Batch)
			wantErr error // nil: any error
		}{
			{name: "event violates check constraint", spoil: func(b *store.Batch) {
				b.Events = append(b.Events, store.Event{ID: "bad", CustomerID: "usr_2", Name: ""})
			}},
			{name: "event without id", spoil: func(b *store.Batch) {
				b.Events = append(b.Events, store.Event{CustomerID: "usr_2", Name: "x"})
			}, wantErr: store.ErrInvalid},
			{name: "trait of unknown type", spoil: func(b *store.Batch) {
				b.Customers[1].Traits = append(b.Customers[1].Traits, store.Trait{Key: "x", Type: "money"})
			}, wantErr: store.ErrInvalid},
			{name: "membership without account", spoil: func(b *store.Batch) {
				b.Memberships = append(b.Memberships, store.MembershipLink{CustomerID: "usr_2"})
			}, wantErr: store.ErrInvalid},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ws := fmt.Sprintf("ws%d", i)
				_, err := db.Apply(ctx, ws, store.Batch{
					Accounts:  []store.AccountUpdate{{ID: "acc_1", Name: "Kept", Traits: []store.Trait{{Key: "tier", Value: "silver", UpdatedAt: t0}}}},
					Customers: []store.CustomerUpdate{{ID: "usr_keep", Name: "Kept"}},
				})
				must(t, err)
				before := counts(t, db, ws)
				b := good(ws)
				tt.spoil(&b)
				_, err = db.Apply(ctx, ws, b)
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("Apply err = %v, want %v", err, tt.wantErr)
				}
				if after := counts(t, db, ws); after != before {
					t.Errorf("rows after failed batch = %v, before %v", after, before)
				}
				c, err := db.Customer(ctx, ws, "usr_keep")
				must(t, err)
				a, err := db.Account(ctx, ws, "acc_1")
				must(t, err)
				if c.Name != "Kept" || a.Name != "Kept" || a.Traits["tier"].Value != "silver" {
					t.Errorf("failed batch changed rows: customer %+v account %+v", c, a)
				}
			})
		}
	})
}

func counts(t *testing.T, db *store.DB, ws string) [5]int {
	t.Helper()
	var out [5]int
	for i, table := range identityTables {
		n, err := store.CountWorkspaceRows(t.Context(), db, table, ws)
		must(t, err)
		out[i] = n
	}
	return out
}

// TestApplyCancelMidway cancels a large batch while it is being written: the
// batch is either wholly stored or not at all.
func TestApplyCancelMidway(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		const n = 4000
		var b store.Batch
		for i := range n {
			id := fmt.Sprintf("usr_%04d", i)
			b.Customers = append(b.Customers, store.CustomerUpdate{ID: id, Traits: []store.Trait{{Key: "k", Value: i}}})
			b.Events = append(b.Events, store.Event{ID: fmt.Sprintf("e%d", i), CustomerID: id, Name: "x"})
		}
		for _, delay := range []time.Duration{time.Millisecond, 20 * time.Millisecond} {
			ws := "ws_" + delay.String()
			ctx, cancel := context.WithTimeout(t.Context(), delay)
			_, err := db.Apply(ctx, ws, b)
			cancel()
			got := counts(t, db, ws)
			switch {
			case err == nil && got != [5]int{n, 0, 0, n, n}:
				t.Errorf("delay %v: batch committed but rows = %v", delay, got)
			case err != nil && got != [5]int{}:
				t.Errorf("delay %v: batch failed (%v) but rows = %v", delay, err, got)
			}
		}
	})
}

// TestConcurrentWriters runs writers that touch overlapping customers, with
// readers beside them; no writer may fail (SQLITE_BUSY, deadlock).
func TestConcurrentWriters(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		const writers, batches, perBatch = 8, 8, 50
		ctx := t.Context()
		var wg sync.WaitGroup
		errs := make(chan error, writers*batches+writers)
		for w := range writers {
			wg.Go(func() {
				for i := range batches {
					var b store.Batch
					for j := range perBatch {
						cust := fmt.Sprintf("usr_%d", (j+w)%20) // shared across writers
						b.Events = append(b.Events, store.Event{ID: fmt.Sprintf("w%d-b%d-e%d", w, i, j), CustomerID: cust, Name: "tick"})
						if j%10 == 0 {
							b.Customers = append(b.Customers, store.CustomerUpdate{ID: cust, Name: fmt.Sprintf("writer %d", w),
								Traits: []store.Trait{{Key: "last_writer", Value: w}}})
							b.Accounts = append(b.Accounts, store.AccountUpdate{ID: fmt.Sprintf("acc_%d", j%3)})
							b.Memberships = append(b.Memberships, store.MembershipLink{CustomerID: cust, AccountID: fmt.Sprintf("acc_%d", j%3)})
						}
					}
					if _, err := db.Apply(ctx, "acme", b); err != nil {
						errs <- fmt.Errorf("writer %d batch %d: %w", w, i, err)
					}
				}
			})
			wg.Go(func() {
				for range batches {
					if _, err := db.Journey(ctx, "acme", "usr_1", 10); err != nil {
						errs <- fmt.Errorf("reader %d: %w", w, err)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		n, err := store.CountWorkspaceRows(ctx, db, "events", "acme")
		must(t, err)
		if n != writers*batches*perBatch {
			t.Errorf("events stored = %d, want %d", n, writers*batches*perBatch)
		}
	})
}
