package policy

import (
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"sort"
	"strings"
)

// DefaultDeny is Decision.Rule when no rule allowed the action.
const DefaultDeny = "default deny"

// Decision is the answer for one Input. It is read-only: decisions may come
// from the cache and share their slices with other callers.
type Decision struct {
	Allow    bool
	Rule     string // the deciding rule's name, or DefaultDeny
	Location string // the deciding rule's place, "policies/acme.rules:1"; empty for DefaultDeny
	Because  string // a deciding deny rule's `because` text
	// Fields is the visibility of every catalog field for this action.
	Fields Fields
	// Explanation says, for each candidate rule, whether it matched and
	// which clause failed, then the decision.
	Explanation []string
	// ToAllow says what would have to change for a denied action to be
	// allowed, when that can be computed.
	ToAllow       []string
	PolicyVersion string // "sha256:…" of the rules sources

	message string
}

// Message is the text for a 403 policy_denied (or the reason an action was
// allowed): it names the rule and the failing clause. Literals compared with
// customer or account fields are printed as "…", so it never carries a
// hidden value.
func (d Decision) Message() string { return d.message }

// Verdict is "allow" or "deny".
func (d Decision) Verdict() string {
	if d.Allow {
		return "allow"
	}
	return "deny"
}

// decisionJSON is the body of POST /api/v1/policy/check.
type decisionJSON struct {
	Decision      string   `json:"decision"`
	Rule          string   `json:"rule"`
	Location      string   `json:"location,omitempty"`
	Because       string   `json:"because,omitempty"`
	Message       string   `json:"message"`
	Fields        Fields   `json:"fields"`
	Explanation   []string `json:"explanation"`
	ToAllow       []string `json:"to_allow,omitempty"`
	PolicyVersion string   `json:"policy_version"`
}

// MarshalJSON writes the policy check API's shape:
// {"decision":"allow","rule":…,"location":…,"fields":{…},"explanation":[…],…}.
func (d Decision) MarshalJSON() ([]byte, error) {
	return json.Marshal(decisionJSON{
		Decision: d.Verdict(), Rule: d.Rule, Location: d.Location, Because: d.Because,
		Message: d.message, Fields: d.Fields, Explanation: nonNil(d.Explanation), ToAllow: d.ToAllow,
		PolicyVersion: d.PolicyVersion,
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WriteText prints the decision for people, as `crisp policy explain` does.
func (d Decision) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "decision: %s\n", d.Verdict())
	fmt.Fprintf(&b, "rule:     %s", d.Rule)
	if d.Location != "" {
		fmt.Fprintf(&b, " (%s)", d.Location)
	}
	b.WriteString("\n")
	if d.Because != "" {
		fmt.Fprintf(&b, "because:  %s\n", d.Because)
	}
	b.WriteString("explanation:\n")
	for _, e := range d.Explanation {
		fmt.Fprintf(&b, "  - %s\n", e)
	}
	if len(d.ToAllow) > 0 {
		b.WriteString("to allow:\n")
		for _, e := range d.ToAllow {
			fmt.Fprintf(&b, "  - %s\n", e)
		}
	}
	b.WriteString("fields:\n")
	for name, v := range d.Fields.All() {
		fmt.Fprintf(&b, "  %-32s %s\n", name, v)
	}
	fmt.Fprintf(&b, "policy:   %s\n", d.PolicyVersion)
	_, err := io.WriteString(w, b.String())
	return err
}

// Fields is the visibility of every catalog field for one decision, in name
// order. It is read-only; decisions for the same action share one.
type Fields struct {
	names []string // sorted; shared with the engine
	set   string   // names names, for Key
	vis   []Visibility
}

// Key identifies what the fields say: two decisions with the same key show,
// mask and hide exactly the same fields. Callers key what they derive from
// a decision's visibility (a compiled redactor) by it.
func (f Fields) Key() string {
	b := make([]byte, 0, len(f.set)+1+len(f.vis))
	b = append(append(b, f.set...), ':')
	for _, v := range f.vis {
		b = append(b, byte(v))
	}
	return string(b)
}

// Len is the number of fields.
func (f Fields) Len() int { return len(f.names) }

// Get returns a field's visibility; ok is false for a field the catalog
// does not define.
func (f Fields) Get(name string) (v Visibility, ok bool) {
	i := sort.SearchStrings(f.names, name)
	if i < len(f.names) && f.names[i] == name {
		return f.vis[i], true
	}
	return 0, false
}

// Visibility returns a field's visibility, Hide for a field the catalog does
// not define: what nobody declared never leaves.
func (f Fields) Visibility(name string) Visibility {
	if v, ok := f.Get(name); ok {
		return v
	}
	return Hide
}

// All yields every field and its visibility in name order.
func (f Fields) All() iter.Seq2[string, Visibility] {
	return func(yield func(string, Visibility) bool) {
		for i, n := range f.names {
			if !yield(n, f.vis[i]) {
				return
			}
		}
	}
}

// With returns the fields that resolve to v, in name order.
func (f Fields) With(v Visibility) []string {
	var out []string
	for i, n := range f.names {
		if f.vis[i] == v {
			out = append(out, n)
		}
	}
	return out
}

// Map returns a fresh map of every field's visibility.
func (f Fields) Map() map[string]Visibility {
	m := make(map[string]Visibility, len(f.names))
	for i, n := range f.names {
		m[n] = f.vis[i]
	}
	return m
}

// MarshalJSON writes {"account.plan":"shown",…} in name order.
func (f Fields) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range f.names {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(n)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteString(`:"` + f.vis[i].String() + `"`)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}
