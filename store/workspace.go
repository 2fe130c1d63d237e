package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// EnsureWorkspace creates the workspace if it is missing and updates its name
// when w.Name is not empty.
func (db *DB) EnsureWorkspace(ctx context.Context, w Workspace) error {
	if err := checkWS(w.ID); err != nil {
		return err
	}
	_, err := db.w.ExecContext(ctx, db.rebind(`INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE workspaces.name END`),
		w.ID, w.Name, db.stamp(w.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: ensure workspace %q: %w", w.ID, err)
	}
	return nil
}

// Workspace returns one workspace or ErrNotFound.
func (db *DB) Workspace(ctx context.Context, id string) (Workspace, error) {
	w := Workspace{ID: id}
	var created int64
	err := db.r.QueryRowContext(ctx, db.rebind(`SELECT name, created_at FROM workspaces WHERE id = ?`), id).
		Scan(&w.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Workspace{}, fmt.Errorf("workspace %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Workspace{}, fmt.Errorf("store: workspace %q: %w", id, err)
	}
	w.CreatedAt = fromMicros(created)
	return w, nil
}

func normEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// PutMember inserts or replaces a member, keeping the first CreatedAt.
func (db *DB) PutMember(ctx context.Context, m Member) error {
	if err := checkWS(m.WorkspaceID); err != nil {
		return err
	}
	email := normEmail(m.Email)
	if email == "" {
		return fmt.Errorf("%w: member email is empty", ErrInvalid)
	}
	_, err := db.w.ExecContext(ctx, db.rebind(`INSERT INTO members
		(workspace_id, email, name, role, teams_json, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace_id, email) DO UPDATE SET name = excluded.name, role = excluded.role,
			teams_json = excluded.teams_json, password_hash = excluded.password_hash`),
		m.WorkspaceID, email, m.Name, m.Role, encodeList(m.Teams), m.PasswordHash, db.stamp(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: put member: %w", err)
	}
	return nil
}

const memberCols = `workspace_id, email, name, role, teams_json, password_hash, created_at`

func scanMember(s interface{ Scan(...any) error }) (Member, error) {
	var (
		m       Member
		teams   string
		created int64
	)
	if err := s.Scan(&m.WorkspaceID, &m.Email, &m.Name, &m.Role, &teams, &m.PasswordHash, &created); err != nil {
		return Member{}, err
	}
	m.CreatedAt = fromMicros(created)
	var err error
	m.Teams, err = decodeList("member teams", teams)
	return m, err
}

// Member returns one member by email (case-insensitive) or ErrNotFound.
func (db *DB) Member(ctx context.Context, ws, email string) (Member, error) {
	m, err := scanMember(db.r.QueryRowContext(ctx, db.rebind(
		`SELECT `+memberCols+` FROM members WHERE workspace_id = ? AND email = ?`), ws, normEmail(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return Member{}, fmt.Errorf("member in workspace %q: %w", ws, ErrNotFound)
	}
	if err != nil {
		return Member{}, fmt.Errorf("store: member: %w", err)
	}
	return m, nil
}

// ListMembers returns the workspace's members ordered by email.
func (db *DB) ListMembers(ctx context.Context, ws string) ([]Member, error) {
	rows, err := db.r.QueryContext(ctx, db.rebind(
		`SELECT `+memberCols+` FROM members WHERE workspace_id = ? ORDER BY email`), ws)
	if err != nil {
		return nil, fmt.Errorf("store: list members: %w", err)
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list members: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list members: %w", err)
	}
	return out, nil
}

// PutKey inserts a key; ErrExists when the workspace already has its id.
func (db *DB) PutKey(ctx context.Context, k APIKey) error {
	if err := checkWS(k.WorkspaceID); err != nil {
		return err
	}
	switch {
	case k.ID == "" || k.Prefix == "" || k.Hash == "":
		return fmt.Errorf("%w: key needs id, prefix and hash", ErrInvalid)
	case k.Kind != KeyKindMember && k.Kind != KeyKindWorkflow:
		return fmt.Errorf("%w: key kind %q (want %q or %q)", ErrInvalid, k.Kind, KeyKindMember, KeyKindWorkflow)
	}
	var revoked any
	if k.RevokedAt != nil {
		revoked = micros(*k.RevokedAt)
	}
	res, err := db.w.ExecContext(ctx, db.rebind(`INSERT INTO api_keys (workspace_id, id, prefix, hash, name, kind,
			member, role, teams_json, actions_json, default_action, models_json, created_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id, id) DO NOTHING`),
		k.WorkspaceID, k.ID, k.Prefix, k.Hash, k.Name, k.Kind, normEmail(k.Member), k.Role,
		encodeList(k.Teams), encodeList(k.Actions), k.DefaultAction, encodeList(k.Models),
		db.stamp(k.CreatedAt), revoked)
	if err != nil {
		return fmt.Errorf("store: put key %q: %w", k.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: put key %q: %w", k.ID, err)
	} else if n == 0 {
		return fmt.Errorf("key %q: %w", k.ID, ErrExists)
	}
	return nil
}

const keyCols = `workspace_id, id, prefix, hash, name, kind, member, role, teams_json, actions_json,
	default_action, models_json, created_at, revoked_at`

func scanKey(s interface{ Scan(...any) error }) (APIKey, error) {
	var (
		k                      APIKey
		teams, actions, models string
		created                int64
		revoked                sql.NullInt64
	)
	if err := s.Scan(&k.WorkspaceID, &k.ID, &k.Prefix, &k.Hash, &k.Name, &k.Kind, &k.Member, &k.Role,
		&teams, &actions, &k.DefaultAction, &models, &created, &revoked); err != nil {
		return APIKey{}, err
	}
	k.CreatedAt = fromMicros(created)
	if revoked.Valid {
		t := fromMicros(revoked.Int64)
		k.RevokedAt = &t
	}
	var err error
	if k.Teams, err = decodeList("key teams", teams); err != nil {
		return APIKey{}, err
	}
	if k.Actions, err = decodeList("key actions", actions); err != nil {
		return APIKey{}, err
	}
	k.Models, err = decodeList("key models", models)
	return k, err
}

func (db *DB) queryKeys(ctx context.Context, q string, args ...any) ([]APIKey, error) {
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []APIKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// KeysByPrefix returns every key with this prefix in any workspace, revoked
// ones included: the caller compares hashes and checks RevokedAt.
func (db *DB) KeysByPrefix(ctx context.Context, prefix string) ([]APIKey, error) {
	out, err := db.queryKeys(ctx, `SELECT `+keyCols+` FROM api_keys WHERE prefix = ? ORDER BY workspace_id, id`, prefix)
	if err != nil {
		return nil, fmt.Errorf("store: keys by prefix: %w", err)
	}
	return out, nil
}

// ListKeys returns the workspace's keys, oldest first.
func (db *DB) ListKeys(ctx context.Context, ws string) ([]APIKey, error) {
	out, err := db.queryKeys(ctx, `SELECT `+keyCols+` FROM api_keys WHERE workspace_id = ? ORDER BY created_at, id`, ws)
	if err != nil {
		return nil, fmt.Errorf("store: list keys: %w", err)
	}
	return out, nil
}

// RevokeKey marks a key revoked now. Revoking twice keeps the first time;
// ErrNotFound when the workspace has no such key.
func (db *DB) RevokeKey(ctx context.Context, ws, id string) error {
	res, err := db.w.ExecContext(ctx, db.rebind(
		`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE workspace_id = ? AND id = ?`),
		micros(db.now()), ws, id)
	if err != nil {
		return fmt.Errorf("store: revoke key %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: revoke key %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("key %q in workspace %q: %w", id, ws, ErrNotFound)
	}
	return nil
}
