package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/crisphq/crisp/store"
)

// op is one queued unit of work for the writer: an intent, a record to
// chain, or upkeep to run between commits. done gets exactly one answer;
// it is nil for a journaled record, which no one waits for.
type op struct {
	intent  *store.AuditIntent
	app     *store.AuditAppend
	fn      func(ctx context.Context) error
	done    chan error
	skipped bool // set by the writer before done is answered
	// segs are the journal segments whose lines this record settles once
	// it is committed (journal mode only).
	segs []uint64
	// sealed is app's sealer, released once the writer is done with it.
	sealed *sealer
}

// writerState is touched only by the writer goroutine (and by Open before
// the goroutine starts).
type writerState struct {
	since     map[string]int       // records per workspace since its last checkpoint
	lastCP    map[string]time.Time // when each workspace was last checkpointed
	lastPrune time.Time
	// appends and apps are commit's, kept between batches so a batch does
	// not grow new ones.
	appends []store.AuditAppend
	apps    []*op
}

func newWriterState(now time.Time) writerState {
	return writerState{since: map[string]int{}, lastCP: map[string]time.Time{}, lastPrune: now}
}

// start does Open's upkeep before the writer goroutine exists, replaying
// the journal segments a previous owner left.
func (l *Log) start(ctx context.Context, replay []uint64) error {
	now := l.opts.Now()
	if err := l.db.AuditHeartbeat(ctx, l.owner, now); err != nil {
		return fmt.Errorf("audit: register writer: %w", err)
	}
	if err := l.forgetDeadLocalWriters(ctx); err != nil {
		return err
	}
	if _, err := l.recover(ctx, false); err != nil {
		return err
	}
	if l.j != nil && len(replay) > 0 {
		if err := l.replayJournal(ctx, replay); err != nil {
			return err
		}
	}
	wss, err := l.db.AuditWorkspaces(ctx)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	for _, ws := range wss {
		if err := l.checkpointIfMoved(ctx, ws); err != nil {
			return err
		}
	}
	if l.opts.Retention > 0 {
		if _, err := l.prune(ctx); err != nil {
			return err
		}
	}
	return nil
}

// run is the writer goroutine: it commits queued ops in batches until q is
// closed and drained, runs upkeep on a ticker, then shuts down.
func (l *Log) run() {
	defer close(l.done)
	pri := background()
	l.thread.Store(int64(pri.thread()))
	tick := time.NewTicker(l.opts.StaleAfter / 3)
	defer tick.Stop()
	batch := make([]*op, 0, l.opts.MaxBatch)
	for {
		select {
		case o, ok := <-l.q:
			if !ok {
				l.err = l.shutdown()
				return
			}
			var open bool
			batch, open = l.fill(append(batch[:0], o))
			pri.pace(len(l.q), cap(l.q))
			l.commit(batch)
			clear(batch)
			if !open {
				l.err = l.shutdown()
				return
			}
		case <-tick.C:
			l.maintain()
		}
	}
}

// fill adds what is already queued, up to MaxBatch, waiting up to MaxDelay
// for more. It reports false once q is closed and empty.
func (l *Log) fill(batch []*op) ([]*op, bool) {
	if l.j != nil && batch[0].fn == nil {
		return l.gather(batch)
	}
	var deadline <-chan time.Time
	if l.opts.MaxDelay > 0 {
		t := time.NewTimer(l.opts.MaxDelay)
		defer t.Stop()
		deadline = t.C
	}
	for len(batch) < l.opts.MaxBatch {
		select {
		case o, ok := <-l.q:
			if !ok {
				return batch, false
			}
			batch = append(batch, o)
			continue
		default:
		}
		if deadline == nil {
			return batch, true
		}
		select {
		case o, ok := <-l.q:
			if !ok {
				return batch, false
			}
			batch = append(batch, o)
		case <-deadline:
			return batch, true
		}
	}
	return batch, true
}

// gather is fill with a journal: its records are durable already, so the
// writer sleeps JournalDelay (unless kicked: a Sync, a long queue, Close)
// and takes what came meanwhile. Waiting costs no caller anything, a larger
// batch costs the database less per record, and callers queue without
// waking the writer for each record.
func (l *Log) gather(batch []*op) ([]*op, bool) {
	if len(l.q) < l.opts.MaxBatch-1 { // a full batch waiting goes at once
		t := time.NewTimer(l.opts.JournalDelay)
		select {
		case <-t.C:
		case <-l.kick:
		}
		t.Stop()
	}
	for len(batch) < l.opts.MaxBatch {
		select {
		case o, ok := <-l.q:
			if !ok {
				return batch, false
			}
			batch = append(batch, o)
			if o.fn != nil {
				return batch, true // a Sync waits on this batch
			}
		default:
			return batch, true
		}
	}
	return batch, true
}

// commit writes the batch's intents and records in one transaction and
// answers each op, then runs the batch's upkeep ops.
func (l *Log) commit(batch []*op) {
	var (
		w    = store.AuditWrite{Appends: l.w.appends[:0]}
		apps = l.w.apps[:0]
		fns  []*op
	)
	defer func() {
		// Kept for the next batch, without what this one pointed to.
		l.w.appends, l.w.apps = clearAll(w.Appends), clearAll(apps)
	}()
	for _, o := range batch {
		switch {
		case o.fn != nil:
			fns = append(fns, o)
		case o.intent != nil:
			w.Intents = append(w.Intents, *o.intent)
		default:
			w.Appends = append(w.Appends, *o.app)
			apps = append(apps, o)
		}
	}
	if len(w.Intents)+len(w.Appends) > 0 {
		res, err := l.write(w)
		if err != nil {
			l.log.Error().Err(err).Int("intents", len(w.Intents)).Int("records", len(w.Appends)).Msg("audit write failed")
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		for i, o := range apps {
			// No seal follows a write that returned, whatever it returned.
			o.sealed.release()
			if err == nil {
				o.skipped = res.Skipped[i]
				if !o.skipped {
					l.w.since[o.app.Row.WorkspaceID]++
				}
				if len(o.segs) > 0 {
					l.j.release(o.segs...)
				}
			}
		}
		for _, o := range batch {
			if o.fn == nil && o.done != nil {
				o.done <- err
			}
		}
		if err == nil {
			l.checkpointDue(false)
		}
	}
	for _, o := range fns {
		ctx, cancel := context.WithTimeout(context.Background(), l.opts.WriteTimeout)
		o.done <- o.fn(ctx)
		cancel()
	}
}

// clearAll zeroes s and returns it empty, its array kept.
func clearAll[T any](s []T) []T {
	clear(s)
	return s[:0]
}

// maintain is the periodic upkeep: heartbeat, recovery of other writers'
// abandoned uses, time-based checkpoints and pruning. Problems are logged;
// the next tick tries again.
func (l *Log) maintain() {
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.WriteTimeout)
	defer cancel()
	now := l.opts.Now()
	if err := l.db.AuditHeartbeat(ctx, l.owner, now); err != nil {
		l.log.Error().Err(err).Msg("audit heartbeat failed")
	}
	if n, err := l.recover(ctx, false); err != nil {
		l.log.Error().Err(err).Msg("audit recovery failed")
	} else if n > 0 {
		l.log.Warn().Int("records", n).Msg("audit recorded interrupted uses of a stopped writer")
	}
	l.checkpointDue(true)
	if l.opts.Retention > 0 && now.Sub(l.w.lastPrune) >= l.opts.PruneEvery {
		if _, err := l.prune(ctx); err != nil {
			l.log.Error().Err(err).Msg("audit pruning failed")
		}
	}
}

// shutdown runs once q is drained: this process's pending uses become
// interrupted records, moved heads are signed, and the writer unregisters.
func (l *Log) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.WriteTimeout)
	defer cancel()
	n, err := l.recover(ctx, true)
	if n > 0 {
		l.log.Warn().Int("records", n).Msg("audit recorded uses still pending at close as interrupted")
	}
	if l.j != nil {
		err = errors.Join(err, l.drainJournal(ctx))
	}
	for ws, since := range l.w.since {
		if since > 0 {
			err = errors.Join(err, l.checkpointIfMoved(ctx, ws))
		}
	}
	return errors.Join(err, l.db.RemoveAuditWriter(ctx, l.owner))
}

// recover appends an interrupted record for every abandoned intent: of
// writers silent past StaleAfter, and with self, this writer's own.
func (l *Log) recover(ctx context.Context, self bool) (int, error) {
	total := 0
	for {
		stale := l.opts.Now().Add(-l.opts.StaleAfter)
		intents, err := l.db.AbandonedAuditIntents(ctx, l.owner, self, stale, l.opts.MaxBatch)
		if err != nil {
			return total, fmt.Errorf("audit: find abandoned uses: %w", err)
		}
		if len(intents) == 0 {
			return total, nil
		}
		var w store.AuditWrite
		for _, in := range intents {
			var r Record
			if err := json.Unmarshal([]byte(in.Body), &r); err != nil || r.ID != in.ID {
				// The intent is damaged; record the use with what the row says.
				r = Record{ID: in.ID, Kind: KindAIUse}
			}
			r.Workspace, r.Time = in.WorkspaceID, in.At
			r.Status, r.ErrorCode = 0, ErrorInterrupted
			l.stamp(&r)
			w.Appends = append(w.Appends, *l.appendOp(&r, store.AuditRecover).app)
		}
		res, err := l.db.WriteAudit(ctx, w)
		if err != nil {
			return total, fmt.Errorf("audit: record interrupted uses: %w", err)
		}
		for i, a := range w.Appends {
			if !res.Skipped[i] {
				total++
				l.w.since[a.Row.WorkspaceID]++
			}
			l.forget(a.Row.ID)
		}
		if len(intents) < l.opts.MaxBatch {
			return total, nil
		}
	}
}

// forgetDeadLocalWriters unregisters writers on this host whose process is
// gone, so a restart after a crash records their uses as interrupted at once
// rather than after StaleAfter. A writer's owner id is host/pid/start/random,
// where start is the process's start time from /proc (Linux): a pid reused
// by a new process (a restarted container's PID 1) has another start time.
func (l *Log) forgetDeadLocalWriters(ctx context.Context) error {
	// Every writer counts as silent before the end of time: all pending uses.
	forever := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	intents, err := l.db.AbandonedAuditIntents(ctx, l.owner, false, forever, 1<<20)
	if err != nil {
		return fmt.Errorf("audit: find pending uses: %w", err)
	}
	host, _ := os.Hostname()
	dead := map[string]bool{}
	for _, in := range intents {
		parts := strings.Split(in.Owner, "/")
		if len(parts) != 4 || parts[0] != host || dead[in.Owner] {
			continue
		}
		pid, err := strconv.Atoi(parts[1])
		if err != nil {
			continue
		}
		if !processAlive(pid, parts[2]) {
			dead[in.Owner] = true
		}
	}
	for owner := range dead {
		if err := l.db.RemoveAuditWriter(ctx, owner); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}

// ownerID names this writer: host/pid/start/random.
func ownerID(random string) string {
	host, _ := os.Hostname()
	pid := os.Getpid()
	return fmt.Sprintf("%s/%d/%s/%s", host, pid, processStart(pid), random)
}

// processStart is the process's start time in clock ticks since boot
// (field 22 of /proc/PID/stat), or "" where /proc is missing.
func processStart(pid int) string {
	return statField("/proc/"+strconv.Itoa(pid)+"/stat", 22)
}

// statField is field n (from 1, as proc(5) counts) of a /proc stat file
// (a process's or a thread's), or "" when the file or the field is missing.
func statField(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces; fields resume after ')'
	// with field 3.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || n < 3 {
		return ""
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < n-2 {
		return ""
	}
	return fields[n-3]
}

// processAlive reports whether pid runs and, when start is known, is still
// the process that started then.
func processAlive(pid int, start string) bool {
	if start != "" {
		return processStart(pid) == start
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}
