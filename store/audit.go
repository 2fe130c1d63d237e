package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
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
		if bb.n == maxBlockRecords {
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

// ListAudit returns one page of a workspace's records and the cursor of the
// next page ("" at the end). It reads blocks in seq order from the cursor,
// only those whose time range overlaps the filter's and that hold every term
// the filter names, and stops once the page is full.
func (db *DB) ListAudit(ctx context.Context, ws string, f AuditFilter) ([]AuditRow, string, error) {
	if err := checkWS(ws); err != nil {
		return nil, "", err
	}
	var b strings.Builder
	args := []any{ws}
	terms, seqCol := f.terms(), "b.first_seq" // the column that orders the scan
	if len(terms) > 0 {
		// The first term's index drives the scan, in seq order: a rare
		// value reads only its blocks, however many the workspace has.
		// (CROSS JOIN keeps SQLite's planner from driving by the blocks.)
		b.WriteString(`SELECT b.first_seq, b.body FROM audit_terms t0 CROSS JOIN audit_blocks b
			WHERE t0.workspace_id = ? AND t0.term = ? AND b.workspace_id = t0.workspace_id AND b.first_seq = t0.first_seq`)
		args = append(args, terms[0])
		terms, seqCol = terms[1:], "t0.first_seq"
	} else {
		b.WriteString(`SELECT b.first_seq, b.body FROM audit_blocks b WHERE b.workspace_id = ?`)
	}
	var after int64 // the cursor's seq: records past it in the page's order
	if f.Cursor != "" {
		last, err := decodeCursor(f.Cursor)
		seq, perr := strconv.ParseInt(last, 10, 64)
		if err != nil || perr != nil {
			return nil, "", fmt.Errorf("%w: malformed cursor", ErrInvalid)
		}
		after = seq
		if f.Ascending {
			// A block past the cursor starts at most a block's length
			// before it: the bound lets the index skip what is behind.
			b.WriteString(` AND b.last_seq > ? AND ` + seqCol + ` > ?`)
			args = append(args, seq, seq-maxBlockRecords)
		} else {
			b.WriteString(` AND ` + seqCol + ` < ?`)
			args = append(args, seq)
		}
	}
	if !f.From.IsZero() {
		b.WriteString(` AND b.max_at >= ?`)
		args = append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		b.WriteString(` AND b.min_at < ?`)
		args = append(args, micros(f.To))
	}
	for _, t := range terms {
		b.WriteString(` AND EXISTS (SELECT 1 FROM audit_terms t WHERE t.workspace_id = b.workspace_id AND t.term = ? AND t.first_seq = b.first_seq)`)
		args = append(args, t)
	}
	if f.Ascending {
		b.WriteString(` ORDER BY ` + seqCol)
	} else {
		b.WriteString(` ORDER BY ` + seqCol + ` DESC`)
	}
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxAuditLimit:
		limit = MaxAuditLimit
	}
	rows, err := db.r.QueryContext(ctx, db.rebind(b.String()), args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	page := []AuditRow{}
	keep := func(r *AuditRow) bool {
		if f.Cursor != "" && (f.Ascending && r.Seq <= after || !f.Ascending && r.Seq >= after) {
			return false
		}
		return f.matches(r)
	}
	err = scanBlocks(rows, ws, keep, func(_ int64, recs []AuditRow) bool {
		if !f.Ascending {
			slices.Reverse(recs)
		}
		page = append(page, recs...)
		return len(page) <= limit
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: list audit: %w", err)
	}
	page, next := cut(page[:min(len(page), limit+1)], limit, func(r AuditRow) string { return strconv.FormatInt(r.Seq, 10) })
	return page, next, nil
}

// AuditRecord returns one record by id, or ErrNotFound. When from and to
// are not zero the record's time is known to lie in [from, to) (package
// audit's ids carry their time), and only the blocks that may hold it are
// read; otherwise every block of the workspace is.
func (db *DB) AuditRecord(ctx context.Context, ws, id string, from, to time.Time) (AuditRow, error) {
	q := `SELECT first_seq, body FROM audit_blocks WHERE workspace_id = ?`
	args := []any{ws}
	if !from.IsZero() && !to.IsZero() {
		q += ` AND max_at >= ? AND min_at < ? ORDER BY max_at`
		args = append(args, micros(from), micros(to))
	}
	rows, err := db.r.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return AuditRow{}, fmt.Errorf("store: audit record: %w", err)
	}
	defer rows.Close()
	var found *AuditRow
	err = scanBlocks(rows, ws, func(r *AuditRow) bool { return r.ID == id }, func(_ int64, recs []AuditRow) bool {
		if len(recs) > 0 {
			found = &recs[0]
		}
		return found == nil
	})
	if err != nil {
		return AuditRow{}, fmt.Errorf("store: audit record: %w", err)
	}
	if found == nil {
		return AuditRow{}, fmt.Errorf("audit record in workspace %q: %w", ws, ErrNotFound)
	}
	return *found, nil
}

// ScanAudit calls fn with every record of a workspace's chain in seq order
// and stops at fn's first error. A record whose block says it holds other
// seqs, times or terms than it does comes with Misfiled set. It reads one
// snapshot, scanBlocksPerRead blocks and their terms at a time, so memory
// stays bounded however long the chain.
func (db *DB) ScanAudit(ctx context.Context, ws string, fn func(AuditRow) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.engine == EnginePostgres {
		opts.Isolation = sql.LevelRepeatableRead // one snapshot for every read below
	}
	tx, err := db.r.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: scan audit: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
	after := int64(math.MinInt64)
	for {
		blocks, err := readBlocks(ctx, db, tx, ws, after)
		if err != nil || len(blocks) == 0 {
			return err
		}
		terms, err := readTerms(ctx, db, tx, ws, blocks[0].first, blocks[len(blocks)-1].first)
		if err != nil {
			return err
		}
		for _, b := range blocks {
			misfiled := blockMisfit(b, terms[b.first])
			for _, r := range b.rows {
				r.Misfiled = misfiled
				if err := fn(r); err != nil {
					return err
				}
			}
		}
		after = blocks[len(blocks)-1].first
	}
}

// scanBlocksPerRead is how many blocks ScanAudit holds at once.
const scanBlocksPerRead = 16

// storedBlock is one audit_blocks row, decoded.
type storedBlock struct {
	first, last, minAt, maxAt int64
	rows                      []AuditRow
}

func readBlocks(ctx context.Context, db *DB, tx *sql.Tx, ws string, after int64) ([]storedBlock, error) {
	rows, err := tx.QueryContext(ctx, db.rebind(`SELECT first_seq, last_seq, min_at, max_at, body FROM audit_blocks
		WHERE workspace_id = ? AND first_seq > ? ORDER BY first_seq LIMIT ?`), ws, after, scanBlocksPerRead)
	if err != nil {
		return nil, fmt.Errorf("store: scan audit: %w", err)
	}
	defer rows.Close()
	var (
		out  []storedBlock
		body sql.RawBytes
	)
	for rows.Next() {
		var b storedBlock
		if err := rows.Scan(&b.first, &b.last, &b.minAt, &b.maxAt, &body); err != nil {
			return nil, fmt.Errorf("store: scan audit: %w", err)
		}
		if b.rows, err = decodeBlock(ws, body, nil); err != nil {
			return nil, fmt.Errorf("%w (workspace %s, block at seq %d)", err, ws, b.first)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: scan audit: %w", err)
	}
	return out, nil
}

// readTerms returns the terms of the blocks from first to last, by block,
// each list in byte order whatever the database's collation.
func readTerms(ctx context.Context, db *DB, tx *sql.Tx, ws string, first, last int64) (map[int64][]string, error) {
	rows, err := tx.QueryContext(ctx, db.rebind(
		`SELECT first_seq, term FROM audit_terms WHERE workspace_id = ? AND first_seq >= ? AND first_seq <= ?`), ws, first, last)
	if err != nil {
		return nil, fmt.Errorf("store: audit terms: %w", err)
	}
	defer rows.Close()
	out := map[int64][]string{}
	for rows.Next() {
		var (
			seq int64
			t   string
		)
		if err := rows.Scan(&seq, &t); err != nil {
			return nil, fmt.Errorf("store: audit terms: %w", err)
		}
		out[seq] = append(out[seq], t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit terms: %w", err)
	}
	for _, ts := range out {
		slices.Sort(ts)
	}
	return out, nil
}

// blockMisfit says how a block's row disagrees with the records it holds,
// or "": a wrong seq range or time range or missing terms would hide
// records from lists and look-ups.
func blockMisfit(b storedBlock, terms []string) string {
	first, last, minAt, maxAt, recs := b.first, b.last, b.minAt, b.maxAt, b.rows
	if len(recs) == 0 {
		return fmt.Sprintf("block at seq %d holds no records", first)
	}
	if recs[0].Seq != first || recs[len(recs)-1].Seq != last {
		return fmt.Sprintf("block says it holds seq %d to %d, but holds %d to %d", first, last, recs[0].Seq, recs[len(recs)-1].Seq)
	}
	for _, r := range recs {
		if at := micros(r.At); at < minAt || at > maxAt {
			return fmt.Sprintf("block at seq %d says its records' times lie outside that of seq %d", first, r.Seq)
		}
	}
	for _, t := range blockTerms(recs) {
		if _, ok := slices.BinarySearch(terms, t); !ok {
			return fmt.Sprintf("block at seq %d is not filed under %q: filtered lists miss its records", first, t)
		}
	}
	return ""
}
