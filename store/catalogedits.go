package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Catalog edit modes.
const (
	CatalogEditFile    = "file"    // the edit rewrote catalog.yaml on disk
	CatalogEditOverlay = "overlay" // the edit lives only in the store
)

// CatalogEdit is one change to the catalog made in the workspace UI.
type CatalogEdit struct {
	WorkspaceID string    `json:"workspace_id"`
	Seq         int64     `json:"seq"` // from 1, per workspace
	At          time.Time `json:"at"`
	Member      string    `json:"member"`
	Target      string    `json:"target"` // the field or event changed
	Mode        string    `json:"mode"`
	Diff        string    `json:"diff"`
	// PatchJSON is the change itself, replayed onto definitions that are
	// not on disk (mode overlay). The store keeps it as given.
	PatchJSON     string `json:"patch"`
	BeforeVersion string `json:"before_version"`
	AfterVersion  string `json:"after_version"`
	AuditID       string `json:"audit_id"`
}

// AddCatalogEdit records an edit and returns its seq.
func (db *DB) AddCatalogEdit(ctx context.Context, e CatalogEdit) (int64, error) {
	if err := checkWS(e.WorkspaceID); err != nil {
		return 0, err
	}
	if e.Mode != CatalogEditFile && e.Mode != CatalogEditOverlay {
		return 0, fmt.Errorf("%w: catalog edit mode %q (want file or overlay)", ErrInvalid, e.Mode)
	}
	if e.Target == "" || e.PatchJSON == "" {
		return 0, fmt.Errorf("%w: catalog edit needs a target and a patch", ErrInvalid)
	}
	var seq int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if db.engine == EnginePostgres {
			// Two replicas editing at once must not take the same seq.
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7262292)"); err != nil {
				return fmt.Errorf("store: catalog edit lock: %w", err)
			}
		}
		if err := tx.QueryRowContext(ctx, db.rebind(
			`SELECT COALESCE(MAX(seq), 0) + 1 FROM catalog_edits WHERE workspace_id = ?`), e.WorkspaceID).Scan(&seq); err != nil {
			return fmt.Errorf("store: catalog edit seq: %w", err)
		}
		_, err := tx.ExecContext(ctx, db.rebind(`INSERT INTO catalog_edits (workspace_id, seq, at, member, target,
				mode, diff, patch_json, before_version, after_version, audit_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			e.WorkspaceID, seq, db.stamp(e.At), normEmail(e.Member), e.Target, e.Mode, e.Diff, e.PatchJSON,
			e.BeforeVersion, e.AfterVersion, e.AuditID)
		if err != nil {
			return fmt.Errorf("store: add catalog edit: %w", err)
		}
		return nil
	})
	return seq, err
}

// CatalogEdits returns the workspace's catalog edits, oldest first; mode ""
// returns both modes.
func (db *DB) CatalogEdits(ctx context.Context, ws, mode string) ([]CatalogEdit, error) {
	q := `SELECT seq, at, member, target, mode, diff, patch_json, before_version, after_version, audit_id
		FROM catalog_edits WHERE workspace_id = ?`
	args := []any{ws}
	if mode != "" {
		q += " AND mode = ?"
		args = append(args, mode)
	}
	rows, err := db.r.QueryContext(ctx, db.rebind(q+" ORDER BY seq"), args...)
	if err != nil {
		return nil, fmt.Errorf("store: catalog edits: %w", err)
	}
	defer rows.Close()
	out := []CatalogEdit{}
	for rows.Next() {
		e := CatalogEdit{WorkspaceID: ws}
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Member, &e.Target, &e.Mode, &e.Diff, &e.PatchJSON,
			&e.BeforeVersion, &e.AfterVersion, &e.AuditID); err != nil {
			return nil, fmt.Errorf("store: catalog edits: %w", err)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: catalog edits: %w", err)
	}
	return out, nil
}
