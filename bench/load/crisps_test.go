package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/server"
)

func TestSignUser(t *testing.T) {
	if got, want := signUser(identitySecret, exampleUser), identity.Sign([]byte(identitySecret), exampleUser); got != want {
		t.Fatalf("signUser = %s, crisp signs %s", got, want)
	}
}

func TestValidateDraft(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"draft", `{"draft":"Hi Dana","context_fields":[],"redactions":{},"audit_id":"au_1"}`, ""},
		{"not JSON", `<html>`, "not JSON"},
		{"empty draft", `{"draft":"","audit_id":"au_1"}`, "no draft"},
		{"no audit id", `{"draft":"Hi"}`, "no audit_id"},
		{"error", `{"error":{"message":"boom"}}`, "no draft"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateDraft([]byte(tt.body))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("validateDraft: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("validateDraft: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestFullPipeline(t *testing.T) {
	tests := []struct {
		name, decision, context, wantErr string
	}{
		{"seed rule and context", "allow; rule=support-draft", "account.name, account.plan", ""},
		{"general use", "allow; rule=member-general", "", "X-Crisp-Decision"},
		{"no decision", "", "", "X-Crisp-Decision"},
		{"no context", "allow; rule=support-draft", "", "no approved context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("X-Crisp-Decision", tt.decision)
			h.Set("X-Crisp-Context", tt.context)
			err := fullPipeline(h)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("fullPipeline: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("fullPipeline: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestMakePlan(t *testing.T) {
	tests := []struct {
		name, cells  string
		wantVariants []string
		wantChat     []string
		wantDrafts   bool
		wantMCP      bool
		wantErr      string
	}{
		{"all", "crisp,noaudit,full,drafts,mcp", []string{nameCrisp, nameNoAudit, nameFull}, []string{nameCrisp, nameNoAudit, nameFull}, true, true, ""},
		{"plain only", "crisp", []string{nameCrisp}, []string{nameCrisp}, false, false, ""},
		{"drafts start the full crisp", "drafts", []string{nameFull}, nil, true, false, ""},
		{"mcp starts the full crisp", "mcp", []string{nameFull}, nil, false, true, ""},
		{"mcp and the plain crisp", "crisp,mcp", []string{nameCrisp, nameFull}, []string{nameCrisp}, false, true, ""},
		{"audit pair", "noaudit, crisp", []string{nameCrisp, nameNoAudit}, []string{nameCrisp, nameNoAudit}, false, false, ""},
		{"unknown", "crisp,fast", nil, nil, false, false, "unknown cell"},
		{"none", "", nil, nil, false, false, "at least one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := makePlan(options{modes: "non-stream,stream", conc: "1,32", draftConc: "1,8", mcpConc: "1,16", cells: tt.cells})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("makePlan: %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			names := func(vs []variant) (out []string) {
				for _, v := range vs {
					out = append(out, v.name)
				}
				return out
			}
			if got := names(p.variants); !slices.Equal(got, tt.wantVariants) {
				t.Errorf("variants %v, want %v", got, tt.wantVariants)
			}
			if got := names(p.chat); !slices.Equal(got, tt.wantChat) {
				t.Errorf("chat targets %v, want %v", got, tt.wantChat)
			}
			if p.drafts != tt.wantDrafts || !slices.Equal(p.draftConcs, []int{1, 8}) {
				t.Errorf("drafts %v at %v", p.drafts, p.draftConcs)
			}
			if p.mcp != tt.wantMCP || !slices.Equal(p.mcpConcs, []int{1, 16}) {
				t.Errorf("mcp %v at %v", p.mcp, p.mcpConcs)
			}
		})
	}
}

// TestCrispVariants serves each crisp configuration the benchmark writes,
// in process, and expects every chat answer (and, on the full crisp, every
// draft and MCP tool call, two sessions) to validate: a benchmark whose
// requests fail measures nothing.
func TestCrispVariants(t *testing.T) {
	up := httptest.NewServer(newUpstream())
	defer up.Close()
	chat := map[bool][]byte{}
	for _, stream := range []bool{false, true} {
		b, err := chatRequest(stream)
		if err != nil {
			t.Fatal(err)
		}
		chat[stream] = b
	}
	for _, v := range crispVariants() {
		t.Run(v.file, func(t *testing.T) {
			base := startCrisp(t, v, up.Listener.Addr().String())
			calls := []call{crispChat(v, base, chat[false], false), crispChat(v, base, chat[true], true)}
			client := newClient(2)
			defer client.CloseIdleConnections()
			if v.full {
				sessions, err := openMCPSessions(t.Context(), client, base, 2)
				if err != nil {
					t.Fatal(err)
				}
				if sessions[0].Get("Mcp-Session-Id") == sessions[1].Get("Mcp-Session-Id") {
					t.Fatalf("two sessions share id %q", sessions[0].Get("Mcp-Session-Id"))
				}
				m := mcpCall(base)
				m.sessions = sessions
				calls = append(calls, draftCall(base), m)
			}
			for _, c := range calls {
				r := load(t.Context(), client, c, 2, 10, 20*time.Second)
				if r.errors != 0 || len(r.samples) != 10 {
					t.Errorf("%s stream=%v: %d ok, %d errors %q", c.url, c.stream, len(r.samples), r.errors, r.errTexts)
				}
			}
		})
	}
}

// startCrisp writes v's definitions folder and serves it in process, as
// `crisp serve --config` would, until the test ends.
func startCrisp(t *testing.T, v variant, upstreamAddr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	path, err := writeCrispConfig(t.TempDir(), v, ln.Addr().String(), upstreamAddr)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(path, func(string) string { return "" })
	if err != nil {
		t.Fatalf("%s: %v", v.name, err)
	}
	if cfg.Audit.Disabled != v.noAudit || cfg.Seed != v.full {
		t.Fatalf("%s: audit disabled %v, seed %v", v.name, cfg.Audit.Disabled, cfg.Seed)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, zerolog.New(io.Discard))
	if err != nil {
		cancel()
		t.Fatalf("%s: %v", v.name, err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: serve: %v", v.name, err)
		}
	})
	return "http://" + ln.Addr().String()
}

func TestValidateMCP(t *testing.T) {
	const ok = `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"{\"fields\":{\"account.plan\":\"Growth trial\"}}"}],` +
		`"structuredContent":{"fields":{"account.plan":"Growth trial"}}}}`
	tests := []struct {
		name, body, wantErr string
	}{
		{"context", ok, ""},
		{"not JSON", `<html>`, "not JSON"},
		{"JSON-RPC error", `{"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"bad"}}`, "JSON-RPC error"},
		{"no result", `{"jsonrpc":"2.0","id":2}`, "no result"},
		{"tool error", `{"jsonrpc":"2.0","id":2,"result":{"isError":true,"content":[{"type":"text","text":"policy_denied: account.plan"}]}}`, "tool error"},
		{"no plan", `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"{}"}]}}`, "account.plan"},
		{"other plan", `{"jsonrpc":"2.0","id":2,"result":{"content":[{"type":"text","text":"account.plan: Free"}]}}`, "Growth trial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateMCP([]byte(tt.body))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("validateMCP: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("validateMCP: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
