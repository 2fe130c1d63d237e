package policy

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func writeRules(t *testing.T, dir, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "acme.rules"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Reload swaps on a good edit, keeps the policy in force on a broken one
// (reporting it once, with its place), and swaps again once it is fixed.
func TestWatcherReload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "policies")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeRules(t, dir, "allow ai.draft")
	w, err := NewWatcher(dir, acmeCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	in := acmeInput("support", true)
	first := w.Engine()
	if !w.Decide(in).Allow {
		t.Fatal("want allow")
	}
	steps := []struct {
		name      string
		text      string
		changed   bool
		errText   string
		wantAllow bool
	}{
		{"unchanged", "allow ai.draft", false, "", true},
		{"good edit", "allow ai.draft when user.role == \"sales\"", true, "", false},
		{"broken edit", "allow ai.draft when user.rol == \"support\"", false, `policies/acme.rules:1:21: unknown field "user.rol"; did you mean "user.role"?`, false},
		{"same broken edit reported once", "allow ai.draft when user.rol == \"support\"", false, "", false},
		{"fixed", "allow ai.draft when user.role == \"support\"", true, "", true},
	}
	for _, s := range steps {
		writeRules(t, dir, s.text)
		changed, err := w.Reload()
		if changed != s.changed || (err == nil) != (s.errText == "") || err != nil && err.Error() != s.errText {
			t.Fatalf("%s: Reload = %v, %v; want %v, %q", s.name, changed, err, s.changed, s.errText)
		}
		var list ErrorList
		if err != nil && !errors.As(err, &list) {
			t.Fatalf("%s: error is %T, want ErrorList", s.name, err)
		}
		if got := w.Decide(in).Allow; got != s.wantAllow {
			t.Fatalf("%s: allow = %v, want %v", s.name, got, s.wantAllow)
		}
	}
	if w.Engine() == first {
		t.Fatal("engine never swapped")
	}
}

func TestNewWatcherFailsOnBrokenPolicy(t *testing.T) {
	dir := t.TempDir()
	writeRules(t, dir, "allow ai.drafts")
	if _, err := NewWatcher(dir, acmeCatalog(t)); err == nil || !strings.Contains(err.Error(), `did you mean "ai.draft"`) {
		t.Fatalf("err = %v", err)
	}
}

// syncBuffer is a log sink the test can read while Run writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Run polls until its context ends, logs a broken edit with every problem,
// and returns.
func TestWatcherRun(t *testing.T) {
	dir := t.TempDir()
	writeRules(t, dir, "allow ai.draft")
	w, err := NewWatcher(dir, acmeCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(zerolog.New(&logs).WithContext(context.Background()))
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, 5*time.Millisecond) }()

	writeRules(t, dir, "allow ai.draft when signedIdentity == 1")
	waitFor(t, func() bool { return strings.Contains(logs.String(), "policy reload failed") })
	if !strings.Contains(logs.String(), `acme.rules:1:36: == compares a boolean with a number`) {
		t.Fatalf("log lacks the problem:\n%s", logs.String())
	}
	fixed := "allow ai.draft when signedIdentity"
	writeRules(t, dir, fixed)
	want := versionOf([]Source{{Name: filepath.Base(dir) + "/acme.rules", Text: fixed}})
	waitFor(t, func() bool { return w.Engine().Version() == want })
	if !w.Decide(acmeInput("support", true)).Allow || w.Decide(acmeInput("support", false)).Allow {
		t.Fatalf("the reloaded policy is not in force:\n%s", logs.String())
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatcherSetCatalog(t *testing.T) {
	dir := t.TempDir()
	writeRules(t, dir, "allow ai.draft when account.plan == \"Growth trial\"")
	w, err := NewWatcher(dir, acmeCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	before := w.Engine()
	if err := w.SetCatalog(emptyCatalog{}); err == nil || !strings.Contains(err.Error(), `unknown field "account.plan"`) {
		t.Fatalf("SetCatalog with a catalog lacking the field: %v", err)
	}
	if w.Engine() != before {
		t.Fatal("a failed SetCatalog swapped the engine")
	}
	if err := w.SetCatalog(acmeCatalog(t)); err != nil || w.Engine() == before {
		t.Fatalf("SetCatalog: %v", err)
	}
}
