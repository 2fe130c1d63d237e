package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// exprType is what the checker knows of a value's type. Traits are dynamic:
// their type is known only when a decision reads them.
type exprType uint8

const (
	tDyn exprType = iota
	tString
	tNumber
	tBool
	tList
)

func (t exprType) String() string {
	return [...]string{"a value", "a string", "a number", "a boolean", "a list"}[t]
}

type slotKind uint8

const (
	slotUserID slotKind = iota
	slotUserEmail
	slotUserRole
	slotUserKind
	slotUserTeams
	slotAction
	slotModel
	slotProvider
	slotSigned
	slotIdentityMethod
	slotCustomerID
	slotAccountID
	slotCustomerTrait
	slotAccountTrait
	slotVisibility
	slotEvent
)

type builtinPath struct {
	name string
	kind slotKind
	typ  exprType
}

// builtinPaths are the names a rule can read besides catalog fields.
func builtinPaths() []builtinPath {
	return []builtinPath{
		{"user.id", slotUserID, tString},
		{"user.email", slotUserEmail, tString},
		{"user.role", slotUserRole, tString},
		{"user.kind", slotUserKind, tString},
		{"user.teams", slotUserTeams, tList},
		{"action", slotAction, tString},
		{"request.model", slotModel, tString},
		{"request.provider", slotProvider, tString},
		{"signedIdentity", slotSigned, tBool},
		{"identity.method", slotIdentityMethod, tString},
		{"customer.id", slotCustomerID, tString},
		{"account.id", slotAccountID, tString},
	}
}

// slot is one value a compiled rule reads; each becomes a CEL variable vN.
type slot struct {
	kind   slotKind
	typ    exprType
	name   string   // as written: user.role, account.plan, customer.did("…")
	key    []string // trait key, split at dots for nested maps
	field  int      // slotVisibility: index into the engine's fields
	event  string   // slotEvent
	window time.Duration
}

// checked is an expression after checking: its CEL source, its type and
// what it reads.
type checked struct {
	cel      string
	typ      exprType
	elem     exprType // a list's element type
	slots    []int
	readsVis bool
}

type checker struct {
	cat        Catalog
	fieldIndex map[string]int
	fieldNames []string
	eventNames []string
	slots      []slot
	slotIndex  map[string]int
	errs       *errorSink
}

func newChecker(cat Catalog, fieldNames []string, errs *errorSink) *checker {
	c := &checker{cat: cat, fieldNames: fieldNames, fieldIndex: map[string]int{}, slotIndex: map[string]int{}, errs: errs}
	for i, f := range fieldNames {
		c.fieldIndex[f] = i
	}
	c.eventNames = eventNames(cat)
	return c
}

func (c *checker) slotFor(id string, mk func() slot) int {
	if i, ok := c.slotIndex[id]; ok {
		return i
	}
	c.slots = append(c.slots, mk())
	c.slotIndex[id] = len(c.slots) - 1
	return len(c.slots) - 1
}

func slotVar(i int) string { return "v" + strconv.Itoa(i) }

// condition checks a statement's `when` expression: it must be a boolean.
func (c *checker) condition(e Expr, fieldStmt bool) (checked, bool) {
	r, ok := c.expr(e)
	if !ok {
		return r, false
	}
	if fieldStmt && r.readsVis {
		c.errs.add(e.Position(), "a field statement's condition cannot depend on field visibility (shown, masked, hidden)")
		return r, false
	}
	return r, c.wantBool(e, r)
}

func (c *checker) wantBool(e Expr, r checked) bool {
	if r.typ == tBool || r.typ == tDyn {
		return true
	}
	if p, ok := e.(*Path); ok {
		c.errs.add(e.Position(), "%s is %s, not a condition; compare it, such as %s == …", p.Name, r.typ, p.Name)
	} else {
		c.errs.add(e.Position(), "%s is %s, not a condition", Format(e), r.typ)
	}
	return false
}

func (c *checker) expr(e Expr) (checked, bool) {
	switch e := e.(type) {
	case *Logical:
		l, okL := c.expr(e.L)
		r, okR := c.expr(e.R)
		if !okL || !okR || !c.wantBool(e.L, l) || !c.wantBool(e.R, r) {
			return checked{}, false
		}
		op := "&&"
		if e.Op == "or" {
			op = "||"
		}
		// A chain of one operator stays flat, so CEL's parser balances it
		// instead of nesting one level per term.
		return merge(tBool, chainPart(e.L, e.Op, l.cel)+" "+op+" "+chainPart(e.R, e.Op, r.cel), l, r), true
	case *Not:
		x, ok := c.expr(e.X)
		if !ok || !c.wantBool(e.X, x) {
			return checked{}, false
		}
		return merge(tBool, "!("+x.cel+")", x), true
	case *Compare:
		return c.compare(e)
	case *Path:
		return c.path(e)
	case *Lit:
		return c.literal(e)
	case *List:
		return c.list(e)
	case *Did:
		return c.did(e)
	}
	panic(fmt.Sprintf("policy: unexpected expression %T", e))
}

func chainPart(x Expr, op, cel string) string {
	if l, ok := x.(*Logical); ok && l.Op == op {
		return cel
	}
	return "(" + cel + ")"
}

func merge(t exprType, cel string, parts ...checked) checked {
	out := checked{cel: cel, typ: t}
	for _, p := range parts {
		out.slots = append(out.slots, p.slots...)
		out.readsVis = out.readsVis || p.readsVis
	}
	return out
}

func (c *checker) literal(e *Lit) (checked, bool) {
	switch e.Kind {
	case LitString:
		return checked{cel: strconv.Quote(e.Text), typ: tString}, true
	case LitNumber:
		s := strconv.FormatFloat(e.Num, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0" // every number is a CEL double, so 3 == 3.0
		}
		return checked{cel: s, typ: tNumber}, true
	case LitBool:
		return checked{cel: e.Text, typ: tBool}, true
	}
	c.errs.add(e.Pos, "%s is a visibility; compare a catalog field with it, such as account.privateRevenue == %s", e.Text, e.Text)
	return checked{}, false
}

func (c *checker) list(e *List) (checked, bool) {
	parts := make([]string, 0, len(e.Elems))
	out := checked{typ: tList, elem: tDyn}
	for i, x := range e.Elems {
		r, ok := c.expr(x)
		if !ok {
			return checked{}, false
		}
		if i == 0 {
			out.elem = r.typ
		} else if r.typ != out.elem {
			c.errs.add(x.Position(), "list mixes %s and %s", out.elem, r.typ)
			return checked{}, false
		}
		parts = append(parts, r.cel)
	}
	out.cel = "[" + strings.Join(parts, ", ") + "]"
	return out, true
}

func (c *checker) did(e *Did) (checked, bool) {
	event, ok := canonicalEvent(e.Event, c.eventNames)
	if !ok {
		c.errs.add(e.Pos, "unknown event %q%s", e.Event, didYouMean(suggest(e.Event, c.eventNames)))
		return checked{}, false
	}
	id := "did:" + event + ":" + e.Within.String()
	i := c.slotFor(id, func() slot {
		return slot{kind: slotEvent, typ: tBool, name: Format(e), event: event, window: e.Within}
	})
	return checked{cel: slotVar(i), typ: tBool, slots: []int{i}}, true
}

func (c *checker) path(e *Path) (checked, bool) {
	for _, b := range builtinPaths() {
		if b.name == e.Name {
			i := c.slotFor("path:"+e.Name, func() slot { return slot{kind: b.kind, typ: b.typ, name: e.Name} })
			return checked{cel: slotVar(i), typ: b.typ, elem: tString, slots: []int{i}}, true
		}
	}
	_, known := c.fieldIndex[e.Name]
	subject, key, _ := strings.Cut(e.Name, ".")
	if !known && c.errs.full() {
		return checked{}, false // no room to report it: skip the suggestion's cost
	}
	if !known {
		c.errs.add(e.Pos, "unknown field %q%s", e.Name, didYouMean(suggest(e.Name, c.pathNames())))
		return checked{}, false
	}
	kind := slotCustomerTrait
	switch subject {
	case "customer":
	case "account":
		kind = slotAccountTrait
	default:
		c.errs.add(e.Pos, "%s is not about the customer or the account, so a rule cannot read it", e.Name)
		return checked{}, false
	}
	i := c.slotFor("path:"+e.Name, func() slot {
		return slot{kind: kind, typ: tDyn, name: e.Name, key: strings.Split(key, ".")}
	})
	return checked{cel: slotVar(i), typ: tDyn, elem: tDyn, slots: []int{i}}, true
}

func isBuiltin(name string) bool {
	for _, b := range builtinPaths() {
		if b.name == name {
			return true
		}
	}
	return false
}

func (c *checker) pathNames() []string {
	var names []string
	for _, b := range builtinPaths() {
		names = append(names, b.name)
	}
	return append(names, c.fieldNames...)
}

func isVisibility(e Expr) bool {
	l, ok := e.(*Lit)
	return ok && l.Kind == LitVisibility
}

func (c *checker) compare(e *Compare) (checked, bool) {
	if isVisibility(e.L) || isVisibility(e.R) {
		return c.visibilityCompare(e)
	}
	l, okL := c.expr(e.L)
	r, okR := c.expr(e.R)
	if !okL || !okR {
		return checked{}, false
	}
	compatible := func(a, b exprType) bool { return a == tDyn || b == tDyn || a == b }
	switch e.Op {
	case "==", "!=":
		if !compatible(l.typ, r.typ) {
			c.errs.add(e.Pos, "%s compares %s with %s", e.Op, l.typ, r.typ)
			return checked{}, false
		}
		return merge(tBool, l.cel+" "+e.Op+" "+r.cel, l, r), true
	case "<", "<=", ">", ">=":
		for _, t := range []exprType{l.typ, r.typ} {
			if t != tDyn && t != tNumber && t != tString {
				c.errs.add(e.Pos, "%s orders numbers or strings, not %s", e.Op, t)
				return checked{}, false
			}
		}
		if !compatible(l.typ, r.typ) {
			c.errs.add(e.Pos, "%s compares %s with %s", e.Op, l.typ, r.typ)
			return checked{}, false
		}
		return merge(tBool, l.cel+" "+e.Op+" "+r.cel, l, r), true
	case "in":
		if r.typ != tList && r.typ != tDyn {
			c.errs.add(e.R.Position(), "\"in\" needs a list on its right, such as [\"support\", \"success\"]; found %s", r.typ)
			return checked{}, false
		}
		if r.typ == tList && !compatible(l.typ, r.elem) {
			c.errs.add(e.Pos, "\"in\" looks for %s in a list of %s", l.typ, plural(r.elem))
			return checked{}, false
		}
		return merge(tBool, l.cel+" in "+r.cel, l, r), true
	case "contains":
		if l.typ != tList && l.typ != tString && l.typ != tDyn {
			c.errs.add(e.L.Position(), "\"contains\" needs a list or a string on its left, found %s", l.typ)
			return checked{}, false
		}
		return merge(tBool, "crisp_contains("+l.cel+", "+r.cel+")", l, r), true
	}
	c.errs.add(e.Pos, "unknown operator %q", e.Op)
	return checked{}, false
}

func plural(t exprType) string {
	return [...]string{"values", "strings", "numbers", "booleans", "lists"}[t]
}

// visibilityCompare rewrites `account.privateRevenue == hidden` into a test
// of the visibility the field resolves to for this decision.
func (c *checker) visibilityCompare(e *Compare) (checked, bool) {
	field, word := e.L, e.R
	if isVisibility(field) {
		field, word = word, field
	}
	vis := word.(*Lit).Text
	p, ok := field.(*Path)
	if !ok || isVisibility(field) {
		c.errs.add(e.Pos, "%s is a visibility; compare a catalog field with it, such as account.privateRevenue == %s", vis, vis)
		return checked{}, false
	}
	idx, known := c.fieldIndex[p.Name]
	if !known && isBuiltin(p.Name) {
		c.errs.add(p.Pos, "%s is not a catalog field; %s compares with a field such as account.privateRevenue", p.Name, vis)
		return checked{}, false
	}
	if !known {
		c.errs.add(p.Pos, "unknown field %q%s", p.Name, didYouMean(suggest(p.Name, c.fieldNames)))
		return checked{}, false
	}
	if e.Op != "==" && e.Op != "!=" {
		c.errs.add(e.Pos, "a visibility compares with == or !=, not %s", e.Op)
		return checked{}, false
	}
	i := c.slotFor("vis:"+p.Name, func() slot {
		return slot{kind: slotVisibility, typ: tString, name: p.Name, field: idx}
	})
	return checked{cel: slotVar(i) + " " + e.Op + " " + strconv.Quote(vis), typ: tBool, slots: []int{i}, readsVis: true}, true
}
