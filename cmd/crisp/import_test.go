package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

// runCLI runs crisp with args and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv: func(string) string { return "" }})
	return code, stdout.String(), stderr.String()
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImport(t *testing.T) {
	storetest.ForEachDSN(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		accounts := writeFile(t, dir, "accounts.csv", "id,name,plan,seats\nacc_9,Nine,Growth,9\n")
		people := writeFile(t, dir, "people.csv", "id,email,name,account_id,role\nusr_9,n@nine.example,Nia,acc_9,Owner\n")
		code, _, stderr := runCLI(t, "import", "--db", dsn, "../../configs/seed/acme.jsonl")
		if code != 0 {
			t.Fatalf("import seed: exit %d: %s", code, stderr)
		}
		if !regexp.MustCompile(`^imported 24 rows from 1 file in \S+ \(\d+ rows/s\) into workspace acme: 4 accounts, 6 customers, 6 memberships, \d+ traits, 8 events \(0 already stored\)\n$`).MatchString(stderr) {
			t.Errorf("stderr = %q", stderr)
		}
		code, _, stderr = runCLI(t, "import", "--db", dsn, "--kind", "customers", people)
		if code != 0 {
			t.Fatalf("import customers: exit %d: %s", code, stderr)
		}
		code, _, stderr = runCLI(t, "import", "--db", dsn, "--kind", "accounts", accounts)
		if code != 0 {
			t.Fatalf("import accounts: exit %d: %s", code, stderr)
		}
		db := storetest.OpenDSN(t, dsn)
		ctx := t.Context()
		a, err := db.Account(ctx, "acme", "acc_9")
		if err != nil || a.Plan != "Growth" || a.Traits["seats"].Value != float64(9) {
			t.Errorf("acc_9 = %+v, %v", a, err)
		}
		c, err := db.Customer(ctx, "acme", "usr_9")
		if err != nil || c.Name != "Nia" || len(c.Accounts) != 1 || c.Accounts[0].Role != "Owner" {
			t.Errorf("usr_9 = %+v, %v", c, err)
		}
		if j, err := db.Journey(ctx, "acme", "usr_2481", 0); err != nil || len(j) != 4 {
			t.Errorf("usr_2481 journey = %d events, %v", len(j), err)
		}
	})
}

func TestImportRefusesBadRow(t *testing.T) {
	storetest.ForEachDSN(t, func(t *testing.T, dsn string) {
		dir := t.TempDir()
		good := writeFile(t, dir, "good.jsonl", `{"type":"identify","userId":"usr_1","traits":{"name":"A"}}`+"\n")
		bad := writeFile(t, dir, "events.csv", "customer_id,name,timestamp\nusr_1,Visited pricing,2026-11-25T10:00:00Z\nusr_1,,2026-11-25T10:01:00Z\n")
		code, _, stderr := runCLI(t, "import", "--db", dsn, "--kind", "events", good, bad)
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		want := "crisp import: " + bad + ":3: name is empty\nnothing was imported\n"
		if stderr != want {
			t.Errorf("stderr = %q\nwant %q", stderr, want)
		}
		db := storetest.OpenDSN(t, dsn)
		if cs, _, err := db.ListCustomers(t.Context(), "acme", store.ListOptions{}); err != nil || len(cs) != 0 {
			t.Errorf("a refused import stored %d customers (%v)", len(cs), err)
		}
	})
}

func TestImportProgressAndUsage(t *testing.T) {
	dir := t.TempDir()
	var lines strings.Builder
	for i := range 5 {
		lines.WriteString(`{"type":"track","userId":"usr_1","event":"Asked chat","messageId":"m` + string(rune('a'+i)) + `"}` + "\n")
	}
	f := writeFile(t, dir, "e.jsonl", lines.String())
	dsn := "sqlite:" + filepath.Join(dir, "crisp.db")
	code, _, stderr := runCLI(t, "import", "--db", dsn, "--progress", "2", f)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	progress := regexp.MustCompile(`(?m)^imported (\d) of 5 rows \(\d+ rows/s\)$`).FindAllStringSubmatch(stderr, -1)
	if len(progress) != 2 || progress[0][1] != "2" || progress[1][1] != "4" {
		t.Errorf("progress lines in %q", stderr)
	}
	code, _, stderr = runCLI(t, "import", "--db", dsn, "--dry-run", f)
	if code != 0 || stderr != "checked 5 rows in 1 file: all good, nothing written (--dry-run)\n" {
		t.Errorf("dry run: exit %d %q", code, stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"import"}, "Usage: crisp import"},
		{[]string{"import", "--db", dsn, "people.csv"}, "crisp import: people.csv: a CSV file needs --kind customers, accounts or events\n"},
		{[]string{"import", "--db", dsn, "--kind", "events", filepath.Join(dir, "missing.csv")}, "no such file or directory"},
	} {
		if code, _, stderr := runCLI(t, tc.args...); code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d %q, want 1 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
