package proxy_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crisphq/crisp/server/servertest"
)

// nodeChecks is how many checks openai.mjs runs; a script that silently
// ran fewer would otherwise pass.
const nodeChecks = 8

// TestNodeOpenAISDK runs test/node/openai.mjs, the official openai npm
// package's view of crisp: chat, responses, embeddings, models and errors.
// CI installs the package (npm ci --prefix test/node); elsewhere the test
// skips when it is missing.
func TestNodeOpenAISDK(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "test", "node"))
	if err != nil {
		t.Fatal(err)
	}
	ci := os.Getenv("CI") == "true"
	missing := func(format string, args ...any) {
		t.Helper()
		if ci {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai", "package.json")); err != nil {
		missing("openai npm package not installed (run: npm ci --prefix test/node): %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not found: %v", err)
	}

	e := startSDK(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "openai.mjs")
	cmd.Dir = dir
	// A clean environment: an OPENAI_* variable from the developer's shell
	// must not redirect the SDK away from crisp.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"CRISP_URL=" + e.crisp.URL,
		"CRISP_KEY=" + servertest.SupportKey,
		"EXPECT_ANSWER=" + e.fake.Answer,
	}
	out, err := cmd.CombinedOutput()
	t.Logf("node openai.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("node openai.mjs failed: %v", err)
	}
	passed := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "ok ") {
			passed++
		}
	}
	if passed != nodeChecks {
		t.Fatalf("%d checks passed, want %d", passed, nodeChecks)
	}
	checkUpstream(t, e.fake)
}
