package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// UpsertCustomer creates or updates c.WorkspaceID's customer c.ID: email and
// name are set when not empty, c.Traits merge last-write-wins (a trait without
// UpdatedAt is stamped c.UpdatedAt, else now) and c.Accounts are added.
func (db *DB) UpsertCustomer(ctx context.Context, c Customer) error {
	links := make([]MembershipLink, 0, len(c.Accounts))
	for _, m := range c.Accounts {
		links = append(links, MembershipLink{CustomerID: c.ID, AccountID: m.AccountID, Role: m.Role})
	}
	_, err := db.Apply(ctx, c.WorkspaceID, Batch{
		Customers: []CustomerUpdate{{
			ID: c.ID, Email: c.Email, Name: c.Name, Traits: traitsFromMap(c.Traits), At: c.UpdatedAt,
		}},
		Memberships: links,
	})
	return err
}

// UpsertAccount creates or updates an account the way UpsertCustomer does.
func (db *DB) UpsertAccount(ctx context.Context, a Account) error {
	_, err := db.Apply(ctx, a.WorkspaceID, Batch{Accounts: []AccountUpdate{{
		ID: a.ID, Name: a.Name, Plan: a.Plan, Subscription: a.Subscription,
		Traits: traitsFromMap(a.Traits), At: a.UpdatedAt,
	}}})
	return err
}

// MergeCustomerTraits merges traits into an existing customer, last write
// wins by UpdatedAt (zero means now); ErrNotFound when there is no customer.
func (db *DB) MergeCustomerTraits(ctx context.Context, ws, customerID string, traits []Trait) error {
	return db.mergeTraits(ctx, ws, subjectCustomer, customerID, traits)
}

// MergeAccountTraits is MergeCustomerTraits for an account.
func (db *DB) MergeAccountTraits(ctx context.Context, ws, accountID string, traits []Trait) error {
	return db.mergeTraits(ctx, ws, subjectAccount, accountID, traits)
}

func (db *DB) mergeTraits(ctx context.Context, ws, kind, id string, traits []Trait) error {
	if err := checkWS(ws); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		w := &writer{db: db, tx: tx, ws: ws, now: micros(db.now())}
		if err := w.mustExist(ctx, kind, id); err != nil {
			return err
		}
		var set traitSet
		if err := set.add(kind, id, traits, w.now); err != nil {
			return err
		}
		_, err := w.traits(ctx, set.rows)
		return err
	})
}

// AddMembership puts an existing customer in an existing account (ErrNotFound
// otherwise); a non-empty role replaces the stored one.
func (db *DB) AddMembership(ctx context.Context, ws, customerID, accountID, role string) error {
	if err := checkWS(ws); err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		w := &writer{db: db, tx: tx, ws: ws, now: micros(db.now())}
		if err := w.mustExist(ctx, subjectCustomer, customerID); err != nil {
			return err
		}
		if err := w.mustExist(ctx, subjectAccount, accountID); err != nil {
			return err
		}
		_, err := w.memberships(ctx, []MembershipLink{{CustomerID: customerID, AccountID: accountID, Role: role}}, false, nil)
		return err
	})
}

func (w *writer) mustExist(ctx context.Context, kind, id string) error {
	table := "customers"
	if kind == subjectAccount {
		table = "accounts"
	}
	var one int
	err := w.tx.QueryRowContext(ctx, w.db.rebind(`SELECT 1 FROM `+table+` WHERE workspace_id = ? AND id = ?`), w.ws, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %q in workspace %q: %w", kind, id, w.ws, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: look up %s %q: %w", kind, id, err)
	}
	return nil
}

// Customer returns one customer with its traits and memberships, or ErrNotFound.
func (db *DB) Customer(ctx context.Context, ws, id string) (Customer, error) {
	c := Customer{WorkspaceID: ws, ID: id}
	var created, updated int64
	row, err := db.queryRow(ctx,
		`SELECT email, name, created_at, updated_at FROM customers WHERE workspace_id = ? AND id = ?`, ws, id)
	if err == nil {
		err = row.Scan(&c.Email, &c.Name, &created, &updated)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Customer{}, fmt.Errorf("customer %q in workspace %q: %w", id, ws, ErrNotFound)
	}
	if err != nil {
		return Customer{}, fmt.Errorf("store: customer %q: %w", id, err)
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	traits, err := db.loadTraits(ctx, ws, subjectCustomer, []string{id})
	if err != nil {
		return Customer{}, err
	}
	c.Traits = orEmpty(traits[id])
	ms, err := db.loadMemberships(ctx, ws, []string{id})
	if err != nil {
		return Customer{}, err
	}
	c.Accounts = ms[id]
	if c.Accounts == nil {
		c.Accounts = []Membership{}
	}
	return c, nil
}

// Account returns one account with its traits, or ErrNotFound.
func (db *DB) Account(ctx context.Context, ws, id string) (Account, error) {
	a := Account{WorkspaceID: ws, ID: id}
	var created, updated int64
	row, err := db.queryRow(ctx,
		`SELECT name, plan, subscription, created_at, updated_at FROM accounts WHERE workspace_id = ? AND id = ?`, ws, id)
	if err == nil {
		err = row.Scan(&a.Name, &a.Plan, &a.Subscription, &created, &updated)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("account %q in workspace %q: %w", id, ws, ErrNotFound)
	}
	if err != nil {
		return Account{}, fmt.Errorf("store: account %q: %w", id, err)
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	traits, err := db.loadTraits(ctx, ws, subjectAccount, []string{id})
	if err != nil {
		return Account{}, err
	}
	a.Traits = orEmpty(traits[id])
	return a, nil
}

func orEmpty(m map[string]Trait) map[string]Trait {
	if m == nil {
		return map[string]Trait{}
	}
	return m
}

// inClause returns "= ?" for one id and "IN (?, ...)" for more, with the ids as args.
func inClause(ids []string) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	if len(ids) == 1 {
		return "= ?", args
	}
	return "IN (" + placeholders(len(ids)) + ")", args
}

// queryIn runs a query built by inClause: the one-id form is a constant text
// and goes through the statement cache; lists are built per call.
func (db *DB) queryIn(ctx context.Context, q string, ids int, args ...any) (*sql.Rows, error) {
	if ids == 1 {
		return db.query(ctx, q, args...)
	}
	return db.r.QueryContext(ctx, db.rebind(q), args...)
}

// loadTraits returns traits by subject id then key for the given subjects.
func (db *DB) loadTraits(ctx context.Context, ws, kind string, ids []string) (map[string]map[string]Trait, error) {
	out := map[string]map[string]Trait{}
	if len(ids) == 0 {
		return out, nil
	}
	in, idArgs := inClause(ids)
	rows, err := db.queryIn(ctx, `SELECT subject_id, key, value_json, type, source, updated_at
		FROM traits WHERE workspace_id = ? AND subject_kind = ? AND subject_id `+in, len(ids),
		append([]any{ws, kind}, idArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("store: load %s traits: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			subject, value string
			t              Trait
			at             int64
		)
		if err := rows.Scan(&subject, &t.Key, &value, &t.Type, &t.Source, &at); err != nil {
			return nil, fmt.Errorf("store: scan %s trait: %w", kind, err)
		}
		if err := json.Unmarshal([]byte(value), &t.Value); err != nil {
			return nil, fmt.Errorf("store: decode trait %q of %s %q: %w", t.Key, kind, subject, err)
		}
		t.UpdatedAt = fromMicros(at)
		m := out[subject]
		if m == nil {
			m = map[string]Trait{}
			out[subject] = m
		}
		m[t.Key] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: load %s traits: %w", kind, err)
	}
	return out, nil
}

// loadMemberships returns memberships by customer id, in account id order.
func (db *DB) loadMemberships(ctx context.Context, ws string, customerIDs []string) (map[string][]Membership, error) {
	out := map[string][]Membership{}
	if len(customerIDs) == 0 {
		return out, nil
	}
	in, idArgs := inClause(customerIDs)
	rows, err := db.queryIn(ctx, `SELECT customer_id, account_id, role FROM memberships
		WHERE workspace_id = ? AND customer_id `+in+` ORDER BY customer_id, account_id`, len(customerIDs),
		append([]any{ws}, idArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("store: load memberships: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cid string
		var m Membership
		if err := rows.Scan(&cid, &m.AccountID, &m.Role); err != nil {
			return nil, fmt.Errorf("store: scan membership: %w", err)
		}
		out[cid] = append(out[cid], m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: load memberships: %w", err)
	}
	return out, nil
}
