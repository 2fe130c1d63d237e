package proxy_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
	"github.com/crisphq/crisp/store"
)

// The example workspace's hidden values, in the forms people write them.
var hiddenForms = map[string][]string{
	"account.privateRevenue": {"48250", "48,250", "48 250", "$48,250.00", "48.25k", "USD 48,250", "$48250", "48,250 dollars"},
	"customer.phone":         {"+1 415 555 0199", "(415) 555-0199", "415-555-0199", "4155550199", "415.555.0199", "+14155550199"},
	"account.enterpriseNotes": {
		"Procurement asked for a 3-year discount; legal review of the DPA is pending.",
		"procurement asked for a 3-year discount;   legal review of the DPA is pending.",
		"PROCUREMENT ASKED FOR A 3-YEAR DISCOUNT; LEGAL REVIEW\nOF THE DPA IS PENDING.",
	},
}

// The masked email, in the forms people write it.
var maskedForms = []string{"dana@acme.example", "DANA@ACME.EXAMPLE", "Dana@Acme.Example"}

// leakPatterns catch a hidden value however it was spaced or punctuated.
var leakPatterns = []*regexp.Regexp{
	regexp.MustCompile(`48\D{0,2}250`), regexp.MustCompile(`48\.25k`),
	regexp.MustCompile(`415\D{0,2}555\D{0,2}0199`),
	regexp.MustCompile(`(?i)procurement\s+asked`), regexp.MustCompile(`(?i)dana@acme`),
}

func leaked(b []byte) string {
	for _, p := range leakPatterns {
		if m := p.Find(b); m != nil {
			return string(m)
		}
	}
	return ""
}

// placements put a text into each part of a request a caller can fill.
var placements = []struct {
	name, path string
	body       func(text string) string
}{
	{"chat user", "/v1/chat/completions", func(v string) string {
		return chat(`{"role":"user","content":` + q(v) + `}`)
	}},
	{"chat system", "/v1/chat/completions", func(v string) string {
		return chat(`{"role":"system","content":` + q(v) + `},{"role":"user","content":"Draft a reply."}`)
	}},
	{"chat tool result", "/v1/chat/completions", func(v string) string {
		return chat(`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"crm","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":` + q(v) + `}`)
	}},
	{"chat assistant", "/v1/chat/completions", func(v string) string {
		return chat(`{"role":"assistant","content":` + q(v) + `},{"role":"user","content":"Go on."}`)
	}},
	{"chat content parts", "/v1/chat/completions", func(v string) string {
		return chat(`{"role":"user","content":[{"type":"text","text":"Context:"},{"type":"text","text":` + q(v) + `}]}`)
	}},
	{"tool call arguments", "/v1/chat/completions", func(v string) string {
		args, _ := json.Marshal(map[string]string{"note": v})
		return chat(`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"crm","arguments":` + q(string(args)) + `}}]},{"role":"tool","tool_call_id":"c1","content":"ok"}`)
	}},
	{"responses input", "/v1/responses", func(v string) string {
		return `{"model":"gpt-4o-mini","input":` + q(v) + `}`
	}},
	{"responses input items", "/v1/responses", func(v string) string {
		return `{"model":"gpt-4o-mini","input":[{"role":"user","content":[{"type":"input_text","text":` + q(v) + `}]}]}`
	}},
	{"embeddings", "/v1/embeddings", func(v string) string {
		return `{"model":"text-embedding-3-small","input":["hello",` + q(v) + `]}`
	}},
}

var templates = []string{"%s", "The customer wrote: %s — please draft a reply.", "Notes\n- %s\n- seats: 5"}

func chat(msgs string) string { return `{"model":"gpt-4o-mini","messages":[` + msgs + `]}` }

func q(s string) string { b, _ := json.Marshal(s); return string(b) }

func signedRequest(t *testing.T, crisp *servertest.Crisp, path, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", crisp.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+servertest.SupportKey)
	req.Header.Set("X-Crisp-User-Id", "usr_2481")
	req.Header.Set("X-Crisp-User-Hash", identity.Sign([]byte(identitySecret), "usr_2481"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestLeakSuite sends the example workspace's hidden and masked values in
// every form, place and template (hundreds of prompts) and checks the exact
// bytes the provider received: none arrives. Then it checks every stored
// audit byte for them too.
func TestLeakSuite(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := seeded(t, fake, identityYAML)
	var forms []string
	for _, fs := range hiddenForms {
		forms = append(forms, fs...)
	}
	forms = append(forms, maskedForms...)
	n := 0
	for _, pl := range placements {
		for _, tmpl := range templates {
			for _, form := range forms {
				body := pl.body(fmt.Sprintf(tmpl, form))
				resp := signedRequest(t, crisp, pl.path, body)
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("%s: status %d: %s", pl.name, resp.StatusCode, out)
				}
				got := fake.Last().Body
				if m := leaked(got); m != "" {
					t.Fatalf("%s / %q: %q reached the provider:\n%s", pl.name, form, m, got)
				}
				n++
			}
		}
	}
	t.Logf("%d prompts, none leaked", n)
	if n < 200 {
		t.Fatalf("only %d prompts", n)
	}
	checkAuditClean(t, crisp)
}

// auditNoise is what in an audit row is random or made by the clock:
// hashes, ids, times and durations. A hidden value's digits turn up in
// them by chance ("48250" inside a sha256 in about one run in six), so
// they are blanked before the row is searched.
var auditNoise = regexp.MustCompile(`[0-9a-f]{64}|aud_[0-9A-Z]{26}|req_[0-9a-f]{24}|\d{4}-\d\d-\d\dT[0-9:.]+Z|\b\d{13,}\b|"(latency_ms|ttft_ms)":[0-9.]+`)

// checkAuditClean reads every audit row as text and looks for the values.
func checkAuditClean(t *testing.T, crisp *servertest.Crisp) {
	t.Helper()
	db, err := sql.Open("sqlite", strings.TrimPrefix(crisp.DSN, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), `SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'audit%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	for _, table := range tables {
		rows, err := db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			ws := ""
			for i, c := range cols {
				if c == "workspace_id" {
					ws = fmt.Sprintf("%s", vals[i])
				}
			}
			for i, v := range vals {
				for _, text := range auditTexts(t, table, cols[i], ws, v) {
					text = auditNoise.ReplaceAllString(text, "#")
					if m := leaked([]byte(text)); m != "" {
						t.Fatalf("audit table %s column %s holds %q: %.300s", table, cols[i], m, text)
					}
				}
			}
		}
		rows.Close()
	}
}

// auditTexts is what a stored audit value says, as text. A block's body is
// the store's binary encoding of its records, so it is decoded and each
// record's fields are read; printing its bytes would show decimal numbers,
// whose runs ("48 250") mean nothing.
func auditTexts(t *testing.T, table, col, ws string, v any) []string {
	t.Helper()
	b, ok := v.([]byte)
	if !ok {
		return []string{fmt.Sprint(v)}
	}
	if table != "audit_blocks" || col != "body" {
		return []string{string(b)}
	}
	recs, err := store.DecodeAuditBlock(ws, b)
	if err != nil {
		t.Fatalf("audit block: %v", err)
	}
	var texts []string
	for _, r := range recs {
		texts = append(texts, fmt.Sprintln(r.ID, r.Kind, r.Member, r.CustomerID, r.AccountID, r.Action,
			r.Decision, r.Model, r.Provider, r.Body, r.PrevHash, r.Hash))
	}
	return texts
}

const leakyAnswer = "Dana's revenue is $48,250.00 a year, call (415) 555-0199 or write to dana@acme.example."

// TestAnswerRedacted: the provider answers with the values; the caller
// never sees a hidden one, and sees the masked email (the member may).
func TestAnswerRedacted(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	fake.Answer = leakyAnswer
	crisp := seeded(t, fake, identityYAML)
	for _, stream := range []bool{false, true} {
		body := chat(`{"role":"user","content":"Tell me about Dana."}`)
		if stream {
			body = strings.Replace(body, `{"model"`, `{"stream":true,"model"`, 1)
		}
		resp := signedRequest(t, crisp, "/v1/chat/completions", body)
		text := answerText(t, resp, stream)
		if strings.Contains(text, "48,250") || strings.Contains(text, "555-0199") {
			t.Fatalf("stream=%v: hidden value reached the caller: %s", stream, text)
		}
		if !strings.Contains(text, "[hidden:account.privateRevenue]") || !strings.Contains(text, "dana@acme.example") {
			t.Fatalf("stream=%v: answer %q", stream, text)
		}
		// A stream's headers go before its answer: only a whole answer's
		// count is in them (the audit record has both).
		if !stream && resp.Header.Get("X-Crisp-Redactions") != "3" {
			t.Errorf("X-Crisp-Redactions = %q, want 3", resp.Header.Get("X-Crisp-Redactions"))
		}
	}
}

// TestStreamSplitValue splits a hidden value at every byte offset and
// across one-byte deltas: it never reaches the caller whole or in pieces.
func TestStreamSplitValue(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := seeded(t, fake, identityYAML)
	value := "$48,250.00"
	answer := "Revenue: " + value + " per year."
	var splits [][]string
	for k := 1; k < len(value); k++ {
		at := len("Revenue: ") + k
		splits = append(splits, []string{answer[:at], answer[at:]})
	}
	var bytewise []string
	for _, c := range answer {
		bytewise = append(bytewise, string(c))
	}
	splits = append(splits, bytewise)
	for _, pieces := range splits {
		fake.Update(func(f *providertest.Fake) { f.Pieces = pieces })
		resp := signedRequest(t, crisp, "/v1/chat/completions",
			`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"revenue?"}]}`)
		text := answerText(t, resp, true)
		if m := leaked([]byte(text)); m != "" || !strings.Contains(text, "[hidden:account.privateRevenue]") {
			t.Fatalf("pieces %q: caller saw %q", pieces, text)
		}
	}
}

// answerText reads a chat answer's text, whole or assembled from deltas.
func answerText(t *testing.T, resp *http.Response, stream bool) string {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if !stream {
		var c struct {
			Choices []struct {
				Message struct{ Content string } `json:"message"`
			} `json:"choices"`
		}
		json.NewDecoder(resp.Body).Decode(&c)
		return c.Choices[0].Message.Content
	}
	var sb strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
		}
		json.Unmarshal([]byte(data), &c)
		for _, ch := range c.Choices {
			sb.WriteString(ch.Delta.Content)
		}
	}
	return sb.String()
}

// TestLeakAfterEdit changes a hidden value between two requests about the
// same customer: the second is redacted with the new value, so what crisp
// caches per customer (the compiled redactor) never outlives an edit.
func TestLeakAfterEdit(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := seeded(t, fake, identityYAML)
	ask := func(text string) []byte {
		t.Helper()
		resp := signedRequest(t, crisp, "/v1/chat/completions", chat(`{"role":"user","content":`+q(text)+`}`))
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, out)
		}
		return fake.Last().Body
	}
	if got := ask("Revenue is 48250 and 73190 next year."); leaked(got) != "" || !strings.Contains(string(got), "73190") {
		t.Fatalf("before the edit the provider got:\n%s", got)
	}
	req, _ := http.NewRequest("PATCH", crisp.URL+"/api/v1/accounts/acc_acme/traits", strings.NewReader(`{"privateRevenue": 73190}`))
	req.Header.Set("Authorization", "Bearer "+servertest.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PATCH traits: %d %s", resp.StatusCode, body)
	}
	if got := ask("Revenue is 48250 and 73190 next year."); strings.Contains(string(got), "73190") {
		t.Fatalf("the edited hidden value reached the provider:\n%s", got)
	}
}
