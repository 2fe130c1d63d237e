package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Watcher holds the policy compiled from a directory and reloads it when
// its *.rules files change. Decisions always use one whole engine: a reload
// swaps the pointer atomically, and a broken edit keeps the engine in force.
type Watcher struct {
	dir  string
	opts []Option
	cur  atomic.Pointer[Engine]

	mu  sync.Mutex // serialises reloads
	cat Catalog

	// OnChange, when set before Run, hears of every reload that swapped
	// the policy in force (the server records it in the audit trail).
	OnChange func(ctx context.Context, before, after string)
	lastBad  string // version of the last broken sources, reported once
}

// NewWatcher compiles the policy in dir; it fails when that first compile
// does. Nothing runs until Run is called.
func NewWatcher(dir string, cat Catalog, opts ...Option) (*Watcher, error) {
	w := &Watcher{dir: dir, cat: cat, opts: opts}
	if _, err := w.Reload(); err != nil {
		return nil, err
	}
	return w, nil
}

// Engine returns the engine in force.
func (w *Watcher) Engine() *Engine { return w.cur.Load() }

// Decide decides with the engine in force.
func (w *Watcher) Decide(in Input) Decision { return w.cur.Load().Decide(in) }

// Run polls the directory every interval (1s when zero) and reloads on a
// change, until ctx ends; it returns ctx's error. The caller owns the
// goroutine it runs on. A change is applied once the files have stayed the
// same for one interval, so a save caught half written (which could drop a
// deny rule) is never compiled. Reloads and broken edits are logged to the
// zerolog logger in ctx, broken ones with every problem at its
// file:line:col, once per broken version.
func (w *Watcher) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Second
	}
	log := zerolog.Ctx(ctx)
	t := time.NewTicker(interval)
	defer t.Stop()
	pending := ""
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		srcs, version, err := w.read()
		if err == nil && version != w.Engine().Version() && version != pending {
			pending = version // changed: wait for it to settle
			continue
		}
		pending = ""
		before := w.Engine().Version()
		changed, err := w.apply(srcs, version, err)
		var list ErrorList
		switch {
		case errors.As(err, &list):
			log.Error().Str("dir", w.dir).Str("kept", short(before)).Strs("problems", problemLines(list)).
				Msg("policy reload failed; keeping the policy in force")
		case err != nil:
			log.Error().Str("dir", w.dir).Str("kept", short(before)).Err(err).
				Msg("policy reload failed; keeping the policy in force")
		case changed:
			log.Info().Str("dir", w.dir).Str("from", short(before)).Str("to", short(w.Engine().Version())).
				Msg("policy reloaded")
			if w.OnChange != nil {
				w.OnChange(ctx, before, w.Engine().Version())
			}
		}
	}
}

func short(v string) string { return v[:min(len(v), len("sha256:")+12)] }

func problemLines(l ErrorList) []string {
	out := make([]string, len(l))
	for i, e := range l {
		out[i] = e.Error()
	}
	return out
}

// Reload reads the directory and, when the sources differ from the engine
// in force, compiles them and swaps. It compares contents, not file times:
// rules files are small, and a save within one clock tick must not be
// missed. On an error the engine in force stays, and the same broken
// sources are reported once, not on every call.
func (w *Watcher) Reload() (changed bool, err error) {
	srcs, version, err := w.read()
	return w.apply(srcs, version, err)
}

func (w *Watcher) read() ([]Source, string, error) {
	srcs, err := ReadSources(os.DirFS(w.dir), ".", filepath.Base(w.dir))
	if err != nil {
		return nil, "", err
	}
	return srcs, versionOf(srcs), nil
}

func (w *Watcher) apply(srcs []Source, version string, readErr error) (changed bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if readErr != nil {
		if w.lastBad == readErr.Error() {
			return false, nil
		}
		w.lastBad = readErr.Error()
		return false, readErr
	}
	cur := w.cur.Load()
	if cur != nil && version == cur.Version() {
		w.lastBad = ""
		return false, nil
	}
	if version == w.lastBad {
		return false, nil
	}
	e, err := Compile(srcs, w.cat, w.opts...)
	if err != nil {
		w.lastBad = version
		return false, err
	}
	w.lastBad = ""
	w.cur.Store(e)
	return true, nil
}

// SetCatalog recompiles the rules in force against a new catalog and swaps;
// on an error (a rule names a field the new catalog lacks) both stay.
func (w *Watcher) SetCatalog(cat Catalog) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	srcs, err := ReadSources(os.DirFS(w.dir), ".", filepath.Base(w.dir))
	if err != nil {
		return err
	}
	e, err := Compile(srcs, cat, w.opts...)
	if err != nil {
		return err
	}
	w.cat, w.lastBad = cat, ""
	w.cur.Store(e)
	return nil
}
