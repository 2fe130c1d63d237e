package store

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// A multi-row upsert may not touch the same row twice (PostgreSQL refuses
// "ON CONFLICT DO UPDATE command cannot affect row a second time"), so a batch
// is folded to one entry per row first, the later entry winning as it would
// have in sequential writes. Rows are then sorted by key so that concurrent
// batches lock rows in the same order and cannot deadlock on PostgreSQL.

const (
	subjectCustomer = "customer"
	subjectAccount  = "account"
)

func mergeCustomers(in []CustomerUpdate) []CustomerUpdate {
	idx := make(map[string]int, len(in))
	out := make([]CustomerUpdate, 0, len(in))
	for _, c := range in {
		i, ok := idx[c.ID]
		if !ok {
			idx[c.ID] = len(out)
			out = append(out, c)
			continue
		}
		m := &out[i]
		m.Email = nonEmpty(c.Email, m.Email)
		m.Name = nonEmpty(c.Name, m.Name)
		m.Traits = appendTraits(m.Traits, c.Traits)
		if c.At.After(m.At) {
			m.At = c.At
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func mergeAccounts(in []AccountUpdate) []AccountUpdate {
	idx := make(map[string]int, len(in))
	out := make([]AccountUpdate, 0, len(in))
	for _, a := range in {
		i, ok := idx[a.ID]
		if !ok {
			idx[a.ID] = len(out)
			out = append(out, a)
			continue
		}
		m := &out[i]
		m.Name = nonEmpty(a.Name, m.Name)
		m.Plan = nonEmpty(a.Plan, m.Plan)
		m.Subscription = nonEmpty(a.Subscription, m.Subscription)
		m.Traits = appendTraits(m.Traits, a.Traits)
		if a.At.After(m.At) {
			m.At = a.At
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func mergeLinks(in []MembershipLink) []MembershipLink {
	type pair struct{ c, a string }
	idx := make(map[pair]int, len(in))
	out := make([]MembershipLink, 0, len(in))
	for _, l := range in {
		k := pair{l.CustomerID, l.AccountID}
		if i, ok := idx[k]; ok {
			out[i].Role = nonEmpty(l.Role, out[i].Role)
			continue
		}
		idx[k] = len(out)
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CustomerID != out[j].CustomerID {
			return out[i].CustomerID < out[j].CustomerID
		}
		return out[i].AccountID < out[j].AccountID
	})
	return out
}

func nonEmpty(v, fallback string) string {
	if v != "" {
		return v
	}
	return fallback
}

// appendTraits never writes into the caller's backing array.
func appendTraits(a, b []Trait) []Trait {
	return append(a[:len(a):len(a)], b...)
}

// traitsFromMap lists a Customer's or Account's traits in key order; the map
// key names the trait.
func traitsFromMap(m map[string]Trait) []Trait {
	out := make([]Trait, 0, len(m))
	for k, t := range m {
		t.Key = k
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// sorted returns the rows in (kind, subject, key) order.
func (s *traitSet) sorted() []traitRow {
	sort.Slice(s.rows, func(i, j int) bool {
		a, b := s.rows[i], s.rows[j]
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		if a.subject != b.subject {
			return a.subject < b.subject
		}
		return a.key < b.key
	})
	return s.rows
}

type traitRow struct {
	kind, subject, key string
	value, typ, source string
	at                 int64
}

// traitSet keeps one row per (subject, key): the latest, and on a tie the
// later in the batch, matching the store's >= rule.
type traitSet struct {
	rows []traitRow
	idx  map[[3]string]int
}

func (s *traitSet) add(kind, subject string, traits []Trait, defaultAt int64) error {
	for _, t := range traits {
		r, err := newTraitRow(kind, subject, t, defaultAt)
		if err != nil {
			return err
		}
		if s.idx == nil {
			s.idx = map[[3]string]int{}
		}
		k := [3]string{kind, subject, r.key}
		if i, ok := s.idx[k]; ok {
			if r.at >= s.rows[i].at {
				s.rows[i] = r
			}
			continue
		}
		s.idx[k] = len(s.rows)
		s.rows = append(s.rows, r)
	}
	return nil
}

func newTraitRow(kind, subject string, t Trait, defaultAt int64) (traitRow, error) {
	if t.Key == "" {
		return traitRow{}, fmt.Errorf("%w: %s %q has a trait with an empty key", ErrInvalid, kind, subject)
	}
	typ := t.Type
	switch typ {
	case "":
		typ = traitType(t.Value)
	case TraitString, TraitNumber, TraitBool, TraitTime, TraitJSON:
	default:
		return traitRow{}, fmt.Errorf("%w: trait %q has unknown type %q", ErrInvalid, t.Key, typ)
	}
	// A number no reader can decode (1e400) would make every later read of
	// its customer or account fail: refuse it at the door.
	if n, ok := t.Value.(json.Number); ok {
		if f, err := n.Float64(); err != nil || math.IsInf(f, 0) {
			return traitRow{}, fmt.Errorf("%w: trait %q is out of range", ErrInvalid, t.Key)
		}
	}
	value, err := encodeJSON("trait "+t.Key, t.Value)
	if err != nil {
		return traitRow{}, err
	}
	at := defaultAt
	if !t.UpdatedAt.IsZero() {
		at = micros(t.UpdatedAt)
	}
	return traitRow{kind: kind, subject: subject, key: t.Key, value: value, typ: typ, source: t.Source, at: at}, nil
}
