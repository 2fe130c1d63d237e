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
		var first sql.NullInt64
		if err := tx.QueryRowContext(ctx, db.rebind(`SELECT MIN(first_seq) FROM audit_blocks WHERE workspace_id = ?`), ws).
			Scan(&first); err != nil {
			return fmt.Errorf("store: prune audit: %w", err)
		}
		if !first.Valid {
			return nil
		}
		// The first record to keep is the first at or after before, in the
		// first block holding any such record. Records before it go; when
		// it is not its block's first, the rest of the block is written
		// back as a block of its own.
		last, pruned := head.Seq, head // nothing recent: prune it all
		var tail []AuditRow
		err = w.blocks(ctx, `SELECT first_seq, body FROM audit_blocks WHERE workspace_id = ? AND max_at >= ? ORDER BY first_seq LIMIT 1`,
			[]any{ws, micros(before)}, nil, func(_ int64, recs []AuditRow) bool {
				for i, r := range recs {
					if !r.At.Before(before) {
						last, pruned = r.Seq-1, AuditHead{Seq: r.Seq - 1}
						if i > 0 {
							pruned.Hash, tail = recs[i-1].Hash, recs[i:]
						}
						break
					}
				}
				return false
			})
		if err != nil {
			return fmt.Errorf("store: prune audit: %w", err)
		}
		if last < first.Int64 {
			return nil
		}
		if pruned.Hash == "" {
			// The last pruned record ends the block before.
			err = w.blocks(ctx, `SELECT first_seq, body FROM audit_blocks WHERE workspace_id = ? AND first_seq <= ? ORDER BY first_seq DESC LIMIT 1`,
				[]any{ws, last}, nil, func(_ int64, recs []AuditRow) bool {
					if r := recs[len(recs)-1]; r.Seq == last {
						pruned.Hash = r.Hash
					}
					return false
				})
			if err == nil && pruned.Hash == "" {
				err = ErrNotFound
			}
			if err != nil {
				return fmt.Errorf("store: prune audit: last pruned record %d: %w", last, err)
			}
		}
		if err := tx.QueryRowContext(ctx, db.rebind(
			`SELECT COALESCE(SUM(last_seq - first_seq + 1), 0) FROM audit_blocks WHERE workspace_id = ? AND first_seq <= ?`),
			ws, last).Scan(&removed); err != nil {
			return fmt.Errorf("store: prune audit: %w", err)
		}
		removed -= int64(len(tail))
		for _, table := range []string{"audit_blocks", "audit_terms"} {
			if _, err := tx.ExecContext(ctx, db.rebind(`DELETE FROM `+table+` WHERE workspace_id = ? AND first_seq <= ?`), ws, last); err != nil {
				return fmt.Errorf("store: prune audit: %w", err)
			}
		}
		var rest blockBuilder
		for _, r := range tail {
			rest.add(r, micros(r.At))
		}
		if err := rest.insert(ctx, w); err != nil {
			return fmt.Errorf("store: prune audit: write back the rest of a block: %w", err)
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
