package policy

import (
	"fmt"
	"strings"
)

// explainLines builds, once at load, every line a decision can say about r,
// so deciding only picks lines and never formats.
func (r *rule) explainLines() {
	r.decided = fmt.Sprintf("decision: %s by rule %q (%s)", r.verb, r.name, r.loc)
	if r.verb == VerbDeny {
		r.matched = r.label + " applies"
		if len(r.clauses) > 0 {
			r.matched += ": " + tick(joinClauses(r.clauses, len(r.clauses))) + " holds"
		}
		if r.because != "" {
			r.matched += " (because: " + r.because + ")"
		}
		r.skipped = r.label + " not evaluated"
		if len(r.clauses) > 0 {
			var undo []string
			for _, c := range r.clauses {
				undo = append(undo, c.unhint)
			}
			r.unless = []string{r.label + " must not apply: " + strings.Join(undo, ", or ")}
		}
	} else {
		r.matched = r.label + " matched"
		r.skipped = r.label + " not evaluated: an earlier allow rule matched"
	}
	verb := "did not match"
	if r.verb == VerbDeny {
		verb = "does not apply"
	}
	for _, c := range r.clauses {
		at := fmt.Sprintf("(%d:%d)", c.pos.Line, c.pos.Col)
		r.failedAt = append(r.failedAt, r.label+" failed at "+tick(c.text))
		r.hints = append(r.hints, c.hint+" (rule "+quote(r.name)+", "+r.loc+")")
		r.failed = append(r.failed, fmt.Sprintf("%s %s: %s is false %s", r.label, verb, tick(c.text), at))
		if r.verb == VerbDeny {
			// Fail closed: a deny whose condition cannot be evaluated applies.
			r.errored = append(r.errored, fmt.Sprintf("%s applies: %s could not be evaluated %s, so the rule counts as matching", r.label, tick(c.text), at))
		} else {
			r.errored = append(r.errored, fmt.Sprintf("%s %s: %s could not be evaluated %s (a value is missing or has another type)", r.label, verb, tick(c.text), at))
		}
	}
}

// tick marks rule source inside prose.
func tick(s string) string { return "`" + s + "`" }

// hintFor says what would make clause x true, for Decision.ToAllow. text is
// x printed with customer literals redacted.
func hintFor(x Expr, text string) string {
	switch x := x.(type) {
	case *Path:
		if x.Name == "signedIdentity" {
			return "the customer identity must be signed (X-Crisp-User-Hash or X-Crisp-Identity-Token)"
		}
		return x.Name + " must be true"
	case *Not:
		if p, ok := x.X.(*Path); ok {
			return p.Name + " must be false"
		}
		return unhintFor(x.X, Format(x.X))
	case *Did:
		if x.WithinSrc != "" {
			return fmt.Sprintf("the customer must have done %q within %s", x.Event, x.WithinSrc)
		}
		return fmt.Sprintf("the customer must have done %q", x.Event)
	case *Compare:
		if h := compareHint(x); h != "" {
			return h
		}
	}
	return tick(text) + " must hold"
}

// unhintFor says what would make clause x false: how a deny rule stops
// applying.
func unhintFor(x Expr, text string) string {
	switch x := x.(type) {
	case *Not:
		return hintFor(x.X, Format(x.X))
	case *Path:
		return x.Name + " must be false"
	case *Compare:
		if h := compareHint(negated(x)); h != "" {
			return h
		}
	}
	return tick(text) + " must be false"
}

// negated returns the comparison that holds exactly when c does not, for
// wording hints; `in` has no negated operator and gives nil.
func negated(c *Compare) *Compare {
	op := map[string]string{"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}[c.Op]
	if op == "" {
		return nil
	}
	return &Compare{Op: op, L: c.L, R: c.R, Pos: c.Pos}
}

func compareHint(c *Compare) string {
	if c == nil {
		return ""
	}
	p, ok := c.L.(*Path)
	if !ok {
		return ""
	}
	lit, isLit := c.R.(*Lit)
	if isLit && lit.Kind == LitVisibility {
		return fmt.Sprintf("%s must resolve to %s for this action (set by the catalog and field statements)", p.Name, lit.Text)
	}
	if isAboutCustomer(p.Name) {
		return "" // never repeat a literal that may be a customer's value
	}
	if p.Name == "signedIdentity" && isLit && lit.Kind == LitBool && (c.Op == "==" || c.Op == "!=") {
		if (lit.Text == "true") == (c.Op == "==") {
			return "the customer identity must be signed (X-Crisp-User-Hash or X-Crisp-Identity-Token)"
		}
		return "signedIdentity must be false"
	}
	right := Format(c.R)
	switch c.Op {
	case "in":
		if l, ok := c.R.(*List); ok {
			parts := make([]string, len(l.Elems))
			for i, e := range l.Elems {
				parts[i] = Format(e)
			}
			return p.Name + " must be one of " + strings.Join(parts, ", ")
		}
	case "==":
		return p.Name + " must be " + right
	case "!=":
		return p.Name + " must not be " + right
	case "<":
		return p.Name + " must be less than " + right
	case "<=":
		return p.Name + " must be at most " + right
	case ">":
		return p.Name + " must be greater than " + right
	case ">=":
		return p.Name + " must be at least " + right
	case "contains":
		return p.Name + " must contain " + right
	}
	return ""
}
