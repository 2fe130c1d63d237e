package catalog

import "fmt"

// Lint reviews a parsed catalog for definitions that work but deserve a
// second look, and for classifications its visibilities contradict. Parse
// has already refused anything invalid; Lint's errors are policy ("a
// secret is shown"), its warnings are hygiene ("no owner"). Problems are
// sorted by place.
func Lint(c *Catalog) []Problem {
	var ps []Problem
	for _, f := range c.Fields() {
		ps = append(ps, lintEntry(f.Pos, fieldSubject(f.Name), "field", f.Description, f.Owner, f.Note, f.Classification, f.Uses)...)
	}
	for _, e := range c.Events() {
		ps = append(ps, lintEntry(e.Pos, eventSubject(e.Name), "event", e.Description, e.Owner, e.Note, e.Classification, e.Uses)...)
	}
	sortProblems(ps)
	return ps
}

func lintEntry(pos Pos, subject, kind, description, owner, note string, cls Classification, uses Visibilities) []Problem {
	var ps []Problem
	add := func(sev Severity, format string, args ...any) {
		ps = append(ps, Problem{Pos: pos, Severity: sev, Subject: subject, Message: fmt.Sprintf(format, args...)})
	}
	if description == "" {
		add(SeverityWarning, "no description: say what the %s means so reviewers can judge its visibility", kind)
	}
	if owner == "" {
		add(SeverityWarning, "no owner: name the person or team who answers for this %s", kind)
	}
	if cls == Secret {
		for _, use := range AllUses() {
			if uses.For(use) == Show {
				add(SeverityError, "secret %s is shown for %s: mask or hide it, or reclassify it", kind, use)
			}
		}
	}
	if cls == Confidential && uses.AI == Show && note == "" {
		add(SeverityWarning, "confidential %s is shown for ai without a note: add a note saying why ai needs it", kind)
	}
	// What AI sees can surface in a draft the support agent reads, so ai
	// seeing more than support quietly widens what agents see.
	if uses.AI > uses.Support {
		add(SeverityWarning, "%s for ai but %s for support: an AI reply could reveal it to the agent", uses.AI, uses.Support)
	}
	return ps
}

// HasErrors reports whether any problem is an error.
func HasErrors(ps []Problem) bool {
	for _, p := range ps {
		if p.Severity == SeverityError {
			return true
		}
	}
	return false
}
