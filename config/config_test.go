package config

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crisphq/crisp/configs"
)

var update = flag.Bool("update", false, "rewrite golden files")

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestExample loads the embedded example workspace with no environment.
func TestExample(t *testing.T) {
	data, err := configs.FS.ReadFile("crisp.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse("crisp.yaml", data, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Workspace.ID != "acme" || cfg.Server.Addr != "127.0.0.1:8080" || cfg.Storage.DSN != "sqlite:crisp.db" || len(cfg.Keys) != 4 {
		t.Fatalf("unexpected example config: %+v", cfg)
	}
	if cfg.Providers[0].BaseURL != "https://api.openai.com/v1" || cfg.Providers[0].APIKey != "" {
		t.Fatalf("openai provider without env: %+v", cfg.Providers[0])
	}
	cfg, err = Parse("crisp.yaml", data, env(map[string]string{"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Providers[0].BaseURL != "http://127.0.0.1:9/v1" || cfg.Providers[0].APIKey.Value() != "sk-x" {
		t.Fatalf("env not applied: %+v", cfg.Providers[0])
	}
}

// TestSecretNeverPrints checks a secret stays out of fmt and encoders.
func TestSecretNeverPrints(t *testing.T) {
	p := Provider{Name: "x", APIKey: "sk-live-abc"}
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%v %+v %s", p.APIKey, p, p.APIKey)} {
		if strings.Contains(s, "sk-live-abc") {
			t.Fatalf("secret printed: %s", s)
		}
	}
	b, _ := p.APIKey.MarshalText()
	if string(b) != "[secret]" {
		t.Fatalf("MarshalText = %s", b)
	}
}

// TestErrors checks each bad file's message against its golden: every
// problem, with file, line and field.
func TestErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, perr := Parse(filepath.Base(f), data, env(map[string]string{"EMPTY": ""}))
			if perr == nil {
				t.Fatal("no error")
			}
			got := perr.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, _ := os.ReadFile(golden)
			if got != string(want) {
				t.Fatalf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestEnvExpansion(t *testing.T) {
	yaml := "workspace: {id: w}\nproviders:\n  - {name: a, type: openai_compatible, base_url: \"${BASE:-http://127.0.0.1:1/v1}\", api_key: \"${KEY}\"}\n"
	cfg, err := Parse("t.yaml", []byte(yaml), env(map[string]string{"KEY": "k: with # yaml chars"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Providers[0].APIKey.Value() != "k: with # yaml chars" || cfg.Providers[0].BaseURL != "http://127.0.0.1:1/v1" {
		t.Fatalf("%+v", cfg.Providers[0])
	}
}
