package mcp_test

import (
	"context"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crisphq/crisp/server/servertest"
)

// inspector finds the MCP Inspector's CLI in test/node. CI installs it
// (npm ci --prefix test/node); elsewhere the test skips when it is missing.
func inspector(t *testing.T) string {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	dir, err := filepath.Abs(filepath.Join("..", "test", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@modelcontextprotocol", "inspector", "package.json")); err != nil {
		missing("@modelcontextprotocol/inspector not installed (run: npm ci --prefix test/node): %v", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node not found: %v", err)
	}
	return filepath.Join(dir, "node_modules", ".bin", "mcp-inspector")
}

// TestInspector drives crisp with the MCP Inspector in CLI mode, over
// streamable HTTP at /mcp and over stdio with `crisp mcp`: tools/list, a
// tools/call, and refusals.
func TestInspector(t *testing.T) {
	bin := inspector(t)
	crispBin := crispBinary(t)
	crisp, fake := startCrisp(t)
	// The pinned Inspector (0.15.0, the newest whose engines allow Node 20)
	// cannot send headers (--header came in 0.17.0): a client-side proxy
	// adds the key, as a gateway in front of an agent would.
	target, err := url.Parse(crisp.URL)
	if err != nil {
		t.Fatal(err)
	}
	keyed := httptest.NewServer(&httputil.ReverseProxy{FlushInterval: -1, Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Header.Set("Authorization", "Bearer "+servertest.SupportKey)
	}})
	defer keyed.Close()

	dir := definitions(t, fake.URL())
	// The Inspector takes --config for itself: crisp's flags go as env.
	stdio := []string{"-e", "CRISP_KEY=" + servertest.SupportKey, "-e", "CRISP_DB=" + filepath.Join(t.TempDir(), "crisp.db")}
	if dir != "" {
		stdio = append(stdio, "-e", "CRISP_CONFIG="+dir)
	}
	stdio = append(stdio, crispBin, "mcp")
	call := []string{"--method", "tools/call", "--tool-name", "get_customer_context", "--tool-arg", "customer_id=" + dana}
	signed := append(append([]string{}, call...), "--tool-arg", "user_hash="+danaHash())
	tests := []struct {
		name string
		args []string
		fail bool
		want []string
	}{
		{"http tools/list", []string{keyed.URL + "/mcp", "--method", "tools/list"}, false, wantTools},
		{"http tools/call", append([]string{keyed.URL + "/mcp"}, signed...), false, []string{`"account.plan": "Growth trial"`}},
		{"http unsigned customer", append([]string{keyed.URL + "/mcp"}, call...), false,
			[]string{`"isError": true`, "unsigned-customer"}},
		{"http without a key", []string{crisp.URL + "/mcp", "--method", "tools/list"}, true, []string{"invalid_api_key"}},
		{"stdio tools/list", append(append([]string{}, stdio...), "--method", "tools/list"), false, wantTools},
		{"stdio tools/call", append(append([]string{}, stdio...), signed...), false, []string{`"account.plan": "Growth trial"`}},
		{"stdio unsigned customer", append(append([]string{}, stdio...), call...), false,
			[]string{`"isError": true`, "unsigned-customer"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, append([]string{"--cli"}, tc.args...)...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
			out, err := cmd.CombinedOutput()
			if (err != nil) != tc.fail {
				t.Fatalf("inspector: err %v, want failure %v:\n%s", err, tc.fail, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %s:\n%s", w, out)
				}
			}
			if refused := strings.Contains(string(out), `"isError": true`); refused != strings.Contains(tc.name, "unsigned") {
				t.Errorf("isError %v:\n%s", refused, out)
			}
			if v := leaked(string(out)); v != "" {
				t.Fatalf("hidden value %q in the output:\n%s", v, out)
			}
		})
	}
}
