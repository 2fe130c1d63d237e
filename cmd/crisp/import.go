package main

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/identity/segment"
	"github.com/crisphq/crisp/store"
)

const importSynopsis = `Imports customers, accounts and events into the workspace's store:
  FILE.jsonl   one Segment message per line: identify, group, track (page, screen)
  FILE.csv     with --kind, a header row naming the columns, then one row each:
               customers  id,email,name,account_id,role   other columns are traits
               accounts   id,name,plan,subscription       other columns are traits
               events     customer_id,name,timestamp      other columns are properties
Trait cells are typed as the catalog types the field (numbers, true/false,
lists as JSON or a;b;c); other cells stay text. Every row of every file is
checked first: one bad row and nothing is written, and the error names its
FILE:LINE. Rows are written 500 per batch, with progress on stderr.
A running crisp serve may keep serving customers it has cached until it
restarts; send live updates to its /ingest/v1 API instead.`

func runImport(ctx context.Context, e env, args []string) error {
	fset := newFlags("import", importSynopsis, e)
	var c common
	c.register(fset, e)
	kind := fset.String("kind", "", "what each row of the CSV files is: customers, accounts or events")
	dryRun := fset.Bool("dry-run", false, "check every row and write nothing")
	every := fset.Int("progress", 10_000, "report progress every N rows")
	if err := fset.Parse(args); err != nil {
		return err
	}
	if fset.NArg() == 0 {
		fset.Usage()
		return errUsage
	}
	cfg, d, err := c.loadDefs(e)
	if err != nil {
		return err
	}
	cat, err := loadCatalog(d, cfg.Catalog)
	if err != nil {
		return err
	}
	files := make([]segment.File, 0, fset.NArg())
	for _, name := range fset.Args() {
		f, err := segment.OpenFile(name, *kind)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	db, err := store.Open(ctx, cfg.Storage.DSN)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	if err := db.EnsureWorkspace(ctx, store.Workspace{ID: cfg.Workspace.ID, Name: cfg.Workspace.Name}); err != nil {
		return err
	}
	res, err := segment.Import(ctx, segment.ImportOptions{
		Workspace: cfg.Workspace.ID, Store: db, Catalog: cat, DryRun: *dryRun, ProgressEvery: *every,
		Progress: func(p segment.Progress) {
			if !p.Done {
				fmt.Fprintf(e.stderr, "imported %d of %d rows (%s)\n", p.Rows, p.Total, rate(p.Rows, p.Elapsed))
			}
		},
	}, files...)
	if err != nil {
		return err
	}
	if *dryRun {
		fmt.Fprintf(e.stderr, "checked %d rows in %s: all good, nothing written (--dry-run)\n", res.Rows, fileCount(res.Files))
		return nil
	}
	w := res.Written
	fmt.Fprintf(e.stderr, "imported %d rows from %s in %s (%s) into workspace %s: %d accounts, %d customers, %d memberships, %d traits, %d events (%d already stored)\n",
		res.Rows, fileCount(res.Files), res.Elapsed.Round(time.Millisecond), rate(res.Rows, res.Elapsed), cfg.Workspace.ID,
		w.Accounts, w.Customers, w.Memberships, w.Traits, w.Events, w.Duplicates)
	return nil
}

func fileCount(n int) string {
	if n == 1 {
		return "1 file"
	}
	return fmt.Sprintf("%d files", n)
}

func rate(rows int, d time.Duration) string {
	if d <= 0 {
		return "– rows/s"
	}
	return fmt.Sprintf("%.0f rows/s", float64(rows)/d.Seconds())
}

// loadCatalog reads the catalog the configuration names.
func loadCatalog(d defs, file string) (*catalog.Catalog, error) {
	data, err := fs.ReadFile(d.fsys, file)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	name := file
	if d.dir != "" {
		name = d.dir + "/" + file
	}
	return catalog.Parse(name, data)
}
