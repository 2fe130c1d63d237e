package proxy_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGoldenContextPacks pins the example workspace's approved context for
// each demo key: what a provider would be given about Dana for ai.draft,
// or the refusal, as GET /api/v1/context returns it (audit id aside).
func TestGoldenContextPacks(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := seeded(t, fake, identityYAML)
	for name, key := range map[string]string{
		"support": servertest.SupportKey, "success": servertest.SuccessKey,
		"sales": servertest.SalesKey, "admin": servertest.AdminKey,
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := apiCall(t, crisp, "GET", "/api/v1/context?action=ai.draft", key, "", true, "")
			var v map[string]any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			delete(v, "audit_id")
			v["status"] = resp.StatusCode
			got, _ := json.MarshalIndent(v, "", "  ")
			got = append(got, '\n')
			golden := filepath.Join("testdata", "context", name+".golden")
			if *update {
				os.WriteFile(golden, got, 0o644)
			}
			want, _ := os.ReadFile(golden)
			if !bytes.Equal(got, want) {
				t.Fatalf("context pack for %s:\n%s\nwant:\n%s", name, got, want)
			}
		})
	}
}

// TestGoldenContextText pins the context as the provider receives it: the
// system message crisp puts first, in its documented format.
func TestGoldenContextText(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := seeded(t, fake, identityYAML)
	resp := signedRequest(t, crisp, "/v1/chat/completions", chat(`{"role":"user","content":"Draft a reply about seats."}`))
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Crisp-Context") == "" {
		t.Fatalf("status %d, X-Crisp-Context %q", resp.StatusCode, resp.Header.Get("X-Crisp-Context"))
	}
	var body struct {
		Messages []struct{ Role, Content string } `json:"messages"`
	}
	json.Unmarshal(fake.Last().Body, &body)
	got := []byte(body.Messages[0].Role + "\n" + body.Messages[0].Content + "\n")
	golden := filepath.Join("testdata", "context", "support_prompt.golden")
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	want, _ := os.ReadFile(golden)
	if !bytes.Equal(got, want) {
		t.Fatalf("context text:\n%s\nwant:\n%s", got, want)
	}
}
