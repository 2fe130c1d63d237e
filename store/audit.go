package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The audit trail's tables (migrations 0002 and 0004; blocks: auditblock.go).
// The store keeps blocks and chain heads consistent under concurrency; what
// a record says, how it is hashed and how a chain is verified belong to
// package audit, which hands the store a Seal function to run inside the
// append transaction.

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
	// Misfiled, set only by ScanAudit, says how the record's block
	// disagrees with the records it holds ("" when it does not).
	Misfiled string
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
	// intent is gone and a record with the id and the same time already
	// exists (another writer recorded the use as interrupted), the append is
	// skipped.
	AuditFinish
	// AuditRecover appends a record for an abandoned intent only if this
	// transaction is the one that removes the intent, so two writers
	// recovering at once record it once.
	AuditRecover
	// AuditReplay appends a record unless one with its id (and time) exists:
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
	// Seal appends the record's body for its place in the chain to dst
	// and returns the result and the record's hash. It runs inside the
	// transaction, may run again if the transaction is retried, and must
	// not block.
	Seal func(dst []byte, seq int64, prevHash string) (out []byte, hash string, err error)
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
}

// The statements of the append path, prepared once on the write pool: at
// concurrency 1 every commit runs these, and parsing them each time was a
// large part of a commit on SQLite.
const (
	sqlInsertIntent = `INSERT INTO audit_intents (workspace_id, id, owner, at, body) VALUES `
	sqlAdvanceHead  = `UPDATE audit_chain_heads SET seq = ?, hash = ?, updated_at = ? WHERE workspace_id = ?`
	sqlClearIntent  = `DELETE FROM audit_intents WHERE workspace_id = ? AND id IN (%s) RETURNING id`
	sqlHead         = `SELECT seq, hash FROM audit_chain_heads WHERE workspace_id = ?`
)

func (db *DB) auditWriteStmts() []string {
	head := sqlHead
	if db.engine == EnginePostgres {
		head += ` FOR UPDATE`
	}
	out := []string{sqlInsertBlock, sqlAdvanceHead, fmt.Sprintf(sqlClearIntent, "?"), head}
	for n := 1; n <= maxInsertRows; n++ {
		out = append(out, sqlInsertIntent+rowsPlaceholders(n, 5), sqlInsertTerm+rowsPlaceholders(n, 3))
	}
	return out
}

// prepareAuditWrites prepares the statements of auditWriteStmts on the write
// pool, once. It runs outside any transaction: on SQLite the pool's only
// connection is busy during one.
func (db *DB) prepareAuditWrites(ctx context.Context) error {
	if db.auditPrepared.Load() {
		return nil
	}
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
	db.auditPrepared.Store(true)
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
// once, of every size up to maxInsertRows: one statement per maxInsertRows
// rows. Parsing a multi-row statement of each batch's own size cost a fifth
// of an audit commit on SQLite, and each statement is a round trip on
// PostgreSQL.
func (w *writer) insertRows(ctx context.Context, head string, cols int, args []any) error {
	for len(args) > 0 {
		n := min(len(args)/cols, maxInsertRows)
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

// maxInsertRows bounds the rows of one multi-row insert.
const maxInsertRows = 32

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
	res := AuditWriteResult{Skipped: make([]bool, len(w.Appends))}
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

// auditChain appends the records idx of all to workspace w.ws's chain, in
// blocks of up to maxBlockRecords.
func (w *writer) auditChain(ctx context.Context, all []AuditAppend, idx []int, res *AuditWriteResult) error {
	if err := w.auditSkips(ctx, all, idx, res); err != nil {
		return err
	}
	head, err := w.lockHead(ctx)
	if err != nil {
		return err
	}
	var bb blockBuilder
	defer bb.release()
	bb.grow(min(len(idx), maxBlockRecords) * 1600) // a proxy request's record is 1.2–1.5 KB
	moved := false
	for _, i := range idx {
		if res.Skipped[i] {
			continue
		}
		r := &all[i].Row
		hash, err := bb.seal(r, w.at(r.At), head, all[i].Seal)
		if err != nil {
			return fmt.Errorf("store: seal audit record %q: %w", r.ID, err)
		}
		head, moved = AuditHead{Seq: head.Seq + 1, Hash: hash}, true
		if bb.full() {
			if err := bb.insert(ctx, w); err != nil {
				return fmt.Errorf("store: append audit records: %w", err)
			}
			yieldCPU() // as between the statements of insertRows
		}
	}
	if !moved {
		return nil
	}
	if err := bb.insert(ctx, w); err != nil {
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
	recorded, err := w.recorded(ctx, all, idx, orphans)
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

// recorded returns which of the ids (appends of idx) are already in the
// chain. A record keeps its append's time, so only the blocks whose time
// range holds one of theirs are read.
func (w *writer) recorded(ctx context.Context, all []AuditAppend, idx []int, ids []any) (map[string]bool, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id.(string)] = true
	}
	var lo, hi int64
	first := true
	for _, i := range idx {
		if a := all[i]; want[a.Row.ID] {
			at := w.at(a.Row.At)
			if first {
				lo, hi, first = at, at, false
			}
			lo, hi = min(lo, at), max(hi, at)
		}
	}
	out := map[string]bool{}
	err := w.blocks(ctx, `SELECT first_seq, body FROM audit_blocks WHERE workspace_id = ? AND min_at <= ? AND max_at >= ?`,
		[]any{w.ws, hi, lo}, func(r *AuditRow) bool { return want[r.ID] }, func(_ int64, rows []AuditRow) bool {
			for _, r := range rows {
				out[r.ID] = true
			}
			return true
		})
	return out, err
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
