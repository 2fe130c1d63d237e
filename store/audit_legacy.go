package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// moveAuditRows moves the records an earlier version stored a row each
// (audit_records, before migration 0004) into blocks, in one transaction,
// and leaves audit_records empty. It runs at every Open; with nothing to
// move it is one read.
func (db *DB) moveAuditRows(ctx context.Context) error {
	const chunk = maxBlockRecords
	var any int
	switch err := db.r.QueryRowContext(ctx, `SELECT 1 FROM audit_records LIMIT 1`).Scan(&any); {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("store: look for audit records to move: %w", err)
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if db.engine == EnginePostgres {
			// Replicas starting together must not both move the same rows;
			// the second finds none left once it has the lock.
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7262292)"); err != nil {
				return fmt.Errorf("store: move audit records into blocks: %w", err)
			}
		}
		for {
			rows, err := readLegacyAudit(ctx, db, tx, chunk)
			if err != nil || len(rows) == 0 {
				return err
			}
			for start := 0; start < len(rows); {
				ws := rows[start].WorkspaceID
				end := start
				w := &writer{db: db, tx: tx, ws: ws, now: micros(db.now())}
				var bb blockBuilder
				for ; end < len(rows) && rows[end].WorkspaceID == ws; end++ {
					bb.add(rows[end], micros(rows[end].At))
				}
				if err := bb.insert(ctx, w); err != nil {
					return fmt.Errorf("store: move audit records into blocks: %w", err)
				}
				if _, err := tx.ExecContext(ctx, db.rebind(`DELETE FROM audit_records WHERE workspace_id = ? AND seq <= ?`),
					ws, rows[end-1].Seq); err != nil {
					return fmt.Errorf("store: move audit records into blocks: %w", err)
				}
				start = end
			}
		}
	})
}

func readLegacyAudit(ctx context.Context, db *DB, tx *sql.Tx, limit int) ([]AuditRow, error) {
	rows, err := tx.QueryContext(ctx, db.rebind(`SELECT workspace_id, seq, id, kind, at, member, customer_id, account_id,
		action, decision, model, provider, status, body, prev_hash, hash FROM audit_records ORDER BY workspace_id, seq LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("store: read audit records to move: %w", err)
	}
	defer rows.Close()
	var out []AuditRow
	for rows.Next() {
		var (
			r  AuditRow
			at int64
		)
		if err := rows.Scan(&r.WorkspaceID, &r.Seq, &r.ID, &r.Kind, &at, &r.Member, &r.CustomerID, &r.AccountID,
			&r.Action, &r.Decision, &r.Model, &r.Provider, &r.Status, &r.Body, &r.PrevHash, &r.Hash); err != nil {
			return nil, fmt.Errorf("store: read audit records to move: %w", err)
		}
		r.At = fromMicros(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read audit records to move: %w", err)
	}
	return out, nil
}
