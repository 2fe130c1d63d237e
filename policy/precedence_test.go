package policy

import "testing"

// The field visibility precedence, as a table: the catalog default for the
// use, overridden by the most specific statement (exact action > longer
// family > shorter family > use > * or no `for`), the most restrictive among
// equals (hide > mask > show), a conditional statement only when its
// condition holds, and failing closed when it cannot be evaluated.
//
// Catalog defaults for ai: customer.email mask, account.plan show,
// account.privateRevenue hide.
func TestFieldPrecedence(t *testing.T) {
	tests := []struct {
		name   string
		rules  string
		action string
		role   string
		field  string
		want   Visibility
	}{
		{"catalog default", "", "ai.draft", "support", "customer.email", Mask},
		{"use overrides the catalog", "show customer.email for ai", "ai.draft", "support", "customer.email", Show},
		{"no for applies to every action", "hide account.plan", "ai.ask", "support", "account.plan", Hide},
		{"exact action beats use", "hide customer.email for ai\nshow customer.email for ai.draft", "ai.draft", "support", "customer.email", Show},
		{"use still applies to other actions", "hide customer.email for ai\nshow customer.email for ai.draft", "ai.ask", "support", "customer.email", Hide},
		{"family beats use", "hide customer.email for ai\nshow customer.email for ai.agent.*", "ai.agent.lookup", "support", "customer.email", Show},
		{"exact tool beats family", "hide customer.email for ai.agent.*\nshow customer.email for ai.agent.lookup", "ai.agent.lookup", "support", "customer.email", Show},
		{"family covers other tools", "hide customer.email for ai.agent.*\nshow customer.email for ai.agent.lookup", "ai.agent.search", "support", "customer.email", Hide},
		{"longer family beats shorter", "hide customer.email for ai.*\nshow customer.email for ai.agent.*", "ai.agent.lookup", "support", "customer.email", Show},
		{"use beats *", "hide account.plan for *\nshow account.plan for ai", "ai.draft", "support", "account.plan", Show},
		{"use beats no for", "show account.plan\nmask account.plan for ai", "ai.draft", "support", "account.plan", Mask},
		{"equals: hide beats show", "show customer.email for ai\nhide customer.email for ai", "ai.draft", "support", "customer.email", Hide},
		{"equals: mask beats show", "show account.plan for ai\nmask account.plan for ai", "ai.draft", "support", "account.plan", Mask},
		{"equals: order does not matter", "hide customer.email for ai\nshow customer.email for ai", "ai.draft", "support", "customer.email", Hide},
		{"a target list counts its most specific match", "hide customer.email for ai, ai.draft\nshow customer.email for ai.draft", "ai.draft", "support", "customer.email", Hide},
		{"conditional applies when it holds", `show account.privateRevenue for ai.draft when user.role == "success"`, "ai.draft", "success", "account.privateRevenue", Show},
		{"conditional skipped when it fails", `show account.privateRevenue for ai.draft when user.role == "success"`, "ai.draft", "support", "account.privateRevenue", Hide},
		{"conditional restrictive among equals", "show customer.email for ai.draft\nhide customer.email for ai.draft when user.role == \"sales\"", "ai.draft", "sales", "customer.email", Hide},
		{"conditional restrictive not holding", "show customer.email for ai.draft\nhide customer.email for ai.draft when user.role == \"sales\"", "ai.draft", "support", "customer.email", Show},
		{"conditional show loses to unconditional hide among equals", "hide customer.email for ai.draft\nshow customer.email for ai.draft when user.role == \"success\"", "ai.draft", "success", "customer.email", Hide},
		{"specific conditional beats general unconditional", "hide customer.email for ai\nshow customer.email for ai.draft when user.role == \"success\"", "ai.draft", "success", "customer.email", Show},
		{"specific conditional not holding falls back", "hide customer.email for ai\nshow customer.email for ai.draft when user.role == \"success\"", "ai.draft", "support", "customer.email", Hide},
		{"unevaluable hide applies", "show customer.email for ai\nhide customer.email for ai.draft when account.seats > 3", "ai.draft", "support", "customer.email", Hide},
		{"unevaluable show does not", "show account.privateRevenue for ai.draft when account.seats > 3", "ai.draft", "support", "account.privateRevenue", Hide},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compile(t, "allow ai.draft\n"+tt.rules)
			in := acmeInput(tt.role, true)
			in.Action = tt.action
			d := e.Decide(in)
			if got := d.Fields.Visibility(tt.field); got != tt.want {
				t.Fatalf("%s for %s = %s, want %s", tt.field, tt.action, got, tt.want)
			}
		})
	}
}
