package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

// seal is a stand-in for package audit's: the body names seq and prev so
// tests can see what the store passed.
func seal(id string) func([]byte, int64, string) ([]byte, string, error) {
	return func(dst []byte, seq int64, prev string) ([]byte, string, error) {
		return fmt.Appendf(dst, `{"id":%q,"seq":%d,"prev":%q}`, id, seq, prev), fmt.Sprintf("h%d", seq), nil
	}
}

func app(ws, id string, mode store.AuditAppendMode, at time.Time) store.AuditAppend {
	return store.AuditAppend{Row: store.AuditRow{WorkspaceID: ws, ID: id, Kind: "ai.use", At: at, Member: "m@x",
		CustomerID: "usr_" + id, Decision: "allow", Status: 200}, Mode: mode, Seal: seal(id)}
}

// batch is n plain appends to acme, r0…r(n-1), step apart from t0, each
// changed by tweak (when not nil) before it is added.
func batch(n int, step time.Duration, tweak func(i int, a *store.AuditAppend)) store.AuditWrite {
	var w store.AuditWrite
	for i := range n {
		a := app("acme", fmt.Sprintf("r%d", i), store.AuditPlain, t0.Add(time.Duration(i)*step))
		if tweak != nil {
			tweak(i, &a)
		}
		w.Appends = append(w.Appends, a)
	}
	return w
}

func TestWriteAuditChains(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		_, err := db.WriteAudit(ctx, store.AuditWrite{
			Intents: []store.AuditIntent{{WorkspaceID: "acme", ID: "b", Owner: "w1", At: t0, Body: "{}"}},
			Appends: []store.AuditAppend{app("acme", "a", store.AuditPlain, t0), app("globex", "g", store.AuditPlain, t0)},
		})
		must(t, err)
		res, err := db.WriteAudit(ctx, store.AuditWrite{Appends: []store.AuditAppend{
			app("acme", "b", store.AuditFinish, t0.Add(time.Second)),
			app("acme", "c", store.AuditRecover, t0), // no intent: skipped
		}})
		must(t, err)
		if res.Skipped[0] || !res.Skipped[1] {
			t.Errorf("Skipped = %v, want [false true]", res.Skipped)
		}
		head, err := db.AuditHead(ctx, "acme")
		must(t, err)
		if head != (store.AuditHead{Seq: 2, Hash: "h2"}) {
			t.Errorf("head = %+v", head)
		}
		var seqs []int64
		must(t, db.ScanAudit(ctx, "acme", func(r store.AuditRow) error { seqs = append(seqs, r.Seq); return nil }))
		if fmt.Sprint(seqs) != "[1 2]" {
			t.Errorf("acme chain seqs %v", seqs)
		}
		got, err := db.AuditRecord(ctx, "acme", "b", time.Time{}, time.Time{})
		must(t, err)
		want := store.AuditRow{WorkspaceID: "acme", Seq: 2, ID: "b", Kind: "ai.use", At: t0.Add(time.Second), Member: "m@x",
			CustomerID: "usr_b", Decision: "allow", Status: 200, Body: `{"id":"b","seq":2,"prev":"h1"}`, PrevHash: "h1", Hash: "h2"}
		if got != want {
			t.Errorf("AuditRecord =\n%+v\nwant\n%+v", got, want)
		}
		if _, err := db.AuditRecord(ctx, "globex", "b", time.Time{}, time.Time{}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("record of another workspace: err = %v", err)
		}
		// A finish whose intent is gone and whose id is recorded is skipped.
		res, err = db.WriteAudit(ctx, store.AuditWrite{Appends: []store.AuditAppend{app("acme", "b", store.AuditFinish, t0.Add(time.Second))}})
		must(t, err)
		if !res.Skipped[0] {
			t.Error("a second finish of b was appended")
		}
	})
}

func TestListAudit(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		_, err := db.WriteAudit(ctx, batch(5, time.Hour, func(i int, a *store.AuditAppend) {
			if i%2 == 1 {
				a.Row.Decision, a.Row.Member = "deny", "eve@x"
			}
		}))
		must(t, err)
		ids := func(rows []store.AuditRow) string {
			var s []string
			for _, r := range rows {
				s = append(s, r.ID)
			}
			return fmt.Sprint(s)
		}
		tests := []struct {
			name string
			f    store.AuditFilter
			want string
		}{
			{"all newest first", store.AuditFilter{}, "[r4 r3 r2 r1 r0]"},
			{"ascending", store.AuditFilter{Ascending: true}, "[r0 r1 r2 r3 r4]"},
			{"decision", store.AuditFilter{Decision: "deny"}, "[r3 r1]"},
			{"member", store.AuditFilter{Member: "m@x"}, "[r4 r2 r0]"},
			{"customer", store.AuditFilter{CustomerID: "usr_r2"}, "[r2]"},
			{"time range", store.AuditFilter{From: t0.Add(time.Hour), To: t0.Add(3 * time.Hour)}, "[r2 r1]"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rows, next, err := db.ListAudit(ctx, "acme", tt.f)
				must(t, err)
				if got := ids(rows); got != tt.want || next != "" {
					t.Errorf("ListAudit = %s next %q, want %s", got, next, tt.want)
				}
			})
		}
		t.Run("pages", func(t *testing.T) {
			if got := ids(listAll(t, db, store.AuditFilter{Limit: 2})); got != "[r4 r3 r2 r1 r0]" {
				t.Errorf("pages gave %s", got)
			}
		})
		if _, _, err := db.ListAudit(ctx, "acme", store.AuditFilter{Cursor: "nope"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("bad cursor: err = %v", err)
		}
	})
}

// TestWriteAuditConcurrent has two store handles (two processes) append
// to one chain at once; the head lock must keep it a single line.
func TestWriteAuditConcurrent(t *testing.T) {
	storetest.ForEachDSN(t, func(t *testing.T, dsn string) {
		dbs := []*store.DB{storetest.OpenDSN(t, dsn), storetest.OpenDSN(t, dsn)}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				for i := range 20 {
					id := fmt.Sprintf("g%d-%d", g, i)
					if _, err := dbs[g%2].WriteAudit(t.Context(), store.AuditWrite{Appends: []store.AuditAppend{
						app("acme", id, store.AuditPlain, t0)}}); err != nil {
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
		want := int64(0)
		prev := ""
		must(t, dbs[0].ScanAudit(t.Context(), "acme", func(r store.AuditRow) error {
			want++
			if r.Seq != want || r.PrevHash != prev {
				return fmt.Errorf("seq %d prev %q after %q: the chain forked", r.Seq, r.PrevHash, prev)
			}
			prev = r.Hash
			return nil
		}))
		if want != 160 {
			t.Errorf("%d records, want 160", want)
		}
	})
}

func TestPruneAudit(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		var w store.AuditWrite
		for i := range 5 {
			w.Appends = append(w.Appends, app("acme", fmt.Sprintf("r%d", i), store.AuditPlain, t0.Add(time.Duration(i)*time.Hour)))
		}
		_, err := db.WriteAudit(ctx, w)
		must(t, err)
		var gotPruned, gotHead store.AuditHead
		n, err := db.PruneAudit(ctx, "acme", t0.Add(2*time.Hour), func(pruned, head store.AuditHead) (store.AuditCheckpoint, error) {
			gotPruned, gotHead = pruned, head
			return store.AuditCheckpoint{WorkspaceID: "acme", ID: "cp1", At: t0, Seq: head.Seq, Hash: head.Hash,
				PrunedSeq: pruned.Seq, PrunedHash: pruned.Hash}, nil
		})
		must(t, err)
		if n != 2 || gotPruned != (store.AuditHead{Seq: 2, Hash: "h2"}) || gotHead != (store.AuditHead{Seq: 5, Hash: "h5"}) {
			t.Errorf("PruneAudit = %d, pruned %+v, head %+v", n, gotPruned, gotHead)
		}
		cps, err := db.AuditCheckpoints(ctx, "acme")
		must(t, err)
		if len(cps) != 1 || cps[0].PrunedSeq != 2 || cps[0].PrunedHash != "h2" || !cps[0].At.Equal(t0) {
			t.Errorf("checkpoints = %+v", cps)
		}
		n, err = db.PruneAudit(ctx, "acme", t0.Add(2*time.Hour), func(_, _ store.AuditHead) (store.AuditCheckpoint, error) {
			t.Error("nothing to prune, yet seal was called")
			return store.AuditCheckpoint{}, nil
		})
		must(t, err)
		if n != 0 {
			t.Errorf("second prune removed %d", n)
		}
	})
}

func TestAbandonedAuditIntents(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		must(t, db.AuditHeartbeat(ctx, "live", t0.Add(time.Hour)))
		must(t, db.AuditHeartbeat(ctx, "silent", t0))
		var in []store.AuditIntent
		for _, owner := range []string{"live", "silent", "gone", "me"} {
			in = append(in, store.AuditIntent{WorkspaceID: "acme", ID: "i-" + owner, Owner: owner, At: t0, Body: "{}"})
		}
		_, err := db.WriteAudit(ctx, store.AuditWrite{Intents: in})
		must(t, err)
		for _, tt := range []struct {
			name string
			self bool
			want string
		}{
			{"others", false, "[i-gone i-silent]"},
			{"with self", true, "[i-gone i-me i-silent]"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := db.AbandonedAuditIntents(ctx, "me", tt.self, t0.Add(30*time.Minute), 10)
				must(t, err)
				var ids []string
				for _, i := range got {
					ids = append(ids, i.ID)
				}
				if fmt.Sprint(ids) != tt.want {
					t.Errorf("abandoned = %v, want %s", ids, tt.want)
				}
			})
		}
		// A removed writer is gone at once; silent's heartbeat (t0) is not
		// before t0.
		must(t, db.RemoveAuditWriter(ctx, "live"))
		got, err := db.AbandonedAuditIntents(ctx, "me", false, t0, 10)
		must(t, err)
		if len(got) != 2 || got[0].ID != "i-gone" || got[1].ID != "i-live" {
			t.Errorf("after removing live: %+v, want i-gone and i-live", got)
		}
	})
}

// TestMoveAuditRows opens a database whose records an earlier version
// stored a row each: they move into blocks, in order, and stay whole.
func TestMoveAuditRows(t *testing.T) {
	storetest.ForEachDSN(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		db := storetest.OpenDSN(t, dsn)
		for ws, n := range map[string]int{"acme": 700, "globex": 3} { // acme takes several blocks
			prev := ""
			for seq := 1; seq <= n; seq++ {
				hash := fmt.Sprintf("%s-h%d", ws, seq)
				must(t, store.Exec(ctx, db, `INSERT INTO audit_records (workspace_id, seq, id, kind, at, member, customer_id,
					account_id, action, decision, model, provider, status, body, prev_hash, hash)
					VALUES (?, ?, ?, 'ai.use', ?, 'm@x', ?, '', 'ai.draft', 'allow', 'gpt-4o-mini', 'openai', 200, ?, ?, ?)`,
					ws, seq, fmt.Sprintf("r%d", seq), t0.Add(time.Duration(seq)*time.Second).UnixMicro(),
					fmt.Sprintf("usr_%d", seq%7), fmt.Sprintf(`{"seq":%d}`, seq), prev, hash))
				prev = hash
			}
		}
		db = storetest.OpenDSN(t, dsn) // moves them
		if n, err := store.CountRows(ctx, db, "audit_records"); err != nil || n != 0 {
			t.Fatalf("audit_records holds %d rows (%v), want none", n, err)
		}
		var seqs []int64
		prev := ""
		must(t, db.ScanAudit(ctx, "acme", func(r store.AuditRow) error {
			if r.PrevHash != prev || r.Body != fmt.Sprintf(`{"seq":%d}`, r.Seq) || r.Misfiled != "" || !r.At.Equal(t0.Add(time.Duration(r.Seq)*time.Second)) {
				return fmt.Errorf("moved record %+v after %q", r, prev)
			}
			prev = r.Hash
			seqs = append(seqs, r.Seq)
			return nil
		}))
		if len(seqs) != 700 || seqs[699] != 700 {
			t.Errorf("acme has %d records after the move", len(seqs))
		}
		rows, _, err := db.ListAudit(ctx, "acme", store.AuditFilter{CustomerID: "usr_3", Limit: 3})
		must(t, err)
		if len(rows) != 3 || rows[0].Seq != 696 || rows[1].Seq != 689 {
			t.Errorf("customer usr_3's newest records after the move: %+v", rows)
		}
		got, err := db.AuditRecord(ctx, "globex", "r2", time.Time{}, time.Time{})
		if err != nil || got.Hash != "globex-h2" || got.PrevHash != "globex-h1" {
			t.Errorf("globex r2 = %+v, %v", got, err)
		}
	})
}

// TestAuditBlocks writes one batch larger than a block and reads it back
// across block boundaries: pages, filters, look-ups and a prune that cuts a
// block in two.
func TestAuditBlocks(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		_, err := db.WriteAudit(ctx, batch(300, time.Second, func(i int, a *store.AuditAppend) {
			a.Row.CustomerID = fmt.Sprintf("usr_%d", i%10)
		}))
		must(t, err)
		all := seqsOf(listAll(t, db, store.AuditFilter{Limit: 70, Ascending: true}))
		if len(all) != 300 || all[0] != 1 || all[299] != 300 {
			t.Fatalf("paged through %d records (%v…)", len(all), all[:min(len(all), 3)])
		}
		rows, _, err := db.ListAudit(ctx, "acme", store.AuditFilter{CustomerID: "usr_7", From: t0.Add(100 * time.Second), Limit: 1000})
		must(t, err)
		if len(rows) != 20 || rows[0].ID != "r297" || rows[19].ID != "r107" {
			t.Errorf("usr_7 from 100 s: %d records, first %+v", len(rows), rows[0])
		}
		// Two terms and a cursor, newest first, across the blocks.
		seqs := seqsOf(listAll(t, db, store.AuditFilter{CustomerID: "usr_3", Decision: "allow", Member: "m@x", Limit: 7}))
		if len(seqs) != 30 || seqs[0] != 294 || seqs[29] != 4 {
			t.Errorf("usr_3, allowed, by m@x: %d records %v", len(seqs), seqs)
		}
		if rows, _, err := db.ListAudit(ctx, "acme", store.AuditFilter{CustomerID: "usr_3", Decision: "deny"}); err != nil || len(rows) != 0 {
			t.Errorf("usr_3 denied: %d records, %v", len(rows), err)
		}
		got, err := db.AuditRecord(ctx, "acme", "r200", t0.Add(200*time.Second), t0.Add(201*time.Second))
		if err != nil || got.Seq != 201 {
			t.Errorf("AuditRecord(r200) = %+v, %v", got, err)
		}
		n, err := db.PruneAudit(ctx, "acme", t0.Add(150*time.Second), func(pruned, head store.AuditHead) (store.AuditCheckpoint, error) {
			if pruned != (store.AuditHead{Seq: 150, Hash: "h150"}) {
				t.Errorf("pruned through %+v", pruned)
			}
			return store.AuditCheckpoint{WorkspaceID: "acme", ID: "cp", At: t0, Seq: head.Seq, Hash: head.Hash,
				PrunedSeq: pruned.Seq, PrunedHash: pruned.Hash}, nil
		})
		must(t, err)
		prev, kept := "h150", 0
		must(t, db.ScanAudit(ctx, "acme", func(r store.AuditRow) error {
			if r.PrevHash != prev || r.Misfiled != "" {
				return fmt.Errorf("after the prune, seq %d follows %q (misfiled %q)", r.Seq, prev, r.Misfiled)
			}
			prev, kept = r.Hash, kept+1
			return nil
		}))
		if n != 150 || kept != 150 {
			t.Errorf("prune removed %d and kept %d, want 150 and 150", n, kept)
		}
	})
}

// TestMoveAuditRowsTwice opens one database from two processes at once:
// the rows move once, and both opens succeed.
func TestMoveAuditRowsTwice(t *testing.T) {
	storetest.ForEachDSN(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		db := storetest.OpenDSN(t, dsn)
		for seq := 1; seq <= 300; seq++ {
			must(t, store.Exec(ctx, db, `INSERT INTO audit_records (workspace_id, seq, id, kind, at, body, prev_hash, hash)
				VALUES ('acme', ?, ?, 'ai.use', ?, '{}', ?, ?)`, seq, fmt.Sprintf("r%d", seq), t0.UnixMicro(),
				fmt.Sprintf("h%d", seq-1), fmt.Sprintf("h%d", seq)))
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for range 2 {
			wg.Go(func() {
				d, err := store.Open(ctx, dsn)
				if err == nil {
					err = d.Close()
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			must(t, err)
		}
		n := 0
		must(t, db.ScanAudit(ctx, "acme", func(store.AuditRow) error { n++; return nil }))
		if n != 300 {
			t.Errorf("%d records after two opens moved them, want 300", n)
		}
	})
}

// listAll pages through acme's records under f, following each cursor.
func listAll(t *testing.T, db *store.DB, f store.AuditFilter) []store.AuditRow {
	t.Helper()
	var all []store.AuditRow
	for {
		rows, next, err := db.ListAudit(t.Context(), "acme", f)
		must(t, err)
		all = append(all, rows...)
		if next == "" {
			return all
		}
		f.Cursor = next
	}
}

func seqsOf(rows []store.AuditRow) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.Seq
	}
	return out
}

// TestAuditBlockPacking: blocks are stored packed, close at 128 records or
// about a mebibyte of records, and blocks stored unpacked still read.
func TestAuditBlockPacking(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		filler := strings.Repeat(`"context_fields":["account.plan","account.seats"],`, 25) // ~1.3 KB, like a proxy record
		big := strings.Repeat("0123456789abcdef", 400<<10/16)
		_, err := db.WriteAudit(ctx, batch(205, time.Millisecond, func(i int, a *store.AuditAppend) {
			pad := filler
			if i >= 200 {
				pad = big
			}
			a.Seal = func(dst []byte, seq int64, prev string) ([]byte, string, error) {
				return fmt.Appendf(dst, `{%s"seq":%d,"prev":%q}`, pad, seq, prev), fmt.Sprintf("h%d", seq), nil
			}
		}))
		must(t, err)
		sizes, counts, err := store.AuditBlockSizes(ctx, db, "acme")
		must(t, err)
		// The second block takes 72 small records and the first three 400 KB
		// ones, which bring it past a mebibyte; the last two make a third.
		if !reflect.DeepEqual(counts, []int{128, 75, 2}) {
			t.Fatalf("blocks of %v records, want 128, 75 and 2", counts)
		}
		if raw := 128 * (len(filler) + 100); sizes[0] > raw/4 {
			t.Errorf("a block of 128 records is %d bytes stored, over a quarter of its %d", sizes[0], raw)
		}
		n := 0
		must(t, db.ScanAudit(ctx, "acme", func(r store.AuditRow) error {
			n++
			if r.Seq != int64(n) || r.Misfiled != "" || !strings.Contains(r.Body, fmt.Sprintf(`"seq":%d,`, n)) {
				return fmt.Errorf("record %d: seq %d misfiled %q body %.40q…", n, r.Seq, r.Misfiled, r.Body)
			}
			return nil
		}))
		if n != 205 {
			t.Errorf("scanned %d records, want 205", n)
		}

		// A block as stored before packing.
		old := []store.AuditRow{
			{Seq: 1, ID: "o1", Kind: "ai.use", At: t0, Member: "m@x", Status: 200, Hash: "h1", Body: `{"seq":1}`},
			{Seq: 2, ID: "o2", Kind: "ai.use", At: t0.Add(time.Second), Member: "m@x", Status: 200, PrevHash: "h1", Hash: "h2", Body: `{"seq":2}`},
		}
		must(t, store.Exec(ctx, db, `INSERT INTO audit_blocks (workspace_id, first_seq, last_seq, min_at, max_at, body) VALUES (?, 1, 2, ?, ?, ?)`,
			"initech", t0.UnixMicro(), t0.Add(time.Second).UnixMicro(), store.EncodeAuditBlockUnpacked(old)))
		rows, _, err := db.ListAudit(ctx, "initech", store.AuditFilter{Ascending: true})
		must(t, err)
		if len(rows) != 2 || rows[0].ID != "o1" || rows[1].Body != `{"seq":2}` || rows[1].PrevHash != "h1" {
			t.Errorf("unpacked block reads as %+v", rows)
		}
	})
}
