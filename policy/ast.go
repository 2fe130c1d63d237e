package policy

import (
	"strconv"
	"strings"
	"time"
)

// File is one parsed rules file.
type File struct {
	Name       string
	Statements []*Statement
}

// Verb is what a statement does.
type Verb int

// The statement verbs. VerbAllow and VerbDeny decide an action; VerbShow, VerbMask and VerbHide
// set a field's visibility.
const (
	VerbAllow Verb = iota + 1
	VerbDeny
	VerbShow
	VerbMask
	VerbHide
)

func (v Verb) String() string {
	switch v {
	case VerbAllow:
		return "allow"
	case VerbDeny:
		return "deny"
	case VerbShow:
		return "show"
	case VerbMask:
		return "mask"
	case VerbHide:
		return "hide"
	}
	return "verb(" + strconv.Itoa(int(v)) + ")"
}

func (v Verb) isField() bool { return v == VerbShow || v == VerbMask || v == VerbHide }

// Name is a word written in a statement head (an action, a use or a field)
// with the place it was written, for error messages.
type Name struct {
	Text string
	Pos  Pos
}

// Statement is one allow, deny or field statement.
type Statement struct {
	Pos     Pos    // where the statement begins: `rule` when named, else the verb
	Name    string // from `rule NAME`; empty when unnamed
	Verb    Verb
	Actions []Name // allow and deny: actions or patterns such as ai.agent.*
	Fields  []Name // show, mask and hide: catalog fields
	For     []Name // show, mask and hide: actions, patterns or uses; empty means every action
	When    Expr   // nil when unconditional
	Because string
}

// Expr is a rule condition.
type Expr interface {
	Position() Pos
	exprNode()
}

// Logical is `and` or `or`.
type Logical struct {
	Op   string // "and" | "or"
	L, R Expr
	Pos  Pos
}

// Not negates its operand.
type Not struct {
	X   Expr
	Pos Pos
}

// Compare is a comparison: == != < <= > >= in contains.
type Compare struct {
	Op   string
	L, R Expr
	Pos  Pos // of the operator
}

// Path names a value of the input: user.role, account.plan, signedIdentity.
type Path struct {
	Name string
	Pos  Pos
}

// LitKind is the kind of a literal.
type LitKind int

// Literal kinds. LitVisibility is one of shown, masked, hidden.
const (
	LitString LitKind = iota + 1
	LitNumber
	LitBool
	LitVisibility
)

// Lit is a literal. Text holds a string's value, a number's digits, true or
// false, or the visibility word.
type Lit struct {
	Kind LitKind
	Text string
	Num  float64
	Pos  Pos
}

// List is a list literal.
type List struct {
	Elems []Expr
	Pos   Pos
}

// Did is the journey predicate customer.did("event"[, within: "7d"]): true
// when the customer's journey holds the event, within the window before the
// decision's time when one is given.
type Did struct {
	Event     string
	Within    time.Duration // 0: at any time
	WithinSrc string        // as written, for printing
	Pos       Pos
}

func (e *Logical) Position() Pos { return e.Pos }
func (e *Not) Position() Pos     { return e.Pos }
func (e *Compare) Position() Pos { return e.Pos }
func (e *Path) Position() Pos    { return e.Pos }
func (e *Lit) Position() Pos     { return e.Pos }
func (e *List) Position() Pos    { return e.Pos }
func (e *Did) Position() Pos     { return e.Pos }

func (*Logical) exprNode() {}
func (*Not) exprNode()     {}
func (*Compare) exprNode() {}
func (*Path) exprNode()    {}
func (*Lit) exprNode()     {}
func (*List) exprNode()    {}
func (*Did) exprNode()     {}

// start is where an expression's text begins: its leftmost token.
func start(e Expr) Pos {
	switch e := e.(type) {
	case *Logical:
		return start(e.L)
	case *Compare:
		if l := start(e.L); l.Line < e.Pos.Line || l.Line == e.Pos.Line && l.Col < e.Pos.Col {
			return l
		}
	}
	return e.Position()
}

// clauses splits a condition at its top-level `and`s: each clause is what an
// explanation names when it fails.
func clauses(e Expr) []Expr {
	if l, ok := e.(*Logical); ok && l.Op == "and" {
		return append(clauses(l.L), clauses(l.R)...)
	}
	return []Expr{e}
}

// Binding strength, loosest first, for printing with the fewest parentheses.
const (
	precOr = iota + 1
	precAnd
	precNot
	precCompare
	precAtom
)

func precedence(e Expr) int {
	switch e := e.(type) {
	case *Logical:
		if e.Op == "or" {
			return precOr
		}
		return precAnd
	case *Not:
		return precNot
	case *Compare:
		return precCompare
	}
	return precAtom
}

// Format prints an expression in the rule language's canonical form.
func Format(e Expr) string {
	var b strings.Builder
	format(&b, e, nil)
	return b.String()
}

// formatRedacted prints e with every literal that is compared with a
// customer or account field replaced by "…", so a message never repeats a
// value that might be the hidden one.
func formatRedacted(e Expr, sensitive func(string) bool) string {
	var b strings.Builder
	format(&b, e, sensitive)
	return b.String()
}

func format(b *strings.Builder, e Expr, sensitive func(string) bool) {
	sub := func(x Expr, min int) {
		if precedence(x) < min {
			b.WriteByte('(')
			format(b, x, sensitive)
			b.WriteByte(')')
			return
		}
		format(b, x, sensitive)
	}
	switch e := e.(type) {
	case *Logical:
		p := precedence(e)
		sub(e.L, p)
		b.WriteString(" " + e.Op + " ")
		sub(e.R, p+1)
	case *Not:
		if c, ok := e.X.(*Compare); ok && c.Op == "in" {
			sub(c.L, precAtom)
			b.WriteString(" not in ")
			writeOperand(b, c.R, c.L, sensitive)
			return
		}
		b.WriteString("not ")
		sub(e.X, precNot)
	case *Compare:
		writeOperand(b, e.L, e.R, sensitive)
		b.WriteString(" " + e.Op + " ")
		writeOperand(b, e.R, e.L, sensitive)
	case *Path:
		b.WriteString(e.Name)
	case *Lit:
		if e.Kind == LitString {
			b.WriteString(strconv.Quote(e.Text))
		} else {
			b.WriteString(e.Text)
		}
	case *List:
		b.WriteByte('[')
		for i, x := range e.Elems {
			if i > 0 {
				b.WriteString(", ")
			}
			format(b, x, sensitive)
		}
		b.WriteByte(']')
	case *Did:
		b.WriteString("customer.did(" + strconv.Quote(e.Event))
		if e.WithinSrc != "" {
			b.WriteString(", within: " + strconv.Quote(e.WithinSrc))
		}
		b.WriteByte(')')
	}
}

// writeOperand prints x, one side of a comparison whose other side is other.
func writeOperand(b *strings.Builder, x, other Expr, sensitive func(string) bool) {
	if p, ok := other.(*Path); ok && sensitive != nil && sensitive(p.Name) {
		switch x.(type) {
		case *Lit, *List:
			if l, ok := x.(*Lit); !ok || l.Kind != LitVisibility {
				b.WriteString("…")
				return
			}
		}
	}
	if precedence(x) < precAtom {
		b.WriteByte('(')
		format(b, x, sensitive)
		b.WriteByte(')')
		return
	}
	format(b, x, sensitive)
}
