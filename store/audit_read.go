package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The audit trail's read side: heads, pages, look-ups by id and the whole
// chain in order, all over blocks (auditblock.go).

// AuditHead returns the head of a workspace's chain, or ErrNotFound when the
// workspace has never had a record.
func (db *DB) AuditHead(ctx context.Context, ws string) (AuditHead, error) {
	var h AuditHead
	err := db.r.QueryRowContext(ctx, db.rebind(`SELECT seq, hash FROM audit_chain_heads WHERE workspace_id = ?`), ws).
		Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return AuditHead{}, fmt.Errorf("audit chain of workspace %q: %w", ws, ErrNotFound)
	}
	if err != nil {
		return AuditHead{}, fmt.Errorf("store: audit head: %w", err)
	}
	return h, nil
}

// AuditWorkspaces lists the workspaces that have an audit chain.
func (db *DB) AuditWorkspaces(ctx context.Context) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT workspace_id FROM audit_chain_heads ORDER BY workspace_id`)
	if err != nil {
		return nil, fmt.Errorf("store: audit workspaces: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var ws string
		if err := rows.Scan(&ws); err != nil {
			return nil, fmt.Errorf("store: audit workspaces: %w", err)
		}
		out = append(out, ws)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit workspaces: %w", err)
	}
	return out, nil
}

// AuditFilter selects records for ListAudit. Empty fields match everything.
type AuditFilter struct {
	From, To                                                               time.Time // From <= at < To
	Kind, Member, CustomerID, AccountID, Action, Decision, Model, Provider string
	// Ascending orders by seq oldest first; the default is newest first.
	Ascending bool
	// Limit is the page size: 50 when zero, at most 1000.
	Limit int
	// Cursor is the next value a previous page returned.
	Cursor string
}

// MaxAuditLimit bounds AuditFilter.Limit.
const MaxAuditLimit = 1000

// ListAudit returns one page of a workspace's records and the cursor of the
// next page ("" at the end). It reads blocks in seq order from the cursor,
// only those whose time range overlaps the filter's and that hold every term
// the filter names, and stops once the page is full.
func (db *DB) ListAudit(ctx context.Context, ws string, f AuditFilter) ([]AuditRow, string, error) {
	if err := checkWS(ws); err != nil {
		return nil, "", err
	}
	var b strings.Builder
	args := []any{ws}
	terms, seqCol := f.terms(), "b.first_seq" // the column that orders the scan
	if len(terms) > 0 {
		// The first term's index drives the scan, in seq order: a rare
		// value reads only its blocks, however many the workspace has.
		// (CROSS JOIN keeps SQLite's planner from driving by the blocks.)
		b.WriteString(`SELECT b.first_seq, b.body FROM audit_terms t0 CROSS JOIN audit_blocks b
			WHERE t0.workspace_id = ? AND t0.term = ? AND b.workspace_id = t0.workspace_id AND b.first_seq = t0.first_seq`)
		args = append(args, terms[0])
		terms, seqCol = terms[1:], "t0.first_seq"
	} else {
		b.WriteString(`SELECT b.first_seq, b.body FROM audit_blocks b WHERE b.workspace_id = ?`)
	}
	var after int64 // the cursor's seq: records past it in the page's order
	if f.Cursor != "" {
		last, err := decodeCursor(f.Cursor)
		seq, perr := strconv.ParseInt(last, 10, 64)
		if err != nil || perr != nil {
			return nil, "", fmt.Errorf("%w: malformed cursor", ErrInvalid)
		}
		after = seq
		if f.Ascending {
			// A block past the cursor starts at most a block's length
			// before it: the bound lets the index skip what is behind.
			b.WriteString(` AND b.last_seq > ? AND ` + seqCol + ` > ?`)
			args = append(args, seq, seq-maxBlockRecords)
		} else {
			b.WriteString(` AND ` + seqCol + ` < ?`)
			args = append(args, seq)
		}
	}
	if !f.From.IsZero() {
		b.WriteString(` AND b.max_at >= ?`)
		args = append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		b.WriteString(` AND b.min_at < ?`)
		args = append(args, micros(f.To))
	}
	for _, t := range terms {
		b.WriteString(` AND EXISTS (SELECT 1 FROM audit_terms t WHERE t.workspace_id = b.workspace_id AND t.term = ? AND t.first_seq = b.first_seq)`)
		args = append(args, t)
	}
	if f.Ascending {
		b.WriteString(` ORDER BY ` + seqCol)
	} else {
		b.WriteString(` ORDER BY ` + seqCol + ` DESC`)
	}
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxAuditLimit:
		limit = MaxAuditLimit
	}
	rows, err := db.r.QueryContext(ctx, db.rebind(b.String()), args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	page := []AuditRow{}
	keep := func(r *AuditRow) bool {
		if f.Cursor != "" && (f.Ascending && r.Seq <= after || !f.Ascending && r.Seq >= after) {
			return false
		}
		return f.matches(r)
	}
	err = scanBlocks(rows, ws, keep, func(_ int64, recs []AuditRow) bool {
		if !f.Ascending {
			slices.Reverse(recs)
		}
		page = append(page, recs...)
		return len(page) <= limit
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list audit: %w", err)
	}
	page, next := cut(page[:min(len(page), limit+1)], limit, func(r AuditRow) string { return strconv.FormatInt(r.Seq, 10) })
	return page, next, nil
}

// AuditRecord returns one record by id, or ErrNotFound. When from and to
// are not zero the record's time is known to lie in [from, to) (package
// audit's ids carry their time), and only the blocks that may hold it are
// read; otherwise every block of the workspace is.
func (db *DB) AuditRecord(ctx context.Context, ws, id string, from, to time.Time) (AuditRow, error) {
	q := `SELECT first_seq, body FROM audit_blocks WHERE workspace_id = ?`
	args := []any{ws}
	if !from.IsZero() && !to.IsZero() {
		q += ` AND max_at >= ? AND min_at < ? ORDER BY max_at`
		args = append(args, micros(from), micros(to))
	}
	rows, err := db.r.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return AuditRow{}, fmt.Errorf("store: audit record: %w", err)
	}
	defer rows.Close()
	var found *AuditRow
	err = scanBlocks(rows, ws, func(r *AuditRow) bool { return r.ID == id }, func(_ int64, recs []AuditRow) bool {
		if len(recs) > 0 {
			found = &recs[0]
		}
		return found == nil
	})
	if err != nil {
		return AuditRow{}, fmt.Errorf("store: audit record: %w", err)
	}
	if found == nil {
		return AuditRow{}, fmt.Errorf("audit record in workspace %q: %w", ws, ErrNotFound)
	}
	return *found, nil
}

// ScanAudit calls fn with every record of a workspace's chain in seq order
// and stops at fn's first error. A record whose block says it holds other
// seqs, times or terms than it does comes with Misfiled set. It reads one
// snapshot, scanBlocksPerRead blocks and their terms at a time, so memory
// stays bounded however long the chain.
func (db *DB) ScanAudit(ctx context.Context, ws string, fn func(AuditRow) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.engine == EnginePostgres {
		opts.Isolation = sql.LevelRepeatableRead // one snapshot for every read below
	}
	tx, err := db.r.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: scan audit: %w", err)
	}
	defer tx.Rollback() // read-only: nothing to keep, nothing to report
	after := int64(math.MinInt64)
	for {
		blocks, err := readBlocks(ctx, db, tx, ws, after)
		if err != nil || len(blocks) == 0 {
			return err
		}
		terms, err := readTerms(ctx, db, tx, ws, blocks[0].first, blocks[len(blocks)-1].first)
		if err != nil {
			return err
		}
		for _, b := range blocks {
			misfiled := blockMisfit(b, terms[b.first])
			for _, r := range b.rows {
				r.Misfiled = misfiled
				if err := fn(r); err != nil {
					return err
				}
			}
		}
		after = blocks[len(blocks)-1].first
	}
}

// scanBlocksPerRead is how many blocks ScanAudit holds at once.
const scanBlocksPerRead = 16

// storedBlock is one audit_blocks row, decoded.
type storedBlock struct {
	first, last, minAt, maxAt int64
	rows                      []AuditRow
}

func readBlocks(ctx context.Context, db *DB, tx *sql.Tx, ws string, after int64) ([]storedBlock, error) {
	rows, err := tx.QueryContext(ctx, db.rebind(`SELECT first_seq, last_seq, min_at, max_at, body FROM audit_blocks
		WHERE workspace_id = ? AND first_seq > ? ORDER BY first_seq LIMIT ?`), ws, after, scanBlocksPerRead)
	if err != nil {
		return nil, fmt.Errorf("store: scan audit: %w", err)
	}
	defer rows.Close()
	var (
		out  []storedBlock
		body sql.RawBytes
	)
	for rows.Next() {
		var b storedBlock
		if err := rows.Scan(&b.first, &b.last, &b.minAt, &b.maxAt, &body); err != nil {
			return nil, fmt.Errorf("store: scan audit: %w", err)
		}
		if b.rows, err = decodeBlock(ws, body, nil); err != nil {
			return nil, fmt.Errorf("%w (workspace %s, block at seq %d)", err, ws, b.first)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: scan audit: %w", err)
	}
	return out, nil
}

// readTerms returns the terms of the blocks from first to last, by block,
// each list in byte order whatever the database's collation.
func readTerms(ctx context.Context, db *DB, tx *sql.Tx, ws string, first, last int64) (map[int64][]string, error) {
	rows, err := tx.QueryContext(ctx, db.rebind(
		`SELECT first_seq, term FROM audit_terms WHERE workspace_id = ? AND first_seq >= ? AND first_seq <= ?`), ws, first, last)
	if err != nil {
		return nil, fmt.Errorf("store: audit terms: %w", err)
	}
	defer rows.Close()
	out := map[int64][]string{}
	for rows.Next() {
		var (
			seq int64
			t   string
		)
		if err := rows.Scan(&seq, &t); err != nil {
			return nil, fmt.Errorf("store: audit terms: %w", err)
		}
		out[seq] = append(out[seq], t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit terms: %w", err)
	}
	for _, ts := range out {
		slices.Sort(ts)
	}
	return out, nil
}

// blockMisfit says how a block's row disagrees with the records it holds,
// or "": a wrong seq range or time range or missing terms would hide
// records from lists and look-ups.
func blockMisfit(b storedBlock, terms []string) string {
	first, last, minAt, maxAt, recs := b.first, b.last, b.minAt, b.maxAt, b.rows
	if len(recs) == 0 {
		return fmt.Sprintf("block at seq %d holds no records", first)
	}
	if recs[0].Seq != first || recs[len(recs)-1].Seq != last {
		return fmt.Sprintf("block says it holds seq %d to %d, but holds %d to %d", first, last, recs[0].Seq, recs[len(recs)-1].Seq)
	}
	for _, r := range recs {
		if at := micros(r.At); at < minAt || at > maxAt {
			return fmt.Sprintf("block at seq %d says its records' times lie outside that of seq %d", first, r.Seq)
		}
	}
	for _, t := range blockTerms(recs) {
		if _, ok := slices.BinarySearch(terms, t); !ok {
			return fmt.Sprintf("block at seq %d is not filed under %q: filtered lists miss its records", first, t)
		}
	}
	return ""
}
