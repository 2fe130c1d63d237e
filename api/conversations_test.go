package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/api"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

const identitySecret = "acme-identity-secret"

// newConversations serves the conversations API over a fresh store.
func newConversations(t *testing.T, db *store.DB) *httptest.Server {
	t.Helper()
	member := record(memberKey, "key_support", "member", "support", ws)
	member.Caller.Member = "maya@acme.example"
	auth, err := keys.NewAuthenticator([]keys.Record{member,
		record(workflowKey, "key_flow", "workflow", "bot", ws),
		record(otherWSKey, "key_other", "member", "admin", "globex"),
	}, nil)
	must(t, err)
	t.Cleanup(auth.Close)
	v, err := identity.NewVerifier([]identity.Secret{{ID: "acme", Key: []byte(identitySecret)}}, nil, nil)
	must(t, err)
	h := api.NewConversations(api.ConversationOptions{Keys: auth, Store: db, Log: zerolog.Nop(),
		Verify: func(p api.IdentityProof) (bool, string) {
			a := v.Verify(p.CustomerID, p.UserHash, p.Token)
			return a.Verified, a.Method
		},
		AuditExists: func(_ context.Context, w, id string) (bool, error) { return w == ws && id == "aud_real", nil },
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, method, path, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := srv.Client().Do(req)
	must(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	must(t, err)
	return res.StatusCode, string(b)
}

func TestConversationsAPI(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		srv := newConversations(t, db)
		hash := identity.Sign([]byte(identitySecret), "usr_2481")
		created := `{"id":"cnv_seats","customer_id":"usr_2481","account_id":"acc_acme","channel":"chat","user_hash":"` + hash +
			`","messages":[{"author":"customer","text":"We are ready to upgrade, but the team seat limit looks confusing."}]}`
		steps := []struct {
			name, method, path, key, body string
			status                        int
			want                          []string // substrings of the answer
		}{
			{name: "member may not create", method: "POST", path: "/api/v1/conversations", key: memberKey, body: created,
				status: 403, want: []string{`"forbidden"`}},
			{name: "bad hash", method: "POST", path: "/api/v1/conversations", key: workflowKey,
				body: `{"customer_id":"usr_2481","user_hash":"00"}`, status: 403, want: []string{"identity_unverified"}},
			{name: "no customer", method: "POST", path: "/api/v1/conversations", key: workflowKey, body: `{}`, status: 400},
			{name: "unknown field", method: "POST", path: "/api/v1/conversations", key: workflowKey,
				body: `{"customer_id":"u","verified":true}`, status: 400},
			{name: "create", method: "POST", path: "/api/v1/conversations", key: workflowKey, body: created, status: 200,
				want: []string{`"identity_verified":true`, `"identity_method":"hmac"`, `"status":"open"`, "seat limit looks confusing"}},
			{name: "duplicate", method: "POST", path: "/api/v1/conversations", key: workflowKey, body: created, status: 409},
			{name: "member reply links audit", method: "POST", path: "/api/v1/conversations/cnv_seats/messages", key: memberKey,
				body: `{"text":"Growth raises the seat limit.","audit_id":"aud_real","member":"someone@else"}`, status: 200,
				want: []string{`"seq":2`, `"member":"maya@acme.example"`, `"audit_id":"aud_real"`}},
			{name: "unknown audit id", method: "POST", path: "/api/v1/conversations/cnv_seats/messages", key: memberKey,
				body: `{"text":"x","audit_id":"aud_fake"}`, status: 400},
			{name: "member cannot speak for customer", method: "POST", path: "/api/v1/conversations/cnv_seats/messages",
				key: memberKey, body: `{"author":"customer","text":"x"}`, status: 403},
			{name: "customer message from the tool", method: "POST", path: "/api/v1/conversations/cnv_seats/messages",
				key: workflowKey, body: `{"author":"customer","text":"Thanks!"}`, status: 200, want: []string{`"seq":3`}},
			{name: "resolve with csat", method: "PATCH", path: "/api/v1/conversations/cnv_seats", key: memberKey,
				body: `{"status":"closed","outcome":"resolved","csat":5}`, status: 200,
				want: []string{`"outcome":"resolved"`, `"csat":5`, `"status":"closed"`}},
			{name: "bad outcome", method: "PATCH", path: "/api/v1/conversations/cnv_seats", key: memberKey,
				body: `{"outcome":"won"}`, status: 400},
			{name: "get", method: "GET", path: "/api/v1/conversations/cnv_seats", key: memberKey, status: 200,
				want: []string{`"message_count":3`, "Thanks!"}},
			{name: "list by customer", method: "GET", path: "/api/v1/conversations?customer=usr_2481&status=closed", key: memberKey,
				status: 200, want: []string{`"id":"cnv_seats"`, `"next_cursor":""`}},
			{name: "other workspace sees nothing", method: "GET", path: "/api/v1/conversations/cnv_seats", key: otherWSKey, status: 404},
			{name: "bad filter", method: "GET", path: "/api/v1/conversations?who=me", key: memberKey, status: 400},
			{name: "no key", method: "GET", path: "/api/v1/conversations", key: "", status: 401},
			{name: "method", method: "DELETE", path: "/api/v1/conversations/cnv_seats", key: memberKey, status: 405},
		}
		for _, s := range steps {
			status, body := call(t, srv, s.method, s.path, s.key, s.body)
			if status != s.status {
				t.Errorf("%s: status %d, want %d: %s", s.name, status, s.status, body)
				continue
			}
			for _, w := range s.want {
				if !strings.Contains(body, w) {
					t.Errorf("%s: answer lacks %s: %s", s.name, w, body)
				}
			}
		}
		// A created conversation without proof is not verified.
		status, body := call(t, srv, "POST", "/api/v1/conversations", workflowKey,
			`{"customer_id":"usr_2482","messages":[{"author":"customer","text":"Hi"}]}`)
		var out struct{ Conversation store.Conversation }
		must(t, json.Unmarshal([]byte(body), &out))
		if status != 200 || out.Conversation.IdentityVerified || !strings.HasPrefix(out.Conversation.ID, "cnv_") {
			t.Errorf("unsigned create = %d %s", status, body)
		}
	})
}
