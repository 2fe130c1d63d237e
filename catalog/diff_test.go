package catalog

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// entryYAML is one field with the given type, classification and uses.
func entryYAML(name, typ, cls, uses string) string {
	return "  - {name: " + name + ", type: " + typ + ", source: crm, classification: " + cls + ", uses: {" + uses + "}}\n"
}

func TestDiff(t *testing.T) {
	const all = "default: hide"
	for _, tc := range []struct {
		name     string
		old, new string // the fields: section's entries
		want     []Change
	}{
		{
			name: "unchanged",
			old:  entryYAML("account.plan", "string", "internal", "default: show"),
			new:  entryYAML("account.plan", "string", "internal", "support: show, ai: show, reporting: show, automation: show"),
		},
		{
			name: "added hidden everywhere",
			new:  entryYAML("account.plan", "string", "internal", all),
			want: []Change{{Kind: Added, Subject: "field", Name: "account.plan", To: "string, internal"}},
		},
		{
			name: "added shown for ai is a widening",
			new:  entryYAML("account.plan", "string", "internal", "ai: show, default: hide"),
			want: []Change{
				{Kind: Added, Subject: "field", Name: "account.plan", To: "string, internal"},
				{Kind: VisibilityChanged, Subject: "field", Name: "account.plan", Use: "ai", From: "hidden", To: "shown", Widened: true},
			},
		},
		{
			name: "removed",
			old:  entryYAML("account.plan", "string", "internal", "default: show"),
			want: []Change{{Kind: Removed, Subject: "field", Name: "account.plan", From: "string, internal"}},
		},
		{
			name: "retyped",
			old:  entryYAML("account.seats", "string", "internal", all),
			new:  entryYAML("account.seats", "number", "internal", all),
			want: []Change{{Kind: Retyped, Subject: "field", Name: "account.seats", From: "string", To: "number"}},
		},
		{
			name: "reclassified",
			old:  entryYAML("account.seats", "number", "confidential", all),
			new:  entryYAML("account.seats", "number", "internal", all),
			want: []Change{{Kind: Reclassified, Subject: "field", Name: "account.seats", From: "confidential", To: "internal"}},
		},
		{
			name: "widened hide to mask",
			old:  entryYAML("customer.email", "string", "confidential", all),
			new:  entryYAML("customer.email", "string", "confidential", "ai: mask, default: hide"),
			want: []Change{{Kind: VisibilityChanged, Subject: "field", Name: "customer.email", Use: "ai", From: "hidden", To: "masked", Widened: true}},
		},
		{
			name: "widened hide to show",
			old:  entryYAML("customer.email", "string", "confidential", all),
			new:  entryYAML("customer.email", "string", "confidential", "reporting: show, default: hide"),
			want: []Change{{Kind: VisibilityChanged, Subject: "field", Name: "customer.email", Use: "reporting", From: "hidden", To: "shown", Widened: true}},
		},
		{
			name: "widened mask to show",
			old:  entryYAML("customer.email", "string", "confidential", "support: mask, default: hide"),
			new:  entryYAML("customer.email", "string", "confidential", "support: show, default: hide"),
			want: []Change{{Kind: VisibilityChanged, Subject: "field", Name: "customer.email", Use: "support", From: "masked", To: "shown", Widened: true}},
		},
		{
			name: "narrowed show to mask and hide",
			old:  entryYAML("customer.email", "string", "confidential", "default: show"),
			new:  entryYAML("customer.email", "string", "confidential", "ai: mask, automation: hide, default: show"),
			want: []Change{
				{Kind: VisibilityChanged, Subject: "field", Name: "customer.email", Use: "ai", From: "shown", To: "masked"},
				{Kind: VisibilityChanged, Subject: "field", Name: "customer.email", Use: "automation", From: "shown", To: "hidden"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Diff(mustParse(t, "fields:\n"+tc.old), mustParse(t, "fields:\n"+tc.new))
			if len(d.Changes) != len(tc.want) {
				t.Fatalf("changes = %+v\nwant %+v", d.Changes, tc.want)
			}
			for i := range tc.want {
				if d.Changes[i] != tc.want[i] {
					t.Errorf("change %d = %+v\nwant %+v", i, d.Changes[i], tc.want[i])
				}
			}
		})
	}
}

func TestDiffNil(t *testing.T) {
	c := loadAcme(t)
	d := Diff(nil, c)
	if len(d.Widened()) == 0 || d.OldVersion == d.NewVersion || d.NewVersion != c.Version() {
		t.Errorf("Diff(nil, acme) = %d changes, %d widened", len(d.Changes), len(d.Widened()))
	}
	for _, ch := range Diff(c, nil).Changes {
		if ch.Kind != Removed || ch.Widened {
			t.Errorf("Diff(acme, nil) has %+v", ch)
		}
	}
}

// TestDiffFormatGolden pins the reviewer's view of a diff.
func TestDiffFormatGolden(t *testing.T) {
	old, err := Load("testdata/diff/old.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := Load("testdata/diff/new.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Diff(old, cur).Format(&b); err != nil {
		t.Fatal(err)
	}
	b.WriteString("---\n")
	if err := Diff(cur, cur).Format(&b); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "testdata/diff/format.golden", b.Bytes())
}

// TestDiffGit runs real git in a scratch repository.
func TestDiffGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("git is needed to test catalog diff REV: %v", err)
	}
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(src string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, "configs"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "configs", "catalog.yaml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q")
	write("fields:\n" + entryYAML("account.paymentRisk", "string", "confidential", "default: hide"))
	git("add", ".")
	git("commit", "-q", "-m", "one")
	write("fields: [}")
	git("commit", "-q", "-am", "broken")
	cur := mustParse(t, "fields:\n"+entryYAML("account.paymentRisk", "string", "confidential", "ai: show, default: hide"))

	for _, tc := range []struct {
		name, rev string
		wantErr   string
		widened   int
	}{
		{name: "previous commit", rev: "HEAD~1", widened: 1},
		{name: "broken old file", rev: "HEAD", wantErr: "old catalog HEAD:configs/catalog.yaml:\nHEAD:configs/catalog.yaml: error: invalid YAML"},
		{name: "unknown rev", rev: "nope", wantErr: "git show nope:configs/catalog.yaml"},
		{name: "option-like rev", rev: "--output=/tmp/x", wantErr: "invalid revision"},
		{name: "empty rev", rev: "", wantErr: "invalid revision"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := DiffGit(dir, tc.rev, "configs/catalog.yaml", cur)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Widened()) != tc.widened {
				t.Errorf("widened = %+v", d.Widened())
			}
		})
	}
}
