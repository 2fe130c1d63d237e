package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

// t0 is a fixed instant at microsecond precision, the store's resolution.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenDSN(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		dsn     string
		wantErr error
	}{
		{name: "sqlite prefix", dsn: "sqlite:" + filepath.Join(dir, "a.db")},
		{name: "bare path", dsn: filepath.Join(dir, "b.db")},
		{name: "sqlite url form", dsn: "sqlite://" + filepath.Join(dir, "c.db")},
		{name: "empty path", dsn: "sqlite:", wantErr: store.ErrInvalid},
		{name: "memory", dsn: "sqlite::memory:", wantErr: store.ErrInvalid},
		{name: "query in path", dsn: "sqlite:x.db?mode=ro", wantErr: store.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := store.Open(t.Context(), tt.dsn)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Open(%q) err = %v, want %v", tt.dsn, err, tt.wantErr)
				}
				return
			}
			must(t, err)
			defer db.Close()
			if got := db.Engine(); got != store.EngineSQLite {
				t.Errorf("Engine() = %q", got)
			}
		})
	}
}

func TestSQLitePragmas(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := t.Context()
	for _, tt := range []struct {
		name, pragma, want string
		reader             bool
	}{
		{name: "wal", pragma: "journal_mode", want: "wal"},
		{name: "busy timeout", pragma: "busy_timeout", want: "5000"},
		{name: "foreign keys", pragma: "foreign_keys", want: "1"},
		{name: "synchronous normal", pragma: "synchronous", want: "1"},
		{name: "reader wal", pragma: "journal_mode", want: "wal", reader: true},
		{name: "reader query only", pragma: "query_only", want: "1", reader: true},
		{name: "reader busy timeout", pragma: "busy_timeout", want: "5000", reader: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			read := store.WriterPragma
			if tt.reader {
				read = store.ReaderPragma
			}
			got, err := read(ctx, db, tt.pragma)
			must(t, err)
			if got != tt.want {
				t.Errorf("PRAGMA %s = %q, want %q", tt.pragma, got, tt.want)
			}
		})
	}
}

func TestRebind(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{name: "none", in: "SELECT 1", want: "SELECT 1"},
		{name: "several", in: "a = ? AND b IN (?, ?)", want: "a = $1 AND b IN ($2, $3)"},
		{name: "quoted mark kept", in: `x LIKE ? ESCAPE '\' AND y = '?' AND z = ?`, want: `x LIKE $1 ESCAPE '\' AND y = '?' AND z = $2`},
		{name: "doubled quote", in: "a = 'it''s?' AND b = ?", want: "a = 'it''s?' AND b = $1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := store.RebindDollar(tt.in); got != tt.want {
				t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMigrationsIdempotentOnReopen(t *testing.T) {
	storetest.ForEachDSN(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		first, err := store.Open(ctx, dsn)
		must(t, err)
		must(t, first.EnsureWorkspace(ctx, store.Workspace{ID: "ws1", Name: "Acme", CreatedAt: t0}))
		v1, err := first.SchemaVersion(ctx)
		must(t, err)
		must(t, first.Close())

		for range 2 {
			db, err := store.Open(ctx, dsn)
			must(t, err)
			v, err := db.SchemaVersion(ctx)
			must(t, err)
			if v != v1 || v < 1 {
				t.Errorf("schema version after reopen = %d, first open %d", v, v1)
			}
			n, err := store.CountRows(ctx, db, "schema_migrations")
			must(t, err)
			if int64(n) != v1 {
				t.Errorf("schema_migrations has %d rows, want %d", n, v1)
			}
			w, err := db.Workspace(ctx, "ws1")
			must(t, err)
			if w.Name != "Acme" || !w.CreatedAt.Equal(t0) {
				t.Errorf("workspace after reopen = %+v", w)
			}
			must(t, db.Close())
		}
	})
}

func TestWorkspace(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		must(t, db.Ping(ctx))
		must(t, db.EnsureWorkspace(ctx, store.Workspace{ID: "acme", Name: "Acme", CreatedAt: t0}))
		must(t, db.EnsureWorkspace(ctx, store.Workspace{ID: "acme"})) // keeps the name
		got, err := db.Workspace(ctx, "acme")
		must(t, err)
		if want := (store.Workspace{ID: "acme", Name: "Acme", CreatedAt: t0}); got != want {
			t.Errorf("Workspace = %+v, want %+v", got, want)
		}
		must(t, db.EnsureWorkspace(ctx, store.Workspace{ID: "acme", Name: "Acme Inc"}))
		if got, _ := db.Workspace(ctx, "acme"); got.Name != "Acme Inc" || !got.CreatedAt.Equal(t0) {
			t.Errorf("renamed workspace = %+v", got)
		}
		if _, err := db.Workspace(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing workspace err = %v", err)
		}
		if err := db.EnsureWorkspace(ctx, store.Workspace{}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("empty id err = %v", err)
		}
	})
}

func TestMembers(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		maya := store.Member{WorkspaceID: "acme", Email: "Maya@Acme.example", Name: "Maya", Role: "support",
			Teams: []string{"support"}, PasswordHash: "h1", CreatedAt: t0}
		must(t, db.PutMember(ctx, maya))
		must(t, db.PutMember(ctx, store.Member{WorkspaceID: "acme", Email: "ada@acme.example", Role: "admin"}))
		must(t, db.PutMember(ctx, store.Member{WorkspaceID: "other", Email: "maya@acme.example", Role: "sales"}))

		got, err := db.Member(ctx, "acme", "MAYA@acme.example")
		must(t, err)
		want := maya
		want.Email = "maya@acme.example"
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Member = %+v, want %+v", got, want)
		}

		maya.Role, maya.Teams, maya.CreatedAt = "success", nil, t0.Add(time.Hour)
		must(t, db.PutMember(ctx, maya))
		got, err = db.Member(ctx, "acme", "maya@acme.example")
		must(t, err)
		if got.Role != "success" || len(got.Teams) != 0 || got.Teams == nil || !got.CreatedAt.Equal(t0) {
			t.Errorf("replaced member = %+v (want role success, empty teams, first CreatedAt)", got)
		}

		list, err := db.ListMembers(ctx, "acme")
		must(t, err)
		if len(list) != 2 || list[0].Email != "ada@acme.example" || list[1].Email != "maya@acme.example" {
			t.Errorf("ListMembers = %+v", list)
		}
		if _, err := db.Member(ctx, "acme", "nobody@acme.example"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing member err = %v", err)
		}
		if err := db.PutMember(ctx, store.Member{WorkspaceID: "acme"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("empty email err = %v", err)
		}
	})
}

func TestKeys(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		revokeAt := t0.Add(24 * time.Hour)
		store.SetClock(db, func() time.Time { return revokeAt })
		support := store.APIKey{WorkspaceID: "acme", ID: "key_1", Prefix: "ck_demo_", Hash: "aa", Name: "Maya",
			Kind: store.KeyKindMember, Member: "maya@acme.example", Role: "support", Teams: []string{"support"},
			Actions: []string{"ai.draft", "ai.general"}, DefaultAction: "ai.draft", Models: []string{"gpt-*"},
			CreatedAt: t0}
		flow := store.APIKey{WorkspaceID: "acme", ID: "key_2", Prefix: "ck_flow_", Hash: "bb",
			Kind: store.KeyKindWorkflow, Role: "automation", CreatedAt: t0.Add(time.Second)}
		twin := store.APIKey{WorkspaceID: "beta", ID: "key_1", Prefix: "ck_demo_", Hash: "cc",
			Kind: store.KeyKindMember, CreatedAt: t0}
		for _, k := range []store.APIKey{support, flow, twin} {
			must(t, db.PutKey(ctx, k))
		}

		tests := []struct {
			name    string
			key     store.APIKey
			wantErr error
		}{
			{name: "duplicate id", key: support, wantErr: store.ErrExists},
			{name: "bad kind", key: store.APIKey{WorkspaceID: "acme", ID: "k", Prefix: "p", Hash: "h", Kind: "robot"}, wantErr: store.ErrInvalid},
			{name: "no hash", key: store.APIKey{WorkspaceID: "acme", ID: "k", Prefix: "p", Kind: "member"}, wantErr: store.ErrInvalid},
			{name: "no workspace", key: store.APIKey{ID: "k", Prefix: "p", Hash: "h", Kind: "member"}, wantErr: store.ErrInvalid},
		}
		for _, tt := range tests {
			if err := db.PutKey(ctx, tt.key); !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: PutKey err = %v, want %v", tt.name, err, tt.wantErr)
			}
		}

		byPrefix, err := db.KeysByPrefix(ctx, "ck_demo_")
		must(t, err)
		if len(byPrefix) != 2 || !reflect.DeepEqual(byPrefix[0], support) || byPrefix[1].WorkspaceID != "beta" {
			t.Errorf("KeysByPrefix = %+v", byPrefix)
		}
		list, err := db.ListKeys(ctx, "acme")
		must(t, err)
		if len(list) != 2 || list[0].ID != "key_1" || list[1].ID != "key_2" || list[1].Member != "" {
			t.Errorf("ListKeys = %+v", list)
		}

		must(t, db.RevokeKey(ctx, "acme", "key_1"))
		store.SetClock(db, func() time.Time { return revokeAt.Add(time.Hour) })
		must(t, db.RevokeKey(ctx, "acme", "key_1")) // idempotent, keeps the first time
		byPrefix, err = db.KeysByPrefix(ctx, "ck_demo_")
		must(t, err)
		if r := byPrefix[0].RevokedAt; r == nil || !r.Equal(revokeAt) {
			t.Errorf("revoked key RevokedAt = %v, want %v", r, revokeAt)
		}
		if byPrefix[1].RevokedAt != nil {
			t.Errorf("same id in workspace beta was revoked too")
		}
		if err := db.RevokeKey(ctx, "acme", "key_9"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoke missing err = %v", err)
		}
		if none, err := db.KeysByPrefix(ctx, "ck_none_"); err != nil || len(none) != 0 {
			t.Errorf("unknown prefix = %v, %v", none, err)
		}
	})
}

func TestContextCancelled(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := db.Apply(ctx, "acme", store.Batch{Customers: []store.CustomerUpdate{{ID: "usr_1"}}}); !errors.Is(err, context.Canceled) {
			t.Errorf("Apply on cancelled ctx err = %v", err)
		}
		if _, err := db.Customer(t.Context(), "acme", "usr_1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("customer after cancelled Apply: err = %v", err)
		}
	})
}
