package proxy_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
)

const identitySecret = "acme-identity-secret"

// TestRequireSignedIdentity: with require_signed_identity a wrong or missing
// signature is refused with 403 identity_unverified before the provider;
// a right one goes through.
func TestRequireSignedIdentity(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	cfg := servertest.Config(fake.URL(), "") + `identity:
  require_signed_identity: true
  secrets: [{id: s1, key: ` + identitySecret + `}]
`
	crisp := servertest.Start(t, cfg)
	good := identity.Sign([]byte(identitySecret), "usr_2481")
	tests := []struct {
		name       string
		headers    map[string]string
		wantStatus int
		wantCode   string
	}{
		{"signed", map[string]string{"X-Crisp-User-Id": "usr_2481", "X-Crisp-User-Hash": good}, 200, ""},
		{"no hash", map[string]string{"X-Crisp-User-Id": "usr_2481"}, 403, "identity_unverified"},
		{"wrong hash", map[string]string{"X-Crisp-User-Id": "usr_2481", "X-Crisp-User-Hash": identity.Sign([]byte("another-secret-entirely"), "usr_2481")}, 403, "identity_unverified"},
		{"hash of another user", map[string]string{"X-Crisp-User-Id": "usr_9999", "X-Crisp-User-Hash": good}, 403, "identity_unverified"},
		{"uppercase hash", map[string]string{"X-Crisp-User-Id": "usr_2481", "X-Crisp-User-Hash": strings.ToUpper(good)}, 403, "identity_unverified"},
		{"general use needs no identity", map[string]string{}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fake.Received())
			req, _ := http.NewRequest("POST", crisp.URL+"/v1/chat/completions", strings.NewReader(goodBody))
			req.Header.Set("Authorization", "Bearer "+servertest.SupportKey)
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantCode != "" {
				if !strings.Contains(string(body), `"code":"`+tt.wantCode+`"`) {
					t.Fatalf("body %s, want code %s", body, tt.wantCode)
				}
				if len(fake.Received()) != before {
					t.Fatal("an unverified request reached the provider")
				}
				if strings.Contains(string(body), good) || strings.Contains(crisp.Logs.String(), good) {
					t.Fatal("the user hash was echoed")
				}
			}
		})
	}
}

// TestCustomerActionNeedsCustomer: a customer action without a customer is
// a clear 400, and a customer named for general use too.
func TestCustomerActionNeedsCustomer(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := servertest.Start(t, servertest.Config(fake.URL(), ""))
	for _, h := range []map[string]string{
		{"X-Crisp-Action": "ai.draft"},
		{"X-Crisp-Action": "ai.general", "X-Crisp-User-Id": "usr_2481"},
	} {
		req, _ := http.NewRequest("POST", crisp.URL+"/v1/chat/completions", strings.NewReader(goodBody))
		req.Header.Set("Authorization", "Bearer "+servertest.SupportKey)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(body), "invalid_request_error") {
			t.Fatalf("%v: %d %s", h, resp.StatusCode, body)
		}
	}
}
