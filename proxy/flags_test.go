package proxy_test

import (
	"io"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
)

// TestProviderFlags checks what reaches each kind of provider: storage off,
// OpenRouter's data collection denied, identifiers pseudonymized; and, in
// reject mode, a request asking for storage refused.
func TestProviderFlags(t *testing.T) {
	tests := []struct {
		name, typ, mode, path, body string
		wantStatus                  int
		want                        map[string]string // gjson path → raw JSON upstream
		absent                      []string          // strings that must not reach the provider
	}{
		{name: "openai chat: store off", typ: "openai", path: "/v1/chat/completions",
			body: `{"model":"gpt-4o-mini","store":true,"messages":[]}`, wantStatus: 200,
			want: map[string]string{"store": "false"}},
		{name: "responses store by default: off", typ: "openai", path: "/v1/responses",
			body: `{"model":"gpt-4o-mini","input":"hi"}`, wantStatus: 200, want: map[string]string{"store": "false"}},
		{name: "embeddings have no store field", typ: "openai", path: "/v1/embeddings",
			body: `{"model":"text-embedding-3-small","input":"hi"}`, wantStatus: 200, want: map[string]string{"store": ""}},
		{name: "openrouter: no data collection, zero retention", typ: "openrouter", path: "/v1/chat/completions",
			body: `{"model":"gpt-4o","messages":[],"provider":{"data_collection":"allow","order":["x"]}}`, wantStatus: 200,
			want: map[string]string{"provider.data_collection": `"deny"`, "provider.zdr": "true", "provider.order": `["x"]`}},
		{name: "ollama is local: untouched", typ: "ollama", path: "/v1/chat/completions",
			body: `{"model":"gpt-4o","messages":[]}`, wantStatus: 200, want: map[string]string{"store": ""}},
		{name: "identifiers pseudonymized", typ: "openai", path: "/v1/chat/completions",
			body:       `{"model":"gpt-4o","messages":[],"user":"dana@acme.example","safety_identifier":"usr_2481","metadata":{"customer_id":"usr_2481","ticket":"T-77","contact":"dana@acme.example"}}`,
			wantStatus: 200, want: map[string]string{"metadata.ticket": `"T-77"`},
			absent: []string{"dana@acme.example", "usr_2481"}},
		{name: "reject mode refuses store:true", typ: "openai", mode: "reject", path: "/v1/chat/completions",
			body: `{"model":"gpt-4o","store":true,"messages":[]}`, wantStatus: 400},
		{name: "reject mode refuses data collection", typ: "openrouter", mode: "reject", path: "/v1/chat/completions",
			body: `{"model":"gpt-4o","messages":[],"provider":{"data_collection":"allow"}}`, wantStatus: 400},
		{name: "reject mode still sets store:false", typ: "openai", mode: "reject", path: "/v1/responses",
			body: `{"model":"gpt-4o","input":"hi"}`, wantStatus: 200, want: map[string]string{"store": "false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := providertest.New()
			defer fake.Close()
			cfg := servertest.ConfigType(fake.URL(), tt.typ, "")
			if tt.mode != "" {
				cfg += "flags: " + tt.mode + "\n"
			}
			crisp := servertest.Start(t, cfg)
			resp := crisp.Do(t, "POST", tt.path, servertest.SupportKey, tt.body)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus != 200 {
				if !strings.Contains(string(body), `"code":"training_forbidden"`) || len(fake.Received()) != 0 {
					t.Fatalf("want training_forbidden and nothing sent: %s", body)
				}
				return
			}
			got := fake.Last().Body
			for path, want := range tt.want {
				if raw := gjson.GetBytes(got, path).Raw; raw != want {
					t.Errorf("%s = %q, want %q in %s", path, raw, want, got)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(string(got), a) {
					t.Errorf("%q reached the provider: %s", a, got)
				}
			}
		})
	}
}
