package policy

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// The text `crisp policy explain` prints and the JSON of the policy check
// API, for the example workspace, as golden files.
func TestExplainGolden(t *testing.T) {
	acme, err := Load(acmeDir, acmeCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	unsignedAgent := acmeInput("support", false)
	unsignedAgent.Action = "ai.agent.lookup_customer"
	unknown := acmeInput("support", true)
	unknown.Action = "ai.summarize"
	tests := []struct {
		name string
		in   Input
	}{
		{"support_draft", acmeInput("support", true)},
		{"sales_draft", acmeInput("sales", true)},
		{"unsigned_agent", unsignedAgent},
		{"unknown_action", unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := acme.Decide(tt.in)
			var b strings.Builder
			if err := d.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			b.WriteString("message: " + d.Message() + "\n")
			j, err := json.MarshalIndent(d, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString("json: ")
			b.Write(j)
			b.WriteString("\n")
			checkGolden(t, filepath.Join("testdata", "explain", tt.name+".golden"), []byte(stripVersion(b.String(), d.PolicyVersion)))
		})
	}
}

// stripVersion keeps golden files stable when acme.rules is edited.
func stripVersion(s, version string) string { return strings.ReplaceAll(s, version, "sha256:…") }
