package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The audit trail's tables (migration 0002). The store keeps rows and chain
// heads consistent under concurrency; what a record says, how it is hashed
// and how a chain is verified belong to package audit, which hands the store
// a Seal function to run inside the append transaction.

// AuditRow is one record of a workspace's audit chain as stored.
type AuditRow struct {
	WorkspaceID string
	Seq         int64
	ID          string
	Kind        string
	At          time.Time
	// Columns copied from Body for filtering.
	Member, CustomerID, AccountID, Action, Decision, Model, Provider string
	Status                                                           int
	// Body is the canonical JSON that Hash covers (without the hash).
	Body     string
	PrevHash string
	Hash     string
}

// AuditHead is the last record of a chain: its seq and hash (0 and "" when
// the chain is empty).
type AuditHead struct {
	Seq  int64
	Hash string
}

// AuditIntent is a durable note that a use is about to reach a provider.
type AuditIntent struct {
	WorkspaceID string
	ID          string
	Owner       string // the audit writer (process) serving the use
	At          time.Time
	Body        string
}

// AuditAppendMode says what an append requires of the intent with its id.
type AuditAppendMode int

const (
	// AuditPlain appends a record that had no intent.
	AuditPlain AuditAppendMode = iota
	// AuditFinish appends a use's outcome and removes its intent. If the
	// intent is gone and a record with the id already exists (another writer
	// recorded the use as interrupted), the append is skipped.
	AuditFinish
	// AuditRecover appends a record for an abandoned intent only if this
	// transaction is the one that removes the intent, so two writers
	// recovering at once record it once.
	AuditRecover
	// AuditReplay appends a record unless one with its id already exists:
	// replaying a local journal after a crash, where some of its records
	// may have been committed before the crash and some not.
	AuditReplay
)

// AuditAppend is one record to chain.
type AuditAppend struct {
	// Row gives WorkspaceID, ID, Kind, At and the filter columns; Seq, Body,
	// PrevHash and Hash come from Seal.
	Row  AuditRow
	Mode AuditAppendMode
	// Seal returns the record's body and hash for its place in the chain.
	// It runs inside the transaction and must not block.
	Seal func(seq int64, prevHash string) (body, hash string, err error)
}

// AuditWrite is one group commit: new intents and records to chain.
type AuditWrite struct {
	Intents []AuditIntent
	Appends []AuditAppend
}

// AuditWriteResult reports what WriteAudit did with each append.
type AuditWriteResult struct {
	// Skipped[i] is true when Appends[i] was not written (see the modes).
	Skipped []bool
	// Rows are the appended rows by index (zero when skipped).
	Rows []AuditRow
}

// The single-row forms of the append path, prepared once on the write pool:
// at concurrency 1 every commit is one of these, and parsing them each time
// was a large part of a commit on SQLite.
const (
	sqlInsertIntent = `INSERT INTO audit_intents (workspace_id, id, owner, at, body) VALUES `
	sqlInsertRecord = `INSERT INTO audit_records (workspace_id, seq, id, kind, at, member, customer_id,
		account_id, action, decision, model, provider, status, body, prev_hash, hash) VALUES `
	sqlAdvanceHead = `UPDATE audit_chain_heads SET seq = ?, hash = ?, updated_at = ? WHERE workspace_id = ?`
	sqlClearIntent = `DELETE FROM audit_intents WHERE workspace_id = ? AND id IN (%s) RETURNING id`
	sqlHead        = `SELECT seq, hash FROM audit_chain_heads WHERE workspace_id = ?`
)

func (db *DB) auditWriteStmts() []string {
	head := sqlHead
	if db.engine == EnginePostgres {
		head += ` FOR UPDATE`
	}
	return []string{
		sqlInsertIntent + rowsPlaceholders(1, 5),
		sqlInsertIntent + rowsPlaceholders(insertChunk, 5),
		sqlInsertRecord + rowsPlaceholders(1, 16),
		sqlInsertRecord + rowsPlaceholders(insertChunk, 16),
		sqlAdvanceHead,
		fmt.Sprintf(sqlClearIntent, "?"),
		head,
	}
}

// prepareAuditWrites prepares the statements of auditWriteStmts on the write
// pool, once. It runs outside any transaction: on SQLite the pool's only
// connection is busy during one.
func (db *DB) prepareAuditWrites(ctx context.Context) error {
	for _, q := range db.auditWriteStmts() {
		if _, ok := db.stmts.Load("w:" + q); ok {
			continue
		}
		st, err := db.w.PrepareContext(ctx, db.rebind(q))
		if err != nil {
			return fmt.Errorf("store: prepare audit statement: %w", err)
		}
		if _, loaded := db.stmts.LoadOrStore("w:"+q, st); loaded {
			st.Close()
		}
	}
	return nil
}

// stmt returns q bound to w's transaction: prepared once when it is one of
// auditWriteStmts, else prepared for this use.
func (w *writer) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := w.db.stmts.Load("w:" + q); ok {
		return w.tx.StmtContext(ctx, st.(*sql.Stmt)), nil
	}
	return w.tx.PrepareContext(ctx, w.db.rebind(q))
}

// insertRows inserts rows of cols values each, through statements prepared
// once: chunks of insertChunk rows, then single rows. Parsing a multi-row
// statement of each batch's own size cost a fifth of an audit commit.
func (w *writer) insertRows(ctx context.Context, head string, cols int, args []any) error {
	for len(args) > 0 {
		n := min(len(args)/cols, insertChunk)
		if n < insertChunk {
			n = 1
		}
		st, err := w.stmt(ctx, head+rowsPlaceholders(n, cols))
		if err != nil {
			return err
		}
		if _, err = st.ExecContext(ctx, args[:n*cols]...); err != nil {
			return err
		}
		args = args[n*cols:]
		if len(args) > 0 {
			// A big batch is a long burst of CPU; between statements this
			// thread lets anything waiting for its core run first (a
			// request's next step), so the burst delays no one for longer
			// than one statement.
			yieldCPU()
		}
	}
	return nil
}

// insertChunk is the rows of the multi-row insert statements.
const insertChunk = 32

// rowsPlaceholders is "(?, …), (?, …)": n rows of cols.
func rowsPlaceholders(n, cols int) string {
	row := "(" + placeholders(cols) + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// WriteAudit inserts w's intents and chains w's appends, all in one
// transaction: either everything is durable or nothing is. Appends keep their
// order within a workspace. Each workspace's chain head is locked for the
// transaction (SELECT … FOR UPDATE on PostgreSQL; SQLite has one writer), so
// concurrent writers, in this process or another, never fork a chain.
func (db *DB) WriteAudit(ctx context.Context, w AuditWrite) (AuditWriteResult, error) {
	res := AuditWriteResult{Skipped: make([]bool, len(w.Appends)), Rows: make([]AuditRow, len(w.Appends))}
	byWS := map[string][]int{}
	for i, a := range w.Appends {
		if err := checkWS(a.Row.WorkspaceID); err != nil {
			return AuditWriteResult{}, err
		}
		if a.Row.ID == "" || a.Seal == nil {
			return AuditWriteResult{}, fmt.Errorf("%w: audit append needs an id and a seal", ErrInvalid)
		}
		byWS[a.Row.WorkspaceID] = append(byWS[a.Row.WorkspaceID], i)
	}
	// One lock order (workspaces sorted) for every writer, so two batches
	// touching the same workspaces cannot deadlock on PostgreSQL.
	order := make([]string, 0, len(byWS))
	for ws := range byWS {
		order = append(order, ws)
	}
	slices.Sort(order)
	if err := db.prepareAuditWrites(ctx); err != nil {
		return AuditWriteResult{}, err
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		aw := &writer{db: db, tx: tx, now: micros(db.now())}
		if err := aw.auditIntents(ctx, w.Intents); err != nil {
			return err
		}
		for _, ws := range order {
			aw.ws = ws
			if err := aw.auditChain(ctx, w.Appends, byWS[ws], &res); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return AuditWriteResult{}, err
	}
	return res, nil
}

func (w *writer) auditIntents(ctx context.Context, intents []AuditIntent) error {
	if len(intents) == 0 {
		return nil
	}
	args := make([]any, 0, len(intents)*5)
	for _, in := range intents {
		if err := checkWS(in.WorkspaceID); err != nil {
			return err
		}
		if in.ID == "" || in.Owner == "" {
			return fmt.Errorf("%w: audit intent needs an id and an owner", ErrInvalid)
		}
		args = append(args, in.WorkspaceID, in.ID, in.Owner, w.at(in.At), in.Body)
	}
	if err := w.insertRows(ctx, sqlInsertIntent, 5, args); err != nil {
		return fmt.Errorf("store: insert audit intents: %w", err)
	}
	return nil
}

// auditChain appends the records idx of all to workspace w.ws's chain.
func (w *writer) auditChain(ctx context.Context, all []AuditAppend, idx []int, res *AuditWriteResult) error {
	if err := w.auditSkips(ctx, all, idx, res); err != nil {
		return err
	}
	head, err := w.lockHead(ctx)
	if err != nil {
		return err
	}
	const cols = 16
	args := make([]any, 0, len(idx)*cols)
	for _, i := range idx {
		if res.Skipped[i] {
			continue
		}
		r := all[i].Row
		r.Seq, r.PrevHash = head.Seq+1, head.Hash
		if r.Body, r.Hash, err = all[i].Seal(r.Seq, r.PrevHash); err != nil {
			return fmt.Errorf("store: seal audit record %q: %w", r.ID, err)
		}
		head = AuditHead{Seq: r.Seq, Hash: r.Hash}
		res.Rows[i] = r
		args = append(args, w.ws, r.Seq, r.ID, r.Kind, w.at(r.At), r.Member, r.CustomerID, r.AccountID,
			r.Action, r.Decision, r.Model, r.Provider, r.Status, r.Body, r.PrevHash, r.Hash)
	}
	if len(args) == 0 {
		return nil
	}
	if err := w.insertRows(ctx, sqlInsertRecord, cols, args); err != nil {
		return fmt.Errorf("store: append audit records: %w", err)
	}
	adv, err := w.stmt(ctx, sqlAdvanceHead)
	if err != nil {
		return fmt.Errorf("store: advance audit chain head: %w", err)
	}
	if _, err := adv.ExecContext(ctx, head.Seq, head.Hash, w.now, w.ws); err != nil {
		return fmt.Errorf("store: advance audit chain head: %w", err)
	}
	return nil
}

// auditSkips removes the intents of finish and recover appends and marks
// the appends the modes say to skip.
func (w *writer) auditSkips(ctx context.Context, all []AuditAppend, idx []int, res *AuditWriteResult) error {
	var ids, orphans []any
	for _, i := range idx {
		switch all[i].Mode {
		case AuditPlain:
		case AuditReplay:
			orphans = append(orphans, all[i].Row.ID)
		default:
			ids = append(ids, all[i].Row.ID)
		}
	}
	if len(ids)+len(orphans) == 0 {
		return nil
	}
	removed := map[string]bool{}
	if len(ids) > 0 {
		var err error
		if removed, err = w.idSet(ctx, sqlClearIntent, ids); err != nil {
			return fmt.Errorf("store: clear audit intents: %w", err)
		}
	}
	for _, i := range idx {
		a := all[i]
		switch {
		case a.Mode == AuditPlain || a.Mode == AuditReplay || removed[a.Row.ID]:
		case a.Mode == AuditRecover:
			res.Skipped[i] = true
		default:
			orphans = append(orphans, a.Row.ID)
		}
	}
	if len(orphans) == 0 {
		return nil
	}
	recorded, err := w.idSet(ctx, `SELECT id FROM audit_records WHERE workspace_id = ? AND id IN (%s)`, orphans)
	if err != nil {
		return fmt.Errorf("store: look up audit records: %w", err)
	}
	for _, i := range idx {
		if m := all[i].Mode; (m == AuditFinish || m == AuditReplay) && recorded[all[i].Row.ID] {
			res.Skipped[i] = true
		}
	}
	return nil
}

// idSet runs q (with %s for the id list) over ids in chunks and collects the
// ids it returns.
func (w *writer) idSet(ctx context.Context, q string, ids []any) (map[string]bool, error) {
	out := map[string]bool{}
	for start := 0; start < len(ids); start += bulkRows {
		chunk := ids[start:min(len(ids), start+bulkRows)]
		st, err := w.stmt(ctx, fmt.Sprintf(q, placeholders(len(chunk))))
		if err != nil {
			return nil, err
		}
		rows, err := st.QueryContext(ctx, append([]any{w.ws}, chunk...)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = true
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// lockHead reads the workspace's chain head, creating it when missing, and
// holds its row lock until the transaction ends.
func (w *writer) lockHead(ctx context.Context) (AuditHead, error) {
	q := sqlHead
	if w.db.engine == EnginePostgres {
		q += ` FOR UPDATE`
	}
	st, err := w.stmt(ctx, q)
	if err != nil {
		return AuditHead{}, fmt.Errorf("store: lock audit chain head: %w", err)
	}
	var h AuditHead
	err = st.QueryRowContext(ctx, w.ws).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		// Two writers may both miss; the second waits for the first's row
		// and then locks it.
		if _, err := w.tx.ExecContext(ctx, w.db.rebind(`INSERT INTO audit_chain_heads (workspace_id, seq, hash, updated_at)
			VALUES (?, 0, '', ?) ON CONFLICT (workspace_id) DO NOTHING`), w.ws, w.now); err != nil {
			return AuditHead{}, fmt.Errorf("store: create audit chain head: %w", err)
		}
		err = st.QueryRowContext(ctx, w.ws).Scan(&h.Seq, &h.Hash)
	}
	if err != nil {
		return AuditHead{}, fmt.Errorf("store: lock audit chain head: %w", err)
	}
	return h, nil
}

// AuditHead returns the head of a workspace's chain, or ErrNotFound when the
// workspace has never had a record.
func (db *DB) AuditHead(ctx context.Context, ws string) (AuditHead, error) {
	var h AuditHead
	err := db.r.QueryRowContext(ctx, db.rebind(`SELECT seq, hash FROM audit_chain_heads WHERE workspace_id = ?`), ws).
		Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return AuditHead{}, fmt.Errorf("audit chain of workspace %q: %w", ws, ErrNotFound)
	}
	if err != nil {
		return AuditHead{}, fmt.Errorf("store: audit head: %w", err)
	}
	return h, nil
}

// AuditWorkspaces lists the workspaces that have an audit chain.
func (db *DB) AuditWorkspaces(ctx context.Context) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT workspace_id FROM audit_chain_heads ORDER BY workspace_id`)
	if err != nil {
		return nil, fmt.Errorf("store: audit workspaces: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var ws string
		if err := rows.Scan(&ws); err != nil {
			return nil, fmt.Errorf("store: audit workspaces: %w", err)
		}
		out = append(out, ws)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit workspaces: %w", err)
	}
	return out, nil
}

// AuditFilter selects records for ListAudit. Empty fields match everything.
type AuditFilter struct {
	From, To                                                               time.Time // From <= at < To
	Kind, Member, CustomerID, AccountID, Action, Decision, Model, Provider string
	// Ascending orders by seq oldest first; the default is newest first.
	Ascending bool
	// Limit is the page size: 50 when zero, at most 1000.
	Limit int
	// Cursor is the next value a previous page returned.
	Cursor string
}

// MaxAuditLimit bounds AuditFilter.Limit.
const MaxAuditLimit = 1000

const auditCols = `workspace_id, seq, id, kind, at, member, customer_id, account_id, action, decision,
	model, provider, status, body, prev_hash, hash`

func scanAuditRow(s interface{ Scan(...any) error }) (AuditRow, error) {
	var (
		r  AuditRow
		at int64
	)
	err := s.Scan(&r.WorkspaceID, &r.Seq, &r.ID, &r.Kind, &at, &r.Member, &r.CustomerID, &r.AccountID,
		&r.Action, &r.Decision, &r.Model, &r.Provider, &r.Status, &r.Body, &r.PrevHash, &r.Hash)
	r.At = fromMicros(at)
	return r, err
}

// ListAudit returns one page of a workspace's records and the cursor of the
// next page ("" at the end).
func (db *DB) ListAudit(ctx context.Context, ws string, f AuditFilter) ([]AuditRow, string, error) {
	if err := checkWS(ws); err != nil {
		return nil, "", err
	}
	var b strings.Builder
	args := []any{ws}
	b.WriteString(`SELECT ` + auditCols + ` FROM audit_records WHERE workspace_id = ?`)
	if f.Cursor != "" {
		last, err := decodeCursor(f.Cursor)
		seq, perr := strconv.ParseInt(last, 10, 64)
		if err != nil || perr != nil {
			return nil, "", fmt.Errorf("%w: malformed cursor", ErrInvalid)
		}
		if f.Ascending {
			b.WriteString(` AND seq > ?`)
		} else {
			b.WriteString(` AND seq < ?`)
		}
		args = append(args, seq)
	}
	if !f.From.IsZero() {
		b.WriteString(` AND at >= ?`)
		args = append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		b.WriteString(` AND at < ?`)
		args = append(args, micros(f.To))
	}
	for _, c := range []struct{ col, v string }{
		{"kind", f.Kind}, {"member", f.Member}, {"customer_id", f.CustomerID}, {"account_id", f.AccountID},
		{"action", f.Action}, {"decision", f.Decision}, {"model", f.Model}, {"provider", f.Provider},
	} {
		if c.v != "" {
			b.WriteString(` AND ` + c.col + ` = ?`)
			args = append(args, c.v)
		}
	}
	if f.Ascending {
		b.WriteString(` ORDER BY seq`)
	} else {
		b.WriteString(` ORDER BY seq DESC`)
	}
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxAuditLimit:
		limit = MaxAuditLimit
	}
	b.WriteString(` LIMIT ?`)
	args = append(args, limit+1)
	rows, err := db.r.QueryContext(ctx, db.rebind(b.String()), args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	page := []AuditRow{}
	for rows.Next() {
		r, err := scanAuditRow(rows)
		if err != nil {
			return nil, "", fmt.Errorf("store: scan audit record: %w", err)
		}
		page = append(page, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: list audit: %w", err)
	}
	page, next := cut(page, limit, func(r AuditRow) string { return strconv.FormatInt(r.Seq, 10) })
	return page, next, nil
}

// AuditRecord returns one record by id, or ErrNotFound.
func (db *DB) AuditRecord(ctx context.Context, ws, id string) (AuditRow, error) {
	r, err := scanAuditRow(db.r.QueryRowContext(ctx, db.rebind(
		`SELECT `+auditCols+` FROM audit_records WHERE workspace_id = ? AND id = ?`), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return AuditRow{}, fmt.Errorf("audit record in workspace %q: %w", ws, ErrNotFound)
	}
	if err != nil {
		return AuditRow{}, fmt.Errorf("store: audit record: %w", err)
	}
	return r, nil
}

// ScanAudit calls fn with every record of a workspace's chain in seq order,
// streaming, and stops at fn's first error.
func (db *DB) ScanAudit(ctx context.Context, ws string, fn func(AuditRow) error) error {
	rows, err := db.r.QueryContext(ctx, db.rebind(
		`SELECT `+auditCols+` FROM audit_records WHERE workspace_id = ? ORDER BY seq`), ws)
	if err != nil {
		return fmt.Errorf("store: scan audit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanAuditRow(rows)
		if err != nil {
			return fmt.Errorf("store: scan audit record: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: scan audit: %w", err)
	}
	return nil
}
