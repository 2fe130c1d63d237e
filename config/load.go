package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/crisphq/crisp/suggest"
)

// Problem is one thing wrong with a configuration file.
type Problem struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Field, p.Msg)
}

// Problems is every problem found in one file, sorted by line.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// maxProblems caps the list so one broken indent doesn't bury the first cause.
const maxProblems = 20

// LoadFile reads and validates a configuration file.
func LoadFile(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(path, data, getenv)
	if err != nil {
		return nil, err
	}
	cfg.Dir = filepath.Dir(path)
	return cfg, nil
}

// Parse decodes and validates configuration data; name is used in messages.
// getenv resolves ${VAR}; nil means os.Getenv.
func Parse(name string, data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	l := &loader{file: name, getenv: getenv, paths: map[int]string{}}
	l.expand(doc, "")
	l.checkKnown(doc, reflect.TypeOf(Config{}), "")
	cfg := &Config{File: name}
	if len(l.problems) == 0 {
		// yaml keeps decoding past a type error, so validation still sees
		// the rest and every problem is reported in one go.
		if err := doc.Decode(cfg); err != nil {
			l.decodeError(err)
		}
		if _, isType := errAsType(l.problems); !isType && len(l.problems) > 0 {
			return nil, l.result()
		}
		cfg.applyDefaults()
		v := validator{loader: l, root: doc}
		v.validate(cfg)
	}
	if len(l.problems) > 0 {
		return nil, l.result()
	}
	return cfg, nil
}

type loader struct {
	file     string
	getenv   func(string) string
	problems Problems
	paths    map[int]string // line → field, to name the field in yaml's type errors
}

func (l *loader) add(line int, field, format string, args ...any) {
	l.problems = append(l.problems, Problem{File: l.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) result() error {
	ps := l.problems
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	if len(ps) > maxProblems {
		ps = append(ps[:maxProblems:maxProblems], Problem{File: l.file, Field: "config", Msg: fmt.Sprintf("and %d more problems", len(l.problems)-maxProblems)})
	}
	return ps
}

// envRef matches ${VAR} and ${VAR:-default}.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// expand replaces ${VAR} in scalar values (never keys), so a secret can sit
// in the environment and the file stays safe to commit.
func (l *loader) expand(n *yaml.Node, field string) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v := l.getenv(m[1]); v != "" {
				return v
			}
			return m[2]
		})
		// An expanded value is data, not YAML: keep it a string unless it
		// reads as a plain number or bool.
		n.Tag = ""
		n.Style = 0
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			l.expand(n.Content[i+1], join(field, n.Content[i].Value))
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for i, c := range n.Content {
			l.expand(c, field+"["+strconv.Itoa(i)+"]")
		}
	}
}

// checkKnown reports mapping keys that no struct field declares, with their
// line, since yaml.Node.Decode cannot be made strict.
func (l *loader) checkKnown(n *yaml.Node, t reflect.Type, field string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if !(n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
				l.add(n.Line, orRoot(field), "must be a mapping")
			}
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			ft, ok := fields[key.Value]
			l.paths[key.Line] = join(field, key.Value)
			if !ok {
				l.add(key.Line, join(field, key.Value), "unknown key%s", didYouMean(key.Value, fields))
				continue
			}
			l.checkKnown(val, ft, join(field, key.Value))
		}
	case reflect.Slice:
		if n.Kind == yaml.SequenceNode {
			for i, c := range n.Content {
				l.checkKnown(c, t.Elem(), field+"["+strconv.Itoa(i)+"]")
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				l.checkKnown(n.Content[i+1], t.Elem(), join(field, n.Content[i].Value))
			}
		}
	}
}

var lineRef = regexp.MustCompile(`line (\d+): (.*)`)

// decodeError turns yaml's type errors ("line 7: cannot unmarshal …") into Problems.
func (l *loader) decodeError(err error) {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		l.add(0, "config", "%v", err)
		return
	}
	for _, e := range te.Errors {
		line := 0
		msg := e
		if m := lineRef.FindStringSubmatch(e); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		f := l.paths[line]
		if f == "" {
			f = "value"
		}
		l.add(line, f, "%s", msg)
	}
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func didYouMean(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3 // the farthest a suggestion may be
	for name := range fields {
		// Distance caps at its limit: with bestD+1 every d ≤ bestD is exact,
		// so a capped far name never ties with a near one.
		d := suggest.Distance(key, name, bestD+1)
		if d > bestD || d >= len(key) {
			continue
		}
		if best == "" || d < bestD || name < best { // ties: the first name, whatever the map's order
			best, bestD = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func orRoot(field string) string {
	if field == "" {
		return "config"
	}
	return field
}

// errAsType reports whether the only problems are yaml type errors, which
// leave the rest of the file decodable.
func errAsType(ps Problems) (int, bool) {
	for _, p := range ps {
		if !strings.Contains(p.Msg, "cannot unmarshal") {
			return 0, false
		}
	}
	return len(ps), true
}
