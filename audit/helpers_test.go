package audit

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

// t0 is the fixed start of every test clock.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

// testKey is a fixed signing key so golden files are stable.
var testKey = ed25519.NewKeyFromSeed([]byte("crisp-audit-test-signing-key-32b"))

// clock is a test clock that advances a millisecond per reading.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// seqIDs names records aud_0001, aud_0002, … for golden output.
func seqIDs() func(time.Time) string {
	var (
		mu sync.Mutex
		n  int
	)
	return func(time.Time) string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("aud_%04d", n)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testOptions are deterministic options: fixed clock and ids, signing key.
func testOptions() Options {
	return Options{Now: newClock().Now, NewID: seqIDs(), SigningKey: testKey, Logger: zerolog.Nop()}
}

// openLog opens a Log on db and closes it when t ends.
func openLog(t testing.TB, db *store.DB, opts Options) *Log {
	t.Helper()
	l, err := Open(context.Background(), db, opts)
	must(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

// rawDB opens the database behind dsn directly, to tamper with it.
func rawDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	driver, src := "pgx", dsn
	if p, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		driver, src = "sqlite", p+"?_busy_timeout=5000"
	}
	db, err := sql.Open(driver, src)
	must(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// rebind turns ? into $n for PostgreSQL.
func rebind(dsn, q string) string {
	if strings.HasPrefix(dsn, "sqlite:") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// useRecord is a realistic AI use as the proxy would record it.
func useRecord(ws, member, customer string) Record {
	return Record{
		Kind: KindAIUse, Workspace: ws, RequestID: "req_1", Endpoint: "/v1/chat/completions",
		KeyID: "key_demo_support", Member: member, Role: "support",
		Action: "ai.draft", CustomerID: customer, AccountID: "acc_acme",
		Identity:       Identity{Verified: true, Method: "hmac", KeyID: "primary"},
		Decision:       Decision{Allow: true, Rule: "allow ai.draft", Location: "policies/draft.rules:1", PolicyVersion: "pv_1"},
		CatalogVersion: "cv_1", ContextFields: []string{"account.plan", "customer.name"},
		Redactions: map[string]int{"account.privateRevenue": 1, "detector:email": 2},
		Provider:   "openai", Model: "gpt-4o-mini", Flags: []string{"store=false"}, Contractual: "no training (terms)",
		Status: 200, Usage: Usage{Input: 120, Output: 48}, LatencyMS: 812.25, TTFTMS: 95.5,
		RequestSHA256:  "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b",
		ResponseSHA256: "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c",
	}
}

// forEach runs fn per engine with a fresh store and its dsn.
func forEach(t *testing.T, fn func(t *testing.T, db *store.DB, dsn string)) {
	storetest.ForEachDSN(t, func(t *testing.T, dsn string) {
		fn(t, storetest.OpenDSN(t, dsn), dsn)
	})
}

// countRows counts a table's rows behind the store's back.
func countRows(t testing.TB, dsn, table string) int {
	t.Helper()
	var n int
	must(t, rawDB(t, dsn).QueryRow("SELECT COUNT(*) FROM "+table).Scan(&n))
	return n
}

func nopLogger() zerolog.Logger { return zerolog.Nop() }

// countRecords counts the records stored, in every workspace's blocks.
func countRecords(t testing.TB, dsn string) int {
	t.Helper()
	var n int
	must(t, rawDB(t, dsn).QueryRow("SELECT COALESCE(SUM(last_seq - first_seq + 1), 0) FROM audit_blocks").Scan(&n))
	return n
}
