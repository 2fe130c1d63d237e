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

// nodeScripts are the npm SDK scripts and how many checks each runs; a
// script that silently ran fewer would otherwise pass.
var nodeScripts = map[string]struct {
	pkg    string
	checks int
}{
	"openai.mjs":    {"openai", 8},
	"anthropic.mjs": {"@anthropic-ai/sdk", 4},
}

// TestNodeSDKs runs test/node's scripts: the official openai npm package's
// view of crisp (chat, responses, embeddings, models, errors) and
// @anthropic-ai/sdk's view of /v1/messages. CI installs the packages
// (npm ci --prefix test/node); elsewhere the test skips when they are
// missing.
func TestNodeSDKs(t *testing.T) {
	for script, want := range nodeScripts {
		t.Run(script, func(t *testing.T) { runNodeScript(t, script, want.pkg, want.checks) })
	}
}

func runNodeScript(t *testing.T, script, pkg string, checks int) {
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
	if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
		missing("%s npm package not installed (run: npm ci --prefix test/node): %v", pkg, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not found: %v", err)
	}

	e := startSDK(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
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
	t.Logf("node %s:\n%s", script, out)
	if err != nil {
		t.Fatalf("node %s failed: %v", script, err)
	}
	passed := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "ok ") {
			passed++
		}
	}
	if passed != checks {
		t.Fatalf("%d checks passed, want %d", passed, checks)
	}
	checkUpstream(t, e.fake)
}
