package policy

import (
	"strings"
	"testing"
)

// Conditions at the parser's limits still compile: the CEL generated for
// them stays within cel-go's own limits.
func TestConditionLimits(t *testing.T) {
	cat := acmeCatalog(t)
	tests := []struct {
		name    string
		cond    string
		wantErr string
	}{
		{"long or chain", strings.Repeat(`user.role == "x" or `, maxTerms/2-1) + "signedIdentity", ""},
		{"long and chain", strings.Repeat(`user.role == "x" and `, maxTerms/2-1) + "signedIdentity", ""},
		{"deep parentheses", strings.Repeat("(signedIdentity or ", maxDepth-1) + "signedIdentity" + strings.Repeat(")", maxDepth-1), ""},
		{"deep not", strings.Repeat("not ", maxDepth-1) + "signedIdentity", ""},
		{"deep mixed", strings.Repeat("not (signedIdentity and ", maxDepth/2-1) + "signedIdentity" + strings.Repeat(")", maxDepth/2-1), ""},
		{"too long", strings.Repeat(`user.role == "x" or `, maxTerms/2) + "signedIdentity", "condition too long"},
		{"too deep", strings.Repeat("(", maxDepth+1) + "signedIdentity" + strings.Repeat(")", maxDepth+1), "nested too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Compile([]Source{{Name: "x.rules", Text: "allow ai.draft when " + tt.cond}}, cat)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("compile: %.300v", err)
				}
				e.Decide(acmeInput("support", true))
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %.300v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
