package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

func TestBeginFinishAppend(t *testing.T) {
	forEach(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := t.Context()
		l := openLog(t, db, testOptions())
		begin := useRecord("acme", "maya@acme.example", "usr_2481")
		begin.Status, begin.Usage, begin.LatencyMS, begin.TTFTMS, begin.ResponseSHA256 = 0, Usage{}, 0, 0, ""
		begin.Time = t0 // the request's start, as the proxy passes it
		id, err := l.Begin(ctx, begin)
		must(t, err)
		if n := countRows(t, dsn, "audit_intents"); n != 1 {
			t.Fatalf("after Begin: %d intents, want 1 durable intent", n)
		}
		if n := countRecords(t, dsn); n != 0 {
			t.Fatalf("after Begin: %d records, want 0 (the outcome is not known yet)", n)
		}
		done := useRecord("", "maya@acme.example", "usr_2481")
		must(t, l.Finish(ctx, id, done))
		if n := countRows(t, dsn, "audit_intents"); n != 0 {
			t.Fatalf("after Finish: %d intents, want 0", n)
		}
		deny := Record{Kind: KindAIUse, Workspace: "acme", Member: "riley@acme.example", Action: "ai.draft",
			CustomerID: "usr_2481", Status: 403, ErrorCode: "policy_denied",
			Decision: Decision{Rule: "default deny"}, Time: t0.Add(time.Second)}
		denyID, err := l.Append(ctx, deny)
		must(t, err)

		got, next, err := l.List(ctx, Filter{Workspace: "acme"})
		must(t, err)
		if next != "" || len(got) != 2 {
			t.Fatalf("List = %d records, next %q; want 2, no next", len(got), next)
		}
		want1 := done
		want1.ID, want1.Workspace, want1.Seq, want1.Time = id, "acme", 1, t0
		want1.PrevHash = ""
		want1.Hash = want1.ComputeHash()
		want2 := deny
		want2.ID, want2.Seq, want2.PrevHash = denyID, 2, want1.Hash
		want2.ContextFields, want2.Flags, want2.Redactions = []string{}, []string{}, map[string]int{}
		want2.Hash = want2.ComputeHash()
		for i, want := range []Record{want2, want1} { // newest first
			if !reflect.DeepEqual(got[i], want) {
				t.Errorf("record %d:\n got %s\nwant %s", i, mustJSON(got[i]), mustJSON(want))
			}
		}
		one, err := l.Get(ctx, "acme", id)
		must(t, err)
		if !reflect.DeepEqual(one, want1) {
			t.Errorf("Get = %s", mustJSON(one))
		}
		if _, err := l.Get(ctx, "other", id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get in another workspace: err = %v, want ErrNotFound", err)
		}
		v, err := l.Verify(ctx, "acme")
		must(t, err)
		if !v.OK || v.Records != 2 {
			t.Errorf("Verify = %+v", v)
		}
	})
}

func mustJSON(r Record) string {
	b, _ := r.MarshalJSON()
	return string(b)
}

func TestRefusals(t *testing.T) {
	db := storetest.OpenSQLite(t)
	l := openLog(t, db, testOptions())
	ctx := t.Context()
	id, err := l.Begin(ctx, useRecord("acme", "maya@acme.example", "usr_2481"))
	must(t, err)
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"begin without workspace", func() error { _, err := l.Begin(ctx, Record{Kind: KindAIUse}); return err }, ErrInvalid},
		{"append without kind", func() error { _, err := l.Append(ctx, Record{Workspace: "acme"}); return err }, ErrInvalid},
		{"finish unknown id", func() error { return l.Finish(ctx, "aud_nope", Record{Kind: KindAIUse}) }, ErrUnknownUse},
		{"finish in another workspace", func() error { return l.Finish(ctx, id, Record{Kind: KindAIUse, Workspace: "other"}) }, ErrInvalid},
		{"finish twice", func() error {
			if err := l.Finish(ctx, id, Record{Kind: KindAIUse}); err != nil {
				return err
			}
			return l.Finish(ctx, id, Record{Kind: KindAIUse})
		}, ErrUnknownUse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestFailClosed checks that a store that cannot write makes Begin fail
// with ErrUnavailable, so the caller answers 503 and calls no provider.
func TestFailClosed(t *testing.T) {
	dsn := storetest.SQLiteDSN(t)
	db, err := store.Open(t.Context(), dsn)
	must(t, err)
	l, err := Open(t.Context(), db, testOptions())
	must(t, err)
	db.Close()
	if _, err := l.Begin(t.Context(), useRecord("acme", "maya@acme.example", "usr_2481")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Begin on a closed store: err = %v, want ErrUnavailable", err)
	}
	if _, err := l.Append(t.Context(), useRecord("acme", "maya@acme.example", "usr_2481")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Append on a closed store: err = %v, want ErrUnavailable", err)
	}
	l.Close() // its shutdown cannot write either; it must still end
	if _, err := l.Append(t.Context(), useRecord("acme", "m", "c")); !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: err = %v, want ErrUnavailable and ErrClosed", err)
	}
}

// TestRecovery covers the uses a writer leaves pending: its own at Close,
// a crashed process's on this host at the next Open, and a silent
// replica's after StaleAfter.
func TestRecovery(t *testing.T) {
	forEach(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := t.Context()
		clk := newClock()
		opts := testOptions()
		opts.Now = clk.Now

		// A crash: the process's store goes away under a pending use, so
		// its shutdown cannot record anything.
		crashedDB := storetest.OpenDSN(t, dsn)
		crashed, err := Open(ctx, crashedDB, opts)
		must(t, err)
		lost, err := crashed.Begin(ctx, useRecord("acme", "maya@acme.example", "usr_2481"))
		must(t, err)
		crashedDB.Close()
		crashed.Close()
		// It was another process on this host, whose pid is gone now.
		host, _ := os.Hostname()
		dead := host + "/1073741823/1/x"
		raw := rawDB(t, dsn)
		for _, table := range []string{"audit_intents", "audit_writers"} {
			_, err := raw.ExecContext(ctx, rebind(dsn, "UPDATE "+table+" SET owner = ? WHERE owner = ?"), dead, crashed.owner)
			must(t, err)
		}

		// A replica elsewhere, silent since its last heartbeat.
		must(t, db.AuditHeartbeat(ctx, "otherhost/1/x", clk.Now()))
		_, err = db.WriteAudit(ctx, store.AuditWrite{Intents: []store.AuditIntent{{
			WorkspaceID: "acme", ID: "aud_replica", Owner: "otherhost/1/x", At: clk.Now(), Body: "{}"}}})
		must(t, err)

		l := openLog(t, db, opts)
		got, err := l.Get(ctx, "acme", lost)
		must(t, err)
		if got.Status != 0 || got.ErrorCode != ErrorInterrupted || got.Member != "maya@acme.example" || got.Seq != 1 {
			t.Errorf("crashed use recorded as %s", mustJSON(got))
		}
		if _, err := l.Get(ctx, "acme", "aud_replica"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a live replica's use was recorded as interrupted (err %v)", err)
		}
		clk.Add(opts.StaleAfter + 30*time.Second)
		l.maintainNow(t)
		rep, err := l.Get(ctx, "acme", "aud_replica")
		must(t, err)
		if rep.ErrorCode != ErrorInterrupted || rep.Kind != KindAIUse {
			t.Errorf("silent replica's use recorded as %s", mustJSON(rep))
		}

		pending, err := l.Begin(ctx, useRecord("acme", "sam@acme.example", "usr_2481"))
		must(t, err)
		must(t, l.Close())
		r, err := l.Get(ctx, "acme", pending)
		must(t, err)
		if r.ErrorCode != ErrorInterrupted {
			t.Errorf("use pending at Close recorded as %s", mustJSON(r))
		}
		if n := countRows(t, dsn, "audit_intents"); n != 0 {
			t.Errorf("%d intents left", n)
		}
		v, err := l.Verify(ctx, "acme")
		must(t, err)
		if !v.OK || v.Records != 3 {
			t.Errorf("Verify = %+v", v)
		}
	})
}

// maintainNow runs the periodic upkeep on the writer, as its ticker does.
func (l *Log) maintainNow(t *testing.T) {
	t.Helper()
	must(t, l.do(t.Context(), &op{fn: func(context.Context) error { l.maintain(); return nil }}))
}

// TestFinishAfterRecovered: a writer that was silent too long finds its use
// already recorded as interrupted by a replica.
func TestFinishAfterRecovered(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := t.Context()
	clk := newClock()
	opts := testOptions()
	opts.Now = clk.Now
	slow := openLog(t, db, opts)
	id, err := slow.Begin(ctx, useRecord("acme", "maya@acme.example", "usr_2481"))
	must(t, err)
	// The replica sees the slow writer's heartbeat as stale.
	clk.Add(time.Hour)
	replica := openLog(t, db, opts)
	replica.maintainNow(t)
	if r, err := replica.Get(ctx, "acme", id); err != nil || r.ErrorCode != ErrorInterrupted {
		t.Fatalf("replica did not record the stale use: %v %+v", err, r)
	}
	if err := slow.Finish(ctx, id, useRecord("acme", "maya@acme.example", "usr_2481")); !errors.Is(err, ErrAlreadyRecorded) {
		t.Fatalf("Finish after recovery: err = %v, want ErrAlreadyRecorded", err)
	}
	v, err := slow.Verify(ctx, "acme")
	must(t, err)
	if !v.OK || v.Records != 1 {
		t.Errorf("Verify = %+v", v)
	}
}

// TestConcurrentWriters has two Logs (two processes sharing one database)
// and many goroutines each, over two workspaces, and checks that no record
// is lost and neither chain forks.
func TestConcurrentWriters(t *testing.T) {
	storetest.ForEachDSN(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		const goroutines, each = 8, 40
		logs := []*Log{
			openLog(t, storetest.OpenDSN(t, dsn), Options{Logger: zerolog.Nop(), SigningKey: testKey, CheckpointEvery: 50}),
			openLog(t, storetest.OpenDSN(t, dsn), Options{Logger: zerolog.Nop(), SigningKey: testKey, CheckpointEvery: 50}),
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2*goroutines)
		for g := range 2 * goroutines {
			wg.Go(func() {
				l, ws := logs[g%2], []string{"acme", "globex"}[g/2%2]
				for i := range each {
					r := useRecord(ws, fmt.Sprintf("m%d@x", g), fmt.Sprintf("usr_%d", i))
					if i%2 == 0 {
						if _, err := l.Append(ctx, r); err != nil {
							errs <- err
							return
						}
						continue
					}
					id, err := l.Begin(ctx, r)
					if err == nil {
						err = l.Finish(ctx, id, r)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, l := range logs {
			must(t, l.Close())
		}
		for _, ws := range []string{"acme", "globex"} {
			v, err := logs[0].Verify(ctx, ws)
			must(t, err)
			if want := int64(goroutines * each); !v.OK || v.Records != want || v.LastSeq != want || v.SignedThrough != want {
				t.Errorf("%s: Verify = %+v, want ok with %d records all signed", ws, v, want)
			}
		}
	})
}

func TestBeginAsync(t *testing.T) {
	db := storetest.OpenSQLite(t)
	l := openLog(t, db, testOptions())
	ctx := t.Context()
	id, wait := l.BeginAsync(ctx, useRecord("acme", "maya@acme.example", "usr_2481"))
	if id == "" {
		t.Fatal("no id before the intent is durable")
	}
	must(t, wait())
	must(t, l.Finish(ctx, id, useRecord("acme", "maya@acme.example", "usr_2481")))
	if _, wait := l.BeginAsync(ctx, Record{Kind: KindAIUse}); !errors.Is(wait(), ErrInvalid) {
		t.Error("an invalid record's wait did not fail")
	}
	l.Close()
	if _, wait := l.BeginAsync(ctx, useRecord("acme", "m", "c")); !errors.Is(wait(), ErrUnavailable) {
		t.Error("BeginAsync after Close did not fail with ErrUnavailable")
	}
}
