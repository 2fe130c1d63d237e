package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/crisphq/crisp/suggest"
)

// Pos is a place in a catalog file.
type Pos struct {
	File   string
	Line   int
	Column int
}

// String returns file:line:column, or what is known of it.
func (p Pos) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Column == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// Field defines one customer or account attribute, such as account.plan.
type Field struct {
	Name           string         `json:"name"` // customer.x or account.x
	Type           Type           `json:"type"`
	Values         []string       `json:"values,omitempty"` // allowed values of an enum
	Description    string         `json:"description"`
	Owner          string         `json:"owner"` // a person or team email, or a team name
	Source         Source         `json:"source"`
	Classification Classification `json:"classification"`
	// Note explains a visibility choice a reviewer might question, such
	// as a confidential field shown to ai.
	Note string       `json:"note,omitempty"`
	Uses Visibilities `json:"uses"`
	// Uncataloged marks a stand-in from Resolve for a name the catalog
	// does not define: hidden for every use.
	Uncataloged bool `json:"uncataloged,omitempty"`
	Pos         Pos  `json:"-"` // where the definition starts
}

// Event defines one tracked customer event, such as "Visited pricing". An
// event hidden for ai is never sent to AI.
type Event struct {
	Name           string         `json:"name"`
	Description    string         `json:"description"`
	Owner          string         `json:"owner"`
	Source         Source         `json:"source"`
	Classification Classification `json:"classification"`
	Note           string         `json:"note,omitempty"`
	Uses           Visibilities   `json:"uses"`
	Uncataloged    bool           `json:"uncataloged,omitempty"`
	Pos            Pos            `json:"-"`
}

// Catalog is a validated, immutable set of field and event definitions.
// Its read methods are safe for concurrent use and on a nil *Catalog, which
// defines nothing (so everything resolves hidden).
type Catalog struct {
	name    string
	fields  []Field // sorted by name
	events  []Event // sorted by name
	fieldAt map[string]int
	eventAt map[string]int
	version string
}

// newCatalog indexes validated definitions.
func newCatalog(name string, fields []Field, events []Event) *Catalog {
	slices.SortFunc(fields, func(a, b Field) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(events, func(a, b Event) int { return strings.Compare(a.Name, b.Name) })
	c := &Catalog{name: name, fields: fields, events: events,
		fieldAt: make(map[string]int, len(fields)), eventAt: make(map[string]int, len(events))}
	for i, f := range fields {
		c.fieldAt[f.Name] = i
	}
	for i, e := range events {
		c.eventAt[e.Name] = i
	}
	c.version = c.computeVersion()
	return c
}

// Name is the file name the catalog was parsed from.
func (c *Catalog) Name() string {
	if c == nil {
		return ""
	}
	return c.name
}

// Field returns the definition of name.
func (c *Catalog) Field(name string) (Field, bool) {
	if c == nil {
		return Field{}, false
	}
	i, ok := c.fieldAt[name]
	if !ok {
		return Field{}, false
	}
	return cloneField(c.fields[i]), true
}

// Fields returns every field definition, sorted by name.
func (c *Catalog) Fields() []Field {
	if c == nil {
		return nil
	}
	out := make([]Field, len(c.fields))
	for i, f := range c.fields {
		out[i] = cloneField(f)
	}
	return out
}

// Event returns the definition of the event name.
func (c *Catalog) Event(name string) (Event, bool) {
	if c == nil {
		return Event{}, false
	}
	i, ok := c.eventAt[name]
	if !ok {
		return Event{}, false
	}
	return c.events[i], true
}

// Events returns every event definition, sorted by name.
func (c *Catalog) Events() []Event {
	if c == nil {
		return nil
	}
	return slices.Clone(c.events)
}

// Resolve returns the definition of name or, for a name the catalog does
// not define, a stand-in flagged Uncataloged that is hidden for every use
// and classified secret: a trait that arrives from a source before anyone
// has described it must not reach AI.
func (c *Catalog) Resolve(name string) Field {
	if f, ok := c.Field(name); ok {
		return f
	}
	return Field{
		Name:           name,
		Description:    "not in the catalog: hidden for every use until it is defined",
		Classification: Secret,
		Uncataloged:    true,
	}
}

// ResolveEvent is Resolve for events: an uncataloged event is hidden for
// every use.
func (c *Catalog) ResolveEvent(name string) Event {
	if e, ok := c.Event(name); ok {
		return e
	}
	return Event{
		Name:           name,
		Description:    "not in the catalog: hidden for every use until it is defined",
		Classification: Secret,
		Uncataloged:    true,
	}
}

// Default returns the catalog's visibility of field for a use (or an
// action such as "ai.draft", see UseOf). Unknown fields and uses are Hide.
func (c *Catalog) Default(field, use string) Visibility {
	if c == nil {
		return Hide
	}
	i, ok := c.fieldAt[field]
	if !ok {
		return Hide
	}
	return c.fields[i].Uses.For(use)
}

// Version is the sha256 (hex) of the catalog's canonical content: the
// definitions sorted by name, without comments, layout or positions. Audit
// records carry it so a decision can be traced to the definitions in force.
func (c *Catalog) Version() string {
	if c == nil {
		return newCatalog("", nil, nil).version
	}
	return c.version
}

func (c *Catalog) computeVersion() string {
	canon := struct {
		Fields []Field `json:"fields"`
		Events []Event `json:"events"`
	}{c.fields, c.events}
	if canon.Fields == nil {
		canon.Fields = []Field{}
	}
	if canon.Events == nil {
		canon.Events = []Event{}
	}
	b, err := json.Marshal(canon)
	if err != nil {
		// Unreachable: every value is a string, slice or valid Visibility.
		panic(fmt.Sprintf("catalog: canonical encoding: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Suggest returns the defined field name closest to name, for "did you
// mean" messages, or "" when nothing is close.
func (c *Catalog) Suggest(name string) string {
	if c == nil {
		return ""
	}
	names := make([]string, len(c.fields))
	for i, f := range c.fields {
		names[i] = f.Name
	}
	return closest(name, names)
}

// closest returns the candidate nearest to s by edit distance (ignoring
// case), when it is near enough to be a plausible typo; ties go to the
// first candidate.
func closest(s string, candidates []string) string {
	limit := max(2, len(s)/4)
	best, bestD := "", limit+1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		if c == s {
			continue
		}
		if d := suggest.Distance(ls, strings.ToLower(c), bestD); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func cloneField(f Field) Field {
	f.Values = slices.Clone(f.Values)
	return f
}
