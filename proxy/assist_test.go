package proxy_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
)

func apiCall(t *testing.T, crisp *servertest.Crisp, method, path, key, body string, signed bool, accept string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, crisp.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("X-Crisp-User-Id", "usr_2481")
	if signed {
		req.Header.Set("X-Crisp-User-Hash", identity.Sign([]byte(identitySecret), "usr_2481"))
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, b
}

const draftBody = `{"conversation":[{"author":"customer","text":"We are ready to upgrade, but the team seat limit looks confusing. Our revenue is $48,250 by the way."}],"options":{"tone":"warm","language":"en","max_words":80}}`

// TestDraftAndAsk drafts and asks end to end: the hidden values of the
// example workspace never reach the provider or the caller, the approved
// context does, and each use has an audit record.
func TestDraftAndAsk(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	fake.Answer = leakyAnswer
	crisp := seeded(t, fake, identityYAML)

	resp, body := apiCall(t, crisp, "POST", "/api/v1/drafts", servertest.SupportKey, draftBody, true, "")
	if resp.StatusCode != 200 {
		t.Fatalf("draft: %d %s", resp.StatusCode, body)
	}
	var draft struct {
		Draft         string         `json:"draft"`
		ContextFields []string       `json:"context_fields"`
		Redactions    map[string]int `json:"redactions"`
		AuditID       string         `json:"audit_id"`
	}
	json.Unmarshal(body, &draft)
	if draft.AuditID == "" || !strings.Contains(strings.Join(draft.ContextFields, ","), "account.plan") ||
		draft.Redactions["account.privateRevenue"] == 0 || !strings.Contains(draft.Draft, "[hidden:account.privateRevenue]") {
		t.Fatalf("draft %+v", draft)
	}
	sent := fake.Last().Body
	if m := leaked(sent); m != "" {
		t.Fatalf("%q reached the provider: %s", m, sent)
	}
	if !strings.Contains(string(sent), "account.plan: Growth trial") || !strings.Contains(string(sent), "seat limit") {
		t.Fatalf("the provider did not get the context and the conversation: %s", sent)
	}
	if m := leaked(body); m != "" && m != "dana@acme" {
		t.Fatalf("%q reached the caller: %s", m, body)
	}
	rec := readAudit(t, crisp, draft.AuditID)
	if rec.Endpoint != "/api/v1/drafts" || rec.Action != "ai.draft" || rec.Status != 200 || rec.CustomerID != "usr_2481" {
		t.Fatalf("draft record %+v", rec)
	}

	resp, body = apiCall(t, crisp, "POST", "/api/v1/ask", servertest.SupportKey, `{"question":"What plan is Acme on?"}`, true, "")
	var ask struct {
		Answer  string `json:"answer"`
		AuditID string `json:"audit_id"`
	}
	json.Unmarshal(body, &ask)
	if resp.StatusCode != 200 || ask.AuditID == "" || strings.Contains(ask.Answer, "48,250") {
		t.Fatalf("ask: %d %s", resp.StatusCode, body)
	}
	if rec := readAudit(t, crisp, ask.AuditID); rec.Action != "ai.ask" || rec.Status != 200 {
		t.Fatalf("ask record %+v", rec)
	}
}

// TestDraftStream streams a draft as delta events, then one done event.
func TestDraftStream(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := seeded(t, fake, identityYAML)
	req, _ := http.NewRequest("POST", crisp.URL+"/api/v1/drafts", strings.NewReader(strings.Replace(draftBody, `{"conversation"`, `{"stream":true,"conversation"`, 1)))
	req.Header.Set("Authorization", "Bearer "+servertest.SupportKey)
	req.Header.Set("X-Crisp-User-Id", "usr_2481")
	req.Header.Set("X-Crisp-User-Hash", identity.Sign([]byte(identitySecret), "usr_2481"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var text strings.Builder
	var events []string
	var event string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			event = name
			events = append(events, name)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok && event == "delta" {
			var d struct{ Text string }
			json.Unmarshal([]byte(data), &d)
			text.WriteString(d.Text)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok && event == "done" && !strings.Contains(data, `"audit_id":"`) {
			t.Fatalf("done without audit id: %s", data)
		}
	}
	if text.String() != fake.Answer || len(events) < 2 || events[len(events)-1] != "done" {
		t.Fatalf("events %v, text %q", events, text.String())
	}
}

// TestContextAPI returns the approved pack, per demo key, and refuses the
// sales member.
func TestContextAPI(t *testing.T) {
	fake := providertest.New()
	defer fake.Close()
	crisp := seeded(t, fake, identityYAML)
	resp, body := apiCall(t, crisp, "GET", "/api/v1/context?action=ai.draft", servertest.SupportKey, "", true, "")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var pack struct {
		Action  string                  `json:"action"`
		Fields  map[string]string       `json:"fields"`
		Masked  []string                `json:"masked"`
		Events  []struct{ Name string } `json:"events"`
		AuditID string                  `json:"audit_id"`
	}
	json.Unmarshal(body, &pack)
	if pack.Fields["account.plan"] != "Growth trial" || len(pack.Masked) != 1 || pack.Masked[0] != "customer.email" ||
		len(pack.Events) != 4 || pack.AuditID == "" {
		t.Fatalf("pack %s", body)
	}
	if m := leaked(body); m != "" {
		t.Fatalf("%q in the context: %s", m, body)
	}
	resp, body = apiCall(t, crisp, "GET", "/api/v1/context?action=ai.draft", servertest.SalesKey, "", true, "")
	if resp.StatusCode != 403 || !strings.Contains(string(body), "policy_denied") {
		t.Fatalf("sales: %d %s", resp.StatusCode, body)
	}
}
