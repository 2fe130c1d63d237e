package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Each testdata/parse/NAME.rules parses to the tree in NAME.golden.
func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "parse", "*.rules"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no parse cases: %v", err)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".rules")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Parse(filepath.Base(in), string(src))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, strings.TrimSuffix(in, ".rules")+".golden", []byte(dumpFile(f)))
		})
	}
}

// Each testdata/errors/NAME.rules fails to compile against the Acme catalog
// with exactly the messages in NAME.golden.
func TestErrorGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "errors", "*.rules"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no error cases: %v", err)
	}
	cat := acmeCatalog(t)
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".rules")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Compile([]Source{{Name: "policies/" + filepath.Base(in), Text: string(src)}}, cat)
			if err == nil {
				t.Fatal("compiled without error")
			}
			checkGolden(t, strings.TrimSuffix(in, ".rules")+".golden", []byte(err.Error()+"\n"))
		})
	}
}

// Printing a parsed condition and parsing it again gives the same tree.
func TestFormatRoundTrip(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"seed", `user.role in ["support", "success"] and account.privateRevenue == hidden and signedIdentity == true`,
			`user.role in ["support", "success"] and account.privateRevenue == hidden and signedIdentity == true`},
		{"or inside and", `(a.b == 1 or c.d == 2) and e.f`, `(a.b == 1 or c.d == 2) and e.f`},
		{"and inside or", `a.b == 1 or c.d == 2 and e.f`, `a.b == 1 or c.d == 2 and e.f`},
		{"redundant parentheses", `((a.b == 1))`, `a.b == 1`},
		{"not in", `not (user.role in ["a"])`, `user.role not in ["a"]`},
		{"not of or", `not (a or b)`, `not (a or b)`},
		{"journey", `customer.did("Visited pricing", within: "7d")`, `customer.did("Visited pricing", within: "7d")`},
		{"escapes", `user.email == "a\"b\\c"`, `user.email == "a\"b\\c"`},
		{"numbers", `account.seats >= -3.5`, `account.seats >= -3.5`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("x.rules", "allow ai.draft when "+tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := Format(f.Statements[0].When)
			if got != tt.want {
				t.Fatalf("Format = %s, want %s", got, tt.want)
			}
			again, err := Parse("x.rules", "allow ai.draft when "+got)
			if err != nil {
				t.Fatal(err)
			}
			if back := Format(again.Statements[0].When); back != got {
				t.Fatalf("reparsed prints as %s, want %s", back, got)
			}
		})
	}
}

func dumpFile(f *File) string {
	var b strings.Builder
	for _, st := range f.Statements {
		fmt.Fprintf(&b, "%d:%d %s", st.Pos.Line, st.Pos.Col, st.Verb)
		if st.Name != "" {
			fmt.Fprintf(&b, " name=%q", st.Name)
		}
		for _, group := range []struct {
			label string
			names []Name
		}{{"actions", st.Actions}, {"fields", st.Fields}, {"for", st.For}} {
			if len(group.names) == 0 {
				continue
			}
			texts := make([]string, len(group.names))
			for i, n := range group.names {
				texts[i] = fmt.Sprintf("%s@%d:%d", n.Text, n.Pos.Line, n.Pos.Col)
			}
			fmt.Fprintf(&b, " %s=[%s]", group.label, strings.Join(texts, " "))
		}
		if st.Because != "" {
			fmt.Fprintf(&b, " because=%q", st.Because)
		}
		b.WriteString("\n")
		if st.When != nil {
			b.WriteString(dumpExpr(st.When, "  "))
		}
	}
	return b.String()
}

func dumpExpr(e Expr, indent string) string {
	p := e.Position()
	at := fmt.Sprintf("@%d:%d", p.Line, p.Col)
	switch e := e.(type) {
	case *Logical:
		return indent + e.Op + " " + at + "\n" + dumpExpr(e.L, indent+"  ") + dumpExpr(e.R, indent+"  ")
	case *Not:
		return indent + "not " + at + "\n" + dumpExpr(e.X, indent+"  ")
	case *Compare:
		return indent + e.Op + " " + at + "\n" + dumpExpr(e.L, indent+"  ") + dumpExpr(e.R, indent+"  ")
	case *Path:
		return indent + "path " + e.Name + " " + at + "\n"
	case *Lit:
		kind := map[LitKind]string{LitString: "string", LitNumber: "number", LitBool: "bool", LitVisibility: "visibility"}[e.Kind]
		return fmt.Sprintf("%s%s %q %s\n", indent, kind, e.Text, at)
	case *List:
		return indent + "list " + Format(e) + " " + at + "\n"
	case *Did:
		return fmt.Sprintf("%sdid event=%q within=%s %s\n", indent, e.Event, e.Within, at)
	}
	return indent + "?\n"
}
