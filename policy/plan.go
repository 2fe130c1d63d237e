package policy

import (
	"cmp"
	"slices"
)

// plan is everything about one action that does not depend on the input:
// the candidate rules, the field visibilities fixed by the catalog and the
// unconditional field statements, and the conditional statements left to
// evaluate. Plans are immutable.
type plan struct {
	action string
	denies []*rule
	allows []*rule
	// Per candidate rule, its clauses folded for this action.
	denyFold  []folded
	allowFold []folded
	base      []Visibility // per field; final unless a dynField overrides it
	dyn       []dynField
	conds     []*fieldStmt // the conditional statements dyn refers to
	reads     []int        // slots a decision reads: the cache key
	cache     bool         // whether decisions may be cached
	keyHash   uint64       // where this plan's cache keys start
	keySlots  []keySlot    // the values in the key

	// Text for each way a decision can end, built with the plan.
	allowMsg    []string   // per allow rule: the Message when it decides
	denyMsg     []string   // per deny rule
	defaultMsg  [][]string // per allow rule and clause: the Message when it fails there
	defaultLine string     // the explanation's last line for a default deny
	noRule      string     // the Message when no rule names the action
	noRuleLine  string
	noRuleHint  []string
}

// dynField is a field whose visibility depends on conditional statements:
// the first of cands (indexes into plan.conds) whose condition holds
// decides, else fallback.
type dynField struct {
	field    int
	cands    []int
	fallback Visibility
}

// applicable is a field statement that names a field for the plan's action.
type applicable struct {
	st   *fieldStmt
	spec int
}

func (e *Engine) buildPlan(action string) *plan {
	p := &plan{action: action}
	for _, r := range e.rules {
		if !slices.ContainsFunc(r.actions, func(pt pattern) bool { return pt.match(action) }) {
			continue
		}
		if r.verb == VerbDeny {
			p.denies = append(p.denies, r)
		} else {
			p.allows = append(p.allows, r)
		}
		for _, c := range r.clauses {
			p.reads = append(p.reads, c.slots...)
		}
	}
	byField := make([][]applicable, len(e.fields))
	for _, st := range e.fstmts {
		spec := statementSpecificity(st, action)
		if spec < 0 {
			continue
		}
		for _, f := range st.fields {
			byField[f] = append(byField[f], applicable{st, spec})
		}
	}
	p.base = make([]Visibility, len(e.fields))
	for f, name := range e.fields {
		p.base[f] = e.cat.Default(name, action)
		p.resolveStatic(f, byField[f])
	}
	for _, st := range p.conds {
		p.reads = append(p.reads, st.cond.slots...)
	}
	p.denyFold = e.fold(p, p.denies)
	p.allowFold = e.fold(p, p.allows)
	p.reads = uniqueSorted(p.reads)
	if e.cache != nil {
		p.keySlots, p.cache = e.keySlots(p.reads)
		p.keyHash = e.cache.planHash(action)
	}
	p.messages()
	return p
}

// folded is, per clause of a rule, the outcome when it is fixed for the
// plan's action (a clause that only tests visibilities no conditional
// statement can change), else 0: folded at plan time, as CEL folds
// constants. fast says whether the rule's one-program shortcut applies: not
// when a folded clause fails, whose place the shortcut cannot tell.
type folded struct {
	outcomes []int8
	fast     bool
}

// fold evaluates, once, the clauses whose outcome cannot vary for p.
func (e *Engine) fold(p *plan, rules []*rule) []folded {
	dynamic := make([]bool, len(e.fields))
	for _, df := range p.dyn {
		dynamic[df.field] = true
	}
	a := &activation{e: e, vis: p.base}
	out := make([]folded, len(rules))
	for i, r := range rules {
		f := folded{outcomes: make([]int8, len(r.clauses)), fast: r.prg != nil}
		for k, c := range r.clauses {
			fixed := true
			for _, s := range c.slots {
				sl := &e.slots[s]
				fixed = fixed && sl.kind == slotVisibility && !dynamic[sl.field]
			}
			if fixed {
				f.outcomes[k] = a.eval(c)
				f.fast = f.fast && f.outcomes[k] == condTrue
			}
		}
		out[i] = f
	}
	return out
}

// statementSpecificity is how specifically st targets action, or -1 when it
// does not apply to it.
func statementSpecificity(st *fieldStmt, action string) int {
	if len(st.targets) == 0 {
		return 0
	}
	best := -1
	for _, t := range st.targets {
		best = max(best, t.specificityFor(action))
	}
	return best
}

// resolveStatic applies the precedence to one field's statements: the most
// specific statement wins; among equally specific ones the most restrictive
// (hide, then mask, then show); then the earliest in the sources. A
// conditional statement takes part only when its condition holds, so the
// walk stops at the first unconditional one and leaves the conditional ones
// before it to each decision.
func (p *plan) resolveStatic(f int, apps []applicable) {
	if len(apps) == 0 {
		return
	}
	slices.SortStableFunc(apps, func(a, b applicable) int {
		return cmp.Or(
			cmp.Compare(b.spec, a.spec),
			cmp.Compare(restrictiveness(b.st.vis), restrictiveness(a.st.vis)),
			cmp.Compare(a.st.idx, b.st.idx))
	})
	var cands []int
	fallback := p.base[f]
	for _, a := range apps {
		if a.st.cond == nil {
			fallback = a.st.vis
			break
		}
		i := slices.Index(p.conds, a.st)
		if i < 0 {
			p.conds = append(p.conds, a.st)
			i = len(p.conds) - 1
		}
		cands = append(cands, i)
	}
	p.base[f] = fallback
	if len(cands) > 0 {
		p.dyn = append(p.dyn, dynField{field: f, cands: cands, fallback: fallback})
	}
}

func (p *plan) messages() {
	for _, r := range p.allows {
		p.allowMsg = append(p.allowMsg, p.action+" allowed by "+r.label)
	}
	for _, r := range p.denies {
		m := p.action + " denied by " + r.label
		switch {
		case r.because != "":
			m += ": " + r.because
		case len(r.clauses) > 0:
			m += ": " + tick(joinClauses(r.clauses, len(r.clauses))) + " holds"
		}
		p.denyMsg = append(p.denyMsg, m)
	}
	for _, r := range p.allows {
		var msgs []string
		for _, at := range r.failedAt {
			msgs = append(msgs, p.action+" denied by default: "+at)
		}
		p.defaultMsg = append(p.defaultMsg, msgs)
	}
	p.defaultLine = "decision: deny by default: no allow rule matched " + p.action
	p.noRule = p.action + " denied by default: no rule allows " + p.action
	p.noRuleLine = "decision: deny by default: no allow rule names " + p.action
	p.noRuleHint = []string{"a rule must allow " + p.action + "; none names it"}
}

func joinClauses(cs []*clause, n int) string {
	s := ""
	for i, c := range cs[:n] {
		if i > 0 {
			s += " and "
		}
		if c.or {
			s += "(" + c.text + ")"
		} else {
			s += c.text
		}
	}
	return s
}
