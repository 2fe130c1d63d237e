package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

// seedList stores customers cus_00..cus_22 (even ones on plan "pro", seats =
// i%4) and accounts acc_0..acc_6 (odd ones "enterprise"), plus one customer in
// another workspace that no list may return.
func seedList(t *testing.T, db *store.DB) {
	t.Helper()
	var b store.Batch
	for i := range 7 {
		tier := "smb"
		if i%2 == 1 {
			tier = "enterprise"
		}
		b.Accounts = append(b.Accounts, store.AccountUpdate{ID: fmt.Sprintf("acc_%d", i), Name: fmt.Sprintf("Company %c", 'A'+i),
			Traits: []store.Trait{{Key: "tier", Value: tier}}})
	}
	for i := range 23 {
		plan := "free"
		if i%2 == 0 {
			plan = "pro"
		}
		id := fmt.Sprintf("cus_%02d", i)
		b.Customers = append(b.Customers, store.CustomerUpdate{ID: id, Email: fmt.Sprintf("person%d@mail.example", i),
			Name: fmt.Sprintf("Person Number%d", i), At: t0,
			Traits: []store.Trait{{Key: "plan", Value: plan}, {Key: "seats", Value: i % 4}}})
		b.Memberships = append(b.Memberships, store.MembershipLink{CustomerID: id, AccountID: fmt.Sprintf("acc_%d", i%7)})
	}
	_, err := db.Apply(t.Context(), "acme", b)
	must(t, err)
	_, err = db.Apply(t.Context(), "other", store.Batch{Customers: []store.CustomerUpdate{{ID: "cus_05", Name: "Person Number5",
		Traits: []store.Trait{{Key: "plan", Value: "pro"}}}}})
	must(t, err)
}

func TestListCustomersPages(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		seedList(t, db)
		tests := []struct {
			name      string
			opt       store.ListOptions
			wantPages []int // sizes
			wantFirst string
			wantLast  string
		}{
			{name: "all in pages of 5", opt: store.ListOptions{Limit: 5}, wantPages: []int{5, 5, 5, 5, 3}, wantFirst: "cus_00", wantLast: "cus_22"},
			{name: "default limit", opt: store.ListOptions{}, wantPages: []int{23}, wantFirst: "cus_00", wantLast: "cus_22"},
			{name: "limit over max", opt: store.ListOptions{Limit: 100000}, wantPages: []int{23}, wantFirst: "cus_00", wantLast: "cus_22"},
			{name: "exact page end", opt: store.ListOptions{Limit: 23}, wantPages: []int{23}, wantFirst: "cus_00", wantLast: "cus_22"},
			{name: "trait string", opt: store.ListOptions{Limit: 5, Trait: &store.TraitFilter{Key: "plan", Value: "pro"}},
				wantPages: []int{5, 5, 2}, wantFirst: "cus_00", wantLast: "cus_22"},
			{name: "trait number", opt: store.ListOptions{Limit: 2, Trait: &store.TraitFilter{Key: "seats", Value: 3}},
				wantPages: []int{2, 2, 1}, wantFirst: "cus_03", wantLast: "cus_19"},
			{name: "query on name any case", opt: store.ListOptions{Limit: 4, Query: "NUMBER1"},
				wantPages: []int{4, 4, 3}, wantFirst: "cus_01", wantLast: "cus_19"},
			{name: "query on email", opt: store.ListOptions{Query: "person22@"}, wantPages: []int{1}, wantFirst: "cus_22", wantLast: "cus_22"},
			{name: "query on id", opt: store.ListOptions{Query: "cus_2"}, wantPages: []int{3}, wantFirst: "cus_20", wantLast: "cus_22"},
			{name: "query and trait", opt: store.ListOptions{Limit: 1, Query: "number1", Trait: &store.TraitFilter{Key: "plan", Value: "free"}},
				wantPages: []int{1, 1, 1, 1, 1, 1}, wantFirst: "cus_01", wantLast: "cus_19"},
			{name: "like wildcards are literal", opt: store.ListOptions{Query: "%"}, wantPages: []int{0}},
			{name: "underscore is literal", opt: store.ListOptions{Query: "b_r"}, wantPages: []int{0}},
			{name: "no match", opt: store.ListOptions{Trait: &store.TraitFilter{Key: "plan", Value: "gold"}}, wantPages: []int{0}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var sizes []int
				var ids []string
				opt := tt.opt
				for range 50 {
					page, next, err := db.ListCustomers(t.Context(), "acme", opt)
					must(t, err)
					sizes = append(sizes, len(page))
					for _, c := range page {
						ids = append(ids, c.ID)
						if len(c.Accounts) != 1 || c.Traits["plan"].Value == nil {
							t.Fatalf("customer %s listed without memberships or traits: %+v", c.ID, c)
						}
					}
					if next == "" {
						break
					}
					opt.Cursor = next
				}
				if !reflect.DeepEqual(sizes, tt.wantPages) {
					t.Errorf("page sizes = %v, want %v", sizes, tt.wantPages)
				}
				if len(ids) > 0 && (ids[0] != tt.wantFirst || ids[len(ids)-1] != tt.wantLast) {
					t.Errorf("ids %s..%s, want %s..%s", ids[0], ids[len(ids)-1], tt.wantFirst, tt.wantLast)
				}
				for i := 1; i < len(ids); i++ {
					if ids[i] <= ids[i-1] {
						t.Errorf("ids not strictly increasing at %d: %v", i, ids)
					}
				}
			})
		}
		if _, _, err := db.ListCustomers(t.Context(), "acme", store.ListOptions{Cursor: "!!"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("bad cursor err = %v", err)
		}
	})
}

func TestListAccounts(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		seedList(t, db)
		tests := []struct {
			name string
			opt  store.ListOptions
			want []string
		}{
			{name: "all", opt: store.ListOptions{Limit: 3}, want: []string{"acc_0", "acc_1", "acc_2", "acc_3", "acc_4", "acc_5", "acc_6"}},
			{name: "trait", opt: store.ListOptions{Limit: 2, Trait: &store.TraitFilter{Key: "tier", Value: "enterprise"}}, want: []string{"acc_1", "acc_3", "acc_5"}},
			{name: "query name", opt: store.ListOptions{Query: "company c"}, want: []string{"acc_2"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var ids []string
				opt := tt.opt
				for range 20 {
					page, next, err := db.ListAccounts(t.Context(), "acme", opt)
					must(t, err)
					for _, a := range page {
						ids = append(ids, a.ID)
						if a.Traits["tier"].Value == nil {
							t.Errorf("account %s without traits", a.ID)
						}
					}
					if next == "" {
						break
					}
					opt.Cursor = next
				}
				if !reflect.DeepEqual(ids, tt.want) {
					t.Errorf("ids = %v, want %v", ids, tt.want)
				}
			})
		}
	})
}
