package policy

import (
	"path/filepath"
	"strings"
	"testing"
)

// The report of a run with failures, as `crisp policy test` prints it,
// quiet and verbose.
func TestRunTestsReport(t *testing.T) {
	rep, err := RunTests(filepath.Join("testdata", "testrun", "failing"), acmeCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed() {
		t.Fatal("Passed() with failing cases")
	}
	if p, f := rep.Counts(); p != 1 || f != 4 {
		t.Fatalf("counts %d passed, %d failed", p, f)
	}
	for _, verbose := range []bool{false, true} {
		var b strings.Builder
		if err := rep.Write(&b, verbose); err != nil {
			t.Fatal(err)
		}
		name := "report.golden"
		if verbose {
			name = "report_verbose.golden"
		}
		checkGolden(t, filepath.Join("testdata", "testrun", name), []byte(b.String()))
	}
}

// What stops a run is an error: a malformed test file (every problem, at
// its place), a directory without tests, rules that do not compile.
func TestRunTestsErrors(t *testing.T) {
	tests := []struct {
		dir  string
		want string
	}{
		{"badfile", ""},
		{"notests", "policy: no *_test.yaml files in notests"},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			_, err := RunTests(filepath.Join("testdata", "testrun", tt.dir), acmeCatalog(t))
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want == "" {
				checkGolden(t, filepath.Join("testdata", "testrun", tt.dir+".golden"), []byte(err.Error()+"\n"))
			} else if err.Error() != tt.want {
				t.Fatalf("err = %q, want %q", err, tt.want)
			}
		})
	}
}
