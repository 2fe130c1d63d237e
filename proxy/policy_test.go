package proxy_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/configs"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
)

// seeded is a crisp with the example workspace's data in front of a fake.
func seeded(t *testing.T, fake *providertest.Fake, extra string) *servertest.Crisp {
	t.Helper()
	return servertest.Start(t, servertest.Config(fake.URL(), "")+"seed: true\n"+extra)
}

// customerRequest asks for a draft about usr_2481, signed or not.
func customerRequest(t *testing.T, crisp *servertest.Crisp, key string, signed bool) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", crisp.URL+"/v1/chat/completions", strings.NewReader(goodBody))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("X-Crisp-User-Id", "usr_2481")
	if signed {
		req.Header.Set("X-Crisp-User-Hash", identity.Sign([]byte(identitySecret), "usr_2481"))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

const identityYAML = "identity:\n  secrets: [{id: s1, key: " + identitySecret + "}]\n"

// TestSeedRule decides the seed rule with the example workspace through the
// proxy: support or success with a signed identity may draft; sales may
// not; nobody may unsigned.
func TestSeedRule(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := seeded(t, fake, identityYAML)
	tests := []struct {
		name, key    string
		signed       bool
		wantStatus   int
		wantDecision string
	}{
		{"support, signed", servertest.SupportKey, true, 200, "allow; rule=support-draft"},
		{"success, signed", servertest.SuccessKey, true, 200, "allow; rule=support-draft"},
		{"sales, signed", servertest.SalesKey, true, 403, "deny; rule=default deny"},
		{"support, unsigned", servertest.SupportKey, false, 403, "deny; rule=unsigned-customer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fake.Received())
			resp, body := customerRequest(t, crisp, tt.key, tt.signed)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("X-Crisp-Decision"); got != tt.wantDecision {
				t.Errorf("X-Crisp-Decision = %q, want %q", got, tt.wantDecision)
			}
			if tt.wantStatus == 403 {
				if !strings.Contains(body, `"code":"policy_denied"`) || len(fake.Received()) != before {
					t.Fatalf("want policy_denied and nothing sent: %s", body)
				}
				if strings.Contains(body, "48250") || strings.Contains(body, "48,250") {
					t.Fatalf("a denial carries a hidden value: %s", body)
				}
			}
		})
	}
}

// TestPolicyShowingRevenueDenies: a policy edit that shows the private
// revenue to AI makes the seed rule's `account.privateRevenue == hidden`
// false, so drafting is denied rather than leaking.
func TestPolicyShowingRevenueDenies(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	dir := t.TempDir()
	copyEmbedded(t, dir, "catalog.yaml", "policies/acme.rules", "seed/acme.jsonl")
	extra := "\nshow account.privateRevenue for ai.draft\n"
	f, _ := os.OpenFile(filepath.Join(dir, "policies/acme.rules"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(extra)
	f.Close()

	cfg, err := config.Parse("test.yaml", []byte(servertest.Config(fake.URL(), "")+"seed: true\n"+identityYAML), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = dir
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	crisp := servertest.StartOn(t, cfg, ln)
	resp, body := customerRequest(t, crisp, servertest.SupportKey, true)
	if resp.StatusCode != 403 || !strings.Contains(body, "privateRevenue") {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if len(fake.Received()) != 0 {
		t.Fatal("the request reached the provider")
	}
}

func copyEmbedded(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		data, err := configs.FS.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, filepath.Dir(n)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPolicyCheckAPI decides without an AI call, as DESIGN.md shapes it.
func TestPolicyCheckAPI(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := seeded(t, fake, identityYAML)
	tests := []struct {
		body, decision, rule string
		status               int
	}{
		{`{"member":"maya@acme.example","customer":"usr_2481","action":"ai.draft","signed_identity":true}`, "allow", "support-draft", 200},
		{`{"member":"riley@acme.example","customer":"usr_2481","action":"ai.draft","signed_identity":true}`, "deny", "default deny", 200},
		{`{"member":"maya@acme.example","customer":"usr_2481","action":"ai.draft","signed_identity":false}`, "deny", "unsigned-customer", 200},
		{`{"member":"nobody@acme.example","customer":"usr_2481","action":"ai.draft"}`, "", "", 404},
		{`{"member":`, "", "", 400},
	}
	for _, tt := range tests {
		resp := crisp.Do(t, "POST", "/api/v1/policy/check", servertest.SupportKey, tt.body)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Fatalf("%s: %d %s", tt.body, resp.StatusCode, body)
		}
		if tt.status != 200 {
			continue
		}
		var d struct {
			Decision, Rule, Location string
			Fields                   map[string]string
			Explanation              []string
		}
		json.Unmarshal(body, &d)
		if d.Decision != tt.decision || d.Rule != tt.rule || d.Fields["account.privateRevenue"] != "hidden" ||
			d.Fields["customer.email"] != "masked" || len(d.Explanation) == 0 {
			t.Fatalf("%s: %s", tt.body, body)
		}
		if strings.Contains(string(body), "48250") {
			t.Fatalf("a hidden value in a decision: %s", body)
		}
	}
}
