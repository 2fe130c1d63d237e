package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Engine names returned by (*DB).Engine.
const (
	EngineSQLite   = "sqlite"
	EnginePostgres = "postgres"
)

var (
	// ErrNotFound reports a missing row.
	ErrNotFound = errors.New("store: not found")
	// ErrExists reports an insert whose id is already taken.
	ErrExists = errors.New("store: already exists")
	// ErrInvalid reports an argument the store refuses (empty workspace, bad cursor, ...).
	ErrInvalid = errors.New("store: invalid argument")
)

// DB is a store over one database. It is safe for concurrent use.
//
// SQLite allows one writer at a time, so writes go through a pool of exactly
// one connection (callers queue in Go instead of spinning on SQLITE_BUSY) and
// reads use a separate read-only pool that WAL lets run beside the writer. On
// PostgreSQL both are the same pool.
type DB struct {
	engine string
	path   string  // the SQLite file; "" on PostgreSQL
	w      *sql.DB // writes and write transactions
	r      *sql.DB // reads
	now    func() time.Time
	// stmts caches the hot reads (key lookup, customer resolution) prepared
	// on r: query text -> *sql.Stmt. Parsing is a fifth of such a read on SQLite.
	stmts sync.Map
	// auditPrepared is set once the audit write statements are in stmts.
	auditPrepared atomic.Bool
}

// Open connects to dsn, applies pending migrations and returns the store.
// dsn is "sqlite:PATH" (or a bare PATH) or a "postgres://" / "postgresql://" URL.
func Open(ctx context.Context, dsn string) (*DB, error) {
	var (
		db  *DB
		err error
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err = openPostgres(dsn)
	default:
		db, err = openSQLite(sqlitePath(dsn))
	}
	if err != nil {
		return nil, err
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.moveAuditRows(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func sqlitePath(dsn string) string {
	p, ok := strings.CutPrefix(dsn, "sqlite:")
	if ok {
		// Accept sqlite://rel and sqlite:///abs as well as sqlite:path.
		p = strings.TrimPrefix(p, "//")
	}
	return p
}

func openSQLite(path string) (*DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, ":memory:") {
		return nil, fmt.Errorf("%w: sqlite path %q (a file path without ? or #)", ErrInvalid, path)
	}
	// wal_autocheckpoint(2500) lets the WAL grow to ~40 MB before a
	// checkpoint (with its fsync) runs inside some unlucky commit: ten times
	// fewer of them, and pages written many times are copied back once.
	// BEGIN IMMEDIATE takes the write lock up front, so a transaction never
	// fails midway on a lock upgrade when another process (the CLI) writes too;
	// busy_timeout covers that cross-process wait.
	// page_size(16384) (taken by new files only) quarters the WAL frames,
	// two write(2)s each, that an audit group commit of ~1 KB records
	// writes: a third more records per second than 4 KiB pages.
	common := "_busy_timeout=5000&_foreign_keys=1&_synchronous=NORMAL&_pragma=page_size(16384)"
	// Page caches are kept small (512 KiB each, writer and readers): the
	// hot reads (keys, customers) have caches of their own above the store,
	// the writer mostly appends (the right edges of a few b-trees), and
	// every MiB is resident memory: halving the writer's cache took 3 MB
	// off crisp's peak RSS under load at the same throughput.
	// temp_store(memory) on the writer: a multi-row audit insert keeps a
	// statement journal, which with 16 KiB pages outgrows SQLite's 64 KiB
	// in-memory limit and became a temporary file opened, written and closed
	// per statement (a fifth of an audit insert's time). It holds a few
	// pages at most.
	w, err := sql.Open("sqlite", path+"?"+common+"&_journal_mode=WAL&_txlock=immediate&_pragma=wal_autocheckpoint(2500)&_pragma=cache_size(-512)&_pragma=temp_store(memory)")
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	// journal_mode is persistent in the file (the writer set it), so readers
	// leave it alone and are made read-only as a guard.
	r, err := sql.Open("sqlite", path+"?"+common+"&_query_only=1&_pragma=cache_size(-512)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite reader: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	return &DB{engine: EngineSQLite, path: path, w: w, r: r, now: time.Now}, nil
}

func openPostgres(dsn string) (*DB, error) {
	if _, err := url.Parse(dsn); err != nil {
		return nil, fmt.Errorf("%w: postgres url: %v", ErrInvalid, err)
	}
	p, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	p.SetMaxOpenConns(16)
	p.SetMaxIdleConns(16)
	p.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{engine: EnginePostgres, w: p, r: p, now: time.Now}, nil
}

// Engine reports "sqlite" or "postgres".
func (db *DB) Engine() string { return db.engine }

// Path is the SQLite database file, or "" on PostgreSQL.
func (db *DB) Path() string { return db.path }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", db.engine, err)
	}
	if db.r != db.w {
		if err := db.r.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping %s reader: %w", db.engine, err)
		}
	}
	return nil
}

// Close closes every connection. The DB is unusable afterwards.
func (db *DB) Close() error {
	var err error
	db.stmts.Range(func(_, s any) bool {
		err = errors.Join(err, s.(*sql.Stmt).Close())
		return true
	})
	err = errors.Join(err, db.w.Close())
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

// rebind turns ? placeholders into $1, $2, ... for PostgreSQL. Question marks
// inside single-quoted literals are left alone.
func (db *DB) rebind(q string) string {
	if db.engine != EnginePostgres {
		return q
	}
	return rebindDollar(q)
}

func rebindDollar(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// readStmt returns q (with ? placeholders) prepared on the read pool,
// preparing it once. Pass only constant texts so the cache stays bounded.
func (db *DB) readStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := db.stmts.Load(q); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := db.r.PrepareContext(ctx, db.rebind(q))
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(q, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// query runs a constant read through the statement cache.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, err := db.readStmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// queryRow is query for one row.
func (db *DB) queryRow(ctx context.Context, q string, args ...any) (*sql.Row, error) {
	s, err := db.readStmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.QueryRowContext(ctx, args...), nil
}

// inTx runs fn in a write transaction and commits when fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // the error from fn is the one worth reporting
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// stamp returns t, or now when t is zero, as unix microseconds.
func (db *DB) stamp(t time.Time) int64 {
	if t.IsZero() {
		return micros(db.now())
	}
	return micros(t)
}

func checkWS(ws string) error {
	if ws == "" {
		return fmt.Errorf("%w: empty workspace id", ErrInvalid)
	}
	return nil
}

// placeholders returns "?, ?, ?" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
