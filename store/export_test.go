package store

import (
	"context"
	"time"
)

// Test-only access to internals.

// SetClock replaces the store's clock.
func SetClock(db *DB, now func() time.Time) { db.now = now }

// RebindDollar exposes the placeholder rewriter.
var RebindDollar = rebindDollar

// WriterPragma reads a pragma on the SQLite write connection.
func WriterPragma(ctx context.Context, db *DB, name string) (string, error) {
	var v string
	err := db.w.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}

// ReaderPragma reads a pragma on an SQLite read connection.
func ReaderPragma(ctx context.Context, db *DB, name string) (string, error) {
	var v string
	err := db.r.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}

// CountRows counts a table's rows in every workspace.
func CountRows(ctx context.Context, db *DB, table string) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n)
	return n, err
}

// CountWorkspaceRows counts a table's rows in one workspace.
func CountWorkspaceRows(ctx context.Context, db *DB, table, ws string) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, db.rebind("SELECT COUNT(*) FROM "+table+" WHERE workspace_id = ?"), ws).Scan(&n)
	return n, err
}

// Exec runs a statement on the write pool (placeholders as ?).
func Exec(ctx context.Context, db *DB, q string, args ...any) error {
	_, err := db.w.ExecContext(ctx, db.rebind(q), args...)
	return err
}

// EncodeAuditBlockUnpacked encodes rows as blocks were stored before they
// were packed (blockFormat), which must still read.
func EncodeAuditBlockUnpacked(rows []AuditRow) []byte {
	bb := blockOf(rows)
	if bb.n == 0 {
		return []byte{blockFormat}
	}
	return bb.body
}

// AuditBlockSizes lists the stored size and record count of a workspace's
// blocks, in seq order.
func AuditBlockSizes(ctx context.Context, db *DB, ws string) (sizes, counts []int, err error) {
	rows, err := db.r.QueryContext(ctx, db.rebind(
		`SELECT LENGTH(body), last_seq - first_seq + 1 FROM audit_blocks WHERE workspace_id = ? ORDER BY first_seq`), ws)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s, c int
		if err := rows.Scan(&s, &c); err != nil {
			return nil, nil, err
		}
		sizes, counts = append(sizes, s), append(counts, c)
	}
	return sizes, counts, rows.Err()
}
