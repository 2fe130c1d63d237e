package policy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"
)

// compileCEL declares one CEL variable per slot and compiles every clause.
// Macros are off: rules cannot loop, so evaluation is bounded by the size of
// the rule and of the input's lists, and needs no cost tracking.
func (e *Engine) compileCEL() error {
	opts := []cel.EnvOption{
		cel.ClearMacros(),
		cel.CrossTypeNumericComparisons(true),
		cel.Function("crisp_contains", cel.Overload("crisp_contains_dyn_dyn",
			[]*cel.Type{cel.DynType, cel.DynType}, cel.BoolType, cel.BinaryBinding(celContains))),
	}
	for i, s := range e.slots {
		opts = append(opts, cel.Variable(slotVar(i), celType(s.typ)))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return fmt.Errorf("policy: cel environment: %w", err)
	}
	var all []*clause
	for _, r := range e.rules {
		all = append(all, r.clauses...)
	}
	for _, st := range e.fstmts {
		if st.cond != nil {
			all = append(all, st.cond)
		}
	}
	for _, c := range all {
		if c.prg, err = program(env, c.cel); err != nil {
			return ErrorList{{Pos: c.pos, Msg: fmt.Sprintf("internal error compiling %s: %v", c.text, err)}}
		}
	}
	for _, r := range e.rules {
		if len(r.clauses) > 0 && len(r.clauses) <= maxFastClauses {
			// Only a shortcut: where CEL's nesting limit refuses it, the
			// rule is evaluated clause by clause.
			r.prg, _ = program(env, firstFailing(r.clauses, 0))
		}
	}
	return nil
}

// maxFastClauses keeps firstFailing's nesting well inside CEL's limit.
const maxFastClauses = 16

func program(env *cel.Env, src string) (cel.Program, error) {
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, iss.Err()
	}
	return env.Program(ast, cel.EvalOptions(cel.OptOptimize))
}

// firstFailing is CEL for "the index of the first clause from k on that
// does not hold": c0 ? (c1 ? 2 : 1) : 0. One evaluation per rule instead of
// one per clause; the clauses still short-circuit in order.
func firstFailing(cs []*clause, k int) string {
	if k == len(cs) {
		return strconv.Itoa(k)
	}
	return "(" + cs[k].cel + ") ? (" + firstFailing(cs, k+1) + ") : " + strconv.Itoa(k)
}

func celType(t exprType) *cel.Type {
	switch t {
	case tString:
		return cel.StringType
	case tBool:
		return cel.BoolType
	case tNumber:
		return cel.DoubleType
	case tList:
		return cel.ListType(cel.StringType)
	}
	return cel.DynType
}

// celContains is `contains`: a substring for strings, membership for lists,
// false for anything else (a missing trait contains nothing).
func celContains(l, r ref.Val) ref.Val {
	switch lv := l.(type) {
	case types.String:
		if rs, ok := r.(types.String); ok {
			return types.Bool(strings.Contains(string(lv), string(rs)))
		}
		return types.False
	case traits.Lister:
		return lv.Contains(r)
	}
	return types.False
}

// Outcomes of evaluating one condition.
const (
	condTrue int8 = iota + 1
	condFalse
	condError
)

// activation resolves the CEL variables vN for one decision. Activations are
// pooled: the input is copied in, so a decision allocates no Input.
type activation struct {
	e   *Engine
	in  Input
	vis []Visibility
}

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) ResolveName(name string) (any, bool) {
	i, ok := slotNumber(name)
	if !ok || i >= len(a.e.slots) {
		return nil, false
	}
	return a.value(&a.e.slots[i]), true
}

func (a *activation) Parent() interpreter.Activation { return nil }

func slotNumber(name string) (int, bool) {
	if len(name) < 2 || name[0] != 'v' {
		return 0, false
	}
	n := 0
	for i := 1; i < len(name); i++ {
		c := name[i]
		if c < '0' || c > '9' || n > 1<<20 {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func (a *activation) value(s *slot) ref.Val {
	in := &a.in
	switch s.kind {
	case slotUserID:
		return types.String(in.User.ID)
	case slotUserEmail:
		return types.String(in.User.Email)
	case slotUserRole:
		return types.String(in.User.Role)
	case slotUserKind:
		return types.String(in.User.Kind)
	case slotUserTeams:
		return types.NewStringList(types.DefaultTypeAdapter, in.User.Teams)
	case slotAction:
		return types.String(in.Action)
	case slotModel:
		return types.String(in.Request.Model)
	case slotProvider:
		return types.String(in.Request.Provider)
	case slotSigned:
		return types.Bool(in.SignedIdentity)
	case slotIdentityMethod:
		return types.String(in.IdentityMethod)
	case slotCustomerID:
		return types.String(in.Customer.ID)
	case slotAccountID:
		return types.String(in.Account.ID)
	case slotCustomerTrait:
		return toCEL(lookupTrait(in.Customer.Traits, s.key), 0)
	case slotAccountTrait:
		return toCEL(lookupTrait(in.Account.Traits, s.key), 0)
	case slotVisibility:
		switch a.vis[s.field] {
		case Show:
			return types.String("shown")
		case Mask:
			return types.String("masked")
		}
		return types.String("hidden")
	case slotEvent:
		return types.Bool(in.did(s.event, s.window))
	}
	return types.NullValue
}

// lookupTrait reads traits["a.b"], else walks nested maps traits["a"]["b"].
func lookupTrait(traits map[string]any, key []string) any {
	if len(key) == 1 {
		return traits[key[0]]
	}
	if v, ok := traits[strings.Join(key, ".")]; ok {
		return v
	}
	var cur any = traits
	for _, k := range key {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// toCEL converts a trait. Every number becomes a double, so 3 and 3.0 are
// the same to a rule (and to the cache key).
func toCEL(v any, depth int) ref.Val {
	if f, ok := number(v); ok {
		return types.Double(f)
	}
	switch v := v.(type) {
	case nil:
		return types.NullValue
	case string:
		return types.String(v)
	case bool:
		return types.Bool(v)
	case []string:
		return types.NewStringList(types.DefaultTypeAdapter, v)
	case []any:
		if depth > maxTraitDepth {
			return types.NullValue
		}
		vals := make([]ref.Val, len(v))
		for i, x := range v {
			vals[i] = toCEL(x, depth+1)
		}
		return types.NewRefValList(types.DefaultTypeAdapter, vals)
	}
	return types.DefaultTypeAdapter.NativeToValue(v)
}

const maxTraitDepth = 4

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint64:
		return float64(n), true
	case uint32:
		return float64(n), true
	}
	return 0, false
}

func (a *activation) eval(c *clause) int8 {
	v, _, err := c.prg.Eval(a)
	if err != nil {
		return condError
	}
	switch v {
	case types.True:
		return condTrue
	case types.False:
		return condFalse
	}
	return condError // a dynamic value that is not a boolean
}

// evalRule returns the explanation line for r and whether it matched; for
// an allow rule that did not, failAt is its first failing clause. fold holds
// the plan's precomputed clause outcomes.
func (a *activation) evalRule(r *rule, fold folded) (line string, matched bool, failAt int) {
	if fold.fast && r.prg != nil {
		// Fast path; on an error the clauses below say which one and how.
		if v, _, err := r.prg.Eval(a); err == nil {
			if k, ok := v.(types.Int); ok && int(k) <= len(r.clauses) {
				if int(k) == len(r.clauses) {
					return r.matched, true, -1
				}
				return r.failed[k], false, int(k)
			}
		}
	}
	for k, c := range r.clauses {
		res := fold.outcomes[k]
		if res == 0 {
			res = a.eval(c)
		}
		switch res {
		case condTrue:
			continue
		case condFalse:
			return r.failed[k], false, k
		default:
			return r.errored[k], r.verb == VerbDeny, k
		}
	}
	return r.matched, true, -1
}

// resolveFields applies the conditional field statements; the rest of the
// visibilities were fixed when the plan was built.
func (a *activation) resolveFields(p *plan) []Visibility {
	vis := slices.Clone(p.base)
	var fixed [32]int8
	states := fixed[:0]
	if len(p.conds) <= len(fixed) {
		states = fixed[:len(p.conds)]
	} else {
		states = make([]int8, len(p.conds))
	}
	for _, df := range p.dyn {
		v := df.fallback
		for _, ci := range df.cands {
			st := p.conds[ci]
			if states[ci] == 0 {
				states[ci] = a.eval(st.cond)
			}
			// Fail closed: a hide or mask whose condition cannot be
			// evaluated applies; such a show does not.
			if states[ci] == condTrue || (states[ci] == condError && st.vis != Show) {
				v = st.vis
				break
			}
		}
		vis[df.field] = v
	}
	return vis
}

// Decide returns the decision for in. It never fails: anything it cannot
// evaluate counts against allowing.
func (e *Engine) Decide(in Input) Decision {
	p := e.plan(in.Action)
	if e.cache == nil || !p.cache {
		return e.decide(p, &in)
	}
	var scratch [64]byte // for encoded traits; longer ones grow on the heap
	h, ok := e.cache.hash(p, &in, scratch[:0])
	if !ok {
		return e.decide(p, &in)
	}
	if hit, ok := e.cache.get(p, &in, h, scratch[:0]); ok {
		return hit.d
	}
	d := e.decide(p, &in)
	e.cache.set(p, &in, h, d)
	return d
}

func (e *Engine) decide(p *plan, in *Input) Decision {
	a := e.acts.Get().(*activation)
	a.e, a.in = e, *in
	d := a.decide(p)
	a.in, a.vis = Input{}, nil // keep no customer data in the pool
	e.acts.Put(a)
	return d
}
