package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crisphq/crisp/audit"
	"github.com/crisphq/crisp/providers/providertest"
	"github.com/crisphq/crisp/store"
)

// TestCrashLosesNoCompletedRecord kills a real crisp process with SIGKILL
// under load and checks that every request whose response had completed
// has its audit record in an intact chain: a response is never completed
// before its record is durable. With the journal (the default on SQLite)
// the records the kill caught in the journal reach the chain when crisp
// starts again; with journal: off they are in the database already.
func TestCrashLosesNoCompletedRecord(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "crisp")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, tc := range []struct{ name, audit string }{
		{"journal", ""},
		{"database", "audit: {journal: \"off\"}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) { crashUnderLoad(t, bin, tc.audit) })
	}
}

func crashUnderLoad(t *testing.T, bin, auditYAML string) {
	fake := providertest.New()
	defer fake.Close()

	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "crisp.db")
	writeCrashConfig(t, dir, fake.URL(), auditYAML)
	addr := freeAddr(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--config", dir, "--db", dsn, "--addr", addr)
		logs, _ := os.OpenFile(filepath.Join(dir, "crisp.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		t.Cleanup(func() { logs.Close() })
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() })
		waitReady(t, "http://"+addr)
		return cmd
	}
	cmd := start()

	// Load from 8 clients until the kill; keep the audit ids of every
	// response that completed (a whole body, or a stream to [DONE]).
	var mu sync.Mutex
	var completed []string
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				if id, ok := oneRequest(ctx, "http://"+addr, (c+i)%2 == 0); ok {
					mu.Lock()
					completed = append(completed, id)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	stop()
	wg.Wait()
	if len(completed) < 20 {
		t.Fatalf("only %d requests completed before the kill; the test needs load", len(completed))
	}
	if auditYAML == "" {
		segs, _ := filepath.Glob(filepath.Join(dir, "crisp.db-audit", "*.journal"))
		if len(segs) == 0 {
			t.Fatal("the kill left no journal: the test would not exercise its replay")
		}
		// Start again: the journal is replayed into the chain. Then stop
		// cleanly, so the database is read with no crisp running.
		cmd = start()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("crisp after restart: %v", err)
		}
	}

	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := audit.Open(context.Background(), db, audit.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, id := range completed {
		r, err := l.Get(context.Background(), "acme", id)
		if err != nil {
			t.Fatalf("completed request %s has no audit record after SIGKILL: %v", id, err)
		}
		if r.Status != 200 {
			t.Fatalf("record %s: status %d", id, r.Status)
		}
	}
	v, err := l.Verify(context.Background(), "acme")
	if err != nil || !v.OK {
		t.Fatalf("chain after SIGKILL: %+v %v", v, err)
	}
	t.Logf("%d completed requests, all recorded; chain of %d records verifies", len(completed), v.Records)
}

// oneRequest sends a chat request and reports its audit id when the
// response completed.
func oneRequest(ctx context.Context, base string, stream bool) (string, bool) {
	body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	if stream {
		body = `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer ck_demo_support")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return "", false
	}
	id := resp.Header.Get("X-Crisp-Audit-Id")
	if !stream {
		b, err := io.ReadAll(resp.Body)
		return id, err == nil && strings.Contains(string(b), `"choices"`)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == "data: [DONE]" {
			return id, true
		}
	}
	return "", false
}

func writeCrashConfig(t *testing.T, dir, upstream, extra string) {
	t.Helper()
	yaml := fmt.Sprintf(`workspace: {id: acme, name: Acme}
providers:
  - {name: fake, type: openai_compatible, base_url: %s, models: ["gpt-*"]}
keys:
  - {id: key_demo_support, member: maya@acme.example, role: support, actions: ["ai.*"], prefix: ck_demo_supp, sha256: 4cf8363d0c621f28207b6f794bb3fd7a6afd893007fc0bed8864d0be8ca45e31}
logging: {format: json}
%s`, upstream, extra)
	for name, data := range map[string]string{"crisp.yaml": yaml} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyDefinitions(t, dir)
}

// copyDefinitions puts the example catalog and policies beside crisp.yaml.
func copyDefinitions(t *testing.T, dir string) {
	t.Helper()
	for _, name := range []string{"catalog.yaml", "policies/acme.rules"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "configs", name))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("crisp did not become ready")
}
