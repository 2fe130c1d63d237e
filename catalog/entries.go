package catalog

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// document walks the top-level mapping.
func (p *parser) document(doc *yaml.Node) ([]Field, []Event) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		p.errorf(doc, "", `want a mapping with "fields" and "events"`)
		return nil, nil
	}
	top := doc.Content[0]
	m, ok := p.mapping(top, "", "the catalog", topKeys())
	if !ok {
		return nil, nil
	}
	var fields []Field
	var events []Event
	if e, ok := m["fields"]; ok {
		fields = p.fields(e.val)
	} else {
		p.errorf(top, "", `missing key "fields"`)
	}
	if e, ok := m["events"]; ok {
		events = p.events(e.val)
	}
	return fields, events
}

func (p *parser) fields(n *yaml.Node) []Field {
	items, ok := p.sequence(n, "", "fields")
	if !ok {
		return nil
	}
	var out []Field
	first := make(map[string]int)
	for i, item := range items {
		f, ok := p.field(item, i)
		if !ok {
			continue
		}
		if line, dup := first[f.Name]; dup {
			p.errorf(item, fieldSubject(f.Name), "duplicate field (first defined at line %d)", line)
			continue
		}
		first[f.Name] = f.Pos.Line
		out = append(out, f)
	}
	return out
}

func (p *parser) events(n *yaml.Node) []Event {
	items, ok := p.sequence(n, "", "events")
	if !ok {
		return nil
	}
	var out []Event
	first := make(map[string]int)
	for i, item := range items {
		e, ok := p.event(item, i)
		if !ok {
			continue
		}
		if line, dup := first[e.Name]; dup {
			p.errorf(item, eventSubject(e.Name), "duplicate event (first defined at line %d)", line)
			continue
		}
		first[e.Name] = e.Pos.Line
		out = append(out, e)
	}
	return out
}

func fieldSubject(name string) string { return "field " + strconv.Quote(name) }
func eventSubject(name string) string { return "event " + strconv.Quote(name) }

// field decodes one field entry; ok is false when it had any problem.
func (p *parser) field(n *yaml.Node, i int) (Field, bool) {
	before := len(p.problems)
	subject := fmt.Sprintf("fields[%d]", i)
	if name := peekName(n); validFieldName(name) == "" {
		subject = fieldSubject(name)
	}
	m, ok := p.mapping(n, subject, "a field", fieldKeys())
	if !ok {
		return Field{}, false
	}
	f := Field{Pos: p.pos(n)}
	if name, at, ok := p.text(m, n, subject, "name", true); ok {
		if why := validFieldName(name); why != "" {
			p.errorf(at, subject, "name %q %s", name, why)
		} else {
			f.Name = name
		}
	}
	if t, ok := p.oneOf(m, n, subject, "type", types()); ok {
		f.Type = Type(t)
	}
	f.Values = p.values(m, n, subject, f.Type)
	c := p.common(m, n, "field", subject)
	f.Description, f.Owner, f.Source, f.Classification, f.Note, f.Uses =
		c.description, c.owner, c.source, c.classification, c.note, c.uses
	return f, len(p.problems) == before
}

// event decodes one event entry; ok is false when it had any problem.
func (p *parser) event(n *yaml.Node, i int) (Event, bool) {
	before := len(p.problems)
	subject := fmt.Sprintf("events[%d]", i)
	if name := peekName(n); name != "" && validEventName(name) == "" {
		subject = eventSubject(name)
	}
	m, ok := p.mapping(n, subject, "an event", eventKeys())
	if !ok {
		return Event{}, false
	}
	e := Event{Pos: p.pos(n)}
	if name, at, ok := p.text(m, n, subject, "name", true); ok {
		if why := validEventName(name); why != "" {
			p.errorf(at, subject, "name %q %s", name, why)
		} else {
			e.Name = name
		}
	}
	c := p.common(m, n, "event", subject)
	e.Description, e.Owner, e.Source, e.Classification, e.Note, e.Uses =
		c.description, c.owner, c.source, c.classification, c.note, c.uses
	return e, len(p.problems) == before
}

// peekName returns an entry's name before its keys are checked, so that
// every message about the entry, even about its keys, can name it.
func peekName(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Value == "name" && v.Kind == yaml.ScalarNode {
			return v.Value
		}
	}
	return ""
}

// common is what fields and events share.
type common struct {
	description, owner, note string
	source                   Source
	classification           Classification
	uses                     Visibilities
}

func (p *parser) common(m map[string]entry, n *yaml.Node, kind, subject string) common {
	var c common
	c.description, _, _ = p.text(m, n, subject, "description", false)
	c.owner, _, _ = p.text(m, n, subject, "owner", false)
	c.note, _, _ = p.text(m, n, subject, "note", false)
	if s, ok := p.oneOf(m, n, subject, "source", sources()); ok {
		c.source = Source(s)
	}
	cls, clsOK := p.oneOf(m, n, subject, "classification", classifications())
	c.classification = Classification(cls)
	uses, at, usesOK := p.uses(m, n, subject)
	c.uses = uses
	if clsOK && usesOK && c.classification == Secret && uses.AI == Show {
		p.errorf(at[UseAI], subject, "a secret %s may not be shown for ai (use mask or hide)", kind)
	}
	return c
}

// uses decodes the per-use visibilities. at holds, per use, the node that
// set it (the use's own entry or the default), for pointing at it later.
func (p *parser) uses(m map[string]entry, n *yaml.Node, subject string) (Visibilities, map[string]*yaml.Node, bool) {
	var v Visibilities
	e, present := m["uses"]
	if !present {
		p.errorf(n, subject, `missing key "uses"`)
		return v, nil, false
	}
	um, ok := p.mapping(e.val, subject, "uses", useKeys())
	if !ok {
		return v, nil, false
	}
	ok = true
	parse := func(key string) (Visibility, bool) {
		val := um[key].val
		if val.Kind != yaml.ScalarNode {
			p.errorf(val, subject, "uses.%s must be show, mask or hide, found %s", key, kindName(val))
			return Hide, false
		}
		vis, err := ParseVisibility(val.Value)
		if err != nil {
			p.errorf(val, subject, "uses.%s: unknown visibility %q%s (want show, mask or hide)",
				key, val.Value, didYouMean(val.Value, []string{"show", "mask", "hide"}))
			return Hide, false
		}
		return vis, true
	}
	at := make(map[string]*yaml.Node, 4)
	var def Visibility
	_, hasDefault := um[defaultUseKey]
	if hasDefault {
		def, ok = parse(defaultUseKey)
	}
	var missing []string
	for _, use := range AllUses() {
		vis, node := def, um[defaultUseKey].val
		if _, set := um[use]; set {
			var good bool
			vis, good = parse(use)
			ok = ok && good
			node = um[use].val
		} else if !hasDefault {
			missing = append(missing, use)
			continue
		}
		*v.ptr(use) = vis
		at[use] = node
	}
	if len(missing) > 0 {
		p.errorf(e.val, subject, `uses: no visibility for %s (name each use, or add "default: hide")`, strings.Join(missing, ", "))
		ok = false
	}
	return v, at, ok
}

// values decodes an enum's allowed values.
func (p *parser) values(m map[string]entry, n *yaml.Node, subject string, t Type) []string {
	e, present := m["values"]
	switch {
	case !present && t == TypeEnum:
		p.errorf(n, subject, `missing key "values": an enum lists its allowed values`)
		return nil
	case !present:
		return nil
	case t != TypeEnum:
		p.errorf(e.key, subject, `values is only allowed with type enum`)
		return nil
	}
	items, ok := p.sequence(e.val, subject, "values")
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.errorf(e.val, subject, "values is empty: an enum needs at least one value")
		return nil
	}
	out := make([]string, 0, len(items))
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		switch {
		case it.Kind != yaml.ScalarNode || it.ShortTag() == "!!null":
			p.errorf(it, subject, "values: each value must be a string, found %s", kindName(it))
		case seen[it.Value]:
			p.errorf(it, subject, "values: duplicate value %q", it.Value)
		default:
			seen[it.Value] = true
			out = append(out, it.Value)
		}
	}
	return out
}
