package segment

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// FuzzParseBatch: any body either parses into messages that the builder
// can turn into a batch, or is refused with a 400 that names the problem;
// it never panics.
func FuzzParseBatch(f *testing.F) {
	for _, s := range []string{
		`{"batch":[{"type":"identify","userId":"u","traits":{"email":"a@b","n":1}}]}`,
		`{"sentAt":"2026-01-01T00:00:00Z","batch":[{"type":"track","userId":7,"event":"e","timestamp":"2025-12-31T23:59:00Z"}]}`,
		`{"batch":[{"type":"group","anonymousId":"a","groupId":"g","context":{"traits":{"role":"Owner"}}}]}`,
		`{"batch":[{"type":"page","userId":"u","name":"Home"},{"type":"alias","userId":"u"}]}`,
		`{"batch":[{"type":"track","userId":"u"}]}`, `{"batch":null}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	recv := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, err := parseBatch(body, recv)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || e.Message == "" {
				t.Fatalf("refusal %v is not a 400 with a message", err)
			}
			return
		}
		for _, m := range msgs {
			// What is stored must read back: no NULs in text, numbers a
			// float64 holds.
			for _, s := range []string{m.id, m.userID, m.groupID, m.event, m.role, m.accountID} {
				if strings.IndexByte(s, 0) >= 0 {
					t.Fatalf("NUL in %q", s)
				}
			}
			for _, v := range []map[string]any{m.traits, m.props} {
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				var back any
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatalf("%s does not read back: %v", b, err)
				}
			}
		}
		b := newBuilder("segment", recv)
		b.addAll(msgs)
		for _, c := range b.batch.Customers {
			if c.ID == "" {
				t.Fatal("customer without id")
			}
		}
		for _, e := range b.batch.Events {
			if e.ID == "" || e.Name == "" || e.CustomerID == "" {
				t.Fatalf("event %+v lacks id, name or customer", e)
			}
		}
	})
}

// FuzzCSV: any CSV either reads into rows or names a line's problem.
func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"id,email,name,account_id,role,plan\nusr_1,a@b,A,acc_1,Owner,x\n",
		"customer_id,name,timestamp,path\nu,e,2026-01-01,/p\n",
		"id,name,plan,seats\nacc,A,Free,3\n",
		"id,id\n", "\"unterminated\n", "",
	} {
		f.Add(s, "customers")
		f.Add(s, "events")
		f.Add(s, "accounts")
	}
	clk := clock{received: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f.Fuzz(func(t *testing.T, data, kind string) {
		if _, ok := csvSpecs[kind]; !ok {
			return
		}
		r, err := newCSVReader(strings.NewReader(data), kind, clk, nil)
		if err != nil {
			var p *rowProblem
			if !errors.As(err, &p) {
				t.Fatalf("header error %v is not a row problem", err)
			}
			return
		}
		for range 10_000 {
			msgs, err := r.next()
			if err == io.EOF {
				return
			}
			var p *rowProblem
			if err != nil && !errors.As(err, &p) {
				t.Fatalf("line %d: %v is not a row problem", r.line(), err)
			}
			for _, m := range msgs {
				if m.typ == "" {
					t.Fatalf("row became an untyped message %+v", m)
				}
			}
		}
	})
}

// FuzzJSONL: lines read one by one; blank lines are skipped.
func FuzzJSONL(f *testing.F) {
	f.Add([]byte("{\"type\":\"identify\",\"userId\":\"u\"}\n\n{\"type\":\"track\",\"userId\":\"u\",\"event\":\"e\"}"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newJSONLReader(bytes.NewReader(data), clock{received: time.Unix(0, 0)})
		lines := bytes.Count(data, []byte("\n")) + 1
		for range lines + 1 {
			if _, err := r.next(); err == io.EOF {
				return
			}
			if r.line() > lines {
				t.Fatalf("line %d past the %d lines", r.line(), lines)
			}
		}
		t.Fatal("reader did not end")
	})
}
