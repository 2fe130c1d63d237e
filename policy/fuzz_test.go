package policy

import (
	"strings"
	"testing"
	"time"
)

// FuzzParse: the parser never panics or hangs, and whatever it accepts
// prints (Format) to text that parses again to the same text.
// Seeds: testdata/fuzz/FuzzParse. Run: go test -fuzz FuzzParse ./policy
func FuzzParse(f *testing.F) {
	f.Add("allow ai.draft\nwhen user.role in [\"support\", \"success\"]\nand account.privateRevenue == hidden\nand signedIdentity == true\n")
	f.Add(`deny ai.agent.* when not (a.b == 1 or c.d contains "x") because "no"`)
	f.Fuzz(func(t *testing.T, src string) {
		file, err := Parse("fuzz.rules", src)
		if err != nil {
			if _, ok := err.(ErrorList); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, st := range file.Statements {
			if st.When == nil {
				continue
			}
			text := Format(st.When)
			again, err := Parse("again.rules", "allow ai.draft when "+text)
			if err != nil {
				t.Fatalf("%q prints as %q, which does not parse: %v", src, text, err)
			}
			if back := Format(again.Statements[0].When); back != text {
				t.Fatalf("%q prints as %q, which reparses as %q", src, text, back)
			}
		}
	})
}

// FuzzCompile: checking and compiling never panic, never produce CEL that
// does not compile, and a compiled policy decides without panicking.
// Seeds: testdata/fuzz/FuzzCompile.
func FuzzCompile(f *testing.F) {
	f.Add("allow ai.draft\nwhen user.role in [\"support\", \"success\"]\nand account.privateRevenue == hidden\nand signedIdentity == true\n")
	f.Add(`mask customer.email for ai.draft when account.seats > 3 or customer.did("Visited pricing", within: "7d")`)
	cat := acmeCatalog(f)
	in := acmeInput("support", true)
	in.Now = time.Date(2025, 6, 6, 12, 0, 0, 0, time.UTC)
	in.Journey = []Event{{Name: "Visited pricing", At: in.Now.Add(-time.Hour)}}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Compile([]Source{{Name: "fuzz.rules", Text: src}}, cat)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("%q: %v", src, err)
			}
			return
		}
		for _, a := range []string{"ai.draft", "ai.general", "ai.agent.tool"} {
			in.Action = a
			d := e.Decide(in)
			if d.Fields.Len() == 0 || len(d.Explanation) == 0 {
				t.Fatalf("%q: empty decision for %s", src, a)
			}
		}
	})
}
