package identity_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

const ws = "acme"

func seed(t testing.TB, db *store.DB, customers, accounts int) {
	t.Helper()
	ctx := context.Background()
	if err := db.EnsureWorkspace(ctx, store.Workspace{ID: ws, Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	const chunk = 2000
	for start := 0; start < customers; start += chunk {
		var b store.Batch
		for i := start; i < min(start+chunk, customers); i++ {
			acc := fmt.Sprintf("acc_%05d", i%accounts)
			if i < accounts {
				b.Accounts = append(b.Accounts, store.AccountUpdate{ID: acc, Name: "Account " + acc, Plan: "Growth", At: at,
					Traits: []store.Trait{{Key: "seats", Value: 5.0, Type: store.TraitNumber}}})
			}
			id := fmt.Sprintf("usr_%06d", i)
			b.Customers = append(b.Customers, store.CustomerUpdate{ID: id, Email: id + "@example.com", Name: "Customer " + id, At: at,
				Traits: []store.Trait{{Key: "lifecycle", Value: "Active", Type: store.TraitString}}})
			b.Memberships = append(b.Memberships, store.MembershipLink{CustomerID: id, AccountID: acc, Role: "member"})
		}
		if _, err := db.Apply(ctx, ws, b); err != nil {
			t.Fatal(err)
		}
	}
}

func TestResolve(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		seed(t, db, 20, 4)
		ctx := context.Background()
		r, err := identity.NewResolver(db, 1000)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()

		s, err := r.Resolve(ctx, ws, "usr_000005", "")
		if err != nil || !s.Known || s.Account.ID != "acc_00001" || s.Customer.Email != "usr_000005@example.com" {
			t.Fatalf("resolve: %+v %v", s, err)
		}
		for field, want := range map[string]any{
			"customer.id": "usr_000005", "customer.email": "usr_000005@example.com", "customer.role": "member",
			"customer.lifecycle": "Active", "account.plan": "Growth", "account.seats": 5.0, "account.id": "acc_00001",
		} {
			if got, ok := s.Field(field); !ok || got != want {
				t.Errorf("Field(%s) = %v, %v; want %v", field, got, ok, want)
			}
		}
		if _, ok := s.Field("account.nothing"); ok {
			t.Error("a missing field resolved")
		}
		if _, err := r.Resolve(ctx, ws, "usr_000005", "acc_00002"); !errors.Is(err, identity.ErrNotMember) {
			t.Fatalf("foreign account: %v", err)
		}
		unknown, err := r.Resolve(ctx, ws, "usr_nobody", "")
		if err != nil || unknown.Known || unknown.Customer.ID != "usr_nobody" {
			t.Fatalf("unknown customer: %+v %v", unknown, err)
		}
		if s, _ := r.Resolve(ctx, "other-workspace", "usr_000005", ""); s.Known {
			t.Fatal("a customer resolved across workspaces")
		}

		// A write, then invalidation: the next resolve sees it.
		r.Wait()
		if err := db.UpsertCustomer(ctx, store.Customer{WorkspaceID: ws, ID: "usr_000005", Name: "Renamed"}); err != nil {
			t.Fatal(err)
		}
		r.InvalidateCustomer(ws, "usr_000005")
		s, err = r.Resolve(ctx, ws, "usr_000005", "")
		if err != nil || s.Customer.Name != "Renamed" {
			t.Fatalf("after invalidation: %+v %v", s.Customer, err)
		}
		if err := db.MergeAccountTraits(ctx, ws, "acc_00001", []store.Trait{{Key: "seats", Value: 9.0, Type: store.TraitNumber, UpdatedAt: time.Now()}}); err != nil {
			t.Fatal(err)
		}
		r.InvalidateAccount(ws, "acc_00001")
		s, _ = r.Resolve(ctx, ws, "usr_000005", "")
		if s.Account.Traits["seats"].Value != 9.0 {
			t.Fatalf("account not refreshed: %+v", s.Account.Traits)
		}
	})
}

// BenchmarkResolve measures identity resolution with 100k customers and 10k
// accounts seeded (-short: 10k and 1k): cached, and uncached (every call
// reads the store).
func BenchmarkResolve(b *testing.B) {
	customers, accounts := 100_000, 10_000
	if testing.Short() {
		customers, accounts = 10_000, 1_000
	}
	for _, eng := range storetest.Engines() {
		b.Run(eng.Name, func(b *testing.B) {
			db := storetest.OpenDSN(b, eng.DSN(b))
			seed(b, db, customers, accounts)
			ctx := context.Background()
			b.Run("cached", func(b *testing.B) {
				r, _ := identity.NewResolver(db, int64(customers))
				defer r.Close()
				for i := range 1000 {
					r.Resolve(ctx, ws, fmt.Sprintf("usr_%06d", i), "")
				}
				r.Wait()
				ids := make([]string, 1000)
				for i := range ids {
					ids[i] = fmt.Sprintf("usr_%06d", i)
				}
				b.ReportAllocs()
				b.ResetTimer()
				i := 0
				for b.Loop() {
					if _, err := r.Resolve(ctx, ws, ids[i%1000], ""); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("uncached", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					id := fmt.Sprintf("usr_%06d", (i*7919)%customers)
					c, err := db.Customer(ctx, ws, id)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := db.Account(ctx, ws, c.Accounts[0].AccountID); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		})
	}
}
