package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

// journalOptions are deterministic options with a journal in a fresh folder
// and a writer that gathers for 1ms. Ids are the default ULIDs, so several
// Logs on one database never name two records alike.
func journalOptions(t testing.TB) Options {
	opts := testOptions()
	opts.NewID = nil
	opts.Journal = filepath.Join(t.TempDir(), "journal")
	opts.JournalDelay = time.Millisecond
	return opts
}

// journalLine is one line as the Log writes it: a begin carries the record
// as BeginAsync encodes it, an end or append the record's sealer body.
func journalLine(op byte, r Record) []byte {
	var body []byte
	if op == journalBegin {
		body, _, _ = appendRecord(nil, &r, true)
	} else {
		body = newSealer(&r).body
	}
	return append(append([]byte{op, ' '}, body...), '\n')
}

// segmentsIn lists the journal segments in dir.
func segmentsIn(t testing.TB, dir string) []uint64 {
	t.Helper()
	segs, err := listSegments(dir)
	must(t, err)
	return segs
}

// liveSegments is segmentsIn for a journal in use: once its keeper is idle,
// and without the spare it made ahead (empty until it is written to).
func liveSegments(t testing.TB, l *Log) []uint64 {
	t.Helper()
	var spare bool
	var next uint64
	waitKeeper(t, l.j, func() bool {
		spare, next = l.j.spare != nil, l.j.seg+1
		return true
	})
	segs := segmentsIn(t, l.j.dir)
	if spare {
		segs = slices.DeleteFunc(segs, func(s uint64) bool { return s == next })
	}
	return segs
}

// currentSegment is the segment the journal writes to.
func currentSegment(l *Log) uint64 {
	l.j.mu.Lock()
	defer l.j.mu.Unlock()
	return l.j.seg
}

// writeSegment writes a segment file by hand, as a crashed process left it.
func writeSegment(t testing.TB, dir string, seg uint64, lines ...[]byte) {
	t.Helper()
	must(t, os.MkdirAll(dir, 0o700))
	must(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("%016d%s", seg, journalSuffix)), slices.Concat(lines...), 0o600))
}

// journalUse begins and finishes one use with status 200.
func journalUse(t testing.TB, l *Log, ws, member string) string {
	t.Helper()
	ctx := context.Background()
	id, err := l.Begin(ctx, useRecord(ws, member, "usr_2481"))
	must(t, err)
	must(t, l.Finish(ctx, id, useRecord(ws, member, "usr_2481")))
	return id
}

// denial is a record with no intent.
func denial(ws, member string) Record {
	return Record{Kind: KindAIUse, Workspace: ws, Member: member, Action: "ai.draft",
		CustomerID: "usr_2481", Status: 403, ErrorCode: "policy_denied", Decision: Decision{Rule: "default deny"}}
}

// wantRecord checks that ws holds id with the status and error code given.
func wantRecord(t testing.TB, l *Log, ws, id string, status int, code string) Record {
	t.Helper()
	r, err := l.Get(context.Background(), ws, id)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", ws, id, err)
	}
	if r.Status != status || r.ErrorCode != code {
		t.Errorf("record %s: status %d, error_code %q; want %d %q", id, r.Status, r.ErrorCode, status, code)
	}
	return r
}

// wantChain checks that ws's chain verifies and holds exactly n records.
func wantChain(t testing.TB, l *Log, ws string, n int64) {
	t.Helper()
	v, err := l.Verify(context.Background(), ws)
	must(t, err)
	if !v.OK || v.Records != n || v.LastSeq != n {
		t.Errorf("Verify(%s) = %+v, want ok with %d records", ws, v, n)
	}
}

// listIDs returns the ids of ws's records, oldest first.
func listIDs(t testing.TB, l *Log, ws string) []string {
	t.Helper()
	rs, _, err := l.List(context.Background(), Filter{Workspace: ws, Limit: 1000})
	must(t, err)
	var ids []string
	for _, r := range slices.Backward(rs) {
		ids = append(ids, r.ID)
	}
	return ids
}

// TestJournalRoundTrip: journaled uses and appends reach the database
// behind the caller, the chains verify, and segments go once their lines
// are committed, except one that holds a use still pending.
func TestJournalRoundTrip(t *testing.T) {
	forEach(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := t.Context()
		opts := journalOptions(t)
		opts.JournalSegmentSize = 2 << 10 // a record is ~1 KB: rotate every few lines
		l := openLog(t, db, opts)
		if l.j == nil {
			t.Fatal("no journal")
		}
		held, err := l.Begin(ctx, useRecord("acme", "held@acme.example", "usr_1"))
		must(t, err)
		if n := countRows(t, dsn, "audit_intents"); n != 0 {
			t.Errorf("journaled Begin wrote %d intents to the database", n)
		}
		type key struct{ ws, id string }
		want := map[key]int{} // status
		perWS := map[string]int64{}
		for i := range 6 {
			ws := []string{"acme", "globex"}[i%2]
			want[key{ws, journalUse(t, l, ws, fmt.Sprintf("m%d@x", i))}] = 200
			id, err := l.Append(ctx, denial(ws, fmt.Sprintf("d%d@x", i)))
			must(t, err)
			want[key{ws, id}] = 403
			perWS[ws] += 2
		}
		must(t, l.Sync(ctx))
		for k, status := range want {
			code := ""
			if status == 403 {
				code = "policy_denied"
			}
			wantRecord(t, l, k.ws, k.id, status, code)
		}
		for ws, n := range perWS {
			wantChain(t, l, ws, n)
		}
		cur := currentSegment(l)
		if cur < 3 {
			t.Fatalf("writing 13 lines into 2 KB segments reached segment %d only", cur)
		}
		// Everything is committed but the pending use's begin, in segment 1.
		if got := liveSegments(t, l); !slices.Equal(got, []uint64{1, cur}) {
			t.Errorf("segments after Sync = %v, want [1 %d] (the pending use's and the current one)", got, cur)
		}

		must(t, l.Finish(ctx, held, useRecord("acme", "held@acme.example", "usr_1")))
		for i := range 3 {
			_, err := l.Append(ctx, denial("acme", fmt.Sprintf("late%d@x", i)))
			must(t, err)
		}
		must(t, l.Sync(ctx))
		after := currentSegment(l)
		if after <= cur {
			t.Errorf("no rotation after 4 more lines (segment %d)", after)
		}
		if got := liveSegments(t, l); !slices.Equal(got, []uint64{after}) {
			t.Errorf("segments after all is committed = %v, want only the current [%d]", got, after)
		}
		wantRecord(t, l, "acme", held, 200, "")
		wantChain(t, l, "acme", perWS["acme"]+4)

		must(t, l.Close())
		if got := segmentsIn(t, opts.Journal); len(got) != 0 {
			t.Errorf("segments after Close = %v, want none", got)
		}
		wantChain(t, l, "acme", perWS["acme"]+4)
		wantChain(t, l, "globex", perWS["globex"])
	})
}

// TestJournalReplay: a journal a crashed process left, written by hand, is
// chained at the next Open: outcomes not yet chained are, a record already
// chained is not chained again, a use that never ended (or whose end was
// torn) is interrupted, and a torn last line is ignored.
func TestJournalReplay(t *testing.T) {
	forEach(t, testJournalReplay)
}

func testJournalReplay(t *testing.T, db *store.DB, _ string) {
	ctx := t.Context()
	// A record the crashed process had committed: its line is still in
	// the journal, and must not be chained twice.
	plain := openLog(t, db, Options{Now: newClock().Now, Logger: nopLogger(), SigningKey: testKey})
	committed, err := plain.Append(ctx, denial("acme", "early@acme.example"))
	must(t, err)
	must(t, plain.Close())
	early, err := plain.Get(ctx, "acme", committed)
	must(t, err)
	early.Seq, early.PrevHash, early.Hash = 0, "", ""

	begin := func(id, ws, member string) Record {
		r := useRecord(ws, member, "usr_2481")
		r.ID, r.Time = id, t0
		r.Status, r.Usage, r.LatencyMS, r.TTFTMS, r.ResponseSHA256 = 0, Usage{}, 0, 0, ""
		return r
	}
	end := func(id, ws, member string) Record {
		r := useRecord(ws, member, "usr_2481")
		r.ID, r.Time = id, t0
		return r
	}
	torn := journalLine(journalEnd, end("aud_h", "acme", "h@acme.example"))
	torn = torn[:len(torn)/2] // the write the crash cut short: no newline, half the JSON

	dir := filepath.Join(t.TempDir(), "journal")
	writeSegment(t, dir, 1,
		journalLine(journalAppend, early),                        // committed before the crash
		journalLine(journalBegin, begin("aud_b", "acme", "b@x")), // ended in the same segment,
		journalLine(journalEnd, end("aud_b", "acme", "b@x")),     // ended, not committed
		journalLine(journalBegin, begin("aud_c", "acme", "c@x")), // never ended: interrupted
		journalLine(journalBegin, begin("aud_d", "acme", "d@x")), // ends in the next segment
	)
	f := denial("globex", "f@x") // an append in another workspace
	f.ID, f.Time = "aud_f", t0
	writeSegment(t, dir, 2,
		journalLine(journalEnd, end("aud_d", "acme", "d@x")),
		journalLine(journalAppend, f),
		journalLine(journalBegin, begin("aud_h", "acme", "h@acme.example")), // its end was torn: interrupted
		torn,
	)
	writeSegment(t, dir, 3, make([]byte, 8<<10)) // the spare made ahead, never written to

	rep, err := readJournal(dir, []uint64{1, 2, 3})
	must(t, err)
	var got, interrupted []string
	for _, r := range rep.records {
		got = append(got, r.ID)
	}
	for _, r := range rep.interrupted {
		interrupted = append(interrupted, r.ID)
	}
	if want := []string{committed, "aud_b", "aud_d", "aud_f"}; !slices.Equal(got, want) {
		t.Errorf("readJournal records = %v, want %v", got, want)
	}
	if want := []string{"aud_c", "aud_h"}; !slices.Equal(interrupted, want) {
		t.Errorf("readJournal interrupted = %v, want %v", interrupted, want)
	}
	if rep.torn != 1 {
		t.Errorf("readJournal torn = %d, want 1", rep.torn)
	}

	opts := testOptions()
	opts.NewID, opts.Journal, opts.JournalDelay = nil, dir, time.Millisecond
	l := openLog(t, db, opts)
	if l.j == nil {
		t.Fatal("no journal")
	}
	if segs := segmentsIn(t, dir); len(segs) != 0 {
		t.Errorf("segments left after replay: %v", segs)
	}
	if ids := listIDs(t, l, "acme"); !slices.Equal(ids, []string{committed, "aud_b", "aud_d", "aud_c", "aud_h"}) {
		t.Errorf("acme records = %v, want the committed one once, b, d, then interrupted c and h", ids)
	}
	if ids := listIDs(t, l, "globex"); !slices.Equal(ids, []string{"aud_f"}) {
		t.Errorf("globex records = %v, want [aud_f]", ids)
	}
	wantRecord(t, l, "acme", committed, 403, "policy_denied")
	wantRecord(t, l, "acme", "aud_b", 200, "")
	wantRecord(t, l, "acme", "aud_d", 200, "")
	wantRecord(t, l, "globex", "aud_f", 403, "policy_denied")
	for _, id := range []string{"aud_c", "aud_h"} {
		r := wantRecord(t, l, "acme", id, 0, ErrorInterrupted)
		if r.Member == "" || r.Usage != (Usage{}) || !r.Time.Equal(t0) {
			t.Errorf("interrupted %s lost its begin: %s", id, mustJSON(r))
		}
	}
	wantChain(t, l, "acme", 5)
	wantChain(t, l, "globex", 1)

	// The journal goes on past the replayed segments.
	_, err = l.Append(ctx, denial("acme", "after@x"))
	must(t, err)
	must(t, l.Sync(ctx))
	if cur := currentSegment(l); cur != 4 {
		t.Errorf("first segment after replaying 1 to 3 is %d, want 4", cur)
	}
	wantChain(t, l, "acme", 6)
}

// TestJournalReplayLeftByLog snapshots a live Log's journal before its
// writer committed anything (a crash at that moment) and replays the copy
// into another database.
func TestJournalReplayLeftByLog(t *testing.T) {
	forEach(t, testJournalReplayLeftByLog)
}

func testJournalReplayLeftByLog(t *testing.T, db *store.DB, _ string) {
	ctx := t.Context()
	otherDSN := storetest.SQLiteDSN(t)
	opts := journalOptions(t)
	opts.JournalDelay = time.Hour // the writer gathers and never commits before Close
	crashed := openLog(t, storetest.OpenDSN(t, otherDSN), opts)
	ended := journalUse(t, crashed, "acme", "maya@acme.example")
	appended, err := crashed.Append(ctx, denial("acme", "riley@acme.example"))
	must(t, err)
	pending, err := crashed.Begin(ctx, useRecord("acme", "sam@acme.example", "usr_2481"))
	must(t, err)

	dir := filepath.Join(t.TempDir(), "journal")
	for _, seg := range segmentsIn(t, opts.Journal) {
		data, err := os.ReadFile(crashed.j.path(seg))
		must(t, err)
		writeSegment(t, dir, seg, data)
	}
	if n := countRecords(t, otherDSN); n != 0 {
		t.Fatalf("the writer committed %d records before the snapshot", n)
	}

	ropts := journalOptions(t)
	ropts.Journal = dir
	l := openLog(t, db, ropts)
	if segs := segmentsIn(t, dir); len(segs) != 0 {
		t.Errorf("segments left after replay: %v", segs)
	}
	wantRecord(t, l, "acme", ended, 200, "")
	wantRecord(t, l, "acme", appended, 403, "policy_denied")
	if r := wantRecord(t, l, "acme", pending, 0, ErrorInterrupted); r.Member != "sam@acme.example" {
		t.Errorf("interrupted use recorded as %s", mustJSON(r))
	}
	wantChain(t, l, "acme", 3)
}

// TestJournalCloseDrains: Close chains what the writer was still gathering
// and records uses still pending as interrupted, leaving no segment.
func TestJournalCloseDrains(t *testing.T) {
	forEach(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := t.Context()
		opts := journalOptions(t)
		opts.JournalDelay = time.Hour // nothing reaches the database before Close
		l := openLog(t, db, opts)
		pending, err := l.Begin(ctx, useRecord("acme", "sam@acme.example", "usr_2481"))
		must(t, err)
		ended := journalUse(t, l, "acme", "maya@acme.example")
		appended, err := l.Append(ctx, denial("acme", "riley@acme.example"))
		must(t, err)
		must(t, l.Close())

		if segs := segmentsIn(t, opts.Journal); len(segs) != 0 {
			t.Errorf("segments left after Close: %v", segs)
		}
		wantRecord(t, l, "acme", pending, 0, ErrorInterrupted)
		wantRecord(t, l, "acme", ended, 200, "")
		wantRecord(t, l, "acme", appended, 403, "policy_denied")
		wantChain(t, l, "acme", 3)
		if _, err := l.Begin(ctx, useRecord("acme", "m", "c")); !errors.Is(err, ErrUnavailable) {
			t.Errorf("Begin after Close: err = %v, want ErrUnavailable", err)
		}

		// Close let go of the folder.
		next := openLog(t, db, opts)
		if next.j == nil {
			t.Error("the journal folder is still locked after Close")
		}
	})
}

// TestJournalBusy: a second Log on a journal folder another Log owns writes
// straight to the database; both work, and the folder is free once the
// owner closes.
func TestJournalBusy(t *testing.T) {
	forEach(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := t.Context()
		opts := journalOptions(t)
		owner := openLog(t, db, opts)
		other := openLog(t, storetest.OpenDSN(t, dsn), opts)
		if owner.j == nil || other.j != nil {
			t.Fatalf("owner journal %v, other journal %v: want only the first to have one", owner.j != nil, other.j != nil)
		}
		var ids []string
		for _, l := range []*Log{owner, other} {
			ids = append(ids, journalUse(t, l, "acme", "maya@acme.example"))
			id, err := l.Append(ctx, denial("acme", "riley@acme.example"))
			must(t, err)
			ids = append(ids, id)
		}
		if n := countRecords(t, dsn); n < 2 {
			t.Errorf("the journal-less Log's records are not in the database on return (%d rows)", n)
		}
		must(t, owner.Sync(ctx))
		must(t, other.Sync(ctx))
		for _, l := range []*Log{owner, other} {
			for i, id := range ids {
				wantRecord(t, l, "acme", id, []int{200, 403}[i%2], []string{"", "policy_denied"}[i%2])
			}
		}
		wantChain(t, owner, "acme", 4)

		must(t, owner.Close())
		third := openLog(t, db, opts)
		if third.j == nil {
			t.Error("the folder stayed busy after its owner closed")
		}
		journalUse(t, third, "acme", "x@acme.example")
		journalUse(t, other, "acme", "y@acme.example")
		wantChain(t, third, "acme", 6)
	})
}

// TestJournalDatabaseAway: with the database unwritable, uses the journal
// already holds complete, new uses are refused with ErrUnavailable once the
// writer has seen the failure, and when the database is back every finished
// use is chained.
func TestJournalDatabaseAway(t *testing.T) {
	ctx := t.Context()
	dsn := storetest.SQLiteDSN(t)
	db := storetest.OpenDSN(t, dsn)
	opts := journalOptions(t)
	l := openLog(t, db, opts)
	raw := rawDB(t, dsn)

	var finished []string
	use := func() error {
		id, wait := l.BeginAsync(ctx, useRecord("acme", "maya@acme.example", "usr_2481"))
		if err := wait(); err != nil {
			return err
		}
		if err := l.Finish(ctx, id, useRecord("acme", "maya@acme.example", "usr_2481")); err != nil {
			t.Fatalf("Finish of a begun use: %v", err)
		}
		finished = append(finished, id)
		return nil
	}
	must(t, use())
	must(t, l.Sync(ctx))

	_, err := raw.ExecContext(ctx, "ALTER TABLE audit_blocks RENAME TO audit_blocks_away")
	must(t, err)
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := use()
		if err != nil {
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Begin with the database away: err = %v, want ErrUnavailable", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("uses kept being taken while the database was away")
		}
		time.Sleep(time.Millisecond)
	}
	if len(finished) < 2 {
		t.Fatalf("no use completed on the journal alone (finished %d)", len(finished))
	}
	if _, err := raw.ExecContext(ctx, "ALTER TABLE audit_blocks_away RENAME TO audit_blocks"); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		err := use()
		if err == nil {
			break
		}
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Begin: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("still refused after the database came back: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	must(t, l.Sync(ctx))
	for _, id := range finished {
		wantRecord(t, l, "acme", id, 200, "")
	}
	wantChain(t, l, "acme", int64(len(finished)))
	if segs := liveSegments(t, l); len(segs) != 1 {
		t.Errorf("segments once all is committed: %v, want only the current one", segs)
	}
}

// TestJournalCloseWhileAway: a Close that cannot reach the database leaves
// the journal as it is, and the next Open chains all of it.
func TestJournalCloseWhileAway(t *testing.T) {
	ctx := t.Context()
	dsn := storetest.SQLiteDSN(t)
	db := storetest.OpenDSN(t, dsn)
	opts := journalOptions(t)
	l := openLog(t, db, opts)
	raw := rawDB(t, dsn)
	_, err := raw.ExecContext(ctx, "ALTER TABLE audit_blocks RENAME TO audit_blocks_away")
	must(t, err)
	ended := journalUse(t, l, "acme", "maya@acme.example")
	appended, err := l.Append(ctx, denial("acme", "riley@acme.example"))
	must(t, err)
	pending, err := l.Begin(ctx, useRecord("acme", "sam@acme.example", "usr_2481"))
	must(t, err)
	if err := l.Close(); err == nil {
		t.Error("Close with the database away reported no error")
	}
	if segs := segmentsIn(t, opts.Journal); len(segs) == 0 {
		t.Fatal("Close dropped the journal it could not chain")
	}

	_, err = raw.ExecContext(ctx, "ALTER TABLE audit_blocks_away RENAME TO audit_blocks")
	must(t, err)
	next := openLog(t, db, opts)
	if segs := segmentsIn(t, opts.Journal); len(segs) != 0 {
		t.Errorf("segments left after replay: %v", segs)
	}
	wantRecord(t, next, "acme", ended, 200, "")
	wantRecord(t, next, "acme", appended, 403, "policy_denied")
	wantRecord(t, next, "acme", pending, 0, ErrorInterrupted)
	wantChain(t, next, "acme", 3)
}

// TestJournalWriteError: once a journal write fails, nothing more is taken
// (ErrUnavailable), and what the journal held before is still chained.
// brokenSegment fails every append, as a segment whose disk went away
// would.
type brokenSegment struct{ segment }

func (brokenSegment) append(int64, []byte) error { return errors.New("disk gone") }

func TestJournalWriteError(t *testing.T) {
	tests := []struct {
		name      string
		breakFile func(t *testing.T, j *journal)
	}{
		{"append fails", func(t *testing.T, j *journal) { j.cur = brokenSegment{j.cur} }},
		{"next segment cannot be made", func(t *testing.T, j *journal) {
			// The segment is full, there is no spare and its successor's
			// name is taken.
			for j.owed {
				j.made.Wait()
			}
			must(t, j.dropSpare())
			j.size = j.cur.capacity()
			must(t, os.WriteFile(j.path(j.seg+1), nil, 0o600))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			db := storetest.OpenSQLite(t)
			opts := journalOptions(t)
			l := openLog(t, db, opts)
			ended := journalUse(t, l, "acme", "maya@acme.example")
			pending, err := l.Begin(ctx, useRecord("acme", "sam@acme.example", "usr_2481"))
			must(t, err)
			must(t, l.Sync(ctx))

			l.j.mu.Lock()
			tt.breakFile(t, l.j)
			l.j.mu.Unlock()

			for range 2 { // the first failure and every call after it
				if _, err := l.Begin(ctx, useRecord("acme", "m", "c")); !errors.Is(err, ErrUnavailable) {
					t.Errorf("Begin after a journal write error: err = %v, want ErrUnavailable", err)
				}
			}
			if _, err := l.Append(ctx, denial("acme", "r")); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Append after a journal write error: err = %v, want ErrUnavailable", err)
			}
			if err := l.Finish(ctx, pending, useRecord("acme", "sam@acme.example", "usr_2481")); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Finish after a journal write error: err = %v, want ErrUnavailable", err)
			}
			if err := l.Close(); err != nil {
				t.Logf("Close: %v", err)
			}

			// Whatever Close could not drain, the next owner replays.
			next := openLog(t, db, opts)
			if segs := segmentsIn(t, opts.Journal); len(segs) != 0 {
				t.Errorf("segments left: %v", segs)
			}
			wantRecord(t, next, "acme", ended, 200, "")
			wantRecord(t, next, "acme", pending, 0, ErrorInterrupted)
			wantChain(t, next, "acme", 2)
		})
	}
}

// FuzzJournalLine: no bytes make the journal reader panic, and every line
// the journal's encoders write reads back as the same record.
func FuzzJournalLine(f *testing.F) {
	r := useRecord("acme", "maya@acme.example", "usr_2481")
	r.ID, r.Time = "aud_01", t0
	line := journalLine(journalEnd, r)
	f.Add(line, "aud_01", "acme", "maya@acme.example", t0.UnixNano(), 200)
	f.Add(line[:len(line)/2], "aud_02", "acme", "", int64(0), 0)
	f.Add(slices.Concat(journalLine(journalBegin, r), line, []byte("a {}\nx y\n\n")), "a", "w", "\n\"\\", int64(-1), -1)
	f.Add([]byte(`e {"id":"x","workspace":"y","time":"nope"}`), "\xff\xfe", "ws\x00\u2028", "\ud7ff\U0001F600", int64(1)<<62, 1<<40)
	f.Add([]byte("b "), "\xed\xa0\x80", "\x7f", "", int64(-1)<<62, 0)
	f.Fuzz(func(t *testing.T, data []byte, id, ws, member string, nanos int64, status int) {
		// Arbitrary bytes, as a line and as a segment.
		parseJournalLine(data)
		dir := t.TempDir()
		writeSegment(t, dir, 1, data)
		if _, err := readJournal(dir, []uint64{1}); err != nil {
			t.Fatalf("readJournal: %v", err)
		}

		if id == "" || ws == "" {
			return // not a record the log writes
		}
		rec := Record{ID: id, Workspace: ws, Kind: KindAIUse, Member: member, Time: time.Unix(0, nanos),
			Status: status, ContextFields: []string{member}, Redactions: map[string]int{member: status}}
		// The canonical form writes each invalid UTF-8 byte as U+FFFD.
		wantID, wantWS := string([]rune(id)), string([]rune(ws))
		var lines [][]byte
		for _, op := range []byte{journalBegin, journalEnd, journalAppend} {
			line := journalLine(op, rec)
			lines = append(lines, line)
			got, gotOp, ok := parseJournalLine(line[:len(line)-1])
			if !ok || gotOp != op || got.ID != wantID || got.Workspace != wantWS {
				t.Fatalf("line %q parsed as ok=%v op=%c id=%q workspace=%q; want op %c id %q workspace %q",
					line, ok, gotOp, got.ID, got.Workspace, op, wantID, wantWS)
			}
		}
		writeSegment(t, dir, 1, lines[0])
		writeSegment(t, dir, 2, lines[1])
		rep, err := readJournal(dir, []uint64{1, 2})
		must(t, err)
		if len(rep.records) != 1 || rep.records[0].ID != wantID || rep.records[0].Workspace != wantWS ||
			len(rep.interrupted) != 0 || rep.torn != 0 {
			t.Fatalf("begin and end read back as %+v", rep)
		}
	})
}
