package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/crisphq/crisp/store"
)

// VerifyResult is what Verify found. When OK is false, BadSeq (and BadID
// when the record exists) name the first record that does not fit and
// Reason says why.
type VerifyResult struct {
	Workspace string `json:"workspace"`
	OK        bool   `json:"ok"`
	Records   int64  `json:"records"`
	FirstSeq  int64  `json:"first_seq"`
	LastSeq   int64  `json:"last_seq"`
	HeadHash  string `json:"head_hash"`
	// Checkpoints counts the checkpoints checked; SignedThrough is the
	// highest seq a checkpoint signed by a configured key vouches for.
	Checkpoints   int   `json:"checkpoints"`
	SignedThrough int64 `json:"signed_through"`
	// PrunedThrough is the last seq removed by retention (0: none).
	PrunedThrough int64    `json:"pruned_through"`
	BadSeq        int64    `json:"bad_seq,omitempty"`
	BadID         string   `json:"bad_id,omitempty"`
	Reason        string   `json:"reason,omitempty"`
	Warnings      []string `json:"warnings,omitempty"`
}

func (v *VerifyResult) fail(seq int64, id, format string, args ...any) {
	v.OK, v.BadSeq, v.BadID, v.Reason = false, seq, id, fmt.Sprintf(format, args...)
}

// errStop ends a scan at the first bad record.
var errStop = errors.New("stop")

// Verify recomputes ws's chain from its records, checks it against the
// chain head and the checkpoints, and reports the first record that does not
// fit. An error means the check could not run, not that the chain is bad.
func (l *Log) Verify(ctx context.Context, ws string) (VerifyResult, error) {
	v := VerifyResult{Workspace: ws, OK: true, Warnings: []string{}}
	if err := l.Sync(ctx); err != nil {
		return v, err
	}
	cps, err := l.db.AuditCheckpoints(ctx, ws)
	if err != nil {
		return v, fmt.Errorf("audit: verify: %w", err)
	}
	head, err := l.db.AuditHead(ctx, ws)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return v, fmt.Errorf("audit: verify: %w", err)
	}
	trusted := l.trustedKeys()
	bySeq := map[int64][]store.AuditCheckpoint{}
	var start store.AuditCheckpoint // the checkpoint the chain starts after
	for _, c := range cps {
		signed, err := verifyCheckpoint(c, trusted)
		if err != nil {
			v.fail(c.Seq, "", "checkpoint %s at seq %d: %v", c.ID, c.Seq, err)
			return v, nil
		}
		if len(trusted) > 0 && !signed {
			v.Warnings = append(v.Warnings, fmt.Sprintf("checkpoint %s at seq %d is unsigned; it was not trusted", c.ID, c.Seq))
			continue
		}
		v.Checkpoints++
		if signed {
			v.SignedThrough = max(v.SignedThrough, c.Seq)
		}
		bySeq[c.Seq] = append(bySeq[c.Seq], c)
		if c.PrunedSeq > start.PrunedSeq {
			start = c
		}
	}
	v.PrunedThrough = start.PrunedSeq
	s := chainScan{ws: ws, v: &v, bySeq: bySeq, seq: start.PrunedSeq, hash: start.PrunedHash}
	err = l.db.ScanAudit(ctx, ws, s.check)
	if err != nil && !errors.Is(err, errStop) {
		return v, fmt.Errorf("audit: verify: %w", err)
	}
	if !v.OK {
		return v, nil
	}
	s.end(head)
	if v.OK && len(trusted) > 0 && v.LastSeq-v.SignedThrough > int64(2*l.opts.CheckpointEvery+l.opts.MaxBatch) {
		v.Warnings = append(v.Warnings, fmt.Sprintf("%d records after the last signed checkpoint (seq %d)",
			v.LastSeq-v.SignedThrough, v.SignedThrough))
	}
	return v, nil
}

func (l *Log) trustedKeys() []ed25519.PublicKey {
	keys := append([]ed25519.PublicKey(nil), l.opts.VerifyKeys...)
	if pub := l.PublicKey(); pub != nil {
		keys = append(keys, pub)
	}
	return keys
}

// chainScan walks a chain in seq order; seq and hash are the last record
// that fitted (or what the chain starts after).
type chainScan struct {
	ws     string
	v      *VerifyResult
	bySeq  map[int64][]store.AuditCheckpoint
	seq    int64
	hash   string
	lastID string
}

func (s *chainScan) check(row store.AuditRow) error {
	v := s.v
	if reason := s.misfit(row); reason != "" {
		v.fail(row.Seq, row.ID, "%s", reason)
		return errStop
	}
	for _, c := range s.bySeq[row.Seq] {
		if c.Hash != row.Hash {
			v.fail(row.Seq, row.ID, "record does not match checkpoint %s of %s: the chain was rewritten", c.ID, c.At.Format(timeLayout))
			return errStop
		}
	}
	if v.Records == 0 {
		v.FirstSeq = row.Seq
	}
	v.Records++
	v.LastSeq, v.HeadHash = row.Seq, row.Hash
	s.seq, s.hash, s.lastID = row.Seq, row.Hash, row.ID
	return nil
}

// misfit says why row does not follow the chain so far, or "".
func (s *chainScan) misfit(row store.AuditRow) string {
	want := s.seq + 1
	switch {
	case row.Seq > want && want == s.v.PrunedThrough+1 && s.v.Records == 0:
		return fmt.Sprintf("the chain starts at seq %d but records from seq %d are missing (deleted, and no checkpoint covers it)", row.Seq, want)
	case row.Seq > want:
		return fmt.Sprintf("record seq %d is missing (deleted) before this one (seq %d)", want, row.Seq)
	case row.Seq < want:
		return fmt.Sprintf("seq %d is out of order: expected %d", row.Seq, want)
	}
	var r Record
	if err := json.Unmarshal([]byte(row.Body), &r); err != nil {
		return fmt.Sprintf("body is not a record: %v", err)
	}
	if got, _, _ := appendRecord(nil, &r, false); !bytes.Equal(got, []byte(row.Body)) {
		return "body is not in canonical form: it was edited"
	}
	for _, c := range []struct {
		col       string
		got, want any
	}{
		{"seq", row.Seq, r.Seq}, {"id", row.ID, r.ID}, {"workspace", s.ws, r.Workspace},
		{"prev_hash", row.PrevHash, r.PrevHash}, {"kind", row.Kind, r.Kind}, {"time", row.At.UnixMicro(), r.Time.UnixMicro()},
		{"member", row.Member, r.Member}, {"customer_id", row.CustomerID, r.CustomerID},
		{"account_id", row.AccountID, r.AccountID}, {"action", row.Action, r.Action},
		{"decision", row.Decision, r.decisionColumn()}, {"model", row.Model, r.Model},
		{"provider", row.Provider, r.Provider}, {"status", row.Status, r.Status},
	} {
		if c.got != c.want {
			return fmt.Sprintf("column %s disagrees with the record's body: it was edited", c.col)
		}
	}
	if row.PrevHash != s.hash {
		return fmt.Sprintf("prev_hash does not match the hash of the record before it (seq %d): records were removed, reordered or rewritten", s.seq)
	}
	if chainHash(row.PrevHash, []byte(row.Body)) != row.Hash {
		return "hash does not match the record's content: it was edited"
	}
	if row.Misfiled != "" {
		return row.Misfiled + ": the store was edited"
	}
	return ""
}

// end checks that the chain reaches its head and every checkpoint.
func (s *chainScan) end(head store.AuditHead) {
	v := s.v
	if head.Seq != s.seq || head.Hash != s.hash {
		v.fail(s.seq+1, "", "records from seq %d on are missing: the chain ends at seq %d%s but its head is at seq %d",
			s.seq+1, s.seq, orNone(" ("+s.lastID+")", s.lastID), head.Seq)
		return
	}
	for seq, cs := range s.bySeq {
		if seq > s.seq {
			v.fail(s.seq+1, "", "records from seq %d on are missing: checkpoint %s vouches for seq %d, past the end of the chain",
				s.seq+1, cs[0].ID, seq)
			return
		}
	}
}

func orNone(s, cond string) string {
	if cond == "" {
		return ""
	}
	return s
}
