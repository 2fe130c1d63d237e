package mcp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/configs"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/server/servertest"
	"github.com/crisphq/crisp/store"
)

const (
	identitySecret = "acme-identity-secret"
	identityYAML   = "seed: true\nidentity:\n  secrets: [{id: s1, key: " + identitySecret + "}]\n"
	dana           = "usr_2481"
)

// hiddenValues are values the example workspace hides from AI: none may
// appear in any tool result.
var hiddenValues = []string{"48250", "48,250", "+1 415 555 0199", "Procurement asked for a 3-year discount"}

func danaHash() string { return identity.Sign([]byte(identitySecret), dana) }

// agentWorkspaceRule is the policy the customer-less tools need (see the
// package's report): the shipped acme.rules allows ai.agent.* only for a
// signed customer and denies every unsigned ai.agent.* call, which refuses
// a tool that names no customer. Until acme.rules carries an allow for
// them, the tests run the example workspace with this change applied.
const agentWorkspaceRule = `
# Agent tools that name no customer: searching the directory, reading the
# catalog, asking why. What they return is filtered field by field.
rule support-agent-workspace
allow ai.agent.search_customers, ai.agent.list_catalog_fields, ai.agent.explain_access
when user.role in ["support", "success"]
`

// definitions returns a folder holding the example workspace (--config) in
// front of providerURL, or "" when the embedded one serves the tools as is.
func definitions(t testing.TB, providerURL string) string {
	t.Helper()
	rules, err := configs.FS.ReadFile("policies/acme.rules")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rules), "ai.agent.search_customers") {
		return ""
	}
	dir := t.TempDir()
	err = fs.WalkDir(configs.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." || p == "crisp.yaml" {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, p), 0o755)
		}
		b, err := configs.FS.ReadFile(p)
		if err != nil {
			return err
		}
		if p == path.Join("policies", "acme.rules") {
			b = patchPolicy(t, b)
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	yaml := servertest.Config(providerURL, "") + identityYAML
	if err := os.WriteFile(filepath.Join(dir, "crisp.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func patchPolicy(t testing.TB, rules []byte) []byte {
	const deny = "deny ai.draft, ai.ask, ai.context, ai.agent.*\nwhen not signedIdentity\n"
	s := string(rules)
	if !strings.Contains(s, deny) {
		t.Fatalf("acme.rules changed: update agentWorkspaceRule's patch")
	}
	s = strings.Replace(s, deny, "deny ai.draft, ai.ask, ai.context, ai.agent.*\nwhen not signedIdentity and customer.id != \"\"\n", 1)
	return []byte(s + agentWorkspaceRule)
}

// startCrisp runs crisp over HTTP in front of a fake provider with the
// example workspace seeded.
func startCrisp(t testing.TB) (*servertest.Crisp, *providertest.Fake) {
	t.Helper()
	fake := providertest.New()
	t.Cleanup(fake.Close)
	dir := definitions(t, fake.URL())
	if dir == "" {
		return servertest.Start(t, servertest.Config(fake.URL(), "")+identityYAML), fake
	}
	cfg, err := config.LoadFile(filepath.Join(dir, "crisp.yaml"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return servertest.StartOn(t, cfg, ln), fake
}

// bearer adds a crisp key to every request.
type bearer struct {
	key  string
	base http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.base.RoundTrip(r)
}

// connectHTTP opens an MCP session to crisp's /mcp with key.
func connectHTTP(t testing.TB, url, key string) *mcp.ClientSession {
	t.Helper()
	client := mcp.NewClient(&mcp.Implementation{Name: "crisp-test", Version: "1"}, nil)
	tr := &mcp.StreamableClientTransport{Endpoint: url + "/mcp",
		HTTPClient: &http.Client{Transport: bearer{key: key, base: http.DefaultTransport}}}
	s, err := client.Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestMain removes the crisp binary the stdio tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if build.bin != "" {
		os.RemoveAll(filepath.Dir(build.bin))
	}
	os.Exit(code)
}

var build struct {
	once sync.Once
	bin  string
	err  error
	out  []byte
}

// crispBinary builds ./cmd/crisp once per test run.
func crispBinary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "crisp-mcp-test")
		if err != nil {
			build.err = err
			return
		}
		build.bin = filepath.Join(dir, "crisp")
		cmd := exec.Command("go", "build", "-o", build.bin, "github.com/crisphq/crisp/cmd/crisp")
		build.out, build.err = cmd.CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("build crisp: %v\n%s", build.err, build.out)
	}
	return build.bin
}

// resultText is everything a tool result carries, as the agent sees it.
func resultText(t testing.TB, res *mcp.CallToolResult) string {
	t.Helper()
	var sb strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			sb.WriteString(tc.Text)
			sb.WriteByte('\n')
		}
	}
	if res.StructuredContent != nil {
		b, err := json.Marshal(res.StructuredContent)
		if err != nil {
			t.Fatal(err)
		}
		sb.Write(b)
	}
	return sb.String()
}

// leaked returns the hidden value in s, if any.
func leaked(s string) string {
	for _, v := range hiddenValues {
		if strings.Contains(s, v) {
			return v
		}
	}
	return ""
}

// readAudit reads one audit record from crisp's database.
func readAudit(t testing.TB, dsn, id string) audit.Record {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := audit.Open(ctx, db, audit.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// The crisp under test chains records behind the response (its
	// journal holds them first): another process sees them a moment later.
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec, err := l.Get(ctx, "acme", id)
		if err == nil {
			return rec
		}
		if !errors.Is(err, audit.ErrNotFound) || time.Now().After(deadline) {
			t.Fatalf("audit record %s: %v", id, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
