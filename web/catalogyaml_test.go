package web

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/crisphq/crisp/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// exampleCatalog is a copy of the example catalog, so the golden file does
// not move when configs/catalog.yaml does.
func exampleCatalog(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "catalog.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func ptr(s string) *string { return &s }

func TestApplyPatch(t *testing.T) {
	src := exampleCatalog(t)
	tests := []struct {
		name  string
		p     patch
		check func(t *testing.T, c *catalog.Catalog)
		err   string
	}{
		{name: "field description", p: patch{Kind: "field", Name: "account.plan", Description: ptr("The plan: as billed, #1 source.")},
			check: func(t *testing.T, c *catalog.Catalog) {
				if f, _ := c.Field("account.plan"); f.Description != "The plan: as billed, #1 source." {
					t.Errorf("description = %q", f.Description)
				}
			}},
		{name: "event owner", p: patch{Kind: "event", Name: "Asked chat", Owner: ptr("support-ops@acme.example")},
			check: func(t *testing.T, c *catalog.Catalog) {
				if e, _ := c.Event("Asked chat"); e.Owner != "support-ops@acme.example" {
					t.Errorf("owner = %q", e.Owner)
				}
			}},
		{name: "default expands", p: patch{Kind: "field", Name: "account.privateRevenue", Uses: map[string]string{"ai": "mask"}},
			check: func(t *testing.T, c *catalog.Catalog) {
				want := catalog.Visibilities{Support: catalog.Hide, AI: catalog.Mask, Reporting: catalog.Hide, Automation: catalog.Hide}
				if f, _ := c.Field("account.privateRevenue"); f.Uses != want {
					t.Errorf("uses = %+v", f.Uses)
				}
			}},
		{name: "a value that looks like a bool stays text", p: patch{Kind: "field", Name: "account.seats", Owner: ptr("true")},
			check: func(t *testing.T, c *catalog.Catalog) {
				if f, _ := c.Field("account.seats"); f.Owner != "true" {
					t.Errorf("owner = %q", f.Owner)
				}
			}},
		{name: "unknown field", p: patch{Kind: "field", Name: "account.nope", Owner: ptr("x")}, err: `no field "account.nope"`},
		{name: "event named like a field", p: patch{Kind: "event", Name: "account.plan", Owner: ptr("x")}, err: "no event"},
		{name: "unknown use", p: patch{Kind: "field", Name: "account.plan", Uses: map[string]string{"marketing": "show"}}, err: "unknown use"},
		{name: "unknown visibility", p: patch{Kind: "field", Name: "account.plan", Uses: map[string]string{"ai": "sometimes"}}, err: "unknown visibility"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := applyPatch(src, tt.p)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, err := catalog.Parse("catalog.yaml", out)
			if err != nil {
				t.Fatalf("patched catalog does not parse: %v", err)
			}
			tt.check(t, c)
			// Everything else is as it was.
			before, _ := catalog.Parse("catalog.yaml", src)
			if len(c.Fields()) != len(before.Fields()) || len(c.Events()) != len(before.Events()) {
				t.Error("the patch changed the set of entries")
			}
		})
	}
}

// The rewritten file keeps its comments; the golden shows the layout.
func TestApplyPatchGolden(t *testing.T) {
	out, err := applyPatch(exampleCatalog(t), patch{Kind: "field", Name: "customer.email", Owner: ptr("privacy@acme.example"),
		Uses: map[string]string{"reporting": "hide"}})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "patched_catalog.golden")
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(out) != string(want) {
		t.Errorf("patched catalog differs from %s (run with -update to accept)", golden)
	}
	if !strings.Contains(string(out), "# Account: the customer's company or workspace.") {
		t.Error("a comment was lost")
	}
}

func TestDiffAndWidenings(t *testing.T) {
	before := entryFacts{Description: "a", Owner: "o", Uses: catalog.Visibilities{AI: catalog.Hide, Support: catalog.Show}}
	after := entryFacts{Description: "a", Owner: "p", Uses: catalog.Visibilities{AI: catalog.Mask, Support: catalog.Show}}
	got := diffText("catalog.yaml", "field", "account.x", "0123456789abcdef", "fedcba9876543210", before, after)
	want := "--- catalog.yaml (0123456789ab)\n+++ catalog.yaml (fedcba987654)\n@@ field account.x @@\n" +
		"-  owner: o\n+  owner: p\n" +
		"-  uses: {support: show, ai: hide, reporting: hide, automation: hide}\n" +
		"+  uses: {support: show, ai: mask, reporting: hide, automation: hide}\n"
	if got != want {
		t.Errorf("diff =\n%s\nwant\n%s", got, want)
	}
	w := widenings(before.Uses, after.Uses)
	if len(w) != 1 || w[0] != (widening{Use: "ai", From: "hidden", To: "masked"}) {
		t.Errorf("widenings = %+v", w)
	}
	if w := widenings(after.Uses, before.Uses); len(w) != 0 {
		t.Errorf("narrowing reported as widening: %+v", w)
	}
}

// FuzzApplyPatch: any catalog text and any edit either fail cleanly or
// produce YAML.
func FuzzApplyPatch(f *testing.F) {
	f.Add(string(exampleCatalog(f)), "account.plan", "owner", "new owner")
	f.Add("fields:\n  - name: a.b\n    uses: {default: hide}\n", "a.b", "ai", "show")
	f.Add("fields: [{name: x, uses: [1, 2]}]", "x", "support", "mask")
	f.Add("- just\n- a list\n", "x", "owner", "y")
	f.Fuzz(func(t *testing.T, src, name, key, value string) {
		p := patch{Kind: "field", Name: name}
		if key == "owner" {
			p.Owner = &value
		} else {
			p.Uses = map[string]string{key: value}
		}
		out, err := applyPatch([]byte(src), p)
		if err != nil {
			return
		}
		var n yaml.Node
		if err := yaml.Unmarshal(out, &n); err != nil {
			t.Fatalf("applyPatch wrote YAML that does not parse: %v\n%s", err, out)
		}
	})
}
