package policy

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"

	"github.com/crisphq/crisp/catalog"
)

// Source is one rules file: its display name ("policies/acme.rules", used in
// errors and decision locations) and its text.
type Source struct {
	Name string
	Text string
}

// Option configures a compile.
type Option func(*options)

type options struct {
	cache   *Cache
	actions []string
	display string // the folder name files are shown under
}

func collect(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithCache caches decisions in c. Each compiled engine keys its entries
// apart, so a reloaded policy never answers from an older one's entries.
func WithCache(c *Cache) Option { return func(o *options) { o.cache = c } }

// WithActions adds action names to the known ones (ai.draft, ai.general,
// ai.ask, ai.context and ai.agent.<tool>), so rules may name them.
func WithActions(actions ...string) Option {
	return func(o *options) { o.actions = append(o.actions, actions...) }
}

// Engine is a compiled policy: every rules file of one directory checked
// against the catalog. It is immutable and safe for concurrent use.
type Engine struct {
	version  string
	sources  []string
	fields   []string // catalog fields, sorted
	fieldSet string   // names fields, for Fields.Key
	cat      Catalog
	actions  actionSet
	rules    []*rule // allow and deny statements in source order
	fstmts   []*fieldStmt
	slots    []slot
	plans    map[string]*plan // precomputed for every action a statement names exactly
	planList []*plan          // the same, in a slice
	extra    planMemo         // the rest (ai.agent.<tool>, …), computed on first use
	cache    *Cache
	acts     sync.Pool
}

// rule is a compiled allow or deny statement.
type rule struct {
	name    string
	loc     string // "policies/acme.rules:1"
	verb    Verb
	actions []pattern
	clauses []*clause
	because string
	// prg evaluates every clause in one go and returns the index of the
	// first that fails (len(clauses) when all hold); nil without clauses.
	prg cel.Program

	// Text built once at load, so deciding picks strings and never formats.
	label    string   // `allow rule "support-draft" (policies/acme.rules:1)`
	matched  string   // explanation lines
	failed   []string // per clause
	errored  []string // per clause
	skipped  string
	decided  string   // the explanation's last line when r decides
	failedAt []string // per clause, for Message
	hints    []string // per clause, for ToAllow
	unless   []string // a deny rule's ToAllow
}

// clause is one top-level conjunct of a condition, compiled to CEL.
type clause struct {
	text   string // canonical source, literals about customers redacted
	or     bool   // text needs parentheses when joined with "and"
	pos    Pos
	cel    string
	slots  []int
	prg    cel.Program
	hint   string // what would make it true
	unhint string // what would make it false
}

// fieldStmt is a compiled show, mask or hide statement.
type fieldStmt struct {
	idx     int // source order among field statements
	vis     Visibility
	fields  []int
	targets []target // empty: every action
	cond    *clause  // nil: unconditional
	loc     string
}

// Version is "sha256:" and the hash of the rules sources.
func (e *Engine) Version() string { return e.version }

// Sources lists the display names of the compiled files.
func (e *Engine) Sources() []string { return slices.Clone(e.sources) }

// Load compiles every *.rules file in dir. Locations read
// "<base of dir>/<file>:<line>", such as policies/acme.rules:1.
func Load(dir string, cat Catalog, opts ...Option) (*Engine, error) {
	return LoadFS(os.DirFS(dir), ".", cat, append([]Option{withDisplayDir(filepath.Base(dir))}, opts...)...)
}

// withDisplayDir names files after the real directory when the FS is
// rooted inside it.
func withDisplayDir(d string) Option { return func(o *options) { o.display = d } }

// LoadFS compiles every *.rules file in dir within fsys, such as the
// embedded example workspace's "policies".
func LoadFS(fsys fs.FS, dir string, cat Catalog, opts ...Option) (*Engine, error) {
	display := collect(opts).display
	if display == "" {
		display = path.Base(dir)
	}
	srcs, err := ReadSources(fsys, dir, display)
	if err != nil {
		return nil, err
	}
	return Compile(srcs, cat, opts...)
}

// ReadSources reads every *.rules file in dir within fsys, named
// "<display>/<file>", in name order.
func ReadSources(fsys fs.FS, dir, display string) ([]Source, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.rules"))
	if err != nil {
		return nil, fmt.Errorf("policy: list %s: %w", display, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("policy: no *.rules files in %s", display)
	}
	slices.Sort(names)
	srcs := make([]Source, 0, len(names))
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("policy: read %s: %w", path.Join(display, path.Base(n)), err)
		}
		srcs = append(srcs, Source{Name: path.Join(display, path.Base(n)), Text: string(b)})
	}
	return srcs, nil
}

// Compile parses and checks the sources against the catalog and compiles
// them. Every problem is reported, each at its file:line:col, as an
// ErrorList.
func Compile(srcs []Source, cat Catalog, opts ...Option) (*Engine, error) {
	o := collect(opts)
	fields := slices.Sorted(slices.Values(fieldNames(cat)))
	fields = slices.Compact(fields)
	e := &Engine{fields: fields, fieldSet: fieldSetKey(fields), cat: cat, actions: newActionSet(o.actions), cache: o.cache, version: versionOf(srcs)}
	var errs errorSink
	ch := newChecker(cat, fields, &errs)
	named := map[string]Pos{}
	for _, src := range srcs {
		e.sources = append(e.sources, src.Name)
		f, err := Parse(src.Name, src.Text)
		if err != nil {
			for _, pe := range err.(ErrorList) {
				errs.addErr(pe)
			}
			continue
		}
		for _, st := range f.Statements {
			e.addStatement(st, ch, &errs, named)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	e.slots = ch.slots
	if err := e.compileCEL(); err != nil {
		return nil, err
	}
	e.plans = map[string]*plan{}
	for _, a := range e.actions.exact {
		e.plans[a] = e.buildPlan(a)
	}
	for _, r := range e.rules {
		for _, p := range r.actions {
			if !p.family && e.plans[p.text] == nil {
				e.plans[p.text] = e.buildPlan(p.text)
			}
		}
	}
	for _, p := range e.plans {
		e.planList = append(e.planList, p)
	}
	known := e.actions.exact
	slices.SortFunc(e.planList, func(a, b *plan) int { // the usual actions first
		ia, ib := slices.Index(known, a.action), slices.Index(known, b.action)
		if ia < 0 {
			ia = len(known)
		}
		if ib < 0 {
			ib = len(known)
		}
		return cmp.Or(cmp.Compare(ia, ib), strings.Compare(a.action, b.action))
	})
	e.acts.New = func() any { return &activation{} }
	return e, nil
}

func versionOf(srcs []Source) string {
	sorted := slices.SortedFunc(slices.Values(srcs), func(a, b Source) int { return strings.Compare(a.Name, b.Name) })
	h := sha256.New()
	for _, s := range sorted {
		fmt.Fprintf(h, "%d:%s\x00%d:%s\x00", len(s.Name), s.Name, len(s.Text), s.Text)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func (e *Engine) addStatement(st *Statement, ch *checker, errs *errorSink, named map[string]Pos) {
	loc := fmt.Sprintf("%s:%d", st.Pos.File, st.Pos.Line)
	if st.Verb.isField() {
		e.addFieldStatement(st, ch, errs, loc)
		return
	}
	r := &rule{name: st.Name, loc: loc, verb: st.Verb, because: st.Because}
	if r.name == "" {
		r.name = fmt.Sprintf("%s:%d", path.Base(st.Pos.File), st.Pos.Line)
	} else if prev, dup := named[r.name]; dup {
		errs.add(st.Pos, "rule name %q is already used at %s", r.name, prev)
	} else {
		named[r.name] = st.Pos
	}
	for _, a := range st.Actions {
		if msg := e.actions.check(a.Text); msg != "" {
			errs.add(a.Pos, "%s", msg)
			continue
		}
		r.actions = append(r.actions, newPattern(a.Text))
	}
	if st.When != nil {
		for _, x := range clauses(st.When) {
			if c, ok := e.clause(x, ch, false); ok {
				r.clauses = append(r.clauses, c)
			}
		}
	}
	r.label = fmt.Sprintf("%s rule %q (%s)", r.verb, r.name, r.loc)
	r.explainLines()
	e.rules = append(e.rules, r)
}

func (e *Engine) addFieldStatement(st *Statement, ch *checker, errs *errorSink, loc string) {
	fs := &fieldStmt{idx: len(e.fstmts), vis: verbVisibility(st.Verb), loc: loc}
	for _, f := range st.Fields {
		i, ok := ch.fieldIndex[f.Text]
		if !ok {
			errs.add(f.Pos, "unknown field %q%s", f.Text, didYouMean(suggest(f.Text, e.fields)))
			continue
		}
		fs.fields = append(fs.fields, i)
	}
	for _, t := range st.For {
		if slices.Contains(catalog.AllUses(), t.Text) {
			fs.targets = append(fs.targets, target{use: t.Text})
			continue
		}
		if msg := e.actions.check(t.Text); msg != "" {
			candidates := append(e.actions.patterns(), catalog.AllUses()...)
			errs.add(t.Pos, "unknown action or use %q%s", t.Text, didYouMean(suggest(t.Text, candidates)))
			continue
		}
		fs.targets = append(fs.targets, target{pat: newPattern(t.Text)})
	}
	if st.When != nil {
		if c, ok := e.clause(st.When, ch, true); ok {
			fs.cond = c
		}
	}
	e.fstmts = append(e.fstmts, fs)
}

func (e *Engine) clause(x Expr, ch *checker, fieldStmt bool) (*clause, bool) {
	r, ok := ch.condition(x, fieldStmt)
	if !ok {
		return nil, false
	}
	text := formatRedacted(x, isAboutCustomer)
	return &clause{text: text, or: precedence(x) < precAnd, pos: start(x), cel: r.cel, slots: uniqueSorted(r.slots),
		hint: hintFor(x, text), unhint: unhintFor(x, text)}, true
}

// isAboutCustomer marks the paths whose compared literals are redacted from
// messages: anything about the customer or their account.
func isAboutCustomer(name string) bool {
	return strings.HasPrefix(name, "customer.") || strings.HasPrefix(name, "account.")
}

func uniqueSorted(xs []int) []int {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

// planMemo holds plans for actions no statement names exactly. It is bounded:
// callers choose action names, and a flood of made-up ones must not grow it.
type planMemo struct {
	m sync.Map // string -> *plan
	n sync.Mutex
	c int
}

const (
	maxExtraPlans   = 1024
	maxScannedPlans = 16
)

func (e *Engine) plan(action string) *plan {
	// A policy names a handful of actions: a scan that compares lengths
	// first beats hashing the name.
	if len(e.planList) <= maxScannedPlans {
		for _, p := range e.planList {
			if p.action == action {
				return p
			}
		}
	} else if p, ok := e.plans[action]; ok {
		return p
	}
	if p, ok := e.extra.m.Load(action); ok {
		return p.(*plan)
	}
	p := e.buildPlan(action)
	e.extra.n.Lock()
	defer e.extra.n.Unlock()
	if e.extra.c >= maxExtraPlans {
		p.cache = false // a plan of its own per call: no entry could ever hit
		return p
	}
	stored, loaded := e.extra.m.LoadOrStore(action, p)
	if !loaded {
		e.extra.c++
	}
	return stored.(*plan)
}

// fieldSetKey names a list of field names: equal lists, equal keys.
func fieldSetKey(fields []string) string {
	sum := sha256.Sum256([]byte(strings.Join(fields, "\x00")))
	return hex.EncodeToString(sum[:12])
}
