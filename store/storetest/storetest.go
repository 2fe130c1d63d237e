// Package storetest gives tests a fresh, private store on every engine: a
// SQLite file in t.TempDir(), and, when CRISP_TEST_POSTGRES holds a server
// URL, a schema of its own on that server (crisp_t_<random>) dropped when the
// test ends, so parallel runs never see each other's rows.
//
// It is for tests only and must never point at a database it did not create:
// it only ever drops the schemas it made.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crisphq/crisp/store"
)

// EnvPostgres names the variable holding the PostgreSQL server URL for tests,
// e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvPostgres = "CRISP_TEST_POSTGRES"

// Engine opens fresh stores of one kind.
type Engine struct {
	Name string // store.EngineSQLite or store.EnginePostgres
	// DSN returns a dsn for a new empty database that is removed when t ends.
	DSN func(t testing.TB) string
}

// Engines lists SQLite, and PostgreSQL when EnvPostgres is set.
func Engines() []Engine {
	out := []Engine{{Name: store.EngineSQLite, DSN: SQLiteDSN}}
	if os.Getenv(EnvPostgres) != "" {
		out = append(out, Engine{Name: store.EnginePostgres, DSN: PostgresDSN})
	}
	return out
}

// ForEachEngine runs fn as a subtest per engine, each with a fresh store that
// is closed when the subtest ends.
func ForEachEngine(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	ForEachDSN(t, func(t *testing.T, dsn string) {
		fn(t, OpenDSN(t, dsn))
	})
}

// ForEachDSN runs fn as a subtest per engine with the dsn of a fresh, empty
// database, for tests that open (and reopen) the store themselves.
func ForEachDSN(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(e.Name, func(t *testing.T) { fn(t, e.DSN(t)) })
	}
}

// OpenDSN opens dsn and closes the store when t ends.
func OpenDSN(t testing.TB, dsn string) *store.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("storetest: open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// OpenSQLite opens a fresh SQLite store in t.TempDir().
func OpenSQLite(t testing.TB) *store.DB {
	t.Helper()
	return OpenDSN(t, SQLiteDSN(t))
}

// OpenPostgres opens a store in a fresh PostgreSQL schema; it skips t when
// EnvPostgres is not set.
func OpenPostgres(t testing.TB) *store.DB {
	t.Helper()
	return OpenDSN(t, PostgresDSN(t))
}

// SQLiteDSN returns the dsn of a new SQLite file in t.TempDir().
func SQLiteDSN(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "crisp.db")
}

// PostgresDSN creates a schema for t on the EnvPostgres server, drops it with
// everything in it when t ends, and returns a dsn whose search_path is that
// schema. It skips t when EnvPostgres is not set.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	server := os.Getenv(EnvPostgres)
	if server == "" {
		t.Skipf("storetest: %s not set", EnvPostgres)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, drop, err := NewPostgresSchema(ctx, server)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := drop(ctx); err != nil {
			t.Errorf("storetest: %v", err)
		}
	})
	return dsn
}

// NewPostgresSchema creates a schema crisp_t_<random> on server and returns a
// dsn that uses it and a func that drops it. It serves fixtures that outlive
// one test (a benchmark's seeded data); tests should use PostgresDSN.
func NewPostgresSchema(ctx context.Context, server string) (dsn string, drop func(context.Context) error, err error) {
	var raw [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, fmt.Errorf("schema name: %w", err)
	}
	schema := "crisp_t_" + hex.EncodeToString(raw[:])
	dsn, err = withSearchPath(server, schema)
	if err != nil {
		return "", nil, err
	}
	if err := adminExec(ctx, server, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, err
	}
	drop = func(ctx context.Context) error {
		return adminExec(ctx, server, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	}
	return dsn, drop, nil
}

// withSearchPath sets the search_path startup parameter, which pgx passes to
// the server for every connection of the pool.
func withSearchPath(server, schema string) (string, error) {
	if !strings.Contains(server, "://") {
		return server + " search_path=" + schema, nil // key=value form
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func adminExec(ctx context.Context, server, stmt string) error {
	db, err := sql.Open("pgx", server)
	if err != nil {
		return fmt.Errorf("connect postgres: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}
