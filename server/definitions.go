package server

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/config"
	"github.com/crisphq/crisp/configs"
	"github.com/crisphq/crisp/policy"
)

// definitions are the workspace's definitions as code: the catalog and the
// compiled policy, from the folder beside crisp.yaml or from the example
// workspace embedded in the binary.
type definitions struct {
	fsys    fs.FS
	catalog *catalog.Catalog
	cache   *policy.Cache
	engine  *policy.Engine  // the embedded policy, which never changes
	watcher *policy.Watcher // a policy on disk, reloaded when its files change
}

// DecisionCacheSize bounds the policy decision cache.
const DecisionCacheSize = 10_000

// loadDefinitions reads the definitions; edit, when set, rewrites the
// catalog's text before it is parsed (the UI's overlay edits).
func loadDefinitions(cfg *config.Config, edit func([]byte) ([]byte, error)) (*definitions, error) {
	d := &definitions{fsys: configs.FS}
	if cfg.Dir != "" {
		d.fsys = os.DirFS(cfg.Dir)
	}
	data, err := fs.ReadFile(d.fsys, cfg.Catalog)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	if edit != nil {
		if data, err = edit(data); err != nil {
			return nil, fmt.Errorf("catalog edits: %w", err)
		}
	}
	if d.catalog, err = catalog.Parse(displayName(cfg, cfg.Catalog), data); err != nil {
		return nil, err
	}
	if d.cache, err = policy.NewCache(DecisionCacheSize); err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		d.engine, err = policy.LoadFS(configs.FS, cfg.Policies, d.catalog, policy.WithCache(d.cache))
	} else {
		d.watcher, err = policy.NewWatcher(filepath.Join(cfg.Dir, cfg.Policies), d.catalog, policy.WithCache(d.cache))
	}
	if err != nil {
		d.cache.Close()
		return nil, err
	}
	return d, nil
}

func displayName(cfg *config.Config, name string) string {
	if cfg.Dir == "" {
		return "configs/" + name
	}
	return filepath.Join(cfg.Dir, name)
}

func (d *definitions) decider() interface {
	Decide(policy.Input) policy.Decision
} {
	if d.watcher != nil {
		return d.watcher
	}
	return d.engine
}

// watch reloads a policy on disk until ctx ends.
func (d *definitions) watch(ctx context.Context) {
	if d.watcher == nil {
		<-ctx.Done()
		return
	}
	_ = d.watcher.Run(ctx, time.Second)
}

func (d *definitions) close() { d.cache.Close() }

// policyVersion is the hash of the policy in force.
func (d *definitions) policyVersion() string {
	if d.watcher != nil {
		return d.watcher.Engine().Version()
	}
	return d.engine.Version()
}
