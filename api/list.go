package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/store"
)

// Query parameters of a list:
//
//	limit=N          page size, 1 to 500 (default 50)
//	cursor=C         next_cursor of the previous page
//	q=TEXT           a substring of id, email or name (accounts: id or name), any case
//	trait.KEY=VALUE  only rows whose KEY equals VALUE; one such filter per request
//
// A filter VALUE is read as the catalog types the field: trait.seats=5 is
// the number 5, trait.checkoutRisk=true the boolean. A field the catalog
// does not define is read as JSON when it is a number, true, false or a
// quoted string, and as text otherwise. KEY may also name a column:
// email or name for customers, name, plan or subscription for accounts
// (trait.plan=Growth%20trial). A column filter scans at most maxScan rows
// per request, so its page can be short while next_cursor still says more
// may follow.
const maxScan = 10_000

// kind describes customers or accounts for listing and filtering.
type kind struct {
	prefix   string   // catalog prefix: "customer." or "account."
	columns  []string // filterable columns
	searched []string // columns q matches besides id
}

var (
	customerKind = kind{prefix: "customer.", columns: []string{"email", "name"}, searched: []string{"email", "name"}}
	accountKind  = kind{prefix: "account.", columns: []string{"name", "plan", "subscription"}, searched: []string{"name"}}
)

// listQuery is a parsed list request.
type listQuery struct {
	opt    store.ListOptions
	column string // a column filter instead of opt.Trait
	value  string
}

func (k kind) parseList(r *http.Request, v *viewer) (listQuery, error) {
	var q listQuery
	for name, vals := range r.URL.Query() {
		val := vals[len(vals)-1]
		if strings.IndexByte(name+val, 0) >= 0 {
			return q, errBadRequest("Query parameters must not contain NUL bytes.")
		}
		switch key, isTrait := strings.CutPrefix(name, "trait."); {
		case name == "limit":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > store.MaxLimit {
				return q, errBadRequest("limit must be a whole number from 1 to %d.", store.MaxLimit)
			}
			q.opt.Limit = n
		case name == "cursor":
			q.opt.Cursor = val
		case name == "q":
			for _, col := range k.searched {
				if vis := v.visibility(k.prefix + col); vis != catalog.Show {
					return q, errForbidden("q searches %s%s, which is %s for this key; filter with trait.KEY instead.", k.prefix, col, vis)
				}
			}
			q.opt.Query = val
		case isTrait && key != "":
			if q.opt.Trait != nil || q.column != "" {
				return q, errBadRequest("Only one trait.KEY filter is supported per request.")
			}
			if vis := v.visibility(k.prefix + key); vis != catalog.Show {
				// The rows that match would tell the caller the value.
				return q, errForbidden("Filtering on %s%s is not allowed: it is %s for this key.", k.prefix, key, vis)
			}
			if slices.Contains(k.columns, key) {
				q.column, q.value = key, val
				continue
			}
			value, err := filterValue(v.cat, k.prefix+key, val)
			if err != nil {
				return q, err
			}
			q.opt.Trait = &store.TraitFilter{Key: key, Value: value}
		default:
			return q, errBadRequest("Unknown query parameter %q: lists take limit, cursor, q and trait.KEY.", name)
		}
	}
	return q, nil
}

// filterValue reads a filter's text as the value the trait holds.
func filterValue(cat *catalog.Catalog, field, s string) (any, error) {
	f, ok := cat.Field(field)
	if !ok {
		var v any
		if isJSONScalar(s) && json.Unmarshal([]byte(s), &v) == nil {
			return v, nil
		}
		return s, nil
	}
	switch f.Type {
	case catalog.TypeNumber:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, errBadRequest("%s is a number; %q is not.", field, s)
		}
		return n, nil
	case catalog.TypeBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, errBadRequest("%s is true or false; %q is neither.", field, s)
		}
		return b, nil
	case catalog.TypeList:
		var l []any
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			return nil, errBadRequest("%s is a list: filter with a JSON list such as [\"a\",\"b\"].", field)
		}
		return l, nil
	}
	var str string
	if strings.HasPrefix(s, `"`) && json.Unmarshal([]byte(s), &str) == nil {
		return str, nil
	}
	return s, nil
}

func isJSONScalar(s string) bool {
	if s == "" {
		return false
	}
	switch c := s[0]; {
	case c == '"', c == '-', c >= '0' && c <= '9':
		return true
	}
	return s == "true" || s == "false"
}

type lister[T any] func(ctx context.Context, ws string, opt store.ListOptions) ([]T, string, error)

// listFiltered lists a page, keeping only rows keep accepts when it is not
// nil. The store filters traits itself; columns are filtered here, page by
// page, and the cursor returned always resumes right after the last row
// given out (or scanned), so no row is skipped or repeated.
func listFiltered[T any](ctx context.Context, list lister[T], ws string, opt store.ListOptions, keep func(T) bool) ([]T, string, error) {
	if keep == nil {
		return list(ctx, ws, opt)
	}
	want := opt.Limit
	if want <= 0 {
		want = store.DefaultLimit
	}
	out := []T{}
	for scanned := 0; ; {
		o := opt
		o.Limit = store.MaxLimit
		page, next, err := list(ctx, ws, o)
		if err != nil {
			return nil, "", err
		}
		for i, x := range page {
			if !keep(x) {
				continue
			}
			if out = append(out, x); len(out) < want {
				continue
			}
			if i == len(page)-1 {
				return out, next, nil
			}
			// Ask again for the rows up to x only: the store's cursor for
			// that page resumes right after x.
			o.Limit = i + 1
			_, after, err := list(ctx, ws, o)
			return out, after, err
		}
		scanned += len(page)
		if next == "" || scanned >= maxScan {
			return out, next, nil
		}
		opt.Cursor = next
	}
}
