package proxy

import (
	"context"

	"github.com/crisphq/crisp/policy"
	"github.com/crisphq/crisp/store"
)

// Decider answers policy questions; *policy.Engine and *policy.Watcher
// (which reloads the rules as their files change) both do.
type Decider interface {
	Decide(in policy.Input) policy.Decision
}

// decide asks the policy whether this member may use this AI action on this
// customer, and what every field resolves to. A denial is a 403 whose
// message names the rule and the failing clause, never a hidden value.
func (s *Server) decide(_ context.Context, r *Request) error {
	r.Decision = s.opts.Policy.Decide(s.policyInput(r))
	r.Header.Set("X-Crisp-Decision", r.Decision.Verdict()+"; rule="+r.Decision.Rule)
	if !r.Decision.Allow {
		return &Error{Status: 403, Type: "permission_error", Code: "policy_denied", Message: r.Decision.Message()}
	}
	return nil
}

// policyInput is everything the decision may read, from the request state.
func (s *Server) policyInput(r *Request) policy.Input {
	c := r.Caller
	in := policy.Input{
		User:           policy.User{ID: c.KeyID, Email: c.Member, Role: c.Role, Teams: c.Teams, Kind: c.Kind},
		Action:         r.Action,
		Request:        policy.Request{Model: r.Route.Model},
		SignedIdentity: r.Identity.Verified,
		IdentityMethod: identityMethod(r),
		Now:            s.now(),
	}
	if r.Route.Provider != nil {
		in.Request.Provider = r.Route.Provider.Name()
	}
	if sub := r.Subject; sub != nil {
		in.Customer = policy.Customer{ID: sub.Customer.ID, Traits: sub.CustomerFields}
		in.Account = policy.Account{ID: sub.Account.ID, Traits: sub.AccountFields}
		in.Journey = journey(sub.Journey)
	}
	return in
}

func identityMethod(r *Request) string {
	if !r.Identity.Verified {
		return ""
	}
	return r.Identity.Method
}

func journey(evs []store.Event) []policy.Event {
	out := make([]policy.Event, len(evs))
	for i, e := range evs {
		out[i] = policy.Event{Name: e.Name, At: e.Timestamp}
	}
	return out
}
