package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
)

// ListCustomers returns one page of the workspace's customers ordered by id,
// with traits and memberships, and the cursor of the next page ("" at the end).
func (db *DB) ListCustomers(ctx context.Context, ws string, opt ListOptions) ([]Customer, string, error) {
	q, err := db.listQuery(ws, "customers", subjectCustomer, []string{"id", "email", "name"}, opt)
	if err != nil {
		return nil, "", err
	}
	rows, err := db.r.QueryContext(ctx, db.rebind(`SELECT s.id, s.email, s.name, s.created_at, s.updated_at `+q.sql), q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list customers: %w", err)
	}
	defer rows.Close()
	page := []Customer{}
	for rows.Next() {
		c := Customer{WorkspaceID: ws}
		var created, updated int64
		if err := rows.Scan(&c.ID, &c.Email, &c.Name, &created, &updated); err != nil {
			return nil, "", fmt.Errorf("store: scan customer: %w", err)
		}
		c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
		page = append(page, c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: list customers: %w", err)
	}
	rows.Close()
	page, next := cut(page, q.limit, func(c Customer) string { return c.ID })
	ids := make([]string, len(page))
	for i, c := range page {
		ids[i] = c.ID
	}
	traits, err := db.loadTraits(ctx, ws, subjectCustomer, ids)
	if err != nil {
		return nil, "", err
	}
	ms, err := db.loadMemberships(ctx, ws, ids)
	if err != nil {
		return nil, "", err
	}
	for i := range page {
		page[i].Traits = orEmpty(traits[page[i].ID])
		page[i].Accounts = ms[page[i].ID]
		if page[i].Accounts == nil {
			page[i].Accounts = []Membership{}
		}
	}
	return page, next, nil
}

// ListAccounts returns one page of the workspace's accounts ordered by id, with
// traits; Query matches id and name.
func (db *DB) ListAccounts(ctx context.Context, ws string, opt ListOptions) ([]Account, string, error) {
	q, err := db.listQuery(ws, "accounts", subjectAccount, []string{"id", "name"}, opt)
	if err != nil {
		return nil, "", err
	}
	rows, err := db.r.QueryContext(ctx, db.rebind(
		`SELECT s.id, s.name, s.plan, s.subscription, s.created_at, s.updated_at `+q.sql), q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list accounts: %w", err)
	}
	defer rows.Close()
	page := []Account{}
	for rows.Next() {
		a := Account{WorkspaceID: ws}
		var created, updated int64
		if err := rows.Scan(&a.ID, &a.Name, &a.Plan, &a.Subscription, &created, &updated); err != nil {
			return nil, "", fmt.Errorf("store: scan account: %w", err)
		}
		a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
		page = append(page, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: list accounts: %w", err)
	}
	rows.Close()
	page, next := cut(page, q.limit, func(a Account) string { return a.ID })
	ids := make([]string, len(page))
	for i, a := range page {
		ids[i] = a.ID
	}
	traits, err := db.loadTraits(ctx, ws, subjectAccount, ids)
	if err != nil {
		return nil, "", err
	}
	for i := range page {
		page[i].Traits = orEmpty(traits[page[i].ID])
	}
	return page, next, nil
}

type listSQL struct {
	sql   string // FROM ... ORDER BY ... LIMIT ?
	args  []any
	limit int
}

// listQuery builds the FROM clause of a keyset-paginated list. It asks for
// one row more than the page so the caller knows whether a next page exists.
func (db *DB) listQuery(ws, table, kind string, textCols []string, opt ListOptions) (listSQL, error) {
	if err := checkWS(ws); err != nil {
		return listSQL{}, err
	}
	var b strings.Builder
	args := []any{ws}
	b.WriteString("FROM " + table + " s WHERE s.workspace_id = ?")
	if opt.Cursor != "" {
		after, err := decodeCursor(opt.Cursor)
		if err != nil {
			return listSQL{}, err
		}
		b.WriteString(" AND s.id > ?")
		args = append(args, after)
	}
	if opt.Query != "" {
		pattern := "%" + escapeLike(strings.ToLower(opt.Query)) + "%"
		ors := make([]string, len(textCols))
		for i, col := range textCols {
			ors[i] = "LOWER(s." + col + `) LIKE ? ESCAPE '\'`
			args = append(args, pattern)
		}
		b.WriteString(" AND (" + strings.Join(ors, " OR ") + ")")
	}
	if opt.Trait != nil {
		if opt.Trait.Key == "" {
			return listSQL{}, fmt.Errorf("%w: trait filter with an empty key", ErrInvalid)
		}
		value, err := encodeJSON("trait filter value", opt.Trait.Value)
		if err != nil {
			return listSQL{}, err
		}
		b.WriteString(` AND EXISTS (SELECT 1 FROM traits t WHERE t.workspace_id = s.workspace_id
			AND t.subject_kind = ? AND t.subject_id = s.id AND t.key = ? AND t.value_json = ?)`)
		args = append(args, kind, opt.Trait.Key, value)
	}
	limit := opt.limit()
	b.WriteString(" ORDER BY s.id LIMIT ?")
	args = append(args, limit+1)
	return listSQL{sql: b.String(), args: args, limit: limit}, nil
}

// cut trims the extra probe row and returns the cursor for what follows.
func cut[T any](page []T, limit int, id func(T) string) ([]T, string) {
	if len(page) <= limit {
		return page, ""
	}
	page = page[:limit]
	return page, encodeCursor(id(page[limit-1]))
}

// Cursors are opaque to callers; today they carry the last id seen.
func encodeCursor(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("id:" + lastID))
}

func decodeCursor(c string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if id, ok := strings.CutPrefix(string(raw), "id:"); ok {
			return id, nil
		}
	}
	return "", fmt.Errorf("%w: malformed cursor", ErrInvalid)
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
