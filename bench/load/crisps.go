package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/crisphq/crisp/configs"
)

// The example customer the full cell names, and the identity secret its
// crisp verifies X-Crisp-User-Hash with (the example workspace's).
const (
	exampleUser    = "usr_2481"
	identitySecret = "acme-identity-secret"
)

// Target names of the crisp processes.
const (
	nameCrisp   = "crisp"
	nameNoAudit = "crisp-noaudit"
	nameFull    = "crisp+full"
)

// variant is one crisp process a run may start, and the -cells name that
// selects it.
type variant struct {
	cell    string // -cells name: crisp, noaudit, full
	name    string // target name in the report
	file    string // its folder under the run's temp dir, and its profile's name
	noAudit bool   // audit: {disabled: true}
	full    bool   // seed, identity secret, the assist model's alias: the whole pipeline runs
}

func crispVariants() []variant {
	return []variant{
		{cell: "crisp", name: nameCrisp, file: "crisp"},
		{cell: "noaudit", name: nameNoAudit, file: "crisp-noaudit", noAudit: true},
		{cell: "full", name: nameFull, file: "crisp-full", full: true},
	}
}

// crispChat is the chat request to the crisp of v at base: for the full
// crisp it names the example customer and expects the whole pipeline.
func crispChat(v variant, base string, body []byte, stream bool) call {
	if !v.full {
		return chatCall(base+chatPath, body, stream, nil)
	}
	c := chatCall(base+chatPath, body, stream, customerHeader())
	c.checkHeader = fullPipeline
	return c
}

// customerHeader names the example customer, signed: identity resolution,
// policy, the context pack and redaction then all run.
func customerHeader() http.Header {
	h := http.Header{}
	h.Set("X-Crisp-User-Id", exampleUser)
	h.Set("X-Crisp-User-Hash", signUser(identitySecret, exampleUser))
	return h
}

// fullPipeline checks an answer about the example customer went through
// the whole pipeline: the seed rule allowed it and the approved context was
// attached. A full cell that quietly fell back to ai.general would measure
// the plain proxy.
func fullPipeline(h http.Header) error {
	if d := h.Get("X-Crisp-Decision"); d != "allow; rule=support-draft" {
		return fmt.Errorf("X-Crisp-Decision %q, want the seed rule's allow", d)
	}
	if c := h.Get("X-Crisp-Context"); !strings.Contains(c, "account.plan") {
		return fmt.Errorf("X-Crisp-Context %q: no approved context attached", c)
	}
	return nil
}

// signUser is the documented X-Crisp-User-Hash: the lowercase hex
// HMAC-SHA256 of the user id under the identity secret. Computed here from
// the contract rather than with crisp's own code, so a drift shows.
func signUser(secret, user string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(user))
	return hex.EncodeToString(m.Sum(nil))
}

// writeCrispConfig writes a crisp definitions folder for v under dir and
// returns it: crisp.yaml with one openai_compatible provider at the fake
// upstream, the example workspace's keys and JSON logs at info (one line
// per request, as in production), beside the example catalog and policies
// that `crisp serve --config DIR` reads from the same folder. The full
// variant adds the seed data, the identity secret and the alias drafts
// route by.
func writeCrispConfig(dir string, v variant, addr, upstreamAddr string) (string, error) {
	folder := filepath.Join(dir, v.file)
	defs := []string{"catalog.yaml", "policies"}
	if v.full {
		defs = append(defs, "seed")
	}
	for _, d := range defs {
		if err := copyDefinitions(d, folder); err != nil {
			return "", err
		}
	}
	data, err := configs.FS.ReadFile("crisp.yaml")
	if err != nil {
		return "", err
	}
	var example struct {
		Workspace any `yaml:"workspace"`
		Keys      any `yaml:"keys"`
	}
	if err := yaml.Unmarshal(data, &example); err != nil {
		return "", fmt.Errorf("example crisp.yaml: %w", err)
	}
	cfg := map[string]any{
		"workspace": example.Workspace,
		"server":    map[string]any{"addr": addr},
		"storage":   map[string]any{"dsn": "sqlite:" + filepath.Join(folder, "crisp.db")},
		"providers": []any{map[string]any{
			"name": "fake", "type": "openai_compatible",
			"base_url": "http://" + upstreamAddr + "/v1",
			"models":   []string{"gpt-*"},
		}},
		"keys":     example.Keys,
		"logging":  map[string]any{"level": "info", "format": "json"},
		"catalog":  "catalog.yaml",
		"policies": "policies",
	}
	if v.noAudit {
		cfg["audit"] = map[string]any{"disabled": true}
	}
	if v.full {
		cfg["seed"] = true
		cfg["identity"] = map[string]any{"secrets": []any{map[string]any{"id": "s1", "key": identitySecret}}}
		cfg["routing"] = map[string]any{"aliases": map[string]string{"crisp-default": "gpt-4o-mini"}}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	path := filepath.Join(folder, "crisp.yaml")
	return path, os.WriteFile(path, out, 0o600)
}

// copyDefinitions copies a file or folder of the example workspace
// (configs/, as embedded) into dst.
func copyDefinitions(name, dst string) error {
	return fs.WalkDir(configs.FS, name, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("example %s: %w", name, err)
		}
		to := filepath.Join(dst, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := configs.FS.ReadFile(p)
		if err == nil {
			err = os.MkdirAll(filepath.Dir(to), 0o755)
		}
		if err == nil {
			err = os.WriteFile(to, b, 0o644)
		}
		return err
	})
}
