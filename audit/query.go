package audit

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crisphq/crisp/store"
)

// Filter selects records. Empty fields match everything.
type Filter struct {
	Workspace  string
	From, To   time.Time // From <= time < To
	Kind       string
	Member     string
	CustomerID string
	AccountID  string
	Action     string
	Decision   string // allow or deny
	Model      string
	Provider   string
	// Limit is List's page size (50 when zero, at most 1000); Export
	// ignores it. Cursor is the next cursor of the previous page.
	Limit  int
	Cursor string
}

// FilterParams are the query parameters (and CLI flags) ParseFilter reads.
var FilterParams = []string{"from", "to", "since", "kind", "member", "customer", "account", "action",
	"decision", "model", "provider", "limit", "cursor"}

// ParseFilter reads a filter from query parameters: from and to are RFC
// 3339 times or durations back from now (24h); since=D is from=D; member,
// customer, account, action, decision (allow|deny), model, provider, kind,
// limit and cursor match exactly. Unknown parameters are errors.
func ParseFilter(q url.Values, now time.Time) (Filter, error) {
	var f Filter
	known := map[string]bool{}
	for _, k := range FilterParams {
		known[k] = true
	}
	for k := range q {
		if !known[k] && k != "format" {
			return f, fmt.Errorf("%w: unknown filter %q (known: %s)", ErrInvalid, k, strings.Join(FilterParams, ", "))
		}
	}
	var err error
	if f.From, err = parseWhen(q.Get("from"), now); err != nil {
		return f, fmt.Errorf("%w: from: %v", ErrInvalid, err)
	}
	if s := q.Get("since"); s != "" {
		if f.From, err = parseWhen(s, now); err != nil {
			return f, fmt.Errorf("%w: since: %v", ErrInvalid, err)
		}
	}
	if f.To, err = parseWhen(q.Get("to"), now); err != nil {
		return f, fmt.Errorf("%w: to: %v", ErrInvalid, err)
	}
	f.Kind, f.Member, f.CustomerID = q.Get("kind"), q.Get("member"), q.Get("customer")
	f.AccountID, f.Action, f.Model, f.Provider = q.Get("account"), q.Get("action"), q.Get("model"), q.Get("provider")
	f.Cursor = q.Get("cursor")
	switch f.Decision = q.Get("decision"); f.Decision {
	case "", "allow", "deny":
	default:
		return f, fmt.Errorf("%w: decision %q (want allow or deny)", ErrInvalid, f.Decision)
	}
	if s := q.Get("limit"); s != "" {
		if f.Limit, err = strconv.Atoi(s); err != nil || f.Limit < 0 {
			return f, fmt.Errorf("%w: limit %q", ErrInvalid, s)
		}
	}
	return f, nil
}

// parseWhen reads an RFC 3339 time, a date (2006-01-02, UTC) or a duration
// back from now; "" is the zero time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time, a date or a duration such as 24h", s)
	}
	return now.Add(-d), nil
}

func (f Filter) store(ascending bool) store.AuditFilter {
	return store.AuditFilter{
		From: f.From, To: f.To, Kind: f.Kind, Member: f.Member, CustomerID: f.CustomerID, AccountID: f.AccountID,
		Action: f.Action, Decision: f.Decision, Model: f.Model, Provider: f.Provider,
		Ascending: ascending, Limit: f.Limit, Cursor: f.Cursor,
	}
}

// List returns one page of f.Workspace's records, newest first, and the
// cursor of the next page ("" at the end).
func (l *Log) List(ctx context.Context, f Filter) ([]Record, string, error) {
	if err := l.Sync(ctx); err != nil {
		return nil, "", err
	}
	rows, next, err := l.db.ListAudit(ctx, f.Workspace, f.store(false))
	if err != nil {
		return nil, "", wrapStore(err)
	}
	out := make([]Record, 0, len(rows))
	for _, row := range rows {
		r, err := fromRow(row)
		if err != nil {
			return nil, "", err
		}
		out = append(out, r)
	}
	return out, next, nil
}

// Get returns one record of workspace ws by id, or ErrNotFound.
func (l *Log) Get(ctx context.Context, ws, id string) (Record, error) {
	if err := l.Sync(ctx); err != nil {
		return Record{}, err
	}
	// An id of this package's carries the millisecond its use began, which
	// is the record's time: the store reads only the blocks around it, and
	// all of them only when that finds nothing (an id from elsewhere).
	var from, to time.Time
	if t, ok := idTime(id); ok {
		from, to = t, t.Add(time.Millisecond)
	}
	row, err := l.db.AuditRecord(ctx, ws, id, from, to)
	if errors.Is(err, store.ErrNotFound) && !from.IsZero() {
		row, err = l.db.AuditRecord(ctx, ws, id, time.Time{}, time.Time{})
	}
	if err != nil {
		return Record{}, wrapStore(err)
	}
	return fromRow(row)
}

func wrapStore(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, store.ErrInvalid):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return fmt.Errorf("audit: %w", err)
}

// fromRow decodes a stored record. The body, not the columns, is the record.
func fromRow(row store.AuditRow) (Record, error) {
	var r Record
	if err := json.Unmarshal([]byte(row.Body), &r); err != nil {
		return Record{}, fmt.Errorf("audit: record %s (seq %d) does not decode: %w", row.ID, row.Seq, err)
	}
	r.Hash = row.Hash
	return r, nil
}

// Export formats.
const (
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
)

// Export writes every record of ws that f selects, oldest first, as JSON
// lines (each the canonical record, hash included: a verifier can recompute
// the chain from an unfiltered export) or CSV (a header, then a row per
// record; lists joined with ";", redactions as name=count).
func (l *Log) Export(ctx context.Context, ws string, f Filter, format string, w io.Writer) error {
	if err := l.Sync(ctx); err != nil {
		return err
	}
	f.Workspace, f.Limit = ws, store.MaxAuditLimit
	var emit func(Record) error
	var flush func() error
	switch format {
	case FormatJSONL, "":
		var buf []byte
		emit = func(r Record) error {
			buf, _, _ = appendRecord(buf[:0], &r, true)
			_, err := w.Write(append(buf, '\n'))
			return err
		}
		flush = func() error { return nil }
	case FormatCSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(csvHeader); err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		emit = func(r Record) error { return cw.Write(csvRow(&r)) }
		flush = func() error { cw.Flush(); return cw.Error() }
	default:
		return fmt.Errorf("%w: export format %q (want jsonl or csv)", ErrInvalid, format)
	}
	for {
		rows, next, err := l.db.ListAudit(ctx, ws, f.store(true))
		if err != nil {
			return wrapStore(err)
		}
		for _, row := range rows {
			r, err := fromRow(row)
			if err != nil {
				return err
			}
			if err := emit(r); err != nil {
				return fmt.Errorf("audit: export: %w", err)
			}
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	if err := flush(); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	return nil
}

var csvHeader = []string{"id", "seq", "time", "kind", "workspace", "request_id", "endpoint", "stream",
	"key_id", "member", "role", "action", "customer_id", "account_id", "identity_verified", "identity_method",
	"identity_key_id", "target", "decision_allow", "decision_rule", "decision_location", "policy_version",
	"catalog_version", "context_fields", "redactions", "provider", "model", "flags", "contractual", "status",
	"error_code", "usage_input", "usage_output", "latency_ms", "ttft_ms", "request_sha256", "response_sha256",
	"prev_hash", "hash"}

func csvRow(r *Record) []string {
	red := make([]string, 0, len(r.Redactions))
	for _, k := range sortedKeys(r.Redactions) {
		red = append(red, k+"="+strconv.Itoa(r.Redactions[k]))
	}
	row := []string{r.ID, strconv.FormatInt(r.Seq, 10), formatTime(r.Time), r.Kind, r.Workspace,
		r.RequestID, r.Endpoint, strconv.FormatBool(r.Stream), r.KeyID, r.Member, r.Role, r.Action, r.CustomerID,
		r.AccountID, strconv.FormatBool(r.Identity.Verified), r.Identity.Method, r.Identity.KeyID, r.Target,
		strconv.FormatBool(r.Decision.Allow), r.Decision.Rule, r.Decision.Location, r.Decision.PolicyVersion,
		r.CatalogVersion, strings.Join(r.ContextFields, ";"), strings.Join(red, ";"), r.Provider, r.Model,
		strings.Join(r.Flags, ";"), r.Contractual, strconv.Itoa(r.Status), r.ErrorCode,
		strconv.FormatInt(r.Usage.Input, 10), strconv.FormatInt(r.Usage.Output, 10),
		string(appendMillis(nil, r.LatencyMS)), string(appendMillis(nil, r.TTFTMS)),
		r.RequestSHA256, r.ResponseSHA256, r.PrevHash, r.Hash}
	for i, v := range row {
		row[i] = csvSafe(v)
	}
	return row
}

// csvSafe keeps a spreadsheet from reading a cell as a formula (a customer
// id such as =HYPERLINK(…) is caller-controlled): such cells get a leading
// apostrophe, as OWASP advises.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareUTF16)
	return keys
}
