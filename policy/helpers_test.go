package policy

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/crisphq/crisp/catalog"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// checkGolden compares got with the golden file, or rewrites it under -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// acmeCatalog is the example workspace's real catalog.
func acmeCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, err := catalog.Load("../configs/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const acmeDir = "../configs/policies"

// compile compiles one rules text against the Acme catalog.
func compile(t testing.TB, text string, opts ...Option) *Engine {
	t.Helper()
	e, err := Compile([]Source{{Name: "policies/test.rules", Text: text}}, acmeCatalog(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// emptyCatalog defines nothing: every field is unknown and hidden.
type emptyCatalog struct{}

func (emptyCatalog) Fields() []catalog.Field           { return nil }
func (emptyCatalog) Events() []catalog.Event           { return nil }
func (emptyCatalog) Default(string, string) Visibility { return Hide }
