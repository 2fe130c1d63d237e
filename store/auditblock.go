package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/klauspost/compress/s2"
)

// An audit block is records one group commit appended to one workspace's
// chain (up to maxBlockRecords of them): seq first_seq through last_seq, in
// order, in one row of audit_blocks (migration 0004). Its body is this file's encoding:
//
//	blockFormat, then per record: seq, at and status as varints; id, kind,
//	member, customer_id, account_id, action, decision, model, provider and
//	prev_hash, each a uvarint length and bytes; the canonical body, a
//	4-byte little-endian length and bytes; the hash, a uvarint length and
//	bytes.
//
// No escaping and no parsing: writing a block is appending (the record's
// body is sealed straight into it), reading one is slicing.
//
// What is stored is blockPacked and that encoding (without its format
// byte) compressed with S2 (github.com/klauspost/compress/s2): records of a
// workspace repeat their keys, actions, models and versions, so a block
// shrinks about nine times, at about 0.3 µs a record to pack and less to
// unpack. Under load most of the writer's work was the bytes (SQLite's
// write-ahead log, its checkpoint, overflow pages), and a review read
// fetches a tenth of them. Blocks in blockFormat, unpacked, still read.

const (
	blockFormat = 1
	blockPacked = 2
	// maxPackedRatio and maxBlockBytes bound what a packed block may claim
	// to unpack to, so a damaged one cannot make a reader allocate without
	// limit; a block that would pack beyond either is stored unpacked
	// (pack). A block is closed once its records pass blockBytes.
	maxPackedRatio = 1024
	maxBlockBytes  = 64 << 20
	blockBytes     = 1 << 20
)

// maxBlockRecords bounds a block: a batch larger than this is several. A
// look-up by id or a filtered list reads whole blocks, so reads get faster
// as blocks shrink (BenchmarkAuditRead over 100k records, 128 against 32:
// get by id 146 against 44 µs, a customer's newest page 5.6 against 1.5
// ms), but the writer gets dearer, each block filing its terms anew (perf
// under load: 8.5 against 12.3 µs of writer CPU a record). The audit's cost
// under load is a goal; review reads are not. 128 records are about 190 KB.
// Never raise it: a list's cursor bound (ListAudit) counts on no stored
// block holding more.
const maxBlockRecords = 128

// errBadBlock reports a block body that does not decode.
var errBadBlock = errors.New("store: audit block does not decode")

// appendRowHead encodes what precedes r's body.
func appendRowHead(b []byte, r *AuditRow, seq, at int64, prev string) []byte {
	b = binary.AppendVarint(b, seq)
	b = binary.AppendVarint(b, at)
	b = binary.AppendVarint(b, int64(r.Status))
	for _, s := range [...]string{r.ID, r.Kind, r.Member, r.CustomerID, r.AccountID, r.Action, r.Decision,
		r.Model, r.Provider, prev} {
		b = appendBlockStr(b, s)
	}
	return b
}

func appendBlockStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decodeBlock returns the rows of a block of workspace ws, or with keep
// only those it keeps. keep sees each row before its strings are copied out
// of body (they point into it), so it must not retain the row; a filtered
// read copies nothing but what it returns.
func decodeBlock(ws string, body []byte, keep func(*AuditRow) bool) ([]AuditRow, error) {
	if len(body) == 0 {
		return nil, errBadBlock
	}
	d := blockReader{b: body[1:]}
	switch body[0] {
	case blockFormat:
	case blockPacked:
		buf, err := unpackBlock(body[1:])
		if err != nil {
			return nil, err
		}
		defer putBlockBuf(*buf)
		d.b = *buf
	default:
		return nil, errBadBlock
	}
	var rows []AuditRow
	for len(d.b) > 0 && d.err == nil {
		r := AuditRow{WorkspaceID: ws, Seq: d.int()}
		r.At = fromMicros(d.int())
		r.Status = int(d.int())
		head := [...]*string{&r.ID, &r.Kind, &r.Member, &r.CustomerID, &r.AccountID, &r.Action,
			&r.Decision, &r.Model, &r.Provider, &r.PrevHash}
		for _, s := range head {
			*s = d.view(d.uvarintLen())
		}
		r.Body = d.view(d.u32Len())
		r.Hash = d.view(d.uvarintLen())
		if d.err != nil || (keep != nil && !keep(&r)) {
			continue
		}
		for _, s := range head {
			*s = strings.Clone(*s)
		}
		r.Body, r.Hash = strings.Clone(r.Body), strings.Clone(r.Hash)
		rows = append(rows, r)
	}
	if d.err != nil {
		return nil, d.err
	}
	return rows, nil
}

// unpackBlock decompresses a packed block's records into a pooled buffer,
// which the caller puts back once nothing points into it.
func unpackBlock(packed []byte) (*[]byte, error) {
	n, err := s2.DecodedLen(packed)
	if err != nil || n > maxBlockBytes || n > maxPackedRatio*len(packed) {
		return nil, errBadBlock
	}
	buf := blockBufs.Get().(*[]byte)
	out, err := s2.Decode(slices.Grow((*buf)[:0], n)[:n], packed)
	if err != nil {
		putBlockBuf(*buf)
		return nil, errBadBlock
	}
	*buf = out
	return buf, nil
}

type blockReader struct {
	b   []byte
	err error
}

func (d *blockReader) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// uvarintLen reads a string's uvarint length.
func (d *blockReader) uvarintLen() int {
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)-k) {
		d.fail()
		return 0
	}
	d.b = d.b[k:]
	return int(n)
}

// u32Len reads a body's 4-byte length.
func (d *blockReader) u32Len() int {
	if len(d.b) < 4 {
		d.fail()
		return 0
	}
	n := binary.LittleEndian.Uint32(d.b)
	if uint64(n) > uint64(len(d.b)-4) {
		d.fail()
		return 0
	}
	d.b = d.b[4:]
	return int(n)
}

// view returns the next n bytes as a string that shares their memory.
func (d *blockReader) view(n int) string {
	if n == 0 || d.err != nil {
		return ""
	}
	s := unsafe.String(&d.b[0], n)
	d.b = d.b[n:]
	return s
}

func (d *blockReader) fail() {
	if d.err == nil {
		d.err = errBadBlock
	}
	d.b = nil
}

// auditTermCols are the filterable columns: each one's name in a term and
// its value. AuditFilter.want lists a filter's values in the same order.
var auditTermCols = [...]struct {
	name string
	get  func(*AuditRow) string
}{
	{"kind", func(r *AuditRow) string { return r.Kind }},
	{"member", func(r *AuditRow) string { return r.Member }},
	{"customer_id", func(r *AuditRow) string { return r.CustomerID }},
	{"account_id", func(r *AuditRow) string { return r.AccountID }},
	{"action", func(r *AuditRow) string { return r.Action }},
	{"decision", func(r *AuditRow) string { return r.Decision }},
	{"model", func(r *AuditRow) string { return r.Model }},
	{"provider", func(r *AuditRow) string { return r.Provider }},
}

func term(col, v string) string { return col + ":" + v }

// blockTerms lists the distinct terms of rows, sorted.
func blockTerms(rows []AuditRow) []string {
	var t termSet
	for i := range rows {
		t.add(&rows[i])
	}
	return t.sorted()
}

// termSet gathers a block's distinct terms; empty values are never
// filtered on and have none. A batch repeats a few values many times: they
// are told apart before any term string is made.
type termSet struct {
	seen  map[colValue]bool
	terms []string
}

type colValue struct {
	col int
	v   string
}

func (t *termSet) add(r *AuditRow) {
	if t.seen == nil {
		t.seen = map[colValue]bool{}
	}
	for c, col := range auditTermCols {
		if v := col.get(r); v != "" && !t.seen[colValue{c, v}] {
			t.seen[colValue{c, v}] = true
			t.terms = append(t.terms, term(col.name, v))
		}
	}
}

func (t *termSet) sorted() []string {
	slices.Sort(t.terms)
	return t.terms
}

// want is f's value for each of auditTermCols, in their order ("": any).
func (f *AuditFilter) want() [len(auditTermCols)]string {
	return [...]string{f.Kind, f.Member, f.CustomerID, f.AccountID, f.Action, f.Decision, f.Model, f.Provider}
}

// terms lists the terms a record must have to match f.
func (f *AuditFilter) terms() []string {
	var out []string
	for c, v := range f.want() {
		if v != "" {
			out = append(out, term(auditTermCols[c].name, v))
		}
	}
	return out
}

// matches reports whether r passes f's column and time filters.
func (f *AuditFilter) matches(r *AuditRow) bool {
	if (!f.From.IsZero() && r.At.Before(f.From)) || (!f.To.IsZero() && !r.At.Before(f.To)) {
		return false
	}
	for c, v := range f.want() {
		if v != "" && auditTermCols[c].get(r) != v {
			return false
		}
	}
	return true
}

// Statements of the block write path, prepared once (auditWriteStmts).
const (
	sqlInsertBlock = `INSERT INTO audit_blocks (workspace_id, first_seq, last_seq, min_at, max_at, body) VALUES (?, ?, ?, ?, ?, ?)`
	sqlInsertTerm  = `INSERT INTO audit_terms (workspace_id, term, first_seq) VALUES `
)

// blockBuilder gathers the records of one workspace into a block.
type blockBuilder struct {
	body         []byte // blockFormat and the records
	packed       []byte // what is stored: blockPacked and body[1:] compressed
	n            int
	first, last  int64
	minAt, maxAt int64
	terms        termSet
}

// blockBufs keeps block bodies between commits: a batch's block is a few
// hundred kilobytes, and growing a fresh one each commit cost more (page
// faults, copies) than encoding the records into it.
var blockBufs = sync.Pool{New: func() any { return new([]byte) }}

// grow readies bb for about size more bytes, from the pool.
func (bb *blockBuilder) grow(size int) {
	if bb.body == nil {
		bb.body = (*blockBufs.Get().(*[]byte))[:0]
	}
	bb.body = slices.Grow(bb.body, size)
}

// putBlockBuf hands a buffer back to blockBufs, unless it is too large to
// keep.
func putBlockBuf(b []byte) {
	if b != nil && cap(b) <= 4<<20 {
		b = b[:0]
		blockBufs.Put(&b)
	}
}

// release hands bb's buffers back to the pool; bb must not be used after.
func (bb *blockBuilder) release() {
	putBlockBuf(bb.body)
	putBlockBuf(bb.packed)
	bb.body, bb.packed = nil, nil
}

// full reports whether the block takes no more records.
func (bb *blockBuilder) full() bool { return bb.n == maxBlockRecords || len(bb.body) >= blockBytes }

// pack returns the block as stored: compressed into bb.packed, or the
// body itself when a reader would refuse it packed (unpackBlock).
func (bb *blockBuilder) pack() []byte {
	raw := len(bb.body) - 1
	if raw > maxBlockBytes {
		return bb.body // a record over the limit: only a huge max_body_bytes allows one
	}
	if bb.packed == nil {
		bb.packed = (*blockBufs.Get().(*[]byte))[:0]
	}
	need := s2.MaxEncodedLen(raw)
	bb.packed = slices.Grow(bb.packed[:0], need+1)[:need+1]
	bb.packed[0] = blockPacked
	out := s2.Encode(bb.packed[1:], bb.body[1:])
	if raw > maxPackedRatio*len(out) {
		return bb.body
	}
	return bb.packed[:1+len(out)]
}

// open starts a record: the block's bounds and terms, and its head.
func (bb *blockBuilder) open(r *AuditRow, seq, at int64, prev string) {
	if bb.n == 0 {
		bb.body = append(bb.body[:0], blockFormat)
		bb.first, bb.minAt, bb.maxAt = seq, at, at
	}
	bb.n++
	bb.last, bb.minAt, bb.maxAt = seq, min(bb.minAt, at), max(bb.maxAt, at)
	bb.terms.add(r)
	bb.body = appendRowHead(bb.body, r, seq, at, prev)
}

// add appends a record that has its body and hash already.
func (bb *blockBuilder) add(r AuditRow, at int64) {
	bb.open(&r, r.Seq, at, r.PrevHash)
	bb.body = binary.LittleEndian.AppendUint32(bb.body, uint32(len(r.Body)))
	bb.body = appendBlockStr(append(bb.body, r.Body...), r.Hash)
}

// seal appends r as the record after head, its body sealed straight into
// the block, and returns its hash.
func (bb *blockBuilder) seal(r *AuditRow, at int64, head AuditHead,
	fn func(dst []byte, seq int64, prev string) ([]byte, string, error)) (string, error) {
	seq := head.Seq + 1
	bb.open(r, seq, at, head.Hash)
	start := len(bb.body)
	out, hash, err := fn(binary.LittleEndian.AppendUint32(bb.body, 0), seq, head.Hash)
	if err != nil {
		return "", err
	}
	binary.LittleEndian.PutUint32(out[start:], uint32(len(out)-start-4))
	bb.body = appendBlockStr(out, hash)
	return hash, nil
}

// insert writes the block and its terms in w's transaction, and empties bb
// for the next block.
func (bb *blockBuilder) insert(ctx context.Context, w *writer) error {
	if bb.n == 0 {
		return nil
	}
	defer func() { bb.n, bb.terms = 0, termSet{} }()
	st, err := w.stmt(ctx, sqlInsertBlock)
	if err != nil {
		return err
	}
	if _, err := st.ExecContext(ctx, w.ws, bb.first, bb.last, bb.minAt, bb.maxAt, bb.pack()); err != nil {
		return err
	}
	terms := bb.terms.sorted()
	args := make([]any, 0, 3*len(terms))
	for _, t := range terms {
		args = append(args, w.ws, t, bb.first)
	}
	return w.insertRows(ctx, sqlInsertTerm, 3, args)
}

// blocks runs q (which selects first_seq and body from audit_blocks) in w's
// transaction and calls fn with each block's rows (those keep keeps, see
// decodeBlock) until it returns false.
func (w *writer) blocks(ctx context.Context, q string, args []any, keep func(*AuditRow) bool,
	fn func(first int64, rows []AuditRow) bool) error {
	rows, err := w.tx.QueryContext(ctx, w.db.rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return scanBlocks(rows, w.ws, keep, fn)
}

// scanBlocks decodes (first_seq, body) rows of workspace ws.
func scanBlocks(rows *sql.Rows, ws string, keep func(*AuditRow) bool, fn func(first int64, rows []AuditRow) bool) error {
	var body sql.RawBytes // decodeBlock copies what it keeps
	for rows.Next() {
		var first int64
		if err := rows.Scan(&first, &body); err != nil {
			return err
		}
		recs, err := decodeBlock(ws, body, keep)
		if err != nil {
			return fmt.Errorf("%w (workspace %s, block at seq %d)", err, ws, first)
		}
		if !fn(first, recs) {
			return nil
		}
	}
	return rows.Err()
}

// EncodeAuditBlock and DecodeAuditBlock are the block body's encoding, for
// tools (and tests) that read or repair audit_blocks directly. Encode makes
// the stored form, as the writer does.
func EncodeAuditBlock(rows []AuditRow) []byte {
	bb := blockOf(rows)
	if bb.n == 0 {
		return []byte{blockFormat}
	}
	return bytes.Clone(bb.pack())
}

// blockOf builds a block of rows that have their bodies and hashes.
func blockOf(rows []AuditRow) *blockBuilder {
	bb := new(blockBuilder)
	for _, r := range rows {
		bb.add(r, micros(r.At))
	}
	return bb
}

// DecodeAuditBlock decodes a block body of workspace ws.
func DecodeAuditBlock(ws string, body []byte) ([]AuditRow, error) { return decodeBlock(ws, body, nil) }
