package catalog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// maxFileSize bounds what Parse reads; a real catalog is tens of KiB.
const maxFileSize = 4 << 20

// fieldName is customer.x or account.x, optionally nested (account.billing.country);
// segments are camelCase identifiers as the policy language writes them.
var fieldName = regexp.MustCompile(`^(customer|account)(\.[a-z][A-Za-z0-9_]*)+$`)

const (
	maxNameLen    = 128
	maxEventLen   = 200
	defaultUseKey = "default"
)

// Keys each mapping accepts, in the order messages list them.
func topKeys() []string { return []string{"fields", "events"} }

func fieldKeys() []string {
	return []string{"name", "type", "values", "description", "owner", "source", "classification", "note", "uses"}
}

func eventKeys() []string {
	return []string{"name", "description", "owner", "source", "classification", "note", "uses"}
}

func useKeys() []string { return append(AllUses(), defaultUseKey) }

// Load reads and parses the catalog file at path.
func Load(path string) (*Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a catalog file strictly: unknown keys, bad values,
// duplicates and unsafe visibilities are all errors. name is used in
// messages. On failure the error is a *ParseError listing every problem
// (up to 20) as file:line:col with the field it concerns.
//
// Every use (support, ai, reporting, automation) must be given a
// visibility, either by name or through the entry's "default" key; there
// is no implicit default. Write "default: hide" to hide the rest, which is
// what crisp does with anything the catalog does not name.
func Parse(name string, data []byte) (*Catalog, error) {
	root, probs := decode(name, data)
	if len(probs) > 0 {
		return nil, newParseError(probs)
	}
	p := &parser{file: name}
	fields, events := p.document(root)
	if err := newParseError(p.problems); err != nil {
		return nil, err
	}
	return newCatalog(name, fields, events), nil
}

// yamlLine picks the line out of go.yaml.in's syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decode parses YAML into one document node.
func decode(name string, data []byte) (*yaml.Node, []Problem) {
	fileProblem := func(line int, msg string) []Problem {
		return []Problem{{Pos: Pos{File: name, Line: line}, Severity: SeverityError, Message: msg}}
	}
	if len(data) > maxFileSize {
		return nil, fileProblem(0, fmt.Sprintf("file is larger than %d bytes", maxFileSize))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fileProblem(0, `file is empty: want a mapping with "fields" and "events"`)
		}
		return nil, yamlProblem(name, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, yamlProblem(name, err)
	default:
		return nil, fileProblem(extra.Line, "more than one YAML document: a catalog is one document")
	}
	return &doc, nil
}

func yamlProblem(name string, err error) []Problem {
	msg := err.Error()
	pos := Pos{File: name}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	return []Problem{{Pos: pos, Severity: SeverityError, Message: "invalid YAML: " + msg}}
}

// parser gathers problems while walking the document; it never stops at
// the first, so one run shows everything to fix.
type parser struct {
	file     string
	problems []Problem
}

func (p *parser) pos(n *yaml.Node) Pos {
	return Pos{File: p.file, Line: n.Line, Column: n.Column}
}

func (p *parser) errorf(n *yaml.Node, subject, format string, args ...any) {
	p.problems = append(p.problems, Problem{Pos: p.pos(n), Severity: SeverityError,
		Subject: subject, Message: fmt.Sprintf(format, args...)})
}

// entry is one key of a mapping with its value.
type entry struct{ key, val *yaml.Node }

// mapping checks that n is a mapping with only known, unique keys, and
// returns its entries by key.
func (p *parser) mapping(n *yaml.Node, subject, what string, known []string) (map[string]entry, bool) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, subject, "%s must be a mapping, found %s", what, kindName(n))
		return nil, false
	}
	m := make(map[string]entry, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, subject, "%s keys must be plain strings, found %s", what, kindName(k))
			continue
		}
		if first, dup := m[k.Value]; dup {
			p.errorf(k, subject, "duplicate key %q (first at line %d)", k.Value, first.key.Line)
			continue
		}
		if !slices.Contains(known, k.Value) {
			p.errorf(k, subject, "unknown key %q%s (known: %s)", k.Value,
				didYouMean(k.Value, known), strings.Join(known, ", "))
			continue
		}
		m[k.Value] = entry{k, v}
	}
	return m, true
}

// sequence checks that n is a sequence; an empty value ("fields:") is an
// empty one.
func (p *parser) sequence(n *yaml.Node, subject, what string) ([]*yaml.Node, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, subject, "%s must be a list, found %s", what, kindName(n))
		return nil, false
	}
	return n.Content, true
}

// text returns the scalar under key. A missing or empty required key is an
// error; ok reports that the value, if any, is usable.
func (p *parser) text(m map[string]entry, mapNode *yaml.Node, subject, key string, required bool) (string, *yaml.Node, bool) {
	e, present := m[key]
	if !present {
		if required {
			p.errorf(mapNode, subject, "missing key %q", key)
		}
		return "", mapNode, !required
	}
	v := e.val
	if v.Kind != yaml.ScalarNode {
		p.errorf(v, subject, "%s must be a string, found %s", key, kindName(v))
		return "", v, false
	}
	s := v.Value
	if v.ShortTag() == "!!null" {
		s = ""
	}
	if required && strings.TrimSpace(s) == "" {
		p.errorf(v, subject, "%s is empty", key)
		return "", v, false
	}
	return s, v, true
}

// oneOf returns the scalar under key when it is one of allowed.
func (p *parser) oneOf(m map[string]entry, mapNode *yaml.Node, subject, key string, allowed []string) (string, bool) {
	s, n, ok := p.text(m, mapNode, subject, key, true)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		p.errorf(n, subject, "%s: unknown value %q%s (want %s)", key, s, didYouMean(s, allowed), strings.Join(allowed, ", "))
		return "", false
	}
	return s, true
}

// kindName says what a node is, for "found ..." messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias (aliases are not supported)"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

// didYouMean suggests the closest of known, formatted for a message.
func didYouMean(s string, known []string) string {
	if c := closest(s, known); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}

// validEventName reports why an event name is unusable, or "".
func validEventName(s string) string {
	switch {
	case strings.TrimSpace(s) != s:
		return "must not start or end with spaces"
	case len(s) > maxEventLen:
		return fmt.Sprintf("is longer than %d bytes", maxEventLen)
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "contains a control character"
	}
	return ""
}

// validFieldName reports why a field name is unusable, or "".
func validFieldName(s string) string {
	switch {
	case len(s) > maxNameLen:
		return fmt.Sprintf("is longer than %d bytes", maxNameLen)
	case !fieldName.MatchString(s):
		return "must be customer.<name> or account.<name>, each part starting with a lowercase letter (e.g. account.plan)"
	}
	return ""
}
