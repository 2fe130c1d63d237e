package web_test

import (
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
	"github.com/crisphq/crisp/store/storetest"
)

var baseInput = regexp.MustCompile(`name="base" value="([0-9a-f]+)"`)

// editForm opens the editor and returns the form as it stands.
func (c *client) editForm(entry string) url.Values {
	c.t.Helper()
	res, page := c.do("GET", entry+"/edit", nil, nil)
	m := baseInput.FindStringSubmatch(page)
	if res.StatusCode != 200 || m == nil {
		c.t.Fatalf("editor %s = %d", entry, res.StatusCode)
	}
	form := url.Values{"base": {m[1]}}
	for _, k := range []string{"description", "owner"} {
		form.Set(k, formValue(page, k))
	}
	for _, u := range catalog.AllUses() {
		sel := regexp.MustCompile(`(?s)name="use_` + u + `">.*?<option value="(\w+)" selected>`).FindStringSubmatch(page)
		form.Set("use_"+u, sel[1])
	}
	return form
}

func formValue(page, name string) string {
	if m := regexp.MustCompile(`(?s)<textarea id="` + name + `"[^>]*>(.*?)</textarea>`).FindStringSubmatch(page); m != nil {
		return strings.TrimSpace(m[1])
	}
	if m := regexp.MustCompile(`id="` + name + `"[^>]*value="([^"]*)"`).FindStringSubmatch(page); m != nil {
		return m[1]
	}
	return ""
}

func TestEditorOverlay(t *testing.T) {
	crisp, _ := startCrisp(t)
	ada := newClient(t, crisp.URL)
	ada.signIn("ada@acme.example", "crisp-demo")
	maya := newClient(t, crisp.URL)
	maya.signIn("maya@acme.example", "crisp-demo")
	const plan = "/ui/catalog/fields/account.plan"
	const risk = "/ui/catalog/fields/account.paymentRisk"
	const revenue = "/ui/catalog/fields/account.privateRevenue"

	with := func(f url.Values, kv ...string) url.Values {
		out := url.Values{}
		for k, v := range f {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	steps := []struct {
		name     string
		as       *client
		entry    string
		change   []string
		status   int
		contains string
	}{
		{name: "a member may not save", as: maya, entry: plan, change: []string{"owner", "x@acme.example"}, status: http.StatusForbidden},
		{name: "description", as: ada, entry: plan, change: []string{"description", "The plan billing charges for."},
			status: http.StatusSeeOther},
		{name: "nothing changed", as: ada, entry: plan, status: http.StatusSeeOther},
		{name: "a secret may not be shown to AI", as: ada, entry: revenue, change: []string{"use_ai", "show"},
			status: http.StatusUnprocessableEntity, contains: "may not be shown for ai"},
		{name: "widening asks first", as: ada, entry: risk, change: []string{"use_ai", "mask"},
			status: http.StatusOK, contains: "Yes, widen it"},
		{name: "confirmed widening", as: ada, entry: risk, change: []string{"use_ai", "mask", "confirm", "yes"},
			status: http.StatusSeeOther},
		{name: "narrowing needs no confirmation", as: ada, entry: risk, change: []string{"use_reporting", "hide"},
			status: http.StatusSeeOther},
		{name: "stale form", as: ada, entry: plan, change: []string{"base", "0000", "owner", "y@acme.example"},
			status: http.StatusUnprocessableEntity, contains: "changed since"},
		{name: "multi-line owner", as: ada, entry: plan, change: []string{"owner", "a\nb"},
			status: http.StatusUnprocessableEntity, contains: "one line"},
		{name: "bad visibility", as: ada, entry: plan, change: []string{"use_support", "maybe"}, status: http.StatusBadRequest},
	}
	for _, s := range steps {
		form := ada.editForm(s.entry)
		res, body := s.as.post(s.entry+"/edit", with(form, s.change...))
		if res.StatusCode != s.status {
			t.Errorf("%s: status %d, want %d", s.name, res.StatusCode, s.status)
			continue
		}
		if s.contains != "" && !strings.Contains(body, s.contains) {
			t.Errorf("%s: answer lacks %q:\n%s", s.name, s.contains, body)
		}
	}

	checkOverlayEdits(t, ada, maya)
}

// checkOverlayEdits: the edits show, with their history and audit records.
func checkOverlayEdits(t *testing.T, ada, maya *client) {
	t.Helper()
	_, page := maya.do("GET", "/ui/catalog/fields/account.plan", nil, nil)
	if !strings.Contains(page, "The plan billing charges for.") || !strings.Contains(page, "ada@acme.example") {
		t.Error("the entry page lacks the edit or its history")
	}
	_, page = ada.do("GET", "/ui/catalog/history", nil, nil)
	page = html.UnescapeString(page)
	if n := strings.Count(page, "<tr>") - 1; n != 3 {
		t.Errorf("history has %d edits, want 3", n)
	}
	for _, want := range []string{"+  uses: {support: show, ai: mask, reporting: show, automation: hide}", "overlay"} {
		if !strings.Contains(page, want) {
			t.Errorf("history lacks %q", want)
		}
	}
	_, page = ada.do("GET", "/ui/usage?kind=admin.catalog&action=catalog.edit.overlay", nil, nil)
	if n := strings.Count(page, `catalog.edit.overlay <span class="tag">admin.catalog</span></td>`); n != 3 {
		t.Errorf("%d catalog edit audit records, want 3", n)
	}
	if !strings.Contains(page, `href="/ui/usage/export?action=catalog.edit.overlay&amp;format=csv&amp;kind=admin.catalog"`) {
		t.Error("the export link lost the filters")
	}
	res, csv := ada.do("GET", "/ui/usage/export?action=catalog.edit.overlay&format=csv&kind=admin.catalog", nil, nil)
	if res.StatusCode != 200 || strings.Count(csv, "catalog.edit.overlay") != 3 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("export = %d %s:\n%s", res.StatusCode, res.Header.Get("Content-Type"), csv)
	}
	_, page = ada.do("GET", "/ui/catalog", nil, nil)
	if !strings.Contains(page, "overlay") || !strings.Contains(page, "after crisp restarts") {
		t.Error("the catalog page does not say the edits are an overlay awaiting a restart")
	}
}

// With definitions on disk, an edit rewrites catalog.yaml there.
func TestEditorFile(t *testing.T) {
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
	fake := providertest.New()
	t.Cleanup(fake.Close)
	crisp := startWith(t, servertest.Config(fake.URL(), "")+"seed: true\n", dir)

	ada := newClient(t, crisp.URL)
	ada.signIn("ada@acme.example", "crisp-demo")
	const entry = "/ui/catalog/events/Opened%20billing"
	form := ada.editForm(entry)
	form.Set("owner", "billing-ops@acme.example")
	form.Set("description", "Opened billing settings: plan, seats or payment method.")
	if res, body := ada.post(entry+"/edit", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save = %d:\n%s", res.StatusCode, body)
	}
	data, err := os.ReadFile(filepath.Join(dir, "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Parse("catalog.yaml", data)
	if err != nil {
		t.Fatalf("the rewritten catalog does not parse: %v", err)
	}
	if e, _ := cat.Event("Opened billing"); e.Owner != "billing-ops@acme.example" || !strings.HasPrefix(e.Description, "Opened billing settings:") {
		t.Errorf("event after the edit = %+v", e)
	}
	if !strings.Contains(string(data), "# Acme workspace catalog") {
		t.Error("the rewrite lost the file's comments")
	}
	_, page := ada.do("GET", "/ui/catalog/history", nil, nil)
	if !strings.Contains(page, "<td>file</td>") {
		t.Error("history does not record a file edit")
	}
}

// Overlay edits reach AI requests once crisp loads its definitions again.
func TestEditorOverlayAfterRestart(t *testing.T) {
	fake := providertest.New()
	t.Cleanup(fake.Close)
	yaml := servertest.Config(fake.URL(), "") + "seed: true\n"
	dsn := storetest.SQLiteDSN(t)
	crisp := startOn(t, yaml, "", dsn)
	ada := newClient(t, crisp.URL)
	ada.signIn("ada@acme.example", "crisp-demo")
	const entry = "/ui/catalog/fields/customer.lifecycle"
	form := ada.editForm(entry)
	form.Set("use_ai", "hide")
	if res, _ := ada.post(entry+"/edit", form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save = %d", res.StatusCode)
	}
	maya := newClient(t, crisp.URL)
	maya.signIn("maya@acme.example", "crisp-demo")
	if _, body := maya.stream("/ui/inbox/cnv_acme_seats/draft", nil); !strings.Contains(body, `"customer.lifecycle"`) {
		t.Fatalf("before the restart the draft should still carry customer.lifecycle:\n%s", body)
	}
	if err := crisp.Stop(); err != nil {
		t.Fatal(err)
	}

	crisp = startOn(t, yaml, "", dsn)
	maya = newClient(t, crisp.URL)
	maya.signIn("maya@acme.example", "crisp-demo")
	_, body := maya.stream("/ui/inbox/cnv_acme_seats/draft", nil)
	if !strings.Contains(body, "event: done") || strings.Contains(body, `"customer.lifecycle"`) {
		t.Errorf("after the restart the draft still carries customer.lifecycle:\n%s", body)
	}
	if _, page := maya.do("GET", "/ui/catalog", nil, nil); strings.Contains(page, "after crisp restarts") {
		t.Error("the catalog still says an edit is pending")
	}
}
