package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Batch is one unit of ingestion. Apply writes all of it or none of it, in
// this order: accounts, customers, memberships, traits, events.
type Batch struct {
	Accounts    []AccountUpdate
	Customers   []CustomerUpdate
	Memberships []MembershipLink
	Events      []Event
}

// CustomerUpdate upserts a customer: Email and Name replace the stored ones
// only when not empty and not older than the row (last write wins, as for
// traits); Traits merge last-write-wins. At is when the source saw
// the change (now when zero); it stamps a new row and any trait without its
// own UpdatedAt.
type CustomerUpdate struct {
	ID     string
	Email  string
	Name   string
	Traits []Trait
	At     time.Time
}

// AccountUpdate upserts an account like CustomerUpdate upserts a customer.
type AccountUpdate struct {
	ID           string
	Name         string
	Plan         string
	Subscription string
	Traits       []Trait
	At           time.Time
}

// MembershipLink puts a customer in an account. In a Batch, a customer or
// account that does not exist yet is created empty, because sources such as a
// Segment group call may name either before identifying it.
type MembershipLink struct {
	CustomerID string
	AccountID  string
	Role       string // replaces the stored role only when not empty
}

// BatchResult counts what Apply wrote.
type BatchResult struct {
	Accounts    int // accounts upserted
	Customers   int // customers upserted
	Memberships int // memberships upserted
	Traits      int // traits written; ones older than the stored value are not counted
	Events      int // events inserted
	Duplicates  int // events skipped because their id was already stored
}

// Apply writes b into workspace ws in one transaction. Validation happens as
// each part is written, so any failure, including a cancelled ctx, rolls back
// everything the batch wrote before it.
func (db *DB) Apply(ctx context.Context, ws string, b Batch) (BatchResult, error) {
	if err := checkWS(ws); err != nil {
		return BatchResult{}, err
	}
	if len(b.Accounts)+len(b.Customers)+len(b.Memberships)+len(b.Events) == 0 {
		return BatchResult{}, nil
	}
	var res BatchResult
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		w := &writer{db: db, tx: tx, ws: ws, now: micros(db.now())}
		var err error
		res, err = w.apply(ctx, b)
		return err
	})
	if err != nil {
		return BatchResult{}, err
	}
	return res, nil
}

// writer writes parts of a batch inside one transaction.
type writer struct {
	db  *DB
	tx  *sql.Tx
	ws  string
	now int64 // one clock reading per transaction
}

func (w *writer) apply(ctx context.Context, b Batch) (BatchResult, error) {
	var (
		res    BatchResult
		err    error
		traits traitSet
	)
	accounts := mergeAccounts(b.Accounts)
	if res.Accounts, err = w.accounts(ctx, accounts); err != nil {
		return res, err
	}
	customers := mergeCustomers(b.Customers)
	if res.Customers, err = w.customers(ctx, customers); err != nil {
		return res, err
	}
	known := map[string]bool{}
	if len(b.Memberships) > 0 {
		for _, a := range accounts {
			known[subjectAccount+":"+a.ID] = true
		}
		for _, c := range customers {
			known[subjectCustomer+":"+c.ID] = true
		}
	}
	if res.Memberships, err = w.memberships(ctx, b.Memberships, true, known); err != nil {
		return res, err
	}
	for _, a := range accounts {
		if err := traits.add(subjectAccount, a.ID, a.Traits, w.at(a.At)); err != nil {
			return res, err
		}
	}
	for _, c := range customers {
		if err := traits.add(subjectCustomer, c.ID, c.Traits, w.at(c.At)); err != nil {
			return res, err
		}
	}
	if res.Traits, err = w.traits(ctx, traits.sorted()); err != nil {
		return res, err
	}
	if res.Events, err = w.events(ctx, b.Events); err != nil {
		return res, err
	}
	res.Duplicates = len(b.Events) - res.Events
	return res, nil
}

func (w *writer) at(t time.Time) int64 {
	if t.IsZero() {
		return w.now
	}
	return micros(t)
}

// bulkRows bounds one multi-row statement: small enough to prepare quickly
// and far under both engines' bind-parameter limits (SQLite 32766,
// PostgreSQL 65535), large enough that a 100-event batch is one statement.
const bulkRows = 200

// bulk runs head + "(?, ...), (?, ...)" + tail over args, cols values a row,
// in chunks of bulkRows, and returns the rows affected.
func (w *writer) bulk(ctx context.Context, head, tail string, cols int, args []any) (int, error) {
	rows := len(args) / cols
	total := 0
	for start := 0; start < rows; start += bulkRows {
		n := min(bulkRows, rows-start)
		var q strings.Builder
		q.Grow(len(head) + len(tail) + n*(cols*3+4))
		q.WriteString(head)
		row := "(" + placeholders(cols) + ")"
		for i := range n {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(row)
		}
		q.WriteString(tail)
		res, err := w.tx.ExecContext(ctx, w.db.rebind(q.String()), args[start*cols:(start+n)*cols]...)
		if err != nil {
			return total, err
		}
		affected, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += int(affected)
	}
	return total, nil
}

func (w *writer) accounts(ctx context.Context, ups []AccountUpdate) (int, error) {
	if len(ups) == 0 {
		return 0, nil
	}
	args := make([]any, 0, len(ups)*7)
	for _, a := range ups {
		if a.ID == "" {
			return 0, fmt.Errorf("%w: account with empty id", ErrInvalid)
		}
		at := w.at(a.At)
		args = append(args, w.ws, a.ID, a.Name, a.Plan, a.Subscription, at, at)
	}
	n, err := w.bulk(ctx, `INSERT INTO accounts (workspace_id, id, name, plan, subscription, created_at, updated_at) VALUES `,
		` ON CONFLICT (workspace_id, id) DO UPDATE SET
			name = CASE WHEN excluded.name <> '' AND excluded.updated_at >= accounts.updated_at THEN excluded.name ELSE accounts.name END,
			plan = CASE WHEN excluded.plan <> '' AND excluded.updated_at >= accounts.updated_at THEN excluded.plan ELSE accounts.plan END,
			subscription = CASE WHEN excluded.subscription <> '' AND excluded.updated_at >= accounts.updated_at THEN excluded.subscription ELSE accounts.subscription END,
			updated_at = CASE WHEN excluded.updated_at > accounts.updated_at THEN excluded.updated_at ELSE accounts.updated_at END`,
		7, args)
	if err != nil {
		return 0, fmt.Errorf("store: upsert accounts: %w", err)
	}
	return n, nil
}

func (w *writer) customers(ctx context.Context, ups []CustomerUpdate) (int, error) {
	if len(ups) == 0 {
		return 0, nil
	}
	args := make([]any, 0, len(ups)*6)
	for _, c := range ups {
		if c.ID == "" {
			return 0, fmt.Errorf("%w: customer with empty id", ErrInvalid)
		}
		at := w.at(c.At)
		args = append(args, w.ws, c.ID, c.Email, c.Name, at, at)
	}
	n, err := w.bulk(ctx, `INSERT INTO customers (workspace_id, id, email, name, created_at, updated_at) VALUES `,
		` ON CONFLICT (workspace_id, id) DO UPDATE SET
			email = CASE WHEN excluded.email <> '' AND excluded.updated_at >= customers.updated_at THEN excluded.email ELSE customers.email END,
			name = CASE WHEN excluded.name <> '' AND excluded.updated_at >= customers.updated_at THEN excluded.name ELSE customers.name END,
			updated_at = CASE WHEN excluded.updated_at > customers.updated_at THEN excluded.updated_at ELSE customers.updated_at END`,
		6, args)
	if err != nil {
		return 0, fmt.Errorf("store: upsert customers: %w", err)
	}
	return n, nil
}

// memberships upserts links; with stub it first creates empty customers and
// accounts for ids that may not exist yet (all but those in known).
func (w *writer) memberships(ctx context.Context, links []MembershipLink, stub bool, known map[string]bool) (int, error) {
	if len(links) == 0 {
		return 0, nil
	}
	links = mergeLinks(links)
	args := make([]any, 0, len(links)*5)
	for _, l := range links {
		if l.CustomerID == "" || l.AccountID == "" {
			return 0, fmt.Errorf("%w: membership needs customer and account ids", ErrInvalid)
		}
		args = append(args, w.ws, l.CustomerID, l.AccountID, l.Role, w.now)
	}
	if stub {
		if err := w.stubs(ctx, links, known); err != nil {
			return 0, err
		}
	}
	n, err := w.bulk(ctx, `INSERT INTO memberships (workspace_id, customer_id, account_id, role, created_at) VALUES `,
		` ON CONFLICT (workspace_id, customer_id, account_id) DO UPDATE SET
			role = CASE WHEN excluded.role <> '' THEN excluded.role ELSE memberships.role END`,
		5, args)
	if err != nil {
		return 0, fmt.Errorf("store: upsert memberships: %w", err)
	}
	return n, nil
}

// stubs creates empty customers and accounts for the links' ids that the
// batch itself did not upsert (known), so the memberships' foreign keys hold.
func (w *writer) stubs(ctx context.Context, links []MembershipLink, known map[string]bool) error {
	var cust, acc []string
	for _, l := range links {
		if !known[subjectCustomer+":"+l.CustomerID] {
			cust = append(cust, l.CustomerID)
		}
		if !known[subjectAccount+":"+l.AccountID] {
			acc = append(acc, l.AccountID)
		}
	}
	for _, s := range []struct {
		table string
		ids   []string
	}{{"customers", cust}, {"accounts", acc}} {
		slices.Sort(s.ids)
		ids := slices.Compact(s.ids)
		args := make([]any, 0, len(ids)*4)
		for _, id := range ids {
			args = append(args, w.ws, id, w.now, w.now)
		}
		if _, err := w.bulk(ctx, `INSERT INTO `+s.table+` (workspace_id, id, created_at, updated_at) VALUES `,
			` ON CONFLICT (workspace_id, id) DO NOTHING`, 4, args); err != nil {
			return fmt.Errorf("store: create %s for memberships: %w", s.table, err)
		}
	}
	return nil
}

// traits writes rows last-write-wins: a stored trait is replaced only by one
// whose updated_at is the same or later.
func (w *writer) traits(ctx context.Context, rows []traitRow) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	args := make([]any, 0, len(rows)*8)
	for _, r := range rows {
		args = append(args, w.ws, r.kind, r.subject, r.key, r.value, r.typ, r.source, r.at)
	}
	n, err := w.bulk(ctx, `INSERT INTO traits
		(workspace_id, subject_kind, subject_id, key, value_json, type, source, updated_at) VALUES `,
		` ON CONFLICT (workspace_id, subject_kind, subject_id, key) DO UPDATE SET
			value_json = excluded.value_json, type = excluded.type, source = excluded.source,
			updated_at = excluded.updated_at
		WHERE excluded.updated_at >= traits.updated_at`,
		8, args)
	if err != nil {
		return 0, fmt.Errorf("store: merge traits: %w", err)
	}
	return n, nil
}

// events inserts events, skipping ids the workspace already has, and returns
// how many were new.
func (w *writer) events(ctx context.Context, evs []Event) (int, error) {
	if len(evs) == 0 {
		return 0, nil
	}
	// Sorted by id (stable, so the first of duplicate ids is the one kept) for
	// the same lock-order reason as mergeCustomers.
	evs = slices.Clone(evs)
	slices.SortStableFunc(evs, func(a, b Event) int { return strings.Compare(a.ID, b.ID) })
	args := make([]any, 0, len(evs)*9)
	for _, e := range evs {
		// An empty name is left to the schema's CHECK, like any other
		// constraint the database enforces.
		switch {
		case e.WorkspaceID != "" && e.WorkspaceID != w.ws:
			return 0, fmt.Errorf("%w: event %q belongs to workspace %q, not %q", ErrInvalid, e.ID, e.WorkspaceID, w.ws)
		case e.ID == "":
			return 0, fmt.Errorf("%w: event without an id", ErrInvalid)
		}
		props := "{}"
		if len(e.Properties) > 0 {
			var err error
			if props, err = encodeJSON("event properties", e.Properties); err != nil {
				return 0, err
			}
		}
		received := w.at(e.ReceivedAt)
		occurred := received
		if !e.Timestamp.IsZero() {
			occurred = micros(e.Timestamp)
		}
		args = append(args, w.ws, e.ID, e.CustomerID, e.AccountID, e.Name, props, occurred, e.Source, received)
	}
	n, err := w.bulk(ctx, `INSERT INTO events (workspace_id, id, customer_id, account_id, name,
		properties_json, occurred_at, source, received_at) VALUES `,
		` ON CONFLICT (workspace_id, id) DO NOTHING`, 9, args)
	if err != nil {
		return 0, fmt.Errorf("store: append events: %w", err)
	}
	return n, nil
}
