package audit

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// testAuth treats X-Test-Role as the caller: admin, member, or none.
func testAuth(r *http.Request) (string, bool, error) {
	switch r.Header.Get("X-Test-Role") {
	case "admin":
		return "acme", true, nil
	case "member":
		return "acme", false, nil
	}
	return "", false, errors.New("no key")
}

func TestHandler(t *testing.T) {
	l := goldenLog(t)
	srv := httptest.NewServer(Handler(l, testAuth))
	defer srv.Close()
	get := func(t *testing.T, role, path string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		must(t, err)
		req.Header.Set("X-Test-Role", role)
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		must(t, err)
		return resp, string(body)
	}
	tests := []struct {
		name, role, path string
		status           int
		contains         []string
	}{
		{"no key", "", "/api/v1/audit", 401, []string{`"code":"invalid_api_key"`}},
		{"member", "member", "/api/v1/audit", 403, []string{`"code":"forbidden"`}},
		{"list", "admin", "/api/v1/audit?limit=2", 200, []string{`"id":"aud_0004"`, `"id":"aud_0003"`, `"next_cursor":"`}},
		{"filter", "admin", "/api/v1/audit?decision=deny", 200, []string{`"id":"aud_0002"`, `"next_cursor":""`}},
		{"bad filter", "admin", "/api/v1/audit?decision=maybe", 400, []string{`"type":"invalid_request_error"`}},
		{"bad cursor", "admin", "/api/v1/audit?cursor=zz", 400, []string{"cursor"}},
		{"one", "admin", "/api/v1/audit/aud_0003", 200, []string{`"kind":"admin.key"`, `"target":"key_demo_sales"`}},
		{"missing", "admin", "/api/v1/audit/aud_nope", 404, []string{`"code":"not_found"`}},
		{"verify", "admin", "/api/v1/audit/verify", 200, []string{`"ok":true`, `"records":4`}},
		{"export csv", "admin", "/api/v1/audit/export?format=csv&member=riley@acme.example", 200, []string{"id,seq,time", "aud_0002"}},
		{"export jsonl", "admin", "/api/v1/audit/export", 200, []string{`"id":"aud_0001"`, `"id":"aud_0004"`}},
		{"export bad format", "admin", "/api/v1/audit/export?format=xml", 400, []string{"jsonl or csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, tt.role, tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			for _, s := range tt.contains {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %s:\n%s", s, body)
				}
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		var ids []string
		path := "/api/v1/audit?limit=3"
		for path != "" {
			_, body := get(t, "admin", path)
			var page struct {
				Records    []Record `json:"records"`
				NextCursor string   `json:"next_cursor"`
			}
			must(t, json.Unmarshal([]byte(body), &page))
			for _, r := range page.Records {
				ids = append(ids, r.ID)
			}
			path = ""
			if page.NextCursor != "" {
				path = "/api/v1/audit?limit=3&cursor=" + page.NextCursor
			}
		}
		if strings.Join(ids, " ") != "aud_0004 aud_0003 aud_0002 aud_0001" {
			t.Errorf("pages gave %v", ids)
		}
	})
}
