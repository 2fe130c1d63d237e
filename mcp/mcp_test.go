package mcp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
)

// leakyAnswer is the fake provider's draft: it quotes a hidden value, which
// the answer's redaction must take out before the agent sees it.
const leakyAnswer = "Thanks, Dana! Your Growth trial has 5 seats (and 48250 in revenue); upgrading raises the limit."

var wantTools = []string{"draft_reply", "explain_access", "get_customer_context", "get_journey",
	"list_catalog_fields", "search_customers"}

// toolCase is one tool call and what its result must say.
type toolCase struct {
	name    string
	tool    string
	args    map[string]any
	isError bool
	want    []string // in the result's text
	not     []string // never in it
	action  string   // the audit record's action, when the call has one to check
}

func danaToken(t testing.TB) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": dana, "exp": time.Now().Add(time.Hour).Unix()})
	s, err := tok.SignedString([]byte(identitySecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func supportCases(t testing.TB) []toolCase {
	signed := map[string]any{"customer_id": dana, "user_hash": danaHash()}
	conversation := []map[string]string{{"author": "customer",
		"text": "We are ready to upgrade, but the team seat limit looks confusing. Our revenue is $48,250 by the way."}}
	return []toolCase{
		{name: "context", tool: "get_customer_context", args: signed, action: "ai.agent.get_customer_context",
			want: []string{`"account.plan":"Growth trial"`, `"masked":["customer.email"]`, `"Visited pricing"`, `"audit_id":"aud_`},
			not:  []string{"dana@acme.example", "paymentRisk", "privateRevenue"}},
		{name: "context with an identity token", tool: "get_customer_context",
			args: map[string]any{"customer_id": dana, "identity_token": danaToken(t)}, want: []string{`"account.trialDay":"6"`}},
		{name: "journey", tool: "get_journey", args: with(signed, "limit", 3), action: "ai.agent.get_journey",
			want: []string{`"name":"Asked chat"`, `"topic":"seat limits"`}, not: []string{`"Visited pricing"`}},
		{name: "search by email", tool: "search_customers", args: map[string]any{"email": "DANA@acme.example"},
			action: "ai.agent.search_customers",
			want:   []string{`"id":"usr_2481"`, `"customer.name":"Dana"`, `"customer.email"`, `"customer.phone"`},
			not:    []string{"dana@acme.example", `"acc_acme"`, `"customer.id"`}},
		{name: "search by name", tool: "search_customers", args: map[string]any{"query": "dan"}, want: []string{`"id":"usr_2481"`}},
		{name: "part of an email finds nothing", tool: "search_customers", args: map[string]any{"query": "acme.example"},
			want: []string{`"customers":[]`}},
		{name: "search by account", tool: "search_customers", args: map[string]any{"account": "acme workspace"},
			want: []string{`"id":"usr_2481"`, `"id":"usr_2482"`}, not: []string{"usr_1001"}},
		{name: "search by an exact account id", tool: "search_customers", args: map[string]any{"account": "ACC_ACME"},
			want: []string{`"id":"usr_2481"`}},
		{name: "part of an account id finds nothing", tool: "search_customers", args: map[string]any{"account": "acc_"},
			want: []string{`"customers":[]`}},
		{name: "search by trait", tool: "search_customers",
			args: map[string]any{"trait": "customer.lifecycle", "value": "Activation risk"},
			want: []string{`"id":"usr_2481"`}, not: []string{"usr_2482"}},
		{name: "search by a hidden field is refused", tool: "search_customers", isError: true,
			args: map[string]any{"trait": "customer.phone", "value": "+1 415 555 0199"},
			want: []string{"customer.phone is hidden for ai.agent.search_customers"}},
		{name: "draft", tool: "draft_reply", action: "ai.agent.draft_reply",
			args: with(signed, "conversation", conversation, "tone", "warm", "max_words", 80),
			want: []string{`"draft":"Thanks, Dana! Your Growth trial has 5 seats`, `"account.plan"`, `"redactions":{`}},
		{name: "explain a refusal", tool: "explain_access", action: "ai.agent.explain_access",
			args: map[string]any{"action": "get_customer_context", "customer_id": dana, "field": "account.privateRevenue"},
			want: []string{`"decision":"deny"`, `"rule":"unsigned-customer"`, "identity must be signed",
				`"visibility":"hidden"`, `"owner":"`}},
		{name: "explain an allowed action", tool: "explain_access",
			args: with(signed, "action", "ai.draft", "field", "customer.email"),
			want: []string{`"decision":"allow"`, `"rule":"support-draft"`, `"visibility":"masked"`}},
		{name: "catalog", tool: "list_catalog_fields", args: map[string]any{"prefix": "account."},
			action: "ai.agent.list_catalog_fields",
			want:   []string{`"name":"account.privateRevenue"`, `"safe_for_ai":false`, `"name":"account.plan"`}},
		{name: "unsigned customer is refused", tool: "get_customer_context", isError: true,
			args: map[string]any{"customer_id": dana},
			want: []string{`policy_denied: ai.agent.get_customer_context denied by deny rule "unsigned-customer"`,
				"the customer identity is not signed", "explain_access"}},
		{name: "a wrong hash is refused", tool: "get_journey", isError: true,
			args: map[string]any{"customer_id": dana, "user_hash": strings.Repeat("0", 64)},
			want: []string{"unsigned-customer"}},
		{name: "a draft needs a conversation", tool: "draft_reply", isError: true, args: signed,
			want: []string{"conversation"}},
		{name: "an unknown argument is refused", tool: "get_journey", isError: true, args: with(signed, "limt", 3),
			want: []string{`invalid_request: the arguments do not fit the tool's schema: json: unknown field "limt"`}},
		{name: "a mistyped argument is refused", tool: "get_journey", isError: true, args: with(signed, "limit", "3"),
			want: []string{"invalid_request", "limit"}},
		{name: "a customer is required", tool: "get_customer_context", isError: true, args: map[string]any{},
			want: []string{"name the customer with customer_id"}},
		{name: "an author is customer or agent", tool: "draft_reply", isError: true,
			args: with(signed, "conversation", []map[string]string{{"author": "bot", "text": "hi"}}),
			want: []string{"conversation[0].author must be customer or agent"}},
	}
}

func salesCases() []toolCase {
	signed := map[string]any{"customer_id": dana, "user_hash": danaHash()}
	return []toolCase{
		{name: "sales may not read context", tool: "get_customer_context", args: signed, isError: true,
			action: "ai.agent.get_customer_context",
			want:   []string{"policy_denied", "denied by default", "user.role in"}},
		{name: "sales may not search", tool: "search_customers", args: map[string]any{"query": "dana"}, isError: true,
			want: []string{"policy_denied"}},
		{name: "sales may not draft", tool: "draft_reply", isError: true,
			args: with(signed, "conversation", []map[string]string{{"author": "customer", "text": "hi"}}),
			want: []string{"policy_denied"}},
	}
}

// runCases calls each tool and checks its result, that no hidden value is
// in it, that it fits the tool's output schema, and (with dsn) its audit
// record.
func runCases(t *testing.T, s *mcp.ClientSession, dsn string, cases []toolCase) {
	ctx := context.Background()
	schemas := outputSchemas(t, s)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.CallTool(ctx, &mcp.CallToolParams{Name: tc.tool, Arguments: tc.args})
			if err != nil {
				t.Fatalf("call %s: %v", tc.tool, err)
			}
			text := resultText(t, res)
			t.Logf("%s: %s", tc.tool, text)
			if res.IsError != tc.isError {
				t.Fatalf("IsError = %v, want %v: %s", res.IsError, tc.isError, text)
			}
			if v := leaked(text); v != "" {
				t.Fatalf("hidden value %q in the result: %s", v, text)
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("result lacks %s: %s", w, text)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(text, n) {
					t.Errorf("result has %s: %s", n, text)
				}
			}
			if !tc.isError {
				if err := schemas[tc.tool].Validate(res.StructuredContent); err != nil {
					t.Fatalf("the result does not fit the output schema: %v", err)
				}
			}
			if tc.action != "" && dsn != "" && !tc.isError {
				checkAudit(t, dsn, res, tc)
			}
		})
	}
}

func checkAudit(t *testing.T, dsn string, res *mcp.CallToolResult, tc toolCase) {
	var out struct {
		AuditID string `json:"audit_id"`
	}
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &out); err != nil || out.AuditID == "" {
		t.Fatalf("no audit_id in %s", b)
	}
	rec := readAudit(t, dsn, out.AuditID)
	ep := "mcp:" + tc.tool
	if tc.tool == "draft_reply" {
		ep = rec.Endpoint // proxy.Draft names its own door (see the report)
	}
	if rec.Action != tc.action || rec.Endpoint != ep || rec.Status != 200 || rec.KeyID != "key_demo_support" ||
		!rec.Decision.Allow {
		t.Fatalf("audit record %+v", rec)
	}
	if _, named := tc.args["customer_id"]; named && tc.tool != "explain_access" && rec.CustomerID != dana {
		t.Fatalf("audit record customer %q", rec.CustomerID)
	}
}

// outputSchemas resolves each tool's output schema as the client got it.
func outputSchemas(t *testing.T, s *mcp.ClientSession) map[string]*jsonschema.Resolved {
	res, err := s.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*jsonschema.Resolved{}
	for _, tool := range res.Tools {
		b, err := json.Marshal(tool.OutputSchema)
		if err != nil {
			t.Fatal(err)
		}
		var sch jsonschema.Schema
		if err := json.Unmarshal(b, &sch); err != nil {
			t.Fatalf("%s output schema: %v", tool.Name, err)
		}
		if out[tool.Name], err = sch.Resolve(nil); err != nil {
			t.Fatalf("%s output schema: %v", tool.Name, err)
		}
	}
	return out
}

func listTools(t *testing.T, s *mcp.ClientSession) {
	res, err := s.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		if len(tool.Description) < 80 || tool.InputSchema == nil {
			t.Errorf("tool %s: description %q, schema %v", tool.Name, tool.Description, tool.InputSchema)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, wantTools) {
		t.Fatalf("tools %v, want %v", names, wantTools)
	}
}

func readResources(t *testing.T, s *mcp.ClientSession) {
	ctx := context.Background()
	res, err := s.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	uris := map[string]bool{}
	for _, r := range res.Resources {
		uris[r.URI] = true
	}
	if !uris["crisp://catalog/fields"] || !uris["crisp://catalog/fields/account.privateRevenue"] {
		t.Fatalf("resources %v", uris)
	}
	rr, err := s.ReadResource(ctx, &mcp.ReadResourceParams{URI: "crisp://catalog/fields/account.privateRevenue"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rr.Contents) != 1 || !strings.Contains(rr.Contents[0].Text, `"safe_for_ai": false`) || leaked(rr.Contents[0].Text) != "" {
		t.Fatalf("resource %+v", rr.Contents)
	}
	if _, err := s.ReadResource(ctx, &mcp.ReadResourceParams{URI: "crisp://catalog/fields/account.nope"}); err == nil {
		t.Fatal("an unknown field read")
	}
}

// TestStreamableHTTP drives /mcp with the official Go SDK's client.
func TestStreamableHTTP(t *testing.T) {
	crisp, fake := startCrisp(t)
	fake.Answer = leakyAnswer
	support := connectHTTP(t, crisp.URL, servertest.SupportKey)
	t.Run("tools", func(t *testing.T) { listTools(t, support) })
	t.Run("resources", func(t *testing.T) { readResources(t, support) })
	t.Run("support", func(t *testing.T) { runCases(t, support, crisp.DSN, supportCases(t)) })
	t.Run("sales", func(t *testing.T) {
		runCases(t, connectHTTP(t, crisp.URL, servertest.SalesKey), crisp.DSN, salesCases())
	})
	for _, r := range fake.Received() {
		if v := leaked(string(r.Body)); v != "" {
			t.Fatalf("hidden value %q reached the provider: %s", v, r.Body)
		}
	}
	if strings.Contains(crisp.Logs.String(), "48250") {
		t.Fatal("a hidden value was logged")
	}
}

// TestHTTPAuth: a missing or unknown key is 401 with a Bearer challenge;
// a session opened with one key cannot be used with another.
func TestHTTPAuth(t *testing.T) {
	crisp, _ := startCrisp(t)
	const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	post := func(key, session, body string) *http.Response {
		req, _ := http.NewRequest("POST", crisp.URL+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	tests := []struct {
		name, key, challenge string
	}{
		{"no key", "", `Bearer realm="crisp"`},
		{"unknown key", "ck_nope_0000000000000000", `Bearer realm="crisp", error="invalid_token"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(tc.key, "", initialize)
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), tc.challenge) {
				t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("no standing event stream", func(t *testing.T) {
		req, _ := http.NewRequest("GET", crisp.URL+"/mcp", nil)
		req.Header.Set("Authorization", "Bearer "+servertest.SupportKey)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST, DELETE" {
			t.Fatalf("GET: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})
	t.Run("session bound to its key", func(t *testing.T) {
		resp := post(servertest.SupportKey, "", initialize)
		id := resp.Header.Get("Mcp-Session-Id")
		if resp.StatusCode != 200 || id == "" {
			t.Fatalf("initialize: %d session %q", resp.StatusCode, id)
		}
		list := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
		if resp := post(servertest.SalesKey, id, list); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("another key's call: %d", resp.StatusCode)
		}
	})
}

// TestStdio runs the real binary as `crisp mcp` and drives it with the Go
// SDK's CommandTransport.
func TestStdio(t *testing.T) {
	bin := crispBinary(t)
	fake := providertest.New()
	defer fake.Close()
	fake.Answer = leakyAnswer
	dir := definitions(t, fake.URL())
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "crisp.db")
	args := []string{"mcp", "--db", dsn}
	if dir != "" {
		args = append(args, "--config", dir)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "CRISP_KEY=" + servertest.SupportKey}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "crisp-test", Version: "1"}, nil)
	s, err := client.Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, stderr.String())
	}
	defer s.Close()
	t.Run("tools", func(t *testing.T) { listTools(t, s) })
	t.Run("resources", func(t *testing.T) { readResources(t, s) })
	cases := supportCases(t)
	if dir == "" {
		// The embedded workspace drafts with the offline provider.
		for i := range cases {
			cases[i].want = slices.DeleteFunc(cases[i].want, func(w string) bool {
				return w == `"redactions":{` || strings.HasPrefix(w, `"draft":"Thanks`)
			})
		}
	}
	t.Run("support", func(t *testing.T) { runCases(t, s, dsn, cases) })
	if err := s.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	if !strings.Contains(stderr.String(), "mcp: serving over stdio") || strings.Contains(stderr.String(), "48250") {
		t.Fatalf("stderr:\n%s", stderr.String())
	}
}

// TestStdioBadKey: a bad key ends `crisp mcp` before it serves, with the
// reason on stderr and nothing on stdout.
func TestStdioBadKey(t *testing.T) {
	bin := crispBinary(t)
	tests := []struct {
		name, key, want string
	}{
		{"no key", "", "give the crisp key"},
		{"unknown key", "ck_nope_0000000000000000", "unknown or revoked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, "mcp", "--db", filepath.Join(t.TempDir(), "crisp.db"))
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "CRISP_KEY=" + tc.key}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if err == nil || stdout.Len() != 0 || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("err %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
			}
		})
	}
}

// TestShutdownWithOpenSession: a connected agent does not hold up a
// graceful shutdown (servertest gives it 5 s).
func TestShutdownWithOpenSession(t *testing.T) {
	crisp, _ := startCrisp(t)
	s := connectHTTP(t, crisp.URL, servertest.SupportKey)
	if _, err := s.CallTool(context.Background(), &mcp.CallToolParams{Name: "list_catalog_fields",
		Arguments: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := crisp.Stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("shutdown took %v with an MCP session open", d)
	}
}
