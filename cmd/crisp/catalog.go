package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/crisphq/crisp/catalog"
)

const catalogSynopsis = `catalog lint          check the catalog: every problem with its file:line; exits 1 on an error
catalog diff REV      compare the catalog with its version at git revision REV (e.g. HEAD,
                      main): fields added, removed, retyped, and any visibility widened`

func runCatalog(_ context.Context, e env, args []string) error {
	if len(args) == 0 || (args[0] != "lint" && args[0] != "diff") {
		fmt.Fprintln(e.stderr, "Usage: crisp catalog lint|diff [flags]\n\n"+catalogSynopsis)
		return errUsage
	}
	sub := args[0]
	fset := newFlags("catalog "+sub, catalogSynopsis, e)
	var c common
	c.register(fset, e)
	if err := fset.Parse(args[1:]); err != nil {
		return err
	}
	cfg, d, err := c.loadDefs(e)
	if err != nil {
		return err
	}
	data, err := fs.ReadFile(d.fsys, cfg.Catalog)
	if err != nil {
		return fmt.Errorf("read catalog: %w", err)
	}
	name := filepath.Join(d.dir, cfg.Catalog)
	if d.dir == "" {
		name = "configs/" + cfg.Catalog
	}
	cat, err := catalog.Parse(name, data)
	if err != nil {
		return err
	}
	switch sub {
	case "lint":
		problems := catalog.Lint(cat)
		for _, p := range problems {
			fmt.Fprintln(e.stdout, p)
		}
		if catalog.HasErrors(problems) {
			return fmt.Errorf("%s: lint found errors", name)
		}
		fmt.Fprintf(e.stdout, "%s: %d fields, %d events, %d warnings\n", name, len(cat.Fields()), len(cat.Events()), len(problems))
		return nil
	default:
		if fset.NArg() != 1 {
			return fmt.Errorf("usage: crisp catalog diff REV")
		}
		dir := d.dir
		if dir == "" {
			dir = "configs" // the example workspace, from the repository root
		}
		abs, _ := filepath.Abs(filepath.Join(dir, cfg.Catalog))
		root, rel, err := gitRoot(abs)
		if err != nil {
			return err
		}
		res, err := catalog.DiffGit(root, fset.Arg(0), rel, cat)
		if err != nil {
			return err
		}
		return res.Format(e.stdout)
	}
}

// gitRoot finds the repository holding path and path relative to it.
func gitRoot(path string) (root, rel string, err error) {
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			rel, err := filepath.Rel(dir, path)
			return dir, filepath.ToSlash(rel), err
		}
		if dir == filepath.Dir(dir) {
			return "", "", fmt.Errorf("%s is not in a git repository", path)
		}
	}
}
