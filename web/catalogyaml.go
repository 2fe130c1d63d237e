package web

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/crisphq/crisp/catalog"
)

// patch is one catalog edit: the new values of one entry's common keys.
// Nil fields and absent uses stay as they are.
type patch struct {
	Kind        string            `json:"kind"` // field or event
	Name        string            `json:"name"`
	Description *string           `json:"description,omitempty"`
	Owner       *string           `json:"owner,omitempty"`
	Uses        map[string]string `json:"uses,omitempty"` // use → show, mask or hide
}

// applyPatch edits the catalog file's text through its YAML tree, so
// comments survive; the file is re-emitted with two-space indentation and
// without the blank lines between entries (yaml.v3 does not keep them).
func applyPatch(src []byte, p patch) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("parse catalog: %w", err)
	}
	entry, err := findEntry(&doc, p.Kind, p.Name)
	if err != nil {
		return nil, err
	}
	if p.Description != nil {
		setScalar(entry, "description", *p.Description)
	}
	if p.Owner != nil {
		setScalar(entry, "owner", *p.Owner)
	}
	if len(p.Uses) > 0 {
		if err := setUses(entry, p.Uses); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("write catalog: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("write catalog: %w", err)
	}
	return buf.Bytes(), nil
}

// findEntry returns the mapping of the field or event named name.
func findEntry(doc *yaml.Node, kind, name string) (*yaml.Node, error) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the catalog is not a mapping")
	}
	list := "fields"
	if kind == "event" {
		list = "events"
	}
	seq := mapValue(doc.Content[0], list)
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("the catalog has no %s list", list)
	}
	for _, item := range seq.Content {
		if item.Kind != yaml.MappingNode {
			continue
		}
		if n := mapValue(item, "name"); n != nil && n.Value == name {
			return item, nil
		}
	}
	return nil, fmt.Errorf("the catalog has no %s %q", kind, name)
}

// mapValue returns the value node of key in mapping m, or nil.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setScalar(m *yaml.Node, key, value string) {
	if n := mapValue(m, key); n != nil {
		// Let the encoder pick a quoting style the new text needs.
		n.Kind, n.Tag, n.Value, n.Style, n.Content = yaml.ScalarNode, "!!str", value, 0, nil
		return
	}
	m.Content = append(m.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key},
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
}

// setUses writes every use explicitly (a "default" key is expanded), in
// the canonical order, keeping the mapping's flow or block style.
func setUses(m *yaml.Node, uses map[string]string) error {
	n := mapValue(m, "uses")
	cur := map[string]string{}
	style := yaml.FlowStyle
	if n != nil && n.Kind == yaml.MappingNode {
		style = n.Style
		def := mapValue(n, "default")
		for _, u := range catalog.AllUses() {
			if v := mapValue(n, u); v != nil {
				cur[u] = v.Value
			} else if def != nil {
				cur[u] = def.Value
			}
		}
	}
	for u, v := range uses {
		if catalog.UseOf(u) != u {
			return fmt.Errorf("unknown use %q", u)
		}
		if _, err := catalog.ParseVisibility(v); err != nil {
			return err
		}
		cur[u] = v
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: style}
	for _, u := range catalog.AllUses() {
		v, ok := cur[u]
		if !ok {
			return fmt.Errorf("no visibility for %s", u)
		}
		out.Content = append(out.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: u},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v})
	}
	if n == nil {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "uses"}, out)
		return nil
	}
	*n = *out
	return nil
}

// entryFacts are the editable facts of one entry, for diffs.
type entryFacts struct {
	Description, Owner string
	Uses               catalog.Visibilities
}

func factsOf(c *catalog.Catalog, kind, name string) (entryFacts, bool) {
	if kind == "event" {
		e, ok := c.Event(name)
		return entryFacts{e.Description, e.Owner, e.Uses}, ok
	}
	f, ok := c.Field(name)
	return entryFacts{f.Description, f.Owner, f.Uses}, ok
}

func usesLine(v catalog.Visibilities) string {
	parts := make([]string, 0, 4)
	for _, u := range catalog.AllUses() {
		parts = append(parts, u+": "+v.For(u).Verb())
	}
	return "uses: {" + strings.Join(parts, ", ") + "}"
}

// diffText is the edit as a unified-style diff of the entry's keys.
func diffText(file, kind, name, beforeVersion, afterVersion string, before, after entryFacts) string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s (%s)\n+++ %s (%s)\n@@ %s %s @@\n", file, short(beforeVersion), file, short(afterVersion), kind, name)
	line := func(key, o, n string) {
		if o == n {
			return
		}
		fmt.Fprintf(&b, "-  %s: %s\n+  %s: %s\n", key, o, key, n)
	}
	line("description", before.Description, after.Description)
	line("owner", before.Owner, after.Owner)
	if before.Uses != after.Uses {
		fmt.Fprintf(&b, "-  %s\n+  %s\n", usesLine(before.Uses), usesLine(after.Uses))
	}
	return b.String()
}

func short(version string) string {
	return version[:min(len(version), 12)]
}

// widening is a use whose visibility an edit opens up.
type widening struct {
	Use, From, To string
}

func widenings(before, after catalog.Visibilities) []widening {
	var out []widening
	for _, u := range catalog.AllUses() {
		if o, n := before.For(u), after.For(u); n > o {
			out = append(out, widening{Use: u, From: o.String(), To: n.String()})
		}
	}
	return out
}
