package server_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/providers"
	"github.com/crisphq/crisp/server"
)

// BenchmarkServe is crisp's own cost per request, in process: no network,
// the built-in offline provider answering. It isolates what the pipeline
// costs (the load benchmark under bench/ measures it against a bare proxy
// over real sockets). plain is a key and a 1 KB chat request; full names
// the example customer, signed, so identity, policy, the context pack and
// redaction both ways all run. offline-only is the provider alone, the
// part of every figure that is not crisp's.
func BenchmarkServe(b *testing.B) {
	const secret = "acme-identity-secret"
	yaml := `workspace: {id: acme, name: Acme}
seed: true
identity:
  secrets: [{id: s1, key: ` + secret + `}]
keys:
  - {id: key_demo_support, member: maya@acme.example, role: support, teams: [support], actions: ["ai.*"], prefix: ck_demo_supp, sha256: 4cf8363d0c621f28207b6f794bb3fd7a6afd893007fc0bed8864d0be8ca45e31}
logging: {format: json}
`
	handler := func(auditOn bool) http.Handler {
		cfg, err := config.Parse("bench.yaml", []byte(yaml), func(string) string { return "" })
		if err != nil {
			b.Fatal(err)
		}
		cfg.Storage.DSN = "sqlite:" + filepath.Join(b.TempDir(), "crisp.db")
		cfg.Audit.Disabled = !auditOn
		srv, err := server.New(context.Background(), cfg, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(srv.Close)
		return srv.Handler()
	}
	handlers := map[bool]http.Handler{true: handler(true), false: handler(false)}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("usr_2481"))
	userHash := hex.EncodeToString(m.Sum(nil))

	offline := providers.NewOffline(time.Now)
	for _, stream := range []bool{false, true} {
		body := benchChat(b, stream)
		mode := map[bool]string{false: "non-stream", true: "stream"}[stream]
		b.Run("offline-only/"+mode, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req, err := offline.NewRequest(context.Background(), providers.Call{Endpoint: providers.ChatCompletions, Body: body, Stream: stream})
				if err != nil {
					b.Fatal(err)
				}
				resp, err := offline.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
		for _, v := range []struct {
			name          string
			full, auditOn bool
		}{{"plain", false, true}, {"plain-noaudit", false, false}, {"full", true, true}} {
			full, h := v.full, handlers[v.auditOn]
			b.Run(v.name+"/"+mode, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest("POST", "/v1/chat/completions", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer ck_demo_support")
					req.Header.Set("Content-Type", "application/json")
					if full {
						req.Header.Set("X-Crisp-User-Id", "usr_2481")
						req.Header.Set("X-Crisp-User-Hash", userHash)
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 200 || (full && !strings.Contains(rec.Header().Get("X-Crisp-Context"), "account.plan")) {
						b.Fatalf("%d %s %s", rec.Code, rec.Header(), rec.Body)
					}
				}
			})
		}
	}
}

// benchChat is a 1 KB support chat request like the load benchmark's.
func benchChat(b *testing.B, stream bool) []byte {
	pad := strings.Repeat("The admin console shows a seat counter that does not match the pricing page. ", 10)
	req := map[string]any{
		"model": "gpt-4o-mini",
		"messages": []map[string]string{
			{"role": "system", "content": "You are a helpful support assistant for Acme. Answer briefly."},
			{"role": "user", "content": "We are ready to upgrade, but the team seat limit looks confusing."},
			{"role": "user", "content": pad},
		},
		"temperature": 0.2,
	}
	if stream {
		req["stream"], req["stream_options"] = true, map[string]any{"include_usage": true}
	}
	out, err := json.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

var _ = http.MethodPost
