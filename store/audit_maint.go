package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Upkeep of the audit trail: checkpoints, retention pruning, and the
// bookkeeping that lets a restarted or sibling writer find intents that a
// crashed process left behind.

// AuditCheckpoint is a workspace's chain head at a moment, signed when a key
// is configured. After pruning, PrunedSeq and PrunedHash name the last
// removed record, which the first remaining record's prev_hash must match.
type AuditCheckpoint struct {
	WorkspaceID string
	ID          string
	At          time.Time
	Seq         int64
	Hash        string
	PrunedSeq   int64
	PrunedHash  string
	PublicKey   string // hex ed25519 public key; "" when unsigned
	Signature   string // hex ed25519 signature; "" when unsigned
}

// PutAuditCheckpoint stores a checkpoint.
func (db *DB) PutAuditCheckpoint(ctx context.Context, c AuditCheckpoint) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return insertCheckpoint(ctx, db, tx, c) })
}

func insertCheckpoint(ctx context.Context, db *DB, tx *sql.Tx, c AuditCheckpoint) error {
	if err := checkWS(c.WorkspaceID); err != nil {
		return err
	}
	if c.ID == "" {
		return fmt.Errorf("%w: audit checkpoint without an id", ErrInvalid)
	}
	_, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO audit_checkpoints (workspace_id, id, at, seq, hash,
		pruned_seq, pruned_hash, public_key, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		c.WorkspaceID, c.ID, db.stamp(c.At), c.Seq, c.Hash, c.PrunedSeq, c.PrunedHash, c.PublicKey, c.Signature)
	if err != nil {
		return fmt.Errorf("store: put audit checkpoint: %w", err)
	}
	return nil
}

// AuditCheckpoints returns a workspace's checkpoints ordered by seq, then time.
func (db *DB) AuditCheckpoints(ctx context.Context, ws string) ([]AuditCheckpoint, error) {
	rows, err := db.r.QueryContext(ctx, db.rebind(`SELECT workspace_id, id, at, seq, hash, pruned_seq, pruned_hash,
		public_key, signature FROM audit_checkpoints WHERE workspace_id = ? ORDER BY seq, at, id`), ws)
	if err != nil {
		return nil, fmt.Errorf("store: audit checkpoints: %w", err)
	}
	defer rows.Close()
	out := []AuditCheckpoint{}
	for rows.Next() {
		var (
			c  AuditCheckpoint
			at int64
		)
		if err := rows.Scan(&c.WorkspaceID, &c.ID, &at, &c.Seq, &c.Hash, &c.PrunedSeq, &c.PrunedHash,
			&c.PublicKey, &c.Signature); err != nil {
			return nil, fmt.Errorf("store: scan audit checkpoint: %w", err)
		}
		c.At = fromMicros(at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit checkpoints: %w", err)
	}
	return out, nil
}

// PruneAudit removes the oldest records of a workspace's chain: every record
// up to (not including) the first one at or after before, so only a prefix of
// the chain goes and what stays still links. In the same transaction it
// stores the checkpoint seal returns for the last pruned record and the
// current head. It returns how many records it removed (0, storing nothing,
// when none is old enough).
func (db *DB) PruneAudit(ctx context.Context, ws string, before time.Time,
	seal func(pruned, head AuditHead) (AuditCheckpoint, error)) (int64, error) {
	if err := checkWS(ws); err != nil {
		return 0, err
	}
	var removed int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		w := &writer{db: db, tx: tx, ws: ws, now: micros(db.now())}
		head, err := w.lockHead(ctx)
		if err != nil {
			return err
		}
		var first, keep sql.NullInt64
		if err := tx.QueryRowContext(ctx, db.rebind(`SELECT MIN(seq) FROM audit_records WHERE workspace_id = ?`), ws).
			Scan(&first); err != nil {
			return fmt.Errorf("store: prune audit: %w", err)
		}
		if err := tx.QueryRowContext(ctx, db.rebind(`SELECT MIN(seq) FROM audit_records WHERE workspace_id = ? AND at >= ?`),
			ws, micros(before)).Scan(&keep); err != nil {
			return fmt.Errorf("store: prune audit: %w", err)
		}
		last := head.Seq // nothing recent: prune it all
		if keep.Valid {
			last = keep.Int64 - 1
		}
		if !first.Valid || last < first.Int64 {
			return nil
		}
		pruned := AuditHead{Seq: last}
		if err := tx.QueryRowContext(ctx, db.rebind(`SELECT hash FROM audit_records WHERE workspace_id = ? AND seq = ?`),
			ws, last).Scan(&pruned.Hash); err != nil {
			return fmt.Errorf("store: prune audit: last pruned record %d: %w", last, err)
		}
		res, err := tx.ExecContext(ctx, db.rebind(`DELETE FROM audit_records WHERE workspace_id = ? AND seq <= ?`), ws, last)
		if err != nil {
			return fmt.Errorf("store: prune audit: %w", err)
		}
		if removed, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("store: prune audit: %w", err)
		}
		cp, err := seal(pruned, head)
		if err != nil {
			return err
		}
		return insertCheckpoint(ctx, db, tx, cp)
	})
	if err != nil {
		return 0, err
	}
	return removed, nil
}

// AuditHeartbeat records that the audit writer owner is alive.
func (db *DB) AuditHeartbeat(ctx context.Context, owner string, at time.Time) error {
	_, err := db.w.ExecContext(ctx, db.rebind(`INSERT INTO audit_writers (owner, started_at, heartbeat_at) VALUES (?, ?, ?)
		ON CONFLICT (owner) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`), owner, micros(at), micros(at))
	if err != nil {
		return fmt.Errorf("store: audit heartbeat: %w", err)
	}
	return nil
}

// RemoveAuditWriter forgets a writer that stopped cleanly.
func (db *DB) RemoveAuditWriter(ctx context.Context, owner string) error {
	if _, err := db.w.ExecContext(ctx, db.rebind(`DELETE FROM audit_writers WHERE owner = ?`), owner); err != nil {
		return fmt.Errorf("store: remove audit writer: %w", err)
	}
	return nil
}

// AbandonedAuditIntents returns up to limit intents, oldest first, whose
// writer is gone: not self, and either unknown or silent since staleBefore.
// With self empty it returns intents of every writer silent since
// staleBefore; with includeSelf it adds self's own intents.
func (db *DB) AbandonedAuditIntents(ctx context.Context, self string, includeSelf bool, staleBefore time.Time, limit int) ([]AuditIntent, error) {
	rows, err := db.r.QueryContext(ctx, db.rebind(`SELECT i.workspace_id, i.id, i.owner, i.at, i.body
		FROM audit_intents i LEFT JOIN audit_writers w ON w.owner = i.owner
		WHERE (i.owner <> ? AND (w.owner IS NULL OR w.heartbeat_at < ?)) OR (? AND i.owner = ?)
		ORDER BY i.at, i.id LIMIT ?`), self, micros(staleBefore), includeSelf, self, limit)
	if err != nil {
		return nil, fmt.Errorf("store: abandoned audit intents: %w", err)
	}
	defer rows.Close()
	out := []AuditIntent{}
	for rows.Next() {
		var (
			in AuditIntent
			at int64
		)
		if err := rows.Scan(&in.WorkspaceID, &in.ID, &in.Owner, &at, &in.Body); err != nil {
			return nil, fmt.Errorf("store: scan audit intent: %w", err)
		}
		in.At = fromMicros(at)
		out = append(out, in)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("store: abandoned audit intents: %w", err)
	}
	return out, nil
}
