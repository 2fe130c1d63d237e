package providers

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/crisphq/crisp/config"
)

func cfgWith(ps ...config.Provider) *config.Config {
	return &config.Config{Providers: ps, Routing: config.Routing{Aliases: map[string]string{"fast": "gpt-4o-mini"}}}
}

// TestDialects checks each dialect's URL and credentials.
func TestDialects(t *testing.T) {
	tests := []struct {
		name       string
		p          config.Provider
		call       Call
		wantURL    string
		wantHeader [2]string
	}{
		{"openai", config.Provider{Name: "o", Type: "openai", APIKey: "sk-1"},
			Call{Endpoint: ChatCompletions, Model: "gpt-4o", Body: []byte(`{}`)},
			"https://api.openai.com/v1/chat/completions", [2]string{"Authorization", "Bearer sk-1"}},
		{"openrouter", config.Provider{Name: "r", Type: "openrouter", APIKey: "sk-or"},
			Call{Endpoint: Responses, Model: "anthropic/claude-sonnet-4", Body: []byte(`{}`)},
			"https://openrouter.ai/api/v1/responses", [2]string{"X-Title", "crisp"}},
		{"ollama without key", config.Provider{Name: "l", Type: "ollama"},
			Call{Endpoint: Embeddings, Model: "nomic", Body: []byte(`{}`)},
			"http://127.0.0.1:11434/v1/embeddings", [2]string{"Authorization", ""}},
		{"azure deployments", config.Provider{Name: "a", Type: "azure", APIKey: "az", BaseURL: "https://res.openai.azure.com",
			APIVersion: "2024-10-21", Deployments: map[string]string{"gpt-4o": "prod 4o"}},
			Call{Endpoint: ChatCompletions, Model: "gpt-4o", Body: []byte(`{}`)},
			"https://res.openai.azure.com/openai/deployments/prod%204o/chat/completions?api-version=2024-10-21", [2]string{"Api-Key", "az"}},
		{"azure v1", config.Provider{Name: "a", Type: "azure", APIKey: "az", BaseURL: "https://res.openai.azure.com/"},
			Call{Endpoint: Responses, Model: "gpt-4o", Body: []byte(`{}`)},
			"https://res.openai.azure.com/openai/v1/responses", [2]string{"Api-Key", "az"}},
		{"compatible, models list", config.Provider{Name: "c", Type: "openai_compatible", BaseURL: "http://127.0.0.1:9/v1", APIKey: "k"},
			Call{Endpoint: Models},
			"http://127.0.0.1:9/v1/models", [2]string{"Authorization", "Bearer k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := build(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			req, err := p.NewRequest(context.Background(), tt.call)
			if err != nil {
				t.Fatal(err)
			}
			if req.URL.String() != tt.wantURL {
				t.Errorf("URL %s, want %s", req.URL, tt.wantURL)
			}
			if got := req.Header.Get(tt.wantHeader[0]); got != tt.wantHeader[1] {
				t.Errorf("%s = %q, want %q", tt.wantHeader[0], got, tt.wantHeader[1])
			}
			if tt.call.Endpoint == Models && req.Method != "GET" {
				t.Errorf("models is %s", req.Method)
			}
		})
	}
}

// TestRoute checks aliases, exact names, patterns, the default and offline.
func TestRoute(t *testing.T) {
	r, disabled, err := New(cfgWith(
		config.Provider{Name: "openai", Type: "openai", APIKey: "sk", Models: []string{"gpt-*", "text-embedding-*"}},
		config.Provider{Name: "router", Type: "openrouter", APIKey: "sk", Models: []string{"*/*"}},
		config.Provider{Name: "off", Type: "openai", Models: []string{"o1*"}}, // no key: disabled
	), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if len(disabled) != 1 || disabled[0].Name != "off" {
		t.Fatalf("disabled %+v", disabled)
	}
	for _, tc := range []struct{ model, provider, routed string }{
		{"gpt-4o", "openai", "gpt-4o"},
		{"fast", "openai", "gpt-4o-mini"},
		{"anthropic/claude-sonnet-4", "router", "anthropic/claude-sonnet-4"},
		{OfflineModel, "offline", OfflineModel},
	} {
		rt, err := r.Route(tc.model)
		if err != nil || rt.Provider.Name() != tc.provider || rt.Model != tc.routed {
			t.Errorf("Route(%s) = %v/%v, %v", tc.model, rt.Provider, rt.Model, err)
		}
	}
	for _, m := range []string{"o1-mini", "claude-3", ""} {
		if _, err := r.Route(m); !errors.Is(err, ErrModelNotFound) {
			t.Errorf("Route(%q) = %v, want model not found", m, err)
		}
	}
	if r.OnlyOffline() {
		t.Error("OnlyOffline with two providers")
	}

	only, _, _ := New(cfgWith(), time.Now)
	if rt, err := only.Route("gpt-4o"); err != nil || rt.Provider.Name() != "offline" || !only.OnlyOffline() {
		t.Errorf("with no provider, offline should answer: %v %v", rt, err)
	}
}

func TestMatchModel(t *testing.T) {
	for _, tc := range []struct {
		pattern, model string
		want           bool
	}{
		{"gpt-*", "gpt-4o-mini", true}, {"gpt-*", "o3", false}, {"*/*", "anthropic/claude", true},
		{"*", "anything/at/all", true}, {"o1*", "o1-preview", true}, {"*-mini", "gpt-4o-mini", true},
	} {
		if got := MatchModel(tc.pattern, tc.model); got != tc.want {
			t.Errorf("MatchModel(%q, %q) = %v", tc.pattern, tc.model, got)
		}
	}
}

// TestOffline answers every endpoint in OpenAI's shape and says it is offline.
func TestOffline(t *testing.T) {
	o := NewOffline(time.Now)
	for _, c := range []Call{
		{Endpoint: ChatCompletions, Body: []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)},
		{Endpoint: ChatCompletions, Body: []byte(`{"model":"m","stream":true,"messages":[]}`)},
		{Endpoint: Responses, Body: []byte(`{"model":"m","input":"hi"}`)},
		{Endpoint: Responses, Body: []byte(`{"model":"m","input":"hi","stream":true}`)},
		{Endpoint: Embeddings, Body: []byte(`{"model":"m","input":["a","b"],"encoding_format":"base64"}`)},
		{Endpoint: Models},
	} {
		req, _ := o.NewRequest(context.Background(), c)
		resp, err := o.Client().Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", c.Endpoint, resp, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), "offline") && c.Endpoint != Embeddings {
			t.Errorf("%s does not say it is offline: %s", c.Endpoint, b)
		}
	}
}

func contains(b []byte, s string) bool {
	return len(b) > 0 && string(b) != "" && indexOf(string(b), s) >= 0
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestScrub(t *testing.T) {
	if got := string(Scrub([]byte(`bad key sk-secret-123`), "sk-secret-123")); got != "bad key [provider key]" {
		t.Fatalf("Scrub = %q", got)
	}
}
