package policy

import (
	"os"
	"strings"
	"testing"

	"github.com/crisphq/crisp/configs"
)

func acmeInput(role string, signed bool) Input {
	return Input{
		User:     User{ID: "mem_" + role, Email: role + "@acme.example", Role: role, Teams: []string{role}, Kind: "member"},
		Customer: Customer{ID: "usr_2481", Traits: map[string]any{"name": "Dana", "email": "dana@acme.example", "phone": "+1 415 555 0199", "role": "Billing owner"}},
		Account: Account{ID: "acc_acme", Traits: map[string]any{
			"name": "Acme workspace", "plan": "Growth trial", "privateRevenue": 48250, "paymentRisk": "medium",
		}},
		Action:         "ai.draft",
		SignedIdentity: signed,
	}
}

// The seed rule with the example workspace, as the issue lists it.
func TestSeedRule(t *testing.T) {
	acme, err := Load(acmeDir, acmeCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	showsRevenue, err := Compile(append(mustSources(t), Source{Name: "policies/extra.rules", Text: "show account.privateRevenue for ai.draft"}), acmeCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		engine   *Engine
		in       Input
		allow    bool
		rule     string
		location string
	}{
		{"support member with a signed identity", acme, acmeInput("support", true), true, "support-draft", "policies/acme.rules:13"},
		{"success member with a signed identity", acme, acmeInput("success", true), true, "support-draft", "policies/acme.rules:13"},
		{"sales member", acme, acmeInput("sales", true), false, DefaultDeny, ""},
		{"unsigned identity", acme, acmeInput("support", false), false, "unsigned-customer", "policies/acme.rules:44"},
		{"a policy that shows account.privateRevenue", showsRevenue, acmeInput("support", true), false, DefaultDeny, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.engine.Decide(tt.in)
			if d.Allow != tt.allow || d.Rule != tt.rule || d.Location != tt.location {
				t.Fatalf("got %s by %q at %q, want allow=%v by %q at %q\n%s", d.Verdict(), d.Rule, d.Location, tt.allow, tt.rule, tt.location, strings.Join(d.Explanation, "\n"))
			}
			for _, hidden := range []string{"48250", "medium", "+1 415"} {
				if strings.Contains(d.Message(), hidden) || strings.Contains(strings.Join(d.Explanation, "\n"), hidden) {
					t.Errorf("message or explanation carries a hidden value %q", hidden)
				}
			}
		})
	}
}

func mustSources(t *testing.T) []Source {
	t.Helper()
	srcs, err := ReadSources(os.DirFS(acmeDir), ".", "policies")
	if err != nil {
		t.Fatal(err)
	}
	return srcs
}

func TestAcmePolicyTests(t *testing.T) {
	rep, err := RunTests(acmeDir, acmeCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.Write(&b, true); err != nil {
		t.Fatal(err)
	}
	if !rep.Passed() {
		t.Fatalf("policy tests failed:\n%s", b.String())
	}
	t.Log("\n" + b.String())
}

// The example workspace embedded in the binary compiles and passes its own
// policy tests, as `crisp policy test` runs them with no flags.
func TestEmbeddedWorkspace(t *testing.T) {
	e, err := LoadFS(configs.FS, "policies", acmeCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	if d := e.Decide(acmeInput("support", true)); !d.Allow || d.Location != "policies/acme.rules:13" {
		t.Fatalf("got %s at %s", d.Verdict(), d.Location)
	}
	rep, err := RunTestsFS(configs.FS, "policies", acmeCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Passed() {
		var b strings.Builder
		_ = rep.Write(&b, false)
		t.Fatal(b.String())
	}
}
