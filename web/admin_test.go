package web_test

import (
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
	"github.com/crisphq/crisp/store"
)

var newKeyShown = regexp.MustCompile(`ck_[0-9A-Za-z]{43}`)

// storedKeys reads the workspace's keys straight from crisp's database.
func storedKeys(t *testing.T, crisp *servertest.Crisp) []store.APIKey {
	t.Helper()
	db, err := store.Open(t.Context(), crisp.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ks, err := db.ListKeys(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// auditCount counts the admin records of kind with action on the usage page.
func auditCount(c *client, kind, action string) int {
	_, page := c.do("GET", "/ui/usage?kind="+kind+"&action="+action, nil, nil)
	return strings.Count(page, action+` <span class="tag">`+kind+`</span></td>`)
}

func TestKeys(t *testing.T) {
	crisp, _ := startCrisp(t)
	maya := newClient(t, crisp.URL)
	maya.signIn("maya@acme.example", "crisp-demo")
	ada := newClient(t, crisp.URL)
	ada.signIn("ada@acme.example", "crisp-demo")
	bot := url.Values{"id": {"key_bot"}, "name": {"Inbox bot"}, "kind": {"workflow"}, "role": {"automation"},
		"actions": {"ai.draft, ai.ask"}}

	t.Run("members may not", func(t *testing.T) {
		if res, _ := maya.do("GET", "/ui/keys", nil, nil); res.StatusCode != http.StatusForbidden {
			t.Errorf("GET = %d", res.StatusCode)
		}
		if res, _ := maya.post("/ui/keys", bot); res.StatusCode != http.StatusForbidden {
			t.Errorf("create = %d", res.StatusCode)
		}
		if _, page := maya.do("GET", "/ui/inbox", nil, nil); strings.Contains(page, `href="/ui/keys"`) {
			t.Error("a member's nav links the keys page")
		}
		if _, page := ada.do("GET", "/ui/inbox", nil, nil); !strings.Contains(page, `href="/ui/keys"`) {
			t.Error("an admin's nav lacks the keys page")
		}
	})

	res, page := ada.post("/ui/keys", bot)
	key := newKeyShown.FindString(page)
	if res.StatusCode != http.StatusOK || key == "" {
		t.Fatalf("create = %d:\n%s", res.StatusCode, page)
	}
	ks := storedKeys(t, crisp)
	if len(ks) != 1 || ks[0].Hash != keys.HashHex(key) || ks[0].Prefix != keys.Prefix(key) || ks[0].Kind != "workflow" ||
		strings.Join(ks[0].Actions, ",") != "ai.draft,ai.ask" {
		t.Fatalf("stored keys = %+v", ks)
	}
	_, page = ada.do("GET", "/ui/keys", nil, nil)
	if strings.Contains(page, key) || !strings.Contains(page, html.EscapeString(keys.Prefix(key))+"…") {
		t.Error("the list shows the key again, or not its prefix")
	}

	refusals := []struct {
		name   string
		form   url.Values
		status int
		says   string
	}{
		{name: "same id", form: bot, status: http.StatusUnprocessableEntity, says: "already has a key"},
		{name: "bad id", form: url.Values{"id": {"a b"}, "kind": {"workflow"}, "role": {"x"}, "actions": {"ai.*"}},
			status: http.StatusUnprocessableEntity, says: "The id is"},
		{name: "member key without a member", form: url.Values{"id": {"k2"}, "kind": {"member"}, "role": {"support"},
			"actions": {"ai.*"}}, status: http.StatusUnprocessableEntity, says: "member&#39;s email"},
		{name: "no actions", form: url.Values{"id": {"k3"}, "kind": {"workflow"}, "role": {"x"}},
			status: http.StatusUnprocessableEntity, says: "Name the actions"},
	}
	for _, tt := range refusals {
		res, page := ada.post("/ui/keys", tt.form)
		if res.StatusCode != tt.status || !strings.Contains(page, tt.says) || newKeyShown.MatchString(page) {
			t.Errorf("%s: %d, want %d saying %q", tt.name, res.StatusCode, tt.status, tt.says)
		}
	}

	if res, _ := maya.post("/ui/keys/key_bot/revoke", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("member revoke = %d", res.StatusCode)
	}
	if res, _ := ada.post("/ui/keys/key_nope/revoke", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("revoke unknown = %d", res.StatusCode)
	}
	if res, _ := ada.post("/ui/keys/key_bot/revoke", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke = %d", res.StatusCode)
	}
	if ks := storedKeys(t, crisp); len(ks) != 1 || ks[0].RevokedAt == nil {
		t.Errorf("after revoke: %+v", ks)
	}
	if n := auditCount(ada, "admin.key", "key.create"); n != 1 {
		t.Errorf("%d key.create records, want 1", n)
	}
	if n := auditCount(ada, "admin.key", "key.revoke"); n != 1 {
		t.Errorf("%d key.revoke records, want 1", n)
	}
}

var policyBase = regexp.MustCompile(`name="base" value="([0-9a-f]+)"`)

// policyForm opens the policy editor and returns its base.
func (c *client) policyForm(file string) string {
	c.t.Helper()
	res, page := c.do("GET", "/ui/policies/"+file+"/edit", nil, nil)
	m := policyBase.FindStringSubmatch(page)
	if res.StatusCode != 200 || m == nil {
		c.t.Fatalf("policy editor %s = %d", file, res.StatusCode)
	}
	return m[1]
}

func TestPolicyEditorEmbedded(t *testing.T) {
	crisp, _ := startCrisp(t)
	maya := newClient(t, crisp.URL)
	maya.signIn("maya@acme.example", "crisp-demo")
	ada := newClient(t, crisp.URL)
	ada.signIn("ada@acme.example", "crisp-demo")
	const edit = "/ui/policies/acme.rules/edit"
	if res, _ := maya.do("GET", edit, nil, nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("member GET = %d", res.StatusCode)
	}
	if res, _ := maya.post(edit, url.Values{"text": {"x"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("member POST = %d", res.StatusCode)
	}
	if _, page := maya.do("GET", "/ui/policies", nil, nil); strings.Contains(page, edit) {
		t.Error("a member sees the Edit link")
	}
	if _, page := ada.do("GET", "/ui/policies", nil, nil); !strings.Contains(page, edit) {
		t.Error("an admin lacks the Edit link")
	}
	if res, _ := ada.do("GET", "/ui/policies/nope.rules/edit", nil, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown file = %d", res.StatusCode)
	}
	base := ada.policyForm("acme.rules")
	res, page := ada.post(edit, url.Values{"base": {base}, "text": {"# nothing\n"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(page, "read-only") || !strings.Contains(page, "--config ./configs") {
		t.Errorf("embedded save = %d:\n%s", res.StatusCode, page)
	}
	if n := auditCount(ada, "admin.policy", "policy.edit"); n != 0 {
		t.Errorf("%d policy.edit records for a refused edit", n)
	}
}

// copyConfigs copies the example definitions into a fresh folder.
func copyConfigs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"catalog.yaml", "policies/acme.rules", "seed/acme.jsonl", "seed/members.json", "seed/conversations.json"} {
		data, err := os.ReadFile(filepath.Join("..", "configs", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPolicyEditorFile(t *testing.T) {
	dir := copyConfigs(t)
	fake := providertest.New()
	t.Cleanup(fake.Close)
	crisp := startWith(t, servertest.Config(fake.URL(), "")+"seed: true\n", dir)
	ada := newClient(t, crisp.URL)
	ada.signIn("ada@acme.example", "crisp-demo")
	const edit = "/ui/policies/acme.rules/edit"
	file := filepath.Join(dir, "policies", "acme.rules")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	broken := string(orig) + "\nrule broken\nallow ai.draft\nwhen account.nope == 1\n"
	good := "# Edited in the workspace UI.\r\n" + strings.ReplaceAll(string(orig), "\n", "\r\n")

	steps := []struct {
		name   string
		base   string // "" reads the current one
		text   string
		status int
		says   string
		want   string // the file afterwards
	}{
		{name: "does not compile", text: broken, status: http.StatusUnprocessableEntity,
			says: "policies/acme.rules:" + strconv.Itoa(strings.Count(string(orig), "\n")+4) + ":", want: string(orig)},
		{name: "stale form", base: "0000", text: good, status: http.StatusUnprocessableEntity, says: "changed since",
			want: string(orig)},
		{name: "compiles", text: good, status: http.StatusSeeOther, want: "# Edited in the workspace UI.\n" + string(orig)},
	}
	for _, s := range steps {
		base := s.base
		if base == "" {
			base = ada.policyForm("acme.rules")
		}
		res, page := ada.post(edit, url.Values{"base": {base}, "text": {s.text}})
		if res.StatusCode != s.status || (s.says != "" && !strings.Contains(page, s.says)) {
			t.Errorf("%s: %d, want %d saying %q:\n%s", s.name, res.StatusCode, s.status, s.says, page)
		}
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != s.want {
			t.Errorf("%s: the file is now:\n%s", s.name, got)
		}
	}
	if n := auditCount(ada, "admin.policy", "policy.edit"); n != 1 {
		t.Errorf("%d policy.edit records, want 1", n)
	}
	if _, page := ada.do("GET", "/ui/policies?flash=Policy+saved.", nil, nil); !strings.Contains(page, "Edited in the workspace UI.") ||
		!strings.Contains(page, "Policy saved.") {
		t.Error("the policies page does not show the saved file")
	}
	if ents, _ := os.ReadDir(filepath.Dir(file)); len(ents) != 1 {
		t.Errorf("the policies folder holds %d files, want 1 (no temporary left)", len(ents))
	}
}
