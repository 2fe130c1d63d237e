package proxy

import (
	"testing"

	"github.com/tidwall/gjson"

	"github.com/crisphq/crisp/providers"
)

// TestAttach puts the context first in every shape of messages a caller
// may send, and leaves the rest of the body as it was.
func TestAttach(t *testing.T) {
	const ctx = "Account: Acme <plan \"growth\">\nline two"
	tests := []struct{ name, body, want string }{
		{"one message", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, `[{"role":"system","content":"Account: Acme \u003cplan \"growth\"\u003e\nline two"},{"role":"user","content":"hi"}]`},
		{"empty", `{"model":"m","messages":[]}`, `[{"role":"system","content":"Account: Acme \u003cplan \"growth\"\u003e\nline two"}]`},
		{"empty with spaces", `{"messages": [ ] ,"model":"m"}`, `[{"role":"system","content":"Account: Acme \u003cplan \"growth\"\u003e\nline two"} ]`},
		{"spaced", "{\"messages\" :\n [\n {\"role\":\"user\",\"content\":\"hi\"}\n]}", "[{\"role\":\"system\",\"content\":\"Account: Acme \\u003cplan \\\"growth\\\"\\u003e\\nline two\"},\n {\"role\":\"user\",\"content\":\"hi\"}\n]"},
		{"no messages", `{"model":"m"}`, `[{"role":"system","content":"Account: Acme \u003cplan \"growth\"\u003e\nline two"}]`},
		{"not an array", `{"model":"m","messages":"hi"}`, `[{"role":"system","content":"Account: Acme \u003cplan \"growth\"\u003e\nline two"}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := attach(providers.ChatCompletions, []byte(tc.body), ctx, systemMessage(ctx))
			if err != nil {
				t.Fatal(err)
			}
			if !gjson.ValidBytes(out) {
				t.Fatalf("not JSON: %s", out)
			}
			if got := gjson.GetBytes(out, "messages").Raw; got != tc.want {
				t.Fatalf("messages\n got %s\nwant %s", got, tc.want)
			}
			if m := gjson.GetBytes(out, "messages.0.content").Str; m != ctx {
				t.Fatalf("context %q", m)
			}
			if gjson.GetBytes(out, "model").Raw != gjson.Get(tc.body, "model").Raw {
				t.Fatalf("model changed: %s", out)
			}
		})
	}
}
