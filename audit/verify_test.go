package audit

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crisphq/crisp/store"
	"github.com/crisphq/crisp/store/storetest"
)

// tamper is what an attacker with write access to the database does.
type tamper struct {
	t    *testing.T
	ctx  context.Context
	raw  *sql.DB
	dsn  string
	db   *store.DB
	ids  map[int64]string // seq -> id before tampering
	logs *Log
}

func (tp *tamper) exec(q string, args ...any) {
	tp.t.Helper()
	if _, err := tp.raw.ExecContext(tp.ctx, rebind(tp.dsn, q), args...); err != nil {
		tp.t.Fatalf("%s: %v", q, err)
	}
}

// rewrite recomputes the records from..to with edit applied, so each one
// links and hashes correctly, and moves the head's hash when to is the end:
// a rewritten chain that only a signed checkpoint can expose.
func (tp *tamper) rewrite(from, to int64, edit func(*Record)) {
	tp.t.Helper()
	var rows []store.AuditRow
	must(tp.t, tp.db.ScanAudit(tp.ctx, "acme", func(r store.AuditRow) error { rows = append(rows, r); return nil }))
	prev := ""
	for _, row := range rows {
		if row.Seq < from || row.Seq > to {
			prev = row.Hash
			continue
		}
		r, err := fromRow(row)
		must(tp.t, err)
		edit(&r)
		r.PrevHash = prev
		r.Hash = r.ComputeHash()
		tp.editBlock(row.Seq, func(rows []store.AuditRow) {
			for i := range rows {
				if rows[i].Seq == row.Seq {
					rows[i].Body, rows[i].PrevHash, rows[i].Hash, rows[i].Member = string(r.Canonical()), r.PrevHash, r.Hash, r.Member
				}
			}
		})
		prev = r.Hash
	}
	if to >= rows[len(rows)-1].Seq {
		tp.exec(`UPDATE audit_chain_heads SET hash = ? WHERE workspace_id = 'acme'`, prev)
	}
}

// editBlock rewrites the block holding seq with edit applied to its rows.
func (tp *tamper) editBlock(seq int64, edit func(rows []store.AuditRow)) {
	tp.t.Helper()
	var (
		first int64
		body  []byte
	)
	must(tp.t, tp.raw.QueryRowContext(tp.ctx, rebind(tp.dsn,
		`SELECT first_seq, body FROM audit_blocks WHERE workspace_id = 'acme' AND first_seq <= ? AND last_seq >= ?`), seq, seq).
		Scan(&first, &body))
	rows, err := store.DecodeAuditBlock("acme", body)
	must(tp.t, err)
	edit(rows)
	// A thorough attacker files the block anew, as the store would have.
	minAt, maxAt := rows[0].At.UnixMicro(), rows[0].At.UnixMicro()
	tp.exec(`DELETE FROM audit_terms WHERE workspace_id = 'acme' AND first_seq = ?`, first)
	for _, r := range rows {
		minAt, maxAt = min(minAt, r.At.UnixMicro()), max(maxAt, r.At.UnixMicro())
		for col, v := range map[string]string{"kind": r.Kind, "member": r.Member, "customer_id": r.CustomerID,
			"account_id": r.AccountID, "action": r.Action, "decision": r.Decision, "model": r.Model, "provider": r.Provider} {
			if v != "" {
				tp.exec(`INSERT INTO audit_terms (workspace_id, term, first_seq) VALUES ('acme', ?, ?) ON CONFLICT DO NOTHING`, col+":"+v, first)
			}
		}
	}
	tp.exec(`UPDATE audit_blocks SET body = ?, min_at = ?, max_at = ? WHERE workspace_id = 'acme' AND first_seq = ?`,
		store.EncodeAuditBlock(rows), minAt, maxAt, first)
}

// row returns the stored record seq.
func (tp *tamper) row(seq int64) store.AuditRow {
	tp.t.Helper()
	var out store.AuditRow
	must(tp.t, tp.db.ScanAudit(tp.ctx, "acme", func(r store.AuditRow) error {
		if r.Seq == seq {
			out = r
		}
		return nil
	}))
	return out
}

// editRow rewrites record seq in its block.
func (tp *tamper) editRow(seq int64, edit func(r *store.AuditRow)) {
	tp.editBlock(seq, func(rows []store.AuditRow) {
		for i := range rows {
			if rows[i].Seq == seq {
				edit(&rows[i])
			}
		}
	})
}

func (tp *tamper) moveHead(seq int64) {
	tp.t.Helper()
	tp.exec(`UPDATE audit_chain_heads SET seq = ?, hash = ? WHERE workspace_id = 'acme'`, seq, tp.row(seq).Hash)
}

func TestVerifyTamper(t *testing.T) {
	otherKey := ed25519.NewKeyFromSeed([]byte("someone-else-s-signing-key-32byt"))
	tests := []struct {
		name    string
		tamper  func(tp *tamper)
		badSeq  int64 // 0: the chain verifies
		badID   bool  // the bad record exists and is named
		because string
	}{
		{name: "untouched", tamper: func(*tamper) {}},
		{name: "pruned by retention", tamper: func(tp *tamper) {
			n, err := tp.logs.Prune(tp.ctx, t0.Add(5*time.Second))
			must(t, err)
			if n != 4 {
				t.Errorf("pruned %d records, want 4", n)
			}
		}},
		{name: "edit a column", tamper: func(tp *tamper) {
			tp.editRow(5, func(r *store.AuditRow) { r.Member = "eve@x" })
		}, badSeq: 5, badID: true, because: "column member disagrees"},
		{name: "edit the body", tamper: func(tp *tamper) {
			tp.editRow(5, func(r *store.AuditRow) { r.Body, r.Member = strings.ReplaceAll(r.Body, "m5@x", "eve@x"), "eve@x" })
		}, badSeq: 5, badID: true, because: "hash does not match"},
		{name: "smuggle a value into the body", tamper: func(tp *tamper) {
			tp.editRow(5, func(r *store.AuditRow) { r.Body = strings.Replace(r.Body, `"workspace"`, `"x":"48250","workspace"`, 1) })
		}, badSeq: 5, badID: true, because: "not in canonical form"},
		{name: "unfile a record", tamper: func(tp *tamper) {
			// Lists filtered by member would no longer show it.
			tp.exec(`DELETE FROM audit_terms WHERE workspace_id = 'acme' AND term = 'member:m5@x'`)
		}, badSeq: 5, badID: true, because: `not filed under "member:m5@x"`},
		{name: "misstate a block's times", tamper: func(tp *tamper) {
			tp.exec(`UPDATE audit_blocks SET max_at = min_at - 1 WHERE workspace_id = 'acme' AND first_seq = 5`)
		}, badSeq: 5, badID: true, because: "times lie outside"},
		{name: "edit and rehash one record", tamper: func(tp *tamper) {
			tp.rewrite(5, 5, func(r *Record) { r.Member = "eve@x" })
		}, badSeq: 6, badID: true, because: "prev_hash does not match"},
		{name: "rewrite the chain from a record on", tamper: func(tp *tamper) {
			tp.rewrite(5, 10, func(r *Record) { r.Member = "eve@x" })
		}, badSeq: 8, badID: true, because: "checkpoint"},
		{name: "delete a row", tamper: func(tp *tamper) {
			tp.exec(`DELETE FROM audit_blocks WHERE first_seq = 5`) // each Append here is a block of its own
		}, badSeq: 6, badID: true, because: "seq 5 is missing"},
		{name: "reorder two rows", tamper: func(tp *tamper) {
			five, six := tp.row(5), tp.row(6)
			five.Seq, six.Seq = 6, 5
			tp.editRow(5, func(r *store.AuditRow) { *r = six })
			tp.editRow(6, func(r *store.AuditRow) { *r = five })
		}, badSeq: 5, badID: true, because: "column seq disagrees"},
		{name: "truncate", tamper: func(tp *tamper) {
			tp.exec(`DELETE FROM audit_blocks WHERE first_seq > 9`)
		}, badSeq: 10, because: "head is at seq 10"},
		{name: "truncate and move the head", tamper: func(tp *tamper) {
			tp.exec(`DELETE FROM audit_blocks WHERE first_seq > 6`)
			tp.moveHead(6)
		}, badSeq: 7, because: "past the end of the chain"},
		{name: "delete the oldest rows", tamper: func(tp *tamper) {
			tp.exec(`DELETE FROM audit_blocks WHERE first_seq <= 2`)
		}, badSeq: 3, badID: true, because: "chain starts at seq 3"},
		{name: "delete after pruning", tamper: func(tp *tamper) {
			_, err := tp.logs.Prune(tp.ctx, t0.Add(5*time.Second))
			must(t, err)
			tp.exec(`DELETE FROM audit_blocks WHERE first_seq = 5`)
		}, badSeq: 6, badID: true, because: "records from seq 5 are missing"},
		{name: "rewrite the whole chain", tamper: func(tp *tamper) {
			tp.rewrite(1, 10, func(r *Record) { r.Member = "eve@x" })
		}, badSeq: 4, badID: true, because: "checkpoint"},
		{name: "forge a checkpoint", tamper: func(tp *tamper) {
			tp.exec(`UPDATE audit_checkpoints SET hash = 'beef' WHERE seq = 4`)
		}, badSeq: 4, because: "signature does not verify"},
		{name: "checkpoint signed by another key", tamper: func(tp *tamper) {
			c := store.AuditCheckpoint{WorkspaceID: "acme", ID: "cp_x", At: t0, Seq: 9, Hash: "x"}
			c.PublicKey = hex.EncodeToString(otherKey.Public().(ed25519.PublicKey))
			c.Signature = hex.EncodeToString(ed25519.Sign(otherKey, checkpointMessage(c)))
			must(t, tp.db.PutAuditCheckpoint(tp.ctx, c))
		}, badSeq: 9, because: "not configured"},
	}
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					// A fresh chain per case: ten records, checkpoints at 4 and 8.
					tdsn := e.DSN(t)
					tdb := storetest.OpenDSN(t, tdsn)
					opts := testOptions()
					opts.CheckpointEvery = 4
					l := openLog(t, tdb, opts)
					tp := &tamper{t: t, ctx: t.Context(), raw: rawDB(t, tdsn), dsn: tdsn, db: tdb, ids: map[int64]string{}, logs: l}
					for i := 1; i <= 10; i++ {
						r := useRecord("acme", fmt.Sprintf("m%d@x", i), "usr_2481")
						r.Time = t0.Add(time.Duration(i) * time.Second)
						id, err := l.Append(tp.ctx, r)
						must(t, err)
						tp.ids[int64(i)] = id
					}
					tt.tamper(tp)
					v, err := l.Verify(tp.ctx, "acme")
					must(t, err)
					if tt.badSeq == 0 {
						if !v.OK {
							t.Fatalf("Verify = %+v, want ok", v)
						}
						return
					}
					wantID := ""
					if tt.badID {
						wantID = tp.ids[tt.badSeq]
						if tt.name == "reorder two rows" {
							wantID = tp.ids[6] // the record now in seq 5's place
						}
					}
					if v.OK || v.BadSeq != tt.badSeq || v.BadID != wantID || !strings.Contains(v.Reason, tt.because) {
						t.Errorf("Verify = ok %v, bad seq %d id %q: %s\nwant bad seq %d id %q, reason containing %q",
							v.OK, v.BadSeq, v.BadID, v.Reason, tt.badSeq, wantID, tt.because)
					}
				})
			}
		})
	}
}
