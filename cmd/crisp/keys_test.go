package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/configs"
	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
)

// TestKeysLifecycle creates a key with the CLI, uses it against a running
// crisp on the same database, revokes it, and finds both changes in the
// audit trail.
func TestKeysLifecycle(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crisp.db")
	code, out, errOut := runCLI(t, "keys", "create", "--db", db, "--id", "key_bot", "--kind", "workflow", "--role", "support", "--actions", "ai.*")
	if code != 0 {
		t.Fatalf("create: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "ck_") {
		t.Fatalf("no key in %q", out)
	}

	fake := providertest.New()
	defer fake.Close()
	data, _ := configs.FS.ReadFile("crisp.yaml")
	cfg, err := config.Parse("crisp.yaml", data, func(k string) string {
		if k == "OPENAI_BASE_URL" {
			return fake.URL()
		}
		if k == "OPENAI_API_KEY" {
			return "sk-test"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Storage.DSN = "sqlite:" + db
	cfg.Seed = false
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	crisp := servertest.StartOn(t, cfg, ln)
	// A workflow may not use ai.general under the example policy (members
	// only), so a 403 policy_denied proves the key itself was accepted.
	resp := crisp.Do(t, "POST", "/v1/chat/completions", key, `{"model":"gpt-4o-mini","messages":[]}`)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("stored key: status %d", resp.StatusCode)
	}
	if resp := crisp.Do(t, "GET", "/v1/models", key, ""); resp.StatusCode != 200 {
		t.Fatalf("models with the stored key: %d", resp.StatusCode)
	}

	if code, _, errOut := runCLI(t, "keys", "revoke", "--db", db, "key_bot"); code != 0 {
		t.Fatalf("revoke: %s", errOut)
	}
	_, out, _ = runCLI(t, "audit", "list", "--db", db)
	if !strings.Contains(out, "key.create") || !strings.Contains(out, "key.revoke") {
		t.Fatalf("audit list lacks the key changes:\n%s", out)
	}
	_, out, _ = runCLI(t, "keys", "list", "--db", db)
	if !strings.Contains(out, "key_bot") || !strings.Contains(out, "revoked") {
		t.Fatalf("keys list:\n%s", out)
	}
}
