package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crisphq/crisp/store"
)

// waitKeeper waits until j's keeper has nothing left to do and ready
// (called with j.mu held) is true, failing t after 5s.
func waitKeeper(t testing.TB, j *journal, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		j.mu.Lock()
		done := j.idle() && ready()
		j.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the journal's keeper is still busy after 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestJournalSpare: the keeper makes the next segment ahead, a rotation
// takes it, a record larger than a segment makes its own, and closeFile
// deletes the spare; every line reads back.
func TestJournalSpare(t *testing.T) {
	dir := t.TempDir()
	const size = 8 << 10
	j, _, err := openJournal(dir, size)
	must(t, err)
	waitSpare := func() segment {
		t.Helper()
		var spare segment
		waitKeeper(t, j, func() bool { spare = j.spare; return spare != nil && !j.owed })
		return spare
	}
	line := func(i, n int) []byte {
		r := denial("acme", fmt.Sprintf("m%d@x", i))
		r.ID, r.Time, r.Target = fmt.Sprintf("aud_%03d", i), t0, strings.Repeat("x", n)
		return r.Canonical()
	}
	var want []string
	write := func(i, n int) uint64 {
		t.Helper()
		seg, _, err := j.write(journalAppend, line(i, n))
		must(t, err)
		want = append(want, fmt.Sprintf("aud_%03d", i))
		return seg
	}

	write(0, 100)
	spare := waitSpare()
	if fi, err := os.Stat(j.path(2)); err != nil || fi.Size() != size {
		t.Fatalf("spare segment 2: %v, %v; want a file of %d bytes", fi, err, size)
	}
	i := 1
	for write(i, 100) == 1 {
		i++
	}
	j.mu.Lock()
	took := j.cur == spare
	j.mu.Unlock()
	if !took {
		t.Error("the rotation to segment 2 did not take the spare")
	}
	waitSpare()
	if seg := write(i+1, 3*size); seg != 3 { // larger than a segment: the spare makes way
		t.Errorf("a record larger than a segment went to segment %d, want 3", seg)
	}
	write(i+2, 100)
	waitSpare()
	must(t, j.closeFile())
	segs := segmentsIn(t, dir)
	if !slices.Equal(segs, []uint64{1, 2, 3, 4}) {
		t.Errorf("segments after closeFile = %v, want [1 2 3 4] (no spare)", segs)
	}
	rep, err := readJournal(dir, segs)
	must(t, err)
	var got []string
	for _, r := range rep.records {
		got = append(got, r.ID)
	}
	if !slices.Equal(got, want) || rep.torn != 0 {
		t.Errorf("read back %v (torn %d), want %v", got, rep.torn, want)
	}
	must(t, j.unlock())
}

// TestJournalReuse: a settled segment's file is kept out of replay's view,
// becomes a later spare zeroed (none of its old lines read back), and
// closeFile deletes it, as openJournal deletes those a stopped run kept.
func TestJournalReuse(t *testing.T) {
	dir := t.TempDir()
	const size = 8 << 10
	stale := filepath.Join(dir, freePrefix+"7") // kept by a run that stopped
	must(t, os.WriteFile(stale, make([]byte, size), 0o600))
	j, _, err := openJournal(dir, size)
	must(t, err)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("openJournal left a free file a stopped run kept: %v", err)
	}
	waitIdle := func() {
		t.Helper()
		waitKeeper(t, j, func() bool { return !j.owed && j.spare != nil })
	}
	free := filepath.Join(dir, freePrefix+"1")
	line := func(i int) []byte {
		r := denial("acme", fmt.Sprintf("m%d@x", i))
		r.ID, r.Time, r.Target = fmt.Sprintf("aud_%04d", i), t0, strings.Repeat("x", 500)
		return r.Canonical()
	}
	lines := map[uint64][]string{}
	i := 0
	writeUntil := func(seg uint64) {
		t.Helper()
		for {
			s, _, err := j.write(journalAppend, line(i))
			must(t, err)
			if s == seg {
				lines[s] = append(lines[s], fmt.Sprintf("aud_%04d", i))
				i++
				return
			}
			lines[s] = append(lines[s], fmt.Sprintf("aud_%04d", i))
			i++
		}
	}
	writeUntil(3)
	waitIdle()
	for range lines[1] {
		j.release(1)
	}
	waitIdle()
	if _, err := os.Stat(free); err != nil {
		t.Fatalf("settled segment 1 not kept for reuse: %v", err)
	}
	if segs := segmentsIn(t, dir); !slices.Equal(segs, []uint64{2, 3, 4}) {
		t.Errorf("segments = %v, want [2 3 4] (4 the spare)", segs)
	}
	writeUntil(4) // takes the spare; the next spare is segment 1's file
	waitIdle()
	if _, err := os.Stat(free); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("free file still there after the next spare was made: %v", err)
	}
	data, err := os.ReadFile(j.path(5))
	must(t, err)
	if len(data) != size || len(bytes.Trim(data, "\x00")) != 0 {
		t.Errorf("reused spare: %d bytes, %d not zero; want %d zeros", len(data), len(bytes.Trim(data, "\x00")), size)
	}
	writeUntil(5)
	for _, seg := range []uint64{2, 3, 4} {
		for range lines[seg] {
			j.release(seg)
		}
	}
	waitIdle()
	must(t, j.closeFile())
	if _, err := os.Stat(free); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("closeFile left the free file: %v", err)
	}
	rep, err := readJournal(dir, []uint64{5})
	must(t, err)
	var got []string
	for _, r := range rep.records {
		got = append(got, r.ID)
	}
	if !slices.Equal(got, lines[5]) || rep.torn != 0 {
		t.Errorf("segment 5 reads back %v (torn %d), want %v", got, rep.torn, lines[5])
	}
	must(t, j.unlock())
}

// TestJournalConcurrentRotation: writers that fill segments while the
// keeper is making the spare all wait for it, one rotates and the others
// write into what it started; no segment is left mapped behind them but
// the free ones kept for reuse.
func TestJournalConcurrentRotation(t *testing.T) {
	dir := t.TempDir()
	const size = 4 << 10 // three lines a segment: rotations all the time
	j, _, err := openJournal(dir, size)
	must(t, err)
	line := bytes.Repeat([]byte("x"), 1200)
	var wg sync.WaitGroup
	segs := make(chan uint64, 8*300)
	for range 8 {
		wg.Go(func() {
			for range 300 {
				seg, _, err := j.write(journalAppend, line)
				if err != nil {
					t.Error(err)
					return
				}
				segs <- seg
			}
		})
	}
	wg.Wait()
	close(segs)
	for s := range segs {
		j.release(s)
	}
	waitKeeper(t, j, func() bool { return !j.owed })
	if maps, err := os.ReadFile("/proc/self/maps"); err == nil {
		if n := strings.Count(string(maps), dir); n > 2+maxFree {
			t.Errorf("%d journal segments mapped once all is settled, want at most %d (the one written, the spare and the free ones)", n, 2+maxFree)
		}
	}
	if got := segmentsIn(t, dir); len(got) > 2 {
		t.Errorf("segments left once all is settled: %v, want the current one and the spare", got)
	}
	must(t, j.unlock())
}

// TestJournalSealsFromMapping: queued records are sealed from the journal's
// mapping, so every segment that holds one, including one made larger than
// a segment for a huge record, stays mapped until the record is committed,
// however many segments were left since.
func TestJournalSealsFromMapping(t *testing.T) {
	forEach(t, func(t *testing.T, db *store.DB, dsn string) {
		ctx := t.Context()
		opts := journalOptions(t)
		opts.JournalSegmentSize = 4 << 10
		opts.JournalDelay = time.Hour // nothing is committed before Sync
		l := openLog(t, db, opts)
		huge := denial("acme", "huge@x")
		huge.Target = strings.Repeat("t", 3*int(opts.JournalSegmentSize))
		var ids []string
		for i := range 12 {
			r := denial("acme", fmt.Sprintf("m%d@x", i))
			if i == 4 {
				r = huge
			}
			id, err := l.Append(ctx, r)
			must(t, err)
			ids = append(ids, id)
		}
		if cur := currentSegment(l); cur < 4 {
			t.Fatalf("12 records reached segment %d only", cur)
		}
		// The keeper has retired every segment left before the commit.
		waitKeeper(t, l.j, func() bool { return len(l.j.retired) == 0 })
		must(t, l.Sync(ctx))
		wantChain(t, l, "acme", 12)
		for i, id := range ids {
			r := wantRecord(t, l, "acme", id, 403, "policy_denied")
			if want := fmt.Sprintf("m%d@x", i); i != 4 && r.Member != want {
				t.Errorf("record %d: member %q, want %q", i, r.Member, want)
			}
			if i == 4 && r.Target != huge.Target {
				t.Errorf("the huge record's target is %d bytes, want %d", len(r.Target), len(huge.Target))
			}
		}
		must(t, l.Close())
	})
}
