package providers

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/crisphq/crisp/config"
)

// needsKey lists the dialects that cannot work without a key; such a
// provider with an empty key is disabled rather than failing every call.
var needsKey = map[string]bool{"openai": true, "azure": true, "openrouter": true}

// Route is where one model goes.
type Route struct {
	Provider Provider
	// Model is the name sent upstream: the requested name after aliases.
	Model string
}

// Router maps model names to providers: aliases first, then exact names,
// then patterns in configuration order, then the default provider.
type Router struct {
	providers []entry
	byName    map[string]Provider
	aliases   map[string]string
	fallback  Provider // routing.default, or offline when it is all there is

	mu     sync.Mutex
	listed map[string]listing // upstream model lists, by provider
}

type entry struct {
	p        Provider
	exact    map[string]bool
	patterns []string
}

type listing struct {
	models []string
	at     time.Time
}

// Disabled describes a provider left out at start, for the start-up log.
type Disabled struct {
	Name, Reason string
}

// New builds the providers of cfg. The offline provider is always there
// under its own name; it takes every model only when no other provider is
// enabled, so a demo works and a real deployment never silently falls back.
func New(cfg *config.Config, now func() time.Time) (*Router, []Disabled, error) {
	r := &Router{byName: map[string]Provider{}, aliases: cfg.Routing.Aliases, listed: map[string]listing{}}
	off := NewOffline(now)
	r.byName[off.Name()] = off
	var disabled []Disabled
	for _, pc := range cfg.Providers {
		if needsKey[pc.Type] && pc.APIKey.Value() == "" {
			disabled = append(disabled, Disabled{pc.Name, "no api_key set"})
			continue
		}
		p, err := build(pc)
		if err != nil {
			return nil, nil, err
		}
		e := entry{p: p, exact: map[string]bool{}}
		for _, m := range pc.Models {
			if strings.Contains(m, "*") {
				e.patterns = append(e.patterns, m)
			} else {
				e.exact[m] = true
			}
		}
		for m := range pc.Deployments {
			e.exact[m] = true
		}
		r.providers = append(r.providers, e)
		r.byName[p.Name()] = p
	}
	switch {
	case cfg.Routing.Default != "":
		r.fallback = r.byName[cfg.Routing.Default]
		if r.fallback == nil {
			return nil, nil, fmt.Errorf("routing.default: provider %q is not enabled", cfg.Routing.Default)
		}
	case len(r.providers) == 0:
		r.fallback = off
	}
	r.providers = append(r.providers, entry{p: off, exact: map[string]bool{OfflineModel: true}})
	return r, disabled, nil
}

// build is the one place that knows every dialect.
func build(p config.Provider) (Provider, error) {
	switch p.Type {
	case "openai", "ollama", "openai_compatible":
		return newOpenAI(p)
	case "openrouter":
		return newOpenRouter(p)
	case "azure":
		return newAzure(p)
	}
	return nil, fmt.Errorf("provider %s: unknown type %q", p.Name, p.Type)
}

// Provider returns a provider by name.
func (r *Router) Provider(name string) (Provider, bool) {
	p, ok := r.byName[name]
	return p, ok
}

// OnlyOffline reports whether no real provider is enabled.
func (r *Router) OnlyOffline() bool { return len(r.providers) == 1 }

// Route finds the provider for a requested model.
func (r *Router) Route(model string) (Route, error) {
	if model == "" {
		return Route{}, fmt.Errorf("%w: no model given", ErrModelNotFound)
	}
	if target, ok := r.aliases[model]; ok {
		model = target
	}
	for _, e := range r.providers {
		if e.exact[model] {
			return Route{Provider: e.p, Model: model}, nil
		}
	}
	for _, e := range r.providers {
		for _, pat := range e.patterns {
			if MatchModel(pat, model) {
				return Route{Provider: e.p, Model: model}, nil
			}
		}
	}
	if r.fallback != nil {
		return Route{Provider: r.fallback, Model: model}, nil
	}
	return Route{}, fmt.Errorf("%w: no provider serves %q", ErrModelNotFound, model)
}

// MatchModel matches a model name against a pattern where * spans any
// characters, '/' included (vendor/model names).
func MatchModel(pattern, model string) bool {
	if pattern == "*" || pattern == model {
		return true
	}
	if ok, _ := path.Match(pattern, model); ok {
		return true
	}
	if before, after, found := strings.Cut(pattern, "*"); found && !strings.Contains(after, "*") {
		return len(model) >= len(before)+len(after) && strings.HasPrefix(model, before) && strings.HasSuffix(model, after)
	}
	return false
}

// ModelInfo is one listed model.
type ModelInfo struct {
	ID       string
	Provider string
	// Target is the model actually called: ID, or an alias's target.
	Target string
}

// listTTL is how long an upstream's model list is reused.
const listTTL = time.Minute

// Models lists every model a caller could route: configured exact names,
// aliases, and each provider's own list filtered by its patterns. A
// provider that cannot list is skipped, never fatal.
func (r *Router) Models(ctx context.Context) []ModelInfo {
	seen := map[string]bool{}
	var out []ModelInfo
	add := func(id, prov, target string) {
		if !seen[id] {
			seen[id] = true
			out = append(out, ModelInfo{ID: id, Provider: prov, Target: target})
		}
	}
	for _, e := range r.providers {
		for m := range e.exact {
			add(m, e.p.Name(), m)
		}
		if len(e.patterns) == 0 {
			continue
		}
		for _, m := range r.upstreamList(ctx, e.p) {
			for _, pat := range e.patterns {
				if MatchModel(pat, m) {
					add(m, e.p.Name(), m)
					break
				}
			}
		}
	}
	for alias, target := range r.aliases {
		if rt, err := r.Route(target); err == nil {
			add(alias, rt.Provider.Name(), rt.Model)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (r *Router) upstreamList(ctx context.Context, p Provider) []string {
	lister, ok := p.(ModelLister)
	if !ok {
		return nil
	}
	r.mu.Lock()
	l, ok := r.listed[p.Name()]
	r.mu.Unlock()
	if ok && time.Since(l.at) < listTTL {
		return l.models
	}
	models, err := lister.ListModels(ctx)
	if err != nil {
		return nil
	}
	r.mu.Lock()
	r.listed[p.Name()] = listing{models: models, at: time.Now()}
	r.mu.Unlock()
	return models
}
