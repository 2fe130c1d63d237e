package policy

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// Decisions for small policies: which rule decides, and what the
// explanation and message say.
func TestDecide(t *testing.T) {
	now := time.Date(2025, 6, 6, 12, 0, 0, 0, time.UTC)
	base := acmeInput("support", true)
	base.Now = now
	base.Journey = []Event{{Name: "Visited pricing", At: now.Add(-48 * time.Hour)}, {Name: "Asked chat", At: now.Add(-10 * 24 * time.Hour)}}
	base.Request = Request{Model: "gpt-4o", Provider: "openai"}
	base.IdentityMethod = "hmac"
	base.Account.Traits["seats"] = 12
	base.Account.Traits["features"] = []any{"sso", "audit"}
	tests := []struct {
		name   string
		rules  string
		change func(*Input)
		allow  bool
		rule   string
		expl   string // a line of the explanation must contain this
	}{
		{"default deny", "allow ai.ask", nil, false, DefaultDeny, "no allow rule names ai.draft"},
		{"deny beats allow", "rule a\nallow ai.draft\nrule d\ndeny ai.draft when user.role == \"support\"", nil, false, "d", `deny rule "d" (policies/test.rules:3) applies: ` + "`user.role == \"support\"` holds"},
		{"deny after allow in the file still wins", "rule d\ndeny ai.draft when signedIdentity\nrule a\nallow ai.draft", nil, false, "d", ""},
		{"first matching allow decides", "rule one\nallow ai.draft when user.role == \"sales\"\nrule two\nallow ai.draft\nrule three\nallow ai.draft", nil, true, "two", `allow rule "three" (policies/test.rules:5) not evaluated`},
		{"unnamed rule is named by place", "\n\nallow ai.draft", nil, true, "test.rules:3", ""},
		{"family pattern", "allow ai.agent.*", func(in *Input) { in.Action = "ai.agent.lookup" }, true, "test.rules:1", ""},
		{"family needs a tool", "allow ai.agent.*", func(in *Input) { in.Action = "ai.agent." }, false, DefaultDeny, ""},
		{"star", "allow *", func(in *Input) { in.Action = "anything" }, true, "test.rules:1", ""},
		{"action list", "allow ai.ask, ai.draft", nil, true, "test.rules:1", ""},
		{"failing clause named", "allow ai.draft when signedIdentity and user.role == \"sales\"", nil, false, DefaultDeny, "`user.role == \"sales\"` is false (1:40)"},
		{"or and parentheses", "allow ai.draft when (user.role == \"sales\" or user.role == \"support\") and not (user.kind == \"workflow\")", nil, true, "test.rules:1", ""},
		{"not in", "allow ai.draft when user.role not in [\"sales\"]", nil, true, "test.rules:1", ""},
		{"teams contains", "allow ai.draft when user.teams contains \"support\"", nil, true, "test.rules:1", ""},
		{"string contains", "allow ai.draft when user.email contains \"@acme.example\"", nil, true, "test.rules:1", ""},
		{"trait list contains", "allow ai.draft when account.features contains \"sso\"", nil, true, "test.rules:1", ""},
		{"in a trait list", "allow ai.draft when \"audit\" in account.features", nil, true, "test.rules:1", ""},
		{"missing trait contains nothing", "allow ai.draft when customer.lifecycle contains \"x\"", nil, false, DefaultDeny, ""},
		{"missing trait equals nothing", "allow ai.draft when customer.lifecycle != \"x\"", nil, true, "test.rules:1", ""},
		{"int trait equals number", "allow ai.draft when account.seats == 12", nil, true, "test.rules:1", ""},
		{"json number trait equals number", "allow ai.draft when account.seats == 12", func(in *Input) { in.Account.Traits["seats"] = json.Number("12") }, true, "test.rules:1", ""},
		{"float trait equals number", "allow ai.draft when account.seats == 12", func(in *Input) { in.Account.Traits["seats"] = 12.0 }, true, "test.rules:1", ""},
		{"ordering", "allow ai.draft when account.seats >= 10 and account.seats < 12.5 and account.plan > \"A\"", nil, true, "test.rules:1", ""},
		{"trait bool", "allow ai.draft when account.checkoutRisk", func(in *Input) { in.Account.Traits["checkoutRisk"] = true }, true, "test.rules:1", ""},
		{"builtin paths", `allow ai.draft when user.id == "mem_support" and user.kind == "member" and action == "ai.draft" and request.model == "gpt-4o" and request.provider == "openai" and identity.method == "hmac" and customer.id == "usr_2481" and account.id == "acc_acme"`, nil, true, "test.rules:1", ""},
		{"journey ever", `allow ai.draft when customer.did("Asked chat")`, nil, true, "test.rules:1", ""},
		{"journey within", `allow ai.draft when customer.did("visited pricing", within: "7d")`, nil, true, "test.rules:1", ""},
		{"journey outside window", `allow ai.draft when customer.did("Asked chat", within: "7d")`, nil, false, DefaultDeny, ""},
		{"journey missing", `allow ai.draft when customer.did("Opened billing")`, nil, false, DefaultDeny, ""},
		{"allow fails closed", "allow ai.draft when customer.lifecycle > 3", nil, false, DefaultDeny, "could not be evaluated"},
		{"deny fails closed", "allow ai.draft\nrule d\ndeny ai.draft when customer.lifecycle > 3", nil, false, "d", "so the rule counts as matching"},
		{"visibility after field statements", "hide account.plan for ai.draft when user.role == \"sales\"\nallow ai.draft when account.plan == shown", nil, true, "test.rules:2", ""},
		{"visibility after field statements, sales", "hide account.plan for ai.draft when user.role == \"sales\"\nallow ai.draft when account.plan == shown", func(in *Input) { in.User.Role = "sales" }, false, DefaultDeny, "`account.plan == shown` is false"},
		{"unknown action", "allow ai.draft", func(in *Input) { in.Action = "ai.nope" }, false, DefaultDeny, "no allow rule names ai.nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compile(t, tt.rules)
			in := base
			in.Account.Traits = maps(base.Account.Traits)
			if tt.change != nil {
				tt.change(&in)
			}
			d := e.Decide(in)
			expl := strings.Join(d.Explanation, "\n")
			if d.Allow != tt.allow || d.Rule != tt.rule {
				t.Fatalf("got %s by %q, want allow=%v by %q\n%s", d.Verdict(), d.Rule, tt.allow, tt.rule, expl)
			}
			if tt.expl != "" && !strings.Contains(expl, tt.expl) {
				t.Fatalf("explanation lacks %q:\n%s", tt.expl, expl)
			}
			if d.Message() == "" || !strings.Contains(d.Message(), tt.rule) && tt.rule != DefaultDeny {
				t.Fatalf("message %q does not name the rule", d.Message())
			}
			// The one-program-per-rule shortcut must decide exactly as the
			// clause-by-clause evaluation does.
			slow := compile(t, tt.rules)
			for _, r := range slow.rules {
				r.prg = nil
			}
			if got, want := mustJSON(t, slow.Decide(in)), mustJSON(t, d); got != want {
				t.Fatalf("clause-by-clause decides\n%s\nthe shortcut\n%s", got, want)
			}
		})
	}
}

func maps(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Messages and explanations never repeat a literal compared with a customer
// or account field: it might be the hidden value.
func TestMessagesRedactCustomerLiterals(t *testing.T) {
	e := compile(t, `allow ai.draft
deny ai.draft when account.privateRevenue > 40000 and customer.phone == "+1 415 555 0199" because "big account"
allow ai.ask when account.privateRevenue in [48250, 1] and signedIdentity`)
	for _, action := range []string{"ai.draft", "ai.ask"} {
		in := acmeInput("support", true)
		in.Account.Traits["privateRevenue"] = 5
		in.Action = action
		d := e.Decide(in)
		all := d.Message() + "\n" + strings.Join(d.Explanation, "\n") + "\n" + strings.Join(d.ToAllow, "\n")
		for _, secret := range []string{"40000", "48250", "415"} {
			if strings.Contains(all, secret) {
				t.Errorf("%s: %q appears in\n%s", action, secret, all)
			}
		}
		if !strings.Contains(all, "account.privateRevenue") {
			t.Errorf("%s: the clause is not named:\n%s", action, all)
		}
	}
}

// ToAllow names what would change a denial, from the rules closest to
// allowing.
func TestToAllow(t *testing.T) {
	e := compile(t, `rule far
allow ai.draft when user.role == "admin" and user.kind == "workflow" and signedIdentity
rule near
allow ai.draft when user.role in ["success"] and signedIdentity`)
	d := e.Decide(acmeInput("support", false))
	want := []string{
		`user.role must be one of "success" (rule "near", policies/test.rules:3)`,
		`the customer identity must be signed (X-Crisp-User-Hash or X-Crisp-Identity-Token) (rule "near", policies/test.rules:3)`,
	}
	if !slices.Equal(d.ToAllow, want) {
		t.Fatalf("ToAllow = %q\nwant %q", d.ToAllow, want)
	}
	if !strings.Contains(d.Message(), `rule "far"`) || !strings.Contains(d.Message(), "user.role == \"admin\"") {
		t.Fatalf("Message = %q", d.Message())
	}
}

// The policy check API's JSON keys, as DESIGN.md lists them.
func TestDecisionJSON(t *testing.T) {
	d := compile(t, "rule r\nallow ai.draft").Decide(acmeInput("support", true))
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(mustJSON(t, d)), &got); err != nil {
		t.Fatal(err)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range got {
			if !yield(k) {
				return
			}
		}
	})
	want := []string{"decision", "explanation", "fields", "location", "message", "policy_version", "rule"}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	if string(got["decision"]) != `"allow"` || string(got["location"]) != `"policies/test.rules:1"` {
		t.Fatalf("decision %s location %s", got["decision"], got["location"])
	}
	var fields map[string]string
	if err := json.Unmarshal(got["fields"], &fields); err != nil {
		t.Fatal(err)
	}
	if fields["account.privateRevenue"] != "hidden" || fields["customer.email"] != "masked" || fields["account.plan"] != "shown" {
		t.Fatalf("fields %v", fields)
	}
}

func TestLookupTrait(t *testing.T) {
	traits := map[string]any{"plan": "Growth", "billing.seats": 3, "billing": map[string]any{"owner": "dana", "nested": map[string]any{"x": 1}}}
	tests := []struct {
		key  string
		want any
	}{
		{"plan", "Growth"},
		{"billing.seats", 3},
		{"billing.owner", "dana"},
		{"billing.nested.x", 1},
		{"billing.none", nil},
		{"plan.x", nil},
		{"none", nil},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := lookupTrait(traits, strings.Split(tt.key, ".")); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
