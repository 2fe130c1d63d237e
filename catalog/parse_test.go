package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseErrorsGolden: each testdata/errors/NAME.yaml must fail to parse
// with exactly the messages in NAME.golden.
func TestParseErrorsGolden(t *testing.T) {
	for _, in := range inputs(t, filepath.Join("testdata", "errors")) {
		t.Run(filepath.Base(in), func(t *testing.T) {
			c, err := Load(filepath.ToSlash(in))
			if err == nil {
				t.Fatalf("Load succeeded with %d fields; want errors", len(c.Fields()))
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, want *ParseError: %v", err, err)
			}
			for _, p := range pe.Problems {
				if p.Pos.File != filepath.ToSlash(in) || p.Severity != SeverityError {
					t.Errorf("problem without file or not an error: %+v", p)
				}
			}
			checkGolden(t, golden(in), []byte(err.Error()+"\n"))
		})
	}
}

// TestParseErrorsNameLineAndField: every problem in a field or event names
// file:line and the entry, which is what makes a message actionable.
func TestParseErrorsNameLineAndField(t *testing.T) {
	for _, name := range []string{"unknown_key", "bad_enum", "duplicate_field", "secret_shown_for_ai", "missing_keys", "enum_values"} {
		t.Run(name, func(t *testing.T) {
			in := "testdata/errors/" + name + ".yaml"
			_, err := Load(in)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v", err)
			}
			for _, p := range pe.Problems {
				if p.Pos.Line == 0 || (p.Subject == "" && !strings.Contains(p.Message, `"tags"`)) {
					t.Errorf("problem lacks a line or a subject: %s", p)
				}
				if !strings.HasPrefix(p.String(), in+":") {
					t.Errorf("problem does not start with %s: %s", in, p)
				}
			}
		})
	}
}

func TestParseErrorCap(t *testing.T) {
	_, err := Load("testdata/errors/too_many.yaml")
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v", err)
	}
	if pe.Total != 25 || len(pe.Problems) != maxErrors {
		t.Fatalf("Total = %d, listed = %d; want 25, %d", pe.Total, len(pe.Problems), maxErrors)
	}
	for i := 1; i < len(pe.Problems); i++ {
		if pe.Problems[i].Pos.Line < pe.Problems[i-1].Pos.Line {
			t.Fatalf("problems not sorted by line: %v", pe.Problems)
		}
	}
	if !strings.HasSuffix(err.Error(), "(and 5 more)") {
		t.Errorf("error does not say how many were left out:\n%v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want os.ErrNotExist wrapped", err)
	}
}

func TestParseTooLarge(t *testing.T) {
	_, err := Parse("big.yaml", make([]byte, maxFileSize+1))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("err = %v", err)
	}
}

// FuzzParse: Parse never panics, and whatever it accepts is consistent.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/errors", "testdata/lint", "testdata/diff"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, in := range files {
			if b, err := os.ReadFile(in); err == nil {
				f.Add(b)
			}
		}
	}
	if b, err := os.ReadFile(acmePath); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 || len(pe.Problems) > maxErrors {
				t.Fatalf("bad error %T: %v", err, err)
			}
			return
		}
		for _, fl := range c.Fields() {
			if validFieldName(fl.Name) != "" {
				t.Fatalf("accepted bad field name %q", fl.Name)
			}
			if fl.Classification == Secret && fl.Uses.AI == Show {
				t.Fatalf("accepted secret %q shown for ai", fl.Name)
			}
			if got, ok := c.Field(fl.Name); !ok || got.Name != fl.Name {
				t.Fatalf("Field(%q) lost", fl.Name)
			}
		}
		again, err := Parse("fuzz.yaml", data)
		if err != nil || again.Version() != c.Version() {
			t.Fatalf("reparse differs: %v", err)
		}
		_ = Lint(c)
		if d := Diff(c, again); len(d.Changes) != 0 {
			t.Fatalf("diff with itself: %+v", d.Changes)
		}
	})
}

func BenchmarkParseAcme(b *testing.B) {
	data, err := os.ReadFile(acmePath)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(acmePath, data); err != nil {
			b.Fatal(err)
		}
	}
}
