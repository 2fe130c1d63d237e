package policy

// decide evaluates p for the input in a: field visibilities first (a rule
// may test them), then the deny rules, then the allow rules in source order.
func (a *activation) decide(p *plan) Decision {
	e := a.e
	vis := p.base
	if len(p.dyn) > 0 {
		vis = a.resolveFields(p)
	}
	a.vis = vis
	d := Decision{Rule: DefaultDeny, Fields: Fields{names: e.fields, set: e.fieldSet, vis: vis}, PolicyVersion: e.version}
	expl := make([]string, 0, len(p.denies)+len(p.allows)+1)
	// A matching deny beats any allow, so denies go first.
	for i, r := range p.denies {
		line, matched, _ := a.evalRule(r, p.denyFold[i])
		expl = append(expl, line)
		if matched {
			d.Rule, d.Location, d.Because, d.message = r.name, r.loc, r.because, p.denyMsg[i]
			d.Explanation = append(expl, r.decided)
			d.ToAllow = r.unless
			return d
		}
	}
	var small [8]int
	failAt := small[:0]
	for i, r := range p.allows {
		line, matched, k := a.evalRule(r, p.allowFold[i])
		expl = append(expl, line)
		if matched {
			d.Allow, d.Rule, d.Location, d.message = true, r.name, r.loc, p.allowMsg[i]
			for _, rest := range p.allows[i+1:] {
				expl = append(expl, rest.skipped)
			}
			d.Explanation = append(expl, r.decided)
			return d
		}
		failAt = append(failAt, k)
	}
	if len(p.allows) == 0 {
		d.message = p.noRule
		d.Explanation = append(expl, p.noRuleLine)
		d.ToAllow = p.noRuleHint
		return d
	}
	d.message = p.defaultMsg[0][failAt[0]]
	d.Explanation = append(expl, p.defaultLine)
	d.ToAllow = a.toAllow(p, failAt)
	return d
}

// toAllow returns the hints of the allow rules that are fewest changes away.
// It runs only on the way to a deny: the clauses after each rule's first
// failing one are evaluated now, those before it are known to hold.
func (a *activation) toAllow(p *plan, failAt []int) []string {
	var best []string
	bestN := -1
	for i, r := range p.allows {
		hints := []string{r.hints[failAt[i]]}
		for k := failAt[i] + 1; k < len(r.clauses); k++ {
			res := p.allowFold[i].outcomes[k]
			if res == 0 {
				res = a.eval(r.clauses[k])
			}
			if res != condTrue {
				hints = append(hints, r.hints[k])
			}
		}
		switch {
		case bestN < 0 || len(hints) < bestN:
			best, bestN = hints, len(hints)
		case len(hints) == bestN:
			best = append(best, hints...)
		}
	}
	return best
}
