package catalog

import (
	"bytes"
	"path/filepath"
	"testing"
)

// TestLintGolden: each testdata/lint/NAME.yaml parses, and Lint reports
// exactly the lines in NAME.golden.
func TestLintGolden(t *testing.T) {
	for _, in := range inputs(t, filepath.Join("testdata", "lint")) {
		t.Run(filepath.Base(in), func(t *testing.T) {
			c, err := Load(filepath.ToSlash(in))
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			for _, p := range Lint(c) {
				b.WriteString(p.String())
				b.WriteByte('\n')
			}
			checkGolden(t, golden(in), b.Bytes())
		})
	}
}

func TestHasErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		ps   []Problem
		want bool
	}{
		{"none", nil, false},
		{"warnings only", []Problem{{Severity: SeverityWarning}}, false},
		{"an error", []Problem{{Severity: SeverityWarning}, {Severity: SeverityError}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := HasErrors(tc.ps); got != tc.want {
				t.Errorf("HasErrors = %v", got)
			}
		})
	}
}
