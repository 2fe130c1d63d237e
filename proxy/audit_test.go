package proxy_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
)

// readAudit opens crisp's database and returns the record with id.
func readAudit(t *testing.T, crisp *servertest.Crisp, id string) audit.Record {
	t.Helper()
	rec, err := tryReadAudit(crisp, id)
	if err != nil {
		t.Fatalf("audit record %s: %v", id, err)
	}
	return rec
}

func tryReadAudit(crisp *servertest.Crisp, id string) (audit.Record, error) {
	// Through the review API, as an admin: it reads what the running
	// crisp has recorded, including records its journal has not yet
	// handed to the database.
	req, err := http.NewRequest("GET", crisp.URL+"/api/v1/audit/"+id, nil)
	if err != nil {
		return audit.Record{}, err
	}
	req.Header.Set("Authorization", "Bearer "+servertest.AdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return audit.Record{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return audit.Record{}, fmt.Errorf("GET /api/v1/audit/%s: %d %s", id, resp.StatusCode, body)
	}
	var rec audit.Record
	err = json.Unmarshal(body, &rec)
	return rec, err
}

// TestAuditEveryUse: success, stream, refusal, upstream failure and a
// malformed body each leave one record, named by X-Crisp-Audit-Id.
func TestAuditEveryUse(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
		setup      func(*providertest.Fake)
		want       func(t *testing.T, r audit.Record)
	}{
		{name: "chat", body: goodBody, status: 200, want: func(t *testing.T, r audit.Record) {
			if r.Status != 200 || r.Provider != "fake" || r.Model != "gpt-4o-mini" || r.KeyID != "key_demo_support" ||
				r.Usage.Output != 9 || r.RequestSHA256 == "" || r.ResponseSHA256 == "" || !r.Decision.Allow || r.Action != "ai.general" {
				t.Errorf("record %+v", r)
			}
			if len(r.Flags) == 0 || r.Flags[0] != "store=false" {
				t.Errorf("flags %v", r.Flags)
			}
		}},
		{name: "stream", body: streamBody, status: 200, want: func(t *testing.T, r audit.Record) {
			if r.Status != 200 || !r.Stream || r.TTFTMS <= 0 || r.ResponseSHA256 == "" {
				t.Errorf("record %+v", r)
			}
		}},
		{name: "malformed body", body: `{"model":`, status: 400, want: func(t *testing.T, r audit.Record) {
			if r.Status != 400 || r.ErrorCode != "invalid_request_error" || r.RequestSHA256 != "" {
				t.Errorf("record %+v", r)
			}
		}},
		{name: "upstream 500", body: goodBody, status: 500,
			setup: func(f *providertest.Fake) { f.Status, f.ErrorBody = 500, `{"error":{"message":"boom"}}` },
			want: func(t *testing.T, r audit.Record) {
				if r.Status != 500 || r.ErrorCode != "upstream_status" || r.RequestSHA256 == "" {
					t.Errorf("record %+v", r)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := providertest.New()
			defer fake.Close()
			if tt.setup != nil {
				tt.setup(fake)
			}
			crisp := servertest.Start(t, servertest.Config(fake.URL(), ""))
			resp := crisp.Do(t, "POST", "/v1/chat/completions", servertest.SupportKey, tt.body)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			id := resp.Header.Get("X-Crisp-Audit-Id")
			if id == "" {
				t.Fatal("no X-Crisp-Audit-Id")
			}
			tt.want(t, readAudit(t, crisp, id))
		})
	}
}

// TestAuditDenied records a policy refusal with its rule.
func TestAuditDenied(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := seeded(t, fake, identityYAML)
	resp, _ := customerRequest(t, crisp, servertest.SalesKey, true)
	if resp.StatusCode != 403 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	r := readAudit(t, crisp, resp.Header.Get("X-Crisp-Audit-Id"))
	if r.Decision.Allow || r.Decision.Rule != "default deny" || r.CustomerID != "usr_2481" || r.AccountID != "acc_acme" ||
		r.Member != "riley@acme.example" || r.Status != 403 || !r.Identity.Verified || r.Provider != "fake" {
		t.Fatalf("record %+v", r)
	}
}

// TestAuditClientGone records a stream the client walked away from.
func TestAuditClientGone(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	fake.Gate = make(chan struct{})
	crisp := servertest.Start(t, servertest.Config(fake.URL(), ""))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", crisp.URL+"/v1/chat/completions", strings.NewReader(streamBody))
	req.Header.Set("Authorization", "Bearer "+servertest.SupportKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("X-Crisp-Audit-Id")
	bufio.NewReader(resp.Body).ReadString('\n')
	cancel()
	resp.Body.Close()
	<-fake.Canceled
	// The record joins the chain when the server notices the client left,
	// which may be a moment after the upstream saw the cancel.
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, err := tryReadAudit(crisp, id)
		if err == nil && r.Status == 499 && r.ErrorCode == "client_closed_request" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("record %+v, %v", r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAuditUnavailable fails closed: with the trail unwritable, no request
// reaches the provider and callers get 503 audit_unavailable. Here the
// records go straight to the database (journal off), so the first request
// already finds it broken.
func TestAuditUnavailable(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := servertest.Start(t, servertest.Config(fake.URL(), "")+"audit: {journal: \"off\"}\n")
	execSQL(t, crisp, "DROP TABLE audit_intents", "DROP TABLE audit_blocks")
	resp := crisp.Do(t, "POST", "/v1/chat/completions", servertest.SupportKey, goodBody)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), `"code":"audit_unavailable"`) {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	if len(fake.Received()) != 0 {
		t.Fatal("a request reached the provider without an audit record")
	}
}

// TestAuditDatabaseAway is the default set-up (the journal beside the
// SQLite file) losing its database: a use the journal already holds may
// complete, new uses are refused with 503 once the writer has seen the
// failure, none of those reaches the provider, and when the database is
// back every completed use is in the chain.
func TestAuditDatabaseAway(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := servertest.Start(t, servertest.Config(fake.URL(), ""))
	execSQL(t, crisp, "ALTER TABLE audit_blocks RENAME TO audit_blocks_away")

	var completed []string
	refused := false
	for i := 0; i < 200 && !refused; i++ {
		before := len(fake.Received())
		resp := crisp.Do(t, "POST", "/v1/chat/completions", servertest.SupportKey, goodBody)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == 200:
			completed = append(completed, resp.Header.Get("X-Crisp-Audit-Id"))
		case resp.StatusCode == 503 && strings.Contains(string(body), `"code":"audit_unavailable"`):
			refused = true
			if len(fake.Received()) != before {
				t.Fatal("a refused request reached the provider")
			}
		default:
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !refused {
		t.Fatal("requests kept going while the audit database was away")
	}

	execSQL(t, crisp, "ALTER TABLE audit_blocks_away RENAME TO audit_blocks")
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp := crisp.Do(t, "POST", "/v1/chat/completions", servertest.SupportKey, goodBody)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			completed = append(completed, resp.Header.Get("X-Crisp-Audit-Id"))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d after the database came back", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, id := range completed {
		if r := readAudit(t, crisp, id); r.Status != 200 {
			t.Fatalf("record %s: %+v", id, r)
		}
	}
}

// execSQL runs statements on crisp's SQLite database from outside.
func execSQL(t *testing.T, crisp *servertest.Crisp, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", strings.TrimPrefix(crisp.DSN, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range stmts {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
}
