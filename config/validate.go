package config

import (
	"encoding/hex"
	"net"
	"net/url"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/crisphq/crisp/redact"
)

// ProviderTypes are the provider dialects crisp speaks.
var providerTypes = map[string]bool{
	"openai": true, "azure": true, "openrouter": true, "ollama": true, "openai_compatible": true,
}

type validator struct {
	*loader
	root *yaml.Node
}

// at finds the line of a value by its path of keys and indexes; it falls
// back to the nearest ancestor that exists so a missing field still points
// at its parent.
func (v *validator) at(path ...any) int {
	n, line := v.root, v.root.Line
	for _, p := range path {
		var next *yaml.Node
		switch p := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == p {
						next = n.Content[i+1]
						break
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && p < len(n.Content) {
				next = n.Content[p]
			}
		}
		if next == nil {
			return line
		}
		n, line = next, next.Line
	}
	return line
}

func (v *validator) validate(c *Config) {
	if c.Workspace.ID == "" {
		v.add(v.at("workspace"), "workspace.id", "is required")
	} else if !validID(c.Workspace.ID) {
		v.add(v.at("workspace", "id"), "workspace.id", "must be letters, digits, '-' or '_'")
	}
	if _, _, err := net.SplitHostPort(c.Server.Addr); err != nil {
		v.add(v.at("server", "addr"), "server.addr", "must be host:port: %v", err)
	}
	if c.Server.MaxBodyBytes < 0 {
		v.add(v.at("server", "max_body_bytes"), "server.max_body_bytes", "must be positive")
	}
	if (c.Server.TLS.Cert == "") != (c.Server.TLS.Key == "") {
		v.add(v.at("server", "tls"), "server.tls", "cert and key must be set together")
	}
	if !strings.HasPrefix(c.Storage.DSN, "sqlite:") && !strings.HasPrefix(c.Storage.DSN, "postgres://") && !strings.HasPrefix(c.Storage.DSN, "postgresql://") {
		v.add(v.at("storage", "dsn"), "storage.dsn", "must start with sqlite: or postgres://")
	}
	names := map[string]bool{"offline": true}
	for i, p := range c.Providers {
		v.validateProvider(i, p, names)
	}
	if d := c.Routing.Default; d != "" && !names[d] {
		v.add(v.at("routing", "default"), "routing.default", "names no provider %q", d)
	}
	for alias, target := range c.Routing.Aliases {
		if target == "" {
			v.add(v.at("routing", "aliases", alias), "routing.aliases."+alias, "needs a target model")
		}
	}
	ids := map[string]bool{}
	for i, k := range c.Keys {
		v.validateKey(i, k, ids)
	}
	kids := map[string]bool{}
	for i, sec := range c.Identity.Secrets {
		field := "identity.secrets[" + strconv.Itoa(i) + "]"
		if sec.ID == "" || kids[sec.ID] {
			v.add(v.at("identity", "secrets", i), field+".id", "is required and must be unique")
		}
		kids[sec.ID] = true
		if len(sec.Key.Value()) < 16 {
			v.add(v.at("identity", "secrets", i, "key"), field+".key", "must be at least 16 characters")
		}
	}
	for i, k := range c.Identity.RSAKeys {
		field := "identity.rsa_keys[" + strconv.Itoa(i) + "]"
		if k.ID == "" || kids[k.ID] || k.PublicKeyFile == "" {
			v.add(v.at("identity", "rsa_keys", i), field, "needs a unique id and a public_key_file")
		}
		kids[k.ID] = true
	}
	if _, err := redact.ParseDetectors(c.Redaction.Detectors...); err != nil {
		v.add(v.at("redaction", "detectors"), "redaction.detectors", "%v", err)
	}
	if err := c.Audit.Validate(); err != nil {
		v.add(v.at("audit"), "audit", "%v", err)
	}
	if c.Flags != "rewrite" && c.Flags != "reject" {
		v.add(v.at("flags"), "flags", "must be rewrite or reject")
	}
	switch c.Logging.Level {
	case "debug", "info", "warn", "error":
	default:
		v.add(v.at("logging", "level"), "logging.level", "must be debug, info, warn or error")
	}
	switch c.Logging.Format {
	case "auto", "json", "console":
	default:
		v.add(v.at("logging", "format"), "logging.format", "must be auto, json or console")
	}
}

func (v *validator) validateProvider(i int, p Provider, names map[string]bool) {
	field := "providers[" + strconv.Itoa(i) + "]"
	switch {
	case p.Name == "":
		v.add(v.at("providers", i), field+".name", "is required")
	case names[p.Name]:
		v.add(v.at("providers", i, "name"), field+".name", "%q is used twice (or is reserved)", p.Name)
	}
	names[p.Name] = true
	if !providerTypes[p.Type] {
		v.add(v.at("providers", i, "type"), field+".type", "must be one of openai, azure, openrouter, ollama, openai_compatible")
	}
	if p.Type == "azure" && p.BaseURL == "" {
		v.add(v.at("providers", i), field+".base_url", "is required for azure")
	}
	if p.BaseURL != "" {
		u, err := url.Parse(p.BaseURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			v.add(v.at("providers", i, "base_url"), field+".base_url", "must be an absolute http(s) URL")
		case u.Scheme == "http" && !IsLoopback(u.Hostname()) && !p.AllowInsecure:
			v.add(v.at("providers", i, "base_url"), field+".base_url",
				"must be https:// (transit is encrypted) unless the host is loopback or allow_insecure: true is set")
		}
	}
	for j, m := range p.Models {
		if m == "" {
			v.add(v.at("providers", i, "models", j), field+".models", "has an empty entry")
		}
	}
	if p.Timeouts.Connect < 0 || p.Timeouts.FirstByte < 0 || p.Timeouts.Idle < 0 {
		v.add(v.at("providers", i, "timeouts"), field+".timeouts", "must be positive")
	}
}

func (v *validator) validateKey(i int, k Key, ids map[string]bool) {
	field := "keys[" + strconv.Itoa(i) + "]"
	switch {
	case k.ID == "":
		v.add(v.at("keys", i), field+".id", "is required")
	case ids[k.ID]:
		v.add(v.at("keys", i, "id"), field+".id", "%q is used twice", k.ID)
	}
	ids[k.ID] = true
	if b, err := hex.DecodeString(k.SHA256); err != nil || len(b) != 32 || strings.ToLower(k.SHA256) != k.SHA256 {
		v.add(v.at("keys", i, "sha256"), field+".sha256", "must be 64 lowercase hex characters (crisp keys create prints it)")
	}
	if len(k.Prefix) != 12 {
		v.add(v.at("keys", i, "prefix"), field+".prefix", "must be the key's first 12 characters (crisp keys create prints it)")
	}
	if k.Kind != "member" && k.Kind != "workflow" {
		v.add(v.at("keys", i, "kind"), field+".kind", "must be member or workflow")
	}
	if k.Role == "" {
		v.add(v.at("keys", i), field+".role", "is required")
	}
	if len(k.Actions) == 0 {
		v.add(v.at("keys", i), field+".actions", "is required (e.g. [\"ai.*\"])")
	}
}

// IsLoopback reports whether host names this machine: localhost or a
// loopback IP, where plain http does not cross a network.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validID(s string) bool {
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return s != ""
}
