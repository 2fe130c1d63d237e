package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crisphq/crisp/store/storetest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenLog fills a log with a fixed set of records: an allowed streamed
// use, a denial, an admin change and a use whose caller-chosen ids would
// be formulas in a spreadsheet.
func goldenLog(t *testing.T) *Log {
	t.Helper()
	l := openLog(t, storetest.OpenSQLite(t), testOptions())
	ctx := context.Background()
	use := useRecord("acme", "maya@acme.example", "usr_2481")
	use.Time, use.Stream = t0, true
	id, err := l.Begin(ctx, use)
	must(t, err)
	must(t, l.Finish(ctx, id, use))
	deny := Record{Kind: KindAIUse, Workspace: "acme", Time: t0.Add(time.Second), KeyID: "key_demo_sales",
		Member: "riley@acme.example", Role: "sales", Action: "ai.draft", CustomerID: "usr_2481", AccountID: "acc_acme",
		Decision: Decision{Rule: "default deny", PolicyVersion: "pv_1"}, Status: 403, ErrorCode: "policy_denied",
		Endpoint: "/v1/chat/completions", RequestID: "req_2"}
	_, err = l.Append(ctx, deny)
	must(t, err)
	admin := Record{Kind: KindAdminKey, Workspace: "acme", Time: t0.Add(2 * time.Second), Member: "ada@acme.example",
		Role: "admin", Action: "key.revoke", Target: "key_demo_sales", Status: 200}
	_, err = l.Append(ctx, admin)
	must(t, err)
	odd := useRecord("acme", "sam@acme.example", "=HYPERLINK(\"x\"),\n1")
	odd.Time, odd.Status, odd.ErrorCode, odd.LatencyMS = t0.Add(3*time.Second), 499, "client_closed", 1.23456
	_, err = l.Append(ctx, odd)
	must(t, err)
	return l
}

func TestExportGolden(t *testing.T) {
	l := goldenLog(t)
	for _, format := range []string{FormatJSONL, FormatCSV} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			must(t, l.Export(t.Context(), "acme", Filter{}, format, &buf))
			golden(t, filepath.Join("testdata", "export."+format), buf.Bytes())
		})
	}
	t.Run("filtered", func(t *testing.T) {
		var buf bytes.Buffer
		must(t, l.Export(t.Context(), "acme", Filter{Decision: "deny"}, FormatJSONL, &buf))
		if n := strings.Count(buf.String(), "\n"); n != 1 || !strings.Contains(buf.String(), "riley@acme.example") {
			t.Errorf("deny filter exported %d records:\n%s", n, buf.String())
		}
	})
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		must(t, os.MkdirAll(filepath.Dir(path), 0o755))
		must(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update to accept):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestOutsideVerifier recomputes the chain from an export the way the
// package doc tells an outsider to: drop "hash", write the rest as JCS
// (here: encoding/json of the decoded object, whose maps sort keys, without
// HTML escaping), prepend the previous hash, sha256.
func TestOutsideVerifier(t *testing.T) {
	l := goldenLog(t)
	var buf bytes.Buffer
	must(t, l.Export(t.Context(), "acme", Filter{}, FormatJSONL, &buf))
	prev := ""
	sc := bufio.NewScanner(&buf)
	for n := 1; sc.Scan(); n++ {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		must(t, dec.Decode(&m))
		hash := m["hash"].(string)
		delete(m, "hash")
		var body bytes.Buffer
		enc := json.NewEncoder(&body)
		enc.SetEscapeHTML(false)
		must(t, enc.Encode(m))
		sum := sha256.Sum256(append([]byte(prev), bytes.TrimSuffix(body.Bytes(), []byte("\n"))...))
		if got := hex.EncodeToString(sum[:]); got != hash || m["prev_hash"] != prev {
			t.Fatalf("line %d: recomputed %s, record says %s", n, got, hash)
		}
		prev = hash
	}
	must(t, sc.Err())
}
