// Package contextpack builds the minimal, policy-approved customer context
// for one AI use: only the fields the decision shows (masked ones as
// placeholders), and the recent journey events the catalog allows for AI,
// cut to a token budget.
//
// It must never attach a field the decision does not resolve to shown or
// masked, never attach a masked field's value (only its placeholder), and
// never attach an event that is not cataloged as shown for the use.
//
// # Format
//
// The pack is attached as plain text, stable so prompts and tests can rely
// on it (a system message for chat, instructions for responses, system for
// Anthropic messages):
//
//	Customer context from Crisp for ai.draft (policy-approved; placeholders such as [masked:customer.email#1] stand for values you may not see: keep them as they are).
//	account.name: Acme workspace
//	account.plan: Growth trial
//	customer.email: [masked:customer.email#1]
//	Recent journey, newest first:
//	- 2026-11-20 Asked chat
//
// Fields come in catalog order (the catalog lists what matters most first),
// then events newest first; whatever does not fit the budget is left out,
// whole lines only.
package contextpack

import (
	"sort"
	"strings"
	"time"

	"github.com/crisphq/crisp/catalog"
	"github.com/crisphq/crisp/identity"
	"github.com/crisphq/crisp/store"
)

// DefaultBudget is the token budget when none is configured.
const DefaultBudget = 300

// MaxEvents bounds how much of the journey is considered.
const MaxEvents = 20

// TokenCounter counts tokens.
type TokenCounter interface{ Count(s string) int }

// Builder builds packs. It is safe for concurrent use.
type Builder struct {
	cat    *catalog.Catalog
	fields []catalog.Field // in catalog (file) order
	budget int
	tokens TokenCounter
}

// NewBuilder builds packs against a catalog within budget tokens.
func NewBuilder(cat *catalog.Catalog, budget int, tokens TokenCounter) *Builder {
	if budget <= 0 {
		budget = DefaultBudget
	}
	fields := cat.Fields()
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].Pos.Line < fields[j].Pos.Line })
	return &Builder{cat: cat, fields: fields, budget: budget, tokens: tokens}
}

// Input is one AI use.
type Input struct {
	Action  string
	Subject *identity.Subject
	Journey []store.Event // newest first
	// Visibility is the decision's visibility of a field for this action.
	Visibility func(field string) catalog.Visibility
	// Mask returns the placeholder for a masked value; the redaction session
	// supplies it so the same value gets the same placeholder everywhere.
	Mask func(field, value string) string
}

// Pack is the approved context.
type Pack struct {
	Action  string  `json:"action"`
	Fields  []Field `json:"-"`
	Events  []Event `json:"events"`
	Tokens  int     `json:"tokens"`
	Header  string  `json:"-"`
	Omitted int     `json:"omitted,omitempty"` // lines left out by the budget
}

// Field is one attached field. Value is the placeholder when Masked.
type Field struct {
	Name   string
	Value  string
	Masked bool
}

// Event is one attached journey step.
type Event struct {
	Name string    `json:"name"`
	At   time.Time `json:"at"`
}

// Build assembles the pack for in. With no subject it is empty.
func (b *Builder) Build(in Input) *Pack {
	p := &Pack{Action: in.Action}
	if in.Subject == nil {
		return p
	}
	p.Header = "Customer context from Crisp for " + in.Action +
		" (policy-approved; placeholders such as [masked:customer.email#1] stand for values you may not see: keep them as they are)."
	used := b.tokens.Count(p.Header)
	for _, f := range b.fields {
		vis := in.Visibility(f.Name)
		if vis == catalog.Hide {
			continue
		}
		raw, ok := in.Subject.Field(f.Name)
		if !ok {
			continue
		}
		val := identity.FormatValue(raw)
		if val == "" {
			continue
		}
		fld := Field{Name: f.Name, Value: val}
		if vis == catalog.Mask {
			fld = Field{Name: f.Name, Value: in.Mask(f.Name, val), Masked: true}
		}
		n := b.tokens.Count(fld.line())
		if used+n > b.budget {
			p.Omitted++
			continue
		}
		used += n
		p.Fields = append(p.Fields, fld)
	}
	journeyHeader := true
	for i, e := range in.Journey {
		if i >= MaxEvents {
			break
		}
		ev, ok := b.cat.Event(e.Name)
		if !ok || ev.Uses.For(in.Action) != catalog.Show {
			continue
		}
		line := eventLine(e.Name, e.Timestamp)
		n := b.tokens.Count(line)
		if journeyHeader {
			n += b.tokens.Count(journeyTitle)
		}
		if used+n > b.budget {
			p.Omitted++
			continue
		}
		used += n
		journeyHeader = false
		p.Events = append(p.Events, Event{Name: e.Name, At: e.Timestamp.UTC()})
	}
	p.Tokens = used
	return p
}

const journeyTitle = "Recent journey, newest first:"

func (f Field) line() string { return f.Name + ": " + f.Value }

func eventLine(name string, at time.Time) string {
	return "- " + at.UTC().Format(time.DateOnly) + " " + name
}

// Empty reports whether nothing is attached.
func (p *Pack) Empty() bool { return len(p.Fields) == 0 && len(p.Events) == 0 }

// Text is the pack in its documented format; empty when nothing is attached.
func (p *Pack) Text() string {
	if p.Empty() {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(p.Header)
	for _, f := range p.Fields {
		sb.WriteByte('\n')
		sb.WriteString(f.line())
	}
	if len(p.Events) > 0 {
		sb.WriteString("\n" + journeyTitle)
		for _, e := range p.Events {
			sb.WriteByte('\n')
			sb.WriteString(eventLine(e.Name, e.At))
		}
	}
	return sb.String()
}

// FieldNames lists the attached fields, shown and masked, for X-Crisp-Context.
func (p *Pack) FieldNames() []string {
	out := make([]string, len(p.Fields))
	for i, f := range p.Fields {
		out[i] = f.Name
	}
	return out
}

// Shown maps each attached field to its value (masked ones excluded), for
// GET /api/v1/context.
func (p *Pack) Shown() map[string]string {
	out := map[string]string{}
	for _, f := range p.Fields {
		if !f.Masked {
			out[f.Name] = f.Value
		}
	}
	return out
}

// Masked lists the attached masked fields.
func (p *Pack) Masked() []string {
	var out []string
	for _, f := range p.Fields {
		if f.Masked {
			out = append(out, f.Name)
		}
	}
	return out
}
