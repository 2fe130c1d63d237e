package policy

import (
	"slices"
	"strings"

	"github.com/crisphq/crisp/catalog"
)

// knownActions are the AI actions Crisp serves; ai.agent.<tool> adds one per
// MCP tool. WithActions adds more.
func knownActions() []string {
	return []string{"ai.draft", "ai.general", "ai.ask", "ai.context"}
}

const agentPrefix = "ai.agent."

// pattern is an action as a statement names it: exact (ai.draft), a family
// (ai.agent.*) or every action (*).
type pattern struct {
	text   string
	prefix string // for families: "ai.agent."
	family bool
}

func newPattern(s string) pattern {
	if s == "*" {
		return pattern{text: s, family: true}
	}
	if strings.HasSuffix(s, ".*") {
		return pattern{text: s, prefix: strings.TrimSuffix(s, "*"), family: true}
	}
	return pattern{text: s}
}

func (p pattern) match(action string) bool {
	if !p.family {
		return p.text == action
	}
	return len(action) > len(p.prefix) && strings.HasPrefix(action, p.prefix)
}

// specificity ranks how narrowly a field statement's target names an action:
// an exact action beats a family, a longer family beats a shorter one, a
// family beats a use, and a use beats a statement with no `for`.
func (p pattern) specificity() int {
	if !p.family {
		return 1000
	}
	if p.prefix == "" {
		return 1 // "*" is every action, like no `for` at all
	}
	return 10 + strings.Count(p.prefix, ".")
}

// target is one entry of a field statement's `for`: a use or an action.
type target struct {
	use string // set when the target is a use
	pat pattern
}

// specificityFor is how specifically t names action, or -1 when it does not.
func (t target) specificityFor(action string) int {
	if t.use != "" {
		if catalog.UseOf(action) == t.use {
			return 5
		}
		return -1
	}
	if t.pat.match(action) {
		return t.pat.specificity()
	}
	return -1
}

// actionSet checks action names against the known ones.
type actionSet struct {
	exact    []string
	families []string // prefixes ending in "."
}

func newActionSet(extra []string) actionSet {
	s := actionSet{exact: append(knownActions(), extra...)}
	s.families = append(s.families, agentPrefix)
	for _, a := range s.exact {
		for i := range a {
			if a[i] == '.' && !slices.Contains(s.families, a[:i+1]) {
				s.families = append(s.families, a[:i+1])
			}
		}
	}
	return s
}

// check returns "" when name is a valid action or pattern, else what is wrong.
func (s actionSet) check(name string) string {
	switch {
	case name == "*" || slices.Contains(s.exact, name):
		return ""
	case strings.HasSuffix(name, ".*"):
		if slices.Contains(s.families, strings.TrimSuffix(name, "*")) {
			return ""
		}
		return "unknown action family " + quote(name) + didYouMean(suggest(name, s.patterns()))
	case strings.HasPrefix(name, agentPrefix) && len(name) > len(agentPrefix) && !strings.Contains(name, "*"):
		return "" // one MCP tool: ai.agent.<tool>
	}
	return "unknown action " + quote(name) + didYouMean(suggest(name, s.patterns()))
}

func (s actionSet) patterns() []string {
	out := slices.Clone(s.exact)
	for _, f := range s.families {
		out = append(out, f+"*")
	}
	return out
}
