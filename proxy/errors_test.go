package proxy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
)

const goodBody = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`

type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// TestBadInput sends each kind of bad request and checks the status, the
// code and OpenAI's error shape, then that the server still serves.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(f *providertest.Fake) (extraYAML, baseURL string)
		key        string
		body       string
		wantStatus int
		wantCode   string
	}{
		{name: "no key", body: goodBody, wantStatus: 401, wantCode: "invalid_api_key"},
		{name: "wrong key", key: "ck_demo_wrong", body: goodBody, wantStatus: 401, wantCode: "invalid_api_key"},
		{name: "right prefix wrong key", key: "ck_demo_supportX", body: goodBody, wantStatus: 401, wantCode: "invalid_api_key"},
		{name: "malformed JSON", key: servertest.SupportKey, body: `{"model":"gpt-4o-mini","messages":[`, wantStatus: 400, wantCode: "invalid_request_error"},
		{name: "not an object", key: servertest.SupportKey, body: `["gpt-4o-mini"]`, wantStatus: 400, wantCode: "invalid_request_error"},
		{name: "no model", key: servertest.SupportKey, body: `{"messages":[]}`, wantStatus: 400, wantCode: "invalid_request_error"},
		// A key given twice: crisp would force the first, a last-wins
		// provider would read the second.
		{name: "store given twice", key: servertest.SupportKey, body: `{"model":"gpt-4o-mini","store":false,"messages":[],"store":true}`, wantStatus: 400, wantCode: "invalid_request_error"},
		{name: "metadata key given twice", key: servertest.SupportKey, body: `{"model":"gpt-4o-mini","messages":[],"metadata":{"tag":"a","tag":"dana@example.com"}}`, wantStatus: 400, wantCode: "invalid_request_error"},
		{name: "stream not a bool", key: servertest.SupportKey, body: `{"model":"gpt-4o-mini","stream":"yes"}`, wantStatus: 400, wantCode: "invalid_request_error"},
		{name: "body over the limit", key: servertest.SupportKey,
			body:       `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + strings.Repeat("x", 4<<20) + `"}]}`,
			wantStatus: 413, wantCode: "request_too_large"},
		{name: "unknown model", key: servertest.SupportKey, body: `{"model":"claude-unknown","messages":[]}`, wantStatus: 404, wantCode: "model_not_found"},
		{name: "model not allowed for key", key: servertest.RestrictedKey, body: `{"model":"gpt-4o","messages":[]}`, wantStatus: 404, wantCode: "model_not_found"},
		{name: "upstream 500", key: servertest.SupportKey, body: goodBody,
			setup: func(f *providertest.Fake) (string, string) {
				f.Status = 500
				f.ErrorBody = `{"error":{"message":"internal failure for key ` + servertest.ProviderKey + `","type":"server_error","param":null,"code":"server_error"}}`
				return "", ""
			},
			wantStatus: 500, wantCode: "server_error"},
		{name: "upstream 429 passes through", key: servertest.SupportKey, body: goodBody,
			setup: func(f *providertest.Fake) (string, string) {
				f.Status = 429
				f.ErrorBody = `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`
				return "", ""
			},
			wantStatus: 429, wantCode: "rate_limit_exceeded"},
		{name: "upstream non-JSON error", key: servertest.SupportKey, body: goodBody,
			setup: func(f *providertest.Fake) (string, string) {
				f.Status = 503
				f.ErrorBody = "<html>Service Unavailable</html>"
				return "", ""
			},
			wantStatus: 503, wantCode: "upstream_error"},
		{name: "upstream unreachable", key: servertest.SupportKey, body: goodBody,
			setup:      func(*providertest.Fake) (string, string) { return "", "http://127.0.0.1:1/v1" },
			wantStatus: 502, wantCode: "upstream_unreachable"},
		{name: "upstream stalled", key: servertest.SupportKey, body: goodBody,
			setup: func(f *providertest.Fake) (string, string) {
				f.Stall = 3 * time.Second
				return "    timeouts: {first_byte: 200ms, idle: 200ms}", ""
			},
			wantStatus: 504, wantCode: "upstream_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := providertest.New()
			defer fake.Close()
			extra, base := "", fake.URL()
			if tt.setup != nil {
				var b string
				extra, b = tt.setup(fake)
				if b != "" {
					base = b
				}
			}
			crisp := servertest.Start(t, servertest.Config(base, extra))
			resp := crisp.Do(t, "POST", "/v1/chat/completions", tt.key, tt.body)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tt.wantStatus == 0 {
				tt.wantStatus = 200
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if strings.Contains(string(body), servertest.ProviderKey) || strings.Contains(crisp.Logs.String(), servertest.ProviderKey) {
				t.Fatal("the provider key leaked into the answer or the log")
			}
			if tt.wantCode != "" {
				var e openAIError
				if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
					t.Fatalf("not OpenAI's error shape: %s", body)
				}
				if e.Error.Code == nil || *e.Error.Code != tt.wantCode {
					t.Fatalf("code = %v, want %s; body %s", e.Error.Code, tt.wantCode, body)
				}
				if resp.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
				}
			}
			// The server keeps serving: a good request with a fresh fake.
			fake.Update(func(f *providertest.Fake) { f.Status, f.Stall = 0, 0 })
			if base == fake.URL() {
				ok := crisp.Do(t, "POST", "/v1/chat/completions", servertest.SupportKey, goodBody)
				io.Copy(io.Discard, ok.Body)
				ok.Body.Close()
				if ok.StatusCode != http.StatusOK {
					t.Fatalf("after the bad request, a good one got %d", ok.StatusCode)
				}
			}
		})
	}
}

// TestUnknownRoutes answers unknown paths and methods in OpenAI's shape.
func TestUnknownRoutes(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := servertest.Start(t, servertest.Config(fake.URL(), ""))
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/v1/chat/completions", 405},
		{"POST", "/v1/images/generations", 404},
		{"GET", "/healthz", 200},
		{"GET", "/readyz", 200},
	} {
		resp := crisp.Do(t, tc.method, tc.path, servertest.SupportKey, "")
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s = %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}
}

// TestInboundBodyUnchanged checks an alias rewrite goes to the provider while
// fields crisp does not know pass through byte for byte.
func TestAliasAndPassThrough(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := servertest.Start(t, servertest.Config(fake.URL(), ""))
	body := `{"model":"fast","messages":[{"role":"user","content":"hi"}],"x_vendor_field":{"nested":[1,2,3]},"temperature":0.2}`
	resp := crisp.Do(t, "POST", "/v1/chat/completions", servertest.SupportKey, body)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := string(fake.Last().Body)
	want := strings.Replace(body, `"model":"fast"`, `"model":"gpt-4o-mini"`, 1)
	want = strings.TrimSuffix(want, "}") + `,"store":false}` // no storage at the provider
	if got != want {
		t.Fatalf("upstream got %s\nwant %s", got, want)
	}
	if h := fake.Last().Header.Get("Authorization"); h != "Bearer "+servertest.ProviderKey {
		t.Fatalf("upstream Authorization = %q", h)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}
}

// TestActionNotAllowed refuses an action the key does not carry, before
// anything reaches the provider.
func TestActionNotAllowed(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := servertest.Start(t, servertest.Config(fake.URL(), ""))
	req, _ := http.NewRequest("POST", crisp.URL+"/v1/chat/completions", strings.NewReader(goodBody))
	req.Header.Set("Authorization", "Bearer "+servertest.GeneralKey)
	req.Header.Set("X-Crisp-Action", "ai.draft")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(body), `"code":"policy_denied"`) {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	if len(fake.Received()) != 0 {
		t.Fatal("a refused request reached the provider")
	}
}
