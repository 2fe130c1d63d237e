package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crisphq/crisp/store"
)

// errBehind refuses new uses while the writer cannot commit what the
// journal already holds: the journal must not grow without bound while the
// database is away, and a use no one can review yet is a use too many.
var errBehind = errors.New("the audit database is not taking records")

// beginJournaled makes a use's intent durable with one journal line.
func (l *Log) beginJournaled(r Record, body []byte) (string, func() error) {
	if l.failing.Load() {
		return "", func() error { return fmt.Errorf("%w: %w", ErrUnavailable, errBehind) }
	}
	seg, _, err := l.j.write(journalBegin, body)
	if err != nil {
		return "", func() error { return fmt.Errorf("%w: %w", ErrUnavailable, err) }
	}
	l.pendMu.Lock()
	l.pending[r.ID] = pendingUse{ws: r.Workspace, at: r.Time, seg: seg}
	l.pendMu.Unlock()
	return r.ID, func() error { return nil }
}

// chainJournaled makes r durable with one journal line (op journalEnd or
// journalAppend) and hands it to the writer to chain, without waiting for
// the database. more are journal segments r also settles (its begin line).
func (l *Log) chainJournaled(ctx context.Context, r *Record, op byte, more ...uint64) error {
	if op == journalAppend && l.failing.Load() {
		// A record with no intent is a denial or an admin change: like a
		// new use, it waits until the trail can take it. An outcome is
		// always taken: its use happened.
		return fmt.Errorf("%w: %w", ErrUnavailable, errBehind)
	}
	// The sealer's body is the record without its place in the chain:
	// exactly what the journal needs, so it is encoded once. Once written,
	// the writer seals from the journal's copy, which stays until the op
	// releases its segment: a queued record then holds no buffer of its own
	// (at 1,024 queued, 2 MB less resident memory).
	s := newSealer(r)
	seg, line, err := l.j.write(op, s.body)
	if err != nil {
		s.release()
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if line != nil {
		s.release()
		s.body = line
	}
	o := sealedOp(r, store.AuditPlain, s)
	o.segs = append(more, seg) // no done channel: the journal holds r, no one waits
	if err := l.enqueue(context.WithoutCancel(ctx), o); err != nil {
		// r stays in the journal, which the next Open (or Close) replays.
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// write commits one group. With a journal the records are already durable
// and acknowledged, so a failed commit is retried (with backoff) until it
// succeeds or the log is closing; new uses are refused meanwhile.
func (l *Log) write(w store.AuditWrite) (store.AuditWriteResult, error) {
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), l.opts.WriteTimeout)
		res, err := l.db.WriteAudit(ctx, w)
		cancel()
		if err == nil || l.j == nil || (l.stopping.Load() && attempt >= 2) {
			if err == nil && attempt > 0 {
				l.log.Info().Int("attempts", attempt+1).Msg("audit database is taking records again")
			}
			l.failing.Store(err != nil && l.j != nil)
			return res, err
		}
		l.failing.Store(true)
		l.log.Error().Err(err).Int("records", len(w.Appends)).Int("attempt", attempt+1).
			Msg("audit write failed; the journal keeps the records, retrying")
		time.Sleep(min(50*time.Millisecond<<min(attempt, 6), 2*time.Second))
	}
}

// replayJournal chains what the journal segments segs hold and removes them:
// outcomes not yet in the database, and uses that began but never ended, as
// interrupted. Records already chained are recognised by id and skipped.
func (l *Log) replayJournal(ctx context.Context, segs []uint64) error {
	rep, err := readJournal(l.j.dir, segs)
	if err != nil {
		return err
	}
	if rep.torn > 0 {
		l.log.Warn().Int("lines", rep.torn).Msg("audit journal: skipped lines cut short by a crash (never acknowledged)")
	}
	var apps []store.AuditAppend
	for _, r := range rep.records {
		l.stamp(&r)
		apps = append(apps, *l.appendOp(&r, store.AuditReplay).app)
	}
	for _, r := range rep.interrupted {
		r.Status, r.ErrorCode = 0, ErrorInterrupted
		l.stamp(&r)
		apps = append(apps, *l.appendOp(&r, store.AuditReplay).app)
	}
	added := 0
	for start := 0; start < len(apps); start += l.opts.MaxBatch {
		part := apps[start:min(len(apps), start+l.opts.MaxBatch)]
		res, err := l.db.WriteAudit(ctx, store.AuditWrite{Appends: part})
		if err != nil {
			return fmt.Errorf("audit: replay journal: %w", err)
		}
		for i, a := range part {
			if !res.Skipped[i] {
				added++
				l.w.since[a.Row.WorkspaceID]++
			}
		}
	}
	if added > 0 {
		l.log.Warn().Int("records", added).Int("interrupted", len(rep.interrupted)).
			Msg("audit journal replayed: records of uses the last run did not finish chaining")
	}
	if err := l.j.remove(segs); err != nil {
		return fmt.Errorf("audit: replay journal: %w", err)
	}
	return nil
}

// drainJournal runs at Close once the queue is empty: what is left in the
// journal (uses still pending, records a failed commit left behind) is
// chained, and the journal is handed back empty. On failure the segments
// stay for the next Open.
func (l *Log) drainJournal(ctx context.Context) error {
	err := l.j.closeFile()
	if err == nil {
		var segs []uint64
		if segs, err = listSegments(l.j.dir); err == nil {
			l.pendMu.Lock()
			pending := len(l.pending)
			l.pendMu.Unlock()
			if pending == 0 && l.j.settled() {
				// Every line is in the database: nothing to read back.
				err = l.j.remove(segs)
			} else {
				err = l.replayJournal(ctx, segs)
			}
		}
	}
	l.pendMu.Lock()
	clear(l.pending)
	l.pendMu.Unlock()
	return errors.Join(err, l.j.unlock())
}
