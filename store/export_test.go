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
