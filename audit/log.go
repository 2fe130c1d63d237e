package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/crisphq/crisp/store"
)

var (
	// ErrUnavailable wraps every failure to make a record durable. A caller
	// that gets it from Begin must not contact the provider: 503
	// audit_unavailable (unless audit.fail_open).
	ErrUnavailable = errors.New("audit unavailable")
	// ErrInvalid reports a record or argument the log refuses.
	ErrInvalid = errors.New("audit: invalid")
	// ErrClosed reports a call after Close, or a write to a read-only log.
	ErrClosed = errors.New("audit: log closed")
	// ErrUnknownUse reports a Finish whose id has no pending Begin.
	ErrUnknownUse = errors.New("audit: no pending use with that id")
	// ErrAlreadyRecorded reports a Finish for a use another writer already
	// recorded as interrupted (this process was silent past StaleAfter).
	ErrAlreadyRecorded = errors.New("audit: use already recorded as interrupted")
	// ErrNotFound reports a missing record.
	ErrNotFound = errors.New("audit: record not found")
)

// Options tune a Log. Zero values take the defaults noted.
type Options struct {
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// NewID names a new record. Default: "aud_" and a ULID of t (sortable
	// by time, random below the millisecond). Tests inject a sequence.
	NewID func(t time.Time) string
	// Logger gets the writer's own problems (never a record's values).
	Logger zerolog.Logger
	// MaxBatch bounds the records of one group commit. Default 1024.
	MaxBatch int
	// MaxDelay is how long the writer waits for a batch to fill once it has
	// one record. Default 0: commit as soon as the writer is free, which
	// batches by itself under load and adds nothing when idle.
	MaxDelay time.Duration
	// QueueSize bounds the records waiting for the writer; a full queue
	// makes callers wait (up to WriteTimeout). Default 8192.
	QueueSize int
	// WriteTimeout bounds one group commit and a wait for queue room.
	// Default 10s.
	WriteTimeout time.Duration
	// SigningKey signs checkpoints; nil writes none (pruning still leaves an
	// unsigned one). VerifyKeys are further public keys whose checkpoints
	// verify (retired signing keys).
	SigningKey ed25519.PrivateKey
	VerifyKeys []ed25519.PublicKey
	// CheckpointEvery signs the head after this many records in a
	// workspace; CheckpointInterval after this long if any record came.
	// Defaults 1000 and 1m.
	CheckpointEvery    int
	CheckpointInterval time.Duration
	// Retention prunes records older than this; 0 keeps them forever.
	// PruneEvery is how often pruning runs. Default 1h.
	Retention  time.Duration
	PruneEvery time.Duration
	// StaleAfter is how long a writer may be silent before its pending
	// uses count as interrupted. Default 30s; the heartbeat is a third.
	StaleAfter time.Duration
	// FailOpen is only announced here (a loud warning at Open); the caller
	// implements it by going on when Begin fails.
	FailOpen bool
	// ReadOnly opens for review (the CLI): no writer, no recovery.
	ReadOnly bool
	// Journal is a folder for the local write-ahead journal (see
	// journal.go): uses become durable with a file append and reach the
	// database behind the request. "" writes straight to the database, as
	// does a journal another live process owns.
	Journal string
	// JournalSegmentSize bounds one journal segment. Default 128 KiB.
	JournalSegmentSize int64
	// JournalDelay is how long the writer gathers journaled records into
	// one commit. Default 300ms; Sync (every review read), MaxBatch queued
	// and Close cut it short. A commit costs SQLite about a millisecond
	// whatever its size (BenchmarkWriteAudit: 8.8 µs a record in batches of
	// 170, 5.1 in batches of 512), so at a few thousand requests a second
	// a longer wait saves the writer's CPU: its thread's CPU time under
	// load (stream, c=32, 66k requests) was 92–94 ticks a run at 50ms,
	// 70–82 at 150ms and 53–63 at 300ms with MaxBatch 1024.
	JournalDelay time.Duration
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = func(t time.Time) string { return newID("aud_", t) }
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 8192
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 1000
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = time.Minute
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = time.Hour
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 30 * time.Second
	}
	if o.JournalDelay <= 0 {
		o.JournalDelay = 300 * time.Millisecond
	}
}

// Log is a workspace-chained audit log over a store. Begin, Finish and
// Append are safe for concurrent use; one writer goroutine, owned by the
// Log and ended by Close, commits them in batches.
type Log struct {
	db    *store.DB
	opts  Options
	log   zerolog.Logger
	owner string // this writer's id in audit_writers and audit_intents

	mu     sync.RWMutex // guards closed against sends on q
	closed bool
	q      chan *op
	kick   chan struct{} // cuts the journal writer's wait short
	done   chan struct{}
	err    error // the writer's shutdown error, read after done
	// thread is the writer's thread id where background gave it one (for
	// tests), 0 otherwise.
	thread atomic.Int64

	pendMu  sync.Mutex
	pending map[string]pendingUse

	// j is the local journal, nil when records go straight to the
	// database. failing is set while the writer cannot commit what the
	// journal holds: new uses are refused until it can.
	j        *journal
	failing  atomic.Bool
	stopping atomic.Bool

	w writerState // owned by the writer goroutine
}

type pendingUse struct {
	ws  string
	at  time.Time
	seg uint64 // the journal segment holding its begin line
}

// Open starts a Log over db. Unless opts.ReadOnly, it registers this
// process as a writer, records as interrupted the uses a crashed writer left
// pending, signs any unsigned chain head, prunes per retention, and starts
// the writer goroutine.
func Open(ctx context.Context, db *store.DB, opts Options) (*Log, error) {
	opts.defaults()
	l := &Log{db: db, opts: opts, log: opts.Logger, pending: map[string]pendingUse{}, done: make(chan struct{}),
		kick: make(chan struct{}, 1)}
	if opts.ReadOnly {
		l.closed = true
		close(l.done)
		return l, nil
	}
	l.owner = ownerID(newID("", opts.Now())[10:])
	if opts.FailOpen {
		l.log.Warn().Msg("audit.fail_open is set: AI requests proceed even when their audit record cannot be written")
	}
	l.w = newWriterState(opts.Now())
	var replay []uint64
	if opts.Journal != "" {
		j, segs, err := openJournal(opts.Journal, opts.JournalSegmentSize)
		switch {
		case errors.Is(err, errJournalBusy):
			l.log.Info().Str("journal", opts.Journal).Msg("audit journal owned by another crisp process; this one writes straight to the database")
		case err != nil:
			return nil, err
		default:
			l.j, replay = j, segs
		}
	}
	if err := l.start(ctx, replay); err != nil {
		if l.j != nil {
			l.j.unlock()
		}
		return nil, err
	}
	l.q = make(chan *op, opts.QueueSize)
	go l.run()
	return l, nil
}

// Close stops taking records, commits what is queued, records this
// process's still-pending uses as interrupted, signs the heads it moved and
// stops the writer. It is safe to call more than once.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return l.err
	}
	l.closed = true
	l.stopping.Store(true)
	close(l.q)
	l.mu.Unlock()
	l.wake()
	<-l.done
	return l.err
}

// Sync returns once every record handed to the log before it was called is
// in the database, so a read that follows sees it. Without a journal that
// is already so when Finish or Append returns.
func (l *Log) Sync(ctx context.Context) error {
	if l.j == nil {
		return nil
	}
	o := &op{fn: func(context.Context) error { return nil }, done: make(chan error, 1)}
	err := l.enqueue(ctx, o)
	if err == nil {
		l.wake()
		select {
		case err = <-o.done:
		case <-ctx.Done(): // the writer may be retrying a database that is away
			err = fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
	}
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

// PublicKey returns the checkpoint signing key's public half, or nil.
func (l *Log) PublicKey() ed25519.PublicKey {
	if l.opts.SigningKey == nil {
		return nil
	}
	return l.opts.SigningKey.Public().(ed25519.PublicKey)
}

// Begin durably records that a use is about to reach a provider and returns
// the use's new id (for X-Crisp-Audit-Id; r.ID is ignored). It returns once
// the intent is committed; on error (wrapping ErrUnavailable) the provider
// must not be contacted. ctx bounds only the wait for queue room.
func (l *Log) Begin(ctx context.Context, r Record) (string, error) {
	id, wait := l.BeginAsync(ctx, r)
	if err := wait(); err != nil {
		return "", err
	}
	return id, nil
}

// BeginAsync is Begin split in two, so the caller can overlap the intent's
// commit with its own work (building the upstream request, dialling): it
// queues the intent and returns the id at once; wait returns when the intent
// is durable, and no byte may go to the provider before wait returned nil.
// wait must be called exactly once.
func (l *Log) BeginAsync(ctx context.Context, r Record) (id string, wait func() error) {
	r.ID = ""
	l.stamp(&r)
	if err := r.validate(); err != nil {
		return "", func() error { return err }
	}
	// The intent is copied where it goes (the journal, or a string for the
	// database): it is encoded into a scratch buffer.
	scratch := sealScratch.Get().(*[]byte)
	body, _, _ := appendRecord((*scratch)[:0], &r, true)
	defer func() { *scratch = body; sealScratch.Put(scratch) }()
	if l.j != nil {
		return l.beginJournaled(r, body)
	}
	o := &op{intent: &store.AuditIntent{WorkspaceID: r.Workspace, ID: r.ID, Owner: l.owner, At: r.Time, Body: string(body)},
		done: make(chan error, 1)}
	l.pendMu.Lock()
	l.pending[r.ID] = pendingUse{ws: r.Workspace, at: r.Time}
	l.pendMu.Unlock()
	if err := l.enqueue(ctx, o); err != nil {
		o.done <- fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	// The closure keeps the id, not r: capturing r would move every
	// Begin's record to the heap, journaled ones too.
	rid := r.ID
	return rid, func() error {
		if err := <-o.done; err != nil {
			l.forget(rid)
			return err
		}
		return nil
	}
}

// Finish appends the use's outcome to its workspace's chain and clears its
// intent, returning once that is durable. r's ID, Workspace and Time come
// from Begin: a use's record carries the time it began, which its id names
// too (the store finds records by it). It records even when ctx is
// cancelled: a client that left is an outcome too.
func (l *Log) Finish(ctx context.Context, id string, r Record) error {
	// Taking the use out of pending in the lookup makes a second Finish of
	// the same use fail instead of chaining the id twice; a failure below
	// puts it back, for Close to record as interrupted.
	l.pendMu.Lock()
	p, ok := l.pending[id]
	delete(l.pending, id)
	l.pendMu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownUse, id)
	}
	err := l.finish(ctx, id, p, r)
	if err != nil && !errors.Is(err, ErrAlreadyRecorded) {
		l.pendMu.Lock()
		l.pending[id] = p
		l.pendMu.Unlock()
	}
	return err
}

func (l *Log) finish(ctx context.Context, id string, p pendingUse, r Record) error {
	if r.Workspace != "" && r.Workspace != p.ws {
		return fmt.Errorf("%w: use %q began in workspace %q, not %q", ErrInvalid, id, p.ws, r.Workspace)
	}
	r.ID, r.Workspace, r.Time = id, p.ws, p.at
	l.stamp(&r)
	if err := r.validate(); err != nil {
		return err
	}
	if l.j != nil {
		return l.chainJournaled(ctx, &r, journalEnd, p.seg)
	}
	o := l.appendOp(&r, store.AuditFinish)
	if err := l.do(context.WithoutCancel(ctx), o); err != nil {
		return err
	}
	if o.skipped {
		return fmt.Errorf("%w: %q", ErrAlreadyRecorded, id)
	}
	return nil
}

// Append chains a record that had no intent (a denial decided before any
// provider call, an admin change, a context read) and returns its new id
// (r.ID is ignored) once it is durable.
func (l *Log) Append(ctx context.Context, r Record) (string, error) {
	r.ID = ""
	l.stamp(&r)
	if err := r.validate(); err != nil {
		return "", err
	}
	if l.j != nil {
		if err := l.chainJournaled(ctx, &r, journalAppend); err != nil {
			return "", err
		}
		return r.ID, nil
	}
	if err := l.do(ctx, l.appendOp(&r, store.AuditPlain)); err != nil {
		return "", err
	}
	return r.ID, nil
}

// stamp gives r a time (and a new id unless it has one: Finish and
// recovery keep Begin's) and clears what the chain sets.
func (l *Log) stamp(r *Record) {
	if r.Time.IsZero() {
		r.Time = l.opts.Now()
	}
	if r.ID == "" {
		r.ID = l.opts.NewID(r.Time)
	}
	r.Time = r.Time.UTC().Truncate(time.Microsecond)
	r.Seq, r.PrevHash, r.Hash = 0, "", ""
}

func (l *Log) forget(id string) {
	l.pendMu.Lock()
	delete(l.pending, id)
	l.pendMu.Unlock()
}

// appendOp encodes r once, here on the caller's goroutine, so the writer
// only fills in seq and prev_hash and hashes.
func (l *Log) appendOp(r *Record, mode store.AuditAppendMode) *op {
	return sealedOp(r, mode, newSealer(r))
}

// sealedOp is appendOp with r's sealer already made; the op owns it.
func sealedOp(r *Record, mode store.AuditAppendMode, s sealer) *op {
	return &op{app: &store.AuditAppend{
		Row: store.AuditRow{
			WorkspaceID: r.Workspace, ID: r.ID, Kind: r.Kind, At: r.Time, Member: r.Member,
			CustomerID: r.CustomerID, AccountID: r.AccountID, Action: r.Action, Decision: r.decisionColumn(),
			Model: r.Model, Provider: r.Provider, Status: r.Status,
		},
		Mode: mode,
		Seal: func(dst []byte, seq int64, prev string) ([]byte, string, error) {
			out, hash := s.seal(dst, seq, prev)
			return out, hash, nil
		},
	}, sealed: &s}
}

// do queues o and waits for the writer's answer. ctx bounds only the wait
// for queue room: once queued, o is always answered.
func (l *Log) do(ctx context.Context, o *op) error {
	o.done = make(chan error, 1)
	if err := l.enqueue(ctx, o); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return <-o.done
}

var errQueueFull = errors.New("audit queue full")

// wake cuts a journal writer's wait short.
func (l *Log) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

func (l *Log) enqueue(ctx context.Context, o *op) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	select {
	case l.q <- o:
		if len(l.q) >= l.opts.MaxBatch {
			l.wake()
		}
		return nil
	default:
	}
	l.wake()
	t := time.NewTimer(l.opts.WriteTimeout)
	defer t.Stop()
	select {
	case l.q <- o:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errQueueFull
	}
}
