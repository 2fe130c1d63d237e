// Package servertest starts a real crisp in tests, in front of a fake
// provider, with the example workspace's demo keys.
package servertest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/keys"
	"github.com/crisphq/crisp/server"
)

// ProviderKey is the fake provider's key: tests assert it never reaches a
// caller or a log.
const ProviderKey = "sk-fake-provider-key-0123456789"

// Keys are the demo keys plus test-only ones.
const (
	SupportKey    = "ck_demo_support"
	SuccessKey    = "ck_demo_success"
	SalesKey      = "ck_demo_sales"
	AdminKey      = "ck_demo_admin"
	RestrictedKey = "ck_test_restricted_0001" // a workflow that may call gpt-4o-mini only
	GeneralKey    = "ck_test_general_0001"    // a support member limited to ai.general
)

// Config is a configuration for a crisp in front of the provider at baseURL.
// extra is appended to the provider's entry (indented YAML lines).
func Config(baseURL, extra string) string {
	return ConfigType(baseURL, "openai_compatible", extra)
}

// ConfigType is Config with a provider of the given type.
func ConfigType(baseURL, typ, extra string) string {
	extra = withTimeouts(extra)
	return fmt.Sprintf(`workspace: {id: acme, name: Acme}
server:
  shutdown_timeout: 5s
providers:
  - name: fake
    type: %s
    base_url: %s
    api_key: %s
    models: ["gpt-*", "text-embedding-*"]
%s
routing:
  aliases: {fast: gpt-4o-mini, crisp-default: gpt-4o-mini}
keys:
  - {id: key_demo_support, member: maya@acme.example, role: support, teams: [support], actions: ["ai.*"], prefix: ck_demo_supp, sha256: 4cf8363d0c621f28207b6f794bb3fd7a6afd893007fc0bed8864d0be8ca45e31}
  - {id: key_demo_success, member: sam@acme.example, role: success, teams: [success], actions: ["ai.*"], prefix: ck_demo_succ, sha256: 1df546bdab997847e04a03a1fbc0e6dda92674bff75aaf318549213b7adc1541}
  - {id: key_demo_sales, member: riley@acme.example, role: sales, teams: [sales], actions: ["ai.*"], prefix: ck_demo_sale, sha256: 5abfad1b2fe1616f65bb3fbe212b33096c2b1d8e64b3341b7fd178c4341716a0}
  - {id: key_demo_admin, member: ada@acme.example, role: admin, teams: [support, success], actions: ["ai.*"], prefix: ck_demo_admi, sha256: 26967e89002197b65de03bb3a2254c1415030fb0de2db780def4f8524855de0f}
  - {id: key_general, member: gina@acme.example, role: support, actions: ["ai.general"], prefix: ck_test_gene, sha256: %s}
  - {id: key_restricted, kind: workflow, role: bot, actions: ["ai.*"], models: [gpt-4o-mini], prefix: ck_test_rest, sha256: %s}
`, typ, baseURL, ProviderKey, extra, sha(GeneralKey), sha(RestrictedKey))
}

func withTimeouts(extra string) string {
	if strings.Contains(extra, "timeouts:") {
		return extra
	}
	return "    timeouts: {first_byte: 2s, idle: 2s}\n" + extra
}

// Crisp is a running crisp.
type Crisp struct {
	URL    string // http://127.0.0.1:PORT
	DSN    string // its database
	Logs   *Buffer
	cancel context.CancelFunc
	done   chan struct{} // closed when Serve returned
	err    error         // what Serve returned
}

// Start runs crisp with the given YAML until the test ends.
func Start(t testing.TB, yaml string) *Crisp {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return StartOn(t, cfg, ln)
}

// StartOn runs crisp with cfg on ln until the test ends (or Stop).
func StartOn(t testing.TB, cfg *config.Config, ln net.Listener) *Crisp {
	t.Helper()
	if cfg.Storage.DSN == config.DefaultDSN {
		cfg.Storage.DSN = "sqlite:" + filepath.Join(t.TempDir(), "crisp.db")
	}
	logs := &Buffer{}
	log := zerolog.New(logs).Level(zerolog.DebugLevel)
	srv, err := server.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Crisp{URL: "http://" + ln.Addr().String(), DSN: cfg.Storage.DSN, Logs: logs, cancel: cancel, done: make(chan struct{})}
	if cfg.Server.TLS.Enabled() {
		c.URL = "https://" + ln.Addr().String()
	}
	go func() {
		c.err = srv.Serve(ctx, ln)
		close(c.done)
	}()
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

// Stop shuts crisp down gracefully and waits for it.
func (c *Crisp) Stop() error {
	c.cancel()
	<-c.done
	return c.err
}

// StopAsync begins a graceful shutdown; the channel closes when it is over
// and Stop then returns its result at once.
func (c *Crisp) StopAsync() <-chan struct{} {
	c.cancel()
	return c.done
}

// Do sends a request with a key, for tests that want the raw answer.
func (c *Crisp) Do(t testing.TB, method, path, key, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, c.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Buffer is a goroutine-safe log sink.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything logged so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func sha(key string) string {
	return keys.HashHex(key)
}
