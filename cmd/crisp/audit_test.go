package main

import (
	"database/sql"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

// fillAudit writes three records into workspace acme, as a server would.
func fillAudit(t *testing.T, dsn string) []string {
	t.Helper()
	db := storetest.OpenDSN(t, dsn)
	l, err := audit.Open(t.Context(), db, audit.Options{Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, m := range []string{"maya@acme.example", "riley@acme.example", "sam@acme.example"} {
		r := audit.Record{Kind: audit.KindAIUse, Workspace: "acme", Member: m, Action: "ai.draft", CustomerID: "usr_2481",
			Decision: audit.Decision{Allow: i != 1, Rule: "r"}, Model: "gpt-4o-mini", Status: 200, Time: time.Now()}
		id, err := l.Append(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestAuditCLI(t *testing.T) {
	storetest.ForEachDSN(t, func(t *testing.T, dsn string) {
		ids := fillAudit(t, dsn)
		out := filepath.Join(t.TempDir(), "audit.csv")
		tests := []struct {
			name     string
			args     []string
			code     int
			contains []string
			absent   []string
		}{
			{name: "list", args: []string{"audit", "list", "--db", dsn}, contains: []string{"SEQ", ids[0], ids[2], "riley@acme.example"}},
			{name: "list filtered", args: []string{"audit", "list", "--db", dsn, "--decision", "deny", "--json"},
				contains: []string{`"id":"` + ids[1] + `"`}, absent: []string{ids[0]}},
			{name: "list bad filter", args: []string{"audit", "list", "--db", dsn, "--decision", "maybe"}, code: 1},
			{name: "show", args: []string{"audit", "show", "--db", dsn, ids[1]}, contains: []string{`"member": "riley@acme.example"`}},
			{name: "show missing", args: []string{"audit", "show", "--db", dsn, "aud_nope"}, code: 1},
			{name: "verify", args: []string{"audit", "verify", "--db", dsn}, contains: []string{"ok workspace acme: 3 records"}},
			{name: "export jsonl", args: []string{"audit", "export", "--db", dsn, "--since", "1h"},
				contains: []string{`"seq":1,`, `"seq":3,`}},
			{name: "export csv to file", args: []string{"audit", "export", "--db", dsn, "--format", "csv", "--out", out, "--member", "sam@acme.example"}},
			{name: "export bad format", args: []string{"audit", "export", "--db", dsn, "--format", "xml"}, code: 1},
			{name: "no subcommand", args: []string{"audit"}, code: 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				code, stdout, stderr := runCLI(t, tt.args...)
				if code != tt.code {
					t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
				}
				for _, s := range tt.contains {
					if !strings.Contains(stdout, s) {
						t.Errorf("stdout lacks %q:\n%s", s, stdout)
					}
				}
				for _, s := range tt.absent {
					if strings.Contains(stdout, s) {
						t.Errorf("stdout has %q:\n%s", s, stdout)
					}
				}
			})
		}
		csv, err := os.ReadFile(out)
		if err != nil || strings.Count(string(csv), "\n") != 2 || !strings.Contains(string(csv), ids[2]) {
			t.Errorf("csv export = %q, %v", csv, err)
		}

		// Someone edits a record behind crisp's back.
		raw := openRaw(t, dsn)
		var (
			first int64
			body  []byte
		)
		if err := raw.QueryRow("SELECT first_seq, body FROM audit_blocks WHERE first_seq <= 2 AND last_seq >= 2").Scan(&first, &body); err != nil {
			t.Fatal(err)
		}
		rows, err := store.DecodeAuditBlock("acme", body)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rows {
			if rows[i].Seq == 2 {
				rows[i].Member = "eve@x"
			}
		}
		update := "UPDATE audit_blocks SET body = $1 WHERE first_seq = $2"
		if strings.HasPrefix(dsn, "sqlite:") {
			update = "UPDATE audit_blocks SET body = ? WHERE first_seq = ?"
		}
		if _, err := raw.Exec(update, store.EncodeAuditBlock(rows), first); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI(t, "audit", "verify", "--db", dsn)
		if code != 1 || !strings.Contains(stdout, "first bad record seq 2 ("+ids[1]+")") || !strings.Contains(stderr, ids[1]) {
			t.Errorf("verify after tampering: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
	})
}

func TestAuditKeygen(t *testing.T) {
	code, stdout, _ := runCLI(t, "audit", "keygen")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	fields := strings.Fields(stdout)
	var keys []string
	for _, f := range fields {
		if raw, err := base64.StdEncoding.DecodeString(f); err == nil && len(raw) == 32 {
			keys = append(keys, f)
		}
	}
	if len(keys) != 2 {
		t.Fatalf("keygen printed %q", stdout)
	}
	if _, err := audit.ParseSigningKey(keys[0]); err != nil {
		t.Error(err)
	}
}

func openRaw(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	driver, src := "pgx", dsn
	if p, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		driver, src = "sqlite", p
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
