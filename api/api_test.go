package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/api"
	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/identity/segment"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

const (
	ws          = "acme"
	memberKey   = "ck_demo_support"
	salesKey    = "ck_demo_sales"
	adminKey    = "ck_demo_admin"
	workflowKey = "ck_test_workflow_0001"
	otherWSKey  = "ck_test_otherws_0001"
)

type spy struct {
	mu    sync.Mutex
	names []string
}

func (s *spy) InvalidateCustomer(w, id string) { s.add(w + "/customer/" + id) }
func (s *spy) InvalidateAccount(w, id string)  { s.add(w + "/account/" + id) }
func (s *spy) add(n string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names = append(s.names, n)
}

type fixture struct {
	srv *httptest.Server
	db  *store.DB
	inv *spy
}

func record(key, id, kind, role, workspace string) keys.Record {
	return keys.Record{Prefix: keys.Prefix(key), SHA256: keys.Hash(key), Caller: keys.Caller{
		Workspace: workspace, KeyID: id, Kind: kind, Role: role, Actions: []string{"ai.*"}}}
}

// newFixture serves the API over db holding the example workspace.
func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	cat, err := catalog.Load("../configs/catalog.yaml")
	must(t, err)
	seed, err := segment.OpenFile("../configs/seed/acme.jsonl", "")
	must(t, err)
	_, err = segment.Import(t.Context(), segment.ImportOptions{Workspace: ws, Store: db, Source: "seed"}, seed)
	must(t, err)
	auth, err := keys.NewAuthenticator([]keys.Record{
		record(memberKey, "key_support", "member", "support", ws),
		record(salesKey, "key_sales", "member", "sales", ws),
		record(adminKey, "key_admin", "member", "admin", ws),
		record(workflowKey, "key_flow", "workflow", "bot", ws),
		record(otherWSKey, "key_other", "member", "admin", "globex"),
	}, nil)
	must(t, err)
	t.Cleanup(auth.Close)
	inv := &spy{}
	h := api.New(api.Options{Keys: auth, Store: db, Catalog: cat, Invalidator: inv, MaxBodyBytes: 4096, Log: zerolog.Nop()})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, db: db, inv: inv}
}

// do sends a request and returns the status and body.
func (f *fixture) do(t *testing.T, method, path, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	must(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := f.srv.Client().Do(req)
	must(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	must(t, err)
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return res.StatusCode, string(b)
}

// get decodes a 200 answer into v.
func (f *fixture) get(t *testing.T, path, key string, v any) string {
	t.Helper()
	status, body := f.do(t, http.MethodGet, path, key, "")
	if status != 200 {
		t.Fatalf("GET %s = %d %s", path, status, body)
	}
	must(t, json.Unmarshal([]byte(body), v))
	return body
}

type trait struct {
	Value      any
	Type       string
	Source     string
	Cataloged  bool
	Visibility string
}

type customer struct {
	ID       string
	Email    any
	Name     any
	Accounts []struct {
		AccountID string `json:"account_id"`
		Role      any
	}
	Traits   map[string]trait
	Withheld map[string]string
}

type account struct {
	ID           string
	Name         any
	Plan         any
	Subscription any
	Traits       map[string]trait
}

func TestGet(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		var c struct {
			Customer customer
			Note     string
		}
		f.get(t, "/api/v1/customers/usr_2481", memberKey, &c)
		got := c.Customer
		if got.ID != "usr_2481" || got.Email != "dana@acme.example" || got.Name != "Dana" ||
			len(got.Accounts) != 1 || got.Accounts[0].AccountID != "acc_acme" || got.Accounts[0].Role != "Billing owner" {
			t.Errorf("customer = %+v", got)
		}
		want := trait{Value: "+1 415 555 0199", Type: "string", Source: "seed", Cataloged: true, Visibility: "shown"}
		if got.Traits["phone"] != want {
			t.Errorf("phone = %+v, want %+v", got.Traits["phone"], want)
		}
		if c.Note != "" || len(got.Withheld) != 0 {
			t.Errorf("note %q withheld %v with every trait cataloged and shown", c.Note, got.Withheld)
		}
		var a struct{ Account account }
		f.get(t, "/api/v1/accounts/acc_acme", memberKey, &a)
		if a.Account.Name != "Acme workspace" || a.Account.Plan != "Growth trial" || a.Account.Subscription != "trialing" ||
			a.Account.Traits["trialDay"].Value != float64(6) || a.Account.Traits["checkoutRisk"].Value != true {
			t.Errorf("account = %+v", a.Account)
		}
		for path, want := range map[string]string{
			"/api/v1/customers/usr_404": `{"error":{"message":"No customer \"usr_404\".","code":"not_found"}}`,
			"/api/v1/accounts/acc_404":  `{"error":{"message":"No account \"acc_404\".","code":"not_found"}}`,
		} {
			if status, body := f.do(t, http.MethodGet, path, memberKey, ""); status != 404 || body != want {
				t.Errorf("GET %s = %d %s", path, status, body)
			}
		}
		// A key sees its own workspace only.
		if status, _ := f.do(t, http.MethodGet, "/api/v1/customers/usr_2481", otherWSKey, ""); status != 404 {
			t.Errorf("other workspace's key got usr_2481: %d", status)
		}
	})
}

// TestHiddenValues: a field the catalog hides for the caller's use never
// appears in its answers, whichever door it asks through.
func TestHiddenValues(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		status, body := f.do(t, http.MethodPatch, "/api/v1/customers/usr_2481/traits", adminKey,
			`{"favoriteColor":"teal-7731"}`)
		if status != 200 {
			t.Fatalf("PATCH = %d %s", status, body)
		}
		tests := []struct {
			name, key string
			hidden    []string // values that must not appear in any answer
		}{
			{"member", memberKey, []string{"48250", "186000", "teal-7731"}},
			{"sales member", salesKey, []string{"48250", "teal-7731"}},
			{"workflow", workflowKey, []string{"48250", "+1 415 555 0199", "Procurement asked", "teal-7731"}},
		}
		paths := []string{"/api/v1/accounts/acc_acme", "/api/v1/accounts", "/api/v1/accounts?trait.plan=Growth%20trial",
			"/api/v1/customers/usr_2481", "/api/v1/customers?q=dana", "/api/v1/customers/usr_2481/journey"}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				for _, p := range paths {
					status, body := f.do(t, http.MethodGet, p, tc.key, "")
					if status != 200 {
						t.Fatalf("GET %s = %d %s", p, status, body)
					}
					for _, h := range tc.hidden {
						if strings.Contains(body, h) {
							t.Errorf("GET %s shows %q:\n%s", p, h, body)
						}
					}
				}
			})
		}
		var a struct{ Account account }
		f.get(t, "/api/v1/accounts/acc_acme", memberKey, &a)
		if pr := a.Account.Traits["privateRevenue"]; pr.Value != nil || pr.Visibility != "hidden" || !pr.Cataloged || pr.Type != "number" {
			t.Errorf("member's privateRevenue = %+v", pr)
		}
		if pn := a.Account.Traits["paymentRisk"]; pn.Value != "high" || pn.Visibility != "shown" {
			t.Errorf("member's paymentRisk (support: show) = %+v", pn)
		}
		f.get(t, "/api/v1/accounts/acc_acme", workflowKey, &a)
		if pn := a.Account.Traits["paymentRisk"]; pn.Value != nil || pn.Visibility != "hidden" {
			t.Errorf("workflow's paymentRisk (automation: hide) = %+v", pn)
		}
		f.get(t, "/api/v1/accounts/acc_acme", adminKey, &a)
		if pr := a.Account.Traits["privateRevenue"]; pr.Value != float64(48250) || pr.Visibility != "shown" {
			t.Errorf("admin's privateRevenue = %+v", pr)
		}
		var c struct {
			Customer customer
			Note     string
		}
		f.get(t, "/api/v1/customers/usr_2481", memberKey, &c)
		if fc := c.Customer.Traits["favoriteColor"]; fc.Value != nil || fc.Cataloged || fc.Visibility != "hidden" || fc.Source != "api" {
			t.Errorf("member's uncataloged trait = %+v", fc)
		}
		if !strings.Contains(c.Note, "hidden from AI") || !strings.Contains(c.Note, `"cataloged": false`) {
			t.Errorf("note = %q", c.Note)
		}
		f.get(t, "/api/v1/customers/usr_2481", adminKey, &c)
		if fc := c.Customer.Traits["favoriteColor"]; fc.Value != "teal-7731" || fc.Cataloged || c.Note == "" {
			t.Errorf("admin's uncataloged trait = %+v, note %q", fc, c.Note)
		}
		// Filtering or searching on what the key cannot see would reveal it.
		for _, p := range []string{"/api/v1/accounts?trait.privateRevenue=48250", "/api/v1/customers?trait.favoriteColor=teal-7731"} {
			status, body := f.do(t, http.MethodGet, p, memberKey, "")
			if status != 403 || !strings.Contains(body, "is hidden for this key") || strings.Contains(body, "teal-7731\"") {
				t.Errorf("GET %s = %d %s", p, status, body)
			}
		}
		var list struct{ Accounts []account }
		f.get(t, "/api/v1/accounts?trait.privateRevenue=48250", adminKey, &list)
		if len(list.Accounts) != 1 || list.Accounts[0].ID != "acc_acme" {
			t.Errorf("admin filter on privateRevenue = %+v", list.Accounts)
		}
	})
}

func TestMask(t *testing.T) {
	// customer.email is "mask" for reporting in the example catalog; a
	// catalog that masks it for support shows how a member sees it.
	cat, err := catalog.Parse("t.yaml", []byte(`fields:
  - {name: customer.email, type: string, description: d, owner: o, source: crm, classification: confidential, uses: {support: mask, default: hide}}
  - {name: customer.name, type: string, description: d, owner: o, source: crm, classification: internal, uses: {default: show}}
  - {name: customer.pin, type: string, description: d, owner: o, source: crm, classification: confidential, uses: {support: mask, default: hide}}
`))
	must(t, err)
	db := storetest.OpenSQLite(t)
	_, err = db.Apply(t.Context(), ws, store.Batch{Customers: []store.CustomerUpdate{{ID: "u", Email: "dana@acme.example", Name: "Dana",
		Traits: []store.Trait{{Key: "pin", Value: "4321"}}}}})
	must(t, err)
	auth, err := keys.NewAuthenticator([]keys.Record{record(memberKey, "k", "member", "support", ws)}, nil)
	must(t, err)
	defer auth.Close()
	srv := httptest.NewServer(api.New(api.Options{Keys: auth, Store: db, Catalog: cat}))
	defer srv.Close()
	f := &fixture{srv: srv}
	var c struct{ Customer customer }
	body := f.get(t, "/api/v1/customers/u", memberKey, &c)
	if c.Customer.Email != "d***@acme.example" || c.Customer.Traits["pin"].Value != "••••" ||
		c.Customer.Traits["pin"].Visibility != "masked" || c.Customer.Withheld["email"] != "masked" {
		t.Errorf("masked customer = %s", body)
	}
	if status, _ := f.do(t, http.MethodGet, "/api/v1/customers?q=dana", memberKey, ""); status != 403 {
		t.Errorf("q over a masked email = %d, want 403", status)
	}
}

func TestListPagination(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		var all []string
		for cursor, pages := "", 0; ; pages++ {
			var page struct {
				Customers  []customer
				NextCursor string `json:"next_cursor"`
			}
			f.get(t, "/api/v1/customers?limit=2&cursor="+url.QueryEscape(cursor), memberKey, &page)
			if len(page.Customers) > 2 || pages > 10 {
				t.Fatalf("page %d has %d customers", pages, len(page.Customers))
			}
			for _, c := range page.Customers {
				all = append(all, c.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		want := []string{"usr_1001", "usr_1002", "usr_2481", "usr_2482", "usr_3310", "usr_5120"}
		if !slices.Equal(all, want) {
			t.Errorf("paged ids = %v, want %v", all, want)
		}
	})
}

// ids lists the ids of a list answer.
func (f *fixture) ids(t *testing.T, path, key string) []string {
	t.Helper()
	var page struct {
		Customers  []customer
		Accounts   []account
		NextCursor string `json:"next_cursor"`
	}
	f.get(t, path, key, &page)
	var out []string
	for _, c := range page.Customers {
		out = append(out, c.ID)
	}
	for _, a := range page.Accounts {
		out = append(out, a.ID)
	}
	if page.NextCursor != "" {
		out = append(out, "…")
	}
	return out
}

func TestListFilters(t *testing.T) {
	tests := []struct {
		name, path string
		want       []string
	}{
		{"trait text", "/api/v1/customers?trait.lifecycle=Activation%20risk", []string{"usr_2481"}},
		{"trait number", "/api/v1/accounts?trait.trialDay=6", []string{"acc_acme"}},
		{"trait bool", "/api/v1/accounts?trait.checkoutRisk=false", []string{"acc_globex", "acc_hooli", "acc_initech"}},
		{"column plan", "/api/v1/accounts?trait.plan=Growth%20trial", []string{"acc_acme", "acc_hooli"}},
		{"column page", "/api/v1/accounts?trait.plan=Growth%20trial&limit=1", []string{"acc_acme", "…"}},
		{"column email", "/api/v1/customers?trait.email=peter@initech.example", []string{"usr_3310"}},
		{"q", "/api/v1/customers?q=DANA", []string{"usr_2481"}},
		{"q and trait", "/api/v1/customers?q=acme.example&trait.role=Member", []string{"usr_2482"}},
		{"no match", "/api/v1/accounts?trait.seats=1000", nil},
	}
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if got := f.ids(t, tc.path, memberKey); !slices.Equal(got, tc.want) {
					t.Errorf("= %v, want %v", got, tc.want)
				}
			})
		}
		t.Run("column filter pages", func(t *testing.T) {
			var got []string
			path := "/api/v1/accounts?trait.plan=Growth%20trial&limit=1"
			for cursor, n := "", 0; n < 5; n++ {
				var page struct {
					Accounts   []account
					NextCursor string `json:"next_cursor"`
				}
				f.get(t, path+"&cursor="+url.QueryEscape(cursor), memberKey, &page)
				for _, a := range page.Accounts {
					got = append(got, a.ID)
				}
				if cursor = page.NextCursor; cursor == "" {
					break
				}
			}
			if !slices.Equal(got, []string{"acc_acme", "acc_hooli"}) {
				t.Errorf("paged = %v", got)
			}
		})
	})
}

func TestJourney(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		_, err := db.Apply(t.Context(), ws, store.Batch{Events: []store.Event{{ID: "x1", CustomerID: "usr_2481",
			Name: "Exported contacts", Properties: map[string]any{"count": 9120}}}})
		must(t, err)
		type event struct {
			ID, Name   string
			AccountID  string `json:"account_id"`
			Properties map[string]any
			Cataloged  bool
			Visibility string
		}
		var j struct {
			CustomerID string `json:"customer_id"`
			Events     []event
			Note       string
		}
		body := f.get(t, "/api/v1/customers/usr_2481/journey", memberKey, &j)
		var names []string
		for _, e := range j.Events {
			names = append(names, e.Name)
		}
		want := []string{"Exported contacts", "Asked chat", "Opened billing", "Read seat limits", "Visited pricing"}
		if j.CustomerID != "usr_2481" || !slices.Equal(names, want) {
			t.Fatalf("journey = %s", body)
		}
		if e := j.Events[1]; !e.Cataloged || e.Visibility != "shown" || e.Properties["topic"] != "seat limits" || e.AccountID != "acc_acme" {
			t.Errorf("Asked chat = %+v", e)
		}
		if e := j.Events[0]; e.Cataloged || e.Visibility != "hidden" || e.Properties != nil || strings.Contains(body, "9120") {
			t.Errorf("uncataloged event = %+v", e)
		}
		if j.Note == "" {
			t.Error("no note for the uncataloged event")
		}
		f.get(t, "/api/v1/customers/usr_2481/journey?limit=2", memberKey, &j)
		if len(j.Events) != 2 {
			t.Errorf("limit=2 gave %d events", len(j.Events))
		}
		if status, _ := f.do(t, http.MethodGet, "/api/v1/customers/usr_404/journey", memberKey, ""); status != 404 {
			t.Errorf("unknown customer's journey = %d", status)
		}
	})
}

func TestWrites(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		var a struct{ Account account }
		patch := func(key, body string) (int, string) {
			return f.do(t, http.MethodPatch, "/api/v1/accounts/acc_acme/traits", key, body)
		}
		status, body := patch(adminKey, `{"seats": 7, "plan": "Growth", "renewal": {"month": 3}}`)
		if status != 200 {
			t.Fatalf("PATCH = %d %s", status, body)
		}
		must(t, json.Unmarshal([]byte(body), &a))
		if a.Account.Plan != "Growth" || a.Account.Traits["seats"].Value != float64(7) || a.Account.Traits["seats"].Source != "api" ||
			a.Account.Traits["renewal"].Type != "json" {
			t.Errorf("after PATCH = %s", body)
		}
		// A write dated before the stored one loses; a later one wins.
		status, body = patch(workflowKey, `[{"key":"seats","value":3,"timestamp":"2020-01-01T00:00:00Z"},{"key":"trialDay","value":7,"timestamp":"2999-01-01T00:00:00Z"}]`)
		must(t, json.Unmarshal([]byte(body), &a))
		if status != 200 || a.Account.Traits["seats"].Value != float64(7) || a.Account.Traits["trialDay"].Value != float64(7) {
			t.Errorf("dated PATCH = %d %s", status, body)
		}
		if !slices.Contains(f.inv.names, ws+"/account/acc_acme") {
			t.Errorf("invalidated %v", f.inv.names)
		}
		status, body = f.do(t, http.MethodPut, "/api/v1/customers/usr_new", adminKey,
			`{"email":"new@acme.example","name":"Nia","traits":{"lifecycle":"Trial"},"accounts":[{"account_id":"acc_acme","role":"Member"}]}`)
		var c struct{ Customer customer }
		must(t, json.Unmarshal([]byte(body), &c))
		if status != 200 || c.Customer.Email != "new@acme.example" || c.Customer.Traits["lifecycle"].Value != "Trial" ||
			len(c.Customer.Accounts) != 1 || c.Customer.Accounts[0].Role != "Member" {
			t.Errorf("PUT customer = %d %s", status, body)
		}
		status, body = f.do(t, http.MethodPut, "/api/v1/accounts/acc_new", workflowKey, `{"name":"New","plan":"Free","traits":{"seats":1}}`)
		if status != 200 || !strings.Contains(body, `"plan":"Free"`) {
			t.Errorf("PUT account = %d %s", status, body)
		}
		stored, err := db.Customer(t.Context(), ws, "usr_new")
		must(t, err)
		if stored.Name != "Nia" {
			t.Errorf("stored = %+v", stored)
		}
	})
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name, method, path, key, body string
		status                        int
		code, message                 string
	}{
		{"no key", "GET", "/api/v1/customers", "", "", 401, "invalid_api_key", "Incorrect or missing crisp API key"},
		{"bad key", "GET", "/api/v1/customers", "ck_nope", "", 401, "invalid_api_key", "Bearer"},
		{"member writes", "PATCH", "/api/v1/customers/usr_2481/traits", memberKey, `{"a":1}`, 403, "forbidden", "role admin or a workflow key"},
		{"member puts", "PUT", "/api/v1/accounts/acc_x", salesKey, `{}`, 403, "forbidden", "not change them"},
		{"limit zero", "GET", "/api/v1/customers?limit=0", memberKey, "", 400, "invalid_request_error", "limit must be a whole number from 1 to 500."},
		{"limit text", "GET", "/api/v1/accounts?limit=ten", memberKey, "", 400, "invalid_request_error", "limit must be"},
		{"unknown param", "GET", "/api/v1/accounts?plan=Free", memberKey, "", 400, "invalid_request_error", `Unknown query parameter "plan"`},
		{"two filters", "GET", "/api/v1/accounts?trait.seats=5&trait.trialDay=6", memberKey, "", 400, "invalid_request_error", "Only one trait.KEY filter"},
		{"bad cursor", "GET", "/api/v1/accounts?cursor=zzz", memberKey, "", 400, "invalid_request_error", "malformed cursor"},
		{"typed filter", "GET", "/api/v1/accounts?trait.seats=five", memberKey, "", 400, "invalid_request_error", `account.seats is a number; "five" is not.`},
		{"journey limit", "GET", "/api/v1/customers/usr_2481/journey?limit=5000", memberKey, "", 400, "invalid_request_error", "limit: a whole number from 1 to 1000"},
		{"patch unknown", "PATCH", "/api/v1/customers/usr_404/traits", adminKey, `{"a":1}`, 404, "not_found", `No customer "usr_404".`},
		{"patch not json", "PATCH", "/api/v1/customers/usr_2481/traits", adminKey, `{"a":`, 400, "invalid_request_error", "Body is not valid JSON"},
		{"patch empty", "PATCH", "/api/v1/customers/usr_2481/traits", adminKey, `{}`, 400, "invalid_request_error", "No traits given."},
		{"patch null", "PATCH", "/api/v1/customers/usr_2481/traits", adminKey, `{"phone":null}`, 400, "invalid_request_error", "traits.phone is null: removing a trait is not supported."},
		{"patch huge number", "PATCH", "/api/v1/customers/usr_2481/traits", adminKey, `{"n":[1e999]}`, 400, "invalid_request_error", "traits.n[0]: number 1e999 is out of range."},
		{"patch NUL key", "PATCH", "/api/v1/customers/usr_2481/traits", adminKey, `{"a\u0000":1}`, 400, "invalid_request_error", "A trait key contains a NUL byte."},
		{"put NUL id", "PUT", "/api/v1/customers/a%00b", adminKey, `{}`, 400, "invalid_request_error", "without NUL"},
		{"patch id", "PATCH", "/api/v1/customers/usr_2481/traits", adminKey, `{"id":"x"}`, 400, "invalid_request_error", "id cannot be changed."},
		{"patch email type", "PATCH", "/api/v1/customers/usr_2481/traits", adminKey, `{"email":3}`, 400, "invalid_request_error", "email must be a string."},
		{"patch list no key", "PATCH", "/api/v1/accounts/acc_acme/traits", adminKey, `[{"value":1}]`, 400, "invalid_request_error", "traits[0]: key is missing."},
		{"patch list bad time", "PATCH", "/api/v1/accounts/acc_acme/traits", adminKey, `[{"key":"a","value":1,"timestamp":"today"}]`, 400, "invalid_request_error", `traits[0]: timestamp "today" is not an RFC 3339 time.`},
		{"patch list unknown field", "PATCH", "/api/v1/accounts/acc_acme/traits", adminKey, `[{"key":"a","value":1,"when":"x"}]`, 400, "invalid_request_error", "unknown field"},
		{"patch too large", "PATCH", "/api/v1/accounts/acc_acme/traits", adminKey, `{"a":"` + strings.Repeat("x", 5000) + `"}`, 413, "request_too_large", "4096-byte limit"},
		{"put unknown field", "PUT", "/api/v1/customers/usr_9", adminKey, `{"emial":"x"}`, 400, "invalid_request_error", `unknown field "emial"`},
		{"put column in traits", "PUT", "/api/v1/accounts/acc_9", adminKey, `{"traits":{"plan":"Free"}}`, 400, "invalid_request_error", "traits.plan: plan is a field of its own"},
		{"method", "DELETE", "/api/v1/customers/usr_2481", adminKey, "", 405, "method_not_allowed", "DELETE is not allowed on /api/v1/customers/usr_2481."},
		{"unknown path", "GET", "/api/v1/customers/usr_2481/notes", memberKey, "", 404, "not_found", "Unknown endpoint"},
	}
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, body := f.do(t, tc.method, tc.path, tc.key, tc.body)
				var e struct {
					Error struct{ Message, Code string }
				}
				must(t, json.Unmarshal([]byte(body), &e))
				if status != tc.status || e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.message) {
					t.Errorf("= %d %s %q\nwant %d %s containing %q", status, e.Error.Code, e.Error.Message, tc.status, tc.code, tc.message)
				}
			})
		}
		// Nothing of the refused writes landed.
		c, err := db.Customer(t.Context(), ws, "usr_2481")
		must(t, err)
		if _, ok := c.Traits["a"]; ok || c.Traits["phone"].Value == nil {
			t.Errorf("refused writes changed usr_2481: %+v", c.Traits)
		}
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
