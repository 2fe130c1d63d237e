package redact

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func supportMessages(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("testdata/support_messages.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFalsePositives runs ordinary support messages, which hold no secret,
// through the example workspace's redactor with every detector on.
func TestFalsePositives(t *testing.T) {
	msgs := supportMessages(t)
	if len(msgs) < 100 {
		t.Fatalf("corpus has %d messages, want at least 100", len(msgs))
	}
	r := mustCompile(t, acmeValues(), DefaultDetectors())
	changed := 0
	for _, m := range msgs {
		s := r.NewSession()
		text := s.Text(m)
		streamed := streamOnce(s, chunk(m, 20), nil)
		if text != m || streamed != m {
			changed++
			t.Errorf("changed: %q\n   text %q\n stream %q", m, text, streamed)
		}
	}
	t.Logf("false positives: %d of %d messages (%.1f%%)", changed, len(msgs), 100*float64(changed)/float64(len(msgs)))
}

// TestGolden redacts the prompts in testdata/golden/*.input; run with
// -update to rewrite the .golden files after a deliberate change.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/golden/*.input")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	r := mustCompile(t, acmeValues(), DefaultDetectors())
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			s := r.NewSession()
			got := s.Text(string(src))
			golden := strings.TrimSuffix(in, ".input") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s:\n%s", in, golden, got)
			}
		})
	}
}
