package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxDepth bounds nesting (parentheses and `not`) so a hostile file cannot
// exhaust the stack; maxTerms bounds one condition, well past any real rule,
// so compiling stays quick and within CEL's own limits.
const (
	maxDepth = 64
	maxTerms = 500
)

// Parse reads one rules file. It reports every syntax error it can find, each
// at its place, as an ErrorList.
func Parse(name, src string) (*File, error) {
	toks, err := lex(name, src)
	if err != nil {
		return nil, ErrorList{err.(*Error)}
	}
	p := &parser{toks: toks}
	f := &File{Name: name}
	for p.peek().kind != tokEOF && !p.errs.full() {
		start := p.i
		st, err := p.statement()
		if err != nil {
			p.errs.addErr(err)
			p.recover(start)
			continue
		}
		f.Statements = append(f.Statements, st)
	}
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	return f, nil
}

type parser struct {
	toks  []token
	i     int
	depth int
	terms int // operands in the condition being read
	errs  errorSink
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) isWord(text string) bool {
	t := p.peek()
	return t.kind == tokWord && t.text == text
}

// statementStarts are the words that open a statement; after an error the
// parser skips to the next one.
func statementStart(t token) bool {
	if t.kind != tokWord {
		return false
	}
	switch t.text {
	case "allow", "deny", "show", "mask", "hide", "rule":
		return true
	}
	return false
}

func isKeyword(w string) bool {
	switch w {
	case "allow", "deny", "show", "mask", "hide", "rule", "when", "because", "for",
		"and", "or", "not", "in", "contains", "true", "false", "shown", "masked", "hidden":
		return true
	}
	return false
}

// recover skips to the next statement after an error in the one that began
// at start. When the error consumed the next statement's keyword (as in
// "hide" followed by "allow …"), it backs up to it; it always moves past
// start, so parsing ends.
func (p *parser) recover(start int) {
	if p.i > start+1 && statementStart(p.toks[p.i-1]) {
		p.i--
	}
	if p.i == start {
		p.next()
	}
	for p.peek().kind != tokEOF && !statementStart(p.peek()) {
		p.next()
	}
}

// errAt reports a problem at t; at a malformed token, what the lexer found
// wrong is the better message.
func errAt(t token, format string, args ...any) *Error {
	if t.kind == tokError {
		return &Error{Pos: t.pos, Msg: t.text}
	}
	return &Error{Pos: t.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) statement() (*Statement, *Error) {
	st := &Statement{Pos: p.peek().pos}
	if p.isWord("rule") {
		p.next()
		t := p.next()
		switch {
		case t.kind == tokString && t.text != "":
			st.Name = t.text
		case t.kind == tokWord && !isKeyword(t.text):
			st.Name = t.text
		default:
			return nil, errAt(t, "expected a rule name after \"rule\", found %s", t.describe())
		}
	}
	t := p.next()
	if t.kind == tokWord {
		switch t.text {
		case "allow":
			st.Verb = VerbAllow
		case "deny":
			st.Verb = VerbDeny
		case "show":
			st.Verb = VerbShow
		case "mask":
			st.Verb = VerbMask
		case "hide":
			st.Verb = VerbHide
		}
	}
	if st.Verb == 0 {
		return nil, errAt(t, "expected a statement (allow, deny, show, mask or hide), found %s", t.describe())
	}
	var err *Error
	if st.Verb.isField() {
		if st.Fields, err = p.names("a field"); err != nil {
			return nil, err
		}
		if p.isWord("for") {
			p.next()
			if st.For, err = p.names("an action or use"); err != nil {
				return nil, err
			}
		}
	} else if st.Actions, err = p.names("an action"); err != nil {
		return nil, err
	}
	if p.isWord("when") {
		p.next()
		p.terms = 0
		if st.When, err = p.expr(); err != nil {
			return nil, err
		}
	}
	if p.isWord("because") {
		p.next()
		t := p.next()
		if st.Verb.isField() {
			return nil, errAt(t, "\"because\" belongs to allow and deny statements")
		}
		if t.kind != tokString {
			return nil, errAt(t, "expected a string after \"because\", found %s", t.describe())
		}
		st.Because = t.text
	}
	if t := p.peek(); t.kind != tokEOF && !statementStart(t) {
		return nil, errAt(t, "expected %sa new statement or end of file, found %s", expectedAfter(st), t.describe())
	}
	return st, nil
}

func expectedAfter(st *Statement) string {
	switch {
	case st.Because != "":
		return ""
	case st.When != nil && st.Verb.isField():
		return "\"and\", \"or\", "
	case st.When != nil:
		return "\"and\", \"or\", \"because\", "
	case st.Verb.isField() && len(st.For) == 0:
		return "\"for\", \"when\", "
	case st.Verb.isField():
		return "\"when\", "
	}
	return "\"when\", \"because\", "
}

// names reads NAME[, NAME…] for a statement head.
func (p *parser) names(what string) ([]Name, *Error) {
	var out []Name
	for {
		t := p.next()
		if t.kind != tokWord || isKeyword(t.text) {
			return nil, errAt(t, "expected %s, found %s", what, t.describe())
		}
		out = append(out, Name{Text: t.text, Pos: t.pos})
		if p.peek().kind != tokComma {
			return out, nil
		}
		p.next()
	}
}

func (p *parser) expr() (Expr, *Error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, errAt(p.peek(), "condition nested too deeply (more than %d levels)", maxDepth)
	}
	return p.binary("or", func() (Expr, *Error) { return p.binary("and", p.unary) })
}

func (p *parser) binary(op string, operand func() (Expr, *Error)) (Expr, *Error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for p.isWord(op) {
		t := p.next()
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = &Logical{Op: op, L: l, R: r, Pos: t.pos}
	}
	return l, nil
}

func (p *parser) unary() (Expr, *Error) {
	if !p.isWord("not") {
		return p.comparison()
	}
	t := p.next()
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, errAt(t, "condition nested too deeply (more than %d levels)", maxDepth)
	}
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	return &Not{X: x, Pos: t.pos}, nil
}

func (p *parser) comparison() (Expr, *Error) {
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	negate := false
	switch {
	case t.kind == tokOp, t.kind == tokWord && (t.text == "in" || t.text == "contains"):
	case t.kind == tokWord && t.text == "not" && p.toks[p.i+1].kind == tokWord && p.toks[p.i+1].text == "in":
		p.next()
		t, negate = p.peek(), true
	default:
		return l, nil
	}
	p.next()
	r, err := p.operand()
	if err != nil {
		return nil, err
	}
	var e Expr = &Compare{Op: t.text, L: l, R: r, Pos: t.pos}
	if negate {
		e = &Not{X: e, Pos: t.pos}
	}
	return e, nil
}

func (p *parser) operand() (Expr, *Error) {
	t := p.next()
	if p.terms++; p.terms > maxTerms {
		return nil, errAt(t, "condition too long (more than %d terms); split it into rules", maxTerms)
	}
	switch t.kind {
	case tokString:
		return &Lit{Kind: LitString, Text: t.text, Pos: t.pos}, nil
	case tokNumber:
		n, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, errAt(t, "malformed number %q", t.text)
		}
		return &Lit{Kind: LitNumber, Text: t.text, Num: n, Pos: t.pos}, nil
	case tokLBracket:
		return p.list(t)
	case tokLParen:
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, errAt(c, "expected \")\" to close the \"(\" at %d:%d, found %s", t.pos.Line, t.pos.Col, c.describe())
		}
		return e, nil
	case tokWord:
		return p.word(t)
	}
	return nil, errAt(t, "expected a value, found %s", t.describe())
}

func (p *parser) word(t token) (Expr, *Error) {
	switch t.text {
	case "true", "false":
		return &Lit{Kind: LitBool, Text: t.text, Pos: t.pos}, nil
	case "shown", "masked", "hidden":
		return &Lit{Kind: LitVisibility, Text: t.text, Pos: t.pos}, nil
	}
	if isKeyword(t.text) {
		return nil, errAt(t, "expected a value, found %s", t.describe())
	}
	if !validPath(t.text) {
		return nil, errAt(t, "malformed name %q", t.text)
	}
	if p.peek().kind == tokLParen {
		if t.text != "customer.did" {
			return nil, errAt(t, "unknown function %q; the only one is customer.did(\"event\", within: \"7d\")", t.text)
		}
		return p.did(t)
	}
	return &Path{Name: t.text, Pos: t.pos}, nil
}

func validPath(s string) bool {
	for _, seg := range strings.Split(s, ".") {
		if seg == "" || strings.ContainsAny(seg, "*") || (seg[0] >= '0' && seg[0] <= '9') || seg[0] == '-' {
			return false
		}
	}
	return true
}

func (p *parser) list(open token) (Expr, *Error) {
	l := &List{Pos: open.pos}
	for p.peek().kind != tokRBracket {
		t := p.peek()
		if t.kind != tokString && t.kind != tokNumber && !(t.kind == tokWord && (t.text == "true" || t.text == "false")) {
			return nil, errAt(t, "expected a string, number or boolean in the list, found %s", t.describe())
		}
		e, err := p.operand()
		if err != nil {
			return nil, err
		}
		l.Elems = append(l.Elems, e)
		if p.peek().kind == tokComma {
			p.next()
			continue
		}
		if t := p.peek(); t.kind != tokRBracket {
			return nil, errAt(t, "expected \",\" or \"]\" in the list, found %s", t.describe())
		}
	}
	p.next()
	return l, nil
}

// did reads customer.did("event"[, within: "7d"]).
func (p *parser) did(name token) (Expr, *Error) {
	p.next() // (
	t := p.next()
	if t.kind != tokString || t.text == "" {
		return nil, errAt(t, "customer.did needs an event name as a string, found %s", t.describe())
	}
	d := &Did{Event: t.text, Pos: name.pos}
	if p.peek().kind == tokComma {
		p.next()
		if k := p.next(); k.kind != tokWord || k.text != "within" {
			return nil, errAt(k, "expected \"within:\", found %s", k.describe())
		}
		if c := p.next(); c.kind != tokColon {
			return nil, errAt(c, "expected \":\" after \"within\", found %s", c.describe())
		}
		w := p.next()
		if w.kind != tokString {
			return nil, errAt(w, "expected a duration such as \"7d\", found %s", w.describe())
		}
		dur, err := parseWindow(w.text)
		if err != nil {
			return nil, errAt(w, "%v", err)
		}
		d.Within, d.WithinSrc = dur, w.text
	}
	if c := p.next(); c.kind != tokRParen {
		return nil, errAt(c, "expected \")\" to close customer.did(…), found %s", c.describe())
	}
	return d, nil
}

// parseWindow reads "90s", "30m", "12h", "7d" or "2w".
func parseWindow(s string) (time.Duration, error) {
	bad := fmt.Errorf("malformed duration %q: want a whole number and a unit s, m, h, d or w, such as \"7d\"", s)
	if len(s) < 2 {
		return 0, bad
	}
	n, err := strconv.ParseUint(s[:len(s)-1], 10, 32)
	if err != nil || n == 0 {
		return 0, bad
	}
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	u, ok := units[s[len(s)-1]]
	if !ok {
		return 0, bad
	}
	if time.Duration(n) > (1<<63-1)/u {
		return 0, bad
	}
	return time.Duration(n) * u, nil
}
