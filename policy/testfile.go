package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

type testFile struct {
	cases []testCase
}

type testCase struct {
	name      string
	input     Input
	withRules string
	expect    expectation
}

type expectation struct {
	decision        string
	rule            string
	fields          map[string]Visibility
	fieldOrder      []string
	messageContains string
}

// testParser reads a test file strictly: an unknown key or a reference to a
// fixture that does not exist is an error at its line, so a typo cannot make
// a case test less than it says.
type testParser struct {
	file      string
	errs      errorSink
	now       time.Time
	users     map[string]User
	customers map[string]Customer
	accounts  map[string]Account
}

func parseTestFile(file string, data []byte) (*testFile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("policy: %s: %w", file, err)
	}
	p := &testParser{file: file, users: map[string]User{}, customers: map[string]Customer{}, accounts: map[string]Account{}}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("policy: %s: empty test file", file)
	}
	top := p.mapping(doc.Content[0], "the test file", "now", "users", "customers", "accounts", "cases")
	if n := top["now"]; n != nil {
		p.now = p.time(n)
	}
	if n := top["users"]; n != nil {
		for name, v := range p.mapping(n, "users") {
			p.users[name] = p.user(v)
		}
	}
	if n := top["customers"]; n != nil {
		for name, v := range p.mapping(n, "customers") {
			id, traits := p.subject(v)
			p.customers[name] = Customer{ID: id, Traits: traits}
		}
	}
	if n := top["accounts"]; n != nil {
		for name, v := range p.mapping(n, "accounts") {
			id, traits := p.subject(v)
			p.accounts[name] = Account{ID: id, Traits: traits}
		}
	}
	tf := &testFile{}
	if n := top["cases"]; n == nil || n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errs.add(p.pos(doc.Content[0]), "want a non-empty list of cases")
	} else {
		for _, c := range n.Content {
			tf.cases = append(tf.cases, p.testCase(c))
		}
	}
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	return tf, nil
}

func (p *testParser) pos(n *yaml.Node) Pos { return Pos{File: p.file, Line: n.Line, Col: n.Column} }

// mapping returns the keys of a mapping node; with allowed given, any other
// key is an error.
func (p *testParser) mapping(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.errs.add(p.pos(n), "%s: want a mapping", what)
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if len(allowed) > 0 && !slices.Contains(allowed, k.Value) {
			p.errs.add(p.pos(k), "%s: unknown key %q%s", what, k.Value, didYouMean(suggest(k.Value, allowed)))
			continue
		}
		out[k.Value] = v
	}
	return out
}

func (p *testParser) str(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		p.errs.add(p.pos(n), "want a single value")
		return ""
	}
	return n.Value
}

func (p *testParser) time(n *yaml.Node) time.Time {
	t, err := time.Parse(time.RFC3339, p.str(n))
	if err != nil {
		p.errs.add(p.pos(n), "want an RFC 3339 time such as 2025-06-06T12:00:00Z")
	}
	return t
}

func (p *testParser) user(n *yaml.Node) User {
	m := p.mapping(n, "user", "id", "email", "role", "teams", "kind")
	var u User
	for k, v := range m {
		switch k {
		case "id":
			u.ID = p.str(v)
		case "email":
			u.Email = p.str(v)
		case "role":
			u.Role = p.str(v)
		case "kind":
			u.Kind = p.str(v)
		case "teams":
			if err := v.Decode(&u.Teams); err != nil {
				p.errs.add(p.pos(v), "teams: want a list of names")
			}
		}
	}
	return u
}

// subject reads a customer or account: id, and every other key a trait.
func (p *testParser) subject(n *yaml.Node) (string, map[string]any) {
	var m map[string]any
	if err := n.Decode(&m); err != nil {
		p.errs.add(p.pos(n), "want a mapping of traits: %v", err)
		return "", nil
	}
	id, _ := m["id"].(string)
	delete(m, "id")
	return id, m
}

func (p *testParser) testCase(n *yaml.Node) testCase {
	m := p.mapping(n, "case", "name", "user", "customer", "account", "action", "signed_identity",
		"identity_method", "request", "journey", "now", "with_rules", "expect")
	tc := testCase{input: Input{Now: p.now}}
	if v := m["name"]; v != nil {
		tc.name = p.str(v)
	} else {
		p.errs.add(p.pos(n), "case: missing name")
	}
	if v := m["now"]; v != nil {
		tc.input.Now = p.time(v)
	}
	if tc.input.Now.IsZero() {
		tc.input.Now = time.Now()
	}
	if v := m["user"]; v != nil {
		tc.input.User = fixture(p, v, "user", p.users, p.user)
	}
	if v := m["customer"]; v != nil {
		tc.input.Customer = fixture(p, v, "customer", p.customers, func(n *yaml.Node) Customer {
			id, t := p.subject(n)
			return Customer{ID: id, Traits: t}
		})
	}
	if v := m["account"]; v != nil {
		tc.input.Account = fixture(p, v, "account", p.accounts, func(n *yaml.Node) Account {
			id, t := p.subject(n)
			return Account{ID: id, Traits: t}
		})
	}
	if v := m["action"]; v != nil {
		tc.input.Action = p.str(v)
	} else {
		p.errs.add(p.pos(n), "case %q: missing action", tc.name)
	}
	if v := m["signed_identity"]; v != nil {
		if err := v.Decode(&tc.input.SignedIdentity); err != nil {
			p.errs.add(p.pos(v), "signed_identity: want true or false")
		}
	}
	if v := m["identity_method"]; v != nil {
		tc.input.IdentityMethod = p.str(v)
	}
	if v := m["request"]; v != nil {
		for k, x := range p.mapping(v, "request", "model", "provider") {
			if k == "model" {
				tc.input.Request.Model = p.str(x)
			} else {
				tc.input.Request.Provider = p.str(x)
			}
		}
	}
	if v := m["journey"]; v != nil {
		tc.input.Journey = p.journey(v, tc.input.Now)
	}
	if v := m["with_rules"]; v != nil {
		tc.withRules = p.str(v)
	}
	if v := m["expect"]; v != nil {
		tc.expect = p.expectation(v)
	} else {
		p.errs.add(p.pos(n), "case %q: missing expect", tc.name)
	}
	return tc
}

// fixture resolves a fixture by name, or reads one written inline.
func fixture[T any](p *testParser, n *yaml.Node, what string, named map[string]T, inline func(*yaml.Node) T) T {
	if n.Kind != yaml.ScalarNode {
		return inline(n)
	}
	v, ok := named[n.Value]
	if !ok {
		keys := make([]string, 0, len(named))
		for k := range named {
			keys = append(keys, k)
		}
		p.errs.add(p.pos(n), "unknown %s %q%s", what, n.Value, didYouMean(suggest(n.Value, keys)))
	}
	return v
}

func (p *testParser) journey(n *yaml.Node, now time.Time) []Event {
	if n.Kind != yaml.SequenceNode {
		p.errs.add(p.pos(n), "journey: want a list of {name, ago} or {name, at}")
		return nil
	}
	var out []Event
	for _, en := range n.Content {
		m := p.mapping(en, "journey event", "name", "ago", "at")
		ev := Event{At: now}
		if v := m["name"]; v != nil {
			ev.Name = p.str(v)
		}
		if v := m["at"]; v != nil {
			ev.At = p.time(v)
		}
		if v := m["ago"]; v != nil {
			d, err := parseWindow(p.str(v))
			if err != nil {
				p.errs.add(p.pos(v), "ago: %v", err)
			}
			ev.At = now.Add(-d)
		}
		out = append(out, ev)
	}
	return out
}

func (p *testParser) expectation(n *yaml.Node) expectation {
	m := p.mapping(n, "expect", "decision", "rule", "fields", "message_contains")
	var x expectation
	if v := m["decision"]; v != nil {
		x.decision = p.str(v)
	}
	if x.decision != "allow" && x.decision != "deny" {
		p.errs.add(p.pos(n), "expect: decision must be allow or deny")
	}
	if v := m["rule"]; v != nil {
		x.rule = p.str(v)
	}
	if v := m["message_contains"]; v != nil {
		x.messageContains = p.str(v)
	}
	if v := m["fields"]; v != nil && v.Kind == yaml.MappingNode {
		x.fields = map[string]Visibility{}
		for i := 0; i+1 < len(v.Content); i += 2 {
			name, val := v.Content[i].Value, v.Content[i+1]
			var vis Visibility
			if err := vis.UnmarshalText([]byte(strings.TrimSpace(p.str(val)))); err != nil {
				p.errs.add(p.pos(val), "field %s: want shown, masked or hidden", name)
				continue
			}
			x.fields[name] = vis
			x.fieldOrder = append(x.fieldOrder, name)
		}
	} else if v != nil {
		p.errs.add(p.pos(v), "expect: fields must be a mapping of field to shown, masked or hidden")
	}
	return x
}
