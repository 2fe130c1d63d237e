package segment_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/identity/segment"
	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

const seedFile = "../../configs/seed/acme.jsonl"

func loadCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Load("../../configs/catalog.yaml")
	must(t, err)
	return cat
}

// writeFiles writes name → content into a temp dir and returns the paths.
func writeFiles(t testing.TB, files map[string]string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out := map[string]string{}
	for name, content := range files {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, []byte(content), 0o600))
		out[name] = p
	}
	return out
}

func open(t testing.TB, path, kind string) segment.File {
	t.Helper()
	f, err := segment.OpenFile(path, kind)
	must(t, err)
	return f
}

// TestImportSeed imports the example workspace and checks its fixed names.
func TestImportSeed(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		inv := &spy{}
		opts := segment.ImportOptions{Workspace: ws, Store: db, Invalidator: inv, Source: "seed"}
		res, err := segment.Import(ctx, opts, open(t, seedFile, ""))
		must(t, err)
		if res.Rows != 24 || res.Written.Events != 8 || res.Written.Accounts != 4 || res.Ignored != 0 {
			t.Errorf("result = %+v", res)
		}
		a, err := db.Account(ctx, ws, "acc_acme")
		must(t, err)
		if a.Name != "Acme workspace" || a.Plan != "Growth trial" || a.Subscription != "trialing" {
			t.Errorf("acc_acme = %+v", a)
		}
		for k, want := range map[string]any{"trialDay": float64(6), "lifecycle": "Activation risk", "checkoutRisk": true,
			"seats": float64(5), "privateRevenue": float64(48250), "paymentRisk": "high", "internalScore": float64(42)} {
			if got := a.Traits[k].Value; got != want {
				t.Errorf("acc_acme %s = %#v, want %#v", k, got, want)
			}
		}
		if a.Traits["enterpriseNotes"].Value == nil || a.Traits["seats"].Source != "seed" {
			t.Errorf("acc_acme traits = %+v", a.Traits)
		}
		c, err := db.Customer(ctx, ws, "usr_2481")
		must(t, err)
		if c.Name != "Dana" || c.Email != "dana@acme.example" || c.Traits["phone"].Value != "+1 415 555 0199" ||
			c.Traits["role"].Value != "Billing owner" || c.Traits["lifecycle"].Value != "Activation risk" ||
			len(c.Accounts) != 1 || c.Accounts[0].AccountID != "acc_acme" || c.Accounts[0].Role != "Billing owner" {
			t.Errorf("usr_2481 = %+v", c)
		}
		j, err := db.Journey(ctx, ws, "usr_2481", 0)
		must(t, err)
		var names []string
		for i := len(j) - 1; i >= 0; i-- {
			names = append(names, j[i].Name)
		}
		if got := strings.Join(names, " → "); got != "Visited pricing → Read seat limits → Opened billing → Asked chat" {
			t.Errorf("journey = %s", got)
		}
		if !contains(inv.customers, ws+"/usr_2481") || !contains(inv.accounts, ws+"/acc_acme") {
			t.Errorf("invalidated %v %v", inv.customers, inv.accounts)
		}
		// Importing again changes nothing: events dedupe on messageId.
		again, err := segment.Import(ctx, opts, open(t, seedFile, ""))
		must(t, err)
		if again.Written.Events != 0 || again.Written.Duplicates != 8 {
			t.Errorf("second import = %+v", again.Written)
		}
	})
}

func TestImportCSV(t *testing.T) {
	paths := writeFiles(t, map[string]string{
		"accounts.csv": "id,name,plan,subscription,seats,checkoutRisk,features,trialEndsAt,region\n" +
			"acc_1,One,Growth,active,12,true,sso;audit,2026-12-01,eu\n" +
			"acc_2,Two,Free,,,,,,\n",
		"customers.csv": "\ufeffid,email,name,account_id,role,lifecycle\n" +
			"usr_1,a@one.example,Ann,acc_1,Owner,Active\n" +
			"usr_2,,\"Bo, Jr.\",,,\n",
		"events.csv": "customer_id,name,timestamp,path\n" +
			"usr_1,Visited pricing,2026-11-25T10:00:00Z,/pricing\n" +
			"usr_1,Opened billing,,\n",
	})
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
		opts := segment.ImportOptions{Workspace: ws, Store: db, Catalog: loadCatalog(t), Now: func() time.Time { return now }}
		res, err := segment.Import(ctx, opts, open(t, paths["accounts.csv"], "accounts"),
			open(t, paths["customers.csv"], "customers"), open(t, paths["events.csv"], "events"))
		must(t, err)
		if res.Rows != 6 || res.Written.Events != 2 {
			t.Errorf("result = %+v", res)
		}
		a, err := db.Account(ctx, ws, "acc_1")
		must(t, err)
		if a.Name != "One" || a.Plan != "Growth" || a.Subscription != "active" {
			t.Errorf("acc_1 = %+v", a)
		}
		tr := a.Traits
		if tr["seats"].Value != float64(12) || tr["checkoutRisk"].Value != true || tr["region"].Value != "eu" ||
			tr["trialEndsAt"].Value != "2026-12-01T00:00:00Z" || len(tr["features"].Value.([]any)) != 2 {
			t.Errorf("acc_1 traits = %+v", tr)
		}
		if a2, _ := db.Account(ctx, ws, "acc_2"); len(a2.Traits) != 0 {
			t.Errorf("empty cells wrote traits: %+v", a2.Traits)
		}
		c, err := db.Customer(ctx, ws, "usr_1")
		must(t, err)
		if c.Email != "a@one.example" || c.Name != "Ann" || c.Accounts[0].Role != "Owner" ||
			c.Traits["role"].Value != "Owner" || c.Traits["lifecycle"].Value != "Active" || c.Traits["lifecycle"].Source != "import" {
			t.Errorf("usr_1 = %+v", c)
		}
		if c2, _ := db.Customer(ctx, ws, "usr_2"); c2.Name != "Bo, Jr." {
			t.Errorf("usr_2 = %+v", c2)
		}
		j, err := db.Journey(ctx, ws, "usr_1", 0)
		must(t, err)
		if len(j) != 2 || j[0].Name != "Opened billing" || !j[0].Timestamp.Equal(now) || j[1].Properties["path"] != "/pricing" {
			t.Errorf("journey = %+v", j)
		}
	})
}

// TestImportRefusesBadRows: one bad row anywhere and nothing is written;
// the error names the file and line.
func TestImportRefusesBadRows(t *testing.T) {
	good := `{"type":"identify","userId":"usr_1","traits":{"plan":"x"}}` + "\n"
	tests := []struct {
		name  string
		files map[string]string
		kind  string
		want  string
	}{
		{"jsonl bad line", map[string]string{"a.jsonl": good + "\n" + `{"type":"track","userId":"usr_1"}` + "\n"}, "",
			"a.jsonl:3: track needs an event name"},
		{"jsonl not json", map[string]string{"a.jsonl": good + "{oops\n"}, "", "a.jsonl:2: is not valid JSON"},
		{"second file bad", map[string]string{"a.jsonl": good, "b.jsonl": good + good + `{"type":"group","userId":"u"}`}, "",
			"b.jsonl:3: group needs a groupId"},
		{"csv empty id", map[string]string{"c.csv": "id,email\nusr_1,a@x\n,b@x\n"}, "customers", "c.csv:3: id is empty"},
		{"csv field count", map[string]string{"c.csv": "id,email\nusr_1,a@x,extra\n"}, "customers", "c.csv:2: wrong number of fields"},
		{"csv header", map[string]string{"c.csv": "email,name\na@x,A\n"}, "customers", "c.csv:1: header: a customers CSV needs the column id"},
		{"csv duplicate column", map[string]string{"c.csv": "id,id\n1,2\n"}, "accounts", `c.csv:1: header: column "id" appears twice`},
		{"csv typed by catalog", map[string]string{"c.csv": "id,seats\nacc_1,5\nacc_2,five\n"}, "accounts", `c.csv:3: seats: "five" is not a number`},
		{"csv bool", map[string]string{"c.csv": "id,checkoutRisk\nacc_1,maybe\n"}, "accounts", `c.csv:2: checkoutRisk: "maybe" is not true or false`},
		{"csv event time", map[string]string{"c.csv": "customer_id,name,timestamp\nusr_1,e,soon\n"}, "events", `c.csv:2: timestamp "soon" is not an ISO-8601 time`},
		{"csv quoted line", map[string]string{"c.csv": "customer_id,name\nusr_1,\"multi\nline\"\nusr_1,\n"}, "events", "c.csv:4: name is empty"},
		{"csv empty", map[string]string{"c.csv": ""}, "events", "c.csv:1: empty file"},
	}
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				paths := writeFiles(t, tc.files)
				var files []segment.File
				for _, name := range []string{"a.jsonl", "b.jsonl", "c.csv"} {
					if p, ok := paths[name]; ok {
						files = append(files, open(t, p, tc.kind))
					}
				}
				_, err := segment.Import(t.Context(), segment.ImportOptions{Workspace: ws, Store: db, Catalog: loadCatalog(t)}, files...)
				var rows *segment.RowsError
				if !errors.As(err, &rows) || !strings.Contains(rows.Problems[0], tc.want) {
					t.Fatalf("err = %v\nwant a RowsError starting %q", err, tc.want)
				}
				if !strings.HasPrefix(filepath.Base(rows.Problems[0]), filepath.Base(strings.SplitN(tc.want, ":", 2)[0])) {
					t.Errorf("problem %q does not name the file", rows.Problems[0])
				}
				assertEmpty(t, db)
			})
		}
	})
}

func TestImportProgress(t *testing.T) {
	var lines strings.Builder
	for i := range 10 {
		lines.WriteString(`{"type":"track","userId":"usr_1","event":"e","messageId":"m` + string(rune('0'+i)) + `"}` + "\n")
	}
	paths := writeFiles(t, map[string]string{"e.jsonl": lines.String()})
	db := storetest.OpenSQLite(t)
	var got []segment.Progress
	applies := &countingStore{Store: db}
	res, err := segment.Import(t.Context(), segment.ImportOptions{Workspace: ws, Store: applies, BatchRows: 2, ProgressEvery: 4,
		Progress: func(p segment.Progress) { got = append(got, p) }}, open(t, paths["e.jsonl"], ""))
	must(t, err)
	if res.Written.Events != 10 || applies.n != 5 {
		t.Errorf("wrote %d events in %d batches, want 10 in 5", res.Written.Events, applies.n)
	}
	var rows []int
	for _, p := range got {
		rows = append(rows, p.Rows)
		if p.Total != 10 || p.Done != (p.Rows == 10) {
			t.Errorf("progress %+v", p)
		}
	}
	if len(rows) != 3 || rows[0] != 4 || rows[1] != 8 || rows[2] != 10 {
		t.Errorf("progress at rows %v, want [4 8 10]", rows)
	}
}

func TestImportDryRun(t *testing.T) {
	db := storetest.OpenSQLite(t)
	res, err := segment.Import(t.Context(), segment.ImportOptions{Workspace: ws, Store: db, DryRun: true}, open(t, seedFile, ""))
	must(t, err)
	if res.Rows != 24 {
		t.Errorf("rows = %d", res.Rows)
	}
	if _, err := db.Account(t.Context(), ws, "acc_acme"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("dry run wrote: %v", err)
	}
}

func TestOpenFileFormats(t *testing.T) {
	for _, tc := range []struct{ name, kind, err string }{
		{"a.jsonl", "", ""}, {"a.NDJSON", "", ""}, {"a.csv", "events", ""},
		{"a.csv", "", "a.csv: a CSV file needs --kind customers, accounts or events"},
		{"a.csv", "people", "a.csv: a CSV file needs --kind"},
		{"a.txt", "", "a.txt: unknown format (want .jsonl, .ndjson or .csv)"},
	} {
		_, err := segment.OpenFile(tc.name, tc.kind)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("OpenFile(%q, %q) = %v, want %q", tc.name, tc.kind, err, tc.err)
		}
	}
}

type countingStore struct {
	segment.Store
	n int
}

func (c *countingStore) Apply(ctx context.Context, w string, b store.Batch) (store.BatchResult, error) {
	c.n++
	return c.Store.Apply(ctx, w, b)
}
