package segment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/store"
)

// Import file kinds: JSONL holds one Segment message per line; a CSV file
// holds one customer, account or event per row.
const (
	KindJSONL     = "jsonl"
	KindCustomers = "customers"
	KindAccounts  = "accounts"
	KindEvents    = "events"
)

// File is one file to import.
type File struct {
	Name string // shown in messages and errors
	Kind string // KindJSONL or a CSV kind
	Open func() (io.ReadCloser, error)
}

// OpenFile names a file on disk. Its extension picks the format: .jsonl or
// .ndjson is JSONL, .csv is CSV of csvKind (customers, accounts or events).
func OpenFile(name, csvKind string) (File, error) {
	return fileFor(name, csvKind, func() (io.ReadCloser, error) { return os.Open(name) })
}

// FSFile is OpenFile for a file in fsys, such as the embedded seed.
func FSFile(fsys fs.FS, name, csvKind string) (File, error) {
	return fileFor(name, csvKind, func() (io.ReadCloser, error) { return fsys.Open(name) })
}

func fileFor(name, csvKind string, open func() (io.ReadCloser, error)) (File, error) {
	switch strings.ToLower(path.Ext(name)) {
	case ".jsonl", ".ndjson":
		return File{Name: name, Kind: KindJSONL, Open: open}, nil
	case ".csv":
		if _, ok := csvSpecs[csvKind]; !ok {
			return File{}, fmt.Errorf("%s: a CSV file needs --kind customers, accounts or events", name)
		}
		return File{Name: name, Kind: csvKind, Open: open}, nil
	}
	return File{}, fmt.Errorf("%s: unknown format (want .jsonl, .ndjson or .csv)", name)
}

// ImportOptions configure Import.
type ImportOptions struct {
	Workspace   string
	Store       Store
	Invalidator Invalidator // nil when nothing caches customers
	// Catalog types CSV cells (numbers, bools, lists, times) for the fields
	// it defines; other cells are kept as text. Nil keeps every cell text.
	Catalog *catalog.Catalog
	// Source is recorded on every trait and event. Default "import".
	Source string
	// BatchRows is how many rows go in one store batch. Default 500.
	BatchRows int
	// ProgressEvery is how often, in rows, Progress is called while
	// writing (and once at the end). Default 10000.
	ProgressEvery int
	Progress      func(Progress)
	// DryRun validates every file and writes nothing.
	DryRun bool
	Now    func() time.Time
}

// Progress is how far an import has got.
type Progress struct {
	Rows    int // rows written so far
	Total   int // rows in all the files
	Elapsed time.Duration
	Done    bool
}

// ImportResult says what an import wrote.
type ImportResult struct {
	Files   int
	Rows    int
	Written store.BatchResult // summed over the batches
	Ignored int               // alias and anonymous-only messages
	Elapsed time.Duration
}

// RowsError lists the rows an import refused. When Import returns it,
// nothing was written.
type RowsError struct {
	Problems []string // "FILE:LINE: problem", at most maxProblems
	More     bool     // there were more
}

func (e *RowsError) Error() string {
	s := strings.Join(e.Problems, "\n")
	if e.More {
		s += "\n(and more)"
	}
	return s + "\nnothing was imported"
}

const maxProblems = 10

// Import validates every row of every file, and only when all are good
// writes them, BatchRows rows per store batch, so a bad row anywhere
// writes nothing. (A file that changes between the two readings can still
// fail midway; the error then says how many rows were written.)
func Import(ctx context.Context, opts ImportOptions, files ...File) (ImportResult, error) {
	if opts.Source == "" {
		opts.Source = "import"
	}
	if opts.BatchRows <= 0 {
		opts.BatchRows = 500
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 10_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	start := opts.Now()
	// One clock for the whole import: rows without a time of their own all
	// happen at its start.
	clk := clock{received: start.UTC()}
	res := ImportResult{Files: len(files)}
	rowsErr := &RowsError{}
	for _, f := range files {
		n, err := scan(ctx, f, clk, opts.Catalog, rowsErr, nil)
		if err != nil {
			return ImportResult{}, err
		}
		res.Rows += n
	}
	if len(rowsErr.Problems) > 0 {
		return ImportResult{}, rowsErr
	}
	if opts.DryRun {
		res.Elapsed = opts.Now().Sub(start)
		return res, nil
	}
	w := &importWriter{ctx: ctx, opts: opts, clk: clk, start: start, total: res.Rows, res: &res}
	for _, f := range files {
		if _, err := scan(ctx, f, clk, opts.Catalog, rowsErr, w.row); err != nil {
			return res, fmt.Errorf("after %d rows were written: %w", w.written, err)
		}
		if len(rowsErr.Problems) > 0 {
			return res, fmt.Errorf("after %d rows were written: %w", w.written, rowsErr)
		}
	}
	if err := w.flush(); err != nil {
		return res, fmt.Errorf("after %d rows were written: %w", w.written, err)
	}
	res.Elapsed = opts.Now().Sub(start)
	if opts.Progress != nil {
		opts.Progress(Progress{Rows: w.written, Total: res.Rows, Elapsed: res.Elapsed, Done: true})
	}
	return res, nil
}

// scan reads every row of f, adding what is wrong to problems (up to
// maxProblems) and, when each is not nil, handing it every good row.
func scan(ctx context.Context, f File, clk clock, cat *catalog.Catalog, problems *RowsError,
	each func([]message) error) (int, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", f.Name, err)
	}
	defer rc.Close()
	var rows rowReader
	if f.Kind == KindJSONL {
		rows = newJSONLReader(rc, clk)
	} else {
		cr, err := newCSVReader(rc, f.Kind, clk, cat)
		if err != nil {
			return 0, problem(f.Name, 1, err, problems)
		}
		rows = cr
	}
	n := 0
	for {
		if n%1000 == 0 && ctx.Err() != nil {
			return n, ctx.Err()
		}
		msgs, err := rows.next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			if perr := problem(f.Name, rows.line(), err, problems); perr != nil {
				return n, perr
			}
			if problems.More {
				return n, nil
			}
			continue
		}
		n++
		if each != nil {
			if err := each(msgs); err != nil {
				return n, err
			}
		}
	}
}

// problem records a row's problem, or returns err when it is not one.
func problem(name string, line int, err error, problems *RowsError) error {
	var p *rowProblem
	if !errors.As(err, &p) {
		return fmt.Errorf("%s:%d: %w", name, line, err)
	}
	if len(problems.Problems) == maxProblems {
		problems.More = true
		return nil
	}
	problems.Problems = append(problems.Problems, fmt.Sprintf("%s:%d: %v", name, line, p.err))
	return nil
}

// importWriter gathers rows into batches and writes them.
type importWriter struct {
	ctx     context.Context
	opts    ImportOptions
	clk     clock
	start   time.Time
	total   int
	res     *ImportResult
	pending []message
	rows    int // rows in pending
	written int // rows written
}

func (w *importWriter) row(msgs []message) error {
	w.pending = append(w.pending, msgs...)
	w.rows++
	// A batch also ends where progress is due, so progress counts rows
	// that are written.
	if w.rows < w.opts.BatchRows && (w.written+w.rows)%w.opts.ProgressEvery != 0 {
		return nil
	}
	return w.flush()
}

func (w *importWriter) flush() error {
	if w.rows == 0 {
		return nil
	}
	b := newBuilder(w.opts.Source, w.clk.received)
	b.addAll(w.pending)
	if !b.empty() {
		r, err := w.opts.Store.Apply(w.ctx, w.opts.Workspace, b.batch)
		if err != nil {
			return err
		}
		b.invalidate(w.opts.Invalidator, w.opts.Workspace)
		add(&w.res.Written, r)
	}
	w.res.Ignored += b.ignored
	before := w.written
	w.written += w.rows
	w.pending, w.rows = w.pending[:0], 0
	every := w.opts.ProgressEvery
	if w.opts.Progress != nil && w.written/every > before/every && w.written < w.total {
		w.opts.Progress(Progress{Rows: w.written, Total: w.total, Elapsed: w.opts.Now().Sub(w.start)})
	}
	return nil
}

func add(sum *store.BatchResult, r store.BatchResult) {
	sum.Accounts += r.Accounts
	sum.Customers += r.Customers
	sum.Memberships += r.Memberships
	sum.Traits += r.Traits
	sum.Events += r.Events
	sum.Duplicates += r.Duplicates
}
