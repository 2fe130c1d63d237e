package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crisphq/crisp/store"
)

// checkpointMessage is the text a checkpoint's signature covers (see the
// package doc).
func checkpointMessage(c store.AuditCheckpoint) []byte {
	var b []byte
	b = append(b, "crisp-audit-checkpoint/v1\n"...)
	b = append(b, c.WorkspaceID...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, c.Seq, 10)
	b = append(b, '\n')
	b = append(b, c.Hash...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, c.PrunedSeq, 10)
	b = append(b, '\n')
	b = append(b, c.PrunedHash...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, c.At.UnixMicro(), 10)
	return append(b, '\n')
}

// newCheckpoint makes a checkpoint of head (and of the last pruned record),
// signed when a key is configured.
func (l *Log) newCheckpoint(ws string, head, pruned store.AuditHead) store.AuditCheckpoint {
	now := l.opts.Now().UTC().Truncate(time.Microsecond)
	c := store.AuditCheckpoint{
		WorkspaceID: ws, ID: newID("cp_", now), At: now, Seq: head.Seq, Hash: head.Hash,
		PrunedSeq: pruned.Seq, PrunedHash: pruned.Hash,
	}
	if key := l.opts.SigningKey; key != nil {
		c.PublicKey = hex.EncodeToString(key.Public().(ed25519.PublicKey))
		c.Signature = hex.EncodeToString(ed25519.Sign(key, checkpointMessage(c)))
	}
	return c
}

// checkpointDue signs the heads of workspaces that took CheckpointEvery
// records, and with timed, those that took any record in CheckpointInterval.
func (l *Log) checkpointDue(timed bool) {
	if l.opts.SigningKey == nil {
		return
	}
	now := l.opts.Now()
	for ws, n := range l.w.since {
		due := n >= l.opts.CheckpointEvery || (timed && n > 0 && now.Sub(l.w.lastCP[ws]) >= l.opts.CheckpointInterval)
		if !due {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.opts.WriteTimeout)
		err := l.checkpoint(ctx, ws)
		cancel()
		if err != nil {
			l.log.Error().Err(err).Str("workspace", ws).Msg("audit checkpoint failed")
		}
	}
}

// checkpoint signs the current head of ws's chain.
func (l *Log) checkpoint(ctx context.Context, ws string) error {
	head, err := l.db.AuditHead(ctx, ws)
	if err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	if err := l.db.PutAuditCheckpoint(ctx, l.newCheckpoint(ws, head, store.AuditHead{})); err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	l.w.since[ws] = 0
	l.w.lastCP[ws] = l.opts.Now()
	return nil
}

// checkpointIfMoved signs ws's head unless a checkpoint already covers it,
// so a restart after a crash leaves no unsigned tail.
func (l *Log) checkpointIfMoved(ctx context.Context, ws string) error {
	if l.opts.SigningKey == nil {
		return nil
	}
	head, err := l.db.AuditHead(ctx, ws)
	if err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	cps, err := l.db.AuditCheckpoints(ctx, ws)
	if err != nil {
		return fmt.Errorf("audit: checkpoint: %w", err)
	}
	pub := hex.EncodeToString(l.PublicKey())
	for _, c := range cps {
		if c.Seq == head.Seq && c.Hash == head.Hash && c.PublicKey == pub {
			l.w.since[ws] = 0
			return nil
		}
	}
	return l.checkpoint(ctx, ws)
}

// prune removes records older than Retention in every workspace.
func (l *Log) prune(ctx context.Context) (int64, error) {
	now := l.opts.Now()
	n, err := l.pruneBefore(ctx, now.Add(-l.opts.Retention))
	if err == nil {
		l.w.lastPrune = now
	}
	return n, err
}

func (l *Log) pruneBefore(ctx context.Context, before time.Time) (int64, error) {
	wss, err := l.db.AuditWorkspaces(ctx)
	if err != nil {
		return 0, fmt.Errorf("audit: prune: %w", err)
	}
	var total int64
	for _, ws := range wss {
		n, err := l.db.PruneAudit(ctx, ws, before, func(pruned, head store.AuditHead) (store.AuditCheckpoint, error) {
			return l.newCheckpoint(ws, head, pruned), nil
		})
		if err != nil {
			return total, fmt.Errorf("audit: prune workspace %q: %w", ws, err)
		}
		if n > 0 {
			l.log.Info().Str("workspace", ws).Int64("records", n).Msg("audit pruned records past retention")
		}
		total += n
	}
	return total, nil
}

// Checkpoint signs the current head of ws's chain now (or, with no signing
// key, stores it unsigned). It runs on the writer, after what is queued.
func (l *Log) Checkpoint(ctx context.Context, ws string) error {
	return l.do(ctx, &op{fn: func(ctx context.Context) error { return l.checkpoint(ctx, ws) }})
}

// Prune removes, in every workspace, the records before the given time (a
// prefix of each chain) and leaves a checkpoint carrying the last pruned
// hash. It returns how many records went. Retention calls it on its own.
func (l *Log) Prune(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := l.do(ctx, &op{fn: func(ctx context.Context) error {
		var err error
		n, err = l.pruneBefore(ctx, before)
		return err
	}})
	return n, err
}

// ParseSigningKey reads an ed25519 private key written as base64 (standard
// or URL alphabet, padded or not) or hex, of either the 32-byte seed or the
// 64-byte private key. Whitespace around it is ignored.
func ParseSigningKey(s string) (ed25519.PrivateKey, error) {
	raw, err := decodeKey(s)
	if err != nil {
		return nil, err
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		key := ed25519.NewKeyFromSeed(raw[:ed25519.SeedSize])
		if !key.Equal(ed25519.PrivateKey(raw)) {
			return nil, fmt.Errorf("%w: signing key: its public half does not match its seed", ErrInvalid)
		}
		return key, nil
	}
	return nil, fmt.Errorf("%w: signing key is %d bytes, want a 32-byte seed or a 64-byte key", ErrInvalid, len(raw))
}

// ParsePublicKey reads an ed25519 public key written as base64 or hex.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	raw, err := decodeKey(s)
	if err != nil {
		return nil, err
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: public key is %d bytes, want %d", ErrInvalid, len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: empty key", ErrInvalid)
	}
	if len(s)%2 == 0 {
		if raw, err := hex.DecodeString(s); err == nil {
			return raw, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil {
			return raw, nil
		}
	}
	return nil, fmt.Errorf("%w: key is neither hex nor base64", ErrInvalid)
}

// verifyCheckpoint checks c's signature against the trusted keys. An
// unsigned checkpoint is reported as such, not as an error.
func verifyCheckpoint(c store.AuditCheckpoint, trusted []ed25519.PublicKey) (signed bool, err error) {
	if c.PublicKey == "" && c.Signature == "" {
		return false, nil
	}
	pub, perr := hex.DecodeString(c.PublicKey)
	sig, serr := hex.DecodeString(c.Signature)
	if perr != nil || serr != nil || len(pub) != ed25519.PublicKeySize {
		return false, errors.New("its key or signature is malformed")
	}
	known := len(trusted) == 0
	for _, k := range trusted {
		if k.Equal(ed25519.PublicKey(pub)) {
			known = true
		}
	}
	if !known {
		return false, errors.New("it is signed by a key that is not configured")
	}
	if !ed25519.Verify(pub, checkpointMessage(c), sig) {
		return false, errors.New("its signature does not verify")
	}
	return len(trusted) > 0, nil
}

func b64(raw []byte) string { return base64.StdEncoding.EncodeToString(raw) }
